"""FGMP activation quantization unit (post-processor, SPEC §5, docs/fgmp_rtl.md): one block of
16 FP32 values per cycle -> meta bit, codes and block scale, bit-exact with golden
``hw.act_quant_blocks`` (docs/fgmp.md §4), pipelined for a ≥ 500 MHz clock in the project's
45 nm library (every register-to-register path ≤ 2.0 ns; docs/fgmp_rtl.md has the figures).

The tensor scale is a power of two, S = 2^k (port ``scale_exp`` = k), so every division by S is
an exponent offset. Per block (all integer arithmetic, exact), in eight register stages:

A1 unpack (per element): the FP32 value (subnormals normalised by a leading-zero count) is
   X·2^(e−23), X a 24-bit significand with its MSB set (0 for ±0), ek = e − k. Registered: the
   top 9 bits of X, X[14:0] != 0, ek, sign, NaN, Inf.
A2 FP8 candidate: q8 = E4M3_rne_sat(x/(6S)) = E4M3((X/3)·2^(ek−24)): X/3 needs only the top 7
   bits of X (a 7-step divide-by-3 chain gives 6 quotient bits + remainder; the remainder and
   the low 17 bits of X form the sticky bit), then ``round_minifloat``. ek is clamped to
   [−12, 12] for the NVFP4 candidate (Inf -> 12): outside that range the candidate saturates
   or shifts everything below the grid, so the clamp changes nothing.
B1 block scale: sc = UE4M3_rne_sat(amax/(6S)) = max over non-NaN elements of |q8| (E4M3 and
   UE4M3 share the grid and rounding is monotonic, so rounding the maximum equals the maximum
   of the roundings; Inf -> 0x7E). A 4-ary tournament of all-pairs comparisons (two levels)
   instead of a 4-level binary tree. s_b = M_s·2^(sh_s − 9). The element values wait one cycle
   in the NVFP4 candidate units.
B2 NVFP4 candidate by comparison: v = |x|/(s_b·S/(4·M_s)) = X·2^(ek − sh_s − 12); the E2M1
   midpoints μ·s_b·S are the integers t_j = 4μ_j·M_s (≤ 300) in units of the same power of
   two, so q4 = number of midpoints below v (ties at odd midpoints round up, at even ones down:
   ties to even); the comparisons form a thermometer code, decoded without an adder. v needs
   9 integer bits and a sticky bit; v >= 512 saturates.
C  d_i = 1024·(e2m1(q4)·s_b − 6·e4m3(q8)) = ±((M2·M_s) << (sh2 + sh_s) − (3·M8) << (sh8 + 2));
   q4 and q8 carry x's sign, so |d_i| is the difference of the magnitudes (< 2^20); both
   differences are computed and the non-negative one kept (one carry chain deep).
D1 d_i² per element: the symmetric partial products reduced by a Dadda bit heap
   (rtl/common/adders.py) and one 40-bit carry-select addition.
D2 I = Σ_i (M_f·d_i²) << sh_f with F̄_i = M_f·2^(sh_f − 9) (f_i = 512·F̄_i): the four rows of
   each M_f·d² (shifted by sh_f) of all 16 elements in one bit heap, reduced to two rows
   (carry-save, registered). I < 2^62.
E  decision: I = the two rows added; meta = NaN in block | I > τ_q (signed 64-bit compare,
   from the carry-save rows in parallel with the addition; τ_q = −1 forces FP8). Output
   register: FP8 -> (1, q8, 0x4C), NVFP4 -> (0, q4 nibbles, sc).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import (E2M1_MIDPOINTS_X4, div3_prefix, e2m1_fields, e4m3_fields, lzc,
                      round_minifloat, ue4m3_fields)
from ..common.adders import BitHeap, CarrySelectAdder, square_heap
from ..hierarchy import add_unit
from .common import BLOCK, FP8_SCALE_CODE

__all__ = ["ActQuantUnit", "Fp8Candidate", "BlockScale", "Fp4Candidate", "CandidateDifference",
           "Square", "WeightShift", "BlockScore", "in_layout", "out_layout", "SCALE_EXP_BITS", "SCORE_BITS",
           "STAGES"]

SCALE_EXP_BITS = 9          # signed: S = 2^scale_exp, golden range −149..127
SCORE_BITS = 63             # signed score output: I (< 2^62) or −1 for a NaN block
D_BITS = 20                 # |d_i| < 2^20 (docs/fgmp.md §4 step 4)
EKC_BITS = 5                # ek clamped to [−12, 12] for the NVFP4 candidate
EK_CLAMP = 12
I_BITS = 62                 # I < 2^62

#: register stages, in order (the output register is the last); ``latency`` = len(STAGES)
STAGES = ("A1 unpack", "A2 fp8_candidate", "B1 block_scale", "B2 nvfp4_candidate",
          "C difference", "D1 square", "D2 weighted_sum", "E decision/output")


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


def _reg(m, shape, name, value, load):
    """A ``reset_less`` datapath register loaded with ``value`` when ``load``."""
    r = Signal(shape, name=name, reset_less=True)
    with m.If(load):
        m.d.sync += r.eq(value)
    return r


class Fp8Candidate(wiring.Component):
    """Stages A1 (unpack) and A2 (FP8 candidate) of one element (steps A1, A2 of the module
    docstring); both register banks are loaded by their own enable.

    Ports: ``x`` (FP32 bits), ``k`` (scale_exp), ``ld1``, ``ld2``; after A2: ``q8`` (E4M3 code
    with x's sign; 0x7F NaN, 0x7E for Inf, 0x00/0x80 for ±0), ``x9`` (top 9 bits of the
    significand X; x9[8] = 0 iff x = ±0), ``xlo`` (X[14:0] != 0), ``ekc`` (exponent of X's MSB
    minus k, clamped to [−12, 12]; 12 for Inf).
    """

    def __init__(self):
        super().__init__({"x": In(32), "k": In(signed(SCALE_EXP_BITS)), "ld1": In(1), "ld2": In(1),
                          "q8": Out(8), "x9": Out(9), "xlo": Out(1), "ekc": Out(signed(EKC_BITS))})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        # ---- A1: unpack
        bits = self.x
        s, ef, fr = bits[31], bits[23:31], bits[:23]
        lz = lzc(m, fr, name="lz")
        X = Signal(24, name="X")
        ex = Signal(signed(10), name="ex")            # exponent of X's MSB
        with m.If(ef == 0):
            m.d.comb += [X.eq((fr << (lz + 1))[:24]), ex.eq(-127 - lz)]
        with m.Else():
            m.d.comb += [X.eq(Cat(fr, 1)), ex.eq(ef - 127)]
        ek_next = Signal(signed(11), name="ek_next")
        m.d.comb += ek_next.eq(ex - self.k)
        ld1 = self.ld1
        x9 = _reg(m, 9, "x9_a1", X[15:24], ld1)
        xlo = _reg(m, 1, "xlo_a1", X[:15] != 0, ld1)
        ek = _reg(m, signed(11), "ek_a1", ek_next, ld1)
        sgn = _reg(m, 1, "s_a1", s, ld1)
        nan = _reg(m, 1, "nan_a1", (ef == 0xFF) & (fr != 0), ld1)
        inf = _reg(m, 1, "inf_a1", (ef == 0xFF) & (fr == 0), ld1)

        # ---- A2: q8 = E4M3(x / 6S)
        zero = ~x9[8]
        q, r = div3_prefix(m, x9[2:9], name="d3")    # quotient bits 23..17 of X/3
        Q = q[:6]
        st = (r != 0) | (x9[:2] != 0) | xlo
        hi = Q[5]
        sig5 = Mux(hi, Q[1:6], Q[:5])
        stk = Mux(hi, Q[0] | st, st)
        ey = Signal(signed(12), name="ey")            # exponent of x/(6S)'s MSB
        m.d.comb += ey.eq(ek - 3 + hi)
        mag = round_minifloat(m, sig5, stk, ey, man_bits=3, emin=-6, max_code=0x7E, name="r8")
        q8m = Mux(nan, 0x7F, Mux(inf, 0x7E, Mux(zero, 0, mag)))
        ekc = Signal(signed(EKC_BITS), name="ekc_next")
        m.d.comb += ekc.eq(Mux(inf | (ek > EK_CLAMP), EK_CLAMP,
                               Mux(ek < -EK_CLAMP, -EK_CLAMP, ek[:EKC_BITS])))
        ld2 = self.ld2
        m.d.comb += [self.q8.eq(_reg(m, 8, "q8_a2", Cat(q8m[:7], sgn), ld2)),
                     self.x9.eq(_reg(m, 9, "x9_a2", x9, ld2)),
                     self.xlo.eq(_reg(m, 1, "xlo_a2", xlo, ld2)),
                     self.ekc.eq(_reg(m, signed(EKC_BITS), "ekc_a2", ekc, ld2))]
        return m


def _midpoint_layout():
    """The seven E2M1 midpoints t_j = 4μ_j·M_s (M_s <= 15) without their constant trailing
    zeros: field j holds t_j >> tz_j in exactly as many bits as its range needs, so the
    comparators that use them know the constant bits."""
    return data.StructLayout({f"t{j}": (15 * c >> _tz(c)).bit_length()
                              for j, c in enumerate(E2M1_MIDPOINTS_X4)})


def _tz(c: int) -> int:
    return (c & -c).bit_length() - 1


def _max_all_pairs(m, vals, name):
    """Maximum of a few unsigned values in one comparison level: every pair compared once,
    the value that beats all others (ties to the lower index) selected by an AND-OR."""
    n = len(vals)
    ge = {}
    for i in range(n):
        for j in range(i + 1, n):
            g = Signal(name=f"{name}_ge{i}{j}")
            m.d.comb += g.eq(vals[i] >= vals[j])
            ge[i, j] = g
    out = 0
    for i in range(n):
        win = Const(1, 1)
        for j in range(n):
            if j > i:
                win = win & ge[i, j]
            elif j < i:
                win = win & ~ge[j, i]
        out = out | Mux(win, vals[i], 0)
    res = Signal(len(vals[0]), name=name)
    m.d.comb += res.eq(out)
    return res


class BlockScale(wiring.Component):
    """Stage B1, block level: the block scale sc = max |q8| over non-NaN elements (4-ary
    tournament of all-pairs comparisons), its fields (M_s, sh_s), registered when ``ld``; the
    seven E2M1 midpoints t_j = 4μ_j·M_s from the registered M_s.

    Ports: ``q8`` (16 E4M3 codes), ``ld``; ``sc`` (7 bits), ``ms``, ``shs`` (4 bits each),
    ``t`` (``_midpoint_layout``: t_j without its constant trailing zeros).
    """

    def __init__(self):
        super().__init__({"q8": In(data.ArrayLayout(8, BLOCK)), "ld": In(1),
                          "sc": Out(7), "ms": Out(4), "shs": Out(4),
                          "t": Out(_midpoint_layout())})

    def elaborate(self, platform):
        m = Module()
        mags = []
        for i in range(BLOCK):
            v = Signal(7, name=f"mag{i}")
            m.d.comb += v.eq(Mux(self.q8[i][:7] == 0x7F, 0, self.q8[i][:7]))   # NaN: no amax
            mags.append(v)
        level = 0
        while len(mags) > 1:
            mags = [_max_all_pairs(m, mags[j:j + 4], f"amax{level}_{j // 4}")
                    for j in range(0, len(mags), 4)]
            level += 1
        ms, shs = ue4m3_fields(mags[0])
        sc = _reg(m, 7, "sc_b1", mags[0], self.ld)
        ms_r = _reg(m, 4, "ms_b1", ms, self.ld)
        shs_r = _reg(m, 4, "shs_b1", shs, self.ld)
        m.d.comb += [self.sc.eq(sc), self.ms.eq(ms_r), self.shs.eq(shs_r)]
        for j, c in enumerate(E2M1_MIDPOINTS_X4):
            m.d.comb += self.t[f"t{j}"].eq(ms_r * (c >> _tz(c)))
        return m


class Fp4Candidate(wiring.Component):
    """Stages B1 (hold) and B2 of one element: the stage-A values wait in registers (``ld1``)
    while ``BlockScale`` finds the block scale; then the E2M1 code of x against it, by
    counting the midpoints below v = X·2^(ek − sh_s − 12) (step B2; ties to even), registered
    when ``ld2``.

    Ports: stage-A values ``x9``, ``xlo``, ``ekc``, ``ld1``; at B2: ``sign`` (x's sign),
    ``shs``, ``t``, ``sc_zero`` (block scale 0) from ``BlockScale``, ``ld2``; ``q4`` (E2M1
    code).
    """

    def __init__(self):
        super().__init__({"x9": In(9), "xlo": In(1), "ekc": In(signed(EKC_BITS)), "ld1": In(1),
                          "sign": In(1), "shs": In(4), "t": In(_midpoint_layout()),
                          "sc_zero": In(1), "ld2": In(1), "q4": Out(4)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        x9 = _reg(m, 9, "x9_b1", self.x9, self.ld1)
        xlo = _reg(m, 1, "xlo_b1", self.xlo, self.ld1)
        ek = _reg(m, signed(EKC_BITS), "ekc_b1", self.ekc, self.ld1)
        dlt = Signal(signed(7), name="dlt")      # right shift of X[23:15] giving v
        m.d.comb += dlt.eq(self.shs - 3 - ek)
        big = dlt < 0                            # Inf arrives as ek = 12: always big
        u = Signal(range(10), name="u")
        m.d.comb += u.eq(Mux(dlt > 9, 9, dlt[:4]))
        wide = Signal(18, name="vw")
        m.d.comb += wide.eq(Cat(Const(0, 9), x9) >> u)
        vint, frac = wide[9:], wide[:9].any() | xlo
        p = []
        for j, c in enumerate(E2M1_MIDPOINTS_X4):
            t = self.t[f"t{j}"] << _tz(c)
            b = Signal(name=f"pass{j}")
            if j % 2:       # tie at an odd midpoint: up to the even code
                m.d.comb += b.eq(vint >= t)
            else:           # tie at an even midpoint: stays on the even code
                m.d.comb += b.eq((vint > t) | ((vint == t) & frac))
            p.append(b)
        # t_0 < t_1 < ... < t_6 when M_s >= 1 (M_s = 0 is sc_zero), so p is a thermometer code:
        # the count of passed midpoints is read off without an adder
        cnt = Cat(p[6] | (p[4] & ~p[5]) | (p[2] & ~p[3]) | (p[0] & ~p[1]),
                  p[5] | (p[1] & ~p[3]), p[3])
        mag4 = Mux(~x9[8], 0, Mux(big, 7, cnt))
        q4 = _reg(m, 4, "q4_b2", Mux(self.sc_zero, 0, Cat(mag4, self.sign)), self.ld2)
        m.d.comb += self.q4.eq(q4)
        return m


class CandidateDifference(wiring.Component):
    """Stage C of one element: |d| = |e2m1(q4)·s_b − 6·e4m3(q8)|·1024 as an integer (step C,
    < 2^20), registered when ``ld``. Both differences are formed and the non-negative one is
    kept, so only one carry chain lies on the path.

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
        d48 = Signal(signed(23), name="d48")
        d84 = Signal(signed(23), name="d84")
        m.d.comb += [d48.eq(a4 - a8), d84.eq(a8 - a4)]
        d = _reg(m, D_BITS, "d_c", Mux(d48[22], d84, d48)[:D_BITS], self.ld)
        m.d.comb += self.d.eq(d)
        return m


class Square(wiring.Component):
    """Stage D1 of one element: d² (40 bits; Dadda bit heap of the symmetric partial products
    + one addition), registered when ``ld``. Ports: ``d``, ``ld``, ``sq``."""

    def __init__(self):
        super().__init__({"d": In(D_BITS), "ld": In(1), "sq": Out(2 * D_BITS)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        sq = square_heap(self.d, name="sq").sum(m, platform)
        m.d.comb += self.sq.eq(_reg(m, 2 * D_BITS, "sq_d1", sq, self.ld))
        return m


class WeightShift(wiring.Component):
    """Stage D2 of one element, combinational: d² << sh_f (0..14). A unit of its own so that
    the synthesis flow maps the shifter for its own delay, not merged into the bit heap that
    follows. Ports: ``sq``, ``shf``; ``o``."""

    def __init__(self):
        super().__init__({"sq": In(2 * D_BITS), "shf": In(4), "o": Out(2 * D_BITS + 14)})

    unit_key = ()

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(self.sq << self.shf)
        return m


class BlockScore(wiring.Component):
    """Stages D1 and D2, block level: d_i² (one ``Square`` per element) and the fields of
    F̄_i = M_f·2^(sh_f − 9), registered when ``ld1``; then I = Σ_i (M_f·d_i²) << sh_f as two
    carry-save rows (one bit heap of the four rows M_f[j]·(d_i² << sh_f) << j of every
    element), registered when ``ld2``. Outputs, from the registered rows: ``score`` = I
    (62 bits, < 2^62; one carry-select addition) and ``gt`` = I > ``tau`` (signed 64-bit; the rows and
    ~τ_q in a 3:2 compressor, then the carry of one more carry-select adder, in parallel with the
    score).

    Ports: ``d`` (16 x |d_i|), ``fbar`` (16 UE4M3 codes, 7 bits, aligned with ``d``: bit 7 of
    the wire format is ignored), ``ld1``, ``ld2``, ``tau``; ``score``, ``gt``.
    """

    def __init__(self):
        super().__init__({"d": In(data.ArrayLayout(D_BITS, BLOCK)),
                          "fbar": In(data.ArrayLayout(7, BLOCK)), "ld1": In(1), "ld2": In(1),
                          "tau": In(signed(64)), "score": Out(I_BITS), "gt": Out(1)})

    def elaborate(self, platform):
        m = Module()
        heap = BitHeap(I_BITS, "score")
        for i in range(BLOCK):
            sq = add_unit(m, f"square_{i}", Square(), platform)
            m.d.comb += [sq.d.eq(self.d[i]), sq.ld.eq(self.ld1)]
            mf_next, shf_next = ue4m3_fields(self.fbar[i])
            mf = _reg(m, 4, f"mf{i}_d1", mf_next, self.ld1)
            shf = _reg(m, 4, f"shf{i}_d1", shf_next, self.ld1)
            ws = add_unit(m, f"shift_{i}", WeightShift(), platform)
            m.d.comb += [ws.sq.eq(sq.sq), ws.shf.eq(shf)]
            for j in range(4):
                heap.add_row(m, Mux(mf[j], ws.o, 0), j)
        r0, r1 = heap.reduce(m)
        s = _reg(m, I_BITS, "cs0_d2", r0, self.ld2)
        c = _reg(m, I_BITS, "cs1_d2", r1, self.ld2)
        add = add_unit(m, "score_add", CarrySelectAdder(I_BITS), platform)
        m.d.comb += [add.a.eq(s), add.b.eq(c), self.score.eq(add.sum[:I_BITS])]
        # I > T (T = tau >= 0, 63 bits)  <=>  I + (2^63 − 1 − T) >= 2^63: the carry into bit 63
        # of s + c + ~T, the three operands first compressed to two (s, c < 2^62, so bit 63 of
        # both compressed rows is 0)
        nt = Signal(63, name="not_tau")
        m.d.comb += nt.eq(~self.tau[:63])
        x0 = Signal(63, name="cmp_s")
        x1 = Signal(63, name="cmp_c")
        m.d.comb += [x0.eq(s ^ c ^ nt), x1.eq(((s & c) | (s & nt) | (c & nt)) << 1)]
        cmp = add_unit(m, "tau_compare", CarrySelectAdder(63, sums=False), platform)
        m.d.comb += [cmp.a.eq(x0), cmp.b.eq(x1), self.gt.eq(self.tau[63] | cmp.cout)]
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

    Timing: ``latency`` = 8 register stages (``STAGES``), 8 cycles from the ``i`` handshake to
    ``o.valid``; one block per cycle (``i.ready = ~o.valid | o.ready``; the whole pipeline
    stalls while the output is held). ``scale_exp`` is used in stage A1, ``tau`` in the last.

    Units: per element ``Fp8Candidate`` (A1, A2), ``Fp4Candidate`` (B1 hold, B2),
    ``CandidateDifference`` (C); per block ``BlockScale`` (B1) and ``BlockScore`` (D1 with a
    ``Square`` per element, D2, and the score addition and threshold compare of E); the top
    level holds the control, the registers that carry codes, scale, F̄ and ``last`` along the
    pipeline, and the output register (E).
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
        """Cycles from the ``i`` handshake to ``o.valid`` (one per register stage)."""
        return len(STAGES)

    stages = list(STAGES)
    throughput = "1 block per cycle"
    scale_exp_range = (-149, 127)
    tau_range = (-1, (1 << 63) - 1)
    score_bits = SCORE_BITS
    nan_inf = ("block with NaN -> FP8, NaN codes 0x7F/0xFF at NaN positions, score -1; "
               "Inf saturates (q8 0x7E, q4 6, sc from amax = Inf -> 0x7E)")

    def elaborate(self, platform):
        m = Module()
        xin = self.i.payload
        n_st = len(STAGES)

        # ---- control: v[s] = stage s's registers hold a block; ld[s] loads them
        v = [Signal(name=f"v{s}") for s in range(n_st - 1)]
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        with m.If(en):
            m.d.sync += [v[0].eq(self.i.valid)] + [v[s].eq(v[s - 1]) for s in range(1, n_st - 1)]
        ld = [en & self.i.valid] + [en & v[s] for s in range(n_st - 1)]
        A1, A2, B1, B2, C, D1, D2, E = range(n_st)

        def delay(value, shape, name, first, last_stage):
            """``value`` (valid at stage ``first`` - 1's output) carried to stage
            ``last_stage``'s registers; returns the list of registers, one per stage."""
            out = []
            for st_ in range(first, last_stage + 1):
                value = _reg(m, shape, f"{name}_{STAGES[st_].split()[0].lower()}", value, ld[st_])
                out.append(value)
            return out

        # ---- A1, A2: unpack, FP8 candidate (per element)
        fa = []
        for i in range(BLOCK):
            u = add_unit(m, f"fp8_candidate_{i}", Fp8Candidate(), platform)
            m.d.comb += [u.x.eq(xin.x[i]), u.k.eq(self.scale_exp), u.ld1.eq(ld[A1]),
                         u.ld2.eq(ld[A2])]
            fa.append(u)
        # F̄ (7 bits per element) travels to the score (decoded there at D1), ``last`` to the output
        fbar_in = Cat(*[xin.fbar[i][:7] for i in range(BLOCK)])
        fbar = delay(fbar_in, 7 * BLOCK, "fbar", A1, C)[-1]
        last = delay(xin.last, 1, "last", A1, D2)[-1]

        # ---- B1: block scale (per block), element values held in the NVFP4 candidates
        bs = add_unit(m, "block_scale", BlockScale(), platform)
        m.d.comb += [bs.q8[i].eq(fa[i].q8) for i in range(BLOCK)]
        m.d.comb += bs.ld.eq(ld[B1])
        # q8 travels to the output register
        q8 = [delay(fa[i].q8, 8, f"e{i}_q8", B1, D2) for i in range(BLOCK)]

        # ---- B2: NVFP4 candidate (per element)
        q4_b2 = []
        for i in range(BLOCK):
            u = add_unit(m, f"fp4_candidate_{i}", Fp4Candidate(), platform)
            a = fa[i]
            m.d.comb += [u.x9.eq(a.x9), u.xlo.eq(a.xlo), u.ekc.eq(a.ekc), u.ld1.eq(ld[B1]),
                         u.sign.eq(q8[i][0][7]), u.shs.eq(bs.shs), u.t.eq(bs.t),
                         u.sc_zero.eq(bs.sc == 0), u.ld2.eq(ld[B2])]
            q4_b2.append(u.q4)
        sc = delay(bs.sc, 7, "sc", B2, D2)
        ms_b2 = _reg(m, 4, "ms_b2", bs.ms, ld[B2])
        shs_b2 = _reg(m, 4, "shs_b2", bs.shs, ld[B2])

        # ---- C: |d_i| (per element)
        dC = []
        for i in range(BLOCK):
            u = add_unit(m, f"difference_{i}", CandidateDifference(), platform)
            m.d.comb += [u.q4.eq(q4_b2[i]), u.q8.eq(q8[i][1]), u.ms.eq(ms_b2), u.shs.eq(shs_b2),
                         u.ld.eq(ld[C])]
            dC.append(u.d)
        q4 = [delay(q4_b2[i], 4, f"e{i}_q4", C, D2)[-1] for i in range(BLOCK)]

        # ---- D1, D2: score I = Σ (M_f·d²) << sh_f, and I > τ_q
        score = add_unit(m, "block_score", BlockScore(), platform)
        m.d.comb += [score.d[i].eq(dC[i]) for i in range(BLOCK)]
        m.d.comb += [score.fbar[i].eq(fbar[7 * i:7 * i + 7]) for i in range(BLOCK)]
        m.d.comb += [score.ld1.eq(ld[D1]), score.ld2.eq(ld[D2]), score.tau.eq(self.tau)]

        # ---- E: decision, output register
        q8e = [q8[i][-1] for i in range(BLOCK)]
        nan = Cat(*[q[:7] == 0x7F for q in q8e]).any()
        meta = nan | score.gt
        out = Signal(self.o.payload.shape(), reset_less=True)
        m.d.comb += self.o.payload.eq(out)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(en):
            m.d.sync += self.o.valid.eq(v[-1])
        with m.If(ld[E]):
            m.d.sync += [
                out.meta.eq(meta),
                out.codes.eq(Mux(meta, Cat(*q8e), Cat(*q4))),
                out.scale.eq(Mux(meta, FP8_SCALE_CODE, sc[-1])),
                out.last.eq(last),
            ]
            if self.score_out:
                m.d.sync += out.score.eq(Mux(nan, -1, score.score))
        return m
