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
from amaranth.lib import data, stream, wiring  # noqa: F401
from amaranth.lib.wiring import In, Out

from .array import TemporalPlan
from .common import WEIGHT, check_choice
from .decoder import DEFAULT_LAYOUT, LAYOUTS, WEIGHTS_PER_WORD, build_decoder, decoder_shapes

__all__ = ["FineQCore", "SKIP_BITS"]

SKIP_BITS = 4


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class FineQCore(wiring.Component):
    """Packed FineQ weights + INT8 activation vectors -> exact column sums.

    Parameters (keyword-only): ``rows``, ``cols`` (array size), ``layout`` (``"joint"``,
    ``"330"``, ``"321"``),
    ``coding`` (``"csd"``/``"unary"``), ``early_finish`` (see TemporalSystolicArray).

    Ports:
        ``w``: stream of struct ``word`` (32 bits, a golden packed word), ``skip`` (4 bits,
            0..11, read on the first word of each column).
        ``a``: stream of struct ``data`` (R x signed 8), ``last`` (final vector of the tile).
        ``o``: stream of struct ``data`` (C x signed ``acc_width``), ``last``.

    Words of the next tile are decoded and the first column assembled while the current tile
    computes; the array takes them once it has drained.
    """

    def __init__(self, *, rows: int = 16, cols: int = 16, layout: str = DEFAULT_LAYOUT,
                 coding: str = "csd", early_finish: bool = True):
        self.layout = check_choice("layout", layout, LAYOUTS)
        self.plan = plan = TemporalPlan(rows, cols, coding, early_finish)
        self.rows, self.cols = rows, cols
        self.coding, self.early_finish = coding, early_finish
        super().__init__({
            "w": In(stream.Signature(data.StructLayout({"word": 32, "skip": SKIP_BITS}))),
            "a": In(stream.Signature(plan.a_shape)),
            "o": Out(stream.Signature(plan.o_shape)),
        })

    metadata_properties = ("rows", "cols", "layout", "coding", "early_finish", "acc_width",
                           "weight_encoding", "min_window", "max_window", "latency_formula",
                           "slots", "load_formula", "psum_widths")

    weight_encoding = "packed_words"

    @property
    def acc_width(self) -> int:
        return self.plan.acc_width

    @property
    def min_window(self) -> int:
        return self.plan.min_window

    @property
    def max_window(self) -> int:
        return self.plan.max_window

    @property
    def psum_widths(self) -> list[int]:
        return [self.plan.psum_width(r) for r in range(self.rows)]

    def latency_for(self, window: int) -> int:
        """Vector handshake to result, as the array: ``rows + cols + T + 1``."""
        return self.plan.latency_for(window)

    @property
    def latency(self) -> int:
        return self.plan.latency_for(self.plan.max_window)

    @property
    def latency_formula(self) -> str:
        return "rows + cols + T + 1"

    @property
    def slots(self) -> int:
        """Decoded words the column assembler holds: enough for ``skip + R`` weights."""
        return _ceil_div(self.rows + WEIGHTS_PER_WORD - 1, WEIGHTS_PER_WORD)

    def words_per_column(self, skip: int) -> int:
        return _ceil_div(skip + self.rows, WEIGHTS_PER_WORD)

    @property
    def load_formula(self) -> str:
        return ("column j of a tile goes to the array n*(j+1)+1 cycles after the tile's first "
                "word handshake (n = ceil((skip+rows)/12) words per column, words back to back, "
                "array in LOAD)")

    def elaborate(self, platform):
        m = Module()
        R = self.rows
        nb = self.slots
        # Decoder stage and array built inline (one flat Verilog module), joined by internal
        # streams: words -> dec_i -> [decoder] -> dec_o -> [assembler] -> arr_w -> [array].
        dec_in_shape, dec_out_shape = decoder_shapes(SKIP_BITS)
        dec_i = stream.Signature(dec_in_shape).create(path=("dec_i",))
        dec = stream.Signature(dec_out_shape).create(path=("dec_o",))
        arr_w = stream.Signature(self.plan.w_shape).create(path=("asm_beat",))
        m.d.comb += [
            dec_i.valid.eq(self.w.valid),
            dec_i.payload.word.eq(self.w.payload.word),
            dec_i.payload.side.eq(self.w.payload.skip),
            self.w.ready.eq(dec_i.ready),
        ]
        build_decoder(m, self.layout, dec_i, dec, side=True)
        self.plan.build(m, arr_w, self.a, self.o)

        # --- column assembler: words of one column into slots, then one beat of R weights
        slot = [Signal(data.ArrayLayout(WEIGHT, WEIGHTS_PER_WORD), name=f"asm_slot_{i}",
                       reset_less=True) for i in range(nb)]
        skip = Signal(SKIP_BITS, reset_less=True, name="asm_skip")
        need = Signal(range(nb + 1), reset_less=True, name="asm_need")
        cnt = Signal(range(nb + 1), init=0, name="asm_count")
        full = Signal(init=0, name="asm_full")

        side = dec.payload.side
        need_first = Signal(range(nb + 1), name="asm_need_first")
        with m.Switch(side):
            for s in range(1 << SKIP_BITS):
                with m.Case(s):
                    # 12..15 are reserved; treated like 11 for the word count.
                    m.d.comb += need_first.eq(self.words_per_column(min(s, WEIGHTS_PER_WORD - 1)))

        beat_taken = Signal(name="asm_beat_taken")
        can_write = Signal(name="asm_can_write")
        wr = Signal(name="asm_write")
        idx = Signal(range(nb + 1), name="asm_index")
        m.d.comb += [
            beat_taken.eq(full & arr_w.ready),
            can_write.eq(~full | beat_taken),
            dec.ready.eq(can_write),
            wr.eq(dec.valid & can_write),
            idx.eq(Mux(full, 0, cnt)),
        ]
        with m.If(beat_taken):
            m.d.sync += [full.eq(0), cnt.eq(0)]
        with m.If(wr):
            for i in range(nb):
                with m.If(idx == i):
                    m.d.sync += slot[i].eq(dec.payload.weights)
            m.d.sync += cnt.eq(idx + 1)
            with m.If(idx == 0):
                m.d.sync += [skip.eq(side), need.eq(need_first)]
                with m.If(need_first == 1):
                    m.d.sync += full.eq(1)
            with m.Elif(idx + 1 == need):
                m.d.sync += full.eq(1)

        flat = Cat(*slot)
        shifted = Signal(len(flat), name="asm_window")
        m.d.comb += shifted.eq(flat >> (skip * WEIGHT.size))
        m.d.comb += [arr_w.valid.eq(full), arr_w.payload.as_value().eq(shifted[:R * WEIGHT.size])]
        return m

