"""FGMP hardware references: FP32 rounding/addition, VMAC lane vs exact rational arithmetic,
activation quantization unit vs brute force over both candidates."""
import math
import random
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from golden.formats import E2M1, E4M3, UE4M3, bits_to_f32, f32_to_bits
from golden.fgmp import (BLOCK, FP8_SCALE_CODE, TAU_FORCE_FP8, TAU_FORCE_NVFP4, Blocks,
                         act_quant, act_quant_blocks, bus_to_codes, codes_to_bus, f32_add_bits,
                         quantize_fp8, quantize_mixed, quantize_nvfp4, round_to_f32_bits,
                         tau_to_fixed, vmac)
from golden.fgmp import hw
from golden.fgmp.hw import _act_candidates, act_values_fast
from golden.fgmp import reference as R

QNAN = 0x7FC00000


def f32(v):
    return float(np.float32(v))


# --------------------------------------------------------------------------------------------
# FP32 arithmetic

def _special_bits(rng, n):
    pool = [0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
            0x7F800000, 0xFF800000, 0x3F800000, 0xBF800000, 0x33800000, 0x4B000000]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.2:
            out.append(rng.choice(pool))
        elif r < 0.4:
            out.append(rng.getrandbits(23) | (rng.getrandbits(1) << 31))       # subnormals
        elif r < 0.7:
            out.append(rng.getrandbits(32) & 0xFF7FFFFF)
        else:
            out.append((rng.randrange(100, 160) << 23) | rng.getrandbits(23)
                       | (rng.getrandbits(1) << 31))
    return out


def test_f32_add_matches_ieee_hardware_add():
    rng = random.Random(0)
    a = torch.tensor(_special_bits(rng, 50000))
    b = torch.tensor(_special_bits(rng, 50000))
    # partner values close to -a (cancellation) and exact halves (ties)
    b[:10000] = a[:10000] ^ 0x80000000
    b[:10000] += torch.randint(-3, 4, (10000,))
    b = b & 0xFFFFFFFF
    got = f32_add_bits(a, b)
    s = bits_to_f32(a) + bits_to_f32(b)         # the CPU's IEEE binary32 add (RNE)
    exp = f32_to_bits(s)
    exp = torch.where(torch.isnan(s), torch.full_like(exp, QNAN), exp)
    assert torch.equal(got, exp)


def test_f32_add_matches_fraction_reference():
    rng = random.Random(1)
    a, b = _special_bits(rng, 400), _special_bits(rng, 400)
    got = f32_add_bits(torch.tensor(a), torch.tensor(b)).tolist()
    assert got == [R.ref_f32_add(x, y) for x, y in zip(a, b)]


def test_f32_add_signed_zero_and_specials():
    P, N = 0, 0x80000000
    cases = {(P, P): P, (P, N): P, (N, P): P, (N, N): N,
             (0x3F800000, 0xBF800000): P,             # 1 + (-1) = +0
             (0x7F800000, 0xFF800000): QNAN, (0x7F800000, 0x3F800000): 0x7F800000,
             (0x7FC00001, 0): QNAN, (0x7F7FFFFF, 0x7F7FFFFF): 0x7F800000,   # overflow -> Inf
             (0x7F7FFFFF, 0x73000000): 0x7F800000,    # max + half ulp: tie to even -> Inf
             (0x7F7FFFFF, 0x72FFFFFF): 0x7F7FFFFF}
    for (x, y), want in cases.items():
        assert int(f32_add_bits(torch.tensor([x]), torch.tensor([y]))[0]) == want, (hex(x), hex(y))


def test_round_to_f32_matches_reference():
    rng = random.Random(2)
    ns, es = [], []
    for _ in range(3000):
        n = rng.getrandbits(rng.randrange(1, 62)) * rng.choice([1, -1])
        if rng.random() < 0.3:        # exact ties: odd/even significand followed by 100..0
            k = rng.randrange(1, 30)
            n = ((rng.getrandbits(24) | (1 << 23)) << k | (1 << (k - 1))) * rng.choice([1, -1])
        ns.append(n)
        es.append(rng.randrange(-220, 110))
    got = round_to_f32_bits(torch.tensor(ns), torch.tensor(es)).tolist()
    exp = [R.round_frac_to_f32_bits(Fraction(n) * Fraction(2) ** e) for n, e in zip(ns, es)]
    assert got == exp


# --------------------------------------------------------------------------------------------
# VMAC

