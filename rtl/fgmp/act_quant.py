"""FGMP activation quantization unit (post-processor, SPEC §5, docs/fgmp_rtl.md): one block of
16 FP32 values per cycle -> meta bit, codes and block scale, bit-exact with golden
``hw.act_quant_blocks`` (docs/fgmp.md §4).

The tensor scale is a power of two, S = 2^k (port ``scale_exp`` = k), so every division by S is
an exponent offset. Per block (all integer arithmetic, exact):

A. per element: unpack the FP32 value (subnormals normalised by a leading-zero count) to
   X·2^(e−23), X a 24-bit significand with its MSB set, and ek = e − k. FP8 candidate
   q8 = E4M3_rne_sat(x/(6S)) = E4M3((X/3)·2^(ek−24)): X/3 needs only the top 7 bits of X
   (a 7-step divide-by-3 chain gives 6 quotient bits + remainder; the remainder and the low 17
   bits of X form the sticky bit), then ``round_minifloat``.
B. Block scale sc = UE4M3_rne_sat(amax/(6S)) = max over non-NaN elements of |q8| (E4M3 and
   UE4M3 share the grid and rounding is monotonic, so rounding the maximum equals the maximum of
   the roundings; Inf -> 0x7E). s_b = M_s·2^(sh_s − 9). NVFP4 candidate by comparison:
   v = |x|/(s_b·S/(4·M_s)) = X·2^(ek − sh_s − 12); the E2M1 midpoints μ·s_b·S are the integers
   t_j = 4μ_j·M_s (≤ 300) in units of the same 2^(...), so q4 = number of midpoints below v
   (ties at odd midpoints round up, at even ones down: ties to even). v needs 9 integer bits
   and a sticky bit; v >= 512 saturates.
C. d_i = 1024·(e2m1(q4)·s_b − 6·e4m3(q8)) = ±((M2·M_s) << (sh2 + sh_s) − (3·M8) << (sh8 + 2));
   q4 and q8 carry x's sign, so |d_i| is the difference of the magnitudes (< 2^20).
D. I = Σ_i (M_f·|d_i|²) << sh_f with F̄_i = M_f·2^(sh_f − 9) (f_i = 512·F̄_i); squarers use the
   symmetric partial products (rtl/common ``square``); I < 2^62.
E. meta = NaN in block | I > τ_q (signed 64-bit compare; τ_q = −1 forces FP8). Output
   FP8 -> (1, q8, 0x4C), NVFP4 -> (0, q4 nibbles, sc).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import (E2M1_MIDPOINTS_X4, div3_prefix, e2m1_fields, e4m3_fields, lzc,
                      round_minifloat, square, tree_sum, ue4m3_fields)
from ..hierarchy import add_unit
from .common import BLOCK, FP8_SCALE_CODE

__all__ = ["ActQuantUnit", "Fp8Candidate", "BlockScale", "Fp4Candidate", "CandidateDifference",
           "WeightedSquare", "BlockScore", "in_layout", "out_layout", "SCALE_EXP_BITS",
           "SCORE_BITS"]

SCALE_EXP_BITS = 9          # signed: S = 2^scale_exp, golden range −149..127
SCORE_BITS = 63             # signed score output: I (< 2^62) or −1 for a NaN block
D_BITS = 20                 # |d_i| < 2^20 (docs/fgmp.md §4 step 4)


def in_layout():
    """Input payload: 16 FP32 bit patterns, 16 F̄ UE4M3 codes (bit 7 ignored), ``last``
    (passed through unchanged, e.g. to mark the end of a row for the VMAC)."""
    return data.StructLayout({"x": data.ArrayLayout(32, BLOCK), "fbar": data.ArrayLayout(8, BLOCK),
                              "last": 1})


def out_layout(score_out: bool = True):
    """Output payload; its low 138 bits are the VMAC activation payload (codes, scale, meta,
    last)."""
    fields = {"codes": 128, "scale": 8, "meta": 1, "last": 1}
    if score_out:
        fields["score"] = signed(SCORE_BITS)
    return data.StructLayout(fields)


class Fp8Candidate(wiring.Component):
    """Stage A of one element: unpack the FP32 value and round x/(6S) to E4M3 (step A of the
    module docstring). Every output is registered when ``ld``.

    Ports: ``x`` (FP32 bits), ``k`` (scale_exp), ``ld``; ``q8`` (E4M3 code with x's sign;
    0x7F NaN, 0x7E for Inf), ``x9`` (top 9 bits of the significand X), ``xlo`` (X[14:0] != 0),
    ``ek`` (exponent of X's MSB minus k), ``zero``, ``inf``, ``nan`` (x's sign is q8's bit 7).
    """

    def __init__(self):
        super().__init__({"x": In(32), "k": In(signed(SCALE_EXP_BITS)), "ld": In(1),
                          "q8": Out(8), "x9": Out(9), "xlo": Out(1), "ek": Out(signed(11)),
                          "zero": Out(1), "inf": Out(1), "nan": Out(1)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        bits = self.x
        s, ef, fr = bits[31], bits[23:31], bits[:23]
        nan = (ef == 0xFF) & (fr != 0)
        inf = (ef == 0xFF) & (fr == 0)
        zero = (ef == 0) & (fr == 0)
        lz = lzc(m, fr, name="lz")
        X = Signal(24, name="X")
        ex = Signal(signed(10), name="ex")            # exponent of X's MSB
        with m.If(ef == 0):
            m.d.comb += [X.eq((fr << (lz + 1))[:24]), ex.eq(-127 - lz)]
        with m.Else():
            m.d.comb += [X.eq(Cat(fr, 1)), ex.eq(ef - 127)]
        ek = Signal(signed(11), name="ek_next")
        m.d.comb += ek.eq(ex - self.k)
        q, r = div3_prefix(m, X[17:24], name="d3")   # quotient bits 23..17 of X/3
        Q = q[:6]
        st = (r != 0) | (X[:17] != 0)
        hi = Q[5]
        sig5 = Mux(hi, Q[1:6], Q[:5])
        stk = Mux(hi, Q[0] | st, st)
        ey = Signal(signed(12), name="ey")            # exponent of x/(6S)'s MSB
        m.d.comb += ey.eq(ek - 3 + hi)
        mag = round_minifloat(m, sig5, stk, ey, man_bits=3, emin=-6, max_code=0x7E, name="r8")
        q8m = Mux(nan, 0x7F, Mux(inf, 0x7E, Mux(zero, 0, mag)))
        outs = [(self.q8, Cat(q8m[:7], s)), (self.x9, X[15:24]), (self.xlo, X[:15] != 0),
                (self.ek, ek), (self.zero, zero), (self.inf, inf),
                (self.nan, nan)]
        for port, value in outs:
            r = Signal(port.shape(), name=f"{port.name}_reg", reset_less=True)
            with m.If(self.ld):
                m.d.sync += r.eq(value)
            m.d.comb += port.eq(r)
        return m


def _midpoint_layout():
    """The seven E2M1 midpoints t_j = 4μ_j·M_s (M_s <= 15) without their constant trailing
    zeros: field j holds t_j >> tz_j in exactly as many bits as its range needs, so the
    comparators that use them know the constant bits."""
    return data.StructLayout({f"t{j}": (15 * c >> _tz(c)).bit_length()
                              for j, c in enumerate(E2M1_MIDPOINTS_X4)})


def _tz(c: int) -> int:
    return (c & -c).bit_length() - 1


class BlockScale(wiring.Component):
    """Stage B, block level, combinational: the block scale sc = max |q8| over non-NaN
    elements, its fields (M_s, sh_s) and the seven E2M1 midpoints t_j = 4μ_j·M_s.

    Ports: ``q8`` (16 E4M3 codes), ``nan`` (16 flags); ``sc`` (7 bits), ``ms``, ``shs``
    (4 bits each), ``t`` (``_midpoint_layout``: t_j without its constant trailing zeros).
    """

    def __init__(self):
        super().__init__({"q8": In(data.ArrayLayout(8, BLOCK)), "nan": In(BLOCK),
                          "sc": Out(7), "ms": Out(4), "shs": Out(4),
                          "t": Out(_midpoint_layout())})

    def elaborate(self, platform):
        m = Module()
        mags = [Mux(self.nan[i], 0, self.q8[i][:7]) for i in range(BLOCK)]
        level = 0
        while len(mags) > 1:
            nxt = []
            for j, (a, b) in enumerate(zip(mags[0::2], mags[1::2])):
                mx = Signal(7, name=f"amax{level}_{j}")
                m.d.comb += mx.eq(Mux(a > b, a, b))
                nxt.append(mx)
            mags, level = nxt, level + 1
        m.d.comb += self.sc.eq(mags[0])
        ms, shs = ue4m3_fields(self.sc)
        m.d.comb += [self.ms.eq(ms), self.shs.eq(shs)]
        for j, c in enumerate(E2M1_MIDPOINTS_X4):
            m.d.comb += self.t[f"t{j}"].eq(ms * (c >> _tz(c)))
        return m


class Fp4Candidate(wiring.Component):
    """Stage B of one element: the E2M1 code of x against the block scale, by counting the
    midpoints below v = X·2^(ek − sh_s − 12) (step B; ties to even). Registered when ``ld``.

    Ports: stage-A values ``x9``, ``xlo``, ``ek``, ``sign``, ``zero``, ``inf``; ``shs``, ``t``,
    ``sc_zero`` (block scale 0) from ``BlockScale``; ``ld``; ``q4`` (E2M1 code).
    """

    def __init__(self):
        super().__init__({"x9": In(9), "xlo": In(1), "ek": In(signed(11)), "sign": In(1),
                          "zero": In(1), "inf": In(1), "shs": In(4), "t": In(_midpoint_layout()),
                          "sc_zero": In(1), "ld": In(1), "q4": Out(4)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        dlt = Signal(signed(13), name="dlt")     # right shift of X[23:15] giving v
        m.d.comb += dlt.eq(self.shs - 3 - self.ek)
        big = (dlt < 0) | self.inf
        u = Signal(range(10), name="u")
        m.d.comb += u.eq(Mux(dlt > 9, 9, dlt[:4]))
        wide = Signal(18, name="vw")
        m.d.comb += wide.eq(Cat(Const(0, 9), self.x9) >> u)
        vint, frac = wide[9:], wide[:9].any() | self.xlo
        passed = []
        for j, c in enumerate(E2M1_MIDPOINTS_X4):
            t = self.t[f"t{j}"] << _tz(c)
            if j % 2:       # tie at an odd midpoint: up to the even code
                passed.append(vint >= t)
            else:           # tie at an even midpoint: stays on the even code
                passed.append((vint > t) | ((vint == t) & frac))
        cnt = tree_sum([b.as_unsigned() for b in passed])
        mag4 = Mux(self.zero, 0, Mux(big, 7, cnt))[:3]
        q4 = Signal(4, name="q4_reg", reset_less=True)
        with m.If(self.ld):
            m.d.sync += q4.eq(Mux(self.sc_zero, 0, Cat(mag4, self.sign)))
        m.d.comb += self.q4.eq(q4)
        return m


class CandidateDifference(wiring.Component):
    """Stage C of one element: |d| = |e2m1(q4)·s_b − 6·e4m3(q8)|·1024 as an integer (step C,
    < 2^20), registered when ``ld``.

    Ports: ``q4``, ``q8``, ``ms``, ``shs`` (block scale fields), ``ld``; ``d``.
    """

    def __init__(self):
        super().__init__({"q4": In(4), "q8": In(8), "ms": In(4), "shs": In(4), "ld": In(1),
                          "d": Out(D_BITS)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        _, m2, sh2 = e2m1_fields(self.q4)
        _, m8, sh8, _ = e4m3_fields(self.q8)
        a4 = Signal(22, name="a4")
        a8 = Signal(22, name="a8")
        m.d.comb += [a4.eq(((m2 * self.ms) << (sh2 + self.shs))[:22]),
                     a8.eq(((m8 * 3) << (sh8 + 2))[:22])]
        diff = Signal(signed(23), name="diff")
        m.d.comb += diff.eq(a4 - a8)
        d = Signal(D_BITS, name="d_reg", reset_less=True)
        with m.If(self.ld):
            m.d.sync += d.eq(Mux(diff < 0, -diff, diff)[:D_BITS])
        m.d.comb += self.d.eq(d)
        return m


class WeightedSquare(wiring.Component):
    """Stage D of one element, combinational: (M_f·d²) << sh_f with F̄ = M_f·2^(sh_f − 9)
    (step D; symmetric-partial-product squarer). Ports: ``d``, ``fbar`` (the 7 bits of the
    UE4M3 code; bit 7 of the wire format is ignored), ``term``.
    """

    TERM_BITS = 2 * D_BITS + 4 + 14

    def __init__(self):
        super().__init__({"d": In(D_BITS), "fbar": In(7), "term": Out(self.TERM_BITS)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        mf, shf = ue4m3_fields(self.fbar)
        sq = square(m, self.d, name="sq")
        m.d.comb += self.term.eq((sq * mf) << shf)
        return m


class BlockScore(wiring.Component):
    """Stage D, block level: I = Σ_i (M_f·d_i²) << sh_f (one ``WeightedSquare`` per element and
    an adder tree), registered when ``ld``. Ports: ``d`` (16 x |d_i|), ``fbar`` (16 UE4M3 codes,
    7 bits: bit 7 of the wire format is ignored), ``ld``, ``score`` (62 bits, < 2^62).
    Measured: the squares as separate units synthesize 4 % smaller than merged with the tree."""

    def __init__(self):
        super().__init__({"d": In(data.ArrayLayout(D_BITS, BLOCK)),
                          "fbar": In(data.ArrayLayout(7, BLOCK)), "ld": In(1), "score": Out(62)})

    def elaborate(self, platform):
        m = Module()
        terms = []
        for i in range(BLOCK):
            sq = add_unit(m, f"square_{i}", WeightedSquare(), platform)
            m.d.comb += [sq.d.eq(self.d[i]), sq.fbar.eq(self.fbar[i])]
            terms.append(sq.term)
        score = Signal(62, name="score_reg", reset_less=True)
        with m.If(self.ld):
            m.d.sync += score.eq(tree_sum(terms))
        m.d.comb += self.score.eq(score)
        return m


class ActQuantUnit(wiring.Component):
    """Activation quantization unit: FP32 block in, FGMP block (meta, codes, scale) out.

    Parameters (keyword-only):
        score_out: add the integer score I (signed 63 bits; −1 for a block containing NaN) to
            the output payload (for verification and threshold statistics).

    Ports:
        ``i``: stream of ``in_layout()`` (x[16] FP32, fbar[16] UE4M3 codes, last).
        ``o``: stream of ``out_layout()`` (codes, scale, meta, last[, score]).
        ``scale_exp``: signed 9-bit k, tensor scale S = 2^k (golden range −149..127).
        ``tau``: signed 64-bit threshold τ_q (−1 = all FP8, 2^63 − 1 = all non-NaN NVFP4).
        ``scale_exp`` and ``tau`` are configuration: hold them stable while a block that uses
        them is in the pipeline (from its ``i`` handshake to its ``o`` handshake).

    Timing: 5 register stages, ``latency`` = 5 cycles from the ``i`` handshake to ``o.valid``;
    one block per cycle (``i.ready = ~o.valid | o.ready``; the whole pipeline stalls while the
    output is held).

    Units: per element ``Fp8Candidate`` (A), ``Fp4Candidate`` (B), ``CandidateDifference`` (C);
    per block ``BlockScale`` (B) and ``BlockScore`` (D, a ``WeightedSquare`` per element);
    the top level holds the control, the registers that carry codes, scale, F̄ and ``last``
    along the pipeline, and the decision (E).
    """

    def __init__(self, *, score_out: bool = True):
        if not isinstance(score_out, bool):
            raise ValueError(f"score_out must be a bool, got {score_out!r}")
        self.score_out = score_out
        super().__init__({
            "i": In(stream.Signature(in_layout())),
            "o": Out(stream.Signature(out_layout(score_out))),
            "scale_exp": In(signed(SCALE_EXP_BITS)),
            "tau": In(signed(64)),
        })

    metadata_properties = ("score_out", "stages", "throughput", "scale_exp_range",
                           "tau_range", "score_bits", "nan_inf")

    @property
    def latency(self) -> int:
        return 5

    stages = ("fp8_candidate", "nvfp4_candidate", "difference", "score", "decision")
    throughput = "1 block per cycle"
    scale_exp_range = (-149, 127)
    tau_range = (-1, (1 << 63) - 1)
    score_bits = SCORE_BITS
    nan_inf = ("block with NaN -> FP8, NaN codes 0x7F/0xFF at NaN positions, score -1; "
               "Inf saturates (q8 0x7E, q4 6, sc from amax = Inf -> 0x7E)")

    def elaborate(self, platform):
        m = Module()
        xin = self.i.payload

        # ---- control
        vA, vB, vC, vD = (Signal(name=f"v{s}") for s in "ABCD")
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        with m.If(en):
            m.d.sync += [vA.eq(self.i.valid), vB.eq(vA), vC.eq(vB), vD.eq(vC)]
        ldA, ldB, ldC, ldD = en & self.i.valid, en & vA, en & vB, en & vC

        def reg(shape, name, value, load):
            r = Signal(shape, name=name, reset_less=True)
            with m.If(load):
                m.d.sync += r.eq(value)
            return r

        # ---- stage A: unpack, FP8 candidate (per element)
        fa = []
        for i in range(BLOCK):
            u = add_unit(m, f"fp8_candidate_{i}", Fp8Candidate(), platform)
            m.d.comb += [u.x.eq(xin.x[i]), u.k.eq(self.scale_exp), u.ld.eq(ldA)]
            fa.append(u)
        fbarA = reg(128, "fbarA", xin.fbar.as_value(), ldA)
        lastA = reg(1, "lastA", xin.last, ldA)

        # ---- stage B: block scale, NVFP4 candidate
        bs = add_unit(m, "block_scale", BlockScale(), platform)
        m.d.comb += [bs.q8[i].eq(fa[i].q8) for i in range(BLOCK)]
        m.d.comb += bs.nan.eq(Cat(*[u.nan for u in fa]))
        q4B = []
        for i in range(BLOCK):
            u = add_unit(m, f"fp4_candidate_{i}", Fp4Candidate(), platform)
            a = fa[i]
            m.d.comb += [u.x9.eq(a.x9), u.xlo.eq(a.xlo), u.ek.eq(a.ek), u.sign.eq(a.q8[7]),
                         u.zero.eq(a.zero), u.inf.eq(a.inf), u.shs.eq(bs.shs), u.t.eq(bs.t),
                         u.sc_zero.eq(bs.sc == 0), u.ld.eq(ldB)]
            q4B.append(u.q4)
        q8B = [reg(8, f"e{i}_q8B", fa[i].q8, ldB) for i in range(BLOCK)]
        scB = reg(7, "scB", bs.sc, ldB)
        msB = reg(4, "msB", bs.ms, ldB)
        shsB = reg(4, "shsB", bs.shs, ldB)
        nanB = reg(1, "nanB", Cat(*[u.nan for u in fa]).any(), ldB)
        fbarB = reg(128, "fbarB", fbarA, ldB)
        lastB = reg(1, "lastB", lastA, ldB)

        # ---- stage C: |d_i|
        dC = []
        for i in range(BLOCK):
            u = add_unit(m, f"difference_{i}", CandidateDifference(), platform)
            m.d.comb += [u.q4.eq(q4B[i]), u.q8.eq(q8B[i]), u.ms.eq(msB), u.shs.eq(shsB),
                         u.ld.eq(ldC)]
            dC.append(u.d)
        q4C = [reg(4, f"e{i}_q4C", q4B[i], ldC) for i in range(BLOCK)]
        q8C = [reg(8, f"e{i}_q8C", q8B[i], ldC) for i in range(BLOCK)]
        scC = reg(7, "scC", scB, ldC)
        nanC = reg(1, "nanC", nanB, ldC)
        fbarC = reg(128, "fbarC", fbarB, ldC)
        lastC = reg(1, "lastC", lastB, ldC)

        # ---- stage D: score I = Σ (M_f·d²) << sh_f
        sc_unit = add_unit(m, "block_score", BlockScore(), platform)
        m.d.comb += [sc_unit.d[i].eq(dC[i]) for i in range(BLOCK)]
        m.d.comb += [sc_unit.fbar[i].eq(fbarC[8 * i:8 * i + 7]) for i in range(BLOCK)]
        m.d.comb += sc_unit.ld.eq(ldD)
        iD = sc_unit.score
        q4D = [reg(4, f"e{i}_q4D", q4C[i], ldD) for i in range(BLOCK)]
        q8D = [reg(8, f"e{i}_q8D", q8C[i], ldD) for i in range(BLOCK)]
        scD = reg(7, "scD", scC, ldD)
        nanD = reg(1, "nanD", nanC, ldD)
        lastD = reg(1, "lastD", lastC, ldD)

        # ---- stage E: decision, output register
        gt = self.tau[63] | (iD > self.tau[:63])
        meta = nanD | gt
        out = Signal(self.o.payload.shape(), reset_less=True)
        m.d.comb += self.o.payload.eq(out)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(en):
            m.d.sync += self.o.valid.eq(vD)
        with m.If(en & vD):
            m.d.sync += [
                out.meta.eq(meta),
                out.codes.eq(Mux(meta, Cat(*q8D), Cat(*q4D))),
                out.scale.eq(Mux(meta, FP8_SCALE_CODE, scD)),
                out.last.eq(lastD),
            ]
            if self.score_out:
                m.d.sync += out.score.eq(Mux(nanD, -1, iD))
        return m
