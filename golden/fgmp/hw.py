"""Hardware-structured FGMP references: the VMAC lane and the activation quantization unit.

These are the RTL contracts (docs/fgmp.md §3–4); every output is an integer or an FP32 bit
pattern that the RTL must reproduce exactly.

Block wire format (one block per cycle):
  meta   1 bit   0 = NVFP4, 1 = FP8
  codes  16 x 8  element i in byte i; NVFP4 uses the low nibble (E2M1 code, high nibble 0),
                 FP8 the whole byte (E4M3 code). ``codes_to_bus``/``bus_to_codes`` give the
                 128-bit bus form (NVFP4: element i at bits [4i+3:4i], bits [127:64] zero;
                 FP8: element i at bits [8i+7:8i]).
  scale  8 bits  NVFP4: UE4M3 code of s_b (0x00..0x7E; 0x7F is NaN). FP8: ignored by the
                 datapath (implicit block scale 6); producers write 0x4C (= UE4M3 6.0).
"""
from __future__ import annotations

from collections import namedtuple

import torch

from golden.formats import E2M1, E4M3, UE4M3, check_int, decode, int_codes
from golden.fgmp.blocks import (BLOCK, FP8_BLOCK_SCALE, FP8_SCALE_CODE, _check_f32_scale,
                                 rne_encode)

__all__ = [
    "Blocks", "vmac", "block_products", "f32_add_fixed_bits", "act_quant", "act_quant_blocks",
    "f32_add_bits", "round_to_f32_bits", "tau_to_fixed", "MAX_PAIRS", "P_UNIT_EXP", "TAU_FORCE_FP8", "TAU_FORCE_NVFP4", "F32_QNAN", "fbar_from_fisher",
    "codes_to_bus", "bus_to_codes", "SCORE_FRAC_BITS",
]

Blocks = namedtuple("Blocks", "meta codes scales")

F32_QNAN = 0x7FC00000
F32_PINF = 0x7F800000
#: the score I_int is an integer in units of 2**-29 (F̄ in units 2**-9, d in units 2**-10)
SCORE_FRAC_BITS = 29
TAU_FORCE_FP8 = -1                 # every block FP8 (I_int >= 0 > -1)
TAU_FORCE_NVFP4 = (1 << 63) - 1    # every non-NaN block NVFP4 (I_int < 2**62)


# ---------------------------------------------------------------------------------------------
# FP32 rounding and addition in integer arithmetic (vectorised over int64 tensors).

def _bitlen(n: torch.Tensor) -> torch.Tensor:
    """Bit length of non-negative int64 values (< 2**62)."""
    _, e = torch.frexp(n.to(torch.float64))
    e = e.to(torch.int64)
    # float64 conversion may round n up to the next power of two: correct by one if needed
    too_big = (e > 0) & ((torch.ones_like(e) << (e - 1).clamp(min=0)) > n)
    return torch.where(n == 0, torch.zeros_like(e), e - too_big.to(torch.int64))


