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
from .common import BLOCK, FP8_SCALE_CODE

__all__ = ["ActQuantUnit", "in_layout", "out_layout", "SCALE_EXP_BITS", "SCORE_BITS"]

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
        k = self.scale_exp

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

        # ---- stage A: unpack, FP8 candidate
        q8A, x9A, xloA, ekA, sA, zA, infA, nanA = [], [], [], [], [], [], [], []
        for i in range(BLOCK):
            p = f"e{i}_"
            bits = xin.x[i]
            s, ef, fr = bits[31], bits[23:31], bits[:23]
            nan = (ef == 0xFF) & (fr != 0)
            inf = (ef == 0xFF) & (fr == 0)
            zero = (ef == 0) & (fr == 0)
            lz = lzc(m, fr, name=p + "lz")
            X = Signal(24, name=p + "X")
            ex = Signal(signed(10), name=p + "ex")            # exponent of X's MSB
            with m.If(ef == 0):
                m.d.comb += [X.eq((fr << (lz + 1))[:24]), ex.eq(-127 - lz)]
            with m.Else():
                m.d.comb += [X.eq(Cat(fr, 1)), ex.eq(ef - 127)]
            ek = Signal(signed(11), name=p + "ek")
            m.d.comb += ek.eq(ex - k)
            q, r = div3_prefix(m, X[17:24], name=p + "d3")   # quotient bits 23..17 of X/3
            Q = q[:6]
            st = (r != 0) | (X[:17] != 0)
            hi = Q[5]
            sig5 = Mux(hi, Q[1:6], Q[:5])
            stk = Mux(hi, Q[0] | st, st)
            ey = Signal(signed(12), name=p + "ey")            # exponent of x/(6S)'s MSB
            m.d.comb += ey.eq(ek - 3 + hi)
            mag = round_minifloat(m, sig5, stk, ey, man_bits=3, emin=-6, max_code=0x7E,
                                  name=p + "r8")
            q8m = Mux(nan, 0x7F, Mux(inf, 0x7E, Mux(zero, 0, mag)))
            q8A.append(reg(8, p + "q8A", Cat(q8m[:7], s), ldA))
            x9A.append(reg(9, p + "x9A", X[15:24], ldA))
            xloA.append(reg(1, p + "xloA", X[:15] != 0, ldA))
            ekA.append(reg(signed(11), p + "ekA", ek, ldA))
            sA.append(reg(1, p + "sA", s, ldA))
            zA.append(reg(1, p + "zA", zero, ldA))
            infA.append(reg(1, p + "infA", inf, ldA))
            nanA.append(reg(1, p + "nanA", nan, ldA))
        fbarA = reg(128, "fbarA", xin.fbar.as_value(), ldA)
        lastA = reg(1, "lastA", xin.last, ldA)

        # ---- stage B: block scale, NVFP4 candidate
        mags = [Mux(nanA[i], 0, q8A[i][:7]) for i in range(BLOCK)]
        level = 0
        while len(mags) > 1:
            nxt = []
            for j, (a, b) in enumerate(zip(mags[0::2], mags[1::2])):
                mx = Signal(7, name=f"amax{level}_{j}")
                m.d.comb += mx.eq(Mux(a > b, a, b))
                nxt.append(mx)
            mags, level = nxt, level + 1
        sc = Signal(7, name="sc")
        m.d.comb += sc.eq(mags[0])
        ms, shs = ue4m3_fields(sc)
        thr = []
        for j, c in enumerate(E2M1_MIDPOINTS_X4):
            t = Signal(9, name=f"t{j}")
            m.d.comb += t.eq(ms * c)
            thr.append(t)
        q4B = []
        for i in range(BLOCK):
            p = f"e{i}_"
            dlt = Signal(signed(13), name=p + "dlt")     # right shift of X[23:15] giving v
            m.d.comb += dlt.eq(shs - 3 - ekA[i])
            big = (dlt < 0) | infA[i]
            u = Signal(range(10), name=p + "u")
            m.d.comb += u.eq(Mux(dlt > 9, 9, dlt[:4]))
            wide = Signal(18, name=p + "vw")
            m.d.comb += wide.eq(Cat(Const(0, 9), x9A[i]) >> u)
            vint, frac = wide[9:], wide[:9].any() | xloA[i]
            passed = []
            for j, t in enumerate(thr):
                if j % 2:       # tie at an odd midpoint: up to the even code
                    passed.append(vint >= t)
                else:           # tie at an even midpoint: stays on the even code
                    passed.append((vint > t) | ((vint == t) & frac))
            cnt = tree_sum([b.as_unsigned() for b in passed])
            mag4 = Mux(zA[i], 0, Mux(big, 7, cnt))[:3]
            q4B.append(reg(4, p + "q4B", Mux(sc == 0, 0, Cat(mag4, sA[i])), ldB))
        q8B = [reg(8, f"e{i}_q8B", q8A[i], ldB) for i in range(BLOCK)]
        scB = reg(7, "scB", sc, ldB)
        msB = reg(4, "msB", ms, ldB)
        shsB = reg(4, "shsB", shs, ldB)
        nanB = reg(1, "nanB", Cat(*nanA).any(), ldB)
        fbarB = reg(128, "fbarB", fbarA, ldB)
        lastB = reg(1, "lastB", lastA, ldB)

        # ---- stage C: |d_i|
        dC = []
        for i in range(BLOCK):
            p = f"e{i}_"
            _, m2, sh2 = e2m1_fields(q4B[i])
            _, m8, sh8, _ = e4m3_fields(q8B[i])
            a4 = Signal(22, name=p + "a4")
            a8 = Signal(22, name=p + "a8")
            m.d.comb += [a4.eq(((m2 * msB) << (sh2 + shsB))[:22]),
                         a8.eq(((m8 * 3) << (sh8 + 2))[:22])]
            diff = Signal(signed(23), name=p + "diff")
            m.d.comb += diff.eq(a4 - a8)
            dC.append(reg(D_BITS, p + "dC", Mux(diff < 0, -diff, diff)[:D_BITS], ldC))
        q4C = [reg(4, f"e{i}_q4C", q4B[i], ldC) for i in range(BLOCK)]
        q8C = [reg(8, f"e{i}_q8C", q8B[i], ldC) for i in range(BLOCK)]
        scC = reg(7, "scC", scB, ldC)
        nanC = reg(1, "nanC", nanB, ldC)
        fbarC = reg(128, "fbarC", fbarB, ldC)
        lastC = reg(1, "lastC", lastB, ldC)

        # ---- stage D: score I = Σ (M_f·d²) << sh_f
        terms = []
        for i in range(BLOCK):
            p = f"e{i}_"
            mf, shf = ue4m3_fields(fbarC[8 * i:8 * i + 7])
            sq = square(m, dC[i], name=p + "sq")
            term = Signal(2 * D_BITS + 4 + 14, name=p + "fd2")
            m.d.comb += term.eq((sq * mf) << shf)
            terms.append(term)
        score = Signal(62, name="score")
        m.d.comb += score.eq(tree_sum(terms))
        iD = reg(62, "iD", score, ldD)
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
