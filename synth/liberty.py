"""The project's own small 45 nm-class standard-cell library, and a reader for liberty files.

    python -m synth.liberty [--check PATH]     # write synth/lib/mpaccel45.lib (or check a file)

**Areas** are the published NanGate 45 nm Open Cell Library (typical corner) X1 cell areas in
µm² (multiples of the 0.266 µm² placement site: NAND2_X1 = 3 sites = 0.798 µm²). **Input pin
capacitances** are representative NanGate45 typical X1 values in fF, rounded (a few are
approximated from sibling cells; they weight the activity model, they are not sign-off data).
**Delays** are a linear model ``d = d0 + k * C_load`` per cell (``d0`` in ns, ``k`` in ns/fF),
written as 2x2 NLDM tables so that ABC and our static timing read the same numbers; the
coefficients are approximations of the NanGate45 X1 tables around a 0.02 ns input slew (e.g.
AND2_X1: about 25 ps + 2.4 ps/fF), good for comparing logic depth between designs, not for
sign-off. The wire-load model (``5K_hvratio_1_1``: 0.1774 fF/µm, fanout-length table) is the
NanGate45 library's default wire load. Everything here is documented in docs/synth.md.

The reader (:func:`read_liberty`) understands the subset the flow needs from any liberty file
(``--liberty PATH``): cells with ``area``, pins with ``direction``, ``capacitance``,
``function``, ``ff`` groups with ``next_state`` / ``clocked_on``, ``clock : true`` pins, and
scalar or table ``cell_rise`` / ``cell_fall`` values (their mean is used as ``d0``). Errors raise
:class:`LibertyError` with one line naming the file (and the cell).
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infra.cli import Parser, fail

__all__ = ["LibertyError", "Cell", "Library", "read_liberty", "parse_liberty", "liberty_text",
           "DEFAULT_LIBERTY", "parse_function", "WIRE_CAP_PER_UM", "FANOUT_LENGTH",
           "wire_cap", "VDD", "REQUIRED_KINDS"]

LIB_DIR = Path(__file__).resolve().parent / "lib"
DEFAULT_LIBERTY = LIB_DIR / "mpaccel45.lib"
LIB_NAME = "mpaccel45"
VDD = 1.10                 # V, NanGate45 typical corner

# NanGate45 default wire load "5K_hvratio_1_1": capacitance per µm and fanout -> length (µm).
WIRE_CAP_PER_UM = 0.1774   # fF / µm
FANOUT_LENGTH = {1: 1.7460, 2: 3.9394, 3: 6.4626, 4: 9.2201, 5: 11.9123, 6: 14.8358,
                 7: 18.6155, 8: 22.6727, 9: 25.4842, 11: 27.0320}
_WLM_SLOPE = 5.0           # µm per extra fanout beyond the table


def wire_cap(fanout: int) -> float:
    """Wire capacitance (fF) of a net with ``fanout`` sinks (NanGate45 5K wire-load model)."""
    if fanout <= 0:
        return 0.0
    keys = sorted(FANOUT_LENGTH)
    if fanout in FANOUT_LENGTH:
        length = FANOUT_LENGTH[fanout]
    elif fanout < keys[-1]:
        lo = max(k for k in keys if k < fanout)
        hi = min(k for k in keys if k > fanout)
        length = FANOUT_LENGTH[lo] + (FANOUT_LENGTH[hi] - FANOUT_LENGTH[lo]) * (fanout - lo) / (hi - lo)
    else:
        length = FANOUT_LENGTH[keys[-1]] + _WLM_SLOPE * (fanout - keys[-1])
    return WIRE_CAP_PER_UM * length


# ------------------------------------------------------------------------------------------------
# The cell table: name, area (NanGate45 µm²), input pins with capacitance (fF), output function,
# d0 (ns), k (ns/fF).
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    name: str
    area: float
    inputs: tuple[tuple[str, float], ...]
    output: str
    function: str
    d0: float
    k: float


def _s(name, area, inputs, output, function, d0, k):
    return _Spec(name, area, tuple(inputs), output, function, d0, k)


_COMB = [
    _s("INV_X1", 0.532, [("A", 1.70)], "ZN", "!A", 0.010, 0.0045),
    _s("BUF_X1", 0.798, [("A", 0.97)], "Z", "A", 0.025, 0.0045),
    _s("NAND2_X1", 0.798, [("A1", 1.60), ("A2", 1.66)], "ZN", "!(A1 & A2)", 0.013, 0.0055),
    _s("NAND3_X1", 1.064, [("A1", 1.59), ("A2", 1.62), ("A3", 1.65)], "ZN",
       "!((A1 & A2) & A3)", 0.017, 0.0065),
    _s("NAND4_X1", 1.330, [("A1", 1.52), ("A2", 1.57), ("A3", 1.60), ("A4", 1.62)], "ZN",
       "!(((A1 & A2) & A3) & A4)", 0.021, 0.0075),
    _s("NOR2_X1", 0.798, [("A1", 1.71), ("A2", 1.65)], "ZN", "!(A1 | A2)", 0.016, 0.0090),
    _s("NOR3_X1", 1.064, [("A1", 1.76), ("A2", 1.69), ("A3", 1.62)], "ZN",
       "!((A1 | A2) | A3)", 0.024, 0.0130),
    _s("NOR4_X1", 1.330, [("A1", 1.75), ("A2", 1.69), ("A3", 1.65), ("A4", 1.60)], "ZN",
       "!(((A1 | A2) | A3) | A4)", 0.032, 0.0170),
    _s("AND2_X1", 1.064, [("A1", 0.92), ("A2", 0.97)], "ZN", "(A1 & A2)", 0.025, 0.0024),
    _s("AND3_X1", 1.330, [("A1", 0.88), ("A2", 0.92), ("A3", 0.95)], "ZN",
       "((A1 & A2) & A3)", 0.030, 0.0025),
    _s("AND4_X1", 1.596, [("A1", 0.86), ("A2", 0.90), ("A3", 0.92), ("A4", 0.95)], "ZN",
       "(((A1 & A2) & A3) & A4)", 0.034, 0.0025),
    _s("OR2_X1", 1.064, [("A1", 0.95), ("A2", 0.98)], "ZN", "(A1 | A2)", 0.035, 0.0024),
    _s("OR3_X1", 1.330, [("A1", 0.91), ("A2", 0.94), ("A3", 0.96)], "ZN",
       "((A1 | A2) | A3)", 0.045, 0.0025),
    _s("OR4_X1", 1.596, [("A1", 0.89), ("A2", 0.92), ("A3", 0.94), ("A4", 0.96)], "ZN",
       "(((A1 | A2) | A3) | A4)", 0.055, 0.0025),
    _s("XOR2_X1", 1.596, [("A", 2.18), ("B", 2.36)], "Z", "(A ^ B)", 0.030, 0.0050),
    _s("XNOR2_X1", 1.596, [("A", 2.22), ("B", 2.57)], "ZN", "!(A ^ B)", 0.030, 0.0050),
    _s("AOI21_X1", 1.064, [("A", 1.62), ("B1", 1.65), ("B2", 1.68)], "ZN",
       "!(A | (B1 & B2))", 0.018, 0.0090),
    _s("AOI22_X1", 1.330, [("A1", 1.61), ("A2", 1.68), ("B1", 1.55), ("B2", 1.62)], "ZN",
       "!((A1 & A2) | (B1 & B2))", 0.022, 0.0095),
    _s("AOI211_X1", 1.330, [("A", 1.61), ("B", 1.65), ("C1", 1.55), ("C2", 1.62)], "ZN",
       "!(((C1 & C2) | B) | A)", 0.030, 0.0140),
    _s("AOI221_X1", 1.596, [("A", 1.56), ("B1", 1.62), ("B2", 1.65), ("C1", 1.53),
                            ("C2", 1.60)], "ZN", "!(((C1 & C2) | A) | (B1 & B2))", 0.033, 0.0140),
    _s("AOI222_X1", 2.128, [("A1", 1.55), ("A2", 1.62), ("B1", 1.52), ("B2", 1.58),
                            ("C1", 1.50), ("C2", 1.56)], "ZN",
       "!(((A1 & A2) | (B1 & B2)) | (C1 & C2))", 0.040, 0.0150),
    _s("OAI21_X1", 1.064, [("A", 1.67), ("B1", 1.63), ("B2", 1.58)], "ZN",
       "!(A & (B1 | B2))", 0.017, 0.0075),
    _s("OAI22_X1", 1.330, [("A1", 1.59), ("A2", 1.66), ("B1", 1.56), ("B2", 1.62)], "ZN",
       "!((A1 | A2) & (B1 | B2))", 0.021, 0.0080),
    _s("OAI211_X1", 1.330, [("A", 1.60), ("B", 1.63), ("C1", 1.58), ("C2", 1.64)], "ZN",
       "!(((C1 | C2) & A) & B)", 0.021, 0.0070),
    _s("OAI221_X1", 1.596, [("A", 1.57), ("B1", 1.60), ("B2", 1.64), ("C1", 1.55),
                            ("C2", 1.61)], "ZN", "!(((C1 | C2) & A) & (B1 | B2))", 0.026, 0.0080),
    _s("OAI222_X1", 2.128, [("A1", 1.52), ("A2", 1.58), ("B1", 1.50), ("B2", 1.56),
                            ("C1", 1.48), ("C2", 1.54)], "ZN",
       "!(((A1 | A2) & (B1 | B2)) & (C1 | C2))", 0.032, 0.0090),
    _s("OAI33_X1", 1.596, [("A1", 1.56), ("A2", 1.60), ("A3", 1.64), ("B1", 1.53),
                           ("B2", 1.58), ("B3", 1.62)], "ZN",
       "!(((A1 | A2) | A3) & ((B1 | B2) | B3))", 0.034, 0.0130),
    _s("MUX2_X1", 1.862, [("A", 0.95), ("B", 1.06), ("S", 1.92)], "Z",
       "((S & B) | (A & !S))", 0.040, 0.0030),
]

# D flip-flop (NanGate45 DFF_X1): area, D / CK pin capacitance, clock-to-Q delay.
DFF = {"name": "DFF_X1", "area": 4.522, "D": 1.14, "CK": 0.95, "clk_q": 0.085, "k": 0.0045,
       "setup": 0.035}
TIE = [("LOGIC0_X1", 0.532, "0"), ("LOGIC1_X1", 0.532, "1")]

#: Kinds of cell the flow needs from any library: an inverter, a buffer (ABC), a 2-input
#: NAND (the NAND2-equivalent unit) and a D flip-flop.
REQUIRED_KINDS = ("inverter", "buffer", "nand2", "dff")


def lut(name: str, d: float, k: float) -> str:
    """A 2x2 NLDM table: index_1 = input transition (ns), index_2 = output load (fF); value =
    d + k·load (the slew dependence is ignored in this simple model)."""
    loads = (0.0, 10.0)
    row = ", ".join(f"{d + k * c:.5f}" for c in loads)
    return (f'        {name} (delay_2x2) {{\n'
            f'          index_1 ("0.0, 0.2");\n          index_2 ("0.0, 10.0");\n'
            f'          values ("{row}", "{row}");\n        }}\n')


def timing_group(related: str, d: float, k: float, extra: str = "",
                 transition: float = 0.01) -> str:
    """A liberty timing() group: delay d + k·load (ns, fF), output transition ``transition`` +
    2k·load."""
    return (f"      timing () {{\n        related_pin : \"{related}\";\n{extra}"
            + lut("cell_rise", d, k) + lut("cell_fall", d, k)
            + lut("rise_transition", transition, 2 * k) + lut("fall_transition", transition, 2 * k)
            + "      }\n")


def liberty_text() -> str:
    """The text of the project's liberty file (deterministic)."""
    out = [
        "/* mpaccel45: the project's small 45 nm-class cell library, written by synth/liberty.py.\n"
        " * Cell areas: published NanGate 45 nm Open Cell Library (typical) X1 values (um^2).\n"
        " * Pin capacitances: representative NanGate45 typical X1 values (fF), rounded.\n"
        " * Delays: linear model d = d0 + k * load as 2x2 tables (approximate). See docs/synth.md.\n"
        " */\n",
        f"library ({LIB_NAME}) {{\n",
        "  delay_model : table_lookup;\n  time_unit : \"1ns\";\n  voltage_unit : \"1V\";\n"
        "  current_unit : \"1mA\";\n  leakage_power_unit : \"1nW\";\n"
        "  capacitive_load_unit (1,ff);\n  pulling_resistance_unit : \"1kohm\";\n"
        f"  nom_voltage : {VDD:.2f};\n  nom_temperature : 25.0;\n  nom_process : 1.0;\n"
        "  default_input_pin_cap : 1.0;\n  default_output_pin_cap : 0.0;\n"
        "  input_threshold_pct_rise : 50;\n  input_threshold_pct_fall : 50;\n"
        "  output_threshold_pct_rise : 50;\n  output_threshold_pct_fall : 50;\n"
        "  slew_lower_threshold_pct_rise : 30;\n  slew_upper_threshold_pct_rise : 70;\n"
        "  slew_lower_threshold_pct_fall : 30;\n  slew_upper_threshold_pct_fall : 70;\n"
        "  lu_table_template (delay_2x2) {\n    variable_1 : input_net_transition;\n"
        "    variable_2 : total_output_net_capacitance;\n"
        "    index_1 (\"0.0, 0.2\");\n    index_2 (\"0.0, 10.0\");\n  }\n",
    ]
    for c in _COMB:
        out.append(f"  cell ({c.name}) {{\n    area : {c.area:.3f};\n")
        for pin, cap in c.inputs:
            out.append(f"    pin ({pin}) {{\n      direction : input;\n      capacitance : {cap:.2f};\n    }}\n")
        out.append(f"    pin ({c.output}) {{\n      direction : output;\n"
                   f"      function : \"{c.function}\";\n")
        for pin, _ in c.inputs:
            out.append(timing_group(pin, c.d0, c.k))
        out.append("    }\n  }\n")
    for name, area, fn in TIE:
        out.append(f"  cell ({name}) {{\n    area : {area:.3f};\n"
                   f"    pin (Z) {{\n      direction : output;\n      function : \"{fn}\";\n    }}\n  }}\n")
    d = DFF
    out.append(
        f"  cell ({d['name']}) {{\n    area : {d['area']:.3f};\n"
        "    ff (IQ, IQN) {\n      next_state : \"D\";\n      clocked_on : \"CK\";\n    }\n"
        f"    pin (D) {{\n      direction : input;\n      capacitance : {d['D']:.2f};\n"
        "      timing () {\n        related_pin : \"CK\";\n        timing_type : setup_rising;\n"
        + lut("rise_constraint", d["setup"], 0.0) + lut("fall_constraint", d["setup"], 0.0)
        + "      }\n    }\n"
        f"    pin (CK) {{\n      direction : input;\n      clock : true;\n"
        f"      capacitance : {d['CK']:.2f};\n    }}\n"
        "    pin (Q) {\n      direction : output;\n      function : \"IQ\";\n"
        + timing_group("CK", d["clk_q"], d["k"], "        timing_type : rising_edge;\n")
        + "    }\n"
        "    pin (QN) {\n      direction : output;\n      function : \"IQN\";\n"
        + timing_group("CK", d["clk_q"], d["k"], "        timing_type : rising_edge;\n")
        + "    }\n  }\n")
    out.append("}\n")
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# Reader
# ------------------------------------------------------------------------------------------------

