"""``y = x·Wᵀ`` of one nn.Linear on the FineQ core (rtl/fineq/core.py).

Mapping (docs/e2e.md):

* The weight ``W[N, K]`` is a golden :class:`golden.fineq.FineQWeight` (packed words + FP16
  scales Δ per (row, group of G along K)); the activations are per-token INT8
  (``golden.fineq.quantize_acts_int8``: ``a[T, K]``, scale ``s[T]``).
* A tile is ``R`` consecutive K indices ``k0 .. k0+R-1`` of ``C`` consecutive output rows
  ``n0 .. n0+C-1``. R must divide G, so a tile lies in one scale group (else the shape cannot be
  tiled: ValueError). Tiles run ``n0`` outer, ``k0`` inner; tiles wholly beyond K (zero-padded
  to a group) are skipped. Output rows beyond N (N not a multiple of C) get zero words and their
  column sums are dropped; activations beyond K are 0 (the core's contract).
* Per tile the core takes the golden words ``words[n, k0//12 .. (k0+R-1)//12]`` of every column
  with ``skip = k0 % 12`` (the weight-tile contract of FineQCore), then the T activation vectors
  ``a[t, k0:k0+R]`` (``last`` on the final one), and returns T vectors of C exact column sums.
* Outside the array the column sums are added exactly (int64) into the per-group partial sums
  ``P[t, n, k0 // G]``, which are rescaled by ``golden.fineq.linear_from_sums`` (Δ/2 and the
  token scale, FP64, one rounding to FP32): the same code as the golden ``linear``.

Checks, all equalities: every column sum against the int64 product of the golden levels, ``P``
against ``golden.fineq.int_matmul``, and the FP32 outputs against ``golden.fineq.linear``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from golden.fineq import FineQWeight, int_matmul, linear, linear_from_sums
from rtl.fineq.core import SKIP_BITS
from verif.payload import pack, signature_shapes, unpack

__all__ = ["CoreConfig", "FineQPlan", "check_tileable", "WORD_WEIGHTS"]

WORD_WEIGHTS = 12


@dataclass(frozen=True)
class CoreConfig:
    """A fineq_core configuration (the block parameters)."""
    rows: int = 16
    cols: int = 16
    layout: str = "joint"
    coding: str = "select"
    dataflow: str = "broadcast"

    @property
    def params(self) -> dict:
        return {"rows": self.rows, "cols": self.cols, "layout": self.layout,
                "coding": self.coding, "dataflow": self.dataflow}

    def shapes(self) -> dict:
        """Payload shapes of the core's streams, from the component's own signature."""
        from rtl.registry import get_block
        comp = get_block("fineq_core").build(self.params)
        comp._MustUse__silence = True       # built for its signature only
        return signature_shapes(comp.signature)


def check_tileable(cfg: CoreConfig, group_size: int, layout: str) -> None:
    """ValueError naming the reason when ``cfg`` cannot run a FineQ weight of this group size
    and layout."""
    if group_size % cfg.rows:
        raise ValueError(f"array rows {cfg.rows} do not divide the FineQ group size {group_size}: "
                         "a K tile would straddle two scale groups")
    if layout != cfg.layout:
        raise ValueError(f"weight layout {layout!r} differs from the core's layout {cfg.layout!r}")
    if (WORD_WEIGHTS - 1) >= 1 << SKIP_BITS:      # the core's skip field holds 0..11
        raise AssertionError("skip field too narrow")


@dataclass
class FineQPlan:
    """The tile schedule of one linear layer on a core configuration, its streams and the
    bookkeeping that turns the core's outputs back into ``y``."""
    cfg: CoreConfig
    wq: FineQWeight
    a: torch.Tensor                      # int64 [T, K], INT8 values
    scale: torch.Tensor                  # float64 [T]
    tiles: list[tuple[int, int]] = field(init=False)

    def __post_init__(self):
        n, k = self.wq.shape
        if not isinstance(self.a, torch.Tensor) or self.a.dim() != 2 or self.a.shape[1] != k:
            raise ValueError(f"activations must be [T, {k}], got {tuple(self.a.shape)}")
        if self.a.shape[0] < 1:
            raise ValueError("at least one token is needed")
        check_tileable(self.cfg, self.wq.group_size, self.wq.layout)
        R, C = self.cfg.rows, self.cfg.cols
        self.tiles = [(n0, k0) for n0 in range(0, n, C) for k0 in range(0, k, R)]

    # -- sizes ------------------------------------------------------------------------------
    @property
    def tokens(self) -> int:
        return self.a.shape[0]

    @property
    def macs(self) -> int:
        n, k = self.wq.shape
        return self.tokens * n * k

    @property
    def n_out(self) -> int:
        return len(self.tiles) * self.tokens

    def words_per_column(self, k0: int) -> int:
        return -(-(k0 % WORD_WEIGHTS + self.cfg.rows) // WORD_WEIGHTS)

    # -- streams ----------------------------------------------------------------------------
    def _padded_acts(self) -> torch.Tensor:
        k = self.wq.shape[1]
        kp = -(-k // self.cfg.rows) * self.cfg.rows
        a = torch.zeros((self.tokens, kp), dtype=torch.int64)
        a[:, :k] = self.a
        return a

    def streams(self, shapes: dict) -> dict[str, list[int]]:
        """Payloads of the core's ``w`` (words + skip) and ``a`` (vector + last) streams."""
        words, _ = self.wq.pack()                  # uint32 [N, words_per_row], unchanged
        words = words.astype("int64")
        n = self.wq.shape[0]
        R, C, T = self.cfg.rows, self.cfg.cols, self.tokens
        ap = self._padded_acts().tolist()
        a_cache: dict[int, list[int]] = {}
        w_out, a_out = [], []
        for n0, k0 in self.tiles:
            skip, first = k0 % WORD_WEIGHTS, k0 // WORD_WEIGHTS
            nw = self.words_per_column(k0)
            for c in range(C):
                row = words[n0 + c, first:first + nw].tolist() if n0 + c < n else [0] * nw
                if len(row) != nw:
                    raise AssertionError(f"tile ({n0}, {k0}): {len(row)} words, expected {nw}")
                w_out.extend(pack(shapes["w"], {"word": wd, "skip": skip}) for wd in row)
            if k0 not in a_cache:
                a_cache[k0] = [pack(shapes["a"], {"data": ap[t][k0:k0 + R], "last": int(t == T - 1)})
                               for t in range(T)]
            a_out.extend(a_cache[k0])
        return {"w": w_out, "a": a_out}

    # -- results ----------------------------------------------------------------------------
    def expected_tiles(self) -> torch.Tensor:
        """Golden column sums ``[tiles, T, C]`` (int64 product of the golden levels; columns
        beyond N are 0 and not compared)."""
        L = self.wq.levels.to(torch.int64)
        n, k = self.wq.shape
        R, C = self.cfg.rows, self.cfg.cols
        a = self._padded_acts()
        out = torch.zeros((len(self.tiles), self.tokens, C), dtype=torch.int64)
        for i, (n0, k0) in enumerate(self.tiles):
            kk = min(k0 + R, k)
            cols = min(C, n - n0)
            out[i, :, :cols] = a[:, k0:kk] @ L[n0:n0 + cols, k0:kk].T
        return out

    def column_sums(self, outs: list[int], shapes: dict) -> tuple[torch.Tensor, int]:
        """RTL outputs -> column sums ``[tiles, T, C]`` and the number of ``last`` flags that
        differ from the schedule."""
        T, C = self.tokens, self.cfg.cols
        if len(outs) != self.n_out:
            raise AssertionError(f"{len(outs)} results, expected {self.n_out}")
        vals, bad_last = [], 0
        for j, word in enumerate(outs):
            f = unpack(shapes["o"], word)
            vals.append(f["data"])
            bad_last += int(f["last"] != int(j % T == T - 1))
        return torch.tensor(vals, dtype=torch.int64).reshape(len(self.tiles), T, C), bad_last

    def partial_sums(self, sums: torch.Tensor) -> torch.Tensor:
        """Column sums ``[tiles, T, C]`` -> per-group partial sums ``P[T, N, G]`` (int64,
        exact)."""
        n = self.wq.shape[0]
        C, g = self.cfg.cols, self.wq.group_size
        P = torch.zeros((self.tokens, n, self.wq.groups), dtype=torch.int64)
        for i, (n0, k0) in enumerate(self.tiles):
            cols = min(C, n - n0)
            P[:, n0:n0 + cols, k0 // g] += sums[i, :, :cols]
        return P

    def golden_partial_sums(self) -> torch.Tensor:
        return int_matmul(self.wq, self.a)

    def output(self, P: torch.Tensor) -> torch.Tensor:
        """FP32 ``y[T, N]`` from partial sums (golden rescale, no bias)."""
        return linear_from_sums(self.wq, P, self.scale)

    def golden_output(self) -> torch.Tensor:
        return linear(self.wq, self.a, act_scale=self.scale)

    def windows(self) -> list[int]:
        """Documented window T (cycles per vector) of every tile (verif.vectors.fineq)."""
        from verif.vectors.fineq import window_cycles
        if self.cfg.coding == "select":
            return [1] * len(self.tiles)
        L = self.wq.levels.to(torch.int64)
        R, C = self.cfg.rows, self.cfg.cols
        return [window_cycles(L[n0:n0 + C, k0:k0 + R], "temporal", self.cfg.coding, True)
                for n0, k0 in self.tiles]

    def cycle_breakdown(self, in_a: list[int], out_cycles: list[int]) -> dict:
        """Cycles of the simulation split per tile into weight load (previous tile's last
        result, or the start, to this tile's first vector handshake), compute (first to last
        vector handshake) and drain (last vector to last result: the window of the last vector
        and the pipeline's fill/drain). Stalls: compute cycles beyond ``(T - 1)·window + 1``."""
        T = self.tokens
        load = compute = drain = span = windows = 0
        prev = -1
        for i, win in enumerate(self.windows()):
            a0, a1 = in_a[i * T], in_a[i * T + T - 1]
            o1 = out_cycles[i * T + T - 1]
            load += a0 - prev - 1
            compute += a1 - a0 + 1
            drain += o1 - a1
            span += (T - 1) * win + 1
            windows += T * win
            prev = o1
        total = out_cycles[-1] + 1
        if load + compute + drain != total:
            raise AssertionError("cycle breakdown does not add up")
        return {"cycles": total, "weight_load": load, "compute": compute, "fill_drain": drain,
                "stall": compute - span, "tiles": len(self.tiles), "window_cycles": windows}
