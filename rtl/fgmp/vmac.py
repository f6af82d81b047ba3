"""FGMP VMAC: L dot-product lanes sharing one activation block per cycle (SPEC §5,
docs/fgmp_rtl.md). ``Vmac`` has four dot-product units per lane (FP4×FP4, FP4×FP8, FP8×FP4,
FP8×FP8, weight format first) selected by the two meta bits; ``Fp8Vmac`` is the all-FP8 baseline
with the same interface and only the FP8×FP8 unit.

Arithmetic per cycle and lane (bit-exact with golden ``hw.vmac``, docs/fgmp.md §3):

1. every element decodes to ``M·2^(sh − off)`` (rtl/common/minifloat.py: E2M1 off 1, E4M3 off 9);
2. a unit sums the 16 products ``±(Mw·Ma) << (shw + sha)`` exactly as an integer D in units of
   2^E_unit (E_unit = −2, −10, −18 for FP4×FP4, mixed, FP8×FP8; widths 13, 27, 41 bits signed);
3. block scales decode to ``M_s·2^(sh_s − 9)`` (UE4M3; an FP8 block has the implicit 6 = 3·2^1,
   i.e. M_s = 3, sh_s = 10), so P = |D|·(M_sw·M_sa) · 2^(E_unit − 18 + sh_sw + sh_sa) exactly
   (|D|·M·M < 2^48, exponent in [−36, 8]);
4. P is rounded once to FP32 (RNE; never subnormal, never overflows, exact zero → +0);
   a NaN element code of an FP8 block or a NaN scale (0x7F) of an NVFP4 block makes it NaN;
5. the lane accumulator adds P32 with the IEEE FP32 adder of rtl/common (RNE, subnormals,
   Inf/NaN rules of golden ``f32_add_bits``).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import e2m1_fields, e4m3_fields, f32_add, f32_round, signed_sum, ue4m3_fields
from ..common.float32 import F32_QNAN
from ..hierarchy import add_unit
from .common import BLOCK, check_choice, check_int

__all__ = ["Vmac", "Fp8Vmac", "VmacLane", "DotProductUnit", "BlockScaleRound", "Fp32Accumulator",
           "UNITS", "ISOLATION", "a_layout", "w_layout", "unit_width"]

#: dot-product units as (weight is FP8, activation is FP8); index = 2·w_meta + a_meta
UNITS = ((0, 0), (0, 1), (1, 0), (1, 1))
UNIT_NAMES = ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8")
#: operand isolation of the dot-product units (docs/fgmp_rtl.md "Operand isolation")
ISOLATION = ("hold", "and", "none")

_OFF = {0: 1, 1: 9}              # value = M·2^(sh − off)
_MMAX = {0: 3, 1: 15}            # largest decoded mantissa
_SHMAX = {0: 2, 1: 14}           # largest decoded shift
_CODE_BITS = {0: 4, 1: 8}


def unit_term_width(w8: int, a8: int) -> int:
    """Bits of one aligned product |Mw·Ma| << (shw + sha) (finite codes)."""
    return (_MMAX[w8] * _MMAX[a8]).bit_length() + _SHMAX[w8] + _SHMAX[a8]


def unit_width(w8: int, a8: int) -> int:
    """Signed width of a unit's exact block sum D (16 terms)."""
    return unit_term_width(w8, a8) + 4 + 1


def unit_exp(w8: int, a8: int) -> int:
    """D is in units of 2^unit_exp."""
    return -(_OFF[w8] + _OFF[a8])


def a_layout():
    """Activation stream payload: a block plus ``last`` (end of the dot product)."""
    return data.StructLayout({"codes": 128, "scale": 8, "meta": 1, "last": 1})


def w_lane_layout(acc_init: bool):
    fields = {"codes": 128, "scale": 8, "meta": 1}
    if acc_init:
        fields["acc"] = 32
    return data.StructLayout(fields)


