"""Small floating-point formats: E2M1 (FP4), E4M3 "fn" (FP8), UE4M3, E5M2 (FP8).

One rule for every encoder (docs/formats.md, SPEC §1):

* The input is taken as an exact real number (FP32/FP64 value times an exact power of two
  ``2**scale_exp``); no intermediate rounding.
* Round to nearest, ties to even, onto the format's grid (subnormals included).
* Finite overflow and infinities saturate to the largest finite code with the input's sign;
  E5M2 alone keeps infinities (it has an Inf code).
* NaN gives the format's NaN code with the input's sign (E4M3 0x7F/0xFF, E5M2 0x7F/0xFF,
  UE4M3 0x7F). E2M1 has no NaN: NaN saturates like an infinity.
* The sign of zero is kept (-0.0 gives the negative-zero code, e.g. E2M1 8, E4M3 0x80).

The golden encoders compute the rounding in float64 arithmetic, where every step used here
is exact; the RTL encoders (rtl/formats) compute it with integer shifts. Tests tie the two.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

# torch is imported inside the tensor functions: the RTL reads the format table (FloatFormat)
# without it, so `python -m rtl.generate --list` starts in well under a second.
if TYPE_CHECKING:
    import torch

__all__ = [
    "FloatFormat", "E2M1", "E4M3", "UE4M3", "E5M2", "FORMATS",
    "encode", "decode", "int_codes", "check_int",
    "encode_e2m1", "decode_e2m1", "encode_e4m3", "decode_e4m3",
    "encode_ue4m3", "decode_ue4m3", "encode_e5m2", "decode_e5m2",
    "f32_to_bits", "bits_to_f32",
]


@dataclass(frozen=True)
class FloatFormat:
    """Bit-level description of a small float format, shared by golden model and RTL."""

    name: str
    exp_bits: int
    man_bits: int
    bias: int
    signed: bool
    max_code: int            # largest finite magnitude code (sign bit clear)
    nan_code: int | None     # magnitude code produced for NaN input (None: saturate)
    inf_code: int | None     # magnitude code of +Inf (None: format has no Inf)

    @property
    def width(self) -> int:
        return self.exp_bits + self.man_bits + (1 if self.signed else 0)

    @property
    def sign_bit(self) -> int:
        """Bit position of the sign (only for signed formats)."""
        return self.exp_bits + self.man_bits

    @property
    def emin(self) -> int:
        """Unbiased exponent of the smallest normal number."""
        return 1 - self.bias

    def magnitude(self, code: int) -> float:
        """Exact value of a non-negative magnitude code (sign bit clear), as a Python float."""
        e = code >> self.man_bits
        m = code & ((1 << self.man_bits) - 1)
        if self.inf_code is not None and code == self.inf_code:
            return math.inf
        if code > self.max_code and (self.inf_code is None or code > self.inf_code):
            return math.nan
        if e == 0:
            return math.ldexp(m, self.emin - self.man_bits)
        return math.ldexp((1 << self.man_bits) + m, e - self.bias - self.man_bits)

    @property
    def max_value(self) -> float:
        return self.magnitude(self.max_code)

    @property
    def min_subnormal(self) -> float:
        return math.ldexp(1.0, self.emin - self.man_bits)

    @cached_property
    def codes(self) -> list[int]:
        """Every code of the format (including NaN/Inf and negative codes)."""
        return list(range(1 << self.width))

    @cached_property
    def finite_magnitudes(self) -> list[float]:
        """Values of magnitude codes 0..max_code, ascending."""
        return [self.magnitude(c) for c in range(self.max_code + 1)]

    @cached_property
    def midpoints(self) -> list[float]:
        """Exact midpoints between consecutive finite magnitudes, plus the one above the max
        (the point where a format with one more code would round up; here it saturates)."""
        v = self.finite_magnitudes
        mids = [(a + b) / 2 for a, b in zip(v, v[1:])]
        top_ulp = math.ldexp(1.0, (self.max_code >> self.man_bits) - self.bias - self.man_bits)
        mids.append(v[-1] + top_ulp / 2)
        return mids

    @cached_property
    def _decode_table(self) -> torch.Tensor:
        import torch
        vals = []
        for c in self.codes:
            mag = c & ((1 << (self.exp_bits + self.man_bits)) - 1)
            neg = self.signed and bool(c >> self.sign_bit)
            v = self.magnitude(mag)
            vals.append(-v if neg else v)
        return torch.tensor(vals, dtype=torch.float32)


E2M1 = FloatFormat("e2m1", exp_bits=2, man_bits=1, bias=1, signed=True,
                   max_code=0x7, nan_code=None, inf_code=None)
E4M3 = FloatFormat("e4m3", exp_bits=4, man_bits=3, bias=7, signed=True,
                   max_code=0x7E, nan_code=0x7F, inf_code=None)
UE4M3 = FloatFormat("ue4m3", exp_bits=4, man_bits=3, bias=7, signed=False,
                    max_code=0x7E, nan_code=0x7F, inf_code=None)
E5M2 = FloatFormat("e5m2", exp_bits=5, man_bits=2, bias=15, signed=True,
                   max_code=0x7B, nan_code=0x7F, inf_code=0x7C)
FORMATS = {f.name: f for f in (E2M1, E4M3, UE4M3, E5M2)}


def _as_float_tensor(x, what: str) -> torch.Tensor:
    import torch
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def encode(fmt: FloatFormat, x, scale_exp: int | torch.Tensor = 0) -> torch.Tensor:
    """Encode ``x * 2**scale_exp`` into ``fmt`` codes (uint8), per the module rule.

    ``scale_exp`` is an int or an integer tensor broadcastable against ``x``.
    """
    import torch
    x = _as_float_tensor(x, f"encode_{fmt.name}")
    v = x.to(torch.float64)
    if isinstance(scale_exp, torch.Tensor):
        if scale_exp.is_floating_point():
            raise ValueError(f"scale_exp must be integer, got dtype {scale_exp.dtype}")
        v = torch.ldexp(v, scale_exp.to(torch.float64))
    else:
        if int(scale_exp) != scale_exp:
            raise ValueError(f"scale_exp must be an integer, got {scale_exp!r}")
        v = torch.ldexp(v, torch.tensor(float(scale_exp), dtype=torch.float64))
    # float64 has 11 exponent bits; FP32 inputs times 2**scale_exp stay exact for |scale_exp|
    # up to ~800. Beyond that, ldexp would round: refuse rather than be silently wrong.
    if x.dtype != torch.float64:
        limit = 800
        se = scale_exp if isinstance(scale_exp, torch.Tensor) else torch.tensor(scale_exp)
        if bool((se.abs() > limit).any()):
            raise ValueError(f"scale_exp out of the exact range ±{limit}: {se.abs().max().item()}")

    neg = torch.signbit(v)
    a = v.abs()
    nan = torch.isnan(a)
    inf = torch.isinf(a)
    finite = ~(nan | inf)
    a = torch.where(finite, a, torch.zeros_like(a))

    if not fmt.signed and bool((neg & finite & (a > 0)).any()):
        bad = v[neg & finite & (a > 0)].flatten()[0].item()
        raise ValueError(f"encode_{fmt.name}: unsigned format, got negative value {bad!r}")

    _, e2 = torch.frexp(a)                  # a = m * 2**e2, m in [0.5, 1)
    exp = (e2.to(torch.int64) - 1)          # floor(log2 a) for a > 0
    eq = torch.clamp(exp, min=fmt.emin)     # exponent of the grid the value falls on
    eq = torch.where(a > 0, eq, torch.full_like(eq, fmt.emin))
    # Cap the exponent so the ldexp below cannot underflow for huge values; they saturate anyway.
    eq = torch.clamp(eq, max=fmt.emin + 4096)
    q = torch.round(torch.ldexp(a, (fmt.man_bits - eq).to(torch.float64)))  # exact RNE
    code = ((eq - fmt.emin) << fmt.man_bits) + q.to(torch.int64)
    code = torch.clamp(code, max=fmt.max_code)

    sat = fmt.max_code if fmt.inf_code is None else fmt.inf_code
    code = torch.where(inf, torch.full_like(code, sat), code)
    nan_code = fmt.max_code if fmt.nan_code is None else fmt.nan_code
    code = torch.where(nan, torch.full_like(code, nan_code), code)
    if fmt.signed:
        code = code | (neg.to(torch.int64) << fmt.sign_bit)
    return code.to(torch.uint8)


def check_int(name: str, value, lo: int, hi: int) -> int:
    """An integer argument in ``lo..hi`` (Python or numpy integer, or a 0-d integer tensor;
    not a bool, not a float: nothing is truncated); ``ValueError`` naming it otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        v = None
    if v is None or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return v