class LibertyError(ValueError):
    """A liberty file is missing, malformed or lacks a needed cell (one-line message)."""


@dataclass
class Cell:
    name: str
    area: float
    inputs: dict[str, float] = field(default_factory=dict)        # pin -> capacitance (fF)
    outputs: dict[str, str] = field(default_factory=dict)         # pin -> function text
    clock: str | None = None                                      # clock pin (flip-flops)
    ff: tuple[str, str, str, str] | None = None                   # (IQ, IQN, next_state, clocked_on)
    other_seq: bool = False                                       # latch / statetable
    d0: float = 0.0                                               # ns, from cell_rise/fall
    k: float = 0.0                                                # ns/fF
    setup: float = 0.0

    @property
    def sequential(self) -> bool:
        return self.ff is not None or self.other_seq


@dataclass
class Library:
    path: Path
    name: str
    cells: dict[str, Cell]

    def kinds(self) -> dict[str, str]:
        """Smallest cell of each required kind (name), by truth table."""
        found: dict[str, list[tuple[float, str]]] = {}
        for cell in self.cells.values():
            if cell.other_seq or cell.area <= 0:
                continue
            if cell.ff is not None:
                iq, iqn, nxt, clk = cell.ff
                if (len(cell.inputs) == 2 and cell.clock and nxt.strip() in cell.inputs
                        and any(f.strip() == iq for f in cell.outputs.values())):
                    found.setdefault("dff", []).append((cell.area, cell.name))
                continue
            if len(cell.outputs) != 1:
                continue
            (fn,) = cell.outputs.values()
            pins = list(cell.inputs)
            try:
                tt = truth_table(fn, pins)
            except LibertyError:
                continue
            if len(pins) == 1 and tt == [1, 0]:
                found.setdefault("inverter", []).append((cell.area, cell.name))
            elif len(pins) == 1 and tt == [0, 1]:
                found.setdefault("buffer", []).append((cell.area, cell.name))
            elif len(pins) == 2 and tt == [1, 1, 1, 0]:
                found.setdefault("nand2", []).append((cell.area, cell.name))
            elif len(pins) == 3 and self._mux_roles(cell, pins, tt):
                found.setdefault("mux2", []).append((cell.area, cell.name))
        return {k: min(v)[1] for k, v in found.items()}

    @staticmethod
    def _mux_roles(cell, pins, tt) -> dict | None:
        """Pin roles {A (select 0), B (select 1), S, Z} if the cell is a 2:1 multiplexer."""
        import itertools
        for a, b, sel in itertools.permutations(range(3)):
            ok = True
            for idx in range(8):
                v = [(idx >> j) & 1 for j in range(3)]
                want = v[b] if v[sel] else v[a]
                if tt[idx] != want:
                    ok = False
                    break
            if ok:
                return {"A": pins[a], "B": pins[b], "S": pins[sel], "Z": next(iter(cell.outputs))}
        return None

    def mux_roles(self, name: str) -> dict:
        cell = self.cells[name]
        pins = list(cell.inputs)
        return self._mux_roles(cell, pins, truth_table(next(iter(cell.outputs.values())), pins))

    def require(self) -> dict[str, str]:
        kinds = self.kinds()
        for kind in REQUIRED_KINDS:
            if kind not in kinds:
                what = {"inverter": "an inverter", "buffer": "a buffer (ABC needs one)",
                        "nand2": "a 2-input NAND (the NAND2-equivalent unit)",
                        "dff": "a plain positive-edge D flip-flop (ff next_state = D)"}[kind]
                raise LibertyError(f"{self.path}: liberty has no cell usable as {what}")
        return kinds

    @property
    def nand2_area(self) -> float:
        return self.cells[self.require()["nand2"]].area