def round_to_f32_bits(n: torch.Tensor, e: torch.Tensor, zero_neg: torch.Tensor | None = None
                      ) -> torch.Tensor:
    """FP32 bit pattern of the exact value n·2**e (n signed int64 with |n| < 2**62), rounded
    once: RNE, gradual underflow (subnormals), overflow to ±Inf. An exact zero gives +0, or -0
    where ``zero_neg`` is True."""
    n = torch.as_tensor(n, dtype=torch.int64)
    e = torch.as_tensor(e, dtype=torch.int64).expand_as(n)
    neg = n < 0
    m = n.abs()
    L = _bitlen(m)
    lsb = torch.maximum(e + L - 24, torch.full_like(e, -149))     # exponent of the result LSB
    sh = lsb - e
    left = torch.clamp(-sh, min=0, max=62)
    right = torch.clamp(sh, min=0, max=63)
    q = torch.where(sh <= 0, m << left, m >> right)
    one = torch.ones_like(m)
    rem = torch.where(sh > 0, m & ((one << right) - 1), torch.zeros_like(m))
    half = torch.where(sh > 0, one << (right - 1).clamp(min=0), torch.zeros_like(m))
    up = (sh > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
    q = q + up.to(torch.int64)
    carry = q >= (1 << 24)                                      # rounding overflowed 24 bits
    q = torch.where(carry, q >> 1, q)
    lsb = lsb + carry.to(torch.int64)
    normal = q >= (1 << 23)
    expf = torch.where(normal, lsb + 150, torch.zeros_like(lsb))
    frac = torch.where(normal, q - (1 << 23), q)
    bits = (expf << 23) | frac
    bits = torch.where(expf >= 255, torch.full_like(bits, F32_PINF), bits)
    bits = torch.where(m == 0, torch.zeros_like(bits), bits)
    sign = torch.where(m == 0, zero_neg if zero_neg is not None else torch.zeros_like(neg), neg)
    return bits | (sign.to(torch.int64) << 31)


def _unpack_f32(bits: torch.Tensor):
    b = torch.as_tensor(bits, dtype=torch.int64)
    sign = (b >> 31) & 1
    expf = (b >> 23) & 0xFF
    frac = b & 0x7FFFFF
    sig = torch.where(expf > 0, frac | (1 << 23), frac)
    e = torch.where(expf > 0, expf, torch.ones_like(expf)) - 150
    return sign, expf, frac, sig, e


def f32_add_bits(a_bits, b_bits) -> torch.Tensor:
    """IEEE 754 binary32 addition a + b, round to nearest even, subnormals kept, on bit
    patterns (int64 tensors in 0..2**32-1). Exact integer algorithm:

    * NaN operand -> 0x7FC00000; Inf + -Inf -> 0x7FC00000; Inf + x -> Inf.
    * Finite: a = ±Ma·2**ea, b = ±Mb·2**eb (24-bit significands, e >= -149). Order so that
      ea >= eb. If ea - eb > 32, b is far below half an ulp of a (a is then normal) and the
      result is a. Otherwise T = ±Ma·2**(ea-eb) ± Mb is exact (< 2**57) and the result is
      round_to_f32(T·2**eb). Overflow gives ±Inf.
    * An exact zero sum is +0, except (-0) + (-0) = -0.
    """
    a = torch.as_tensor(a_bits, dtype=torch.int64)
    b = torch.as_tensor(b_bits, dtype=torch.int64)
    a, b = torch.broadcast_tensors(a, b)
    sa, xa, fa, Ma, ea = _unpack_f32(a)
    sb, xb, fb, Mb, eb = _unpack_f32(b)
    nan_a = (xa == 255) & (fa != 0)
    nan_b = (xb == 255) & (fb != 0)
    inf_a = (xa == 255) & (fa == 0)
    inf_b = (xb == 255) & (fb == 0)
    swap = eb > ea
    hi_s, hi_M, hi_e = torch.where(swap, sb, sa), torch.where(swap, Mb, Ma), torch.where(swap, eb, ea)
    lo_s, lo_M, lo_e = torch.where(swap, sa, sb), torch.where(swap, Ma, Mb), torch.where(swap, ea, eb)
    d = hi_e - lo_e
    far = d > 32
    dd = torch.clamp(d, max=32)
    Th = torch.where(hi_s == 1, -hi_M, hi_M) << dd
    Tl = torch.where(lo_s == 1, -lo_M, lo_M)
    T = Th + Tl
    both_neg_zero = (sa == 1) & (sb == 1)
    res = round_to_f32_bits(T, lo_e, zero_neg=both_neg_zero)
    hi_bits = torch.where(swap, b, a)
    res = torch.where(far, hi_bits, res)
    # specials
    res = torch.where(inf_a, a, res)
    res = torch.where(inf_b, b, res)
    res = torch.where(inf_a & inf_b & (sa != sb), torch.full_like(res, F32_QNAN), res)
    res = torch.where(nan_a | nan_b, torch.full_like(res, F32_QNAN), res)
    return res


# ---------------------------------------------------------------------------------------------
# Block wire helpers

def codes_to_bus(meta: int, codes) -> int:
    """128-bit code bus of one block (see module docstring)."""
    meta = int(int_codes(meta, "codes_to_bus: meta", 0, 1, bool_ok=True))
    w = 8 if meta else 4
    codes = int_codes(codes, f"codes_to_bus: codes ({w}-bit)", 0, (1 << w) - 1).reshape(-1)
    if len(codes) != BLOCK:
        raise ValueError(f"codes_to_bus: a block has {BLOCK} codes, got {len(codes)}")
    bus = 0
    for i, c in enumerate(codes.tolist()):
        bus |= c << (w * i)
    return bus


def bus_to_codes(meta: int, bus: int) -> list[int]:
    w = 8 if meta else 4
    return [(bus >> (w * i)) & ((1 << w) - 1) for i in range(BLOCK)]


# ---------------------------------------------------------------------------------------------
# VMAC

def _as_blocks(obj, what):
    meta = int_codes(obj.meta, f"{what}: meta", 0, 1, bool_ok=True).to(torch.bool)
    codes = int_codes(obj.codes, f"{what}: codes", 0, 255)
    scales = int_codes(obj.scales, f"{what}: scales", 0, 255)
    if codes.shape != (*meta.shape, BLOCK) or scales.shape != meta.shape:
        raise ValueError(f"{what}: shapes meta {tuple(meta.shape)}, codes {tuple(codes.shape)}, "
                         f"scales {tuple(scales.shape)} are inconsistent")
    bad4 = (~meta).unsqueeze(-1) & (codes > 15)
    if bool(bad4.any()):
        raise ValueError(f"{what}: NVFP4 block with code > 15 (high nibble must be 0)")
    if bool(((~meta) & ((scales < 0) | (scales > 0x7F))).any()):
        raise ValueError(f"{what}: NVFP4 scale code outside 0..0x7F")
    return meta, codes, scales


def _elem_int(meta, codes):
    """Element values as integers in units of 2**-9 (exact), plus a NaN flag per element."""
    m = meta.unsqueeze(-1)
    v4 = decode(E2M1, torch.where(m, torch.zeros_like(codes), codes)).to(torch.float64)
    c8 = torch.where(m, codes, torch.zeros_like(codes))
    nan = m & ((c8 & 0x7F) == 0x7F)
    v8 = decode(E4M3, torch.where(nan, torch.zeros_like(c8), c8)).to(torch.float64)
    v = torch.where(m, v8, v4)
    return (v * 512).to(torch.int64), nan


def _scale_mant_exp(meta, scales):
    """Block scale bs = mant·2**exp with a small odd-or-zero integer mantissa (<= 15), + NaN."""
    nan = (~meta) & (scales == 0x7F)
    sc = torch.where(meta | nan, torch.zeros_like(scales), scales)
    expf = sc >> 3
    man = sc & 7
    mant = torch.where(expf > 0, man | 8, man)
    ex = torch.where(expf > 0, expf, torch.ones_like(expf)) - 7 - 3
    mant = torch.where(meta, torch.full_like(mant, 3), mant)          # 6 = 3·2**1
    ex = torch.where(meta, torch.ones_like(ex), ex)
    return mant, ex, nan


#: exact block products are integers in units of 2**P_UNIT_EXP (docs/fgmp.md §3)
P_UNIT_EXP = -20
#: block pairs per dot product the exact accumulation is specified for: |Σ P| < 2**43
MAX_PAIRS = 1 << 16


def block_products(w_blocks, a_blocks):
    """Exact block products of every cycle and lane, as integers in units of 2**P_UNIT_EXP.

    Returns (p int64 [L, T] with |p| < 2**47, nan bool [L, T]). Shapes as ``vmac``. P is always a
    multiple of 2**-20: element values are multiples of 2**-1 (E2M1) or 2**-9 (E4M3), block
    scales multiples of 2**-9 (UE4M3) or 6, so FP4xFP4 products are multiples of
    2**-2·2**-18, mixed ones of 2**-10·2**-9·2, FP8xFP8 ones of 2**-18·36."""
    wm, wc, ws = _as_blocks(w_blocks, "vmac w_blocks")
    am, ac, as_ = _as_blocks(a_blocks, "vmac a_blocks")
    if wm.dim() != 2 or am.dim() != 1 or wm.shape[1] != am.shape[0]:
        raise ValueError(f"vmac: w_blocks must be [L, T] and a_blocks [T], got "
                         f"{tuple(wm.shape)} and {tuple(am.shape)}")
    wv, wnan = _elem_int(wm, wc)                       # [L, T, 16]
    av, anan = _elem_int(am, ac)                       # [T, 16]
    D = (wv * av.unsqueeze(0)).sum(-1)                 # exact integer, units 2**-18, < 2**40
    mw, ew, snw = _scale_mant_exp(wm, ws)
    ma, ea, sna = _scale_mant_exp(am, as_)
    N = D * mw * ma.unsqueeze(0)                       # < 2**48
    E = -18 + ew + ea.unsqueeze(0) - P_UNIT_EXP        # >= 0 wherever D != 0 (see docstring)
    p = torch.where(E >= 0, N << E.clamp(min=0), N >> (-E).clamp(min=0))
    if bool(((E < 0) & ((N & ((1 << (-E).clamp(min=0)) - 1)) != 0)).any()):
        raise AssertionError("a block product is not a multiple of 2**-20")  # cannot happen
    nan = wnan.any(-1) | anan.any(-1).unsqueeze(0) | snw | sna.unsqueeze(0)
    return p, nan


def _round_int_to_f32(n: int, k: int) -> int:
    """FP32 bits of the exact value n·2**k (Python ints, any size): RNE, subnormals, overflow to
    ±Inf, 0 -> +0."""
    if n == 0:
        return 0
    sign = 1 if n < 0 else 0
    m = -n if sign else n
    lsb = max(k + m.bit_length() - 24, -149)          # exponent of the result's LSB
    if lsb > k:
        sh = lsb - k
        q, rem = m >> sh, m & ((1 << sh) - 1)
        half = 1 << (sh - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
        if q >> 24:                                   # rounding carried into a new binade
            q >>= 1
            lsb += 1
    else:
        q = m << (k - lsb)
    if q >> 23:
        field = lsb + 150
        if field >= 255:
            return (sign << 31) | F32_PINF
        bits = (field << 23) | (q - (1 << 23))
    else:
        bits = q                                      # subnormal (lsb == -149)
    return (sign << 31) | bits


def f32_add_fixed_bits(init_bits: int, z: int, z_exp: int = P_UNIT_EXP) -> int:
    """FP32 bits of init + z·2**z_exp rounded once (RNE): ``init_bits`` an FP32 bit pattern
    (any: subnormal, ±0, ±Inf, NaN), z an exact integer. NaN init -> 0x7FC00000, ±Inf init ->
    itself, an exact zero sum -> +0 (so −0 + 0 = +0), no other special case."""
    b = int(init_bits) & 0xFFFFFFFF
    ef, fr, s = (b >> 23) & 0xFF, b & 0x7FFFFF, b >> 31
    if ef == 0xFF:
        return F32_QNAN if fr else b
    sig = fr | ((1 << 23) if ef else 0)
    lsb = max(ef, 1) - 150
    iv = -sig if s else sig
    k = min(lsb, z_exp)
    return _round_int_to_f32((iv << (lsb - k)) + (int(z) << (z_exp - k)), k)


def vmac(w_blocks, a_blocks, acc=None, *, trace: bool = False) -> torch.Tensor:
    """Reference of one VMAC with L lanes over T block cycles (SPEC §5, docs/fgmp.md §3).

    w_blocks: meta[L, T], codes[L, T, 16], scales[L, T] (an FGMPTensor of shape [L, 16·T] or a
    ``Blocks``); a_blocks: meta[T], codes[T, 16], scales[T] (shared by all lanes).
    acc: start values, FP32 bit patterns (integers), one or [L] (default +0.0).
    Returns int64 FP32 bit patterns [L] (or [T, L] when ``trace``: the result the lane would
    emit if cycle t ended the dot product). Tensor scales are NOT applied:
    out ≈ Σ_k w_k·a_k / (S_w·S_a).

    Exact accumulation, one rounding: P_t = (Σ_i e(qw_i)·e(qa_i))·bs_w·bs_a exactly (bs = s_b
    or 6; an integer multiple of 2**-20, ``block_products``), out = round_to_f32(acc + Σ_t P_t)
    (RNE of the exact sum; an exact zero is +0; ±Inf acc stays; NaN acc -> 0x7FC00000). A NaN
    element code (FP8 block, E4M3 0x7F/0xFF) or a NaN scale code (NVFP4 block, 0x7F) in either
    block of any pair makes the result 0x7FC00000. At most MAX_PAIRS = 2**16 block pairs per
    dot product (|Σ P| < 2**43; ValueError beyond). T = 0 returns acc unchanged; a trace needs
    T >= 1 (it has one row per cycle). Float codes, scales or acc (never truncated), codes
    outside their bits, a wrong shape or length raise ValueError.
    """
    p, nan = block_products(w_blocks, a_blocks)
    L, T = p.shape
    if T > MAX_PAIRS:
        raise ValueError(f"vmac: {T} block pairs in one dot product, at most {MAX_PAIRS} "
                         "(K <= 2**20) are specified")
    if acc is None:
        a = torch.zeros(L, dtype=torch.int64)
    else:
        a = int_codes(acc, "vmac: acc (FP32 bit patterns)", 0, 0xFFFFFFFF).reshape(-1)
        if a.numel() not in (1, L):
            raise ValueError(f"vmac: acc holds {a.numel()} values, expected 1 or L = {L}")
        a = a.expand(L).clone()
    if T == 0:
        if trace:
            raise ValueError("vmac: trace=True needs at least one block cycle, got T = 0")
        return a
    # |p| < 2**47 and T <= 2**16: every prefix sum is exact in int64
    sums = p.cumsum(1) if trace else p.sum(1, keepdim=True)
    nans = nan.cumsum(1) > 0 if trace else nan.any(1, keepdim=True)
    init = a.tolist()
    out = [[F32_QNAN if bool(nans[lane, t]) else f32_add_fixed_bits(init[lane], int(sums[lane, t]))
            for lane in range(L)] for t in range(sums.shape[1])]
    res = torch.tensor(out, dtype=torch.int64)
    return res if trace else res[0]


# ---------------------------------------------------------------------------------------------
# Activation quantization unit

def tau_to_fixed(tau_real) -> int:
    """Fixed-point threshold for ``act_quant``: the block goes FP8 iff I_int > tau_q, and for
    I_int integer this equals I_int·2**-29 > tau_real exactly when tau_q = floor(tau_real·2**29).
    Negative thresholds give TAU_FORCE_FP8 (-1)."""
    from fractions import Fraction
    import math
    t = float(tau_real)
    if math.isnan(t):
        raise ValueError("tau must not be NaN")
    if t == math.inf:
        return TAU_FORCE_NVFP4
    if t < 0:
        return TAU_FORCE_FP8
    q = math.floor(Fraction(t) * (1 << SCORE_FRAC_BITS))
    return min(q, TAU_FORCE_NVFP4)


def fbar_from_fisher(fisher_channels: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Per-channel sensitivities for the hardware: F̄_c = UE4M3_rne_sat(F_c·α) with the power of
    two α = 2**floor(log2(448 / max F)) (α = 1 when all F are 0). Returns (codes uint8, α)."""
    import math
    f = torch.as_tensor(fisher_channels, dtype=torch.float64)
    if not bool(torch.isfinite(f).all()) or bool((f < 0).any()):
        raise ValueError("Fisher values must be finite and >= 0")
    fmax = float(f.max()) if f.numel() else 0.0
    if fmax == 0:
        return torch.zeros(f.shape, dtype=torch.uint8), 1.0
    alpha = math.ldexp(1.0, math.floor(math.log2(448.0 / fmax)))
    while fmax * alpha > 448.0:
        alpha /= 2
    return rne_encode(UE4M3, f * alpha), alpha


def act_quant_blocks(x: torch.Tensor, tensor_scale: float, fbar: torch.Tensor, tau: int):
    """Vectorised activation quantization unit over blocks ``x[..., nb, 16]`` (FP32 values).

    fbar: UE4M3 codes per element position, broadcastable to x (normally [nb, 16], from the
    per-channel F̄). tau: integer threshold tau_q (TAU_FORCE_FP8 <= tau <= TAU_FORCE_NVFP4).
    Returns (meta bool[..., nb], codes uint8[..., nb, 16], scales uint8[..., nb],
    score int64[..., nb]; score of a NaN block is -1).

    Per block (S = tensor_scale; all arithmetic exact):
      s_b  = UE4M3_rne_sat(amax_b / (6S))          amax over non-NaN |x_i|, Inf saturates
      q4_i = E2M1_rne_sat(x_i / (s_b S))  (0 if s_b = 0)      q8_i = E4M3_rne_sat(x_i / (6S))
      d_i  = 1024·(e2m1(q4_i)·s_b − 6·e4m3(q8_i))     integer, |d_i| < 2**20
      f_i  = 512·ue4m3(fbar_i)                        integer, < 2**18
      I    = Σ_i f_i·d_i²                             integer, < 2**62
      meta = 1 (FP8) iff the block holds a NaN or I > tau
      FP8:    codes q8 (NaN -> 0x7F/0xFF with sign), scale 0x4C
      NVFP4:  codes q4, scale s_b
    """
    S = _check_f32_scale(tensor_scale)
    tau = check_int("tau (integer tau_q; tau_to_fixed converts a real threshold)", tau,
                    TAU_FORCE_FP8, TAU_FORCE_NVFP4)
    x = torch.as_tensor(x)
    if x.dtype != torch.float32:
        raise ValueError(f"act_quant expects FP32 input, got {x.dtype}")
    if x.shape[-1] != BLOCK:
        raise ValueError(f"act_quant: last dimension must be {BLOCK}, got {x.shape[-1]}")
    fb = torch.as_tensor(fbar)
    if fb.dtype != torch.uint8:
        raise ValueError(f"fbar must be uint8 UE4M3 codes 0..0x7E, got dtype {fb.dtype}")
    if bool((fb > UE4M3.max_code).any()):
        raise ValueError("fbar must be uint8 UE4M3 codes 0..0x7E")
    try:
        torch.broadcast_shapes(fb.shape, x.shape)
    except RuntimeError:
        raise ValueError(f"fbar of shape {tuple(fb.shape)} does not broadcast to the blocks "
                         f"{tuple(x.shape)}") from None
    c = _act_candidates(x, S, fb)
    meta = c["nan"] | (c["score"] > tau)
    codes = torch.where(meta.unsqueeze(-1), c["q8"], c["q4"])
    scales = torch.where(meta, torch.full_like(c["sc"], FP8_SCALE_CODE), c["sc"])
    return meta, codes, scales, c["score"]


def _act_candidates(x: torch.Tensor, S: float, fbar: torch.Tensor) -> dict:
    """Both candidates and the score of every block of x[..., 16] (FP32). S-free values:
    v4 = e2m1(q4)·s_b, v8 = e4m3(q8)·6 (float64, exact; 0 at NaN elements)."""
    x64 = x.to(torch.float64)
    nan = torch.isnan(x64)
    bnan = nan.any(-1)
    any_nan = bool(bnan.any())
    xz = torch.where(nan, torch.zeros_like(x64), x64) if any_nan else x64
    amax = xz.abs().amax(-1)
    sc = rne_encode(UE4M3, amax / (FP8_BLOCK_SCALE * S))
    sb = decode(UE4M3, sc).to(torch.float64)
    d = (sb * S).unsqueeze(-1)
    pos = d > 0
    q4 = rne_encode(E2M1, xz / torch.where(pos, d, torch.ones_like(d)))
    q4 = torch.where(pos, q4, torch.zeros_like(q4))
    q8 = rne_encode(E4M3, x64 / (FP8_BLOCK_SCALE * S))           # NaN -> 0x7F | sign
    v4 = decode(E2M1, q4).to(torch.float64) * sb.unsqueeze(-1)
    q8z = torch.where(nan, torch.zeros_like(q8), q8) if any_nan else q8
    v8 = decode(E4M3, q8z).to(torch.float64) * FP8_BLOCK_SCALE
    dd = (v4 - v8) * 1024.0                                       # exact integers, < 2**20
    f = decode(UE4M3, fbar).to(torch.float64) * 512.0             # exact integers, < 2**18
    term = (dd * dd * f).to(torch.int64)                          # exact: <= 44 significant bits
    score = term.sum(-1)
    if any_nan:
        score = torch.where(bnan, torch.full_like(score, -1), score)
    return {"q4": q4, "sc": sc, "q8": q8, "score": score, "nan": bnan, "v4": v4, "v8": v8}


def _round_grid_(t: torch.Tensor, man_bits: int, emin: int, maxv: float) -> torch.Tensor:
    """In place: RNE of float64 ``t`` onto a small-float grid (``man_bits`` mantissa bits,
    smallest normal exponent ``emin``), saturating at ±maxv, sign of zero kept, Inf saturates.
    Values only (no codes): the fast path of the fake-quant model. The grid step
    2**(max(floor(log2|t|), emin) - man_bits) is built from t's float64 exponent field, so t/step
    is an exact power-of-two scaling and torch.round (half to even) does the RNE."""
    step = (t.view(torch.int64) & 0x7FF0000000000000)
    step.clamp_(min=(emin + 1023) << 52).sub_(man_bits << 52)
    step = step.view(torch.float64)
    return t.div_(step).round_().mul_(step).clamp_(-maxv, maxv)


_F64_EXACT = float(1 << 53)


def act_values_fast(xb: torch.Tensor, S: float, fbar: torch.Tensor):
    """Fast exact path for the fake-quant model: per block of x[..., 16] (FP32, no NaN) the
    S-free candidate values v4 = e2m1(q4)·s_b, v8 = e4m3(q8)·6 (float64) and the integer score
    I_int (int64) of ``act_quant_blocks``. Tests check it equals the code path."""
    y = xb.to(torch.float64)
    amax = xb.abs().amax(-1).to(torch.float64)
    sc = rne_encode(UE4M3, amax / (FP8_BLOCK_SCALE * S))
    sb = decode(UE4M3, sc).to(torch.float64).unsqueeze(-1)
    v8 = _round_grid_(y / (FP8_BLOCK_SCALE * S), 3, -6, 448.0).mul_(FP8_BLOCK_SCALE)
    d = sb * S
    v4 = _round_grid_(y.div_(torch.where(d > 0, d, torch.ones_like(d))), 1, 0, 6.0).mul_(sb)
    f = decode(UE4M3, fbar).to(torch.float64) * 512.0
    term = torch.sub(v4, v8).mul_(1024.0)
    term.mul_(term).mul_(f)
    score = term.sum(-1)                          # exact while every sum stays below 2**53
    big = score >= _F64_EXACT
    score = score.to(torch.int64)
    if bool(big.any()):
        score[big] = term[big].to(torch.int64).sum(-1)
    return v4, v8, score


def act_quant(block_fp32, tensor_scale, fbar, tau):
    """One block of the activation quantization unit -> (meta int, codes list[16], scale int).

    block_fp32: 16 FP32 values (tensor/list); tensor_scale: FP32 S > 0; fbar: 16 UE4M3 codes;
    tau: integer threshold tau_q (see ``act_quant_blocks`` and ``tau_to_fixed``)."""
    x = torch.as_tensor(block_fp32)
    if x.is_floating_point() and x.dtype != torch.float32:
        x = x.to(torch.float32)
    x = x.reshape(-1)
    if x.numel() != BLOCK:
        raise ValueError(f"act_quant: a block has {BLOCK} values, got {x.numel()}")
    fb = int_codes(fbar, "act_quant: fbar (UE4M3 codes)", 0, UE4M3.max_code).reshape(-1)
    if fb.numel() != BLOCK:
        raise ValueError(f"act_quant: fbar must be {BLOCK} UE4M3 codes, got {fb.numel()}")
    meta, codes, scales, _ = act_quant_blocks(x, tensor_scale, fb.to(torch.uint8), tau)
    return int(meta), [int(c) for c in codes], int(scales)
