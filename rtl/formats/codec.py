"""FP32 <-> small-float conversion logic (combinational).

The rounding rule is golden/formats' (docs/formats.md): exact RNE of ``x * 2**scale_exp`` onto the
format grid, saturation to the largest finite code, NaN code with sign, signed zero kept.

Hardware form of that rule. An FP32 input is normalised to a 24-bit significand ``sig`` (bit 23
set) and an unbiased exponent ``e`` (FP32 subnormals are normalised with a leading-zero count when
the scale range can lift them into the format's range). With ``eq = max(e, emin)`` the magnitude
code is::

    code = ((eq - emin) << man_bits) + RNE(sig >> (23 - man_bits + eq - e))

The addition carries a mantissa round-up into the exponent field, and the subnormal range
(``eq = emin``, exponent field 0) falls out of the same formula. A code above ``max_code``
saturates.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.formats import E2M1, E4M3, E5M2, FloatFormat

__all__ = ["FloatEncoder", "FloatDecoder", "SIGNED_FORMATS", "ENCODER_MUTANTS"]

SIGNED_FORMATS = {f.name: f for f in (E2M1, E4M3, E5M2)}

_FP32_BIAS = 127
_SIG_BITS = 24          # FP32 significand with hidden bit
_SHIFT_CAP = _SIG_BITS + 1   # any larger right shift leaves guard = 0: rounds to zero

#: deliberately broken encoders, to check the checkers (verif/formal.py): ``"sticky_lsb"``
#: leaves the FP32 significand's lowest bit out of the sticky bit, so a value one FP32 ulp
#: above a rounding midpoint whose lower code is even rounds down instead of up
ENCODER_MUTANTS = ("sticky_lsb",)


def _fmt(fmt) -> FloatFormat:
    if isinstance(fmt, str):
        if fmt not in SIGNED_FORMATS:
            raise ValueError(f"fmt must be one of {sorted(SIGNED_FORMATS)}, got {fmt!r}")
        return SIGNED_FORMATS[fmt]
    if fmt not in SIGNED_FORMATS.values():
        raise ValueError(f"fmt must be one of {sorted(SIGNED_FORMATS)}, got {fmt!r}")
    return fmt


class FloatEncoder(wiring.Component):
    """FP32 bits times ``2**(scale_exp [+ scale port])`` -> small-float code, combinational.

    Parameters (keyword-only):
        fmt: ``"e2m1"``, ``"e4m3"`` or ``"e5m2"``.
        scale_exp: constant power-of-two exponent applied to the input.
        scale_width: width of the signed ``scale`` input port added to ``scale_exp``;
            0 for no port.
        mutant: ``None``, or one of ``ENCODER_MUTANTS`` (a deliberately wrong encoder for the
            checks of the formal proofs; not reachable from the block registry).

    Ports: ``i`` (FP32 bits), ``scale`` (signed, if ``scale_width``), ``o`` (code).
    """

    def __init__(self, *, fmt="e4m3", scale_exp: int = 0, scale_width: int = 0,
                 mutant: str | None = None):
        self.fmt = _fmt(fmt)
        if mutant is not None and mutant not in ENCODER_MUTANTS:
            raise ValueError(f"mutant must be None or one of {list(ENCODER_MUTANTS)}, "
                             f"got {mutant!r}")
        self.mutant = mutant
        if not isinstance(scale_exp, int) or isinstance(scale_exp, bool):
            raise ValueError(f"scale_exp must be an int, got {scale_exp!r}")
        if not isinstance(scale_width, int) or not 0 <= scale_width <= 10:
            raise ValueError(f"scale_width must be an int in 0..10, got {scale_width!r}")
        lo = scale_exp - ((1 << (scale_width - 1)) if scale_width else 0)
        hi = scale_exp + (((1 << (scale_width - 1)) - 1) if scale_width else 0)
        if lo < -512 or hi > 511:
            raise ValueError(f"scale_exp range {lo}..{hi} exceeds ±512")
        self.scale_exp = scale_exp
        self.scale_width = scale_width
        self._scale_range = (lo, hi)
        members = {"i": In(32), "o": Out(self.fmt.width)}
        if scale_width:
            members["scale"] = In(signed(scale_width))
        super().__init__(members)

    @property
    def latency(self) -> int:
        """Combinational: 0 cycles."""
        return 0

    @property
    def normalises_subnormals(self) -> bool:
        """Whether an FP32 subnormal times the largest scale can reach half the format's
        smallest subnormal (otherwise it always rounds to a signed zero and no leading-zero
        counter is built)."""
        fmt = self.fmt
        return -_FP32_BIAS + self._scale_range[1] >= fmt.emin - fmt.man_bits - 1

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        mb = fmt.man_bits
        sign = self.i[31]
        exp = self.i[23:31]
        frac = self.i[0:23]

        is_special = exp == 0xFF
        is_nan = is_special & (frac != 0)
        is_inf = is_special & (frac == 0)
        is_zero_exp = exp == 0

        ew = 12  # signed width of exponent arithmetic; |e| < 2**11 for the allowed scale range
        scale = Signal(signed(ew))
        if self.scale_width:
            m.d.comb += scale.eq(self.scale + self.scale_exp)
        else:
            m.d.comb += scale.eq(self.scale_exp)

        sig = Signal(_SIG_BITS)
        e = Signal(signed(ew))
        is_zero = Signal()
        if self.normalises_subnormals:
            lz = Signal(range(24))  # leading zeros of frac (23 bits); frac == 0 leaves 0
            for k in range(23):     # later (higher) bits override: priority encoder
                with m.If(frac[k]):
                    m.d.comb += lz.eq(22 - k)
            with m.If(is_zero_exp):
                m.d.comb += [
                    sig.eq(frac << (lz + 1)),
                    e.eq(-_FP32_BIAS - lz + scale),
                    is_zero.eq(frac == 0),
                ]
            with m.Else():
                m.d.comb += [sig.eq(Cat(frac, 1)), e.eq(exp - _FP32_BIAS + scale)]
        else:
            # An FP32 subnormal can never reach the format's range: it becomes a signed zero.
            m.d.comb += [
                sig.eq(Cat(frac, 1)),
                e.eq(exp - _FP32_BIAS + scale),
                is_zero.eq(is_zero_exp),
            ]

        emin = fmt.emin
        eq = Signal(signed(ew))
        m.d.comb += eq.eq(Mux(e < emin, emin, e))
        shift_full = Signal(signed(ew + 1))
        m.d.comb += shift_full.eq(23 - mb + eq - e)       # >= 23 - mb > 0
        shift = Signal(range(_SHIFT_CAP + 1))
        m.d.comb += shift.eq(Mux(shift_full > _SHIFT_CAP, _SHIFT_CAP, shift_full))

        # Right shift keeping the shifted-out bits for guard and sticky.
        wide = Signal(_SIG_BITS + _SHIFT_CAP + 1)
        m.d.comb += wide.eq(Cat(Const(0, _SHIFT_CAP + 1), sig) >> shift)
        q = wide[_SHIFT_CAP + 1:]
        guard = wide[_SHIFT_CAP]
        sticky = wide[0:_SHIFT_CAP].any()
        if self.mutant == "sticky_lsb":
            wide_m = Signal(_SIG_BITS + _SHIFT_CAP + 1)
            m.d.comb += wide_m.eq(Cat(Const(0, _SHIFT_CAP + 2), sig[1:]) >> shift)
            sticky = wide_m[0:_SHIFT_CAP].any()
        round_up = guard & (sticky | q[0])

        # eq - emin is non-negative; anything beyond the top exponent saturates.
        top_field = (fmt.max_code >> mb) + 1
        exp_field = Signal(range(top_field + 1))
        big = Signal()
        m.d.comb += big.eq((eq - emin) > top_field)
        m.d.comb += exp_field.eq(Mux(big, top_field, eq - emin))
        code = Signal(range(((top_field + 1) << mb) + (1 << (mb + 2))))
        m.d.comb += code.eq((exp_field << mb) + q + round_up)

        mag = Signal(fmt.width - 1)
        nan_mag = fmt.max_code if fmt.nan_code is None else fmt.nan_code
        inf_mag = fmt.max_code if fmt.inf_code is None else fmt.inf_code
        with m.If(is_nan):
            m.d.comb += mag.eq(nan_mag)
        with m.Elif(is_inf):
            m.d.comb += mag.eq(inf_mag)
        with m.Elif(is_zero):
            m.d.comb += mag.eq(0)
        with m.Elif(big | (code > fmt.max_code)):
            m.d.comb += mag.eq(fmt.max_code)
        with m.Else():
            m.d.comb += mag.eq(code)
        m.d.comb += self.o.eq(Cat(mag, sign))
        return m


class FloatDecoder(wiring.Component):
    """Small-float code -> FP32 bits, combinational and exact.

    NaN codes give the FP32 quiet NaN 0x7FC00000 with the code's sign; E5M2 Inf gives FP32 Inf.
    Ports: ``i`` (code), ``o`` (FP32 bits).
    """

    def __init__(self, *, fmt="e4m3"):
        self.fmt = _fmt(fmt)
        super().__init__({"i": In(self.fmt.width), "o": Out(32)})

    @property
    def latency(self) -> int:
        return 0

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        mb, eb = fmt.man_bits, fmt.exp_bits
        sign = self.i[fmt.sign_bit]
        mag = self.i[0:fmt.sign_bit]
        e = self.i[mb:mb + eb]
        f = self.i[0:mb]

        out_exp = Signal(8)
        out_frac = Signal(23)
        # NaN codes: every magnitude above the largest finite one (and above Inf, if any).
        first_nan = None if fmt.nan_code is None else (fmt.inf_code or fmt.max_code) + 1
        is_nan = (mag >= first_nan) if first_nan is not None else Const(0)
        is_inf = (mag == fmt.inf_code) if fmt.inf_code is not None else Const(0)
        with m.If(is_nan):
            m.d.comb += [out_exp.eq(0xFF), out_frac.eq(1 << 22)]
        with m.Elif(is_inf):
            m.d.comb += [out_exp.eq(0xFF), out_frac.eq(0)]
        with m.Elif(e != 0):
            m.d.comb += [out_exp.eq(e - fmt.bias + _FP32_BIAS), out_frac.eq(f << (23 - mb))]
        with m.Else():
            # Subnormal f * 2**(emin - mb): leading one at bit p gives exponent emin - mb + p.
            with m.Switch(f):
                for value in range(1, 1 << mb):
                    p = value.bit_length() - 1
                    with m.Case(value):
                        rest = value & ((1 << p) - 1)
                        m.d.comb += [
                            out_exp.eq(fmt.emin - mb + p + _FP32_BIAS),
                            out_frac.eq(rest << (23 - p)),
                        ]
        m.d.comb += self.o.eq(Cat(out_frac, out_exp, sign))
        return m
