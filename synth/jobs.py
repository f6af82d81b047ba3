"""Evaluating designs on worker processes: the one job runner of synth.report and synth.sweep."""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable

from .designs import Design
from .evaluate import evaluate

__all__ = ["cost", "run_jobs"]


def cost(d: Design) -> float:
    """Rough synthesis cost, to start the longest jobs first (ABC is slow on the deep FP logic
    of the FGMP blocks)."""
    if d.block in ("vmac", "fp8_vmac"):
        return (600 if d.block == "vmac" else 200) * d.params.get("lanes", 4)
    if d.block == "act_quant":
        return 700
    n = d.params.get("rows", 4) * d.params.get("cols", 4)
    return n * {8: 4.0, 4: 2.0}.get(d.params.get("weight_bits"), 1.0)


def _job(args) -> dict:
    d, liberty, synthetic = args
    t0 = time.monotonic()
    row = evaluate(d, liberty=liberty, synthetic=synthetic)
    row["seconds"] = round(time.monotonic() - t0, 1)
    return row


def run_jobs(designs: list[Design], *, jobs: int = 2, liberty=None, synthetic: bool = False,
             on_row: Callable[[dict], None] | None = None) -> dict[str, dict]:
    """Evaluate ``designs`` (costliest first) on ``jobs`` processes; {design key: row}.
    ``on_row`` is called in this process as each row arrives (progress output)."""
    order = sorted(designs, key=cost, reverse=True)
    rows: dict[str, dict] = {}

    def done(row: dict) -> None:
        rows[row["key"]] = row
        if on_row:
            on_row(row)

    if jobs > 1 and len(order) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for f in as_completed([ex.submit(_job, (d, liberty, synthetic)) for d in order]):
                done(f.result())
    else:
        for d in order:
            done(_job((d, liberty, synthetic)))
    return rows