_TOKEN = re.compile(r'\s*(?:(/\*.*?\*/)|(//[^\n]*)|("(?:[^"\\]|\\.)*")|(\\\r?\n)|([{}();:,])|([^\s{}();:,"]+))',
                    re.S)


def _tokens(text: str, path):
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                return
            line = text.count("\n", 0, pos) + 1
            raise LibertyError(f"{path}:{line}: malformed liberty (unexpected {text[pos:pos + 20]!r})")
        pos = m.end()
        if m.group(1) or m.group(2) or m.group(4):
            continue
        tok = m.group(3) or m.group(5) or m.group(6)
        if tok is None:
            continue
        yield tok, text.count("\n", 0, m.start()) + 1


def _parse_groups(text: str, path):
    """Liberty -> nested (name, args, attrs, children). attrs: name -> value text."""
    toks = list(_tokens(text, path))
    i = 0

    def err(msg, at):
        line = toks[at][1] if at < len(toks) else (toks[-1][1] if toks else 1)
        raise LibertyError(f"{path}:{line}: malformed liberty ({msg})")

    def unq(t):
        return t[1:-1] if t.startswith('"') else t

    def group_body():
        nonlocal i
        attrs: dict[str, str] = {}
        children: list = []
        while True:
            if i >= len(toks):
                err("missing '}'", i)
            t = toks[i][0]
            if t == "}":
                i += 1
                return attrs, children
            name = t
            i += 1
            if i >= len(toks):
                err(f"unexpected end after {name!r}", i)
            t = toks[i][0]
            if t == ":":
                i += 1
                vals = []
                while i < len(toks) and toks[i][0] not in (";", "}"):
                    # a value may run to the end of line without ';'
                    if vals and toks[i][1] != toks[i - 1][1]:
                        break
                    vals.append(unq(toks[i][0]))
                    i += 1
                if i < len(toks) and toks[i][0] == ";":
                    i += 1
                if not vals:
                    err(f"attribute {name!r} has no value", i)
                attrs[name] = " ".join(vals)
            elif t == "(":
                i += 1
                args = []
                while i < len(toks) and toks[i][0] != ")":
                    if toks[i][0] != ",":
                        args.append(unq(toks[i][0]))
                    i += 1
                if i >= len(toks):
                    err(f"missing ')' after {name}(", i)
                i += 1
                if i < len(toks) and toks[i][0] == "{":
                    i += 1
                    a, c = group_body()
                    children.append((name, args, a, c))
                else:
                    if i < len(toks) and toks[i][0] == ";":
                        i += 1
                    attrs.setdefault(name, ",".join(args))
            elif t == ";":
                i += 1
            else:
                err(f"expected ':' or '(' after {name!r}, got {t!r}", i)

    if not toks:
        raise LibertyError(f"{path}: malformed liberty (empty file)")
    if toks[0][0] != "library":
        err("the file must start with 'library (NAME) {'", 0)
    i = 1
    if i >= len(toks) or toks[i][0] != "(":
        err("expected 'library (NAME) {'", i)
    i += 1
    args = []
    while i < len(toks) and toks[i][0] != ")":
        args.append(unq(toks[i][0]))
        i += 1
    i += 1
    if i >= len(toks) or toks[i][0] != "{":
        err("expected '{' after library (NAME)", i)
    i += 1
    attrs, children = group_body()
    if i < len(toks):
        err(f"text after the library group: {toks[i][0]!r}", i)
    return args[0] if args else "", attrs, children