def _rand_block(rng, meta, nan_ok=False, adversarial=False):
    if meta:
        codes = []
        for _ in range(16):
            c = rng.choice([rng.randrange(256), 0x7E, 0xFE, rng.randrange(0x00, 0x08),
                            0x80 | rng.randrange(8)]) if adversarial else rng.randrange(256)
            if c & 0x7F == 0x7F and not nan_ok:
                c ^= 1
            codes.append(c)
        return 1, codes, rng.randrange(256)              # scale byte ignored for FP8 blocks
    codes = [rng.choice([7, 15, 1, 9]) if adversarial else rng.randrange(16) for _ in range(16)]
    sc = rng.choice([0x7E, 0x01, 0x00]) if adversarial and rng.random() < 0.5 \
        else rng.randrange(0x7F if not nan_ok else 0x80)
    return 0, codes, sc


def _to_blocks(rows):
    return Blocks(torch.tensor([[b[0] for b in r] for r in rows]),
                  torch.tensor([[b[1] for b in r] for r in rows]),
                  torch.tensor([[b[2] for b in r] for r in rows]))


def _a_blocks(row):
    return Blocks(torch.tensor([b[0] for b in row]), torch.tensor([b[1] for b in row]),
                  torch.tensor([b[2] for b in row]))


@pytest.mark.parametrize("mode", ["44", "48", "84", "88", "mixed", "adversarial"])
def test_vmac_matches_exact_rational(mode):
    rng = random.Random(hash(mode) & 0xFFFF)
    for _ in range(25):
        L, T = 4, rng.randint(1, 8)
        adv = mode == "adversarial"
        mw = [[int(mode[0]) == 8 if mode[0] in "48" else rng.random() < 0.5 for _ in range(T)]
              for _ in range(L)]
        ma = [int(mode[1]) == 8 if mode[0] in "48" else rng.random() < 0.5 for _ in range(T)]
        W = [[_rand_block(rng, mw[l][t], adversarial=adv) for t in range(T)] for l in range(L)]
        A = [_rand_block(rng, ma[t], adversarial=adv) for t in range(T)]
        acc = [rng.choice([0, 0x80000000, rng.getrandbits(32) & 0x7F7FFFFF,
                           rng.getrandbits(23), 0x7F7FFFF0, 0xFF7FFFF0]) for _ in range(L)]
        out = vmac(_to_blocks(W), _a_blocks(A), torch.tensor(acc)).tolist()
        assert out == [R.ref_vmac(W[l], A, acc[l]) for l in range(L)]


def test_vmac_rounding_ties_and_cancellation():
    """P with > 24 significant bits at an exact tie, and P cancelling the accumulator."""
    # FP8 x FP8: e4m3 values 448 and 2**-9 in one block give a sum needing ~36 bits
    c448, ctiny = 0x7E, 0x01
    w = (1, [c448, ctiny] + [0] * 14, 0x4C)
    a = (1, [c448, ctiny] + [0] * 14, 0x4C)
    # sum = 448² + 2**-18 -> 200704 + 2**-18 : rounds to 200704 (below half ulp)
    got = vmac(_to_blocks([[w]]), _a_blocks([a])).tolist()
    assert got == [R.ref_vmac([w], [a])] == [R.f32_bits(200704.0 * 36)]
    # tie: 2**24 + 1 in units -> exactly half an ulp above 2**24: rounds to even (down)
    codes_w = [0x78] * 16           # 256
    codes_a = [0x78] * 16           # 256 -> Σ = 16·65536 = 2**20
    rng = random.Random(9)
    for _ in range(200):
        W = [[_rand_block(rng, 1, adversarial=True) for _ in range(3)]]
        A = [_rand_block(rng, 1, adversarial=True) for _ in range(3)]
        acc = rng.getrandbits(32) & 0x7F7FFFFF
        assert vmac(_to_blocks(W), _a_blocks(A), torch.tensor([acc])).tolist() == \
            [R.ref_vmac(W[0], A, acc)]
    # cancellation: acc = -P exactly -> +0
    w = (1, codes_w, 0x4C)
    a = (1, codes_a, 0x4C)
    P = R.ref_vmac([w], [a])
    assert vmac(_to_blocks([[w]]), _a_blocks([a]), torch.tensor([P ^ 0x80000000])).tolist() == [0]


