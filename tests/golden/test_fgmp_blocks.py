"""FGMP block formats: quantizers (every code and midpoint), zero blocks, saturation, tensor
scale, pack/unpack, exact storage accounting, bad input."""
import math
import random
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from golden.formats import E2M1, E4M3, UE4M3, encode
from golden.fgmp import (BLOCK, FP8_SCALE_CODE, FGMPTensor, pow2_tensor_scale, quantize_fp8,
                         quantize_mixed, quantize_nvfp4, tensor_scale)
from golden.fgmp.blocks import rne_encode
from golden.fgmp import reference as R


def f32(v) -> float:
    return float(np.float32(v))


def blocks_of(vals, fill):
    """Split a value list into 16-element blocks padded with ``fill``."""
    vals = list(vals)
    out = []
    for i in range(0, len(vals), BLOCK - 1):
        chunk = vals[i:i + BLOCK - 1]
        out.append([fill] + chunk + [0.0] * (BLOCK - 1 - len(chunk)))
    return out


# --------------------------------------------------------------------------------------------
# encoder used by the quantizers

@pytest.mark.parametrize("fmt", [E2M1, E4M3, UE4M3], ids=lambda f: f.name)
def test_rne_encode_matches_formats_encode(fmt):
    v = torch.tensor(fmt.finite_magnitudes + fmt.midpoints, dtype=torch.float64)
    v = torch.cat([v, v * (1 + 2.0 ** -45), v * (1 - 2.0 ** -45), v * 1000, v / 1000,
                   torch.rand(2000, dtype=torch.float64) * 2 * fmt.max_value,
                   torch.tensor([0.0, math.inf, 1e300, 1e-300], dtype=torch.float64)])
    if fmt.signed:
        v = torch.cat([v, -v, torch.tensor([-0.0, math.nan, -math.nan], dtype=torch.float64)])
    assert torch.equal(rne_encode(fmt, v), encode(fmt, v))


# --------------------------------------------------------------------------------------------
# NVFP4: every code and midpoint, several block scales and tensor scales

SB_CODES = [0x01, 0x07, 0x08, 0x30, 0x38, 0x3B, 0x4C, 0x6F, 0x7E]


@pytest.mark.parametrize("S", [1.0, 2.0 ** -10, 2.0 ** 20])
@pytest.mark.parametrize("sb_code", SB_CODES)
def test_nvfp4_all_codes_and_midpoints_exact_ties(S, sb_code):
    sb = UE4M3.magnitude(sb_code)
    # amax element 6·s_b·S pins the block scale to s_b exactly
    mags = E2M1.finite_magnitudes + E2M1.midpoints[:-1]
    vals = [m * sb * S for m in mags] + [-m * sb * S for m in mags]
    for v in vals:
        assert f32(v) == v                        # exact FP32 inputs (ties are real ties)
    x = torch.tensor(blocks_of(vals, 6 * sb * S), dtype=torch.float32)
    q = quantize_nvfp4(x, tensor_scale=S)
    assert (q.scales == sb_code).all()
    for row, codes in zip(x.tolist(), q.codes[:, 0].tolist()):
        ref, ref_sc = R.ref_nvfp4_block(row, S)
        assert ref_sc == sb_code
        assert codes == ref
    # spot-check the tie rule directly: 0.25 -> 0, 0.75 -> 1.0, 1.25 -> 1.0, 5 -> 4
    x1 = torch.tensor([[6 * sb * S, 0.25 * sb * S, 0.75 * sb * S, 1.25 * sb * S, 5 * sb * S,
                        -0.25 * sb * S] + [0.0] * 10], dtype=torch.float32)
    assert quantize_nvfp4(x1, tensor_scale=S).codes[0, 0, :6].tolist() == [7, 0, 2, 2, 6, 8]


def test_nvfp4_near_midpoints_general_scale():
    """Non-power-of-two S: inputs are the FP32 neighbours of exact midpoints; only the exact
    comparison decides (checked against Fraction)."""
    rng = random.Random(5)
    for _ in range(40):
        S = f32(rng.uniform(1e-4, 10))
        sb_code = rng.randrange(1, 0x7F)
        sb = UE4M3.magnitude(sb_code)
        row = [f32(6 * sb * S)]
        for _ in range(15):
            m = rng.choice(E2M1.midpoints[:-1] + E2M1.finite_magnitudes)
            v = np.float32(m * sb * S) * rng.choice([1, -1])
            v = np.nextafter(v, np.float32(rng.choice([-np.inf, np.inf])), dtype=np.float32) \
                if rng.random() < 0.5 else v
            row.append(float(v))
        q = quantize_nvfp4(torch.tensor([row], dtype=torch.float32), tensor_scale=S)
        ref, ref_sc = R.ref_nvfp4_block(row, S)
        assert (int(q.scales[0, 0]), q.codes[0, 0].tolist()) == (ref_sc, ref)


