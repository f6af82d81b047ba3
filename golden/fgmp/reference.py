"""Slow, obviously-exact references in pure Python (``fractions.Fraction``).

Written independently of the vectorised torch code in ``blocks``/``hw`` (no shared rounding
code) so that tests can cross-check the two on random and adversarial inputs; cocotb tests may
use them for single blocks too.
"""
from __future__ import annotations

import bisect
import math
import struct
from fractions import Fraction

from golden.formats import E2M1, E4M3, UE4M3, FloatFormat

__all__ = [
    "f32_from_bits", "f32_bits", "frac_of_f32", "round_frac_to_f32_bits", "ref_f32_add",
    "ref_rne_code", "ref_value", "ref_tensor_scale", "ref_nvfp4_block", "ref_fp8_block",
    "ref_vmac", "ref_act_quant",
]


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_from_bits(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", b & 0xFFFFFFFF))[0]


def frac_of_f32(b: int) -> Fraction:
    """Exact value of a finite FP32 bit pattern."""
    s, e, f = b >> 31, (b >> 23) & 0xFF, b & 0x7FFFFF
    if e == 255:
        raise ValueError("not finite")
    v = Fraction(f, 1 << 23) * Fraction(2) ** -126 if e == 0 else \
        Fraction((1 << 23) | f, 1 << 23) * Fraction(2) ** (e - 127)
    return -v if s else v


def round_frac_to_f32_bits(v: Fraction, neg_zero: bool = False) -> int:
    """RNE to binary32 with subnormals and overflow to Inf, by exhaustive exact reasoning."""
    if v == 0:
        return 0x80000000 if neg_zero else 0
    sign = 1 if v < 0 else 0
    a = -v if v < 0 else v
    # exponent of the grid a falls on
    e = math.floor(math.log2(a.numerator) - math.log2(a.denominator))
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    e = max(e, -126)
    ulp = Fraction(2) ** (e - 23)
    q, r = divmod(a, ulp)           # a = q·ulp + r, 0 <= r < ulp
    q = int(q)
    if r > ulp / 2 or (r == ulp / 2 and q % 2 == 1):
        q += 1
    val = q * ulp
    if val >= Fraction(2) ** 128:
        return (sign << 31) | 0x7F800000
    return (sign << 31) | f32_bits(float(val))


def ref_f32_add(a: int, b: int) -> int:
    ea, eb = (a >> 23) & 0xFF, (b >> 23) & 0xFF
    nan_a, nan_b = ea == 255 and a & 0x7FFFFF, eb == 255 and b & 0x7FFFFF
    if nan_a or nan_b:
        return 0x7FC00000
    inf_a, inf_b = ea == 255, eb == 255
    if inf_a and inf_b:
        return a if a == b else 0x7FC00000
    if inf_a:
        return a
    if inf_b:
        return b
    s = frac_of_f32(a) + frac_of_f32(b)
    return round_frac_to_f32_bits(s, neg_zero=(a >> 31 == 1 and b >> 31 == 1))


def _mags(fmt: FloatFormat) -> list[Fraction]:
    out = []
    for c in range(fmt.max_code + 1):
        e, m = c >> fmt.man_bits, c & ((1 << fmt.man_bits) - 1)
        if e == 0:
            out.append(Fraction(m, 1 << fmt.man_bits) * Fraction(2) ** (1 - fmt.bias))
        else:
            out.append(Fraction((1 << fmt.man_bits) + m, 1 << fmt.man_bits)
                       * Fraction(2) ** (e - fmt.bias))
    return out


_MAGS = {f.name: _mags(f) for f in (E2M1, E4M3, UE4M3)}


def ref_value(fmt: FloatFormat, code: int) -> Fraction:
    mag = code & ((1 << (fmt.exp_bits + fmt.man_bits)) - 1)
    if mag > fmt.max_code:
        raise ValueError("NaN code")
    v = _MAGS[fmt.name][mag]
    return -v if fmt.signed and code >> fmt.sign_bit else v


def ref_rne_code(fmt: FloatFormat, v: Fraction, negative: bool = False) -> int:
    """Nearest code of |v| (ties to the even code), saturating; sign from ``negative``."""
    a = abs(v)
    mags = _MAGS[fmt.name]
    hi = bisect.bisect_left(mags, a)          # mags[hi-1] < a <= mags[hi]
    if hi >= len(mags):
        best = len(mags) - 1                   # above the largest finite value: saturate
    elif hi == 0 or mags[hi] == a:
        best = hi
    else:
        dlo, dhi = a - mags[hi - 1], mags[hi] - a
        best = hi - 1 if dlo < dhi else hi if dhi < dlo else (hi if hi % 2 == 0 else hi - 1)
    if fmt.signed and negative:
        best |= 1 << fmt.sign_bit
    return best


def ref_tensor_scale(amax: float) -> Fraction:
    if amax == 0:
        return Fraction(1)
    b = round_frac_to_f32_bits(Fraction(amax) / 2688)
    return frac_of_f32(b) if b else Fraction(2) ** -149


def ref_nvfp4_block(xs, S, scale_code=None):
    """xs: 16 finite floats (FP32 values); S: tensor scale. -> (codes, scale_code)."""
    S = Fraction(S)
    fx = [Fraction(x) for x in xs]
    if scale_code is None:
        amax = max(abs(x) for x in fx)
        scale_code = ref_rne_code(UE4M3, amax / (6 * S))
    sb = ref_value(UE4M3, scale_code)
    if sb == 0:
        return [0] * 16, scale_code
    codes = [ref_rne_code(E2M1, x / (sb * S), negative=math.copysign(1, xf) < 0)
             for x, xf in zip(fx, xs)]
    return codes, scale_code


def ref_fp8_block(xs, S):
    S = Fraction(S)
    return [ref_rne_code(E4M3, Fraction(x) / (6 * S), negative=math.copysign(1, x) < 0)
            for x in xs]


def _block_value_fracs(meta, codes, scale):
    if meta:
        if any(c & 0x7F == 0x7F for c in codes):
            return None, None
        return [ref_value(E4M3, c) for c in codes], Fraction(6)
    if scale == 0x7F:
        return None, None
    return [ref_value(E2M1, c) for c in codes], ref_value(UE4M3, scale)


def ref_vmac(w_blocks, a_blocks, acc: int = 0) -> int:
    """One lane. w_blocks, a_blocks: lists of (meta, codes[16], scale) -> FP32 bits of
    acc + Σ P (every P an exact rational), rounded once; NaN in any pair or in acc -> quiet NaN,
    ±Inf acc stays, an exact zero is +0. No block pair: acc unchanged."""
    if not w_blocks and not a_blocks:
        return acc
    total, nan = Fraction(0), False
    for (wm, wc, ws), (am, ac, as_) in zip(w_blocks, a_blocks, strict=True):
        wv, wb = _block_value_fracs(wm, wc, ws)
        av, ab = _block_value_fracs(am, ac, as_)
        if wv is None or av is None:
            nan = True
        else:
            total += sum((x * y for x, y in zip(wv, av)), Fraction(0)) * wb * ab
    if nan or ((acc >> 23) & 0xFF == 0xFF and acc & 0x7FFFFF):
        return 0x7FC00000
    if (acc >> 23) & 0xFF == 0xFF:
        return acc
    return round_frac_to_f32_bits(frac_of_f32(acc) + total)


def ref_act_quant(xs, S, fbar, tau: int):
    """Brute force: both candidates exactly, score I = Σ F̄ (deq4/S − deq8/S)² as a Fraction,
    FP8 iff NaN in block or I > tau·2**-29. xs: 16 Python floats (FP32 values, may be NaN/Inf)."""
    S = Fraction(S)
    if any(math.isnan(x) for x in xs):
        codes = []
        for x in xs:
            neg = math.copysign(1, x) < 0
            if math.isnan(x):
                codes.append(0xFF if neg else 0x7F)
            elif math.isinf(x):
                codes.append(0xFE if neg else 0x7E)
            else:
                codes.append(ref_rne_code(E4M3, Fraction(x) / (6 * S), negative=neg))
        return 1, codes, 0x4C
    big = Fraction(2) ** 400        # stands for Inf: saturates every encoder
    fx = [(big if x > 0 else -big) if math.isinf(x) else Fraction(x) for x in xs]
    amax = max(abs(x) for x in fx)
    sc = ref_rne_code(UE4M3, amax / (6 * S))
    sb = ref_value(UE4M3, sc)
    if sb == 0:
        q4 = [0] * 16
    else:
        q4 = [ref_rne_code(E2M1, x / (sb * S), negative=math.copysign(1, xf) < 0)
              for x, xf in zip(fx, xs)]
    q8 = [ref_rne_code(E4M3, x / (6 * S), negative=math.copysign(1, xf) < 0)
          for x, xf in zip(fx, xs)]
    score = sum((ref_value(UE4M3, f) * (ref_value(E2M1, a) * sb - 6 * ref_value(E4M3, b)) ** 2
                 for f, a, b in zip(fbar, q4, q8)), Fraction(0))
    if score > Fraction(tau, 1 << 29):
        return 1, q8, 0x4C
    return 0, q4, sc