def w_layout(lanes: int, acc_init: bool = False):
    """Weight stream payload: one block per lane (lane l at [l·W + W−1 : l·W])."""
    return data.ArrayLayout(w_lane_layout(acc_init), lanes)


def _fields(fmt8: int, codes, i: int):
    """(sign, M, sh, nan) of element i of a code bus in the given format."""
    if fmt8:
        return e4m3_fields(codes[8 * i:8 * i + 8])
    s, mant, sh = e2m1_fields(codes[4 * i:4 * i + 4])
    return s, mant, sh, Const(0, 1)


def dot_unit(m: Module, w_codes, a_codes, w8: int, a8: int, name: str) -> Signal:
    """Exact Σ_i e(w_i)·e(a_i) of one block pair in units of 2^unit_exp(w8, a8) (signed
    ``unit_width`` bits). NaN codes give meaningless terms (the caller overrides P)."""
    tw = unit_term_width(w8, a8)
    mags, negs = [], []
    for i in range(BLOCK):
        sw, mw, shw, _ = _fields(w8, w_codes, i)
        sa, ma, sha, _ = _fields(a8, a_codes, i)
        prod = mw * ma
        term = Signal(tw, name=f"{name}_t{i}")
        m.d.comb += term.eq((prod << (shw + sha))[:tw])
        mags.append(term)
        negs.append(sw ^ sa)
    return signed_sum(m, mags, negs, name=f"{name}_d")


def block_nan(meta, codes, scale, fp8_only: bool = False):
    """NaN flag of a block: an E4M3 NaN code in an FP8 block, or scale 0x7F in an NVFP4 one."""
    fp8_nan = Cat(*[codes[8 * i:8 * i + 7] == 0x7F for i in range(BLOCK)]).any()
    if fp8_only:
        return fp8_nan
    return Mux(meta, fp8_nan, scale[:7] == 0x7F)


class DotProductUnit(wiring.Component):
    """Exact block sum of one mode, combinational (``dot_unit``).

    Parameters: ``w8``, ``a8`` (1 = that operand is FP8 / E4M3, 0 = FP4 / E2M1).
    Ports: ``w_codes``, ``a_codes`` (16 codes each, element i at the low end first), ``d`` (signed
    ``unit_width`` bits, in units of 2^unit_exp).
    """

    def __init__(self, *, w8: int, a8: int):
        if (w8, a8) not in UNITS:
            raise ValueError(f"(w8, a8) must be one of {list(UNITS)}, got {(w8, a8)!r}")
        self.w8, self.a8 = w8, a8
        super().__init__({"w_codes": In(16 * _CODE_BITS[w8]), "a_codes": In(16 * _CODE_BITS[a8]),
                          "d": Out(signed(unit_width(w8, a8)))})

    @property
    def mode(self) -> str:
        return UNIT_NAMES[UNITS.index((self.w8, self.a8))]

    @property
    def unit_name(self) -> str:
        return f"dot_{self.mode}"

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.d.eq(dot_unit(m, self.w_codes, self.a_codes, self.w8, self.a8, "u"))
        return m


