"""Weight-stationary systolic arrays: the temporal-coded FineQ array and binary baselines.

Both arrays share one skeleton (``ArrayPlan.build``) and one interface, so one testbench drives
all of them; only the processing element, the weight encoding and the column accumulator differ.
Structure and timing are described in docs/fineq_rtl.md; summary:

* ``R`` rows x ``C`` columns; column ``c`` outputs ``sum_r a_r * w_(r,c)`` per activation vector.
* Weights: ``w`` stream, one beat per column (``R`` weights), ``C`` beats per tile, beat ``j``
  ends in column ``j`` (weights shift in from the right edge).
* Activations: ``a`` stream, one INT8 vector per beat plus ``last`` (the tile's final vector).
  Each vector occupies a window of ``T`` consecutive cycles (the temporal array's phases).
  Row ``r`` is delayed ``r`` cycles (input skew) and activations move right one PE per cycle,
  partial sums move down one PE per cycle, a per-column accumulator at the bottom adds the
  ``T`` time slices, and column ``c`` is delayed ``C-1-c`` cycles (output deskew).
* Results: ``o`` stream, the ``C`` column sums of one vector per beat plus ``last``.
* Control: LOAD (accept ``C`` weight beats) -> COMPUTE (accept vectors until ``last``) ->
  DRAIN (until the ``last`` result has left) -> LOAD. Back-pressure on ``o`` stalls the whole
  pipeline (one enable); idle input cycles travel through it as bubbles.

The generated Verilog is one flat module per block (PEs are built inline by ``ArrayPlan``), so
the Verilator lint's file-per-module rule holds; the PE components exist for per-PE synthesis.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .common import (ACT_BITS, ACT_MAX, ACT_MIN, CODINGS, WEIGHT, check_choice, check_int,
                     max_window, phase_bits, result_bound, signed_width, slice_bound)

__all__ = ["TemporalPE", "BinaryPE", "TemporalSystolicArray", "BinarySystolicArray",
           "ArrayPlan", "TemporalPlan", "BinaryPlan", "MAX_DIM", "product_range"]

MAX_DIM = 64


def _check_bool(name, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


def product_range(weight_bits: int) -> tuple[int, int]:
    """Range of a * w for INT8 a and a signed ``weight_bits`` w."""
    wlo, whi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    corners = [x * y for x in (ACT_MIN, ACT_MAX) for y in (wlo, whi)]
    return min(corners), max(corners)


def _any(bits):
    out = bits[0]
    for b in bits[1:]:
        out = out | b
    return out


# ------------------------------------------------------------------------------------------------
# PE arithmetic (shared by the standalone PE components and the inline array PEs)
# ------------------------------------------------------------------------------------------------

def temporal_sum(m: Module, coding: str, psum_in, a, ph, w, name: str = "term"):
    """``psum_in`` plus one temporal term: 0, ±a or ±2a (no multiplier).

    * ``csd``: phase 0 adds ``d0 * a`` with d0 = +1 (k even), -1 (k odd), 0 (mag 0); phase 1
      adds ``d1 * a`` with d1 = 0, 1, 1, 2 for k = 0, 1, 2, 3 (the column accumulator weighs
      phase 1 by 4), so |level| = d0 + 4*d1; both signed by the weight's sign.
    * ``unary``: phase 0 adds ``nz * a``, phase t >= 1 adds ``a`` if t <= k (weighed by 2 at the
      bottom), so |level| = 1 + 2k; signed by the weight's sign.

    Hardware: a one-hot AND-OR select of a / 2a, XOR with the sign, the sign as carry-in, one
    adder.
    """
    nz, k0, k1, s = w.mag[0], w.mag[1], w.mag[2], w.sign
    # Bind the control bits to signals: replicating an expression would copy it per bit in the
    # emitted Verilog (Yosys merges the copies, but simulators compile every one).
    sel1 = Signal(name=f"{name}_sel_a")
    neg = Signal(name=f"{name}_neg")
    if coding == "csd":
        p1 = ph[0]
        sel2 = Signal(name=f"{name}_sel_2a")
        m.d.comb += [sel1.eq(Mux(p1, k0 ^ k1, nz)),      # add a
                     sel2.eq(p1 & k0 & k1),              # add 2a
                     neg.eq(Mux(p1, s, s ^ k0))]
        xw = ACT_BITS + 2
    else:
        sel2 = None
        m.d.comb += [sel1.eq(Mux(ph == 0, nz, ph <= Cat(k0, k1))), neg.eq(s)]
        xw = ACT_BITS + 1
    x = Signal(signed(xw), name=name)
    sel = a & sel1.replicate(xw).as_signed()
    if sel2 is not None:
        sel = sel | ((a << 1) & sel2.replicate(xw).as_signed())
    m.d.comb += x.eq(sel)
    # -x = ~x + 1: XOR with the sign, sign as the adder's carry-in.
    return psum_in + (x ^ neg.replicate(xw).as_signed()) + neg


def binary_sum(m: Module, psum_in, a, w):
    """``psum_in + a * w``: the conventional multiply-accumulate."""
    return psum_in + a * w


# ------------------------------------------------------------------------------------------------
# Standalone PE components (for per-PE synthesis and the no-multiplier evidence)
# ------------------------------------------------------------------------------------------------

class _PE(wiring.Component):
    """One PE with its registers. ``a``/``ph`` move right and the partial sum moves down when
    ``en``; the weight register loads ``w_in`` when ``load``. Datapath registers, no reset."""

    def __init__(self, *, row: int, weight_shape, ph_bits: int, psum_out_width: int,
                 psum_in_width: int):
        self.row = row
        self.psum_out_width = psum_out_width
        self.psum_in_width = psum_in_width
        self.ph_bits = ph_bits
        members = {
            "en": In(1), "load": In(1),
            "a_in": In(signed(ACT_BITS)), "a_out": Out(signed(ACT_BITS)),
            "w_in": In(weight_shape), "w_out": Out(weight_shape),
            "psum_out": Out(signed(psum_out_width)),
        }
        if ph_bits:
            members["ph_in"] = In(ph_bits)
            members["ph_out"] = Out(ph_bits)
        if psum_in_width:
            members["psum_in"] = In(signed(psum_in_width))
        super().__init__(members)

    @property
    def latency(self) -> int:
        return 1

    def _sum(self, m, psum_in, a, ph, w):
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        a = Signal(signed(ACT_BITS), reset_less=True)
        w = Signal(self.w_in.shape(), reset_less=True)
        ps = Signal(signed(self.psum_out_width), reset_less=True)
        ph = Signal(self.ph_bits, reset_less=True) if self.ph_bits else None
        psum_in = self.psum_in if self.psum_in_width else Const(0, signed(2))
        with m.If(self.en):
            m.d.sync += [a.eq(self.a_in), ps.eq(self._sum(m, psum_in, a, ph, w))]
            if ph is not None:
                m.d.sync += ph.eq(self.ph_in)
        with m.If(self.load):
            m.d.sync += w.eq(self.w_in)
        m.d.comb += [self.a_out.eq(a), self.w_out.eq(w), self.psum_out.eq(ps)]
        if ph is not None:
            m.d.comb += self.ph_out.eq(ph)
        return m


class TemporalPE(_PE):
    """Multiplier-free PE of the temporal-coded array (see ``temporal_sum``).

    Parameters: ``coding`` (``"csd"``/``"unary"``), ``row`` (0-based row in the array; sets the
    partial-sum widths: exactly the range of ``row + 1`` terms, see ``slice_bound``).
    """

    def __init__(self, *, coding: str = "csd", row: int = 0):
        self.coding = check_choice("coding", coding, CODINGS)
        check_int("row", row, 0, MAX_DIM - 1)
        super().__init__(row=row, weight_shape=WEIGHT, ph_bits=phase_bits(coding),
                         psum_out_width=TemporalPlan.slice_width(coding, row),
                         psum_in_width=TemporalPlan.slice_width(coding, row - 1) if row else 0)

    metadata_properties = ("coding", "psum_out_width", "row")

    def _sum(self, m, psum_in, a, ph, w):
        return temporal_sum(m, self.coding, psum_in, a, ph, w)


class BinaryPE(_PE):
    """Conventional multiply-accumulate PE: ``psum_in + a * w`` with a signed ``weight_bits``
    weight (two's complement): the baseline of the temporal PE."""

    def __init__(self, *, weight_bits: int = 4, row: int = 0):
        self.weight_bits = BinaryPlan.check_weight_bits(weight_bits)
        check_int("row", row, 0, MAX_DIM - 1)
        super().__init__(row=row, weight_shape=signed(weight_bits), ph_bits=0,
                         psum_out_width=BinaryPlan.slice_width(weight_bits, row),
                         psum_in_width=BinaryPlan.slice_width(weight_bits, row - 1) if row else 0)

    metadata_properties = ("weight_bits", "psum_out_width", "row")

    def _sum(self, m, psum_in, a, ph, w):
        return binary_sum(m, psum_in, a, w)


# ------------------------------------------------------------------------------------------------
# Array plans: parameters, derived widths and the hardware builder
# ------------------------------------------------------------------------------------------------

_CTL = data.StructLayout({"valid": 1, "first": 1, "final": 1, "last": 1})


class ArrayPlan:
    """Configuration, derived properties and builder of a systolic array (no hardware state;
    the components and FineQCore build the same logic from it into their own module)."""

    weight_encoding = "?"
    max_window = 1
    min_window = 1

    def __init__(self, rows: int, cols: int, weight_shape, acc_width: int):
        self.rows = check_int("rows", rows, 1, MAX_DIM)
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.weight_shape = weight_shape
        self.acc_width = acc_width

    # ---- shapes of the three streams ---------------------------------------------------
    @property
    def w_shape(self):
        return data.ArrayLayout(self.weight_shape, self.rows)

    @property
    def a_shape(self):
        return data.StructLayout({"data": data.ArrayLayout(signed(ACT_BITS), self.rows),
                                  "last": 1})

    @property
    def o_shape(self):
        return data.StructLayout({"data": data.ArrayLayout(signed(self.acc_width), self.cols),
                                  "last": 1})

    @property
    def weight_width(self) -> int:
        return data.ArrayLayout(self.weight_shape, 1).size

    # ---- timing ------------------------------------------------------------------------
    def latency_for(self, window: int) -> int:
        """Cycles from a vector's input handshake to its result on ``o`` without stalls:
        ``R + C + T + 1``."""
        return self.rows + self.cols + window + 1

    # ---- subclass hooks ----------------------------------------------------------------
    ph_bits = 0

    def psum_width(self, row: int) -> int:
        raise NotImplementedError

    def pe_sum(self, m, psum_in, a, ph, w, name="term"):
        raise NotImplementedError

    def window_logic(self, m, load, first_beat, beat):
        """The current window length T: a signal set while loading, or an int."""
        return 1

    def column_result(self, m, en, slice_, ctl):
        """Combinational column sum at the cycle the column's final slice arrives."""
        return slice_

    # ---- the hardware ------------------------------------------------------------------
    def build(self, m: Module, w, a, o) -> None:
        """Build the array into ``m``; ``w``, ``a``, ``o`` are stream interfaces (``w``/``a``
        consumed, ``o`` produced)."""
        R, C = self.rows, self.cols
        pb = self.ph_bits
        tmax = self.max_window

        # --- control: LOAD -> COMPUTE -> DRAIN -> LOAD
        LOAD, COMPUTE, DRAIN = 0, 1, 2
        state = Signal(2, init=LOAD, name="state")
        en = Signal(name="en")                 # the compute pipeline advances
        m.d.comb += en.eq(~o.valid | o.ready)

        # --- weight loading: C beats, beat j ends in column j
        col = Signal(range(C), init=0, name="load_col")
        load = Signal(name="load")
        m.d.comb += [w.ready.eq(state == LOAD), load.eq(w.valid & w.ready)]
        window = self.window_logic(m, load, col == 0, w.payload)
        with m.If(load):
            m.d.sync += col.eq(Mux(col == C - 1, 0, col + 1))
            with m.If(col == C - 1):
                m.d.sync += state.eq(COMPUTE)

        # --- feeder: holds the accepted vector for T cycles, phase 0..T-1
        cur = Signal(a.payload.data.shape(), reset_less=True, name="feed_data")
        cur_last = Signal(reset_less=True, name="feed_last")
        fv = Signal(init=0, name="feed_valid")
        ph = Signal(range(max(tmax, 2)), init=0, name="feed_phase")
        at_end = Signal(name="feed_final")
        m.d.comb += at_end.eq(ph == window - 1)
        take = Signal(name="take")
        m.d.comb += [
            a.ready.eq(en & (state == COMPUTE) & (~fv | at_end)),
            take.eq(a.valid & a.ready),
        ]
        with m.If(en):
            with m.If(fv & ~at_end):
                m.d.sync += ph.eq(ph + 1)
            with m.Else():
                m.d.sync += [fv.eq(take), ph.eq(0)]
                m.d.sync += [cur.eq(a.payload.data), cur_last.eq(a.payload.last)]
        with m.If(take & a.payload.last):
            m.d.sync += state.eq(DRAIN)
        with m.If(o.valid & o.ready & o.payload.last):
            m.d.sync += state.eq(LOAD)

        ctl = Signal(_CTL, name="feed_ctl")
        m.d.comb += [ctl.valid.eq(fv), ctl.first.eq(ph == 0), ctl.final.eq(at_end),
                     ctl.last.eq(cur_last & at_end)]

        # --- input skew: row r delayed r cycles (activation + phase)
        row_in = []
        for r in range(R):
            av, pv = cur[r], (ph[:pb] if pb else None)
            for d in range(r):
                na = Signal(signed(ACT_BITS), name=f"skew_a_{r}_{d}", reset_less=True)
                with m.If(en):
                    m.d.sync += na.eq(av)
                if pb:
                    np_ = Signal(pb, name=f"skew_ph_{r}_{d}", reset_less=True)
                    with m.If(en):
                        m.d.sync += np_.eq(pv)
                    pv = np_
                av = na
            row_in.append((av, pv))

        # --- PE grid (inline): registers a, ph (en), w (load), psum (en)
        pa = [[None] * C for _ in range(R)]
        pp = [[None] * C for _ in range(R)]
        pw = [[None] * C for _ in range(R)]
        ps = [[None] * C for _ in range(R)]
        for r in range(R):
            for c in range(C):
                pa[r][c] = Signal(signed(ACT_BITS), name=f"pe_{r}_{c}_a", reset_less=True)
                pw[r][c] = Signal(self.weight_shape, name=f"pe_{r}_{c}_w", reset_less=True)
                ps[r][c] = Signal(signed(self.psum_width(r)), name=f"pe_{r}_{c}_psum",
                                  reset_less=True)
                if pb:
                    pp[r][c] = Signal(pb, name=f"pe_{r}_{c}_ph", reset_less=True)
        for r in range(R):
            for c in range(C):
                a_in = row_in[r][0] if c == 0 else pa[r][c - 1]
                ph_in = (row_in[r][1] if c == 0 else pp[r][c - 1]) if pb else None
                w_in = w.payload[r] if c == C - 1 else pw[r][c + 1]
                psum_in = ps[r - 1][c] if r else Const(0, signed(2))
                nxt = self.pe_sum(m, psum_in, pa[r][c], pp[r][c], pw[r][c], f"pe_{r}_{c}_term")
                with m.If(en):
                    m.d.sync += [pa[r][c].eq(a_in), ps[r][c].eq(nxt)]
                    if pb:
                        m.d.sync += pp[r][c].eq(ph_in)
                with m.If(load):
                    m.d.sync += pw[r][c].eq(w_in)

        # --- bottom control: the feeder's ctl delayed R+1 cycles, then one more per column
        prev = ctl
        for d in range(R + 1):
            nxt = Signal(_CTL, name=f"ctl_delay_{d}")
            with m.If(en):
                m.d.sync += nxt.eq(prev)
            prev = nxt
        bctl = [prev]
        for c in range(1, C):
            nxt = Signal(_CTL, name=f"ctl_col_{c}")
            with m.If(en):
                m.d.sync += nxt.eq(bctl[-1])
            bctl.append(nxt)

        # --- column accumulators and output deskew (column c delayed C-1-c cycles)
        out_vals = []
        for c in range(C):
            val = self.column_result(m, en, ps[R - 1][c], bctl[c], c)
            v = Signal(signed(self.acc_width), name=f"col_{c}")
            m.d.comb += v.eq(val)
            for d in range(C - 1 - c):
                nv = Signal(signed(self.acc_width), name=f"deskew_{c}_{d}", reset_less=True)
                with m.If(en):
                    m.d.sync += nv.eq(v)
                v = nv
            out_vals.append(v)

        o_data = Signal(o.payload.data.shape(), reset_less=True, name="out_data")
        o_last = Signal(reset_less=True, name="out_last")
        m.d.comb += [o.payload.data.eq(o_data), o.payload.last.eq(o_last)]
        with m.If(en):
            m.d.sync += [o.valid.eq(bctl[C - 1].valid & bctl[C - 1].final),
                         o_last.eq(bctl[C - 1].last)]
            m.d.sync += [o_data[c].eq(v) for c, v in enumerate(out_vals)]


class TemporalPlan(ArrayPlan):
    weight_encoding = "sign_magnitude"

    def __init__(self, rows: int, cols: int, coding: str, early_finish: bool):
        self.coding = check_choice("coding", coding, CODINGS)
        self.early_finish = _check_bool("early_finish", early_finish)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = result_bound(rows)
        super().__init__(rows, cols, WEIGHT, signed_width(lo, hi))
        self.ph_bits = phase_bits(coding)
        self.max_window = max_window(coding)
        self.min_window = 1 if early_finish else self.max_window

    @staticmethod
    def slice_width(coding: str, row: int) -> int:
        b = slice_bound(coding, row)
        return signed_width(-b, b)

    def psum_width(self, row):
        return self.slice_width(self.coding, row)

    def pe_sum(self, m, psum_in, a, ph, w, name="term"):
        return temporal_sum(m, self.coding, psum_in, a, ph, w, name)

    def window_logic(self, m, load, first_beat, beat):
        if not self.early_finish:
            return self.max_window
        mags = [beat[r].mag for r in range(self.rows)]
        if self.coding == "csd":
            beat_flags = Cat(_any([g[1] | g[2] for g in mags]))    # some |level| >= 3
        else:
            beat_flags = Cat(_any([g[1] | g[2] for g in mags]),     # some k >= 1
                             _any([g[2] for g in mags]),            # some k >= 2
                             _any([g[1] & g[2] for g in mags]))     # some k == 3
        flags = Signal(len(beat_flags), reset_less=True, name="window_flags")
        window = Signal(range(1, self.max_window + 1), init=self.max_window, name="window")
        merged = Signal(len(beat_flags), name="window_flags_next")
        m.d.comb += merged.eq(Mux(first_beat, 0, flags) | beat_flags)
        with m.If(load):
            m.d.sync += flags.eq(merged)
            if self.coding == "csd":
                m.d.sync += window.eq(1 + merged[0])
            else:
                m.d.sync += window.eq(Mux(merged[2], 4, Mux(merged[1], 3, Mux(merged[0], 2, 1))))
        return window

    def column_result(self, m, en, slice_, ctl, c):
        # acc <- (first ? 0 : acc) + slice * (1 | 4 (csd phase 1) | 2 (unary phase >= 1)),
        # modulo 2**acc_width. Only the final sum outlives its window and it lies in the exact
        # result range; partial sums between phases do too (unary: a partial level; csd: the
        # phase-0 slice), and a csd 4*slice1 term that alone exceeds the range still adds up
        # to the exact final value in modular arithmetic.
        shift = 2 if self.coding == "csd" else 1
        acc = Signal(signed(self.acc_width), reset_less=True, name=f"acc_{c}")
        nxt = Signal(signed(self.acc_width), name=f"acc_{c}_next")
        m.d.comb += nxt.eq(Mux(ctl.first, 0, acc) + Mux(ctl.first, slice_, slice_ << shift))
        with m.If(en):
            m.d.sync += acc.eq(nxt)
        return nxt


class BinaryPlan(ArrayPlan):
    def __init__(self, rows: int, cols: int, weight_bits: int):
        self.weight_bits = self.check_weight_bits(weight_bits)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = product_range(weight_bits)
        super().__init__(rows, cols, signed(weight_bits), signed_width(lo * rows, hi * rows))

    @staticmethod
    def check_weight_bits(weight_bits) -> int:
        if isinstance(weight_bits, bool) or weight_bits not in (4, 8):
            raise ValueError(f"weight_bits must be 4 or 8, got {weight_bits!r}")
        return weight_bits

    @staticmethod
    def slice_width(weight_bits: int, row: int) -> int:
        lo, hi = product_range(weight_bits)
        return signed_width(lo * (row + 1), hi * (row + 1))

    @property
    def weight_encoding(self) -> str:
        return f"int{self.weight_bits}"

    def psum_width(self, row):
        return self.slice_width(self.weight_bits, row)

    def pe_sum(self, m, psum_in, a, ph, w, name="term"):
        return binary_sum(m, psum_in, a, w)

    def column_result(self, m, en, slice_, ctl, c):
        return slice_


# ------------------------------------------------------------------------------------------------
# The array components
# ------------------------------------------------------------------------------------------------

class _SystolicArray(wiring.Component):
    """Component wrapper of an ArrayPlan: ports ``w``, ``a``, ``o`` (module docstring)."""

    def __init__(self, plan: ArrayPlan):
        self.plan = plan
        super().__init__({
            "w": In(stream.Signature(plan.w_shape)),
            "a": In(stream.Signature(plan.a_shape)),
            "o": Out(stream.Signature(plan.o_shape)),
        })

    metadata_properties = ("rows", "cols", "acc_width", "weight_encoding", "weight_width",
                           "min_window", "max_window", "latency_formula", "load_cycles",
                           "psum_widths", "throughput")

    rows = property(lambda self: self.plan.rows)
    cols = property(lambda self: self.plan.cols)
    acc_width = property(lambda self: self.plan.acc_width)
    weight_encoding = property(lambda self: self.plan.weight_encoding)
    weight_width = property(lambda self: self.plan.weight_width)
    min_window = property(lambda self: self.plan.min_window)
    max_window = property(lambda self: self.plan.max_window)

    @property
    def psum_widths(self) -> list[int]:
        """Width of the partial-sum registers of each PE row, top to bottom."""
        return [self.plan.psum_width(r) for r in range(self.plan.rows)]

    def latency_for(self, window: int) -> int:
        return self.plan.latency_for(window)

    @property
    def latency(self) -> int:
        """Latency at the largest window: ``rows + cols + max_window + 1``."""
        return self.plan.latency_for(self.plan.max_window)

    @property
    def latency_formula(self) -> str:
        return "rows + cols + T + 1"

    @property
    def load_cycles(self) -> int:
        """Weight beats (= cycles) per tile: one column per beat."""
        return self.plan.cols

    @property
    def throughput(self) -> str:
        return "one vector per T cycles"

    def elaborate(self, platform):
        m = Module()
        self.plan.build(m, self.w, self.a, self.o)
        return m


class TemporalSystolicArray(_SystolicArray):
    """Temporal-coded FineQ systolic array (weight-stationary, no multiplier).

    Parameters (keyword-only):
        rows, cols: array size R x C (1..64).
        coding: ``"csd"`` (default; T <= 2) or ``"unary"`` (T <= 4), see ``temporal_sum``.
        early_finish: choose T per tile from its weights (``common.window_cycles``); otherwise
            T is always ``max_window``.

    Weight beat: R x ``WEIGHT`` (mag[2:0] = |level| in {0, 1, 3, 5, 7}, sign[3]).
    Output: C signed sums of ``acc_width`` bits, the exact range of R products a * level.
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, coding: str = "csd",
                 early_finish: bool = True):
        super().__init__(TemporalPlan(rows, cols, coding, early_finish))

    metadata_properties = _SystolicArray.metadata_properties + ("coding", "early_finish")
    coding = property(lambda self: self.plan.coding)
    early_finish = property(lambda self: self.plan.early_finish)


class BinarySystolicArray(_SystolicArray):
    """Conventional binary baseline: multiplier PEs, INT8 x INT``weight_bits``, T = 1.

    Same ports and protocol as TemporalSystolicArray; a weight is a ``weight_bits`` two's
    complement integer (FineQ levels -7..7 fit INT4).
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, weight_bits: int = 4):
        super().__init__(BinaryPlan(rows, cols, weight_bits))

    metadata_properties = _SystolicArray.metadata_properties + ("weight_bits",)
    weight_bits = property(lambda self: self.plan.weight_bits)