def _table_first(group) -> float | None:
    """The table's first value (smallest slew and load: the intrinsic delay), or a scalar."""
    _, _, attrs, _ = group
    vals = attrs.get("values")
    if vals is None:
        return None
    try:
        nums = [float(x) for x in re.split(r"[,\s\\]+", vals) if x.strip()]
    except ValueError:
        return None
    return nums[0] if nums else None


def _table_slope(group) -> float:
    """ns/fF: slope of the first row along index_2 (output load), 0 if not a table."""
    _, _, attrs, _ = group
    try:
        idx2 = [float(x) for x in re.split(r"[,\s]+", attrs["index_2"]) if x.strip()]
        rows = attrs["values"].replace("\\", " ")
        first = [float(x) for x in re.split(r"[,\s]+", rows) if x.strip()][: len(idx2)]
        if len(idx2) >= 2 and len(first) == len(idx2) and idx2[-1] != idx2[0]:
            return (first[-1] - first[0]) / (idx2[-1] - idx2[0])
    except (KeyError, ValueError):
        pass
    return 0.0


def _quantity(text: str, what: str) -> float:
    """An area or a capacitance: a finite number >= 0 (``LibertyError`` naming ``what``)."""
    try:
        v = float(text)
    except ValueError:
        raise LibertyError(f"{what} {text!r} is not a number") from None
    if not 0.0 <= v < math.inf:                   # refuses nan, inf and negative values
        raise LibertyError(f"{what} must be a finite number >= 0, got {text!r}")
    return v


