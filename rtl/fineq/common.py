"""Shared definitions of the FineQ RTL: weight layout, exact width derivation, window formulas.

Everything here is plain Python (no hardware): the components use it to size their datapaths,
and the documentation (docs/fineq_rtl.md) states the same formulas. The testbenches compute their
expectations independently (verif/vectors/fineq.py) and compare with what the simulation measures.
"""
from __future__ import annotations

from amaranth import unsigned
from amaranth.lib import data

from ..params import check_choice, check_int

__all__ = ["WEIGHT", "ACT_MIN", "ACT_MAX", "ACT_BITS", "MAX_LEVEL", "CODINGS", "signed_width",
           "check_int", "check_choice", "slice_bound", "phase_bits", "max_window",
           "window_cycles", "csd_digits", "result_bound", "DATAFLOWS", "MULTIPLES",
           "multiple_width", "latency_cycles"]

#: One decoded weight as the decoder emits it and the temporal array stores it:
#: ``mag`` = |level| in {0, 1, 3, 5, 7} (bit 0 = non-zero flag, bits [2:1] = k, |level| = 2k+1),
#: ``sign`` = 1 for a negative level. Packed little-end first: mag at [2:0], sign at [3].
WEIGHT = data.StructLayout({"mag": unsigned(3), "sign": unsigned(1)})

ACT_BITS = 8
ACT_MIN, ACT_MAX = -128, 127
MAX_LEVEL = 7

#: Codings of the weight magnitude in the multiplier-free PE (docs/fineq_rtl.md, "Codings"):
#: ``select`` row-shared multiples: the row head computes a, 3a, 5a, 7a once (three adders per
#:           row) and the PE selects one by its stationary |level|: 1 cycle.
#: ``csd``    radix-4 signed digits |level| = d0 + 4*d1, d0 in {0, ±1}, d1 in {0, 1, 2}: 2 cycles.
#: ``unary``  the odd-level form |level| = 1 + 2k, k pulses in time: 1 + k cycles.
CODINGS = ("select", "csd", "unary")

#: How activations reach the PEs (docs/fineq_rtl.md, "Dataflows"):
#: ``broadcast`` row r's activation (after an input skew of r cycles) drives every PE of the
#:              row; all columns finish together (no per-PE activation register, no output
#:              deskew).
#: ``systolic``  activations move right one PE per cycle through a register in every PE;
#:              column c finishes c cycles after column 0 (output deskew).
DATAFLOWS = ("broadcast", "systolic")

#: The odd multiples of the activation a ``select`` row head computes (|level| in {1, 3, 5, 7}).
MULTIPLES = (1, 3, 5, 7)


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's complement width holding every integer in ``[lo, hi]``."""
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w




def csd_digits(mag: int) -> tuple[int, int]:
    """Radix-4 signed digits of a magnitude: ``mag = d0 + 4*d1`` (1=1+0, 3=-1+4, 5=1+4, 7=-1+8)."""
    table = {0: (0, 0), 1: (1, 0), 3: (-1, 1), 5: (1, 1), 7: (-1, 2)}
    if mag not in table:
        raise ValueError(f"magnitude must be one of {sorted(table)}, got {mag!r}")
    return table[mag]


def multiple_width(m: int) -> int:
    """Two's complement width of ``m * a`` for every INT8 ``a``."""
    return signed_width(ACT_MIN * m, ACT_MAX * m) if m else 1


def slice_bound(coding: str, row: int) -> int:
    """Largest |partial sum| leaving PE row ``row`` (0-based) in one cycle of a temporal array.

    ``select``: a PE adds a whole product ``a * level``, at most 128 * 7 = 896 in magnitude.
    ``unary``/``csd``: a PE adds ``±a`` (unary: every phase; csd: phase 0 and d1 = 1) or ``±2a``
    (csd, d1 = 2) with ``a`` in [-128, 127], so one term is at most 128 (unary) or 256 (csd). Phase
    slices of unary phases t >= 1 are counted in units of 2 and csd phase-1 slices in units of 4
    (the bottom accumulator shifts them), which is why the bound does not grow with the level.
    """
    unit = {"select": -ACT_MIN * MAX_LEVEL, "csd": 256, "unary": 128}[coding]
    return unit * (row + 1)


def phase_bits(coding: str) -> int:
    """Bits of the phase (time slot) a PE needs: 0 for ``select`` (one cycle per vector)."""
    return {"select": 0, "csd": 1, "unary": 2}[coding]


def max_window(coding: str) -> int:
    """Cycles per MAC window for the worst tile (|level| = 7 somewhere in the tile)."""
    return {"select": 1, "csd": 2, "unary": 4}[coding]


def window_cycles(levels, coding: str, early_finish: bool = True) -> int:
    """Cycles per activation vector (T) of a weight tile given its signed levels.

    ``select``: T = 1 always. ``csd``: T = 2, or 1 when every |level| <= 1.  ``unary``:
    T = 1 + max k over the tile (k with |level| = 2k + 1; a zero level counts as k = 0).
    Without early finish T = max_window.
    """
    if coding == "select":
        return 1
    if not early_finish:
        return max_window(coding)
    mags = [abs(int(v)) for v in levels]
    kmax = max(((m - 1) // 2 if m else 0) for m in mags) if mags else 0
    if coding == "csd":
        return 2 if kmax >= 1 else 1
    return 1 + kmax


def latency_cycles(rows: int, cols: int, window: int, dataflow: str) -> int:
    """Cycles from a vector's input handshake to its result on ``o`` (no stall):
    ``R + C + T + 1`` (systolic: the last column finishes C - 1 cycles after the first, and the
    first one cycle later than in a broadcast row) or ``R + T + 1`` (broadcast)."""
    return rows + window + 1 + (cols if dataflow == "systolic" else 0)


def result_bound(rows: int) -> tuple[int, int]:
    """Range of a column sum sum_r a_r * level_r with a in [-128, 127], |level| <= 7."""
    m = -ACT_MIN * MAX_LEVEL          # 896 = (-128) * (-7)
    return -m * rows, m * rows
