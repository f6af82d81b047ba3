"""IEEE 754 binary32 pieces: rounding of an exact integer·2^e to FP32 and FP32 addition.

Both follow the golden integer algorithms bit for bit (golden/fgmp/hw.py ``round_to_f32_bits``,
``f32_add_bits``; docs/fgmp.md §3):

* ``f32_round``: value (−1)^s·mag·2^exp, mag an unsigned integer. Round to nearest, ties to
  even, once; gradual underflow (subnormals); overflow to ±Inf; mag = 0 gives a zero whose sign
  is ``zero_sign``. Hardware: leading-zero count, normalising left shift, (denormalising right
  shift), RNE increment that carries into the exponent field. The subnormal and overflow logic
  is only built when the caller's exponent range can reach it.
* ``f32_add``: a + b on bit patterns. Operands are aligned to the smaller exponent with the
  exponent difference capped at 32 (beyond that the smaller operand is below a quarter ulp of the
  larger, normal, one and the result is the larger operand), added exactly (57-bit magnitude)
  and rounded once by ``f32_round``. NaN operand → 0x7FC00000; Inf + −Inf → 0x7FC00000;
  Inf + x → Inf; an exact zero sum is +0 except (−0) + (−0) = −0. No FTZ/DAZ.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.hdl import Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .arith import lzc

__all__ = ["F32_QNAN", "F32_PINF", "f32_round", "f32_add", "F32Adder", "F32Round",
           "ADD_FAR_LIMIT"]

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
