"""Directed + random stimulus for the FP32 <-> small-float blocks, with golden expectations.

Used by the cocotb testbench (verif/tb/formats.py) and by the Amaranth-simulator unit tests, so
both exercise the same corners. Expectations come from golden.formats only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from golden.formats import FORMATS, FloatFormat, bits_to_f32, decode, encode, f32_to_bits

__all__ = ["EncoderVectors", "encoder_vectors", "decoder_vectors", "scale_range"]


@dataclass
class EncoderVectors:
    bits: torch.Tensor      # int64 FP32 bit patterns
    scale: torch.Tensor     # int64 value for the scale port (0 if there is none)
    expected: torch.Tensor  # int64 codes
    kind: list[str]         # which corner each vector exercises (for failure messages)

    def __len__(self) -> int:
        return len(self.bits)


def scale_range(scale_width: int) -> tuple[int, int]:
    if scale_width == 0:
        return 0, 0
    return -(1 << (scale_width - 1)), (1 << (scale_width - 1)) - 1


def _exact_f32(values: list[float]) -> list[float]:
    """Keep only values that FP32 represents exactly."""
    out = []
    for v in values:
        f = torch.tensor(v, dtype=torch.float64).to(torch.float32).item()
        if f == v or (math.isnan(v) and math.isnan(f)):
            out.append(v)
    return out


def encoder_vectors(fmt: FloatFormat | str, *, scale_exp: int = 0, scale_width: int = 0,
                    n_random: int = 100_000, seed: int = 1) -> EncoderVectors:
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    gen = torch.Generator().manual_seed(seed)
    lo, hi = scale_range(scale_width)
    port_scales = sorted({0, lo, hi, *([lo + 1, hi - 1, -1, 1] if scale_width else [])})

    rows: list[tuple[float, int, str]] = []

    def add(values, kind, scales=(0,)):
        for s in scales:
            eff = s + scale_exp
            for v in values:
                # The testbench drives x such that x * 2**eff is the intended value.
                x = math.ldexp(v, -eff) if math.isfinite(v) else v
                if not math.isfinite(v) or _exact_f32([x]):
                    rows.append((x, s, kind))

    mags = fmt.finite_magnitudes
    add([m for m in mags] + [-m for m in mags], "code", port_scales)
    mids = fmt.midpoints
    ulps = []
    for mid in mids:
        f = torch.tensor([mid], dtype=torch.float32)
        ulps += [torch.nextafter(f, torch.tensor([0.0])).item(),
                 torch.nextafter(f, torch.tensor([math.inf])).item()]
    add(mids + [-m for m in mids], "midpoint", port_scales)
    add(ulps + [-u for u in ulps], "midpoint±ulp", port_scales)
    sat = [fmt.max_value, 2 * fmt.max_value, 1e38, 3.4028234663852886e38]
    if fmt.name == "e4m3":
        sat += [464.0, 480.0, 449.0, 463.99996948242188, 464.00003051757812, 479.9999694824219, 512.0]
    if fmt.name == "e2m1":
        sat += [6.0, 7.0, 8.0, 6.999999523162842, 7.000000476837158]
    add(sat + [-v for v in sat], "saturation", port_scales)
    add([math.inf, -math.inf], "infinity", port_scales)
    add([0.0, -0.0], "zero", port_scales)
    # Format subnormals and the region below the smallest one.
    tiny = fmt.min_subnormal
    add([tiny * k / 4 for k in range(1, 12)] + [-tiny / 2, -tiny / 4, tiny / 2 * (1 + 2 ** -20)],
        "subnormal", port_scales)
    # FP32 subnormal inputs (driven as raw bits), with every port scale extreme.
    fp32_sub = [1, 2, 3, 0x00400000, 0x007FFFFF, 0x00000100, 0x00012345]
    # NaNs with assorted payloads and both signs.
    nans = [0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0xFFC00000, 0xFF800001]

    bits = f32_to_bits(torch.tensor([r[0] for r in rows], dtype=torch.float32))
    scales = torch.tensor([r[1] for r in rows], dtype=torch.int64)
    kinds = [r[2] for r in rows]
    extra_bits, extra_scales, extra_kinds = [], [], []
    for b in fp32_sub:
        for s in port_scales:
            for sign in (0, 0x80000000):
                extra_bits.append(b | sign), extra_scales.append(s), extra_kinds.append("fp32 subnormal")
    for b in nans:
        for s in port_scales[:2]:
            extra_bits.append(b), extra_scales.append(s), extra_kinds.append("nan")

    # Random FP32 patterns: half with exponents near the format's range, half anywhere.
    n_near = n_random // 2
    sign = torch.randint(0, 2, (n_random,), generator=gen, dtype=torch.int64) << 31
    frac = torch.randint(0, 1 << 23, (n_random,), generator=gen, dtype=torch.int64)
    rnd_scale = torch.randint(lo, hi + 1, (n_random,), generator=gen, dtype=torch.int64)
    emax = (fmt.max_code >> fmt.man_bits) - fmt.bias
    lo_e, hi_e = fmt.emin - fmt.man_bits - 3, emax + 2
    e_near = torch.randint(lo_e, hi_e + 1, (n_near,), generator=gen, dtype=torch.int64)
    e_near = e_near - rnd_scale[:n_near] - scale_exp + 127    # biased FP32 exponent
    e_near = e_near.clamp(0, 254)
    e_any = torch.randint(0, 256, (n_random - n_near,), generator=gen, dtype=torch.int64)
    rnd_bits = sign | (torch.cat([e_near, e_any]) << 23) | frac

    all_bits = torch.cat([bits, torch.tensor(extra_bits, dtype=torch.int64), rnd_bits])
    all_scales = torch.cat([scales, torch.tensor(extra_scales, dtype=torch.int64), rnd_scale])
    all_kinds = kinds + extra_kinds + ["random"] * n_random
    expected = encode(fmt, bits_to_f32(all_bits), all_scales + scale_exp).to(torch.int64)
    return EncoderVectors(all_bits, all_scales, expected, all_kinds)


def decoder_vectors(fmt: FloatFormat | str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every code and its FP32 bit pattern (NaN codes -> 0x7FC00000 with the code's sign)."""
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    codes = torch.tensor(fmt.codes, dtype=torch.int64)
    vals = decode(fmt, codes)
    bits = f32_to_bits(vals)
    nan = torch.isnan(vals)
    neg = (codes >> fmt.sign_bit) & 1
    bits = torch.where(nan, 0x7FC00000 | (neg << 31), bits)
    return codes, bits
