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
from .common import BLOCK, check_choice, check_int

__all__ = ["Vmac", "Fp8Vmac", "UNITS", "ISOLATION", "a_layout", "w_layout", "unit_width"]

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
    """

    def __init__(self, *, lanes: int, units, isolation: str, acc_init: bool):
        self.lanes = check_int("lanes", lanes, 1, 64)
        self.isolation = check_choice("isolation", isolation, ISOLATION)
        if not isinstance(acc_init, bool):
            raise ValueError(f"acc_init must be a bool, got {acc_init!r}")
        self.acc_init = acc_init
        self.units = tuple(units)
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

    def elaborate(self, platform):
        m = Module()
        L = self.lanes
        a_in, w_in = self.a.payload, self.w.payload
        #: (lane, unit name) -> (weight operand, activation operand, block sum D) of the last
        #: elaboration, for tests that observe operand isolation in simulation
        self.unit_probes = {}
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
        ld1, ld2, ld3, ld4 = take, en & v1, en & v2, en & v3

        # ---- stage 1: operands, decoded scales, NaN flags
        def scale_fields(meta, scale):
            mant, sh = ue4m3_fields(scale)
            if fp8_only:
                return Const(3, 4), Const(10, 4)
            return Mux(meta, 3, mant)[:4], Mux(meta, 10, sh)[:4]

        a_ms, a_sh = scale_fields(a_in.meta, a_in.scale)
        a_ms1 = Signal(4, reset_less=True)
        a_sh1 = Signal(4, reset_less=True)
        a_nan_in = block_nan(a_in.meta, a_in.codes, a_in.scale, fp8_only)
        with m.If(ld1):
            m.d.sync += [a_ms1.eq(a_ms), a_sh1.eq(a_sh), last1.eq(a_in.last)]
        with m.If(ld2):
            m.d.sync += last2.eq(last1)
        with m.If(ld3):
            m.d.sync += last3.eq(last2)
        with m.If(ld4):
            m.d.sync += last4.eq(last3)

        shared_a = None
        if self.isolation != "hold" or fp8_only:
            shared_a = Signal(128, name="a_codes1", reset_less=True)
            with m.If(ld1):
                m.d.sync += shared_a.eq(a_in.codes)

        results = []
        for lane in range(L):
            wl = w_in[lane]
            p = f"l{lane}_"
            mode_in = Cat(a_in.meta, wl.meta) if not fp8_only else Const(3, 2)
            mode1 = Signal(2, name=p + "mode1", reset_less=True)
            w_ms, w_sh = scale_fields(wl.meta, wl.scale)
            w_ms1 = Signal(4, name=p + "ms1", reset_less=True)
            w_sh1 = Signal(4, name=p + "sh1", reset_less=True)
            nan1 = Signal(name=p + "nan1", reset_less=True)
            with m.If(ld1):
                m.d.sync += [mode1.eq(mode_in), w_ms1.eq(w_ms), w_sh1.eq(w_sh),
                             nan1.eq(a_nan_in | block_nan(wl.meta, wl.codes, wl.scale, fp8_only))]
            init1 = init2 = init3 = init4 = None
            if self.acc_init:
                init1, init2, init3, init4 = (Signal(32, name=f"{p}init{i}", reset_less=True)
                                              for i in range(1, 5))
                with m.If(ld1):
                    m.d.sync += init1.eq(wl.acc)
                with m.If(ld2):
                    m.d.sync += init2.eq(init1)
                with m.If(ld3):
                    m.d.sync += init3.eq(init2)
                with m.If(ld4):
                    m.d.sync += init4.eq(init3)

            # operands of each unit, isolated per self.isolation
            shared_w = None
            if self.isolation != "hold" or fp8_only:
                shared_w = Signal(128, name=p + "w_codes1", reset_less=True)
                with m.If(ld1):
                    m.d.sync += shared_w.eq(wl.codes)
            unit_d = {}
            for (w8, a8) in self.units:
                uname = p + UNIT_NAMES[UNITS.index((w8, a8))]
                uidx = 2 * w8 + a8
                wb, ab = 16 * _CODE_BITS[w8], 16 * _CODE_BITS[a8]
                if shared_w is None:                      # hold: per-unit operand registers
                    w_op = Signal(wb, name=uname + "_w", reset_less=True)
                    a_op = Signal(ab, name=uname + "_a", reset_less=True)
                    with m.If(ld1 & (mode_in == uidx)):
                        m.d.sync += [w_op.eq(wl.codes[:wb]), a_op.eq(a_in.codes[:ab])]
                elif self.isolation == "and" and not fp8_only:
                    sel = mode1 == uidx
                    w_op = Signal(wb, name=uname + "_w")
                    a_op = Signal(ab, name=uname + "_a")
                    m.d.comb += [w_op.eq(shared_w[:wb] & sel.replicate(wb)),
                                 a_op.eq(shared_a[:ab] & sel.replicate(ab))]
                else:
                    w_op, a_op = shared_w[:wb], shared_a[:ab]
                unit_d[uidx] = dot_unit(m, w_op, a_op, w8, a8, uname)
                self.unit_probes[(lane, UNIT_NAMES[uidx])] = (w_op, a_op, unit_d[uidx])

            # ---- stage 2: selected block sum, exponent, scale mantissa product
            dw = max(unit_width(*u) for u in self.units)
            d_sel = Signal(signed(dw), name=p + "dsel")
            e_unit = Signal(signed(6), name=p + "eunit")
            if len(unit_d) == 1:
                (uidx, d), = unit_d.items()
                m.d.comb += [d_sel.eq(d), e_unit.eq(unit_exp(*UNITS[uidx]))]
            else:
                with m.Switch(mode1):
                    for uidx, d in unit_d.items():
                        with m.Case(uidx):
                            m.d.comb += [d_sel.eq(d), e_unit.eq(unit_exp(*UNITS[uidx]))]
            d2 = Signal(signed(dw), name=p + "d2", reset_less=True)
            e2 = Signal(signed(7), name=p + "e2", reset_less=True)
            mm2 = Signal(8, name=p + "mm2", reset_less=True)
            nan2 = Signal(name=p + "nan2", reset_less=True)
            with m.If(ld2):
                m.d.sync += [d2.eq(d_sel), e2.eq(e_unit - 18 + w_sh1 + a_sh1),
                             mm2.eq(w_ms1 * a_ms1), nan2.eq(nan1)]

            # ---- stage 3: N = |D|·M_sw·M_sa (< 2^48), sign
            n3 = Signal(48, name=p + "n3", reset_less=True)
            s3 = Signal(name=p + "s3", reset_less=True)
            e3 = Signal(signed(7), name=p + "e3", reset_less=True)
            nan3 = Signal(name=p + "nan3", reset_less=True)
            dabs = Signal(dw - 1, name=p + "dabs")
            m.d.comb += dabs.eq(Mux(d2 < 0, -d2, d2))
            with m.If(ld3):
                m.d.sync += [n3.eq(dabs * mm2), s3.eq(d2 < 0), e3.eq(e2), nan3.eq(nan2)]

            # ---- stage 4: P32 = round_to_f32(N·2^E), NaN override
            p_rnd = f32_round(m, n3, e3, s3, exp_min=self.p_exponent_range[0],
                              exp_max=self.p_exponent_range[1], name=p + "prnd")
            p4 = Signal(32, name=p + "p4", reset_less=True)
            with m.If(ld4):
                m.d.sync += p4.eq(Mux(nan3, F32_QNAN, p_rnd))

            # ---- stage 5: accumulate; emit on last
            acc = Signal(32, name=p + "acc", reset_less=True)
            results.append((acc, p4, init4))

        first = Signal(init=1)            # next accumulation starts from +0 / the init value
        out_data = Signal(data.ArrayLayout(32, L), reset_less=True)
        m.d.comb += self.o.payload.eq(out_data)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        acc_step = en & v4
        for lane, (acc, p4, init4) in enumerate(results):
            start = init4 if init4 is not None else Const(0, 32)
            acc_in = Signal(32, name=f"l{lane}_accin")
            m.d.comb += acc_in.eq(Mux(first, start, acc))
            acc_new = f32_add(m, acc_in, p4, name=f"l{lane}_fadd")
            with m.If(acc_step):
                m.d.sync += acc.eq(acc_new)
                with m.If(last4):
                    m.d.sync += out_data[lane].eq(acc_new)
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