def int_codes(x, what: str, lo: int, hi: int, *, bool_ok: bool = False) -> torch.Tensor:
    """``x`` (tensor, array, list or number) as int64 codes in ``lo..hi``; ``ValueError`` naming
    ``what`` for a floating-point, complex or (unless ``bool_ok``) bool dtype — nothing is
    truncated or wrapped — and for a code outside the range."""
    import torch
    try:
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{what}: expected integer codes, got {type(x).__name__} ({e})") from None
    if t.is_floating_point() or t.is_complex() or (t.dtype == torch.bool and not bool_ok):
        raise ValueError(f"{what}: expected integer codes, got dtype {t.dtype}")
    c = t.to(torch.int64)
    if c.numel() and (int(c.min()) < lo or int(c.max()) > hi):
        bad = c[(c < lo) | (c > hi)].flatten()[0].item()
        raise ValueError(f"{what}: code {bad} outside {lo}..{hi}")
    return c


def decode(fmt: FloatFormat, codes) -> torch.Tensor:
    """Decode ``fmt`` codes to float32 (exact: every value of these formats is an FP32)."""
    c = int_codes(codes, f"decode_{fmt.name}", 0, (1 << fmt.width) - 1)
    return fmt._decode_table[c]


def encode_e2m1(x, scale_exp=0):
    return encode(E2M1, x, scale_exp)


def decode_e2m1(codes):
    return decode(E2M1, codes)


def encode_e4m3(x, scale_exp=0):
    return encode(E4M3, x, scale_exp)


def decode_e4m3(codes):
    return decode(E4M3, codes)


def encode_ue4m3(x, scale_exp=0):
    return encode(UE4M3, x, scale_exp)


def decode_ue4m3(codes):
    return decode(UE4M3, codes)


def encode_e5m2(x, scale_exp=0):
    return encode(E5M2, x, scale_exp)


def decode_e5m2(codes):
    return decode(E5M2, codes)


def f32_to_bits(x) -> torch.Tensor:
    """FP32 values -> their IEEE bit patterns as int64 in 0..2**32-1."""
    import torch
    x = _as_float_tensor(x, "f32_to_bits").to(torch.float32).contiguous()
    return x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF


def bits_to_f32(bits) -> torch.Tensor:
    """IEEE bit patterns (integers in 0..2**32-1) -> FP32 values."""
    import torch
    b = int_codes(bits, "bits_to_f32: bit patterns", 0, 0xFFFFFFFF)
    b = torch.where(b >= (1 << 31), b - (1 << 32), b)
    return b.to(torch.int32).contiguous().view(torch.float32)
