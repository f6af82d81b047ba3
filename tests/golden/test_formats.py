"""golden.formats: every code, every midpoint, saturation, signed zero, NaN, subnormals.

Two independent references check the encoder: PyTorch's float8 casts (with clamping, where
defined) and a search over the format's value table written here in plain Python.
"""
import bisect
import math
import struct

import pytest
import torch

from golden.formats import (E2M1, E4M3, E5M2, FORMATS, UE4M3, bits_to_f32, decode, decode_e2m1,
                            decode_e4m3, decode_e5m2, encode, encode_e2m1, encode_e4m3,
                            encode_e5m2, encode_ue4m3, f32_to_bits)

SIGNED = [E2M1, E4M3, E5M2]


def ref_encode(fmt, x: float, scale_exp: int = 0) -> int:
    """Search-based reference: nearest value in the table, ties to the even code."""
    sign = math.copysign(1.0, x) < 0 if fmt.signed else False
    sbit = (int(sign) << fmt.sign_bit) if fmt.signed else 0
    if math.isnan(x):
        return (fmt.nan_code if fmt.nan_code is not None else fmt.max_code) | sbit
    if math.isinf(x):
        return (fmt.inf_code if fmt.inf_code is not None else fmt.max_code) | sbit
    a = abs(math.ldexp(x, scale_exp))
    table = fmt.finite_magnitudes
    if a >= table[-1]:
        return fmt.max_code | sbit
    i = bisect.bisect_right(table, a) - 1          # table[i] <= a < table[i+1]
    lo, hi = table[i], table[i + 1]
    if a - lo < hi - a:
        code = i
    elif a - lo > hi - a:
        code = i + 1
    else:
        code = i if i % 2 == 0 else i + 1
    return code | sbit


def test_spec_value_tables():
    assert decode_e2m1(torch.arange(8)).tolist() == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert decode_e2m1(torch.arange(8, 16)).tolist() == [-0.0, -0.5, -1, -1.5, -2, -3, -4, -6]
    assert torch.signbit(decode_e2m1(torch.tensor([8]))).item()
    assert decode_e4m3(torch.tensor([0x7E, 0x08, 0x01, 0xFE])).tolist() == [448, 2**-6, 2**-9, -448]
    assert torch.isnan(decode_e4m3(torch.tensor([0x7F, 0xFF]))).all()
    assert decode_e5m2(torch.tensor([0x7B, 0x7C, 0xFC])).tolist() == [57344, math.inf, -math.inf]
    assert torch.isnan(decode_e5m2(torch.tensor([0x7D, 0x7E, 0x7F, 0xFF]))).all()
    assert decode(UE4M3, torch.tensor([0x7E])).item() == 448
    assert E4M3.max_value == 448 and E2M1.max_value == 6 and E5M2.max_value == 57344


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=lambda f: f.name)
def test_every_code_round_trips(fmt):
    codes = torch.tensor(fmt.codes)
    values = decode(fmt, codes)
    finite = ~torch.isnan(values)
    assert finite.sum() >= (fmt.max_code + 1)
    assert encode(fmt, values[finite]).to(torch.int64).tolist() == codes[finite].tolist()
    # Also through a power-of-two scale: x * 2**-7 encoded with scale_exp=+7.
    scaled = torch.ldexp(values[finite].double(), torch.tensor(-7.0, dtype=torch.float64))
    assert encode(fmt, scaled, 7).to(torch.int64).tolist() == codes[finite].tolist()


@pytest.mark.parametrize("fmt", SIGNED, ids=lambda f: f.name)
def test_every_midpoint_ties_to_even_and_neighbours(fmt):
    table = fmt.finite_magnitudes
    for i, mid in enumerate(fmt.midpoints):
        f = torch.tensor([mid, -mid], dtype=torch.float32)
        assert f[0].item() == mid, "midpoints of these formats are FP32-exact"
        below = torch.nextafter(f, torch.zeros(2))
        above = torch.nextafter(f, f * 2)
        if i + 1 < len(table):
            even = i if i % 2 == 0 else i + 1
            lo, hi = i, i + 1
        else:                                   # beyond the top value: saturate
            even = lo = hi = fmt.max_code
        neg = 1 << fmt.sign_bit
        assert encode(fmt, f).tolist() == [even, even | neg], mid
        assert encode(fmt, below).tolist() == [lo, lo | neg], mid
        assert encode(fmt, above).tolist() == [hi, hi | neg], mid


@pytest.mark.parametrize("fmt", SIGNED, ids=lambda f: f.name)
@pytest.mark.parametrize("scale_exp", [0, -3, 5, 130, -140])
def test_all_fp16_patterns_match_search_reference(fmt, scale_exp):
    x = torch.arange(1 << 16, dtype=torch.int32).to(torch.int16).view(torch.float16).float()
    got = encode(fmt, x, scale_exp).tolist()
    want = [ref_encode(fmt, v, scale_exp) for v in x.tolist()]
    assert got == want


@pytest.mark.parametrize("fmt", SIGNED, ids=lambda f: f.name)
def test_random_fp32_match_search_reference(fmt):
    g = torch.Generator().manual_seed(3)
    bits = torch.randint(0, 1 << 32, (20000,), generator=g, dtype=torch.int64)
    x = bits_to_f32(bits)
    scales = torch.randint(-150, 150, (20000,), generator=g)
    got = encode(fmt, x, scales).tolist()
    want = [ref_encode(fmt, v, s) for v, s in zip(x.tolist(), scales.tolist())]
    assert got == want