class BlockScaleRound(wiring.Component):
    """Stages 2–4 of a lane: the selected block sum D times both block-scale mantissas, rounded
    once to FP32 (module docstring, steps 3–4).

    Stage 2 registers D, E = E_unit − 18 + sh_sw + sh_sa and M_sw·M_sa; stage 3 N = |D|·M_sw·M_sa
    (< 2^48) and the sign; stage 4 P32 = round_to_f32(N·2^E) (RNE), or the quiet NaN.

    Parameters: ``d_width``, ``exp_min``/``exp_max`` (range of E), ``fixed_scale`` (every block
    is FP8 with the implicit scale 6 = 3·2^1: M_sw·M_sa = 9 and sh_sw + sh_sa = 20 are
    constants and the scale ports are absent).

    Ports: ``d`` (signed ``d_width``), ``e_unit`` (signed 6), ``w_ms``/``w_sh``/``a_ms``/
    ``a_sh`` (4 bits each), ``nan`` (stage-1 values); ``ld`` (load enables of stages 2, 3, 4 at
    bits 0, 1, 2); ``p`` (P32, registered).
    """

    def __init__(self, *, d_width: int, exp_min: int, exp_max: int, fixed_scale: bool = False):
        self.d_width = d_width
        self.exp_min, self.exp_max = exp_min, exp_max
        self.fixed_scale = fixed_scale
        members = {"d": In(signed(d_width)), "e_unit": In(signed(6)), "nan": In(1),
                   "ld": In(3), "p": Out(32)}
        if not fixed_scale:
            members.update(w_ms=In(4), w_sh=In(4), a_ms=In(4), a_sh=In(4))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        dw = self.d_width
        ld2, ld3, ld4 = self.ld[0], self.ld[1], self.ld[2]
        d2 = Signal(signed(dw), name="d2", reset_less=True)
        e2 = Signal(signed(7), name="e2", reset_less=True)
        mm2 = Signal(8, name="mm2", reset_less=True)
        nan2 = Signal(name="nan2", reset_less=True)
        if self.fixed_scale:
            sh, mm = 2 * _FP8_SCALE[1], _FP8_SCALE[0] * _FP8_SCALE[0]
        else:
            sh, mm = self.w_sh + self.a_sh, self.w_ms * self.a_ms
        with m.If(ld2):
            m.d.sync += [d2.eq(self.d), e2.eq(self.e_unit - 18 + sh), mm2.eq(mm),
                         nan2.eq(self.nan)]
        n3 = Signal(48, name="n3", reset_less=True)
        s3 = Signal(name="s3", reset_less=True)
        e3 = Signal(signed(7), name="e3", reset_less=True)
        nan3 = Signal(name="nan3", reset_less=True)
        dabs = Signal(dw - 1, name="dabs")
        m.d.comb += dabs.eq(Mux(d2 < 0, -d2, d2))
        with m.If(ld3):
            m.d.sync += [n3.eq(dabs * mm2), s3.eq(d2 < 0), e3.eq(e2), nan3.eq(nan2)]
        p_rnd = f32_round(m, n3, e3, s3, exp_min=self.exp_min, exp_max=self.exp_max, name="prnd")
        p4 = Signal(32, name="p4", reset_less=True)
        with m.If(ld4):
            m.d.sync += p4.eq(Mux(nan3, F32_QNAN, p_rnd))
        m.d.comb += self.p.eq(p4)
        return m


class Fp32Accumulator(wiring.Component):
    """Stage 5 of a lane: ``acc <= (first ? start : acc) + p`` (IEEE FP32 adder, rtl/common)
    when ``step``; the sum of a ``last`` step is also held in ``out`` until the next one.

    Parameters: ``start_port`` (the start value comes from the ``start`` port; else +0).
    Ports: ``p`` (FP32 addend), ``start`` (FP32 start value), ``first``, ``step``, ``last``,
    ``out`` (FP32, registered).
    """

    def __init__(self, *, start_port: bool = False):
        self.start_port = start_port
        members = {"p": In(32), "first": In(1), "step": In(1), "last": In(1), "out": Out(32)}
        if start_port:
            members["start"] = In(32)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        acc = Signal(32, name="acc", reset_less=True)
        acc_in = Signal(32, name="acc_in")
        start = self.start if self.start_port else Const(0, 32)
        m.d.comb += acc_in.eq(Mux(self.first, start, acc))
        acc_new = f32_add(m, acc_in, self.p, name="fadd")
        out = Signal(32, name="out_data", reset_less=True)
        m.d.comb += self.out.eq(out)
        with m.If(self.step):
            m.d.sync += acc.eq(acc_new)
            with m.If(self.last):
                m.d.sync += out.eq(acc_new)
        return m


