"""Baselines for an honest comparison with FineQ at (close to) equal average bits.

* :func:`quantize_rtn` — uniform group-wise round-to-nearest INT-b with an MSE-searched FP16
  scale per (row, group of G). Two grids:

  - ``"odd"`` (default): sign-magnitude odd levels ``±1, ±3, ..., ±(2**b - 1)``, value
    ``level * Δ / 2`` — FineQ's own grid with every weight at b bits, so it runs on the same
    temporal-coded array. Storage ``b + 16/G`` bits per weight.
  - ``"asym"``: unsigned ``q in [0, 2**b - 1]`` with a b-bit integer zero point ``z``, value
    ``(q - z) * Δ`` (the usual GPTQ/AWQ-style asymmetric INT). Storage ``b + (16 + b)/G``.

* :func:`quantize_coarse_mixed` — coarse group-wise mixed precision: every (row, group) is
  quantized at ``low`` and ``high`` bits (RTN as above); the groups with the largest
  (importance-weighted) error reduction get ``high`` bits, as many as fit in the target average
  bit-width. Storage adds 1 metadata bit per group.

Both return a :class:`GroupQuantWeight`. Scale search: the same two-stage FP16 grid as FineQ
(``quantizer.search_ratios``), evaluated with the FP16-rounded scale; ties to the earlier
candidate. Sizes count the padding to a multiple of G, like FineQ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch

from golden.formats import check_int

from .format import DEFAULT_GROUP_SIZE, check_group_size
from .quantizer import (DEFAULT_CHUNK_ELEMS, FP16_MAX, prepare_importance, prepare_weight,
                        search_ratios, stage2_ratios)

__all__ = ["GroupQuantWeight", "quantize_rtn", "quantize_coarse_mixed", "GRIDS"]

GRIDS = ("odd", "asym")


@dataclass(eq=False)
class GroupQuantWeight:
    """Result of a baseline quantizer (dequantized values plus exact storage accounting)."""

    values: torch.Tensor          # float32 [N, K] dequantized weights
    bits: torch.Tensor            # int64 [N, G] code width of each group
    scales: torch.Tensor          # float16 [N, G]
    zeros: torch.Tensor | None    # int64 [N, G] zero points ("asym") or None
    packed_bits: int
    group_size: int
    grid: str
    name: str

    def dequantize(self) -> torch.Tensor:
        return self.values

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.values.shape)

    @property
    def avg_bits_exact(self) -> Fraction:
        return Fraction(self.packed_bits, self.values.numel())

    @property
    def avg_bits(self) -> float:
        return float(self.avg_bits_exact)

    @property
    def high_fraction(self) -> float:
        """Fraction of groups at the largest bit-width present."""
        return float((self.bits == self.bits.max()).float().mean())

    def __repr__(self):
        return f"GroupQuantWeight({self.name}, shape={self.shape}, avg_bits={self.avg_bits:.4f})"


def _check_bits(bits):
    return check_int("bits", bits, 1, 8)


def _check_grid(grid):
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; known grids: {list(GRIDS)}")
    return grid


def _fp16(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(max=FP16_MAX).to(torch.float16).to(torch.float32)


def _odd_dequant(Wg, s, bits):
    """Nearest odd level (exact midpoint comparisons, ties to the smaller magnitude)."""
    A = Wg.abs()
    kmax = (1 << (bits - 1)) - 1
    k = torch.zeros_like(A)
    for j in range(1, kmax + 1):
        k = k + (A > (2 * j) * s)
    k = torch.where(s > 0, k, torch.zeros_like(k))
    lev = 2 * k + 1
    return torch.where(Wg < 0, -lev, lev) * s


def _asym_params(lo, hi, alpha, bits):
    qmax = (1 << bits) - 1
    delta = _fp16(alpha * (hi - lo) / qmax)
    z = torch.where(delta > 0, torch.round(-alpha * lo / torch.where(delta > 0, delta, 1.0)),
                    torch.zeros_like(delta)).clamp(0, qmax)
    return delta, z


def _asym_dequant(Wg, delta, z, bits):
    qmax = (1 << bits) - 1
    inv = torch.where(delta > 0, 1.0 / torch.where(delta > 0, delta, 1.0), 0.0)
    q = (torch.round(Wg * inv) + z).clamp(0, qmax)
    return (q - z) * delta


def _rtn_groups(Wg, imp, bits, grid, centred=False):
    """RTN with scale search on groups ``Wg [M, G]`` (imp: None or [M or 1, G]).

    Returns (values [M, G], err [M], scales fp16-valued float32 [M], zeros [M] or None).
    FP32 errors; a group whose ``sum imp·w**2`` overflows FP32 (|w| above about 1.8e19, or a
    huge importance) or whose error overflows for every candidate is searched again with FP64
    centred errors ``v·(v - 2w)`` (the squared error minus the constant ``w**2``: the same
    minimizer, no overflow); its returned error is then inf (it does not fit FP32).
    """
    M = Wg.shape[0]
    dtype = torch.float64 if centred else torch.float32

    def err_of(v):
        w, v = Wg.to(dtype), v.to(dtype)
        d = v * (v - 2 * w) if centred else (w - v) ** 2
        if imp is not None:
            d = d * imp.to(dtype)
        return d.sum(dim=1)

    best_err = torch.full((M,), math.inf, dtype=dtype)
    best_v = torch.zeros_like(Wg)
    best_a = torch.zeros(M)
    best_b = torch.zeros(M)
    if grid == "odd":
        amax = Wg.abs().amax(dim=1)
        r1 = search_ratios((1 << bits) - 1)

        def cand(ratio):
            s = _fp16(2 * amax.double() * ratio).float() / 2
            v = _odd_dequant(Wg, s[:, None], bits)
            return v, s * 2, torch.zeros(M)
    else:
        lo = Wg.amin(dim=1).clamp(max=0)
        hi = Wg.amax(dim=1).clamp(min=0)
        # shrink factor alpha of the [lo, hi] range; geometric in [0.35, 1]
        r1 = torch.logspace(math.log10(0.35), 0.0, 16, dtype=torch.float64)

        def cand(alpha):
            delta, z = _asym_params(lo, hi, float(alpha) if not torch.is_tensor(alpha)
                                    or alpha.dim() == 0 else alpha.float(), bits)
            return _asym_dequant(Wg, delta[:, None], z[:, None], bits), delta, z

    best_j = torch.zeros(M, dtype=torch.int64)
    for j in range(r1.numel()):
        v, a, b = cand(r1[j])
        e = err_of(v)
        better = e < best_err
        best_err = torch.where(better, e, best_err)
        best_v = torch.where(better[:, None], v, best_v)
        best_a = torch.where(better, a, best_a)
        best_b = torch.where(better, b, best_b)
        best_j = torch.where(better, torch.full_like(best_j, j), best_j)
    for ratio in stage2_ratios(r1, best_j):
        if grid == "asym":
            ratio = ratio.clamp(max=1.0)
        v, a, b = cand(ratio)
        e = err_of(v)
        better = e < best_err
        best_err = torch.where(better, e, best_err)
        best_v = torch.where(better[:, None], v, best_v)
        best_a = torch.where(better, a, best_a)
        best_b = torch.where(better, b, best_b)
    if not centred:
        w2 = Wg.square() if imp is None else Wg.square() * imp
        redo = ~torch.isfinite(w2.sum(dim=1)) | ~torch.isfinite(best_err)
        if bool(redo.any()):
            v, _, a, b = _rtn_groups(Wg, imp, bits, grid, centred=True)
            best_v = torch.where(redo[:, None], v, best_v)
            best_err = torch.where(redo, math.inf, best_err)
            best_a = torch.where(redo, a, best_a)
            best_b = torch.where(redo, b if b is not None else best_b, best_b)
    return best_v, best_err, best_a, (best_b if grid == "asym" else None)


def _grouped(W32, imp_k, group_size):
    n, k = W32.shape
    kp = -(-k // group_size) * group_size
    g = kp // group_size
    Wp = torch.zeros((n, kp), dtype=torch.float32)
    Wp[:, :k] = W32
    imp = None
    if imp_k is not None or kp != k:
        imp = torch.zeros(kp, dtype=torch.float32)
        imp[:k] = 1.0 if imp_k is None else imp_k
        imp = imp.reshape(g, group_size)
    return Wp.reshape(n, g, group_size), imp, kp, g


def _rtn_all(W32, imp_k, bits, group_size, grid, chunk_elems):
    n, k = W32.shape
    Wg, imp, kp, g = _grouped(W32, imp_k, group_size)
    vals = torch.empty((n, g, group_size))
    errs = torch.empty((n, g))
    scales = torch.empty((n, g))
    zeros = torch.empty((n, g)) if grid == "asym" else None
    rows = max(1, check_int("chunk_elems", chunk_elems, 1, 1 << 62) // kp)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        blk = Wg[r0:r1].reshape(-1, group_size)
        ib = None if imp is None else imp.repeat(r1 - r0, 1)
        v, e, a, z = _rtn_groups(blk, ib, bits, grid)
        vals[r0:r1] = v.reshape(r1 - r0, g, group_size)
        errs[r0:r1] = e.reshape(r1 - r0, g)
        scales[r0:r1] = a.reshape(r1 - r0, g)
        if zeros is not None:
            zeros[r0:r1] = z.reshape(r1 - r0, g)
    return vals, errs, scales, zeros, kp, g


def _group_bits(bits, group_size, grid, meta):
    return bits * group_size + 16 + (bits if grid == "asym" else 0) + meta


def quantize_rtn(W, bits: int, group_size: int = DEFAULT_GROUP_SIZE, grid: str = "odd",
                 importance=None, *, chunk_elems: int = DEFAULT_CHUNK_ELEMS) -> GroupQuantWeight:
    """Uniform group-wise RTN INT-``bits`` with an MSE-searched FP16 scale per group."""
    W32 = prepare_weight(W)
    bits = _check_bits(bits)
    group_size = check_group_size(group_size)
    grid = _check_grid(grid)
    if grid == "odd" and bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    n, k = W32.shape
    imp_k = prepare_importance(importance, k)
    vals, _, scales, zeros, kp, g = _rtn_all(W32, imp_k, bits, group_size, grid, chunk_elems)
    packed = n * g * _group_bits(bits, group_size, grid, 0)
    return GroupQuantWeight(vals.reshape(n, kp)[:, :k].contiguous(),
                            torch.full((n, g), bits, dtype=torch.int64),
                            scales.to(torch.float16),
                            None if zeros is None else zeros.long(), packed, group_size, grid,
                            f"int{bits}-{grid}")


def quantize_coarse_mixed(W, target_bits: float, group_size: int = DEFAULT_GROUP_SIZE,
                          grid="odd", importance=None, low: int = 2, high: int = 3, *,
                          chunk_elems: int = DEFAULT_CHUNK_ELEMS) -> GroupQuantWeight:
    """Coarse group-wise ``low``/``high``-bit mixed precision at ``avg_bits <= target_bits``.

    ``grid``: one grid name for both widths, or a pair ``(low_grid, high_grid)``.
    The number of ``high``-bit groups is the largest that keeps the exact average (codes + FP16
    scale (+ zero point) + 1 metadata bit per group, over the original N*K weights) at or below
    ``target_bits``; the groups with the largest error reduction ``err_low - err_high`` win
    (ties to the lower (row, group) index). ``ValueError`` if even all-``low`` exceeds it.
    """
    W32 = prepare_weight(W)
    low, high = _check_bits(low), _check_bits(high)
    if high <= low:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    group_size = check_group_size(group_size)
    if isinstance(grid, (tuple, list)) and len(grid) == 2:
        grid_lo, grid_hi = _check_grid(grid[0]), _check_grid(grid[1])
    else:
        grid_lo = grid_hi = _check_grid(grid)
    n, k = W32.shape
    if not isinstance(target_bits, (int, float, Fraction)) or not math.isfinite(target_bits):
        raise ValueError(f"target_bits must be a finite number, got {target_bits!r}")
    imp_k = prepare_importance(importance, k)
    v_lo, e_lo, s_lo, z_lo, kp, g = _rtn_all(W32, imp_k, low, group_size, grid_lo, chunk_elems)
    v_hi, e_hi, s_hi, z_hi, _, _ = _rtn_all(W32, imp_k, high, group_size, grid_hi, chunk_elems)
    ngroups = n * g
    cost_lo = _group_bits(low, group_size, grid_lo, 1)
    cost_hi = _group_bits(high, group_size, grid_hi, 1)
    budget = Fraction(target_bits).limit_denominator(10 ** 9) * n * k
    if ngroups * cost_lo > budget:
        raise ValueError(f"target_bits {target_bits} is below the all-{low}-bit size "
                         f"{ngroups * cost_lo / (n * k):.4f}")
    n_hi = min(ngroups, int((budget - ngroups * cost_lo) // (cost_hi - cost_lo)))
    gain = (e_lo - e_hi).reshape(-1)
    order = torch.sort(-gain, stable=True).indices
    use_hi = torch.zeros(ngroups, dtype=torch.bool)
    use_hi[order[:n_hi]] = True
    use_hi = use_hi.reshape(n, g)
    vals = torch.where(use_hi[..., None], v_hi, v_lo).reshape(n, kp)[:, :k].contiguous()
    bits_g = torch.where(use_hi, high, low).long()
    scales = torch.where(use_hi, s_hi, s_lo).to(torch.float16)
    if z_lo is None and z_hi is None:
        zeros = None
    else:
        zl = torch.zeros((n, g)) if z_lo is None else z_lo
        zh = torch.zeros((n, g)) if z_hi is None else z_hi
        zeros = torch.where(use_hi, zh, zl).long()
    packed = n_hi * cost_hi + (ngroups - n_hi) * cost_lo
    gname = grid_lo if grid_lo == grid_hi else f"{grid_lo}/{grid_hi}"
    return GroupQuantWeight(vals, bits_g, scales, zeros, packed, group_size, gname,
                            f"mixed{low}/{high}-{gname}")