def test_vmac_subnormal_accumulator_and_overflow():
    w = (0, [1] + [0] * 15, 0x01)          # 0.5 · 2**-9
    a = (0, [1] + [0] * 15, 0x01)          # P = 0.25 · 2**-18 = 2**-20
    for acc in (0x00000001, 0x80400000, 0x807FFFFF, 0x00000000):
        assert vmac(_to_blocks([[w]]), _a_blocks([a]), torch.tensor([acc])).tolist() == \
            [R.ref_vmac([w], [a], acc)]
    big = (1, [0x7E] * 16, 0x4C)
    # |P| <= 16·448²·36 < 2**27 is far below half an ulp of FP32 max: the sum stays at max
    # (overflow to Inf is covered by test_f32_add_signed_zero_and_specials)
    assert vmac(_to_blocks([[big]]), _a_blocks([big]), torch.tensor([0x7F7FFFFF])).tolist() == \
        [0x7F7FFFFF] == [R.ref_vmac([big], [big], 0x7F7FFFFF)]
    assert vmac(_to_blocks([[big]]), _a_blocks([big]), torch.tensor([0x7F800000])).tolist() == \
        [0x7F800000]


def test_vmac_nan_codes_and_ignored_fp8_scale():
    rng = random.Random(4)
    w = _rand_block(rng, 1)
    a = _rand_block(rng, 0)
    base = vmac(_to_blocks([[w]]), _a_blocks([a])).tolist()
    for sc in (0, 0x4C, 0x7F, 0xFF):       # FP8 blocks: scale byte is ignored
        assert vmac(_to_blocks([[(1, w[1], sc)]]), _a_blocks([a])).tolist() == base
    wn = (1, [0x7F] + w[1][1:], 0x4C)       # E4M3 NaN code
    assert vmac(_to_blocks([[wn, w]]), _a_blocks([a, a])).tolist() == [QNAN]
    an = (0, a[1], 0x7F)                    # NaN UE4M3 scale on an NVFP4 block
    assert vmac(_to_blocks([[w]]), _a_blocks([an])).tolist() == [QNAN]
    assert R.ref_vmac([w], [an]) == QNAN


def test_vmac_trace_and_quantized_dot_product():
    g = torch.Generator().manual_seed(0)
    Wf = torch.randn(5, 64, generator=g)
    af = torch.randn(64, generator=g)
    wq = quantize_mixed(Wf, torch.rand(5, 4, generator=g) > 0.7)
    aq = quantize_mixed(af, torch.rand(4, generator=g) > 0.7)
    out = vmac(wq, aq)
    tr = vmac(wq, aq, trace=True)
    assert tr.shape == (4, 5) and torch.equal(tr[-1], out)
    y = bits_to_f32(out).double() * wq.tensor_scale * aq.tensor_scale
    ref = wq.dequantize(torch.float64) @ aq.dequantize(torch.float64)
    assert torch.allclose(y, ref, rtol=1e-6, atol=1e-9)


def test_f32_add_fixed_matches_fraction_reference():
    """init + z·2**-20 rounded once (the accumulator's final rounding) against Fraction, on
    random and adversarial operands: subnormal/huge/zero starts, z at the |Σ P| < 2**43 bound,
    exact cancellation, ties of the final rounding."""
    rng = random.Random(21)
    inits = _special_bits(rng, 3000) + [0x7FC00000, 0xFFC00001, 0x7F800001]
    for n, b in enumerate(inits):
        kind = n % 6
        if kind == 0:
            z = rng.randrange(-(1 << 63) + 1, 1 << 63)
        elif kind == 1:
            z = rng.randrange(-(1 << 20), 1 << 20)
        elif kind == 2:
            z = 0
        elif kind == 3 and (b >> 23) & 0xFF != 0xFF:       # cancel init exactly where possible
            v = R.frac_of_f32(b) * (1 << 20)
            z = -int(v) if v.denominator == 1 else rng.randrange(-5, 6)
        elif kind == 4:                                     # tie: z = odd half-ulp patterns
            z = ((1 << 24) + 1) << rng.randrange(0, 38) | 0
            z = -z if rng.random() < 0.5 else z
        else:
            z = rng.choice([1, -1, (1 << 63) - 1, -(1 << 63) + 1, 1 << 43, -(1 << 43)])
        ef, fr = (b >> 23) & 0xFF, b & 0x7FFFFF
        if ef == 0xFF:
            want = QNAN if fr else b
        else:
            want = R.round_frac_to_f32_bits(R.frac_of_f32(b) + Fraction(z, 1 << 20))
        assert hw.f32_add_fixed_bits(b, z) == want, (hex(b), z)
    assert hw.f32_add_fixed_bits(0x80000000, 0) == 0            # -0 + 0 = +0
    assert hw.f32_add_fixed_bits(0x00000001, 0) == 0x00000001   # subnormal start kept
    assert hw.f32_add_fixed_bits(0x7F7FFFFF, (1 << 63) - 1) == 0x7F7FFFFF   # never overflows