class VmacLane(wiring.Component):
    """One output channel of the VMAC: operand registers, the dot-product units of its modes,
    ``BlockScaleRound`` and ``Fp32Accumulator`` (pipeline of ``_VmacBase``).

    Parameters: ``units`` (modes as (w8, a8)), ``isolation``, ``acc_init``.

    Ports:
        ``w``: the lane's weight block (``w_lane_layout``) at the input (stage 0).
        ``a_codes``: the activation codes: at the input (stage 0) with ``isolation="hold"``
            (each unit registers its own operands), else the shared stage-1 register.
        ``a_meta``, ``a_nan``: activation meta bit and NaN flag at the input (stage 0).
        ``a_ms``, ``a_sh``: decoded activation block scale (stage 1; not with FP8 only).
        ``ld``: load enables of stages 1..4 (bits 0..3); ``step``, ``first``, ``last``: the
            accumulator stage (stage 5).
        ``out``: the lane's FP32 result of the last dot product.
    """

    def __init__(self, *, units, isolation: str, acc_init: bool):
        self.units = tuple(units)
        self.isolation = isolation
        self.acc_init = acc_init
        members = {
            "w": In(w_lane_layout(acc_init)), "a_codes": In(128), "a_meta": In(1),
            "a_nan": In(1), "ld": In(4), "step": In(1), "first": In(1), "last": In(1),
            "out": Out(32),
        }
        if not self.fp8_only:
            members.update(a_ms=In(4), a_sh=In(4))
        super().__init__(members)
        self.unit_probes = {}

    @property
    def fp8_only(self) -> bool:
        return self.units == ((1, 1),)

    @property
    def unit_name(self) -> str:
        return "fp8_lane" if self.fp8_only else f"lane_{self.isolation}"

    def elaborate(self, platform):
        m = Module()
        fp8_only = self.fp8_only
        wl = self.w
        ld1, ld2, ld3, ld4 = (self.ld[i] for i in range(4))
        mode_in = Cat(self.a_meta, wl.meta) if not fp8_only else Const(3, 2)
        mode1 = Signal(2, name="mode1", reset_less=True)
        nan1 = Signal(name="nan1", reset_less=True)
        with m.If(ld1):
            m.d.sync += [mode1.eq(mode_in),
                         nan1.eq(self.a_nan | block_nan(wl.meta, wl.codes, wl.scale, fp8_only))]
        if not fp8_only:
            w_ms, w_sh = _scale_fields(wl.meta, wl.scale, fp8_only)
            w_ms1 = Signal(4, name="ms1", reset_less=True)
            w_sh1 = Signal(4, name="sh1", reset_less=True)
            with m.If(ld1):
                m.d.sync += [w_ms1.eq(w_ms), w_sh1.eq(w_sh)]
        start = None
        if self.acc_init:
            prev = wl.acc
            for i in range(1, 5):
                nxt = Signal(32, name=f"init{i}", reset_less=True)
                with m.If(self.ld[i - 1]):
                    m.d.sync += nxt.eq(prev)
                prev = nxt
            start = prev

        # operands of each unit, isolated per self.isolation
        shared_w = None
        if self.isolation != "hold" or fp8_only:
            shared_w = Signal(128, name="w_codes1", reset_less=True)
            with m.If(ld1):
                m.d.sync += shared_w.eq(wl.codes)
        unit_d = {}
        for (w8, a8) in self.units:
            uidx = 2 * w8 + a8
            uname = UNIT_NAMES[uidx]
            wb, ab = 16 * _CODE_BITS[w8], 16 * _CODE_BITS[a8]
            if shared_w is None:                      # hold: per-unit operand registers
                w_op = Signal(wb, name=uname + "_w", reset_less=True)
                a_op = Signal(ab, name=uname + "_a", reset_less=True)
                with m.If(ld1 & (mode_in == uidx)):
                    m.d.sync += [w_op.eq(wl.codes[:wb]), a_op.eq(self.a_codes[:ab])]
            elif self.isolation == "and" and not fp8_only:
                sel = mode1 == uidx
                w_op = Signal(wb, name=uname + "_w")
                a_op = Signal(ab, name=uname + "_a")
                m.d.comb += [w_op.eq(shared_w[:wb] & sel.replicate(wb)),
                             a_op.eq(self.a_codes[:ab] & sel.replicate(ab))]
            else:
                w_op, a_op = shared_w[:wb], self.a_codes[:ab]
            dot = add_unit(m, f"dot_{uname}", DotProductUnit(w8=w8, a8=a8), platform)
            m.d.comb += [dot.w_codes.eq(w_op), dot.a_codes.eq(a_op)]
            unit_d[uidx] = dot.d
            self.unit_probes[uname] = (dot.w_codes, dot.a_codes, dot.d)

        # stage 2 input: selected block sum and its exponent
        dw = max(unit_width(*u) for u in self.units)
        d_sel = Signal(signed(dw), name="dsel")
        e_unit = Signal(signed(6), name="eunit")
        if len(unit_d) == 1:
            (uidx, d), = unit_d.items()
            m.d.comb += [d_sel.eq(d), e_unit.eq(unit_exp(*UNITS[uidx]))]
        else:
            with m.Switch(mode1):
                for uidx, d in unit_d.items():
                    with m.Case(uidx):
                        m.d.comb += [d_sel.eq(d), e_unit.eq(unit_exp(*UNITS[uidx]))]
        rnd = add_unit(m, "round", BlockScaleRound(
            d_width=dw, exp_min=_VmacBase.p_exponent_range[0],
            exp_max=_VmacBase.p_exponent_range[1], fixed_scale=fp8_only), platform)
        m.d.comb += [rnd.d.eq(d_sel), rnd.e_unit.eq(e_unit), rnd.nan.eq(nan1),
                     rnd.ld.eq(Cat(ld2, ld3, ld4))]
        if not fp8_only:
            m.d.comb += [rnd.w_ms.eq(w_ms1), rnd.w_sh.eq(w_sh1), rnd.a_ms.eq(self.a_ms),
                         rnd.a_sh.eq(self.a_sh)]

        acc = add_unit(m, "accumulator", Fp32Accumulator(start_port=start is not None),
                       platform)
        m.d.comb += [acc.p.eq(rnd.p), acc.first.eq(self.first), acc.step.eq(self.step),
                     acc.last.eq(self.last), self.out.eq(acc.out)]
        if start is not None:
            m.d.comb += acc.start.eq(start)
        return m