def parse_liberty(text: str, path="<liberty>") -> Library:
    name, _, groups = _parse_groups(text, path)
    cells: dict[str, Cell] = {}
    for gname, args, attrs, children in groups:
        if gname != "cell":
            continue
        if not args:
            raise LibertyError(f"{path}: malformed liberty (cell without a name)")
        cname = args[0]
        cell = Cell(cname, _quantity(attrs.get("area", "0"), f"{path}: cell {cname}: area"))
        delays, slopes = [], []
        for ch in children:
            cn, cargs, cattrs, cchildren = ch
            if cn == "ff":
                if len(cargs) < 2:
                    raise LibertyError(f"{path}: cell {cname}: ff group needs (IQ, IQN)")
                cell.ff = (cargs[0], cargs[1], cattrs.get("next_state", ""),
                           cattrs.get("clocked_on", ""))
            elif cn in ("latch", "statetable", "ff_bank", "latch_bank"):
                cell.other_seq = True
            elif cn == "pin":
                for pin in cargs:
                    direction = cattrs.get("direction", "")
                    if direction == "input":
                        cell.inputs[pin] = _quantity(cattrs.get("capacitance", "1.0"),
                                                     f"{path}: cell {cname} pin {pin}: capacitance")
                        if cattrs.get("clock", "false") == "true":
                            cell.clock = pin
                    elif direction == "output":
                        cell.outputs[pin] = cattrs.get("function", "")
                    for t in cchildren:
                        if t[0] != "timing":
                            continue
                        ttype = t[2].get("timing_type", "combinational")
                        for tg in t[3]:
                            if tg[0] in ("cell_rise", "cell_fall"):
                                mean = _table_first(tg)
                                if mean is not None:
                                    delays.append(mean)
                                    slopes.append(_table_slope(tg))
                            elif tg[0] in ("rise_constraint", "fall_constraint") and ttype.startswith("setup"):
                                mean = _table_first(tg)
                                if mean is not None:
                                    cell.setup = max(cell.setup, mean)
        if delays:
            cell.d0 = sum(delays) / len(delays)
            cell.k = sum(slopes) / len(slopes)
        if not all(math.isfinite(v) for v in (cell.d0, cell.k, cell.setup)):
            raise LibertyError(f"{path}: cell {cname}: timing table values must be finite numbers")
        cells[cname] = cell
    if not cells:
        raise LibertyError(f"{path}: liberty defines no cells")
    return Library(Path(path), name, cells)


