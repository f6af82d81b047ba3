"""Weight-stationary systolic arrays: the temporal-coded FineQ array and binary baselines.

Both arrays share one skeleton (``_SystolicArray``) and one interface, so one testbench drives
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

Units (one module each in the generated Verilog, rtl/hierarchy.py): ``ActivationFeeder``
(window hold, input skew, the phase line along the anti-diagonals), ``R x C`` PEs
(``TemporalPE`` / ``BinaryPE``), one ``ColumnAccumulator`` per column (temporal only),
``OutputDeskew``; the top level keeps the LOAD/COMPUTE/DRAIN control, the window choice and the
control delay line.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hierarchy import add_unit
from .common import (ACT_BITS, ACT_MAX, ACT_MIN, CODINGS, WEIGHT, check_choice, check_int,
                     max_window, phase_bits, result_bound, signed_width, slice_bound)

__all__ = ["TemporalPE", "BinaryPE", "TemporalSystolicArray", "BinarySystolicArray",
           "ActivationFeeder", "ColumnAccumulator", "OutputDeskew", "CTL", "MAX_DIM",
           "product_range", "temporal_slice_width", "binary_slice_width"]

MAX_DIM = 64

#: Control word that travels with each time slice: the window's slot is occupied (``valid``),
#: first / final phase of the window, and the tile's last vector (on its final phase).
CTL = data.StructLayout({"valid": 1, "first": 1, "final": 1, "last": 1})


def _check_bool(name, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


def _check_weight_bits(weight_bits) -> int:
    if isinstance(weight_bits, bool) or weight_bits not in (4, 8):
        raise ValueError(f"weight_bits must be 4 or 8, got {weight_bits!r}")
    return weight_bits


def product_range(weight_bits: int) -> tuple[int, int]:
    """Range of a * w for INT8 a and a signed ``weight_bits`` w."""
    wlo, whi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    corners = [x * y for x in (ACT_MIN, ACT_MAX) for y in (wlo, whi)]
    return min(corners), max(corners)


def temporal_slice_width(coding: str, row: int) -> int:
    """Partial-sum width leaving PE row ``row`` of a temporal array (exact, ``slice_bound``)."""
    b = slice_bound(coding, row)
    return signed_width(-b, b)


def binary_slice_width(weight_bits: int, row: int) -> int:
    """Partial-sum width leaving PE row ``row`` of a binary array: ``row + 1`` products."""
    lo, hi = product_range(weight_bits)
    return signed_width(lo * (row + 1), hi * (row + 1))


def _any(bits):
    out = bits[0]
    for b in bits[1:]:
        out = out | b
    return out


# ------------------------------------------------------------------------------------------------
# PE arithmetic
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


# ------------------------------------------------------------------------------------------------
# Processing elements
# ------------------------------------------------------------------------------------------------

class _PE(wiring.Component):
    """One PE with its registers. ``a`` moves right and the partial sum moves down when ``en``;
    the weight register loads ``w_in`` when ``load``. Datapath registers, no reset.

    Ports: ``en``, ``load``, ``a_in``/``a_out`` (INT8), ``w_in``/``w_out`` (one weight),
    ``ph`` (temporal coding: the phase of the activation held in ``a``; every PE on one
    anti-diagonal sees the same phase, so the array delivers it from one shared register per
    diagonal instead of a register per PE), ``psum_in`` (not in row 0), ``psum_out``.
    """

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
            members["ph"] = In(ph_bits)
        if psum_in_width:
            members["psum_in"] = In(signed(psum_in_width))
        super().__init__(members)

    @property
    def latency(self) -> int:
        return 1

    @property
    def unit_key(self):
        return (self._kind, self.psum_in_width, self.psum_out_width)

    @property
    def unit_name(self) -> str:
        # rows with the same partial-sum widths share one module
        widths = f"p{self.psum_in_width}_{self.psum_out_width}" if self.psum_in_width \
            else f"p{self.psum_out_width}"
        return f"{self._kind}_pe_{widths}"

    def _sum(self, m, psum_in, a, ph, w):
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        a = Signal(signed(ACT_BITS), reset_less=True)
        w = Signal(self.w_in.shape(), reset_less=True)
        ps = Signal(signed(self.psum_out_width), reset_less=True)
        ph = self.ph if self.ph_bits else None
        psum_in = self.psum_in if self.psum_in_width else Const(0, signed(2))
        with m.If(self.en):
            m.d.sync += [a.eq(self.a_in), ps.eq(self._sum(m, psum_in, a, ph, w))]
        with m.If(self.load):
            m.d.sync += w.eq(self.w_in)
        m.d.comb += [self.a_out.eq(a), self.w_out.eq(w), self.psum_out.eq(ps)]
        return m


class TemporalPE(_PE):
    """Multiplier-free PE of the temporal-coded array (see ``temporal_sum``).

    Parameters: ``coding`` (``"csd"``/``"unary"``), ``row`` (0-based row in the array; sets the
    partial-sum widths: exactly the range of ``row + 1`` terms, see ``slice_bound``).
    """

    def __init__(self, *, coding: str = "csd", row: int = 0):
        self.coding = check_choice("coding", coding, CODINGS)
        check_int("row", row, 0, MAX_DIM - 1)
        self._kind = f"temporal_{coding}"
        super().__init__(row=row, weight_shape=WEIGHT, ph_bits=phase_bits(coding),
                         psum_out_width=temporal_slice_width(coding, row),
                         psum_in_width=temporal_slice_width(coding, row - 1) if row else 0)

    metadata_properties = ("coding", "psum_out_width", "row")

    def _sum(self, m, psum_in, a, ph, w):
        return temporal_sum(m, self.coding, psum_in, a, ph, w)


class BinaryPE(_PE):
    """Conventional multiply-accumulate PE: ``psum_in + a * w`` with a signed ``weight_bits``
    weight (two's complement): the baseline of the temporal PE."""

    def __init__(self, *, weight_bits: int = 4, row: int = 0):
        self.weight_bits = _check_weight_bits(weight_bits)
        check_int("row", row, 0, MAX_DIM - 1)
        self._kind = f"int{weight_bits}"
        super().__init__(row=row, weight_shape=signed(weight_bits), ph_bits=0,
                         psum_out_width=binary_slice_width(weight_bits, row),
                         psum_in_width=binary_slice_width(weight_bits, row - 1) if row else 0)

    metadata_properties = ("weight_bits", "psum_out_width", "row")

    def _sum(self, m, psum_in, a, ph, w):
        return psum_in + a * w


# ------------------------------------------------------------------------------------------------
# Feeder, column accumulator, output deskew
# ------------------------------------------------------------------------------------------------

def _a_shape(rows: int):
    return data.StructLayout({"data": data.ArrayLayout(signed(ACT_BITS), rows), "last": 1})


def _o_shape(cols: int, acc_width: int):
    return data.StructLayout({"data": data.ArrayLayout(signed(acc_width), cols), "last": 1})


class ActivationFeeder(wiring.Component):
    """Holds each accepted activation vector for a window of ``T`` cycles (phase 0..T-1) and
    skews row ``r`` by ``r`` cycles, so the vector enters the PE grid as a diagonal wavefront;
    delays the phase along the anti-diagonals (PE (r, c) works on the phase of ``r + c + 1``
    cycles ago).

    Parameters (keyword-only): ``rows``, ``cols``; ``ph_bits`` (phase bits, 0 = none);
    ``max_window`` (largest T); ``fixed_window`` (True: T is always ``max_window`` and there is
    no ``window`` port).

    Ports:
        ``a``: the array's activation stream (``a.ready`` = ``en & accept`` and the window is
            free or ending).
        ``en``: pipeline advance; ``accept``: the array takes vectors (COMPUTE state).
        ``window``: current T (1..max_window), when not fixed.
        ``row_a``: skewed activation of each row (to PE column 0).
        ``diag_ph``: phase of anti-diagonal d = r + c (to every PE on it), the phase register
            delayed ``d + 1`` cycles.
        ``ctl``: ``CTL`` of the slot at the feeder (unskewed); ``took_last``: the tile's last
            vector was accepted this cycle.
    """

    def __init__(self, *, rows: int, cols: int, ph_bits: int, max_window: int,
                 fixed_window: bool):
        self.rows = check_int("rows", rows, 1, MAX_DIM)
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.ph_bits = check_int("ph_bits", ph_bits, 0, 4)
        self.max_window = check_int("max_window", max_window, 1, 16)
        self.fixed_window = _check_bool("fixed_window", fixed_window)
        members = {
            "a": In(stream.Signature(_a_shape(rows))),
            "en": In(1), "accept": In(1),
            "row_a": Out(data.ArrayLayout(signed(ACT_BITS), rows)),
            "ctl": Out(CTL), "took_last": Out(1),
        }
        if ph_bits:
            members["diag_ph"] = Out(data.ArrayLayout(ph_bits, rows + cols - 1))
        if not fixed_window:
            members["window"] = In(range(1, max_window + 1))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        R, pb = self.rows, self.ph_bits
        a = self.a
        window = self.max_window if self.fixed_window else self.window
        cur = Signal(a.payload.data.shape(), reset_less=True, name="data")
        cur_last = Signal(reset_less=True, name="last")
        fv = Signal(init=0, name="valid")
        ph = Signal(range(max(self.max_window, 2)), init=0, name="phase")
        at_end = Signal(name="final")
        m.d.comb += at_end.eq(ph == window - 1)
        take = Signal(name="take")
        m.d.comb += [
            a.ready.eq(self.en & self.accept & (~fv | at_end)),
            take.eq(a.valid & a.ready),
            self.took_last.eq(take & a.payload.last),
        ]
        with m.If(self.en):
            with m.If(fv & ~at_end):
                m.d.sync += ph.eq(ph + 1)
            with m.Else():
                m.d.sync += [fv.eq(take), ph.eq(0)]
                m.d.sync += [cur.eq(a.payload.data), cur_last.eq(a.payload.last)]
        m.d.comb += [self.ctl.valid.eq(fv), self.ctl.first.eq(ph == 0), self.ctl.final.eq(at_end),
                     self.ctl.last.eq(cur_last & at_end)]

        # input skew: row r delayed r cycles
        for r in range(R):
            av = cur[r]
            for d in range(r):
                na = Signal(signed(ACT_BITS), name=f"skew_a_{r}_{d}", reset_less=True)
                with m.If(self.en):
                    m.d.sync += na.eq(av)
                av = na
            m.d.comb += self.row_a[r].eq(av)
        # phase line: anti-diagonal d sees the phase delayed d + 1 cycles
        pv = ph[:pb] if pb else None
        for d in range(R + self.cols - 1 if pb else 0):
            np_ = Signal(pb, name=f"diag_ph_{d}", reset_less=True)
            with m.If(self.en):
                m.d.sync += np_.eq(pv)
            m.d.comb += self.diag_ph[d].eq(np_)
            pv = np_
        return m


class ColumnAccumulator(wiring.Component):
    """Adds the ``T`` time slices of one column of a temporal array.

    ``acc <= (first ? 0 : acc) + (first ? slice : slice << shift)`` when ``en`` (shift 2 for
    csd phase 1, 1 for unary phases >= 1), modulo 2**acc_width. Only the final sum
    outlives its window and it lies in the exact result range; partial sums between phases do
    too (unary: a partial level; csd: the phase-0 slice), and a csd 4*slice1 term that alone
    exceeds the range still adds up to the exact final value in modular arithmetic.

    Ports: ``slice`` (bottom PE's partial sum), ``first`` (phase 0 of the window), ``en``,
    ``acc`` (the register: the column result one cycle after the window's final phase; it is
    also the first stage of the output deskew).
    """

    def __init__(self, *, coding: str, slice_width: int, acc_width: int):
        self.coding = check_choice("coding", coding, CODINGS)
        self.slice_width = check_int("slice_width", slice_width, 2, 64)
        self.acc_width = check_int("acc_width", acc_width, 2, 64)
        super().__init__({"slice": In(signed(slice_width)), "first": In(1), "en": In(1),
                          "acc": Out(signed(acc_width))})

    @property
    def unit_name(self) -> str:
        return f"column_accumulator_{self.coding}"

    @property
    def unit_key(self):
        return (self.coding, self.slice_width, self.acc_width)

    def elaborate(self, platform):
        m = Module()
        shift = 2 if self.coding == "csd" else 1
        acc = Signal(signed(self.acc_width), reset_less=True, name="acc_reg")
        first = self.first
        with m.If(self.en):
            m.d.sync += acc.eq(Mux(first, 0, acc) + Mux(first, self.slice, self.slice << shift))
        m.d.comb += self.acc.eq(acc)
        return m


class OutputDeskew(wiring.Component):
    """Column ``c``'s result delayed ``C-1-c`` cycles so that one vector's ``C`` sums leave
    together, and the output register of the ``o`` stream.

    Parameters: ``cols``, ``acc_width``; ``registered`` (the column results arrive one cycle
    late, from registers that already are the first delay stage: column c is delayed
    ``C-2-c`` more cycles and the last column's register is the output register itself).

    Ports: ``col`` (column results, valid on the column's final phase, or one cycle later when
    ``registered``), ``ctl`` (``CTL`` of the last column), ``en`` (pipeline advance; the array
    derives it from ``o``), ``o``.
    """

    def __init__(self, *, cols: int, acc_width: int, registered: bool = False):
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.acc_width = check_int("acc_width", acc_width, 2, 64)
        self.registered = _check_bool("registered", registered)
        super().__init__({
            "col": In(data.ArrayLayout(signed(acc_width), cols)),
            "ctl": In(CTL), "en": In(1),
            "o": Out(stream.Signature(_o_shape(cols, acc_width))),
        })

    def elaborate(self, platform):
        m = Module()
        C = self.cols
        o = self.o
        o_data = Signal(o.payload.data.shape(), reset_less=True, name="data")
        o_last = Signal(reset_less=True, name="last")
        m.d.comb += o.payload.last.eq(o_last)
        m.d.comb += [o.payload.data[c].eq(o_data[c])
                     for c in range(C - 1 if self.registered else C)]
        with m.If(self.en):
            m.d.sync += [o.valid.eq(self.ctl.valid & self.ctl.final), o_last.eq(self.ctl.last)]
        for c in range(C):
            v = self.col[c]
            if self.registered and c == C - 1:
                m.d.comb += o.payload.data[c].eq(v)
                continue
            for d in range(C - 1 - c - self.registered):
                nv = Signal(signed(self.acc_width), name=f"deskew_{c}_{d}", reset_less=True)
                with m.If(self.en):
                    m.d.sync += nv.eq(v)
                v = nv
            with m.If(self.en):
                m.d.sync += o_data[c].eq(v)
        return m


# ------------------------------------------------------------------------------------------------
# The arrays
# ------------------------------------------------------------------------------------------------

class _SystolicArray(wiring.Component):
    """Skeleton of both arrays: ports ``w``, ``a``, ``o`` (module docstring)."""

    weight_encoding = "?"
    ph_bits = 0
    accumulates = False         # a ColumnAccumulator per column (column_unit)

    def __init__(self, *, rows: int, cols: int, weight_shape, acc_width: int,
                 min_window: int, max_window: int):
        self.rows = check_int("rows", rows, 1, MAX_DIM)
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.weight_shape = weight_shape
        self.acc_width = acc_width
        self.min_window = min_window
        self.max_window = max_window
        super().__init__({
            "w": In(stream.Signature(self.w_shape)),
            "a": In(stream.Signature(self.a_shape)),
            "o": Out(stream.Signature(self.o_shape)),
        })

    metadata_properties = ("rows", "cols", "acc_width", "weight_encoding", "weight_width",
                           "min_window", "max_window", "latency_formula", "load_cycles",
                           "psum_widths", "throughput")

    # ---- shapes of the three streams ---------------------------------------------------
    @property
    def w_shape(self):
        return data.ArrayLayout(self.weight_shape, self.rows)

    @property
    def a_shape(self):
        return _a_shape(self.rows)

    @property
    def o_shape(self):
        return _o_shape(self.cols, self.acc_width)

    @property
    def weight_width(self) -> int:
        return data.ArrayLayout(self.weight_shape, 1).size

    @property
    def psum_widths(self) -> list[int]:
        """Width of the partial-sum registers of each PE row, top to bottom."""
        return [self.psum_width(r) for r in range(self.rows)]

    # ---- timing ------------------------------------------------------------------------
    def latency_for(self, window: int) -> int:
        """Cycles from a vector's input handshake to its result on ``o`` without stalls:
        ``R + C + T + 1``."""
        return self.rows + self.cols + window + 1

    @property
    def latency(self) -> int:
        """Latency at the largest window: ``rows + cols + max_window + 1``."""
        return self.latency_for(self.max_window)

    latency_formula = "rows + cols + T + 1"
    throughput = "one vector per T cycles"

    @property
    def load_cycles(self) -> int:
        """Weight beats (= cycles) per tile: one column per beat."""
        return self.cols

    # ---- subclass hooks ----------------------------------------------------------------
    def psum_width(self, row: int) -> int:
        raise NotImplementedError

    def make_pe(self, row: int) -> _PE:
        raise NotImplementedError

    def window_logic(self, m, load, first_beat, beat):
        """The current window length T: a signal set while loading (None: fixed T)."""
        return None

    def column_unit(self) -> ColumnAccumulator | None:
        return None

    # ---- the hardware ------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        R, C = self.rows, self.cols
        w, o = self.w, self.o

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

        # --- feeder: window hold + input skew
        feeder = add_unit(m, "feeder", ActivationFeeder(
            rows=R, cols=C, ph_bits=self.ph_bits, max_window=self.max_window,
            fixed_window=window is None), platform)
        wiring.connect(m, wiring.flipped(self.a), feeder.a)
        m.d.comb += [feeder.en.eq(en), feeder.accept.eq(state == COMPUTE)]
        if window is not None:
            m.d.comb += feeder.window.eq(window)
        with m.If(feeder.took_last):
            m.d.sync += state.eq(DRAIN)
        with m.If(o.valid & o.ready & o.payload.last):
            m.d.sync += state.eq(LOAD)

        # --- PE grid: activations and phases move right, weights shift left, psums move down
        pes = [[add_unit(m, f"pe_{r}_{c}", self.make_pe(r), platform) for c in range(C)]
               for r in range(R)]
        for r in range(R):
            for c in range(C):
                pe = pes[r][c]
                m.d.comb += [pe.en.eq(en), pe.load.eq(load),
                             pe.a_in.eq(feeder.row_a[r] if c == 0 else pes[r][c - 1].a_out),
                             pe.w_in.eq(w.payload[r] if c == C - 1 else pes[r][c + 1].w_out)]
                if self.ph_bits:
                    m.d.comb += pe.ph.eq(feeder.diag_ph[r + c])
                if r:
                    m.d.comb += pe.psum_in.eq(pes[r - 1][c].psum_out)

        # --- bottom control: the feeder's ctl delayed R+1 cycles, then one more per column
        prev = feeder.ctl
        for d in range(R + 1):
            nxt = Signal(CTL, name=f"ctl_delay_{d}")
            with m.If(en):
                m.d.sync += nxt.eq(prev)
            prev = nxt
        bctl = [prev]
        for c in range(1, C):
            nxt = Signal(CTL, name=f"ctl_col_{c}")
            with m.If(en):
                m.d.sync += nxt.eq(bctl[-1])
            bctl.append(nxt)

        # --- column accumulators and output deskew (an accumulator register is the first
        # deskew stage of its column)
        accumulate = self.accumulates
        deskew = add_unit(m, "deskew", OutputDeskew(cols=C, acc_width=self.acc_width,
                                                    registered=accumulate), platform)
        wiring.connect(m, deskew.o, wiring.flipped(o))
        m.d.comb += [deskew.en.eq(en), deskew.ctl.eq(bctl[C - 1])]
        for c in range(C):
            if not accumulate:
                m.d.comb += deskew.col[c].eq(pes[R - 1][c].psum_out)
                continue
            acc = add_unit(m, f"column_{c}", self.column_unit(), platform)
            m.d.comb += [acc.slice.eq(pes[R - 1][c].psum_out), acc.first.eq(bctl[c].first),
                         acc.en.eq(en), deskew.col[c].eq(acc.acc)]
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

    weight_encoding = "sign_magnitude"
    accumulates = True

    def __init__(self, *, rows: int = 16, cols: int = 16, coding: str = "csd",
                 early_finish: bool = True):
        self.coding = check_choice("coding", coding, CODINGS)
        self.early_finish = _check_bool("early_finish", early_finish)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = result_bound(rows)
        tmax = max_window(coding)
        self.ph_bits = phase_bits(coding)
        super().__init__(rows=rows, cols=cols, weight_shape=WEIGHT, acc_width=signed_width(lo, hi),
                         min_window=1 if early_finish else tmax, max_window=tmax)

    metadata_properties = _SystolicArray.metadata_properties + ("coding", "early_finish")

    def psum_width(self, row):
        return temporal_slice_width(self.coding, row)

    def make_pe(self, row):
        return TemporalPE(coding=self.coding, row=row)

    def column_unit(self):
        return ColumnAccumulator(coding=self.coding, slice_width=self.psum_width(self.rows - 1),
                                 acc_width=self.acc_width)

    def window_logic(self, m, load, first_beat, beat):
        if not self.early_finish:
            return None
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


class BinarySystolicArray(_SystolicArray):
    """Conventional binary baseline: multiplier PEs, INT8 x INT``weight_bits``, T = 1.

    Same ports and protocol as TemporalSystolicArray; a weight is a ``weight_bits`` two's
    complement integer (FineQ levels -7..7 fit INT4).
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, weight_bits: int = 4):
        self.weight_bits = _check_weight_bits(weight_bits)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = product_range(weight_bits)
        super().__init__(rows=rows, cols=cols, weight_shape=signed(weight_bits),
                         acc_width=signed_width(lo * rows, hi * rows), min_window=1, max_window=1)

    metadata_properties = _SystolicArray.metadata_properties + ("weight_bits",)

    @property
    def weight_encoding(self) -> str:
        return f"int{self.weight_bits}"

    def psum_width(self, row):
        return binary_slice_width(self.weight_bits, row)

    def make_pe(self, row):
        return BinaryPE(weight_bits=self.weight_bits, row=row)
