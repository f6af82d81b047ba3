"""Inference energy per token, FGMP vs all-FP8 (system model of synth/system, docs/synth.md).

    python -m synth.system [--model minilm|llama2-7b|all] [--p P ...] [--anchor-pj 0.23]
                           [--dram-pj 1300] [--weight-sram 1MB] [--act-sram 32KB] [--lanes 64]
                           [--batch N] [--delay-model unit-delay] [--report PATH] [--json]

The gate-level energies come from the report of ``make area`` (``--report``, default
``$BUILD_DIR/synth/report.json``): whatever VMAC and activation-quantizer designs it holds.
Bad input (unknown model, p outside [0, 1] or without a gate-level figure, a bad option value,
no report): one line ``error: ...`` on stderr, exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.paths import build_dir

from . import (DELAY_MODELS, MODELS, PS, SRAM_PJ_PER_64B, Assumptions, SystemModelError,
               assumptions_json, compare, gate_level, model_shape, sensitivity)


class _Parser(argparse.ArgumentParser):
    def error(self, message):           # one line, exit 2 (argparse prints usage otherwise)
        raise SystemModelError(message)


def _p(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"p must be a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"p must be a number in [0, 1], got {text!r}")
    return v


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m synth.system", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="all", help=f"{', '.join(MODELS)} or all (default)")
    ap.add_argument("--p", type=_p, nargs="+", default=list(PS), help="NVFP4 fractions")
    d = Assumptions()
    ap.add_argument("--anchor-pj", type=float, default=d.anchor_pj_per_mac,
                    help="published energy of one FP8 MAC, pJ (the anchor)")
    ap.add_argument("--dram-pj", type=float, default=d.dram_pj_per_64b,
                    help="DRAM energy per 64 bits, pJ")
    ap.add_argument("--weight-sram", default=d.weight_sram, help=", ".join(SRAM_PJ_PER_64B))
    ap.add_argument("--act-sram", default=d.act_sram, help=", ".join(SRAM_PJ_PER_64B))
    ap.add_argument("--lanes", type=int, default=d.lanes,
                    help="output channels sharing one activation read")
    ap.add_argument("--batch", type=int, default=None,
                    help="tokens per DRAM weight fetch (default: per model)")
    ap.add_argument("--delay-model", default=d.delay_model, help=", ".join(DELAY_MODELS))
    ap.add_argument("--report", type=Path, default=None,
                    help="report.json of make area (default $BUILD_DIR/synth/report.json)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    return ap


def _fmt(x, nd=2):
    return "-" if x is None else f"{x:,.{nd}f}"


def run(argv=None) -> tuple[dict, bool]:
    """(result, --json given)."""
    args = _parser().parse_args(argv)
    names = list(MODELS) if args.model == "all" else [args.model]
    for n in names:
        if n not in MODELS:
            raise SystemModelError(f"unknown model {n!r} (known: {', '.join(MODELS)}, all)")
    a = Assumptions(args.anchor_pj, args.dram_pj, args.weight_sram, args.act_sram, args.lanes,
                    args.batch, args.delay_model).check()
    path = args.report or build_dir("synth", "report.json")
    if not Path(path).is_file():
        raise SystemModelError(f"{path} does not exist: run make area first (or pass --report)")
    try:
        rows = json.loads(Path(path).read_text())["rows"]
    except (ValueError, KeyError) as e:
        raise SystemModelError(f"{path} is not a make area report ({type(e).__name__})") from None
    gl = gate_level(rows, a.delay_model)
    for p in args.p:
        if p not in gl.fgmp_pair_fj:
            raise SystemModelError(f"no gate-level FGMP datapath figure at p = {p} (available: "
                                   f"{', '.join(str(q) for q in gl.fgmp_pair_fj)})")
    others = {}
    for m in DELAY_MODELS:
        try:
            others[m] = gate_level(rows, m)
        except SystemModelError:
            pass
    out = {"assumptions": assumptions_json(a), "gate_level": gl.__dict__, "models": {}}
    for n in names:
        shape = model_shape(n)
        out["models"][n] = {"name": shape.name, "source": shape.source, "batch": a.batch or shape.batch,
                            "batch_reason": shape.batch_reason,
                            "rows": compare(shape, gl, a, args.p),
                            "sensitivity": sensitivity(shape, gl, a, 0.7, others)
                            if gl.fgmp_pair_fj.get(0.7) is not None else None}
    return out, args.json


def _print(out: dict) -> None:
    a = out["assumptions"]
    print(f"anchor {a['anchor_pj_per_mac']} pJ per FP8 MAC; DRAM {a['dram_pj_per_64b']} pJ/64 b; "
          f"weight SRAM {a['weight_sram']}, activation SRAM {a['act_sram']}; {a['lanes']} lanes "
          f"per activation read; datapath {out['gate_level']['delay_model']}")
    for m in out["models"].values():
        print(f"\n{m['name']} (batch {m['batch']}: {m['batch_reason']}), uJ per token")
        print(f"{'design':8s} {'p':>4s} {'datapath':>9s} {'act quant':>9s} {'wt SRAM':>9s} "
              f"{'DRAM':>9s} {'act SRAM':>9s} {'total':>9s} {'vs FP8':>7s} {'AQ/dp %':>7s}")
        for r in m["rows"]:
            p = "-" if r["p"] is None else f"{r['p']:.1f}"
            if r["status"] != "ok":
                print(f"{r['design']:8s} {p:>4s} {r['status']}")
                continue
            print(f"{r['design']:8s} {p:>4s} {_fmt(r['datapath_uj'], 3):>9s} "
                  f"{_fmt(r['act_quant_uj'], 4):>9s} {_fmt(r['weight_sram_uj']):>9s} "
                  f"{_fmt(r['dram_uj']):>9s} {_fmt(r['act_sram_uj'], 3):>9s} "
                  f"{_fmt(r['total_uj']):>9s} {-r['reduction_pct']:+6.1f}% "
                  f"{_fmt(r.get('act_quant_pct_of_datapath'), 3):>7s}")
        s = m["sensitivity"]
        if s:
            print(f"sensitivity at p = {s['p']} (reduction vs all-FP8): " + "; ".join(
                f"{r['variant']} {r['reduction_pct']:.1f} %" for r in s["rows"])
                  + f"; range {s['range'][0]:.1f}..{s['range'][1]:.1f} %")


def main(argv=None) -> int:
    try:
        out, as_json = run(argv)
    except SystemModelError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(out, indent=1, default=str))
    else:
        _print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