def test_vmac_rounds_once_not_per_block_pair():
    """The contract changed (issue 11) from per-pair FP32 rounding + sequential FP32 adds to one
    rounding of the exact sum: a dot product where the two differ, checked against both."""
    # P0 = 3·448²·36 = 21676032 (ulp 2), then twice 1·2**-6·36 = 0.5625 (below half an ulp each,
    # so sequential FP32 accumulation drops both; their exact sum 1.125 rounds P0 up by 2)
    big = (1, [0x7E] * 3 + [0] * 13, 0x4C)
    W = [[big, (1, [0x38] + [0] * 15, 0x4C), (1, [0x38] + [0] * 15, 0x4C)]]
    A = [big, (1, [0x08] + [0] * 15, 0x4C), (1, [0x08] + [0] * 15, 0x4C)]
    out = vmac(_to_blocks(W), _a_blocks(A)).tolist()
    exact = R.ref_vmac(W[0], A)
    seq = 0
    for w, a in zip(W[0], A):
        seq = R.ref_f32_add(seq, R.ref_vmac([w], [a]))
    assert out == [exact] == [R.f32_bits(21676034.0)] and seq == R.f32_bits(21676032.0)
    # exact cancellation of a long sequence: always +0 now
    rng = random.Random(5)
    seqp = [(_rand_block(rng, rng.random() < 0.5), _rand_block(rng, rng.random() < 0.5))
            for _ in range(40)]
    negd = [((m, [c ^ (0x80 if m else 0x8) for c in cs], sc), a) for (m, cs, sc), a in seqp]
    ws = [w for w, _ in seqp + negd]
    As = [a for _, a in seqp + negd]
    assert vmac(_to_blocks([ws]), _a_blocks(As)).tolist() == [0] == [R.ref_vmac(ws, As)]


def test_vmac_long_random_against_fraction():
    """Long dot products (T up to 300), random formats, random/special start values."""
    rng = random.Random(17)
    for _ in range(6):
        L, T = 3, rng.randint(100, 300)
        W = [[_rand_block(rng, rng.random() < 0.4, adversarial=rng.random() < 0.3)
              for _ in range(T)] for _ in range(L)]
        A = [_rand_block(rng, rng.random() < 0.4) for _ in range(T)]
        acc = _special_bits(rng, L)
        out = vmac(_to_blocks(W), _a_blocks(A), torch.tensor(acc)).tolist()
        assert out == [R.ref_vmac(W[l], A, acc[l]) for l in range(L)]
        tr = vmac(_to_blocks(W), _a_blocks(A), torch.tensor(acc), trace=True)
        t = rng.randrange(T)
        assert tr[t].tolist() == [R.ref_vmac(W[l][:t + 1], A[:t + 1], acc[l]) for l in range(L)]


def test_vmac_block_products_and_pair_limit():
    rng = random.Random(2)
    W = [[_rand_block(rng, rng.random() < 0.5) for _ in range(20)] for _ in range(2)]
    A = [_rand_block(rng, rng.random() < 0.5) for _ in range(20)]
    p, nan = hw.block_products(_to_blocks(W), _a_blocks(A))
    for l in range(2):
        for t in range(20):
            wv, wb = R._block_value_fracs(*W[l][t])
            av, ab = R._block_value_fracs(*A[t])
            exact = sum((x * y for x, y in zip(wv, av)), Fraction(0)) * wb * ab
            assert Fraction(int(p[l, t]), 1 << 20) == exact and not nan[l, t]
            assert abs(int(p[l, t])) < 1 << 47
    blk = (0, [0] * 16, 0)
    T = hw.MAX_PAIRS + 1
    with pytest.raises(ValueError, match="block pairs"):
        vmac(Blocks(torch.zeros(1, T, dtype=torch.bool), torch.zeros(1, T, 16, dtype=torch.int64),
                    torch.zeros(1, T, dtype=torch.int64)),
             Blocks(torch.zeros(T, dtype=torch.bool), torch.zeros(T, 16, dtype=torch.int64),
                    torch.zeros(T, dtype=torch.int64)))
    del blk


