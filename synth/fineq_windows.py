"""Window (T) histogram of the FineQ array codings on real weights.

The window T is the number of cycles an activation vector occupies the array; it depends on the
coding and on the tile's weight levels (``rtl.fineq.common.window_cycles``), not on the dataflow.
The histogram runs over every full R x C tile ``levels[n0:n0+C, k0:k0+R]`` of the four MiniLM
layers of the energy workload (``synth.stimulus.fineq_data``: the golden quantized levels the
energy runs use), so the T the report's cycle counts measure and the T of whole matrices come
from the same data. The binary arrays always have T = 1.
"""
from __future__ import annotations

from typing import Any

from rtl.fineq.common import CODINGS, window_cycles

from .stimulus import fineq_data

__all__ = ["window_histogram"]


def window_histogram(rows: int = 16, cols: int = 16, synthetic: bool = False) -> dict[str, Any]:
    """``{"size", "tiles", "source", "layers", "codings": {coding: {T: tiles}},
    "mean": {coding: mean T}}`` with early finish (golden.models.ModelNotAvailable without the
    model package unless ``synthetic``)."""
    data = fineq_data(synthetic)
    hist: dict[str, dict[int, int]] = {c: {} for c in CODINGS}
    tiles = 0
    for levels, _ in data["layers"].values():
        n, k = levels.shape
        for n0 in range(0, n - cols + 1, cols):
            for k0 in range(0, k - rows + 1, rows):
                tile = levels[n0:n0 + cols, k0:k0 + rows].flatten().tolist()
                tiles += 1
                for c in CODINGS:
                    t = window_cycles(tile, c)
                    hist[c][t] = hist[c].get(t, 0) + 1
    return {"size": f"{rows}x{cols}", "tiles": tiles, "source": data["provenance"],
            "layers": list(data["layers"]),
            "codings": {c: dict(sorted(h.items())) for c, h in hist.items()},
            "mean": {c: round(sum(t * m for t, m in h.items()) / max(1, tiles), 4)
                     for c, h in hist.items()}}
