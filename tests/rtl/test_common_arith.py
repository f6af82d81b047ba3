"""rtl/common (shared arithmetic) in Amaranth's Python simulator against the golden integer
algorithms: FP32 adder (specials x specials, cancellation, ties at every exponent distance,
subnormals, overflow, random) vs ``hw.f32_add_bits``; FP32 rounding vs
``hw.round_to_f32_bits`` in the VMAC's range and the adder's full range; small-float rounding
vs ``golden.formats.encode`` (every significand x every exponent around the format's range);
leading-zero count, squarer, divide-by-3 prefix and signed sum exhaustively or at random;
carry-save reduction; the pipelined final rounding of the exact accumulators (``F32FixedRound``,
with and without a start value, the sum split into random carry-save words) vs
``hw.f32_add_fixed_bits``."""
import random

import pytest
from amaranth import Cat, Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.formats import E2M1, E4M3
from rtl.common import (F32Adder, F32FixedRound, F32Round, MinifloatRound, csa_reduce,
                        div3_prefix, lzc, signed_sum, square)
from verif.amaranth_sim import run_clocked, run_comb
from verif.vectors.fgmp import (f32_add_expected, f32_add_pairs, f32_fixed_cases,
                                f32_round_cases, minifloat_round_cases)


def _diff(vectors, got, want, fmt=hex):
    bad = [(v, fmt(g), fmt(w)) for v, g, w in zip(vectors, got, want) if g != w]
    return f"{len(bad)} of {len(want)} differ, first: {bad[:5]}"


def test_f32_adder_matches_golden():
    rng = random.Random(11)
    pairs = f32_add_pairs(rng, n_random=1200)
    want = f32_add_expected(pairs)
    dut = F32Adder()

    def drive(ctx, p):
        ctx.set(dut.a, p[0])
        ctx.set(dut.b, p[1])

    got = run_comb(dut, drive, lambda ctx: ctx.get(dut.o), pairs)
    assert got == want, _diff([(hex(a), hex(b)) for a, b in pairs], got, want)
    # the corner classes really occur
    res = set(want)
    assert 0x7FC00000 in res and 0x7F800000 in res and 0xFF800000 in res and 0x80000000 in res
    assert any(0 < (w & 0x7FFFFFFF) < 0x00800000 for w in want)          # subnormal results


@pytest.mark.parametrize("width,exp_min,exp_max", [
    (48, -36, 8),          # the VMAC's P rounding: no subnormal / overflow logic built
    (57, -149, 104),       # the adder's range: subnormals and overflow
    (8, -160, 130),        # short significand (padded), both ends
])
def test_f32_round_matches_golden(width, exp_min, exp_max):
    rng = random.Random(width)
    cases, want = f32_round_cases(rng, width, exp_min, exp_max, n_random=1500)
    dut = F32Round(width=width, exp_min=exp_min, exp_max=exp_max)

    def drive(ctx, c):
        ctx.set(dut.mag, c[0])
        ctx.set(dut.exp, c[1])
        ctx.set(dut.sign, c[2])
        ctx.set(dut.zero_sign, c[3])

    got = run_comb(dut, drive, lambda ctx: ctx.get(dut.o), cases)
    assert got == want, _diff(cases, got, want)


@pytest.mark.parametrize("fmt,width,emin", [(E4M3, 5, -6), (E4M3, 8, -6), (E2M1, 4, 0)])
def test_minifloat_round_matches_golden_encoder(fmt, width, emin):
    rng = random.Random(3)
    cases, want = minifloat_round_cases(rng, width=width, n_random=1500, emin=emin, fmt=fmt)
    dut = MinifloatRound(width=width, man_bits=fmt.man_bits, emin=emin, max_code=fmt.max_code)

    def drive(ctx, c):
        ctx.set(dut.sig, c[0])
        ctx.set(dut.sticky, c[1])
        ctx.set(dut.e, c[2])

    got = run_comb(dut, drive, lambda ctx: ctx.get(dut.o), cases)
    assert got == want, _diff(cases, got, want, fmt=str)


