"""Hardware-structured FineQ reference: exact integer partial sums and the dequantized linear.

Contract (docs/fineq.md, "Hardware reference"):

* ``int_matmul(levels, a)`` — for INT8 activations ``a[T, K]`` and integer levels ``L[N, K]``
  (signed odd levels or 0), the exact partial sum of every (token t, output row n, group g):
  ``P[t, n, g] = sum_{k in group g} a[t, k] * L[n, k]`` as int64. K is zero-padded to a multiple
  of G on both sides (padded activations are 0, so padded weights never contribute).
  ``|P| <= G * 128 * max|level|`` (96 * 128 * 7 = 86016 < 2**17 for the default: 18-bit signed).
* ``linear(W_q, x, act_scale=None)`` — ``y[t, n] = act_scale[t] * sum_g P[t, n, g] * Δ[n, g] / 2``.
  ``linear_from_sums(W_q, P, act_scale)`` is its integer half given the partial sums ``P``
  (the FP64 rescale, FP32 result), so that partial sums computed elsewhere (the RTL, verif.e2e)
  are rescaled by exactly the same operations.
* ``quantize_acts_int8(x)`` — per-token symmetric INT8 activations: ``s[t] = amax_t / 127``
  (FP64; 1 for an all-zero token), ``a = clamp(round_half_even(x / s), -127, 127)``.
  Without ``act_scale``, ``x`` is a float tensor and ``P`` is the FP64 partial sum of ``x`` with
  the levels; with it, ``x`` must be INT8-valued integers and ``P`` is :func:`int_matmul`.
  The sum runs in FP64 and is returned in ``x``'s float dtype (FP32 for integer ``x``); it equals
  ``x @ W_q.dequantize().T`` up to float rounding.
"""
from __future__ import annotations

import torch

from .format import DEFAULT_GROUP_SIZE, FineQWeight, check_group_size

__all__ = ["int_matmul", "linear", "linear_from_sums", "quantize_acts_int8", "partial_sum_bits"]


def partial_sum_bits(group_size: int = DEFAULT_GROUP_SIZE, max_level: int = 7,
                     act_bits: int = 8) -> int:
    """Signed width that holds any per-group partial sum (never overflows)."""
    bound = check_group_size(group_size) * (1 << (act_bits - 1)) * max_level
    return bound.bit_length() + 1


def _as_int8_acts(a, k_expected: int | None, name="a_int8") -> tuple[torch.Tensor, bool]:
    if not isinstance(a, torch.Tensor):
        raise ValueError(f"{name} must be a torch integer tensor, got {type(a).__name__}")
    if a.is_floating_point() or a.is_complex() or a.dtype == torch.bool:
        raise ValueError(f"{name} must have an integer dtype, got {a.dtype}")
    squeeze = a.dim() == 1
    if squeeze:
        a = a[None]
    if a.dim() != 2:
        raise ValueError(f"{name} must be [T, K] or [K], got shape {tuple(a.shape)}")
    if k_expected is not None and a.shape[1] != k_expected:
        raise ValueError(f"{name} has K = {a.shape[1]}, expected {k_expected}")
    a = a.to(torch.int64)
    if a.numel() and (int(a.min()) < -128 or int(a.max()) > 127):
        raise ValueError(f"{name} values must be INT8 in [-128, 127], got range "
                         f"[{int(a.min())}, {int(a.max())}]")
    return a, squeeze


def _levels_and_group(levels, group_size):
    if isinstance(levels, FineQWeight):
        return levels.levels.to(torch.int64), levels.group_size, levels.shape[1]
    if not isinstance(levels, torch.Tensor) or levels.is_floating_point() or levels.dim() != 2:
        raise ValueError("levels must be a FineQWeight or a 2-D integer tensor [N, K]")
    g = check_group_size(DEFAULT_GROUP_SIZE if group_size is None else group_size)
    return levels.to(torch.int64), g, levels.shape[1]


def _pad_cols(x: torch.Tensor, kp: int) -> torch.Tensor:
    if x.shape[1] == kp:
        return x
    out = torch.zeros((x.shape[0], kp), dtype=x.dtype)
    out[:, : x.shape[1]] = x
    return out