def _torch_cast(x, dtype, mx):
    return x.clamp(-mx, mx).to(dtype).view(torch.uint8).to(torch.int64)


@pytest.mark.parametrize("fmt,dtype", [(E4M3, torch.float8_e4m3fn), (E5M2, torch.float8_e5m2)],
                         ids=["e4m3", "e5m2"])
def test_matches_pytorch_float8_with_clamping(fmt, dtype):
    g = torch.Generator().manual_seed(7)
    n = 200_000
    x = torch.randn(n, generator=g) * torch.exp2(torch.randint(-30, 20, (n,), generator=g).float())
    mids = torch.tensor(fmt.midpoints[:-1], dtype=torch.float32)
    near = torch.cat([mids, torch.nextafter(mids, torch.zeros_like(mids)),
                      torch.nextafter(mids, mids * 2)])
    x = torch.cat([x, near, -near, torch.tensor([0.0, -0.0, 1e-45, -1e-45, 3e38, -3e38])])
    assert torch.equal(encode(fmt, x).to(torch.int64), _torch_cast(x, dtype, fmt.max_value))


def test_saturation_boundaries():
    e4 = encode_e4m3(torch.tensor([448.0, 449.0, 463.99, 464.0, 479.0, 480.0, 512.0, 1e38,
                                   math.inf, -math.inf, -464.0]))
    assert e4.tolist() == [0x7E] * 9 + [0xFE, 0xFE]
    e2 = encode_e2m1(torch.tensor([5.0, 5.01, 6.0, 6.99, 7.0, 100.0, math.inf, -math.inf, -7.0]))
    assert e2.tolist() == [6, 7, 7, 7, 7, 7, 7, 15, 15]
    e5 = encode_e5m2(torch.tensor([57344.0, 61439.0, 61440.0, 1e38, math.inf, -math.inf]))
    assert e5.tolist() == [0x7B, 0x7B, 0x7B, 0x7B, 0x7C, 0xFC]


def test_signed_zero_and_underflow_keep_sign():
    assert encode_e2m1(torch.tensor([-0.1, -0.0, 0.0, 0.25, -0.25])).tolist() == [8, 8, 0, 0, 8]
    assert encode_e4m3(torch.tensor([-0.0, -2.0**-11, 2.0**-10, 2.0**-10 * 1.0000001])).tolist() == \
        [0x80, 0x80, 0x00, 0x01]
    assert encode_e5m2(torch.tensor([-0.0])).tolist() == [0x80]


def test_nan_handling():
    nan = torch.tensor([math.nan, -math.nan])
    assert encode_e4m3(nan).tolist() == [0x7F, 0xFF]
    assert encode_e5m2(nan).tolist() == [0x7F, 0xFF]
    assert encode_e2m1(nan).tolist() == [0x7, 0xF]          # no NaN code: saturates
    assert encode_ue4m3(torch.tensor([math.nan])).tolist() == [0x7F]


def test_fp32_subnormals_exact_with_scale():
    # FP32 subnormals become representable in E4M3 only through a large scale.
    for k in range(0, 23):
        x = torch.tensor([math.ldexp(1.0, -149 + k)], dtype=torch.float32)
        assert x.item() != 0
        code = encode_e4m3(x, 149 - k - 3).item()        # 2**-3 = 0.125
        assert decode_e4m3(torch.tensor([code])).item() == 0.125
    assert encode_e4m3(torch.tensor([1e-45, -1e-45])).tolist() == [0x00, 0x80]


def test_scale_exp_tensor_broadcasts():
    x = torch.tensor([1.0, 1.0, 1.0])
    assert encode_e4m3(x, torch.tensor([0, 1, -1])).tolist() == [0x38, 0x40, 0x30]


def test_bits_helpers_round_trip():
    b = torch.tensor([0, 1, 0x3F800000, 0x7F800000, 0x80000000, 0xFFFFFFFF, 0x7FC00001])
    assert f32_to_bits(bits_to_f32(b)).tolist() == b.tolist()
    assert struct.unpack("<f", struct.pack("<I", 0x40490FDB))[0] == bits_to_f32(torch.tensor([0x40490FDB])).item()


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="floating-point"):
        encode_e4m3(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="code 256"):
        decode_e4m3(torch.tensor([256]))
    with pytest.raises(ValueError, match="code 16"):
        decode_e2m1(torch.tensor([16]))
    with pytest.raises(ValueError, match="code -1"):
        decode_e4m3(torch.tensor([-1]))
    with pytest.raises(ValueError, match="integer codes"):
        decode_e4m3(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="negative value"):
        encode_ue4m3(torch.tensor([-1.0]))
    assert encode_ue4m3(torch.tensor([-0.0])).tolist() == [0]
    with pytest.raises(ValueError, match="scale_exp"):
        encode_e4m3(torch.tensor([1.0]), 0.5)
    with pytest.raises(ValueError, match="scale_exp"):
        encode_e4m3(torch.tensor([1.0]), 5000)
