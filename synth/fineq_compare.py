"""Area comparison of the FineQ array variants with the binary baselines, dataflow by dataflow.

    python -m synth.fineq_compare [--rows 16] [--cols 16] [--json] [--no-realdata]

Synthesises (through synth.flow, the project's one flow, cached) the multiplier-free array in
every coding (``select``, ``csd``, ``unary``) and the INT8 x INT4 / INT8 x INT8 binary arrays of
the same size, each in both dataflows (``broadcast``, ``systolic``), plus one PE of each (the
bottom-row PE, whose partial sum is widest), and prints:

* liberty area (µm²) in total and for the PE grid (PEs + select row heads), flip-flops, fmax,
  transistors (CMOS estimate of the generic gates);
* cycles per vector window T: worst case, and the mean over every R x C tile of the four real
  all-MiniLM-L6-v2 matrices of the energy workload (synth.fineq_windows: the T early finish
  actually gets), with the histogram;
* area x cycles per MAC = area * T / (R * C) (steady state: a vector every T cycles), and its
  ratio to INT8 x INT4 and INT8 x INT8 **of the same dataflow**; the area reduction vs INT8 x INT8.

Energy is measured by ``make area`` (synth.report). The MiniLM column needs the model package:
without it, one error line and exit code 2 (``--no-realdata`` uses the worst case T instead).
Unknown values (``--rows 0``) are one error line and exit code 2 too.
"""
from __future__ import annotations

import json
import sys

from golden.models import ModelNotAvailable
from infra.cli import Parser, fail
from rtl.fineq.array import MAX_DIM
from rtl.fineq.common import max_window
from rtl.params import check_int
from rtl.registry import BlockError

from .designs import FINEQ_CODINGS, FINEQ_DATAFLOWS, fineq_label
from .fineq_windows import window_histogram
from .flow import FlowError, synthesize
from .liberty import LibertyError
from .tables import GRID_UNITS


def variants():
    """(kind, dataflow, array block, array params, PE block, PE params) of every array."""
    out = []
    for df in FINEQ_DATAFLOWS:
        for kind in FINEQ_CODINGS + ("int4", "int8"):
            if kind.startswith("int"):
                p = {"weight_bits": int(kind[3:]), "dataflow": df}
                out.append((kind, df, "binary_array", p, "binary_pe", p))
            else:
                p = {"coding": kind, "dataflow": df}
                out.append((kind, df, "temporal_array", p, "temporal_pe", p))
    return out


def collect(rows: int, cols: int, realdata: bool = True) -> dict:
    out = {"rows": rows, "cols": cols, "variants": []}
    hist = window_histogram(rows, cols) if realdata else None
    out["windows"] = hist
    for kind, df, block, params, pe_block, pe_params in variants():
        full = synthesize(block, {"rows": rows, "cols": cols, **params})
        pe = synthesize(pe_block, {"row": rows - 1, **pe_params})
        if block == "binary_array":
            t_worst = t_real = 1.0
        else:
            t_worst = float(max_window(kind))
            t_real = hist["mean"][kind] if hist else t_worst
        groups = full.get("groups") or {}
        grid = sum(groups.get(g, {}).get("area_um2", 0.0) for g in GRID_UNITS)
        out["variants"].append({
            "kind": kind, "dataflow": df, "label": fineq_label(kind, df), "block": block,
            "params": full["params"], "transistors": full["transistors"],
            "area_um2": full["area_um2"], "grid_um2": round(grid, 1),
            "flip_flops": full["flip_flops"], "fmax_mhz": full["timing"]["fmax_mhz"],
            "pe_area_um2": pe["area_um2"], "pe_flip_flops": pe["flip_flops"],
            "window_worst": t_worst, "window_minilm": t_real, "latency": full.get("latency"),
        })
    return out


def markdown(data: dict) -> str:
    R, C = data["rows"], data["cols"]
    macs = R * C
    lines = [f"### {R}x{C} arrays", "",
             "| dataflow | design | µm² | µm² PE grid | flip-flops | fmax MHz | one PE µm² (row "
             "R-1) | T worst | T MiniLM | µm²-cycles / MAC | vs INT8xINT4 | vs INT8xINT8 | "
             "area red. vs INT8xINT8 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = {(v["kind"], v["dataflow"]): v for v in data["variants"]}
    for v in data["variants"]:
        axc = v["area_um2"] * v["window_minilm"]
        b4, b8 = base[("int4", v["dataflow"])], base[("int8", v["dataflow"])]
        r4 = axc / b4["area_um2"]
        r8 = axc / b8["area_um2"]
        red = 100 * (1 - v["area_um2"] / b8["area_um2"])
        lines.append(f"| {v['dataflow']} | {v['label']} | {v['area_um2']:.0f} | {v['grid_um2']:.0f} | "
                     f"{v['flip_flops']} | {v['fmax_mhz']:.0f} | {v['pe_area_um2']:.1f} | "
                     f"{v['window_worst']:g} | {v['window_minilm']:.3f} | {axc / macs:.1f} | "
                     f"{r4:.3f} | {r8:.3f} | {red:.1f} % |")
    w = data.get("windows")
    if w:
        lines += ["", f"T histogram over every {w['size']} tile of the four MiniLM matrices "
                  f"({w['tiles']} tiles: {', '.join(w['layers'])}): "
                  + "; ".join(f"{c}: {h}" for c, h in w["codings"].items())
                  + "; binary arrays: T = 1"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.fineq_compare", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-realdata", action="store_true")
    args = ap.parse_args(argv)
    try:
        check_int("rows", args.rows, 1, MAX_DIM)
        check_int("cols", args.cols, 1, MAX_DIM)
        data = collect(args.rows, args.cols, realdata=not args.no_realdata)
    except ModelNotAvailable as e:
        return fail(f"{e} (or pass --no-realdata)")
    except (BlockError, FlowError, LibertyError, ValueError) as e:
        return fail(str(e))
    if args.json:
        print(json.dumps(data, sort_keys=True, default=str))
    else:
        print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