def test_nvfp4_scale_midpoints():
    """Block amax at every UE4M3 midpoint (and its FP32 neighbours) -> s_b by exact RNE."""
    S = 2.0 ** -3
    for mid in UE4M3.midpoints[:-1]:
        for a in (mid * 6 * S, float(np.nextafter(np.float32(mid * 6 * S), np.float32(0))),
                  float(np.nextafter(np.float32(mid * 6 * S), np.float32(np.inf)))):
            a = f32(a)
            row = [a] + [0.0] * 15
            q = quantize_nvfp4(torch.tensor([row]), tensor_scale=S)
            assert int(q.scales[0, 0]) == R.ref_rne_code(UE4M3, Fraction(a) / (6 * Fraction(S)))


# --------------------------------------------------------------------------------------------
# FP8 blocks: every code and midpoint

@pytest.mark.parametrize("S", [1.0, 2.0 ** -12, 2.0 ** 30])
def test_fp8_all_codes_and_midpoints(S):
    mags = E4M3.finite_magnitudes + E4M3.midpoints          # incl. the saturation midpoint
    vals = [m * 6 * S for m in mags]
    vals += [-v for v in vals] + [-0.0, 0.0, 1e6 * 6 * S]
    for v in vals:
        assert f32(v) == v
    x = torch.tensor(blocks_of(vals, 0.0), dtype=torch.float32)
    q = quantize_fp8(x, tensor_scale=S)
    assert bool(q.meta.all()) and bool((q.scales == FP8_SCALE_CODE).all())
    for row, codes in zip(x.tolist(), q.codes[:, 0].tolist()):
        assert codes == R.ref_fp8_block(row, S)
    # every finite code round-trips
    codes = torch.tensor([c for c in range(256) if c & 0x7F != 0x7F])
    from golden.formats import decode
    v = decode(E4M3, codes).double() * 6 * S
    v = torch.cat([v, torch.zeros(16 - v.numel() % 16, dtype=torch.float64)])
    q = quantize_fp8(v.float().reshape(-1, 16), tensor_scale=S)
    assert q.codes.reshape(-1)[: codes.numel()].tolist() == codes.tolist()


def test_fp8_near_midpoints_general_scale():
    rng = random.Random(7)
    for _ in range(30):
        S = f32(rng.uniform(1e-6, 1e3))
        row = []
        for _ in range(16):
            m = rng.choice(E4M3.midpoints)
            v = np.float32(m * 6 * S) * rng.choice([1, -1])
            if rng.random() < 0.6:
                v = np.nextafter(v, np.float32(rng.choice([-np.inf, np.inf])), dtype=np.float32)
            row.append(float(v))
        q = quantize_fp8(torch.tensor([row], dtype=torch.float32), tensor_scale=S)
        assert q.codes[0, 0].tolist() == R.ref_fp8_block(row, S)


# --------------------------------------------------------------------------------------------
# zero blocks, subnormals, saturation, tensor scale

def test_zero_and_tiny_blocks():
    x = torch.zeros(3, 16)
    x[1] = -0.0
    x[2, 3] = 1e-30                        # s_b underflows to 0 with S = 1
    q = quantize_nvfp4(x, tensor_scale=1.0)
    assert q.scales.tolist() == [[0], [0], [0]]
    assert (q.codes == 0).all()
    assert q.dequantize().abs().max() == 0
    q8 = quantize_fp8(x, tensor_scale=1.0)
    assert q8.codes[1, 0].tolist() == [0x80] * 16          # sign of zero kept
    assert q8.codes[2, 0, 3] == 0                           # 1e-30/6 rounds to +0
    # whole-tensor zero: S = 1
    assert quantize_nvfp4(torch.zeros(2, 32)).tensor_scale == 1.0


