"""IEEE 754 binary32 pieces: rounding of an exact integer·2^e to FP32 and FP32 addition.

Both follow the golden integer algorithms bit for bit (golden/fgmp/hw.py ``round_to_f32_bits``,
``f32_add_bits``; docs/fgmp.md §3):

* ``f32_round``: value (−1)^s·mag·2^exp, mag an unsigned integer. Round to nearest, ties to
  even, once; gradual underflow (subnormals); overflow to ±Inf; mag = 0 gives a zero whose sign
  is ``zero_sign``. Hardware: leading-zero count, normalising left shift, (denormalising right
  shift), RNE increment that carries into the exponent field. The subnormal and overflow logic
  is only built when the caller's exponent range can reach it.
* ``F32FixedRound``: init + z·2^z_exp for a wide exact integer z (an exact accumulator) and an
  optional FP32 start value, rounded once (golden ``f32_add_fixed_bits``), pipelined.
* ``f32_add``: a + b on bit patterns. Operands are aligned to the smaller exponent with the
  exponent difference capped at 32 (beyond that the smaller operand is below a quarter ulp of the
  larger, normal, one and the result is the larger operand), added exactly (57-bit magnitude)
  and rounded once by ``f32_round``. NaN operand → 0x7FC00000; Inf + −Inf → 0x7FC00000;
  Inf + x → Inf; an exact zero sum is +0 except (−0) + (−0) = −0. No FTZ/DAZ.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.hdl import Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .arith import clog2, csa, csa_reduce, fast_add, lzc

__all__ = ["F32_QNAN", "F32_PINF", "f32_round", "f32_add", "F32Adder", "F32Round",
           "ADD_FAR_LIMIT", "F32FixedRound", "stage_names_fixed_round"]

F32_QNAN = 0x7FC00000
F32_PINF = 0x7F800000
#: exponent difference beyond which a + b = the larger operand (golden: 32)
ADD_FAR_LIMIT = 32

_EW = 12     # signed width of exponent arithmetic (|exponents| < 2**10 everywhere here)


def f32_round(m: Module, mag, exp, sign, *, exp_min: int, exp_max: int, zero_sign=0,
              name: str = "rnd") -> Signal:
    """FP32 bit pattern of (−1)^sign·mag·2^exp, rounded once (RNE).

    ``mag``: unsigned value (any width W); ``exp``: signed value, the weight of mag's LSB, known
    to lie in [exp_min, exp_max] (Python ints); ``sign``, ``zero_sign``: 1-bit values.
    Subnormal results are handled iff exp_min < −126 (a result exponent below −126 is
    reachable); overflow to Inf iff exp_max + W − 1 >= 127.
    """
    mag = Value.cast(mag)
    W = len(mag)
    pad = max(0, 26 - W)
    Wp = W + pad
    magp = Cat(Const(0, pad), mag) if pad else mag
    lz = lzc(m, magp, name=f"{name}_lz")
    norm = Signal(Wp, name=f"{name}_norm")
    m.d.comb += norm.eq((magp << lz)[:Wp])
    E = Signal(signed(_EW), name=f"{name}_e")          # exponent of the leading one
    m.d.comb += E.eq(exp + (W - 1) - lz)
    top = norm[Wp - 25:]                                 # 24 result bits + guard
    st0 = norm[:Wp - 25].any() if Wp > 25 else Const(0, 1)
    sub_possible = exp_min < -126
    ovf_possible = exp_max + W - 1 >= 127

    q = Signal(24, name=f"{name}_q")
    guard = Signal(name=f"{name}_g")
    sticky = Signal(name=f"{name}_s")
    ebase = Signal(_EW, name=f"{name}_ebase")          # exponent field minus 1 of a normal q
    if sub_possible:
        dsf = Signal(signed(_EW), name=f"{name}_dsf")
        ds = Signal(range(26), name=f"{name}_ds")       # denormalising shift, capped at 25
        m.d.comb += [
            dsf.eq(-126 - E),
            ds.eq(Mux(dsf <= 0, 0, Mux(dsf > 25, 25, dsf[:5]))),
        ]
        wide = Signal(50, name=f"{name}_wide")
        m.d.comb += wide.eq(Cat(Const(0, 25), top) >> ds)
        m.d.comb += [q.eq(wide[26:50]), guard.eq(wide[25]), sticky.eq(wide[:25].any() | st0),
                     ebase.eq(Mux(E < -126, 0, E + 126))]
    else:
        m.d.comb += [q.eq(top[1:]), guard.eq(top[0]), sticky.eq(st0), ebase.eq(E + 126)]
    up = guard & (sticky | q[0])
    qr = Signal(25, name=f"{name}_qr")
    m.d.comb += qr.eq(q + up)
    # q carries its hidden bit: adding it to (field − 1) << 23 gives the field, and a rounding
    # carry to 2^24 (or from the largest subnormal to 2^23) increments the exponent field.
    total = Signal(_EW + 23, name=f"{name}_sum")
    m.d.comb += total.eq((ebase << 23) + qr)
    body = Signal(31, name=f"{name}_body")
    if ovf_possible:
        m.d.comb += body.eq(Mux(total >= (255 << 23), F32_PINF, total[:31]))
    else:
        m.d.comb += body.eq(total[:31])
    out = Signal(32, name=name)
    zero = mag == 0
    m.d.comb += out.eq(Mux(zero, Cat(Const(0, 31), zero_sign), Cat(body, sign)))
    return out


def f32_add(m: Module, a, b, name: str = "fadd") -> Signal:
    """FP32 bit pattern of a + b (golden ``f32_add_bits``), combinational."""
    a = Value.cast(a)
    b = Value.cast(b)

    def unpack(x, tag):
        s, ef, fr = x[31], x[23:31], x[:23]
        sig = Signal(24, name=f"{name}_{tag}_sig")
        eb = Signal(8, name=f"{name}_{tag}_eb")          # max(field, 1): LSB weight 2^(eb−150)
        m.d.comb += [sig.eq(Cat(fr, ef != 0)), eb.eq(Mux(ef == 0, 1, ef))]
        nan = (ef == 0xFF) & (fr != 0)
        inf = (ef == 0xFF) & (fr == 0)
        return s, sig, eb, nan, inf

    sa, Ma, ea, nan_a, inf_a = unpack(a, "a")
    sb, Mb, eb, nan_b, inf_b = unpack(b, "b")
    swap = Signal(name=f"{name}_swap")
    m.d.comb += swap.eq(eb > ea)
    hs, ls = Signal(name=f"{name}_hs"), Signal(name=f"{name}_ls")
    hM, lM = Signal(24, name=f"{name}_hM"), Signal(24, name=f"{name}_lM")
    he, le = Signal(8, name=f"{name}_he"), Signal(8, name=f"{name}_le")
    m.d.comb += [hs.eq(Mux(swap, sb, sa)), hM.eq(Mux(swap, Mb, Ma)), he.eq(Mux(swap, eb, ea)),
                 ls.eq(Mux(swap, sa, sb)), lM.eq(Mux(swap, Ma, Mb)), le.eq(Mux(swap, ea, eb))]
    d = Signal(8, name=f"{name}_d")
    m.d.comb += d.eq(he - le)
    far = Signal(name=f"{name}_far")
    m.d.comb += far.eq(d > ADD_FAR_LIMIT)
    dd = Signal(range(ADD_FAR_LIMIT + 1), name=f"{name}_dd")
    m.d.comb += dd.eq(Mux(far, ADD_FAR_LIMIT, d[:6]))
    th = Signal(24 + ADD_FAR_LIMIT, name=f"{name}_th")
    m.d.comb += th.eq(hM << dd)
    # exact signed sum as sign + magnitude (57 bits)
    same = hs == ls
    diff = Signal(signed(24 + ADD_FAR_LIMIT + 2), name=f"{name}_diff")
    m.d.comb += diff.eq(Mux(same, th + lM, th - lM))
    neg = diff < 0
    mag = Signal(24 + ADD_FAR_LIMIT + 1, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(neg, -diff, diff))
    sign = hs ^ neg
    exp = Signal(signed(10), name=f"{name}_exp")
    m.d.comb += exp.eq(le - 150)
    rounded = f32_round(m, mag, exp, sign, exp_min=-149, exp_max=104, zero_sign=sa & sb,
                        name=f"{name}_rnd")
    out = Signal(32, name=name)
    hi_bits = Mux(swap, b, a)
    special_nan = nan_a | nan_b | (inf_a & inf_b & (sa != sb))
    # a Mux chain (not m.If) so that callers may use this inside their own conditions
    m.d.comb += out.eq(Mux(special_nan, F32_QNAN,
                           Mux(inf_a, a, Mux(inf_b, b, Mux(far, hi_bits, rounded)))))
    return out


class F32Adder(wiring.Component):
    """Combinational FP32 adder (``f32_add``): ports ``a``, ``b``, ``o`` (bit patterns)."""

    latency = 0

    def __init__(self):
        super().__init__({"a": In(32), "b": In(32), "o": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(f32_add(m, self.a, self.b))
        return m


class F32Round(wiring.Component):
    """Combinational ``f32_round`` wrapper for tests: ports ``mag`` (unsigned ``width``),
    ``exp`` (signed 10 bits, restricted to [exp_min, exp_max]), ``sign``, ``zero_sign``, ``o``."""

    def __init__(self, *, width: int = 48, exp_min: int = -36, exp_max: int = 8):
        if not isinstance(width, int) or not 1 <= width <= 64:
            raise ValueError(f"width must be an int in 1..64, got {width!r}")
        if not -400 <= exp_min <= exp_max <= 400:
            raise ValueError(f"exponent range [{exp_min}, {exp_max}] must lie in ±400")
        self.width, self.exp_min, self.exp_max = width, exp_min, exp_max
        super().__init__({"mag": In(width), "exp": In(signed(10)), "sign": In(1),
                          "zero_sign": In(1), "o": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(f32_round(m, self.mag, self.exp, self.sign,
                                        exp_min=self.exp_min, exp_max=self.exp_max,
                                        zero_sign=self.zero_sign))
        return m


class F32FixedRound(wiring.Component):
    """FP32 bits of ``init + scale·z·2^z_exp`` rounded once (RNE), pipelined: the final rounding
    of an exact (Kulisch-style) accumulator. Golden: ``hw.f32_add_fixed_bits``.

    z = Σ rows (mod 2^width, two's complement, |scale·z| < 2^(width−1)): the words of a
    carry-save accumulator (``rows`` of them), ANDed with ``capture`` (a registered flag, 1 in
    the cycle the words hold a finished sum) so that nothing here toggles while the
    accumulator does; ``ld[0]`` (= capture and the pipeline advancing) loads the first stage.
    ``scale``: a small odd constant factor (the FP8-only lane's block scale 9·2^2).
    ``init`` (with ``start``): any FP32 pattern; NaN gives 0x7FC00000, ±Inf itself, an exact
    zero sum +0 (−0 + 0 = +0); a non-zero sum is never subnormal and never overflows (the frame
    spans at most 2^(width−1+z_exp), z_exp >= −100). ``nan``: force the quiet NaN (a NaN
    block pair), sampled with the words.

    Stages (``stage_names``; register k loads when ``ld[k]``, the result is on ``o`` after the
    last):

    * ``z``: z = Σ rows (carry-save reduction + one adder); without a start value and with
      scale 1 this stage is merged into ``abs``;
    * ``frame`` (start value only): the start value, decoded and aligned in ``z`` to z's grid
      (or, when it has bits below 2^z_exp, z moved to the grid 2^(z_exp−26) and the start
      value floored with a sticky bit), added exactly: F on width + 27 bits. A start value
      whose LSB is 2^(width+1+z_exp) or more is returned unchanged (z is below a quarter of
      its ulp);
    * ``abs``: the magnitude (two adders for +z and −z, the non-negative one kept; times
      ``scale`` by shifted copies; |F| by one's complement where the sticky bit says so);
    * ``normalize``: leading zero bytes, shift by whole bytes, the top 32 bits + sticky, and
      the leading zeros of the top byte;
    * ``round``: shift by 0..7, RNE, packing, specials.
    """

    COARSE = 8          # coarse normalisation by whole bytes (_finish assumes 8)
    GUARD = 26          # extra frame bits below 2^z_exp for start values with finer bits

    def __init__(self, *, width: int, z_exp: int, rows: int = 2, start: bool = False,
                 scale: int = 1):
        if not isinstance(width, int) or not 8 <= width <= 96:
            raise ValueError(f"width must be an int in 8..96, got {width!r}")
        if not isinstance(z_exp, int) or not -100 <= z_exp <= 0:
            raise ValueError(f"z_exp must be an int in -100..0, got {z_exp!r}")
        if not isinstance(rows, int) or not 1 <= rows <= 12:
            raise ValueError(f"rows must be an int in 1..12, got {rows!r}")
        if not isinstance(scale, int) or scale < 1 or scale % 2 == 0 or scale > 255:
            raise ValueError(f"scale must be an odd int in 1..255, got {scale!r}")
        self.width, self.z_exp, self.rows, self.start = width, z_exp, rows, bool(start)
        self.scale = scale
        members = {"z": In(data.ArrayLayout(width, rows)), "nan": In(1), "capture": In(1),
                   "ld": In(len(self.stage_names)), "o": Out(32)}
        if start:
            members["init"] = In(32)
        super().__init__(members)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return stage_names_fixed_round(self.start, self.scale)

    @property
    def unit_name(self) -> str:
        return "f32_round_init" if self.start else "f32_round"

    @property
    def unit_key(self):
        return (self.width, self.z_exp, self.rows, self.start, self.scale)

    def _reg(self, m, value, ld, name, shape=None):
        value = Value.cast(value)
        r = Signal(shape if shape is not None else value.shape(), name=name, reset_less=True)
        with m.If(ld):
            m.d.sync += r.eq(value)
        return r

    def elaborate(self, platform):
        m = Module()
        W = self.width
        ld = {n: self.ld[i] for i, n in enumerate(self.stage_names)}
        first = self.stage_names[0]
        gate = self.capture.replicate(W)
        rows = [self.z[i] & gate for i in range(self.rows)]
        zs, zc = csa_reduce(m, rows, W, name="zsum") if self.rows > 2 else \
            (rows + [Const(0, W)])[:2]
        nan1 = self._reg(m, self.nan, ld[first], "nan1")
        k = self.scale
        kbits = [j for j in range(k.bit_length()) if (k >> j) & 1]
        if not self.start:
            if k == 1:
                z = fast_add(m, zs, zc, W, name="z")
                na, nb = csa(~zs, ~zc, Const(2, 2), W)     # −z = ~zs + ~zc + 2
                nz = fast_add(m, na, nb, W, name="nz")
                mag = self._reg(m, Mux(z[W - 1], nz, z), ld["abs"], "mag", W)
                sign = self._reg(m, z[W - 1], ld["abs"], "sign")
                nan = nan1
            else:
                z1 = self._reg(m, fast_add(m, zs, zc, W, name="zadd"), ld["z"], "z1", W)
                neg = z1[W - 1]
                zx = z1 ^ neg.replicate(W)                 # |z| − neg
                # |z|·k = Σ_j (zx << j) + k·neg
                mrows = [zx << j for j in kbits] + [Const(k, 8) & neg.replicate(8)]
                ma, mb = csa_reduce(m, mrows, W, name="zk")
                mag = self._reg(m, fast_add(m, ma, mb, W, name="zkadd"), ld["abs"], "mag", W)
                sign = self._reg(m, neg, ld["abs"], "sign")
                nan = self._reg(m, nan1, ld["abs"], "nan2")
            self._finish(m, mag, Const(0, 1), sign, Const(self.z_exp, signed(10)), {"nan": nan},
                         ld["normalize"], ld["round"])
            return m
        # ---- with a start value
        G = self.GUARD
        WF = W + G + 1
        z1 = self._reg(m, fast_add(m, zs, zc, W, name="zadd"), ld["z"], "z1", signed(W))
        init = self.init
        si, ef, fr = init[31], init[23:31], init[:23]
        sig = Cat(fr, ef != 0)
        elsb = Signal(signed(10), name="elsb")           # LSB exponent of the start value
        m.d.comb += elsb.eq(Mux(ef == 0, 1, ef) - 150)
        far_lsb = (W - 1) + self.z_exp + 2                 # |z·2^z_exp| < quarter ulp: keep init
        case_a = elsb >= self.z_exp
        u = Signal(signed(11), name="ishift")              # left shift of sig onto the frame
        m.d.comb += u.eq(Mux(case_a, elsb - self.z_exp, elsb - self.z_exp + G))
        # sig · 2^u with 25 extra low bits: amount u + 25 clamped to [0, W + 25]
        amt = Signal(range(W + 26), name="iamt")
        m.d.comb += amt.eq(Mux(u + 25 < 0, 0, Mux(u > W, W + 25, (u + 25)[:clog2(W + 26)])))
        field = Signal(24 + W + 25, name="ifield")
        m.d.comb += field.eq(sig << amt)
        ist = Mux(u + 25 < 0, sig != 0, field[:25] != 0)
        i_mag = self._reg(m, field[25:], ld["z"], "imag1")
        i_st = self._reg(m, ist & ~case_a, ld["z"], "ist1")
        i_neg = self._reg(m, si, ld["z"], "ineg1")
        i_a = self._reg(m, case_a, ld["z"], "icasea1")
        special = Signal(name="ispecial")                 # the result is the start value
        m.d.comb += special.eq((ef == 0xFF) | (elsb >= far_lsb))
        i_nan = self._reg(m, (ef == 0xFF) & (fr != 0), ld["z"], "inan1")
        i_keep = self._reg(m, special, ld["z"], "ikeep1")
        i_bits = self._reg(m, init, ld["z"], "ibits1")
        # frame: F = scale·z·2^(case A ? 0 : G) + floor(init on the frame)
        zsh = Mux(i_a, 0, G)
        frows = [(z1.as_signed() << j) << zsh for j in kbits]
        frows = [Cat(r, r[-1].replicate(WF))[:WF] for r in frows]   # sign-extended to WF
        imag_w = Cat(i_mag, Const(0, WF - len(i_mag)))[:WF]
        frows.append(Mux(i_neg, ~imag_w, imag_w))
        fa, fb = csa_reduce(m, frows, WF, name="frm", carry_in=[i_neg & ~i_st])
        F2 = self._reg(m, fast_add(m, fa, fb, WF, name="fadd"), ld["frame"], "frame", WF)
        st2 = self._reg(m, i_st, ld["frame"], "st2")
        flags2 = {"nan": self._reg(m, nan1 | i_nan, ld["frame"], "nan2"),
                  "keep": self._reg(m, i_keep | (z1 == 0), ld["frame"], "keep2"),
                  "bits": self._reg(m, Mux(i_bits == 0x80000000, 0, i_bits), ld["frame"],
                                    "bits2"),
                  "a": self._reg(m, i_a, ld["frame"], "casea2")}
        # abs: |F| (F < 0 with sticky: |F| − ε = ~F + (1 − ε), so ~F and the sticky bit)
        neg = F2[WF - 1]
        negf = fast_add(m, ~F2, 0, WF, carry_in=~st2, name="fneg")
        mag3 = self._reg(m, Mux(neg, negf, F2)[:WF], ld["abs"], "mag3", WF)
        sign3 = self._reg(m, neg, ld["abs"], "sign3")
        st3 = self._reg(m, st2, ld["abs"], "st3")
        flags3 = {n: self._reg(m, v, ld["abs"], f"{n}3") for n, v in flags2.items()}
        lsb = Mux(flags3["a"], self.z_exp, self.z_exp - G)
        self._finish(m, mag3, st3, sign3, lsb, flags3, ld["normalize"], ld["round"])
        return m

    def _finish(self, m, mag, st_in, sign, lsb_exp, flags, ld_norm, ld_round):
        """Normalisation (coarse by bytes + the top byte's leading zeros, register ld_norm) and
        the fine shift, RNE, packing and specials (register ld_round = the output)."""
        Wm = len(mag)
        C = self.COARSE
        nblk = (Wm + C - 1) // C
        Wp = nblk * C
        magp = Cat(Const(0, Wp - Wm), mag) if Wp > Wm else mag     # padded below
        blk_nz = Cat(*[magp[C * j:C * j + C] != 0 for j in range(nblk)])
        lzb = lzc(m, blk_nz, name="lzb")                   # leading zero bytes (nblk if 0)
        lzb8 = Cat(Const(0, 3), lzb)                       # 8·lzb (C = 8)
        sh = Signal(Wp + 32, name="coarse")
        m.d.comb += sh.eq(Cat(Const(0, 32), magp) << lzb8)
        top = sh[Wp:Wp + 32]                               # top 32 bits after the byte shift
        lzf = lzc(m, top[32 - C:], name="lzf")             # 0..7 (8 only for a zero value)
        n_top = self._reg(m, top, ld_norm, "ntop")
        n_lzf = self._reg(m, lzf[:3], ld_norm, "nlzf")
        n_st = self._reg(m, (sh[:Wp] != 0) | st_in, ld_norm, "nst")
        # exponent field − 1 of the result: the top bit of n_top weighs
        # 2^(lsb + Wm − 1 − 8·lzb) (mag is padded below), then lzf more
        n_eb = self._reg(m, (lsb_exp + (Wm - 1) - lzb8 - lzf + 126).as_signed()[:12], ld_norm,
                         "neb", signed(12))
        n_sign = self._reg(m, sign, ld_norm, "nsign")
        n_zero = self._reg(m, lzb == nblk, ld_norm, "nzero")
        n_flags = {k: self._reg(m, v, ld_norm, f"n{k}") for k, v in flags.items()}
        fine = Signal(32, name="fine")
        m.d.comb += fine.eq((n_top << n_lzf)[:32])
        q = fine[8:32]                                     # 24 bits, hidden bit at q[23]
        guard = fine[7]
        sticky = (fine[:7] != 0) | n_st
        up = guard & (sticky | q[0])
        qr = fast_add(m, q, 0, 25, carry_in=up, name="qr")
        # field = eb + 1 (+1 more when the rounding carried out of 24 bits: qr = 2^24)
        e1, e2 = (n_eb + 1)[:8], (n_eb + 2)[:8]
        res = Mux(n_zero, 0, Cat(qr[:23], Mux(qr[24], e2, e1), n_sign))
        if "keep" in n_flags:
            res = Mux(n_flags["keep"], n_flags["bits"], res)
        res = Mux(n_flags["nan"], F32_QNAN, res)
        out = self._reg(m, res, ld_round, "out", 32)
        m.d.comb += self.o.eq(out)


def stage_names_fixed_round(start: bool, scale: int = 1) -> tuple[str, ...]:
    """Register stages of ``F32FixedRound`` for a configuration."""
    if start:
        return ("z", "frame", "abs", "normalize", "round")
    return (("abs",) if scale == 1 else ("z", "abs")) + ("normalize", "round")