def test_vmac_bad_input():
    rng = random.Random(0)
    w = _rand_block(rng, 0)
    with pytest.raises(ValueError, match="code > 15"):
        vmac(_to_blocks([[(0, [16] + w[1][1:], 1)]]), _a_blocks([w]))
    with pytest.raises(ValueError, match=r"\[L, T\]"):
        vmac(_to_blocks([[w, w]]), _a_blocks([w]))


def test_bus_roundtrip():
    rng = random.Random(3)
    for meta in (0, 1):
        codes = [rng.randrange(256 if meta else 16) for _ in range(16)]
        bus = codes_to_bus(meta, codes)
        assert bus_to_codes(meta, bus) == codes
        assert bus & 0xF if not meta else bus & 0xFF == codes[0]
    assert codes_to_bus(0, [1] + [0] * 15) == 1 and codes_to_bus(0, [0, 2] + [0] * 14) == 0x20
    with pytest.raises(ValueError):
        codes_to_bus(0, [16] * 16)


# --------------------------------------------------------------------------------------------
# Activation quantization unit

def _rand_act_block(rng, S):
    kind = rng.random()
    scale = rng.choice([1e-3, 0.1, 1, 30, 300, 3000]) * S
    row = [f32(rng.gauss(0, 1) * scale) for _ in range(16)]
    if kind < 0.1:
        row[rng.randrange(16)] = rng.choice([math.inf, -math.inf])
    elif kind < 0.15:
        row[rng.randrange(16)] = math.nan
    elif kind < 0.2:
        row = [0.0] * 16
    elif kind < 0.25:
        row = [f32(rng.choice([-1, 1]) * rng.randrange(1, 2 ** 23) * 2.0 ** -149)
               for _ in range(16)]                          # FP32 subnormals
    elif kind < 0.35:                                       # values on exact grid midpoints
        sb = UE4M3.magnitude(rng.randrange(1, 0x7F))
        row = [f32(rng.choice(E2M1.midpoints[:-1] + E2M1.finite_magnitudes) * sb * S
                   * rng.choice([1, -1])) for _ in range(16)]
    return row


@pytest.mark.parametrize("S", [1.0, 2.0 ** -7, f32(0.0123), f32(3.7e-30), 2.0 ** 100])
def test_act_quant_matches_brute_force(S):
    rng = random.Random(int(S * 1000) & 0xFFFF)
    for _ in range(120):
        row = _rand_act_block(rng, S)
        fbar = [rng.choice([0, 0x38, 0x7E, rng.randrange(0x7F)]) for _ in range(16)]
        tau = rng.choice([TAU_FORCE_FP8, 0, rng.getrandbits(20), rng.getrandbits(45),
                          rng.getrandbits(60), TAU_FORCE_NVFP4])
        got = act_quant(row, S, fbar, tau)
        ref = R.ref_act_quant(row, S, fbar, tau)
        assert got == (ref[0], list(ref[1]), ref[2]), (row, fbar, tau)


def _exact_score(row, S, fbar):
    q4 = quantize_nvfp4(torch.tensor([row]), tensor_scale=S)
    q8 = quantize_fp8(torch.tensor([row]), tensor_scale=S)
    sb = R.ref_value(UE4M3, int(q4.scales[0, 0]))
    return sum((R.ref_value(UE4M3, f) * (R.ref_value(E2M1, int(a)) * sb
                                         - 6 * R.ref_value(E4M3, int(b))) ** 2
                for f, a, b in zip(fbar, q4.codes[0, 0], q8.codes[0, 0])), Fraction(0)), q4, q8


def test_act_quant_equals_quantizers_plus_threshold_rule_with_ties():
    """The unit's output equals quantize_nvfp4/quantize_fp8 of the block plus the rule
    FP8 iff I > tau; at I == tau the block stays NVFP4."""
    rng = random.Random(8)
    S = f32(0.037)
    for _ in range(60):
        row = [f32(rng.gauss(0, 1) * rng.choice([0.1, 1, 10])) for _ in range(16)]
        fbar = [rng.randrange(0x7F) for _ in range(16)]
        score, q4, q8 = _exact_score(row, S, fbar)
        I = score * (1 << 29)
        assert I.denominator == 1
        I = int(I)
        for tau, want in ((I, 0), (I - 1, 1), (I + 1, 0)):
            if tau < -1:
                continue
            meta, codes, sc = act_quant(row, S, fbar, tau)
            assert meta == want
            if meta:
                assert codes == q8.codes[0, 0].tolist() and sc == FP8_SCALE_CODE
            else:
                assert codes == q4.codes[0, 0].tolist() and sc == int(q4.scales[0, 0])
        # the vectorised unit reports the same integer score
        _, _, _, s = act_quant_blocks(torch.tensor([row]), S, torch.tensor(fbar, dtype=torch.uint8),
                                      0)
        assert int(s[0]) == I


