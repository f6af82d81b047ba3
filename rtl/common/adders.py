"""Fast adders for short clock periods: carry-save bit heaps (Dadda's schedule) for many
operands, carry-select adders built of units for two.

Why: ``tree_sum`` and Amaranth's ``+`` leave the adder structure to Yosys and ABC, which map
a ripple carry (one AOI/OAI pair per bit: ~5 ns for 62 bits in the project's 45 nm library),
and a pairwise tree stacks one such adder per level. A Dadda reduction needs one full-adder
delay per level, and the number of levels grows like log_1.5 of the tallest column
(2 -> 3 -> 4 -> 6 -> 9 -> 13 -> 19 -> 28 -> 42 -> 63); the final two-row addition is a
``CarrySelectAdder`` whose blocks are units (rtl/hierarchy.py), so that the area-oriented
mapping cannot fold them back into one ripple chain.

Every function sizes its result exactly: the caller states the width the sum needs (the heap's
value must be below 2^width; the functions do not check values, they only drop columns at or
above ``width``, which are then zero in the exact sum).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.hdl import Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hierarchy import add_unit

__all__ = ["BitHeap", "dadda_levels", "square_heap", "AddBlock", "CarrySelectAdder"]


def dadda_levels(height: int) -> int:
    """Number of full-adder levels Dadda's schedule needs to bring ``height`` bits to 2."""
    d, n = 2, 0
    while d < height:
        d, n = d * 3 // 2, n + 1
    return n


