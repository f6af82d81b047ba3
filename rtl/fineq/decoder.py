"""FineQ decoder: packed 32-bit words -> 12 (sign, magnitude) weights per word, in K order.

The cluster formats are written here from SPEC §2 independently of the golden model (the golden
``decode_word`` is what the regressions compare against, so the RTL must not borrow its tables).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .common import WEIGHT, check_choice, check_int

__all__ = ["FineQDecoder", "LAYOUT_BITS", "LAYOUTS", "DEFAULT_LAYOUT", "decode_cluster",
           "WEIGHTS_PER_WORD", "decoder_shapes"]

#: Code widths of (w_p, w_(p+1)%3, w_(p+2)%3) in an outlier cluster, packed from bit 0 upwards
#: (SPEC §2). The "joint" layout (docs/fineq.md) is decoded by ``_joint`` instead.
LAYOUT_BITS = {"321": (3, 2, 1), "330": (3, 3, 0)}
LAYOUTS = ("joint", "330", "321")
DEFAULT_LAYOUT = "joint"
WEIGHTS_PER_WORD = 12


def _fields(layout: str, t: int) -> list[tuple[int, int]]:
    """(width, offset) of the code of w0, w1, w2 in a cluster byte of type t."""
    if t == 0:
        return [(2, 0), (2, 2), (2, 4)]
    p = t - 1
    out = [None, None, None]
    off = 0
    for j, b in enumerate(LAYOUT_BITS[layout]):
        out[(p + j) % 3] = (b, off)
        off += b
    return out


def _joint(byte, t: int, i: int):
    """(sign, k) of w_i in a "joint" outlier cluster of type t (docs/fineq.md §1): bits [2:0]
    are the signs of (w_P, w_Q, w_R), j = {h, a, b} = bits [5:3] the magnitude pattern;
    h = 0: k = (2, a, b); h = 1: k = (3, a*(2-b), b*(1+a))."""
    p = t - 1
    role = (i - p) % 3                     # 0 = P (outlier), 1 = Q, 2 = R
    h, a, b = byte[5], byte[4], byte[3]
    sign = byte[role]
    if role == 0:
        k = Cat(h, Const(1, 1))            # 2 + h
    elif role == 1:
        k = Cat(Mux(h, a & b, a), h & a & ~b)        # h: {a&~b, a&b}; else {0, a}
    else:
        k = Cat(Mux(h, b & ~a, b), h & a & b)        # h: {a&b, b&~a}; else {0, b}
    return sign, k


def decode_cluster(m: Module, byte, layout: str, name: str = "cluster") -> list:
    """Combinational decode of one cluster byte: 3 WEIGHT views (w0, w1, w2)."""
    out = []
    t = byte[6:8]
    for i in range(3):
        wt = Signal(WEIGHT, name=f"{name}_w{i}")
        with m.Switch(t):
            for tv in range(4):
                width, off = _fields("330" if layout == "joint" else layout, tv)[i]
                with m.Case(tv):
                    if layout == "joint" and tv:
                        sign, k = _joint(byte, tv, i)
                        m.d.comb += [wt.mag.eq(Cat(Const(1, 1), k)), wt.sign.eq(sign)]
                    elif width == 0:                     # "330" victim: level 0
                        m.d.comb += wt.eq(0)
                    else:
                        code = byte[off:off + width]
                        k = code[:width - 1] if width > 1 else Const(0, 1)
                        m.d.comb += [wt.mag.eq(Cat(Const(1, 1), k)),   # |level| = 2k + 1
                                     wt.sign.eq(code[width - 1])]
        out.append(wt)
    return out


def decoder_shapes(skip_bits: int = 0):
    """(input, output) payload shapes of the decoder stream."""
    weights = data.ArrayLayout(WEIGHT, WEIGHTS_PER_WORD)
    if skip_bits:
        return (data.StructLayout({"word": 32, "skip": skip_bits}),
                data.StructLayout({"weights": weights, "skip": skip_bits}))
    return 32, weights


class FineQDecoder(wiring.Component):
    """Packed FineQ words -> per-weight (sign, magnitude), one word per cycle.

    Parameters (keyword-only):
        layout: ``"joint"`` (default, docs/fineq.md), ``"330"`` or ``"321"`` (SPEC §2).
        skip_bits: width of the tile's skip count carried alongside each word (0 = none); used
            by FineQCore to keep the skip count aligned with its word.

    Ports:
        ``i``: stream of 32-bit words (``skip_bits`` > 0: struct ``word``, ``skip``).
        ``o``: stream of 12 ``WEIGHT`` (mag[2:0], sign[3]) in K order: weight ``3j + i`` is w_i of
            the cluster at word bits [8j+7:8j] (the golden ``decode_word`` order);
            with ``skip_bits`` > 0 a struct ``weights``, ``skip``.

    Timing: one register stage (``latency`` = 1 cycle), ``i.ready = ~o.valid | o.ready``, so a
    word is accepted every cycle while the consumer is ready (throughput 1 word/cycle).
    """

    def __init__(self, *, layout: str = DEFAULT_LAYOUT, skip_bits: int = 0):
        self.layout = check_choice("layout", layout, LAYOUTS)
        self.skip_bits = check_int("skip_bits", skip_bits, 0, 8)
        in_shape, out_shape = decoder_shapes(skip_bits)
        super().__init__({
            "i": In(stream.Signature(in_shape)),
            "o": Out(stream.Signature(out_shape)),
        })

    metadata_properties = ("layout", "words_per_cycle", "weights_per_word")

    @property
    def unit_name(self) -> str:
        return f"fineq_decoder_{self.layout}"

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to the decoded word being valid on ``o``."""
        return 1

    @property
    def words_per_cycle(self) -> int:
        return 1

    @property
    def weights_per_word(self) -> int:
        return WEIGHTS_PER_WORD

    def elaborate(self, platform):
        m = Module()
        i, o = self.i, self.o
        word = i.payload.word if self.skip_bits else i.payload
        decoded = []
        for j in range(4):
            decoded += decode_cluster(m, word[8 * j:8 * j + 8], self.layout, f"c{j}")
        # Datapath register without reset (only the valid flag is control state).
        held = Signal(o.payload.shape(), reset_less=True, name="word")
        m.d.comb += o.payload.eq(held)
        weights = held.weights if self.skip_bits else held
        m.d.comb += i.ready.eq(~o.valid | o.ready)
        with m.If(o.ready):
            m.d.sync += o.valid.eq(0)
        with m.If(i.valid & i.ready):
            m.d.sync += o.valid.eq(1)
            m.d.sync += [weights[n].eq(d) for n, d in enumerate(decoded)]
            if self.skip_bits:
                m.d.sync += held.skip.eq(i.payload.skip)
        return m