def int_matmul(levels, a_int8: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """Exact per-(token, row, group) integer partial sums, ``int64[T, N, G]`` (``[N, G]`` for a
    1-D ``a_int8``).

    ``levels``: a :class:`FineQWeight` (its levels and group size; ``a_int8`` has the original K)
    or an integer tensor ``[N, K]`` with ``group_size`` (default 96; ``a_int8`` has the same K).
    """
    L, g, k = _levels_and_group(levels, group_size)
    if isinstance(levels, FineQWeight) and group_size is not None and group_size != g:
        raise ValueError(f"group_size {group_size} differs from the weight's {g}")
    a, squeeze = _as_int8_acts(a_int8, k)
    kp = -(-max(k, L.shape[1]) // g) * g
    L = _pad_cols(L, kp)
    a = _pad_cols(a, kp)
    n, t, ng = L.shape[0], a.shape[0], kp // g
    # [G, T, Gs] @ [G, Gs, N] -> [G, T, N]; int64 arithmetic is exact
    P = torch.bmm(a.reshape(t, ng, g).transpose(0, 1), L.reshape(n, ng, g).permute(1, 2, 0))
    P = P.permute(1, 2, 0).contiguous()
    return P[0] if squeeze else P


def linear(W_q: FineQWeight, x: torch.Tensor, act_scale=None) -> torch.Tensor:
    """Dequantized linear layer ``y = x @ W_q.dequantize().T`` computed the hardware way.

    ``x``: ``[..., K]``. ``act_scale``: None (``x`` is float) or the per-token scale of INT8
    ``x`` (a scalar or a tensor broadcastable to ``x.shape[:-1]``).
    """
    if not isinstance(W_q, FineQWeight):
        raise ValueError(f"W_q must be a FineQWeight, got {type(W_q).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        raise ValueError("x must be a torch tensor [..., K]")
    n, k = W_q.shape
    if x.shape[-1] != k:
        raise ValueError(f"x has K = {x.shape[-1]}, expected {k}")
    lead = x.shape[:-1]
    x2 = x.reshape(-1, k)
    half = W_q.scales.double() / 2                        # [N, G], exact
    g, kp = W_q.group_size, W_q.k_padded
    if act_scale is None:
        if not x.is_floating_point():
            raise ValueError("integer x needs act_scale (use act_scale=1.0 for raw integers)")
        xp = _pad_cols(x2.double(), kp).reshape(-1, kp // g, g).transpose(0, 1)
        Lp = W_q.levels.double().reshape(n, kp // g, g).permute(1, 2, 0)
        P = torch.bmm(xp, Lp).permute(1, 2, 0)            # [T, N, G]
        y = (P * half).sum(dim=-1)
        out_dtype = x.dtype
    else:
        return linear_from_sums(W_q, int_matmul(W_q, x2), act_scale, lead)
    return y.to(out_dtype).reshape(*lead, n)


def linear_from_sums(W_q: FineQWeight, P: torch.Tensor, act_scale, lead=None) -> torch.Tensor:
    """The rescale half of :func:`linear` for INT8 activations: ``P`` = the exact partial sums
    ``int64[T, N, G]`` (:func:`int_matmul`), ``act_scale`` the per-token scale (scalar or
    broadcastable to ``lead``, default ``(T,)``). Returns FP32 ``[*lead, N]``:
    ``y = (sum_g P * Δ/2) * act_scale`` in FP64, rounded once to FP32."""
    if not isinstance(W_q, FineQWeight):
        raise ValueError(f"W_q must be a FineQWeight, got {type(W_q).__name__}")
    if not isinstance(P, torch.Tensor) or P.is_floating_point() or P.dim() != 3 \
            or tuple(P.shape[1:]) != (W_q.shape[0], W_q.groups):
        raise ValueError(f"P must be an integer tensor [T, {W_q.shape[0]}, {W_q.groups}], got "
                         f"{getattr(P, 'dtype', type(P).__name__)} "
                         f"{tuple(getattr(P, 'shape', ()))}")
    n = W_q.shape[0]
    lead = (P.shape[0],) if lead is None else tuple(lead)
    half = W_q.scales.double() / 2                        # [N, G], exact
    y = (P.double() * half).sum(dim=-1)
    sc = torch.as_tensor(act_scale, dtype=torch.float64)
    if not bool(torch.isfinite(sc).all()):
        raise ValueError("act_scale must be finite")
    try:
        sc = torch.broadcast_to(sc, lead).reshape(-1, 1)
    except RuntimeError:
        raise ValueError(f"act_scale of shape {tuple(sc.shape)} does not broadcast to "
                         f"{tuple(lead)}") from None
    y = y * sc
    return y.to(torch.float32).reshape(*lead, n)


def quantize_acts_int8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token symmetric INT8: ``x[T, K]`` (float, finite) -> (``a`` int64 ``[T, K]`` in
    [-127, 127], scale float64 ``[T]``) with ``s = amax_t / 127`` (1 for an all-zero token) and
    ``a = clamp(round_half_even(x / s), -127, 127)``; ``a * s`` approximates ``x``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 2:
        raise ValueError("x must be a float tensor [T, K]")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite (INT8 activation quantization)")
    xd = x.double()
    amax = xd.abs().amax(dim=1) if x.shape[1] else torch.zeros(x.shape[0], dtype=torch.float64)
    s = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    a = torch.round(xd / s[:, None]).clamp(-127, 127).to(torch.int64)
    return a, s
