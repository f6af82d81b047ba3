"""FineQCore: FineQ decoder + column assembler + temporal-coded systolic array.

Weight-tile contract (docs/fineq_rtl.md, "Loading a tile from the packed image"): a tile covers
K rows ``k0 .. k0+R-1`` of ``C`` consecutive output rows ``n0 .. n0+C-1`` of a golden packed
memory image ``words[N, words_per_row]`` (``FineQWeight.pack()``), unchanged. For column ``c``
the host sends the words ``words[n0+c, k0 // 12 .. (k0+R-1) // 12]`` in order, each with
``skip = k0 % 12`` (the number of leading weights of the first word that belong to the previous
tile); the core reads ``skip`` from the column's first word. Words per column:
``ceil((skip + R) / 12)``. Columns are sent in order ``c = 0 .. C-1``. Activations for K rows
beyond the matrix (zero-padded words) must be 0.
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hierarchy import add_unit
from .array import TemporalSystolicArray
from .common import WEIGHT, check_choice, check_int
from .decoder import DEFAULT_LAYOUT, LAYOUTS, WEIGHTS_PER_WORD, FineQDecoder, decoder_shapes

__all__ = ["FineQCore", "ColumnAssembler", "SKIP_BITS"]

SKIP_BITS = 4


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _slots(rows: int) -> int:
    """Decoded words the column assembler holds: enough for ``skip + R`` weights."""
    return _ceil_div(rows + WEIGHTS_PER_WORD - 1, WEIGHTS_PER_WORD)


class ColumnAssembler(wiring.Component):
    """Decoded words of one column -> one array weight beat of ``rows`` weights.

    The first word of a column carries the tile's skip count (``skip`` field): the beat is the
    ``rows`` weights starting at weight ``skip`` of the first word. The assembler stores the
    column's ``ceil((skip + rows) / 12)`` words in slots, then offers the beat on ``o``; it takes
    the next column's first word in the cycle the beat is taken.

    Ports: ``i`` (decoder output: 12 weights + skip), ``o`` (array weight beat).
    """

    def __init__(self, *, rows: int):
        self.rows = check_int("rows", rows, 1, 64)
        _, in_shape = decoder_shapes(SKIP_BITS)
        super().__init__({
            "i": In(stream.Signature(in_shape)),
            "o": Out(stream.Signature(data.ArrayLayout(WEIGHT, rows))),
        })

    @property
    def slots(self) -> int:
        return _slots(self.rows)

    def words_per_column(self, skip: int) -> int:
        return _ceil_div(skip + self.rows, WEIGHTS_PER_WORD)

    def elaborate(self, platform):
        m = Module()
        R, nb = self.rows, self.slots
        i, o = self.i, self.o
        slot = [Signal(data.ArrayLayout(WEIGHT, WEIGHTS_PER_WORD), name=f"slot_{n}",
                       reset_less=True) for n in range(nb)]
        skip = Signal(SKIP_BITS, reset_less=True, name="skip")
        need = Signal(range(nb + 1), reset_less=True, name="need")
        cnt = Signal(range(nb + 1), init=0, name="count")
        full = Signal(init=0, name="full")

        need_first = Signal(range(nb + 1), name="need_first")
        with m.Switch(i.payload.skip):
            for s in range(1 << SKIP_BITS):
                with m.Case(s):
                    # 12..15 are reserved; treated like 11 for the word count.
                    m.d.comb += need_first.eq(self.words_per_column(min(s, WEIGHTS_PER_WORD - 1)))

        beat_taken = Signal(name="beat_taken")
        can_write = Signal(name="can_write")
        wr = Signal(name="write")
        idx = Signal(range(nb + 1), name="index")
        m.d.comb += [
            beat_taken.eq(full & o.ready),
            can_write.eq(~full | beat_taken),
            i.ready.eq(can_write),
            wr.eq(i.valid & can_write),
            idx.eq(Mux(full, 0, cnt)),
        ]
        with m.If(beat_taken):
            m.d.sync += [full.eq(0), cnt.eq(0)]
        with m.If(wr):
            for n in range(nb):
                with m.If(idx == n):
                    m.d.sync += slot[n].eq(i.payload.weights)
            m.d.sync += cnt.eq(idx + 1)
            with m.If(idx == 0):
                m.d.sync += [skip.eq(i.payload.skip), need.eq(need_first)]
                with m.If(need_first == 1):
                    m.d.sync += full.eq(1)
            with m.Elif(idx + 1 == need):
                m.d.sync += full.eq(1)

        flat = Cat(*slot)
        shifted = Signal(len(flat), name="window")
        m.d.comb += shifted.eq(flat >> (skip * WEIGHT.size))
        m.d.comb += [o.valid.eq(full), o.payload.as_value().eq(shifted[:R * WEIGHT.size])]
        return m


class FineQCore(wiring.Component):
    """Packed FineQ weights + INT8 activation vectors -> exact column sums.

    Parameters (keyword-only): ``rows``, ``cols`` (array size), ``layout`` (``"joint"``,
    ``"330"``, ``"321"``), ``coding`` (``"select"``/``"csd"``/``"unary"``), ``dataflow``
    (``"broadcast"``/``"systolic"``), ``early_finish`` (see TemporalSystolicArray).

    Ports:
        ``w``: stream of struct ``word`` (32 bits, a golden packed word), ``skip`` (4 bits,
            0..11, read on the first word of each column).
        ``a``: stream of struct ``data`` (R x signed 8), ``last`` (final vector of the tile).
        ``o``: stream of struct ``data`` (C x signed ``acc_width``), ``last``.

    Units: ``decoder`` (FineQDecoder) -> ``assembler`` (ColumnAssembler) -> ``array``
    (TemporalSystolicArray), joined by streams. Words of the next tile are decoded and the
    first column assembled while the current tile computes; the array takes them once it has
    drained.
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, layout: str = DEFAULT_LAYOUT,
                 coding: str = "select", dataflow: str = "broadcast", early_finish: bool = True):
        self.layout = check_choice("layout", layout, LAYOUTS)
        # the array validates rows, cols, coding, dataflow and early_finish
        self._array_params = dict(rows=rows, cols=cols, coding=coding, dataflow=dataflow,
                                  early_finish=early_finish)
        array = TemporalSystolicArray(**self._array_params)
        array._MustUse__silence = True          # a template for the properties only
        self._template = array
        self.rows, self.cols = rows, cols
        self.coding, self.dataflow, self.early_finish = coding, dataflow, early_finish
        super().__init__({
            "w": In(stream.Signature(decoder_shapes(SKIP_BITS)[0])),
            "a": In(stream.Signature(array.a_shape)),
            "o": Out(stream.Signature(array.o_shape)),
        })

    metadata_properties = ("rows", "cols", "layout", "coding", "dataflow", "early_finish",
                           "acc_width",
                           "weight_encoding", "min_window", "max_window", "latency_formula",
                           "slots", "load_formula", "psum_widths")

    weight_encoding = "packed_words"

    acc_width = property(lambda self: self._template.acc_width)
    min_window = property(lambda self: self._template.min_window)
    max_window = property(lambda self: self._template.max_window)
    psum_widths = property(lambda self: self._template.psum_widths)
    latency_formula = property(lambda self: self._template.latency_formula)

    def latency_for(self, window: int) -> int:
        """Vector handshake to result, as the array (``rows + T + 1`` broadcast,
        ``rows + cols + T + 1`` systolic)."""
        return self._template.latency_for(window)

    @property
    def latency(self) -> int:
        return self._template.latency

    @property
    def slots(self) -> int:
        """Decoded words the column assembler holds: enough for ``skip + R`` weights."""
        return _slots(self.rows)

    def words_per_column(self, skip: int) -> int:
        return _ceil_div(skip + self.rows, WEIGHTS_PER_WORD)

    @property
    def load_formula(self) -> str:
        return ("column j of a tile goes to the array n*(j+1)+1 cycles after the tile's first "
                "word handshake (n = ceil((skip+rows)/12) words per column, words back to back, "
                "array in LOAD)")

    def elaborate(self, platform):
        m = Module()
        dec = add_unit(m, "decoder", FineQDecoder(layout=self.layout, skip_bits=SKIP_BITS),
                       platform)
        asm = add_unit(m, "assembler", ColumnAssembler(rows=self.rows), platform)
        arr = add_unit(m, "array", TemporalSystolicArray(**self._array_params), platform)
        wiring.connect(m, wiring.flipped(self.w), dec.i)
        wiring.connect(m, dec.o, asm.i)
        wiring.connect(m, asm.o, arr.w)
        wiring.connect(m, wiring.flipped(self.a), arr.a)
        wiring.connect(m, arr.o, wiring.flipped(self.o))
        return m
