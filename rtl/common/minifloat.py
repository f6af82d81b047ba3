"""Small-float pieces: field decoding of E2M1 / E4M3 / UE4M3 codes into (mantissa, shift), and
RNE-with-saturation rounding of a normalised significand onto a small-float grid.

Decoded form used throughout the FGMP datapaths: every finite magnitude is ``M · 2^(sh − off)``
with an integer mantissa M that includes the hidden bit and a non-negative shift
``sh = max(e, 1) − 1`` (e = exponent field):

==========  ==========  =======  ===============  ===================================
format      M bits      sh       value            offset (value = M·2^(sh − off))
==========  ==========  =======  ===============  ===================================
E2M1        2 (0..3)    0..2     0, 0.5, … 6      1
E4M3/UE4M3  4 (0..15)   0..14    0, 2^-9, … 448   9
==========  ==========  =======  ===============  ===================================

So products and sums of decoded elements are integers shifted by small amounts (no FP logic).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.hdl import Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["e2m1_fields", "e4m3_fields", "ue4m3_fields", "round_minifloat", "MinifloatRound",
           "E2M1_MIDPOINTS_X4", "E2M1_OFFSET", "E4M3_OFFSET"]

E2M1_OFFSET = 1
E4M3_OFFSET = 9
#: the 7 E2M1 rounding midpoints (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5) times 4
E2M1_MIDPOINTS_X4 = (1, 3, 5, 7, 10, 14, 20)


def e2m1_fields(code):
    """E2M1 code (4 bits) -> (sign, M (2 bits), sh (2 bits, 0..2)); |value| = M·2^(sh − 1)."""
    code = Value.cast(code)
    e = code[1:3]
    mant = Cat(code[0], e != 0)
    sh = Mux(e == 0, 0, e - 1)[:2]
    return code[3], mant, sh


def e4m3_fields(code):
    """E4M3 code (8 bits) -> (sign, M (4 bits), sh (4 bits, 0..14), is_nan);
    |value| = M·2^(sh − 9) for non-NaN codes."""
    code = Value.cast(code)
    mant, sh = ue4m3_fields(code[:7])
    return code[7], mant, sh, code[:7] == 0x7F


def ue4m3_fields(code):
    """UE4M3 code (7 bits; a wider value is truncated) -> (M (4 bits), sh (4 bits));
    value = M·2^(sh − 9). Code 0x7F (NaN) decodes like a finite code (M = 15, sh = 14): callers
    flag it themselves."""
    code = Value.cast(code)[:7]
    e = code[3:7]
    mant = Cat(code[:3], e != 0)
    sh = Mux(e == 0, 0, e - 1)[:4]
    return mant, sh


def round_minifloat(m: Module, sig, sticky, e, *, man_bits: int, emin: int, max_code: int,
                    name: str = "mf") -> Signal:
    """Magnitude code of RNE(v) on a small-float grid, saturating at ``max_code``.

    v = (sig + δ)·2^(e − (W − 1)) where ``sig`` (W bits, W >= man_bits + 2) has its MSB set, so
    ``e`` (signed) is the exponent of the leading one, and 0 <= δ < 1 with δ > 0 iff ``sticky``.
    Same formula as rtl/formats/codec.py: with eq = max(e, emin) the code is
    ((eq − emin) << man_bits) + RNE(sig >> (W − 1 − man_bits + eq − e)); the addition carries a
    mantissa round-up into the exponent field and covers the subnormal range (eq = emin).
    Zero, NaN and Inf are the caller's business.
    """
    sig = Value.cast(sig)
    W = len(sig)
    mb = man_bits
    if W < mb + 2:
        raise ValueError(f"significand of {W} bits is too short for {mb} mantissa bits + guard")
    e = Value.cast(e)
    ew = max(len(e), 8) + 2
    top_field = (max_code >> mb) + 1
    eq = Signal(signed(ew), name=f"{name}_eq")
    m.d.comb += eq.eq(Mux(e < emin, emin, e))
    extra = Signal(signed(ew), name=f"{name}_extra")      # subnormal right shift, >= 0
    m.d.comb += extra.eq(eq - e)
    cap = mb + 2                                          # beyond: q = 0, guard = 0
    xs = Signal(range(cap + 1), name=f"{name}_xs")
    m.d.comb += xs.eq(Mux(extra > cap, cap, extra[:len(xs)]))
    base = W - 1 - mb
    wide = Signal(2 * W + 2, name=f"{name}_wide")
    m.d.comb += wide.eq(Cat(Const(0, W + 2), sig) >> (xs + base))
    q = wide[W + 2:]
    guard = wide[W + 1]
    st = wide[:W + 1].any() | sticky
    up = guard & (st | q[0])
    field = Signal(signed(ew + 1), name=f"{name}_field")
    m.d.comb += field.eq(eq - emin)
    big = field > top_field
    fcap = Signal(range(top_field + 1), name=f"{name}_fcap")
    m.d.comb += fcap.eq(Mux(big, top_field, field[:len(fcap)]))
    code = Signal(range(((top_field + 1) << mb) + (1 << (mb + 2))), name=f"{name}_code")
    m.d.comb += code.eq((fcap << mb) + q[:mb + 2] + up)
    out = Signal(range(max_code + 1), name=name)
    m.d.comb += out.eq(Mux(big | (code > max_code), max_code, code))
    return out


class MinifloatRound(wiring.Component):
    """``round_minifloat`` wrapper for tests: ``sig`` (``width`` bits, MSB set), ``sticky``,
    ``e`` (signed 11 bits) -> ``o`` (magnitude code)."""

    def __init__(self, *, width: int = 5, man_bits: int = 3, emin: int = -6,
                 max_code: int = 0x7E):
        self.width, self.man_bits, self.emin, self.max_code = width, man_bits, emin, max_code
        super().__init__({"sig": In(width), "sticky": In(1), "e": In(signed(11)),
                          "o": Out(range(max_code + 1))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(round_minifloat(m, self.sig, self.sticky, self.e,
                                              man_bits=self.man_bits, emin=self.emin,
                                              max_code=self.max_code))
        return m
