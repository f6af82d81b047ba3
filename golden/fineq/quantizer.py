"""FineQ quantizer: per-(row, group) Δ search with per-cluster type/code selection.

Rules (docs/fineq.md, "Quantizer"):

* Per weight and code width b, the code is the nearest level of that width: ``k`` = number of
  thresholds ``2j·s`` (j = 1 .. 2**(b-1)-1, s = Δ/2) that ``|w|`` strictly exceeds, so an exact
  midpoint goes to the smaller magnitude; ``sign = (w < 0)`` (so ±0 is +). If Δ = 0, k = 0.
  The comparisons are exact (``2j·s`` is exact in FP32), so this is the least-squared-error code
  for every non-negative importance.
* Per cluster the type minimizes ``E_t = sum_i imp_i * (w_i - L_i * s)**2`` (computed in FP64, the
  three terms added in K order), ties to the lowest type (normal first). With
  ``outlier="ratio"`` the type is fixed instead: outlier iff ``max|w| > 4 * min|w|`` over the
  cluster's original weights, at the first position holding the maximum.
* Per (row, group) Δ is searched over an FP16 grid (two stages, see ``_candidate_ratios``); the
  error of a candidate is evaluated with the FP16-rounded Δ, so ``dequantize()`` reproduces what
  the search evaluated; the least-error candidate wins, ties to the earlier candidate. The search
  runs in FP32, the final type/code choice at the chosen Δ in FP64. A group with
  ``sum imp·w**2`` beyond FP32 (|w| above about 1.8e19, or a huge importance; or whose FP32
  error overflows for every candidate) uses FP64 *centred* errors ``L·(L - 2|w|)`` (the squared
  error minus the constant ``w**2``) in both steps: the same minimizer, without the overflow
  that would otherwise leave Δ = 0 and all-zero weights.
* Padding columns (K up to a multiple of G) have importance 0: they never influence Δ or a
  type; their codes follow the rule above for w = 0 (code 0, level +1) unless they are a victim.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from golden.formats import check_int

from .format import (DEFAULT_GROUP_SIZE, DEFAULT_LAYOUT, FineQWeight, check_group_size,
                     get_layout)

__all__ = ["quantize", "prepare_weight", "prepare_importance", "search_ratios",
           "FP16_MAX"]

FP16_MAX = 65504.0

# Stage 1: geometric grid of s/max|w| (s = Δ/2); stage 2 refines around the stage-1 winner.
# The range is [1 / (max_level + 9), 1 / 1.5]: [1/16, 2/3] for the 3-bit layouts.
STAGE1_POINTS = 16
STAGE1_HI = 1 / 1.5
STAGE2_POINTS = 6

# Weights per chunk: small enough to stay in cache (measured fastest on this machine), large
# enough that per-op overhead is small.
DEFAULT_CHUNK_ELEMS = 1 << 17


def search_ratios(max_level: int = 7, points: int = STAGE1_POINTS) -> torch.Tensor:
    """Stage-1 candidates for ``s / max|w|`` (s = Δ/2; geometric, ascending)."""
    lo, hi = 1.0 / (max_level + 9), STAGE1_HI
    return torch.logspace(math.log10(lo), math.log10(hi), points, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# validation / preparation (shared with the baselines)

def prepare_weight(W) -> torch.Tensor:
    """Validate ``W`` and return it as a contiguous float32 ``[N, K]`` tensor."""
    if isinstance(W, np.ndarray):
        if not (np.issubdtype(W.dtype, np.floating) or np.issubdtype(W.dtype, np.integer)):
            raise ValueError(f"W must be a real numeric array, got dtype {W.dtype}")
        W = torch.from_numpy(np.asarray(W, dtype=np.float64))
    if not isinstance(W, torch.Tensor):
        raise ValueError(f"W must be a torch tensor or numpy array, got {type(W).__name__}")
    if W.is_complex() or W.dtype == torch.bool:
        raise ValueError(f"W must be a real tensor, got dtype {W.dtype}")
    if W.dim() != 2:
        raise ValueError(f"W must be 2-D [N, K], got shape {tuple(W.shape)}")
    if W.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"W must be non-empty, got shape {tuple(W.shape)}")
    W = W.detach().to("cpu")
    if W.is_floating_point() and not bool(torch.isfinite(W).all()):
        bad = (~torch.isfinite(W)).nonzero()[0].tolist()
        raise ValueError(f"W must be finite; W[{bad[0]}, {bad[1]}] = {W[bad[0], bad[1]].item()}")
    W32 = W.to(torch.float32)
    if not bool(torch.isfinite(W32).all()):
        raise ValueError("W overflows float32")
    return W32.contiguous()


def prepare_importance(importance, k: int) -> torch.Tensor | None:
    """Validate an optional per-input-channel importance vector of length ``k``."""
    if importance is None:
        return None
    if isinstance(importance, np.ndarray):
        importance = torch.from_numpy(np.asarray(importance, dtype=np.float64))
    if not isinstance(importance, torch.Tensor):
        raise ValueError(f"importance must be a tensor/array of length {k}, "
                         f"got {type(importance).__name__}")
    imp = importance.detach().to("cpu", torch.float64)
    if imp.dim() != 1 or imp.shape[0] != k:
        raise ValueError(f"importance must have shape ({k},), got {tuple(imp.shape)}")
    if not bool(torch.isfinite(imp).all()) or bool((imp < 0).any()):
        raise ValueError("importance must be finite and non-negative")
    imp32 = imp.to(torch.float32)
    if not bool(torch.isfinite(imp32).all()):
        raise ValueError("importance overflows float32")
    return imp32


def fp16_half_step(ratio: torch.Tensor, amax: torch.Tensor) -> torch.Tensor:
    """s = fp16(2 * amax * ratio) / 2 as float32 (Δ clamped to the largest finite FP16)."""
    delta = (2.0 * amax.double() * ratio).clamp(max=FP16_MAX)
    return delta.to(torch.float16).to(torch.float32) / 2


# ---------------------------------------------------------------------------------------------
# core error evaluation
#
# Tensors of a chunk are position-major: A[i, r, g, c] = |w| of weight i (0..2) of cluster c of
# group g of row r. s[r, g] is the half-step Δ/2 of each group.

def _sq_err(A, lev, centred):
    """Squared error ``(A - lev)**2``; ``centred``: minus the constant ``A**2`` of the weight,
    ``lev·(lev - 2A)`` (same minimizer, no overflow for |w| up to the FP32 maximum in FP64)."""
    if centred:
        return lev * (lev - 2 * A)
    d = A - lev
    return d * d


def _per_weight_errors(A, s, imp, lay, dtype, centred=False):
    """Per-weight squared errors needed by layout ``lay`` (``centred``: see ``_sq_err``).

    Returns ``near``: {width b >= 1: (err, k)} for the nearest level of a b-bit field (k = number
    of midpoints ``2j*s``, j = 1 .. 2**(b-1)-1, that |w| strictly exceeds; exact in FP32/FP64),
    ``fixed``: {k: err} of the fixed magnitude 2k+1 (patterns layouts) and ``zero``: err of 0.
    """
    s4 = s[None, :, :, None].to(dtype)
    pos = s4 > 0

    def weigh(e):
        return e if imp is None else e * imp

    widths = {2} | ({b for b in lay.outlier_bits if b > 0} if lay.kind == "fields" else set())
    kmax = max((1 << (b - 1)) - 1 for b in widths)
    cnt, counts = None, {}
    for j in range(1, kmax + 1):
        gj = ((A > (2 * j) * s4) & pos).to(dtype)   # Δ = 0: k = 0
        cnt = gj if cnt is None else cnt + gj
        counts[j] = cnt
    near = {}
    for b in sorted(widths):
        kb = (1 << (b - 1)) - 1
        if kb == 0:
            k = torch.zeros_like(A)
            lev = s4
        else:
            k = counts[kb]
            lev = (2 * k + 1) * s4
        near[b] = (weigh(_sq_err(A, lev, centred)), k)
    zero = torch.zeros_like(A) if centred else weigh(A * A)
    fixed = {}
    if lay.kind == "patterns":
        for kk in sorted({k for pat in lay.patterns for k in pat if k is not None}):
            fixed[kk] = weigh(_sq_err(A, (2 * kk + 1) * s4, centred))
    return near, fixed, zero


def _field_err(near, zero, b):
    return zero if b == 0 else near[b][0]


def _first_min(values):
    """Elementwise minimum over a list of tensors and the index of its first occurrence
    (uint8). Incremental on purpose: ``torch.stack(...).argmin(0)`` is far slower here."""
    best = values[0]
    idx = torch.zeros(best.shape, dtype=torch.uint8)
    for j in range(1, len(values)):
        upd = values[j] < best                    # strict: earlier index wins ties
        best = torch.where(upd, values[j], best)
        idx.masked_fill_(upd, j)
    return best, idx


def _cluster_errors(near, fixed, zero, lay, with_patterns=False):
    """Cluster error of each type (list of 4 ``[r, g, c]``; the 3 terms added in K order).

    With ``with_patterns=True`` also, for a patterns layout, the first minimizing pattern index
    of each outlier type (list of 3 uint8 tensors; None for a fields layout).
    """
    e2 = near[2][0]
    out = [e2[0] + e2[1] + e2[2]]
    pidx = None
    if lay.kind == "fields":
        for p in range(3):
            bits = [0, 0, 0]
            for j, b in enumerate(lay.outlier_bits):
                bits[(p + j) % 3] = b
            out.append(_field_err(near, zero, bits[0])[0] + _field_err(near, zero, bits[1])[1]
                       + _field_err(near, zero, bits[2])[2])
    else:
        pidx = []
        for p in range(3):
            per_pat = []
            for pat in lay.patterns:
                ks = [None, None, None]
                for q, k in enumerate(pat):
                    ks[(p + q) % 3] = k
                terms = [zero[i] if ks[i] is None else fixed[ks[i]][i] for i in range(3)]
                per_pat.append(terms[0] + terms[1] + terms[2])
            best, idx = _first_min(per_pat)
            out.append(best)
            pidx.append(idx)
    return (out, pidx) if with_patterns else out


JOINT_PATTERNS = ((2, 0, 0), (2, 0, 1), (2, 1, 0), (2, 1, 1),
                  (3, 0, 0), (3, 0, 1), (3, 2, 0), (3, 1, 2))


def _joint_type_errors(A, s, imp):
    """Search-only shortcut for the "joint" layout: the same per-type minimum as
    ``_cluster_errors`` (up to FP32 summation order), using its structure. With
    ``n = min(e(k=0), e(k=1))`` (the nearest 2-bit error) and positions P = p, Q, R:
    h = 0 patterns give ``e_P(2) + n_Q + n_R``; h = 1 patterns give
    ``e_P(3) + min(e_Q(0) + n_R, e_Q(2) + e_R(0), e_Q(1) + e_R(2))``."""
    s4 = s[None, :, :, None]
    e = []
    for k in range(4):
        d = torch.sub(A, s4, alpha=2 * k + 1)          # (2k+1)*s is exact
        d.square_()
        if imp is not None:
            d.mul_(imp)
        e.append(d)
    n = torch.minimum(e[0], e[1])
    out = [n[0] + n[1] + n[2]]
    for p in range(3):
        P, Q, R = p, (p + 1) % 3, (p + 2) % 3
        t = e[2][P] + n[Q]
        t += n[R]
        m = e[0][Q] + n[R]
        torch.minimum(m, e[2][Q] + e[0][R], out=m)
        torch.minimum(m, e[1][Q] + e[2][R], out=m)
        m += e[3][P]
        out.append(torch.minimum(t, m, out=t))
    return out


def _ratio_types(Wc, valid):
    """Types for ``outlier="ratio"``: [r, g, c]. Wc: w [3, r, g, c]; valid: [3, 1, g, c]."""
    A = Wc.abs()
    big = torch.where(valid, A, torch.full_like(A, -1.0))
    small = torch.where(valid, A, torch.full_like(A, math.inf))
    amax, pos = big.max(dim=0)                   # first index of the maximum
    amin = small.min(dim=0).values
    outl = (amax > 4 * amin) & valid.any(dim=0)
    return torch.where(outl, pos + 1, torch.zeros_like(pos))


def huge_groups(Wc, imp):
    """[r, g] bool: groups of Wc [3, r, g, c] whose FP32 error scale ``sum imp·w**2`` overflows
    (|w| above about 1.8e19, or a huge importance). Their Δ search and type choice use FP64
    centred errors (``_sq_err``): plain squared errors overflow FP32 there, and in FP64 they
    lose the differences between candidates."""
    A2 = Wc.abs().square()
    if imp is not None:
        A2 = A2 * imp
    return ~torch.isfinite(A2.sum(dim=(0, 3)))


def _search_chunk(Wc, imp, valid, lay, outlier, ratios1, centred=False):
    """Search Δ for one chunk of rows. Wc: [3, r, g, c] float32. Returns (s [r, g], types,
    centred [r, g]: the groups whose errors are FP64 centred ones, see ``huge_groups``).

    FP32 errors; the groups of ``huge_groups`` and any group whose FP32 error overflowed for
    every candidate are searched again in FP64 with centred errors (same candidates and rules);
    every other group keeps its FP32 result."""
    A = Wc.abs()
    r, g = A.shape[1], A.shape[2]
    amax = A.amax(dim=(0, 3))                     # [r, g]
    fixed_types = _ratio_types(Wc, valid) if outlier == "ratio" else None
    dtype = torch.float64 if centred else torch.float32
    Ad = A.to(dtype)
    impd = None if imp is None else imp.to(dtype)

    fast_joint = lay.kind == "patterns" and lay.patterns == JOINT_PATTERNS and not centred

    def group_err(s):
        s = s.to(dtype)
        if fast_joint:
            E = _joint_type_errors(Ad, s, impd)
        else:
            near, fixed, zero = _per_weight_errors(Ad, s, impd, lay, dtype, centred)
            E = _cluster_errors(near, fixed, zero, lay)
        if fixed_types is None:
            Emin = torch.minimum(torch.minimum(E[0], E[1]), torch.minimum(E[2], E[3]))
        else:
            Emin = torch.stack(E).gather(0, fixed_types[None]).squeeze(0)
        return Emin.sum(dim=-1)

    best_err = torch.full((r, g), math.inf, dtype=dtype)
    best_s = torch.zeros((r, g), dtype=torch.float32)
    best_j = torch.zeros((r, g), dtype=torch.int64)

    def consider(s, j=None):
        nonlocal best_err, best_s, best_j
        e = group_err(s)
        better = e < best_err                     # strict: the earlier candidate wins ties
        best_err = torch.where(better, e, best_err)
        best_s = torch.where(better, s, best_s)
        if j is not None:
            best_j = torch.where(better, torch.full_like(best_j, j), best_j)

    n1 = ratios1.numel()
    for j in range(n1):
        consider(fp16_half_step(ratios1[j], amax), j)
    if STAGE2_POINTS > 0 and n1 > 1:
        for ratio in stage2_ratios(ratios1, best_j):
            consider(fp16_half_step(ratio, amax))
    if centred:
        return best_s, fixed_types, None
    redo = huge_groups(Wc, imp) | ~torch.isfinite(best_err)
    if bool(redo.any()):
        s64, _, _ = _search_chunk(Wc, imp, valid, lay, outlier, ratios1, centred=True)
        best_s = torch.where(redo, s64, best_s)
    return best_s, fixed_types, redo


def stage2_ratios(ratios1: torch.Tensor, best_j: torch.Tensor) -> list[torch.Tensor]:
    """Stage-2 candidates: ``STAGE2_POINTS`` geometric points strictly between the neighbours
    of each group's stage-1 winner, nearest first, below before above."""
    lr = ratios1.log()
    step = (lr[1] - lr[0]).item()
    centre = lr[best_j]
    out = []
    half = STAGE2_POINTS // 2 + 1
    for q in range(1, STAGE2_POINTS + 1):
        m = (q + 1) // 2
        sign = -1.0 if q % 2 else 1.0
        out.append((centre + sign * (m / half) * step).exp())
    return out


