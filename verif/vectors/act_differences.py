"""Every reachable candidate difference of the activation quantizer (issue 13).

The score's squarers (rtl/fgmp/act_quant.py ``Square``, stage D1) see |d_i| with
d_i = 1024·(e2m1(q4_i)·s_b − 6·e4m3(q8_i)) in units of the tensor scale S (docs/fgmp.md §4).
It is S-free and depends only on (sc, |x_i|/S): for a block scale code sc every x_i of the
block lies in [0, hi(sc)], where hi(sc) = 6·(the upper edge of sc's rounding interval) is the
largest amax that still encodes to sc. Within [0, hi(sc)] the pair (q4_i, q8_i) is constant
between consecutive rounding boundaries (the E2M1 midpoints times s_b and the E4M3 midpoints
times 6), so the boundary points themselves (the ties) and one point inside every segment
between them, for every sc, give every reachable d. That is 17,977 candidate values, and
only 272 distinct |d| (the largest is 2^19). ``act_difference_groups`` puts each one into
each element position.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction
from functools import lru_cache

import torch

from golden.fgmp import hw
from golden.fgmp.blocks import BLOCK, FP8_BLOCK_SCALE
from golden.formats import E2M1, E4M3, UE4M3, decode

from .fgmp import ActGroup, _lasts

__all__ = ["candidate_values", "reachable_differences", "differences_of",
           "act_difference_groups"]


def _grid(fmt, n: int) -> list[Fraction]:
    values = decode(fmt, torch.arange(n, dtype=torch.uint8)).to(torch.float64).tolist()
    return sorted({Fraction(v) for v in values if math.isfinite(v) and v >= 0})


def _midpoints(grid):
    return [(a + b) / 2 for a, b in zip(grid, grid[1:])]


@lru_cache(maxsize=1)
def candidate_values() -> tuple[tuple[int, Fraction], ...]:
    """(sc, x) pairs, x = |x_i|/S: for every block scale code sc, the rounding boundaries in
    [0, hi(sc)] and one point inside every segment between them (see the module docstring)."""
    g4, g8, gs = _grid(E2M1, 16), _grid(E4M3, 0x7F), _grid(UE4M3, UE4M3.max_code + 1)
    m4, m8, ms = _midpoints(g4), _midpoints(g8), _midpoints(gs)
    six = Fraction(FP8_BLOCK_SCALE)
    out = []
    for sc, sb in enumerate(gs):
        # amax/(6S) up to the next code's midpoint encodes to sc (the largest code saturates:
        # anything above 6·448 gives the same (q4, q8) as 6·448·(1 + 2^-3))
        hi = six * (ms[sc] if sc < len(ms) else gs[-1] * Fraction(9, 8))
        points = sorted({p for p in [sb * m for m in m4] + [six * m for m in m8] if p < hi}
                        | {Fraction(0), hi})
        inner = [(a + b) / 2 for a, b in zip(points, points[1:])]
        out += [(sc, x) for x in sorted(set(points) | set(inner))]
    return tuple(out)


def differences_of(x: torch.Tensor, k: int) -> torch.Tensor:
    """|d_i| (int64) of FP32 blocks ``x`` [N, 16] (no NaN) with S = 2^k, from golden."""
    fbar = torch.ones(x.shape, dtype=torch.uint8)
    v4, v8, _ = hw.act_values_fast(x, math.ldexp(1.0, k), fbar)
    return ((v4 - v8) * 1024).abs().to(torch.int64)


def _witness_blocks() -> tuple[torch.Tensor, list[int]]:
    """One block [x, amax, 0, ...] per candidate (S = 1): amax = max(x, 6·s_b) sets sc."""
    gs = _grid(UE4M3, UE4M3.max_code + 1)
    rows = []
    for sc, x in candidate_values():
        amax = max(x, FP8_BLOCK_SCALE * gs[sc])
        rows.append([float(x), float(amax)] + [0.0] * (BLOCK - 2))
    blocks = torch.tensor(rows, dtype=torch.float64).to(torch.float32)
    exact = [Fraction(v) for v in blocks[:, 0].tolist()]
    if exact != [x for _, x in candidate_values()]:
        raise AssertionError("a candidate value is not an FP32 number")
    # the block scale golden gives (x = hi(sc) is a tie: it may encode to sc + 1)
    ones = torch.ones(blocks.shape, dtype=torch.uint8)
    scs = hw.act_quant_blocks(blocks, 1.0, ones, hw.TAU_FORCE_NVFP4)[2].tolist()
    return blocks, scs


@lru_cache(maxsize=1)
def reachable_differences() -> dict[int, tuple[int, float]]:
    """Every reachable |d| -> a witness (sc, x/S): x in a block with scale code sc (its amax
    6·s_b, or x itself) gives d. Of the candidates producing d, the one whose sc gives the
    most distinct |d| (so that few block scales carry all of them)."""
    blocks, scs = _witness_blocks()
    d = differences_of(blocks, 0)[:, 0].tolist()
    by_d: dict[int, list[int]] = {}
    for i, v in enumerate(d):
        by_d.setdefault(v, []).append(i)
    count: dict[int, int] = {}
    for idx in by_d.values():
        for sc in {scs[i] for i in idx}:
            count[sc] = count.get(sc, 0) + 1
    out = {}
    for v, idx in sorted(by_d.items()):
        i = max(idx, key=lambda j: (count[scs[j]], -j))
        out[v] = (scs[i], float(blocks[i, 0]))
    return out


def act_difference_groups(rng: random.Random) -> list[ActGroup]:
    """Every reachable |d| (both signs of x) in every element position, with non-zero F̄ (so
    that every squared difference enters the score): per block scale code, its witnesses in
    blocks of 15 plus the amax element (6·s_b·S), each block in all 16 rotations (1,008
    blocks); S = 2^k with a random k in −12..12."""
    gs = _grid(UE4M3, UE4M3.max_code + 1)
    by_sc: dict[int, list[float]] = {}
    for sc, x in reachable_differences().values():
        by_sc.setdefault(sc, []).append(x)
    groups = []
    for k in (rng.randint(-12, 12),):
        S = math.ldexp(1.0, k)
        rows = []
        for sc, xs in sorted(by_sc.items()):
            amax = float(FP8_BLOCK_SCALE * gs[sc])
            for j in range(0, len(xs), BLOCK - 1):
                chunk = xs[j:j + BLOCK - 1]
                chunk += [xs[(j + n) % len(xs)] for n in range(BLOCK - 1 - len(chunk))]
                base = [amax] + chunk
                for r in range(BLOCK):
                    rows.append([rng.choice((-1.0, 1.0)) * base[(i + r) % BLOCK] * S
                                 for i in range(BLOCK)])
        x = torch.tensor(rows, dtype=torch.float64).to(torch.float32)
        fbar = torch.tensor([[rng.randrange(1, UE4M3.max_code + 1) for _ in range(BLOCK)]
                             for _ in rows], dtype=torch.uint8)
        score = hw.act_quant_blocks(x, S, fbar, hw.TAU_FORCE_NVFP4)[3].to(torch.float64)
        groups.append(ActGroup(k, int(score.median()), x, fbar, _lasts(rng, len(rows)),
                               f"every difference k={k}"))
    return groups
