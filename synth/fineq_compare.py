"""Area comparison of the temporal-coded FineQ array with the binary baselines.

    python -m synth.fineq_compare [--rows 16] [--cols 16] [--json] [--no-realdata]

Synthesises (through synth.flow, the project's one flow, cached) the temporal array in both
codings and the INT8 x INT4 / INT8 x INT8 binary arrays of the same size, plus one PE of each
(the bottom-row PE, whose partial sum is widest), and prints:

* transistors (CMOS estimate of generic gates) and, when the flow provides them, liberty area
  (µm²) in total and for the "PE array" group alone (the paper's "systolic-array area");
* the reduction of each temporal variant against each baseline;
* cycles per vector window T: worst case, and the mean over all R x C tiles of real
  all-MiniLM-L6-v2 weights quantized by golden.fineq in its default layout (the T the early
  finish actually gets);
* area x cycles per MAC = area * T / (R * C) (steady state: a vector every T cycles).

The MiniLM column needs the model package: without it, one error line and exit code 2
(``--no-realdata`` uses the worst case T instead).
"""
from __future__ import annotations

import argparse
import json
import sys

from golden.models import ModelNotAvailable, minilm_weight
from rtl.fineq.common import window_cycles
from rtl.registry import BlockError

from .flow import FlowError, synthesize
from .liberty import LibertyError

VARIANTS = [
    ("temporal csd", "temporal_array", {"coding": "csd"}, "temporal_pe", {"coding": "csd"}),
    ("temporal unary", "temporal_array", {"coding": "unary"}, "temporal_pe", {"coding": "unary"}),
    ("INT8xINT4", "binary_array", {"weight_bits": 4}, "binary_pe", {"weight_bits": 4}),
    ("INT8xINT8", "binary_array", {"weight_bits": 8}, "binary_pe", {"weight_bits": 8}),
]

MINILM_TENSORS = ["encoder.layer.0.attention.self.query.weight",
                  "encoder.layer.0.attention.output.dense.weight",
                  "encoder.layer.3.intermediate.dense.weight",
                  "encoder.layer.5.output.dense.weight"]


def real_windows(rows: int, cols: int, layout: str | None = None) -> dict[str, dict[int, int]]:
    """Histogram of T over every full R x C tile of a few real MiniLM matrices, per coding
    (ModelNotAvailable without the model package)."""
    import golden.fineq as gf

    layout = layout or gf.DEFAULT_LAYOUT
    hist: dict[str, dict[int, int]] = {"csd": {}, "unary": {}}
    for name in MINILM_TENSORS:
        W = minilm_weight(name)
        lv = gf.quantize(W, layout=layout).levels[:, :W.shape[1]]
        n, k = lv.shape
        for n0 in range(0, n - cols + 1, cols):
            for k0 in range(0, k - rows + 1, rows):
                tile = lv[n0:n0 + cols, k0:k0 + rows].flatten().tolist()
                for coding in hist:
                    t = window_cycles(tile, coding)
                    hist[coding][t] = hist[coding].get(t, 0) + 1
    return hist


def collect(rows: int, cols: int, realdata: bool = True) -> dict:
    out = {"rows": rows, "cols": cols, "variants": []}
    hist = real_windows(rows, cols) if realdata else None
    out["minilm_windows"] = hist
    for label, block, params, pe_block, pe_params in VARIANTS:
        full = synthesize(block, {"rows": rows, "cols": cols, **params})
        pe = synthesize(pe_block, {"row": rows - 1, **pe_params})
        if block == "binary_array":
            t_worst = t_real = 1.0
        else:
            coding = params["coding"]
            t_worst = {"csd": 2, "unary": 4}[coding]
            if hist:
                h = hist[coding]
                t_real = sum(t * n for t, n in h.items()) / sum(h.values())
            else:
                t_real = float(t_worst)
        groups = full.get("groups") or {}
        pe_group = groups.get("pe", {}).get("area_um2")
        out["variants"].append({
            "label": label, "block": block, "params": full["params"],
            "transistors": full["transistors"], "cells": full["cells"],
            "area_um2": full.get("area_um2"), "pe_array_um2": pe_group,
            "pe_transistors": pe["transistors"], "pe_area_um2": pe.get("area_um2"),
            "window_worst": t_worst, "window_minilm": t_real,
            "latency": full.get("latency"),
        })
    return out


def _reductions(rows, key):
    base = {v["label"]: v[key] for v in rows if v[key]}
    res = {}
    for v in rows:
        if not v["label"].startswith("temporal") or not v[key]:
            continue
        for b in ("INT8xINT4", "INT8xINT8"):
            if b in base:
                res[(v["label"], b)] = 100.0 * (1 - v[key] / base[b])
    return res


def markdown(data: dict) -> str:
    R, C = data["rows"], data["cols"]
    rows = data["variants"]
    macs = R * C
    lines = [f"### {R}x{C} arrays", "",
             "| design | transistors | µm² (total) | µm² (PE array group) | PE transistors "
             "(row R-1) | T worst | T MiniLM | transistor-cycles / MAC | µm²-cycles / MAC |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for v in rows:
        um = f"{v['area_um2']:.0f}" if v["area_um2"] else "-"
        pg = f"{v['pe_array_um2']:.0f}" if v["pe_array_um2"] else "-"
        t = v["window_minilm"]
        atm = v["transistors"] * t / macs
        aum = f"{v['area_um2'] * t / macs:.1f}" if v["area_um2"] else "-"
        lines.append(f"| {v['label']} | {v['transistors']} | {um} | {pg} | {v['pe_transistors']} "
                     f"| {v['window_worst']:g} | {t:.3f} | {atm:.0f} | {aum} |")
    lines += ["", "| reduction | metric | vs INT8xINT4 | vs INT8xINT8 |", "|---|---|---:|---:|"]
    for key, name in (("transistors", "array transistors"), ("area_um2", "array µm²"),
                      ("pe_array_um2", "PE-array µm²"),
                      ("pe_transistors", "one PE, transistors")):
        red = _reductions(rows, key)
        for lab in ("temporal csd", "temporal unary"):
            if (lab, "INT8xINT4") in red:
                lines.append(f"| {lab} | {name} | {red[(lab, 'INT8xINT4')]:.1f} % | "
                             f"{red[(lab, 'INT8xINT8')]:.1f} % |")
    # area x cycles ratios
    by = {v["label"]: v for v in rows}
    lines += ["", "| area x cycles per MAC (MiniLM T), temporal / baseline | vs INT8xINT4 | "
              "vs INT8xINT8 |", "|---|---:|---:|"]
    for lab in ("temporal csd", "temporal unary"):
        v = by[lab]
        for key in ("transistors", "area_um2"):
            if not v[key]:
                continue
            r4 = v[key] * v["window_minilm"] / by["INT8xINT4"][key]
            r8 = v[key] * v["window_minilm"] / by["INT8xINT8"][key]
            lines.append(f"| {lab} ({key}) | {r4:.3f} | {r8:.3f} |")
    if data.get("minilm_windows"):
        lines += ["", f"T histogram over {R}x{C} tiles of MiniLM weights: "
                  + "; ".join(f"{c}: {dict(sorted(h.items()))}"
                              for c, h in data["minilm_windows"].items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.fineq_compare",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-realdata", action="store_true")
    args = ap.parse_args(argv)
    try:
        data = collect(args.rows, args.cols, realdata=not args.no_realdata)
    except ModelNotAvailable as e:
        print(f"error: {e} (or pass --no-realdata)", file=sys.stderr)
        return 2
    except (BlockError, FlowError, LibertyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(data, sort_keys=True, default=str))
    else:
        print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