def _final_chunk(Wc, imp, lay, best_s, fixed_types, centred):
    """FP64 type/code choice at the chosen Δ (centred errors in the groups of the [r, g] mask
    ``centred``). Returns the cluster bytes [r, g, c] (uint8)."""
    W64 = Wc.double()
    A = W64.abs()
    imp64 = None if imp is None else imp.double()
    near, fixed, zero = _per_weight_errors(A, best_s.double(), imp64, lay, torch.float64)
    E, pidx = _cluster_errors(near, fixed, zero, lay, with_patterns=True)
    if bool(centred.any()):
        near_c, fixed_c, zero_c = _per_weight_errors(A, best_s.double(), imp64, lay,
                                                     torch.float64, centred=True)
        E_c, pidx_c = _cluster_errors(near_c, fixed_c, zero_c, lay, with_patterns=True)
        m = centred[:, :, None]
        E = [torch.where(m, ec, e) for ec, e in zip(E_c, E)]
        if pidx is not None:
            pidx = [torch.where(m, pc, p) for pc, p in zip(pidx_c, pidx)]
    if fixed_types is None:
        types = _first_min(E)[1]                  # lowest type wins ties
    else:
        types = fixed_types.to(torch.uint8)
    neg = (W64 < 0).to(torch.uint8)               # sign bit: 1 iff w < 0
    k2 = near[2][1].to(torch.uint8)
    data = (((neg[0] << 1) | k2[0]) | (((neg[1] << 1) | k2[1]) << 2)
            | (((neg[2] << 1) | k2[2]) << 4))     # normal clusters: 2-bit fields
    for t in (1, 2, 3):
        p = t - 1
        sel = types == t
        if lay.kind == "fields":
            acc = torch.zeros_like(data)
            off = 0
            for j, b in enumerate(lay.outlier_bits):
                i = (p + j) % 3
                if b == 1:
                    acc |= neg[i] << off
                elif b > 1:
                    acc |= ((neg[i] << (b - 1)) | near[b][1][i].to(torch.uint8)) << off
                off += b
        else:
            jb = pidx[p]
            acc = torch.tensor(lay.pattern_bases, dtype=torch.uint8)[jb.long()]
            # sign bits of the non-zero positions in p-relative order: the q-th position's bit
            # index is the number of non-zero positions before it in pattern jb
            has = torch.tensor([[k is not None for k in pat] for pat in lay.patterns],
                               dtype=torch.uint8)
            pos = has.cumsum(dim=1) - has
            for q in range(3):
                i = (p + q) % 3
                h = has[:, q][jb.long()]
                acc |= (neg[i] * h) << pos[:, q][jb.long()]
        data = torch.where(sel, acc, data)
    return (types << 6) | data