class _Helpers(wiring.Component):
    """lzc(20 bits), square(n bits), div3_prefix(7 bits), signed_sum(4 x 6 bits)."""

    def __init__(self, sq_bits):
        self.sq_bits = sq_bits
        super().__init__({
            "lz_in": In(20), "lz_out": Out(5),
            "sq_in": In(sq_bits), "sq_out": Out(2 * sq_bits),
            "d3_in": In(7), "d3_q": Out(7), "d3_r": Out(2),
            "ss_mag": In(24), "ss_neg": In(4), "ss_out": Out(signed(10)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.lz_out.eq(lzc(m, self.lz_in))
        m.d.comb += self.sq_out.eq(square(m, self.sq_in))
        q, r = div3_prefix(m, self.d3_in)
        m.d.comb += [self.d3_q.eq(q), self.d3_r.eq(r)]
        mags = [self.ss_mag[6 * i:6 * i + 6] for i in range(4)]
        m.d.comb += self.ss_out.eq(signed_sum(m, mags, [self.ss_neg[i] for i in range(4)]))
        return m


def test_integer_helpers():
    rng = random.Random(5)
    dut = _Helpers(sq_bits=20)
    lz_vals = [0, 1, (1 << 20) - 1] + [1 << i for i in range(20)] + \
        [rng.getrandbits(rng.randint(1, 20)) for _ in range(300)]
    sq_vals = list(range(300)) + [(1 << 20) - 1] + [rng.getrandbits(20) for _ in range(300)]
    d3_vals = list(range(128))
    ss_vals = [(rng.getrandbits(24), rng.getrandbits(4)) for _ in range(300)] + \
        [((1 << 24) - 1, 15), ((1 << 24) - 1, 0), (0, 15)]
    n = max(len(lz_vals), len(sq_vals), len(d3_vals), len(ss_vals))
    vecs = [(lz_vals[i % len(lz_vals)], sq_vals[i % len(sq_vals)], d3_vals[i % len(d3_vals)],
             ss_vals[i % len(ss_vals)]) for i in range(n)]

    def drive(ctx, v):
        ctx.set(dut.lz_in, v[0])
        ctx.set(dut.sq_in, v[1])
        ctx.set(dut.d3_in, v[2])
        ctx.set(dut.ss_mag, v[3][0])
        ctx.set(dut.ss_neg, v[3][1])

    def read(ctx):
        return (ctx.get(dut.lz_out), ctx.get(dut.sq_out), ctx.get(dut.d3_q), ctx.get(dut.d3_r),
                ctx.get(dut.ss_out))

    got = run_comb(dut, drive, read, vecs)
    for (lzv, sqv, d3v, (mag, neg)), (lz, sq, q, r, ss) in zip(vecs, got):
        assert lz == 20 - lzv.bit_length(), (lzv, lz)
        assert sq == sqv * sqv, (sqv, sq)
        assert (q, r) == divmod(d3v, 3), (d3v, q, r)
        want = sum((-1 if (neg >> i) & 1 else 1) * ((mag >> (6 * i)) & 63) for i in range(4))
        assert ss == want, (hex(mag), bin(neg), ss, want)


# The Amaranth simulator needs minutes for the wide 5-row and start-value rounders; the generated
# Verilog of both VMACs (and acc_init) runs them in make test's cocotb set, so they are slow here.
@pytest.mark.parametrize("width,z_exp,rows,start,scale", [
    (64, -20, 2, False, 1),   # vmac: 64-bit two's complement carry-save accumulator
    pytest.param(61, -16, 5, False, 9, marks=pytest.mark.slow),  # fp8_vmac: 9·(acc − N·(2^36 − 1)), 5 rows
    pytest.param(64, -20, 2, True, 1, marks=pytest.mark.slow),   # acc_init
    pytest.param(61, -16, 5, True, 9, marks=pytest.mark.slow),
])
def test_f32_fixed_round_matches_golden(width, z_exp, rows, start, scale):
    rng = random.Random(width + rows + start)
    cases, want = f32_fixed_cases(rng, width, z_exp, start, n_random=300, scale=scale)
    dut = F32FixedRound(width=width, z_exp=z_exp, rows=rows, start=start, scale=scale)
    split = []
    for z, init, nan in cases:          # z/scale as `rows` random words (sum mod 2^width)
        z //= scale
        words = [rng.getrandbits(width) for _ in range(rows - 1)]
        split.append(words + [(z - sum(words)) % (1 << width)])
    got = []
    n_st = len(dut.stage_names)

    async def bench(ctx):
        ctx.set(dut.ld, (1 << n_st) - 1)
        ctx.set(dut.capture, 1)
        outs = []
        for i in range(len(cases) + n_st):
            if i < len(cases):
                for j, word in enumerate(split[i]):
                    ctx.set(dut.z[j], word)
                if start:
                    ctx.set(dut.init, cases[i][1])
                ctx.set(dut.nan, cases[i][2])
            await ctx.tick()
            outs.append(ctx.get(dut.o))
        got.extend(outs[n_st - 1:n_st - 1 + len(cases)])

    run_clocked(dut, bench)
    assert got == want, _diff([(z, hex(i)) for z, i, _ in cases], got, want)
    # the interesting classes occur
    assert 0 in want and 0x7FC00000 in want
    if start:
        assert any(i == w for (_, i, _), w in zip(cases, want) if i not in (0, 0x80000000))


class _Csa(wiring.Component):
    def __init__(self, n, width, n_cin):
        self.n, self.width, self.n_cin = n, width, n_cin
        super().__init__({"x": In(n * width), "cin": In(max(1, n_cin)), "s": Out(width),
                          "c": Out(width)})

    def elaborate(self, platform):
        m = Module()
        rows = [self.x[self.width * i:self.width * (i + 1)] for i in range(self.n)]
        s, c = csa_reduce(m, rows, self.width, carry_in=[self.cin[i] for i in range(self.n_cin)])
        m.d.comb += [self.s.eq(s), self.c.eq(c)]
        return m


@pytest.mark.parametrize("n,n_cin", [(1, 0), (2, 2), (3, 1), (4, 2), (9, 0), (18, 1), (5, 4)])
def test_csa_reduce(n, n_cin):
    rng = random.Random(n)
    W = 12
    dut = _Csa(n, W, n_cin)
    vecs = [(rng.getrandbits(n * W), rng.getrandbits(max(1, n_cin))) for _ in range(300)]
    vecs += [((1 << (n * W)) - 1, (1 << max(1, n_cin)) - 1), (0, 0)]

    def drive(ctx, v):
        ctx.set(dut.x, v[0])
        ctx.set(dut.cin, v[1])

    got = run_comb(dut, drive, lambda ctx: (ctx.get(dut.s) + ctx.get(dut.c)) % (1 << W), vecs)
    want = [(sum((x >> (W * i)) & ((1 << W) - 1) for i in range(n))
             + sum((ci >> i) & 1 for i in range(n_cin))) % (1 << W) for x, ci in vecs]
    assert got == want


@pytest.mark.parametrize("kwargs,match", [
    ({"width": 0}, "width"), ({"width": 65}, "width"), ({"exp_min": 5, "exp_max": 4}, "range"),
])
def test_f32_round_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        F32Round(**kwargs)


class _Adders(wiring.Component):
    """rtl/common/adders.py: a 20-bit square through its Dadda heap + carry-select adder, a
    heap of 7 rows of 9 bits at offsets 0..6, a 62-bit carry-select sum and a 63-bit carry."""

    def __init__(self):
        super().__init__({"v": In(20), "rows": In(63), "a": In(62), "b": In(62),
                          "sq": Out(40), "hsum": Out(16), "sum": Out(63), "cout": Out(1)})

    def elaborate(self, platform):
        from rtl.common.adders import BitHeap, CarrySelectAdder, square_heap
        from rtl.hierarchy import add_unit
        m = Module()
        m.d.comb += self.sq.eq(square_heap(self.v).sum(m, platform))
        heap = BitHeap(16, "h")
        for i in range(7):
            heap.add_row(m, self.rows[9 * i:9 * i + 9], i)
        m.d.comb += self.hsum.eq(heap.sum(m, platform, block=5))
        add = add_unit(m, "add", CarrySelectAdder(62), platform)
        cy = add_unit(m, "carry", CarrySelectAdder(63, sums=False), platform)
        m.d.comb += [add.a.eq(self.a), add.b.eq(self.b), self.sum.eq(add.sum),
                     cy.a.eq(Cat(self.a, 0)), cy.b.eq(Cat(self.b, self.rows[0])),
                     self.cout.eq(cy.cout)]
        return m


def test_bit_heaps_and_carry_select_adders():
    rng = random.Random(12)
    top = (1 << 62) - 1
    vecs = [(0, 0, 0, 0), ((1 << 20) - 1, (1 << 63) - 1, top, top), (1, 1, top, 1), (2, 2, 1, top)]
    vecs += [(rng.getrandbits(20), rng.getrandbits(63), rng.getrandbits(62), rng.getrandbits(62))
             for _ in range(100)]
    # carries that run through whole blocks
    vecs += [(0, r, (1 << k) - 1, 1) for k in range(0, 63, 5) for r in (0, 1)]
    dut = _Adders()

    def drive(ctx, v):
        for port, x in zip((dut.v, dut.rows, dut.a, dut.b), v):
            ctx.set(port, x)

    got = run_comb(dut, drive, lambda ctx: (ctx.get(dut.sq), ctx.get(dut.hsum), ctx.get(dut.sum),
                                            ctx.get(dut.cout)), vecs)
    for (v, rows, a, b), (sq, hs, s, c) in zip(vecs, got):
        want_h = sum(((rows >> (9 * i)) & 511) << i for i in range(7))
        assert (sq, hs, s) == (v * v, want_h % (1 << 16), a + b), (v, rows, a, b)
        assert c == (a + (b | (rows & 1) << 62)) >> 63, (a, b, rows & 1)


def test_dadda_levels():
    from rtl.common.adders import dadda_levels
    assert [dadda_levels(h) for h in (1, 2, 3, 4, 6, 7, 9, 10, 63, 64)] == [0, 0, 1, 2, 3, 4, 4, 5, 9, 10]


@pytest.mark.parametrize("kwargs,match", [
    ({"width": 7, "z_exp": -20}, "width"), ({"width": 64, "z_exp": 3}, "z_exp"),
    ({"width": 64, "z_exp": -20, "rows": 0}, "rows"),
    ({"width": 64, "z_exp": -20, "scale": 4}, "scale"),
])
def test_f32_fixed_round_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        F32FixedRound(**kwargs)