#: (M_s, sh_s) of the implicit block scale 6 of an FP8 block (UE4M3 0x4C)
_FP8_SCALE = (3, 10)


def _scale_fields(meta, scale, fp8_only: bool):
    """(M_s, sh_s) of a block scale (4 bits each): the implicit 6 = 3·2^1 of an FP8 block."""
    if fp8_only:
        return Const(_FP8_SCALE[0], 4), Const(_FP8_SCALE[1], 4)
    mant, sh = ue4m3_fields(scale)
    return Mux(meta, _FP8_SCALE[0], mant)[:4], Mux(meta, _FP8_SCALE[1], sh)[:4]


class _VmacBase(wiring.Component):
    """Common datapath of Vmac and Fp8Vmac (see the module docstring and docs/fgmp_rtl.md).

    Ports:
        ``a``: stream of struct ``codes`` (128), ``scale`` (8), ``meta`` (1), ``last`` (1): the
            activation block of this cycle, shared by all lanes; ``last`` = final block of the
            dot product.
        ``w``: stream of an array of ``lanes`` structs ``codes``, ``scale``, ``meta`` (and
            ``acc``, 32 bits, with ``acc_init``): lane l's weight block.
        ``o``: stream of an array of ``lanes`` FP32 bit patterns: the accumulators after a
            block pair with ``last`` = 1. Accumulation then restarts from +0 (or from the lane's
            ``acc`` field of the next block pair, with ``acc_init``).

    ``a`` and ``w`` are joined: a block pair transfers when both are valid and the pipeline
    advances. Pipeline: 5 register stages (operands, block sums, scaled integers, P32,
    accumulator/output); an output is valid ``latency`` = 5 cycles after the handshake of its
    ``last`` block pair. The pipeline stalls only when an output is pending (``o.valid`` and not
    ``o.ready``) and the next ``last`` block pair reaches the accumulator stage.

    Units: one ``VmacLane`` per lane (``lane_<l>``), each with a ``DotProductUnit`` per mode,
    a ``BlockScaleRound`` and an ``Fp32Accumulator``; the top level holds the control, the
    activation's stage-1 registers and ``o.valid``.
    """

    def __init__(self, *, lanes: int, units, isolation: str, acc_init: bool):
        self.lanes = check_int("lanes", lanes, 1, 64)
        self.isolation = check_choice("isolation", isolation, ISOLATION)
        if not isinstance(acc_init, bool):
            raise ValueError(f"acc_init must be a bool, got {acc_init!r}")
        self.acc_init = acc_init
        self.units = tuple(units)
        self._lanes = []
        super().__init__({
            "a": In(stream.Signature(a_layout())),
            "w": In(stream.Signature(w_layout(lanes, acc_init))),
            "o": Out(stream.Signature(data.ArrayLayout(32, lanes))),
        })

    metadata_properties = ("lanes", "isolation", "acc_init", "modes", "stages", "d_widths",
                           "p_exponent_range", "throughput", "protocol")

    @property
    def latency(self) -> int:
        """Cycles from the handshake of a ``last`` block pair to its result on ``o``."""
        return 5

    stages = ("operands", "block_sum", "scaled", "p32", "accumulate")
    throughput = "1 block pair per cycle"
    p_exponent_range = (-36, 8)
    protocol = ("a and w joined; o after the last=1 block pair, latency cycles after its "
                "handshake; accumulators restart at +0 (or w.acc with acc_init)")

    @property
    def modes(self) -> list[str]:
        return [UNIT_NAMES[UNITS.index(u)] for u in self.units]

    @property
    def d_widths(self) -> dict:
        return {UNIT_NAMES[UNITS.index(u)]: unit_width(*u) for u in self.units}

    @property
    def fp8_only(self) -> bool:
        return self.units == ((1, 1),)

    @property
    def unit_probes(self) -> dict:
        """(lane, mode) -> (weight operand, activation operand, block sum D) of the dot-product
        units of the last elaboration, for tests that observe operand isolation in simulation."""
        return {(n, mode): probe for n, lane in enumerate(self._lanes)
                for mode, probe in lane.unit_probes.items()}

    def elaborate(self, platform):
        m = Module()
        L = self.lanes
        a_in, w_in = self.a.payload, self.w.payload
        fp8_only = self.fp8_only

        # ---- control: valid bits of the four stages before the accumulator, global advance
        v1, v2, v3, v4 = (Signal(name=f"v{i}") for i in range(1, 5))
        last1, last2, last3, last4 = (Signal(name=f"last{i}", reset_less=True)
                                      for i in range(1, 5))
        en = Signal()
        take = Signal()
        m.d.comb += [
            en.eq(~(self.o.valid & ~self.o.ready & v4 & last4)),
            take.eq(self.a.valid & self.w.valid & en),
            self.a.ready.eq(self.w.valid & en),
            self.w.ready.eq(self.a.valid & en),
        ]
        with m.If(en):
            m.d.sync += [v1.eq(take), v2.eq(v1), v3.eq(v2), v4.eq(v3)]
        ld = Signal(4, name="ld")
        m.d.comb += ld.eq(Cat(take, en & v1, en & v2, en & v3))

        # ---- stage 1: the activation's decoded scale and codes, shared by every lane
        a_ms1 = Signal(4, name="a_ms1", reset_less=True)
        a_sh1 = Signal(4, name="a_sh1", reset_less=True)
        a_nan_in = block_nan(a_in.meta, a_in.codes, a_in.scale, fp8_only)
        with m.If(ld[0]):
            m.d.sync += last1.eq(a_in.last)
            if not fp8_only:
                a_ms, a_sh = _scale_fields(a_in.meta, a_in.scale, fp8_only)
                m.d.sync += [a_ms1.eq(a_ms), a_sh1.eq(a_sh)]
        with m.If(ld[1]):
            m.d.sync += last2.eq(last1)
        with m.If(ld[2]):
            m.d.sync += last3.eq(last2)
        with m.If(ld[3]):
            m.d.sync += last4.eq(last3)
        a_codes = a_in.codes
        if self.isolation != "hold" or fp8_only:
            a_codes = Signal(128, name="a_codes1", reset_less=True)
            with m.If(ld[0]):
                m.d.sync += a_codes.eq(a_in.codes)

        first = Signal(init=1)            # next accumulation starts from +0 / the init value
        acc_step = Signal(name="acc_step")
        m.d.comb += acc_step.eq(en & v4)
        self._lanes = []
        for n in range(L):
            lane = add_unit(m, f"lane_{n}", VmacLane(units=self.units, isolation=self.isolation,
                                                     acc_init=self.acc_init), platform)
            self._lanes.append(lane)
            m.d.comb += [lane.w.eq(w_in[n]), lane.a_codes.eq(a_codes),
                         lane.a_meta.eq(a_in.meta), lane.a_nan.eq(a_nan_in), lane.ld.eq(ld),
                         lane.step.eq(acc_step), lane.first.eq(first), lane.last.eq(last4),
                         self.o.payload[n].eq(lane.out)]
            if not fp8_only:
                m.d.comb += [lane.a_ms.eq(a_ms1), lane.a_sh.eq(a_sh1)]

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(acc_step):
            m.d.sync += first.eq(last4)
            with m.If(last4):
                m.d.sync += self.o.valid.eq(1)
        return m