def test_act_quant_special_blocks():
    S = 1.0
    fb = [0x38] * 16
    # zero block: NVFP4, zero codes, zero scale (I = 0 is not > tau)
    assert act_quant([0.0] * 16, S, fb, 0) == (0, [0] * 16, 0)
    assert act_quant([-0.0] * 16, S, fb, 0) == (0, [0] * 16, 0)
    assert act_quant([0.0] * 16, S, fb, TAU_FORCE_FP8) == (1, [0] * 16, FP8_SCALE_CODE)
    # NaN: always FP8 (even with the force-NVFP4 threshold), NaN code with sign
    row = [1.0] * 16
    row[3], row[4] = math.nan, -math.nan
    meta, codes, sc = act_quant(row, S, fb, TAU_FORCE_NVFP4)
    assert meta == 1 and codes[3] == 0x7F and codes[4] == 0xFF and sc == FP8_SCALE_CODE
    # Inf saturates both candidates (and they agree there)
    row = [math.inf, -math.inf] + [0.0] * 14
    assert act_quant(row, S, fb, TAU_FORCE_NVFP4) == (0, [7, 15] + [0] * 14, 0x7E)
    assert act_quant(row, S, fb, TAU_FORCE_FP8) == (1, [0x7E, 0xFE] + [0] * 14, FP8_SCALE_CODE)
    # saturation beyond 2688·S
    row = [1e9, 2688.0, -3000.0] + [1.0] * 13
    meta, codes, sc = act_quant(row, S, fb, TAU_FORCE_NVFP4)
    assert sc == 0x7E and codes[:3] == [7, 7, 15]


def test_fast_path_equals_code_path():
    g = torch.Generator().manual_seed(1)
    for S in (2.0 ** -6, f32(0.0123), 1.0):
        x = torch.randn(500, 4, 16, generator=g) * torch.rand(500, 4, 1, generator=g) * 5
        x[0, 0] = 0
        x[1, 1, 3] = math.inf
        x[2, 2] = -0.0
        x[3, 3] *= 1e-35
        x[4, 0] = 2688.0 * S * 2
        fb = torch.randint(0, 127, (4, 16), generator=g, dtype=torch.uint8)
        c = _act_candidates(x, S, fb)
        v4, v8, s = act_values_fast(x, S, fb)
        assert torch.equal(c["v4"], v4) and torch.equal(c["v8"], v8)
        assert torch.equal(c["score"], s)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=16, max_size=16),
       st.sampled_from([1.0, 2.0 ** -20, f32(0.3), f32(1e-38), 2.0 ** 60]))
def test_score_difference_bound(row, S):
    """|d| < 2**20 units (the contract's datapath width) for any input, and score < 2**62."""
    x = torch.tensor([row], dtype=torch.float32)
    c = _act_candidates(x, S, torch.full((16,), 0x7E, dtype=torch.uint8))
    d = (c["v4"] - c["v8"]) * 1024
    assert float(d.abs().max()) < 2 ** 20
    assert int(c["score"].max()) < 2 ** 62


def test_tau_to_fixed_preserves_comparison():
    rng = random.Random(6)
    for _ in range(500):
        I = rng.getrandbits(rng.randrange(1, 62))
        t = rng.uniform(0, 2 ** 33) if rng.random() < 0.5 else Fraction(I, 1 << 29)
        t = float(t)
        assert (I > tau_to_fixed(t)) == (Fraction(I, 1 << 29) > Fraction(t))
    assert tau_to_fixed(-0.5) == TAU_FORCE_FP8 and tau_to_fixed(math.inf) == TAU_FORCE_NVFP4


def test_act_quant_bad_input():
    fb = [0] * 16
    with pytest.raises(ValueError, match="tau"):
        act_quant([0.0] * 16, 1.0, fb, -2)
    with pytest.raises(ValueError, match="fbar"):
        act_quant([0.0] * 16, 1.0, [0x7F] * 16, 0)
    with pytest.raises(ValueError, match="tensor_scale"):
        act_quant([0.0] * 16, 0.1, fb, 0)
    with pytest.raises(ValueError, match="16 values"):
        act_quant([0.0] * 15, 1.0, fb, 0)
