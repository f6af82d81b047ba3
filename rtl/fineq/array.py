"""Weight-stationary arrays: the multiplier-free FineQ array and binary baselines.

Both arrays share one skeleton (``_SystolicArray``) and one interface, so one testbench drives
all of them; only the processing element, the weight encoding and the column accumulator differ.
Structure and timing are described in docs/fineq_rtl.md; summary:

* ``R`` rows x ``C`` columns; column ``c`` outputs ``sum_r a_r * w_(r,c)`` per activation vector.
* Weights: ``w`` stream, one beat per column (``R`` weights), ``C`` beats per tile, beat ``j``
  ends in column ``j`` (weights shift in from the right edge).
* Activations: ``a`` stream, one INT8 vector per beat plus ``last`` (the tile's final vector).
  Each vector occupies a window of ``T`` consecutive cycles (the phases of a temporal coding;
  ``T = 1`` for ``select`` and the binary arrays). Row ``r`` is delayed ``r`` cycles (input
  skew); partial sums move down one PE per cycle.
* Dataflow (``dataflow``): ``"broadcast"``: row ``r``'s activation drives every PE of the row,
  all columns finish together. ``"systolic"``: activations move right one PE per cycle through a
  register in every PE, column ``c`` finishes ``c`` cycles after column 0 and is delayed
  ``C-1-c`` cycles (output deskew).
* A per-column accumulator at the bottom adds the ``T`` time slices (temporal codings).
* Results: ``o`` stream, the ``C`` column sums of one vector per beat plus ``last``.
* Control: LOAD (accept ``C`` weight beats) -> COMPUTE (accept vectors until ``last``) ->
  DRAIN (until the ``last`` result has left) -> LOAD. Back-pressure on ``o`` stalls the whole
  pipeline (one enable); idle input cycles travel through it as bubbles.

Units (one module each in the generated Verilog, rtl/hierarchy.py): ``ActivationFeeder``
(window hold, input skew, the phase line), ``RowMultiples`` per row (``select``: a, 3a, 5a, 7a),
``R x C`` PEs (``TemporalPE`` / ``BinaryPE``), one ``ColumnAccumulator`` per column (temporal
codings with T > 1), ``OutputDeskew`` (output register, and the deskew when systolic); the top
level keeps the LOAD/COMPUTE/DRAIN control, the window choice and the control delay line.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hierarchy import add_unit
from .common import (ACT_BITS, ACT_MAX, ACT_MIN, CODINGS, DATAFLOWS, MULTIPLES, WEIGHT,
                     check_choice, check_int, latency_cycles, max_window, multiple_width,
                     phase_bits, result_bound, signed_width, slice_bound)

__all__ = ["TemporalPE", "BinaryPE", "TemporalSystolicArray", "BinarySystolicArray",
           "ActivationFeeder", "RowMultiples", "ColumnAccumulator", "OutputDeskew", "CTL",
           "MAX_DIM", "MULT", "product_range", "temporal_slice_width", "binary_slice_width"]

MAX_DIM = 64

#: Control word that travels with each time slice: the window's slot is occupied (``valid``),
#: first / final phase of the window, and the tile's last vector (on its final phase).
CTL = data.StructLayout({"valid": 1, "first": 1, "final": 1, "last": 1})

#: The row-shared multiples of a ``select`` row: ``m1`` = a, ``m3`` = 3a, ``m5`` = 5a, ``m7`` = 7a,
#: each exactly as wide as its range.
MULT = data.StructLayout({f"m{m}": signed(multiple_width(m)) for m in MULTIPLES})


def _check_bool(name, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


def _check_dataflow(dataflow) -> str:
    return check_choice("dataflow", dataflow, DATAFLOWS)


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
    """``psum_in`` plus one term of the coding (no multiplier).

    * ``select``: ``a`` is the row's ``MULT`` (a, 3a, 5a, 7a); the term is the multiple of
      |level| (a one-hot AND-OR select by the weight's k, all zero for a zero weight), signed by
      the weight's sign: the whole product in one cycle.
    * ``csd``: phase 0 adds ``d0 * a`` with d0 = +1 (k even), -1 (k odd), 0 (mag 0); phase 1
      adds ``d1 * a`` with d1 = 0, 1, 1, 2 for k = 0, 1, 2, 3 (the column accumulator weighs
      phase 1 by 4), so |level| = d0 + 4*d1; both signed by the weight's sign.
    * ``unary``: phase 0 adds ``nz * a``, phase t >= 1 adds ``a`` if t <= k (weighed by 2 at the
      bottom), so |level| = 1 + 2k; signed by the weight's sign.

    Hardware: a one-hot AND-OR select of a / 2a, XOR with the sign, the sign as carry-in, one
    adder.
    """
    if coding == "select":
        return _select_sum(m, psum_in, a, w, name)
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


def _select_sum(m: Module, psum_in, mult, w, name: str):
    """``psum_in ± mult[|level|]``: a one-hot AND-OR select of the four multiples (the select
    lines are static while a tile computes), XOR with the sign, the sign as carry-in."""
    nz, k0, k1, s = w.mag[0], w.mag[1], w.mag[2], w.sign
    xw = multiple_width(MULTIPLES[-1])
    x = Signal(signed(xw), name=name)
    neg = Signal(name=f"{name}_neg")
    terms = []
    for k, mul in enumerate(MULTIPLES):
        sel = Signal(name=f"{name}_sel_{mul}a")
        m.d.comb += sel.eq(nz & (k0 == (k & 1)) & (k1 == (k >> 1)))
        v = mult[f"m{mul}"].as_signed()
        terms.append(v & sel.replicate(len(v)).as_signed())
    sel_x = terms[0]
    for t in terms[1:]:
        sel_x = sel_x | t
    m.d.comb += [x.eq(sel_x), neg.eq(s & nz)]
    return psum_in + (x ^ neg.replicate(xw).as_signed()) + neg


# ------------------------------------------------------------------------------------------------
# Processing elements
# ------------------------------------------------------------------------------------------------

class _PE(wiring.Component):
    """One PE with its registers. The partial sum moves down when ``en``; the weight register
    loads ``w_in`` when ``load``. Datapath registers, no reset.

    ``dataflow="systolic"``: the PE registers its activation (``a_in`` -> ``a_out``, moving right
    when ``en``) and computes with the registered value. ``"broadcast"``: ``a_in`` is the row's
    activation bus, used directly; there is no ``a_out``.

    Ports: ``en``, ``load``, ``a_in``/``a_out`` (``act_shape``: INT8, or ``MULT`` for
    ``select``), ``w_in``/``w_out`` (one weight), ``ph`` (temporal codings: the phase of the
    activation the PE works on; it is the same for every PE of an anti-diagonal (systolic) or of
    a row (broadcast), so the array delivers it from one shared register per diagonal or row),
    ``psum_in`` (not in row 0), ``psum_out``.
    """

    def __init__(self, *, row: int, weight_shape, ph_bits: int, psum_out_width: int,
                 psum_in_width: int, dataflow: str = "systolic", act_shape=signed(ACT_BITS)):
        self.row = row
        self.psum_out_width = psum_out_width
        self.psum_in_width = psum_in_width
        self.ph_bits = ph_bits
        self.dataflow = _check_dataflow(dataflow)
        self.act_shape = act_shape
        members = {
            "en": In(1), "load": In(1),
            "a_in": In(act_shape),
            "w_in": In(weight_shape), "w_out": Out(weight_shape),
            "psum_out": Out(signed(psum_out_width)),
        }
        if dataflow == "systolic":
            members["a_out"] = Out(act_shape)
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
        return (self._kind, self.dataflow, self.psum_in_width, self.psum_out_width)

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
        w = Signal(self.w_in.shape(), reset_less=True)
        ps = Signal(signed(self.psum_out_width), reset_less=True)
        ph = self.ph if self.ph_bits else None
        psum_in = self.psum_in if self.psum_in_width else Const(0, signed(2))
        if self.dataflow == "systolic":
            a = Signal(self.act_shape, reset_less=True)
            with m.If(self.en):
                m.d.sync += a.eq(self.a_in)
            m.d.comb += self.a_out.eq(a)
        else:
            a = self.a_in
        with m.If(self.en):
            m.d.sync += ps.eq(self._sum(m, psum_in, a, ph, w))
        with m.If(self.load):
            m.d.sync += w.eq(self.w_in)
        m.d.comb += [self.w_out.eq(w), self.psum_out.eq(ps)]
        return m


class TemporalPE(_PE):
    """Multiplier-free PE of the FineQ array (see ``temporal_sum``).

    Parameters: ``coding`` (``"select"``/``"csd"``/``"unary"``), ``row`` (0-based row in the
    array; sets the partial-sum widths: exactly the range of ``row + 1`` terms, see
    ``slice_bound``), ``dataflow`` (``"broadcast"``/``"systolic"``: whether the PE registers its
    activation).
    """

    def __init__(self, *, coding: str = "select", row: int = 0, dataflow: str = "broadcast"):
        self.coding = check_choice("coding", coding, CODINGS)
        check_int("row", row, 0, MAX_DIM - 1)
        self._kind = f"temporal_{coding}"
        super().__init__(row=row, weight_shape=WEIGHT, ph_bits=phase_bits(coding),
                         psum_out_width=temporal_slice_width(coding, row),
                         psum_in_width=temporal_slice_width(coding, row - 1) if row else 0,
                         dataflow=dataflow,
                         act_shape=MULT if coding == "select" else signed(ACT_BITS))

    metadata_properties = ("coding", "dataflow", "psum_out_width", "row")

    def _sum(self, m, psum_in, a, ph, w):
        return temporal_sum(m, self.coding, psum_in, a, ph, w)


class BinaryPE(_PE):
    """Conventional multiply-accumulate PE: ``psum_in + a * w`` with a signed ``weight_bits``
    weight (two's complement): the baseline of the temporal PE."""

    def __init__(self, *, weight_bits: int = 4, row: int = 0, dataflow: str = "broadcast"):
        self.weight_bits = _check_weight_bits(weight_bits)
        check_int("row", row, 0, MAX_DIM - 1)
        self._kind = f"int{weight_bits}"
        super().__init__(row=row, weight_shape=signed(weight_bits), ph_bits=0,
                         psum_out_width=binary_slice_width(weight_bits, row),
                         psum_in_width=binary_slice_width(weight_bits, row - 1) if row else 0,
                         dataflow=dataflow)

    metadata_properties = ("weight_bits", "dataflow", "psum_out_width", "row")

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
    delays the phase to where the PEs use it.

    Parameters (keyword-only): ``rows``, ``cols``; ``ph_bits`` (phase bits, 0 = none);
    ``max_window`` (largest T); ``fixed_window`` (True: T is always ``max_window`` and there is
    no ``window`` port); ``dataflow`` (where the phase goes, below).

    Ports:
        ``a``: the array's activation stream (``a.ready`` = ``en & accept`` and the window is
            free or ending).
        ``en``: pipeline advance; ``accept``: the array takes vectors (COMPUTE state).
        ``window``: current T (1..max_window), when not fixed.
        ``row_a``: skewed activation of each row (to the row's PEs, or to PE column 0).
        ``ph_line`` (when ``ph_bits``): systolic: the phase of anti-diagonal d = r + c (to every
            PE on it), the phase register delayed ``d + 1`` cycles (PE (r, c) works on the
            activation that left the skew ``c + 1`` cycles ago); broadcast: the phase of row r,
            delayed ``r`` cycles like the row's activation.
        ``ctl``: ``CTL`` of the slot at the feeder (unskewed); ``took_last``: the tile's last
            vector was accepted this cycle.
    """

    def __init__(self, *, rows: int, cols: int, ph_bits: int, max_window: int,
                 fixed_window: bool, dataflow: str = "systolic"):
        self.rows = check_int("rows", rows, 1, MAX_DIM)
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.ph_bits = check_int("ph_bits", ph_bits, 0, 4)
        self.max_window = check_int("max_window", max_window, 1, 16)
        self.fixed_window = _check_bool("fixed_window", fixed_window)
        self.dataflow = _check_dataflow(dataflow)
        members = {
            "a": In(stream.Signature(_a_shape(rows))),
            "en": In(1), "accept": In(1),
            "row_a": Out(data.ArrayLayout(signed(ACT_BITS), rows)),
            "ctl": Out(CTL), "took_last": Out(1),
        }
        if ph_bits:
            members["ph_line"] = Out(data.ArrayLayout(ph_bits, self.ph_taps))
        if not fixed_window:
            members["window"] = In(range(1, max_window + 1))
        super().__init__(members)

    @property
    def ph_taps(self) -> int:
        """Entries of ``ph_line``: anti-diagonals (systolic) or rows (broadcast)."""
        return self.rows + self.cols - 1 if self.dataflow == "systolic" else self.rows

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
        # phase line: tap d is the phase delayed d + 1 (systolic) or d (broadcast) cycles
        if pb:
            pv = ph[:pb]
            first = 1 if self.dataflow == "systolic" else 0
            for d in range(self.ph_taps + first - 1):
                np_ = Signal(pb, name=f"ph_line_{d}", reset_less=True)
                with m.If(self.en):
                    m.d.sync += np_.eq(pv)
                pv = np_
                if d + 1 - first >= 0:
                    m.d.comb += self.ph_line[d + 1 - first].eq(np_)
            if not first:
                m.d.comb += self.ph_line[0].eq(ph[:pb])
        return m


class RowMultiples(wiring.Component):
    """The odd multiples of one row's activation for ``select`` PEs: ``o.m1`` = a, ``o.m3`` =
    a + 2a, ``o.m5`` = a + 4a, ``o.m7`` = 8a - a (three adders, shifts are wiring),
    combinational. One per row, shared by the row's PEs (broadcast) or registered along the row
    by them (systolic).

    Ports: ``a`` (INT8), ``o`` (``MULT``).
    """

    def __init__(self):
        super().__init__({"a": In(signed(ACT_BITS)), "o": Out(MULT)})

    def elaborate(self, platform):
        m = Module()
        a = self.a
        m.d.comb += [self.o.m1.eq(a), self.o.m3.eq(a + (a << 1)), self.o.m5.eq(a + (a << 2)),
                     self.o.m7.eq((a << 3) - a)]
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
    """The output register of the ``o`` stream, and (``skewed``) the deskew: column ``c``'s
    result delayed ``C-1-c`` cycles so that one vector's ``C`` sums leave together.

    Parameters: ``cols``, ``acc_width``; ``skewed`` (systolic: column c finishes c cycles after
    column 0; broadcast: all columns finish together); ``registered`` (the column results
    arrive from registers (the column accumulators) that already are the first delay stage:
    column c is delayed ``C-2-c`` more cycles and the last column's register is the output
    register itself; without skew, every column's register is the output register).

    Ports: ``col`` (column results, valid on the column's final phase, or one cycle later when
    ``registered``), ``ctl`` (``CTL`` of the last column), ``en`` (pipeline advance; the array
    derives it from ``o``), ``o``.
    """

    def __init__(self, *, cols: int, acc_width: int, registered: bool = False,
                 skewed: bool = True):
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.acc_width = check_int("acc_width", acc_width, 2, 64)
        self.registered = _check_bool("registered", registered)
        self.skewed = _check_bool("skewed", skewed)
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
        with m.If(self.en):
            m.d.sync += [o.valid.eq(self.ctl.valid & self.ctl.final), o_last.eq(self.ctl.last)]
        for c in range(C):
            v = self.col[c]
            stages = (C - 1 - c if self.skewed else 0) - self.registered
            if stages < 0:          # the column's own register is the output register
                m.d.comb += o.payload.data[c].eq(v)
                continue
            for d in range(stages):
                nv = Signal(signed(self.acc_width), name=f"deskew_{c}_{d}", reset_less=True)
                with m.If(self.en):
                    m.d.sync += nv.eq(v)
                v = nv
            with m.If(self.en):
                m.d.sync += o_data[c].eq(v)
            m.d.comb += o.payload.data[c].eq(o_data[c])
        return m


# ------------------------------------------------------------------------------------------------
# The arrays
# ------------------------------------------------------------------------------------------------

class _SystolicArray(wiring.Component):
    """Skeleton of both arrays: ports ``w``, ``a``, ``o`` (module docstring)."""

    weight_encoding = "?"
    ph_bits = 0
    accumulates = False         # a ColumnAccumulator per column (column_unit)
    row_multiples = False       # a RowMultiples unit per row (select coding)

    def __init__(self, *, rows: int, cols: int, weight_shape, acc_width: int,
                 min_window: int, max_window: int, dataflow: str):
        self.rows = check_int("rows", rows, 1, MAX_DIM)
        self.cols = check_int("cols", cols, 1, MAX_DIM)
        self.dataflow = _check_dataflow(dataflow)
        self.weight_shape = weight_shape
        self.acc_width = acc_width
        self.min_window = min_window
        self.max_window = max_window
        super().__init__({
            "w": In(stream.Signature(self.w_shape)),
            "a": In(stream.Signature(self.a_shape)),
            "o": Out(stream.Signature(self.o_shape)),
        })

    metadata_properties = ("rows", "cols", "dataflow", "acc_width", "weight_encoding",
                           "weight_width", "min_window", "max_window", "latency_formula",
                           "load_cycles", "psum_widths", "throughput")

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
        ``R + C + T + 1`` (systolic) or ``R + T + 1`` (broadcast)."""
        return latency_cycles(self.rows, self.cols, window, self.dataflow)

    @property
    def latency(self) -> int:
        """Latency at the largest window."""
        return self.latency_for(self.max_window)

    @property
    def latency_formula(self) -> str:
        return "rows + cols + T + 1" if self.dataflow == "systolic" else "rows + T + 1"

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
        systolic = self.dataflow == "systolic"

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

        # --- feeder: window hold + input skew + phase line
        feeder = add_unit(m, "feeder", ActivationFeeder(
            rows=R, cols=C, ph_bits=self.ph_bits, max_window=self.max_window,
            fixed_window=window is None, dataflow=self.dataflow), platform)
        wiring.connect(m, wiring.flipped(self.a), feeder.a)
        m.d.comb += [feeder.en.eq(en), feeder.accept.eq(state == COMPUTE)]
        if window is not None:
            m.d.comb += feeder.window.eq(window)
        with m.If(feeder.took_last):
            m.d.sync += state.eq(DRAIN)
        with m.If(o.valid & o.ready & o.payload.last):
            m.d.sync += state.eq(LOAD)

        # --- row heads: what enters a row (the activation, or its multiples)
        row_in = []
        for r in range(R):
            if self.row_multiples:
                mult = add_unit(m, f"multiples_{r}", RowMultiples(), platform)
                m.d.comb += mult.a.eq(feeder.row_a[r])
                row_in.append(mult.o)
            else:
                row_in.append(feeder.row_a[r])

        # --- PE grid: activations move right (systolic) or are broadcast along the row,
        # weights shift left, psums move down
        pes = [[add_unit(m, f"pe_{r}_{c}", self.make_pe(r), platform) for c in range(C)]
               for r in range(R)]
        for r in range(R):
            for c in range(C):
                pe = pes[r][c]
                a_in = pes[r][c - 1].a_out if systolic and c else row_in[r]
                m.d.comb += [pe.en.eq(en), pe.load.eq(load), pe.a_in.eq(a_in),
                             pe.w_in.eq(w.payload[r] if c == C - 1 else pes[r][c + 1].w_out)]
                if self.ph_bits:
                    m.d.comb += pe.ph.eq(feeder.ph_line[r + c if systolic else r])
                if r:
                    m.d.comb += pe.psum_in.eq(pes[r - 1][c].psum_out)

        # --- bottom control: the feeder's ctl delayed R+1 (systolic: the PE's activation
        # register) or R cycles, then (systolic) one more per column
        prev = feeder.ctl
        for d in range(R + systolic):
            nxt = Signal(CTL, name=f"ctl_delay_{d}")
            with m.If(en):
                m.d.sync += nxt.eq(prev)
            prev = nxt
        bctl = [prev]
        for c in range(1, C):
            if not systolic:
                bctl.append(prev)
                continue
            nxt = Signal(CTL, name=f"ctl_col_{c}")
            with m.If(en):
                m.d.sync += nxt.eq(bctl[-1])
            bctl.append(nxt)

        # --- column accumulators and output register / deskew (an accumulator register is
        # the first deskew stage of its column, or the output register)
        accumulate = self.accumulates
        deskew = add_unit(m, "deskew", OutputDeskew(cols=C, acc_width=self.acc_width,
                                                    registered=accumulate, skewed=systolic),
                          platform)
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
    """Multiplier-free FineQ array (weight-stationary).

    Parameters (keyword-only):
        rows, cols: array size R x C (1..64).
        coding: ``"select"`` (default; row-shared multiples, T = 1), ``"csd"`` (T <= 2) or
            ``"unary"`` (T <= 4), see ``temporal_sum``.
        dataflow: ``"broadcast"`` (default) or ``"systolic"`` (module docstring).
        early_finish: choose T per tile from its weights (``common.window_cycles``); otherwise
            T is always ``max_window`` (no effect on ``select``: T = 1).

    Weight beat: R x ``WEIGHT`` (mag[2:0] = |level| in {0, 1, 3, 5, 7}, sign[3]).
    Output: C signed sums of ``acc_width`` bits, the exact range of R products a * level.
    """

    weight_encoding = "sign_magnitude"

    def __init__(self, *, rows: int = 16, cols: int = 16, coding: str = "select",
                 dataflow: str = "broadcast", early_finish: bool = True):
        self.coding = check_choice("coding", coding, CODINGS)
        self.early_finish = _check_bool("early_finish", early_finish)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = result_bound(rows)
        tmax = max_window(coding)
        self.ph_bits = phase_bits(coding)
        self.accumulates = tmax > 1
        self.row_multiples = coding == "select"
        super().__init__(rows=rows, cols=cols, weight_shape=WEIGHT, acc_width=signed_width(lo, hi),
                         min_window=1 if early_finish else tmax, max_window=tmax,
                         dataflow=dataflow)

    metadata_properties = _SystolicArray.metadata_properties + ("coding", "early_finish")

    def psum_width(self, row):
        return temporal_slice_width(self.coding, row)

    def make_pe(self, row):
        return TemporalPE(coding=self.coding, row=row, dataflow=self.dataflow)

    def column_unit(self):
        return ColumnAccumulator(coding=self.coding, slice_width=self.psum_width(self.rows - 1),
                                 acc_width=self.acc_width)

    def window_logic(self, m, load, first_beat, beat):
        if not self.early_finish or self.max_window == 1:
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
    complement integer (FineQ levels -7..7 fit INT4). ``dataflow`` as there, so every
    comparison can be made in one dataflow.
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, weight_bits: int = 4,
                 dataflow: str = "broadcast"):
        self.weight_bits = _check_weight_bits(weight_bits)
        check_int("rows", rows, 1, MAX_DIM)
        lo, hi = product_range(weight_bits)
        super().__init__(rows=rows, cols=cols, weight_shape=signed(weight_bits),
                         acc_width=signed_width(lo * rows, hi * rows), min_window=1, max_window=1,
                         dataflow=dataflow)

    metadata_properties = _SystolicArray.metadata_properties + ("weight_bits",)

    @property
    def weight_encoding(self) -> str:
        return f"int{self.weight_bits}"

    def psum_width(self, row):
        return binary_slice_width(self.weight_bits, row)

    def make_pe(self, row):
        return BinaryPE(weight_bits=self.weight_bits, row=row, dataflow=self.dataflow)