def quantize(W, group_size: int = DEFAULT_GROUP_SIZE, layout: str = DEFAULT_LAYOUT,
             outlier: str = "search", importance=None, *, scales=None,
             chunk_elems: int = DEFAULT_CHUNK_ELEMS, workers: int | None = None) -> FineQWeight:
    """Quantize ``W[N, K]`` to the FineQ format.

    ``importance``: optional non-negative per-input-channel weights (length K) for the error,
    e.g. the mean squared activation of each input channel. ``outlier``: ``"search"`` (least
    error type per cluster) or ``"ratio"`` (max|w| > 4·min|w| rule). ``scales``: optional
    FP16-representable ``[N, G]`` Δ values to use instead of the search (the per-cluster
    type/code choice is unchanged). ``chunk_elems`` bounds the number of weights processed at
    once (memory). ``workers``: row chunks processed by this many Python threads (default
    ``min(2, os.cpu_count())``); torch's intra-op threads are set to 1 for the duration of the
    call and restored afterwards (the chunks are cache-sized; intra-op OpenMP threads gain little
    and are pathologically slow when the cores are oversubscribed). The result does not depend
    on ``workers`` or ``chunk_elems``.
    """
    W32 = prepare_weight(W)
    group_size = check_group_size(group_size)
    lay = get_layout(layout)
    if outlier not in ("search", "ratio"):
        raise ValueError(f"outlier must be 'search' or 'ratio', got {outlier!r}")
    n, k = W32.shape
    imp_k = prepare_importance(importance, k)
    kp = -(-k // group_size) * group_size
    g = kp // group_size
    c = group_size // 3

    Wp = torch.zeros((n, kp), dtype=torch.float32)
    Wp[:, :k] = W32
    valid_k = torch.zeros(kp, dtype=torch.bool)
    valid_k[:k] = True
    valid = valid_k.reshape(g, c, 3).permute(2, 0, 1)[:, None]          # [3, 1, g, c]
    if imp_k is None and kp == k:
        imp = None
    else:
        imp_full = torch.zeros(kp, dtype=torch.float32)
        imp_full[:k] = 1.0 if imp_k is None else imp_k
        imp = imp_full.reshape(g, c, 3).permute(2, 0, 1)[:, None].contiguous()

    fixed_s = None
    if scales is not None:
        sc = scales if isinstance(scales, torch.Tensor) else torch.as_tensor(np.asarray(scales))
        if tuple(sc.shape) != (n, g):
            raise ValueError(f"scales must have shape ({n}, {g}), got {tuple(sc.shape)}")
        sc64 = sc.detach().to("cpu", torch.float64)
        sc16 = sc64.to(torch.float16)
        if not torch.equal(sc16.double(), sc64) or not bool(torch.isfinite(sc16).all()) \
                or bool((sc16 < 0).any()):
            raise ValueError("scales must be finite, non-negative and representable in FP16")
        fixed_s = sc16.float() / 2

    ratios1 = search_ratios(lay.max_level)
    rows_per_chunk = max(1, check_int("chunk_elems", chunk_elems, 1, 1 << 62) // kp)
    out_bytes = torch.empty((n, g, c), dtype=torch.uint8)
    out_s = torch.empty((n, g), dtype=torch.float32)

    def work(r0):
        r1 = min(n, r0 + rows_per_chunk)
        Wc = Wp[r0:r1].reshape(r1 - r0, g, c, 3).permute(3, 0, 1, 2).contiguous()
        if fixed_s is None:
            best_s, fixed, centred = _search_chunk(Wc, imp, valid, lay, outlier, ratios1)
        else:
            best_s = fixed_s[r0:r1]
            fixed = _ratio_types(Wc, valid) if outlier == "ratio" else None
            centred = huge_groups(Wc, imp)
        out_bytes[r0:r1] = _final_chunk(Wc, imp, lay, best_s, fixed, centred)
        out_s[r0:r1] = best_s

    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    starts = range(0, n, rows_per_chunk)
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if workers == 1 or len(starts) == 1:
            for r0 in starts:
                work(r0)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(work, starts))
    finally:
        torch.set_num_threads(prev_threads)
    scales = (out_s * 2).to(torch.float16)        # exact: s came from an FP16 Δ
    return FineQWeight(out_bytes.reshape(n, g * c), scales, (n, k), group_size, lay.name)