class Vmac(_VmacBase):
    """FGMP VMAC: ``lanes`` lanes × four dot-product units (FP4×FP4, FP4×FP8, FP8×FP4, FP8×FP8)
    selected per lane by the two meta bits; exact block sums, one FP32 rounding per block pair,
    FP32 accumulation (docs/fgmp_rtl.md).

    Parameters (keyword-only):
        lanes: output channels sharing the activation block (1..64).
        isolation: operand isolation of the unused units: ``"hold"`` (each unit has its own
            operand registers, loaded only when the unit is selected: unused units keep their
            inputs and do not toggle), ``"and"`` (shared operand registers, unit inputs forced
            to 0 when unselected), ``"none"`` (no isolation; for energy comparisons).
        acc_init: add a 32-bit ``acc`` field per lane to ``w``: the FP32 start value of the
            accumulator for the first block pair of each dot product (partial-sum reload).
    """

    def __init__(self, *, lanes: int = 4, isolation: str = "hold", acc_init: bool = False):
        super().__init__(lanes=lanes, units=UNITS, isolation=isolation, acc_init=acc_init)


class Fp8Vmac(_VmacBase):
    """All-FP8 VMAC baseline: the interface of ``Vmac``, every block taken as FP8 (the meta and
    scale fields are ignored; implicit block scale 6), one FP8×FP8 unit per lane.

    Parameters (keyword-only): lanes (1..64), acc_init (as Vmac).
    """

    def __init__(self, *, lanes: int = 4, acc_init: bool = False):
        super().__init__(lanes=lanes, units=((1, 1),), isolation="none", acc_init=acc_init)