class BitHeap:
    """Bits grouped by weight: ``add_bit(w, b)`` puts a 1-bit value at weight 2^w,
    ``add_row(m, v, shift)`` every bit of an unsigned value. ``reduce(m)`` returns two unsigned
    rows (each ``width`` bits) whose sum is the heap's sum modulo 2^width."""

    def __init__(self, width: int, name: str = "heap"):
        self.width = width
        self.name = name
        self.cols: list[list[Value]] = [[] for _ in range(width)]
        self._rows = 0

    def add_bit(self, weight: int, bit) -> None:
        if weight < self.width:
            self.cols[weight].append(Value.cast(bit))

    def add_row(self, m, value, shift: int = 0) -> None:
        """Every bit of the unsigned ``value`` at weight 2^(shift + i). An expression is first
        assigned to a Signal, so that the adders refer to its bits, not to copies of it."""
        v = Value.cast(value)
        if not isinstance(v, Signal):
            sig = Signal(len(v), name=f"{self.name}_row{self._rows}")
            m.d.comb += sig.eq(v)
            v = sig
        self._rows += 1
        for i in range(len(v)):
            self.add_bit(shift + i, v[i])

    def height(self) -> int:
        return max((len(c) for c in self.cols), default=0)

    def reduce(self, m) -> tuple[Signal, Signal]:
        """Dadda reduction to at most two bits per weight; returns (row0, row1).

        The adders of one level are built as three wide vectors (``a ^ b ^ c`` and the
        majority, bit k of each vector being one full adder), not as one Signal per adder:
        the same gates, but a few statements per level, which keeps Amaranth's simulator
        fast on heaps of thousands of bits."""
        cols = [list(c) for c in self.cols]
        targets = [2]
        while targets[-1] < max((len(c) for c in cols), default=0):
            targets.append(targets[-1] * 3 // 2)
        for level, target in enumerate(reversed(targets[:-1])):
            fa: list[tuple[int, tuple]] = []        # (weight, (a, b, c))
            ha: list[tuple[int, tuple]] = []        # (weight, (a, b))
            rest: list[list[Value]] = [[] for _ in range(self.width)]
            carries_in = 0
            for w in range(self.width):
                bits = cols[w]
                h = len(bits) + carries_in
                carries_out = 0
                i = 0
                while h > target:
                    if h - target >= 2 and len(bits) - i >= 3:
                        fa.append((w, tuple(bits[i:i + 3])))
                        i += 3
                        h -= 2
                    else:
                        if len(bits) - i < 2:
                            raise AssertionError("Dadda schedule: column out of bits")
                        ha.append((w, tuple(bits[i:i + 2])))
                        i += 2
                        h -= 1
                    carries_out += 1
                rest[w] = bits[i:]
                carries_in = carries_out if w + 1 < self.width else 0
            # bits that skipped this level first: the next level consumes them before the
            # fresher (later-arriving) adder outputs
            nxt: list[list[Value]] = [list(r) for r in rest]
            for kind, adders in (("f", fa), ("h", ha)):
                if not adders:
                    continue
                ops = [Cat(*[ins[k] for _, ins in adders]) for k in range(len(adders[0][1]))]
                s = Signal(len(adders), name=f"{self.name}_{kind}s{level}")
                cy = Signal(len(adders), name=f"{self.name}_{kind}c{level}")
                if kind == "f":
                    a, b, c = ops
                    m.d.comb += [s.eq(a ^ b ^ c), cy.eq((a & b) | (a & c) | (b & c))]
                else:
                    a, b = ops
                    m.d.comb += [s.eq(a ^ b), cy.eq(a & b)]
                for k, (w, _) in enumerate(adders):
                    nxt[w].append(s[k])
                    if w + 1 < self.width:
                        nxt[w + 1].append(cy[k])
            cols = nxt
        if any(len(c) > 2 for c in cols):
            raise AssertionError("Dadda schedule left a column taller than 2")
        r0 = Signal(self.width, name=f"{self.name}_r0")
        r1 = Signal(self.width, name=f"{self.name}_r1")
        zero = Const(0, 1)
        m.d.comb += [r0.eq(Cat(*[(c[0] if len(c) > 0 else zero) for c in cols])),
                     r1.eq(Cat(*[(c[1] if len(c) > 1 else zero) for c in cols]))]
        return r0, r1

    def sum(self, m, platform=None, block: int = 8) -> Signal:
        """The heap's sum (``width`` bits): reduction + one ``CarrySelectAdder`` (a unit named
        ``<heap name>_add``)."""
        r0, r1 = self.reduce(m)
        add = add_unit(m, f"{self.name}_add", CarrySelectAdder(self.width, block=block), platform)
        m.d.comb += [add.a.eq(r0), add.b.eq(r1)]
        out = Signal(self.width, name=f"{self.name}_sum")
        m.d.comb += out.eq(add.sum[:self.width])
        return out


def square_heap(v, width: int | None = None, name: str = "sq") -> BitHeap:
    """Bit heap of v² for an unsigned v (n bits) from the symmetric partial products only:
    v² = Σ_i v_i·4^i + Σ_{i<j} v_i·v_j·2^(i+j+1) (about half the bits of an n×n product)."""
    v = Value.cast(v)
    n = len(v)
    heap = BitHeap(width or 2 * n, name)
    for i in range(n):
        heap.add_bit(2 * i, v[i])
        for j in range(i + 1, n):
            heap.add_bit(i + j + 1, v[i] & v[j])
    return heap



class AddBlock(wiring.Component):
    """One block of a carry-select adder (a unit: its own module, which the synthesis flow maps
    on its own): the block's carry out for carry in 0 (``g``), whether every bit propagates
    (``p``; carry out for carry in 1 = g | p), and with ``sums`` the block sums for carry in 0
    and 1 (``s0``, ``s1``)."""

    def __init__(self, width: int, sums: bool = True):
        self.width, self.sums = width, sums
        ports = {"a": In(width), "b": In(width), "g": Out(1), "p": Out(1)}
        if sums:
            ports.update(s0=Out(width), s1=Out(width))
        super().__init__(ports)

    @property
    def unit_key(self):
        return (self.width, self.sums)

    @property
    def unit_name(self):
        return "add_block" if self.sums else "carry_block"

    def elaborate(self, platform):
        m = Module()
        w = self.width
        t0 = Signal(w + 1, name="t0")
        m.d.comb += [t0.eq(self.a + self.b), self.g.eq(t0[w]), self.p.eq((self.a ^ self.b).all())]
        if self.sums:
            m.d.comb += [self.s0.eq(t0[:w]), self.s1.eq((self.a + self.b + 1)[:w])]
        return m


class CarrySelectAdder(wiring.Component):
    """``a + b`` of two unsigned ``width``-bit values in one short clock period: ``AddBlock``
    units of ``block`` bits compute their sums for both carries in parallel; a carry chain
    over the blocks picks one (delay ≈ one block + one AND-OR per block + a multiplexer).
    Output ``sum`` (``width`` + 1 bits), or with ``sums=False`` only the carry out ``cout``.

    Why units: the synthesis flow's ABC script optimises for area and turns parallel-prefix
    networks inside one module back into ripple carries (measured on a 62-bit adder: Yosys's
    ``+`` 5.0 ns, a Brent–Kung network 5.0 ns, Kogge–Stone 2.5 ns); module boundaries are
    kept, so the blocks cannot be merged into one chain."""

    def __init__(self, width: int, *, block: int = 8, sums: bool = True):
        self.width, self.block, self.sums = width, block, sums
        ports = {"a": In(width), "b": In(width)}
        ports.update({"sum": Out(width + 1)} if sums else {"cout": Out(1)})
        super().__init__(ports)

    @property
    def unit_key(self):
        return (self.width, self.block, self.sums)

    @property
    def unit_name(self):
        return "csel_adder" if self.sums else "csel_carry"

    def elaborate(self, platform):
        m = Module()
        c = Const(0, 1)
        bits = []
        for k, lo in enumerate(range(0, self.width, self.block)):
            w = min(self.block, self.width - lo)
            u = add_unit(m, f"blk_{k}", AddBlock(w, self.sums), platform)
            m.d.comb += [u.a.eq(self.a[lo:lo + w]), u.b.eq(self.b[lo:lo + w])]
            if self.sums:
                bits.append(Mux(c, u.s1, u.s0))
            nc = Signal(name=f"c{k + 1}")
            m.d.comb += nc.eq(u.g | (u.p & c))
            c = nc
        if self.sums:
            m.d.comb += self.sum.eq(Cat(*bits, c))
        else:
            m.d.comb += self.cout.eq(c)
        return m