def read_liberty(path) -> Library:
    p = Path(path)
    if not p.exists():
        raise LibertyError(f"{p}: liberty file not found")
    if not p.is_file():
        raise LibertyError(f"{p}: liberty path is not a file")
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise LibertyError(f"{p}: malformed liberty (not a text file)") from None
    lib = parse_liberty(text, p)
    lib.path = p
    return lib


# ------------------------------------------------------------------------------------------------
# Boolean functions of liberty pins -> truth tables
# ------------------------------------------------------------------------------------------------

_FN_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\[\]\.]*|[01]|[!'&*|+^()])")


def parse_function(fn: str):
    """Liberty function text -> a Python callable over a dict of pin values (0/1).

    Grammar: ``|``/``+`` (or) < ``^`` (xor) < ``&``/``*``/juxtaposition (and) < ``!`` prefix and
    ``'`` postfix (not), parentheses, constants 0 and 1.
    """
    toks, pos = [], 0
    fn = fn.strip()
    while pos < len(fn):
        m = _FN_TOKEN.match(fn, pos)
        if not m:
            if fn[pos:].strip() == "":
                break
            raise LibertyError(f"cannot parse function {fn!r}")
        toks.append(m.group(1))
        pos = m.end()
    i = 0

    def peek():
        return toks[i] if i < len(toks) else None

    def take():
        nonlocal i
        i += 1
        return toks[i - 1]

    def p_or():
        left = p_xor()
        while peek() in ("|", "+"):
            take()
            r = p_xor()
            left = (lambda a, b: lambda v: a(v) | b(v))(left, r)
        return left

    def p_xor():
        left = p_and()
        while peek() == "^":
            take()
            r = p_and()
            left = (lambda a, b: lambda v: a(v) ^ b(v))(left, r)
        return left

    def p_and():
        left = p_not()
        while peek() is not None and (peek() in ("&", "*") or peek() not in ("|", "+", "^", ")", "'")):
            if peek() in ("&", "*"):
                take()
            r = p_not()
            left = (lambda a, b: lambda v: a(v) & b(v))(left, r)
        return left

    def p_not():
        if peek() == "!":
            take()
            inner = p_not()
            node = (lambda a: lambda v: 1 - a(v))(inner)
        else:
            node = p_atom()
        while peek() == "'":
            take()
            node = (lambda a: lambda v: 1 - a(v))(node)
        return node

    def p_atom():
        t = take() if peek() is not None else None
        if t is None:
            raise LibertyError(f"cannot parse function {fn!r} (unexpected end)")
        if t == "(":
            e = p_or()
            if take() != ")" if peek() is not None else True:
                raise LibertyError(f"cannot parse function {fn!r} (missing ')')")
            return e
        if t in ("0", "1"):
            c = int(t)
            return lambda v: c
        if t in ("&", "*", "|", "+", "^", ")", "'", "!"):
            raise LibertyError(f"cannot parse function {fn!r} (unexpected {t!r})")
        return lambda v, t=t: v[t]

    if not toks:
        raise LibertyError("empty function")
    e = p_or()
    if i != len(toks):
        raise LibertyError(f"cannot parse function {fn!r} (trailing {toks[i]!r})")
    return e


def truth_table(fn: str, pins: list[str]) -> list[int]:
    """Output for every input combination; entry ``sum(v_j << j)`` with pin j = ``pins[j]``."""
    f = parse_function(fn)
    out = []
    for idx in range(1 << len(pins)):
        env = {p: (idx >> j) & 1 for j, p in enumerate(pins)}
        try:
            out.append(f(env) & 1)
        except KeyError as e:
            raise LibertyError(f"function {fn!r} uses {e.args[0]!r}, not an input pin") from None
    return out


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.liberty", description=__doc__.split("\n")[0])
    ap.add_argument("--check", type=Path, help="read a liberty file and list its usable cells")
    ap.add_argument("-o", "--out", type=Path, default=DEFAULT_LIBERTY)
    args = ap.parse_args(argv)
    try:
        if args.check:
            lib = read_liberty(args.check)
            kinds = lib.require()
            print(f"{args.check}: {len(lib.cells)} cells; " +
                  ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())) +
                  f"; NAND2 area {lib.nand2_area}")
            return 0
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(liberty_text())
        print(args.out)
        return 0
    except LibertyError as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"--out {str(args.out)!r}: {e.strerror or type(e).__name__}")


if __name__ == "__main__":
    sys.exit(main())