def test_subnormal_fp32_inputs():
    tiny = [float(np.float32(2.0 ** -149)) * k for k in (1, 3, 1000, 2 ** 22)]
    row = tiny + [-t for t in tiny] + [0.0] * 8
    x = torch.tensor([row], dtype=torch.float32)
    for S in (2.0 ** -140, f32(3e-44), tensor_scale(max(tiny))):
        assert quantize_nvfp4(x, tensor_scale=S).codes[0, 0].tolist() == R.ref_nvfp4_block(row, S)[0]
        assert quantize_fp8(x, tensor_scale=S).codes[0, 0].tolist() == R.ref_fp8_block(row, S)


def test_block_level_saturation():
    # s_b rounds down (amax/6 = 27.5 -> 28? choose one that rounds down): amax/(6S) = 29 -> 28
    S = 1.0
    x = torch.tensor([[29 * 6.0, -29 * 6.0] + [1.0] * 14])
    q = quantize_nvfp4(x, tensor_scale=S)
    assert UE4M3.magnitude(int(q.scales[0, 0])) == 28.0
    assert q.codes[0, 0, :2].tolist() == [7, 15]          # 174/28 = 6.21 -> saturates to ±6
    # FP8 block saturation: beyond 448·6·S
    q8 = quantize_fp8(torch.tensor([[3000.0, -1e30] + [0.0] * 14]), tensor_scale=1.0)
    assert q8.codes[0, 0, :2].tolist() == [0x7E, 0xFE]


def test_tensor_level_saturation():
    """S = fp32(amax/2688) rounded down makes amax/(6S) > 448: UE4M3 and E2M1 saturate (no
    NaN), and FP8 codes saturate at 0x7E."""
    rng = random.Random(3)
    found = 0
    for _ in range(2000):
        amax = f32(rng.uniform(1, 1000))
        S = tensor_scale(amax)
        if Fraction(S) < Fraction(amax) / 2688:
            found += 1
            x = torch.tensor([[amax] + [0.0] * 15])
            q = quantize_nvfp4(x)
            assert q.tensor_scale == S
            assert int(q.scales[0, 0]) == 0x7E and int(q.codes[0, 0, 0]) == 7
            assert int(quantize_fp8(x).codes[0, 0, 0]) == 0x7E
            if found > 20:
                break
    assert found > 20


def test_tensor_scale_rules():
    rng = random.Random(11)
    for _ in range(500):
        a = f32(10 ** rng.uniform(-40, 38))
        assert Fraction(tensor_scale(a)) == R.ref_tensor_scale(a)
        p = pow2_tensor_scale(a)
        assert math.frexp(p)[0] == 0.5
        assert a <= 2688 * p and (a > 1344 * p or p == 2.0 ** -149)
    assert tensor_scale(0.0) == 1.0 and pow2_tensor_scale(0.0) == 1.0
    assert tensor_scale(float(np.float32(2.0 ** -149))) == 2.0 ** -149   # underflow -> min sub
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="amax"):
            tensor_scale(bad)


# --------------------------------------------------------------------------------------------
# values, pack/unpack, storage

