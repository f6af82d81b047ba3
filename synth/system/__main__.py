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
               evaluate, table_lines)


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
    out = evaluate(rows, a, names, args.p, strict=True)
    return out, args.json


def _print(out: dict) -> None:
    a = out["assumptions"]
    print(f"anchor {a['anchor_pj_per_mac']} pJ per FP8 MAC; DRAM {a['dram_pj_per_64b']} pJ/64 b; "
          f"weight SRAM {a['weight_sram']}, activation SRAM {a['act_sram']}; {a['lanes']} lanes "
          f"per activation read; datapath {out['gate_level']['delay_model']}\n")
    print("\n".join(table_lines(out)))


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