def _random_mixed(shape=(3, 5, 64), seed=0, p4=0.7):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) * torch.rand(shape[:-1] + (1,), generator=g) * 4
    meta = torch.rand(shape[:-1] + (shape[-1] // 16,), generator=g) > p4
    return x, quantize_mixed(x, meta)


def test_dequantize_exact():
    x, q = _random_mixed((2, 48), seed=1)
    deq = q.dequantize()
    S = Fraction(q.tensor_scale)
    for r in range(2):
        for b in range(3):
            meta, sc = bool(q.meta[r, b]), int(q.scales[r, b])
            for i in range(16):
                c = int(q.codes[r, b, i])
                v = R.ref_value(E4M3, c) * 6 * S if meta else \
                    R.ref_value(E2M1, c) * R.ref_value(UE4M3, sc) * S
                assert R.f32_bits(float(deq[r, 16 * b + i])) == R.round_frac_to_f32_bits(v)


def test_pack_layout_and_roundtrip():
    x, q = _random_mixed()
    p = q.pack()
    q2 = FGMPTensor.unpack(p)
    assert torch.equal(q2.meta, q.meta) and torch.equal(q2.codes, q.codes)
    assert torch.equal(q2.scales, q.scales) and q2.tensor_scale == q.tensor_scale
    assert q2.shape == q.shape and torch.equal(q2.dequantize(), q.dequantize())
    # explicit layout of the first blocks
    meta = q.meta.reshape(-1).tolist()
    codes = q.codes.reshape(-1, 16).tolist()
    scales = q.scales.reshape(-1).tolist()
    exp, sc = bytearray(), bytearray()
    for m, c, s in zip(meta, codes, scales):
        if m:
            exp += bytes(c)
        else:
            exp += bytes(c[2 * j] | (c[2 * j + 1] << 4) for j in range(8))
            sc.append(s)
    assert p.codes == bytes(exp) and p.scales == bytes(sc)
    bm = bytearray((len(meta) + 7) // 8)
    for i, m in enumerate(meta):
        bm[i // 8] |= int(m) << (i % 8)
    assert p.meta == bytes(bm)


def test_element0_low_nibble():
    x = torch.zeros(1, 16)
    x[0, 0], x[0, 1] = 6.0, -0.5            # codes 7 and 9 (with s_b·S = 1)
    p = quantize_nvfp4(x, tensor_scale=1.0).pack()
    assert p.codes[0] == 0x97 and p.scales == bytes([0x38])


@pytest.mark.parametrize("p4,saving", [(0.7, 0.298), (0.9, 0.386)])
def test_bits_per_element_and_saving(p4, saving):
    n = 10
    x = torch.randn(4, n * 16)
    meta = torch.zeros(4, n, dtype=torch.bool)
    meta[:, round(n * p4):] = True
    q = quantize_mixed(x, meta)
    assert q.fp4_fraction == pytest.approx(p4)
    assert q.bits_per_element == Fraction(int(p4 * n) * 72 + (n - int(p4 * n)) * 128 + n, n * 16)
    assert q.bits_per_element == (Fraction(p4).limit_denominator(10) * 72
                                  + (1 - Fraction(p4).limit_denominator(10)) * 128 + 1) / 16
    packed = q.pack()
    assert packed.bits == q.storage_bits == q.bits_per_element * x.numel()
    assert 8 * (len(packed.codes) + len(packed.scales)) + q.nblocks == packed.bits
    assert round(1 - float(q.bits_per_element) / 8, 3) == saving


def test_pad_and_refuse():
    x = torch.randn(2, 40)
    with pytest.raises(ValueError, match="40 is not a multiple of 16"):
        quantize_nvfp4(x)
    q = quantize_nvfp4(x, pad=True)
    assert q.shape == (2, 40) and q.meta.shape == (2, 3)
    assert q.dequantize().shape == (2, 40)
    assert torch.equal(q.dequantize(), quantize_nvfp4(torch.nn.functional.pad(x, (0, 8)),
                                                      tensor_scale=q.tensor_scale)
                       .dequantize()[:, :40])
    q2 = FGMPTensor.unpack(q.pack())
    assert q2.shape == (2, 40)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_refused(bad):
    x = torch.randn(2, 16)
    x[1, 5] = bad
    with pytest.raises(ValueError, match=r"non-finite value .* at index \(1, 0, 5\)"):
        quantize_nvfp4(x)
    with pytest.raises(ValueError, match="non-finite"):
        quantize_fp8(x)


@pytest.mark.parametrize("S", [0.0, -1.0, math.inf, math.nan, 0.1])
def test_bad_tensor_scale(S):
    with pytest.raises(ValueError, match="tensor_scale"):
        quantize_fp8(torch.randn(16), tensor_scale=S)


def test_bad_meta_and_dtype():
    with pytest.raises(ValueError, match="meta shape"):
        quantize_mixed(torch.randn(2, 32), torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="floating-point"):
        quantize_nvfp4(torch.ones(16, dtype=torch.int32))


# --------------------------------------------------------------------------------------------
# property test against the Fraction reference

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=16,
                max_size=16),
       st.floats(min_value=float(np.float32(1e-30)), max_value=float(np.float32(1e30)), width=32))
def test_quantizers_match_reference(row, S):
    x = torch.tensor([row], dtype=torch.float32)
    q4 = quantize_nvfp4(x, tensor_scale=S)
    codes, sc = R.ref_nvfp4_block(row, S)
    assert (q4.codes[0, 0].tolist(), int(q4.scales[0, 0])) == (codes, sc)
    assert quantize_fp8(x, tensor_scale=S).codes[0, 0].tolist() == R.ref_fp8_block(row, S)
