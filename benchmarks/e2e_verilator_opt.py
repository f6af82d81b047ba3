"""Benchmark: Verilator's C++ at -O0 vs -O2 for the model-in-the-loop runtime (verif.e2e).

    .venv/bin/python benchmarks/e2e_verilator_opt.py [--opt=-O0,-O2] [--tokens 16] [--layer]

For each optimisation level (``E2E_VERILATOR_OPT``), in a fresh build directory
(``$BUILD_DIR/bench/e2e_opt/<opt>``, removed first; ccache off, so that every build compiles
Verilator's runtime as well and no earlier build is reused):

1. builds the three blocks ``python -m verif.e2e`` simulates by default: ``fineq_core`` 16x16
   (select, broadcast, layout joint), ``act_quant`` and ``vmac`` 8 lanes (shared); per block the
   wall time of the whole preparation (Verilog generation, Verilator, GCC) and the CPU time of
   the Verilator and GCC processes;
2. runs nn.Linear layers of random weights on ``--tokens`` tokens through both architectures
   (``verif.e2e.model.run_fineq_linear`` / ``run_fgmp_linear``: the streams and checks of
   ``python -m verif.e2e``), every output compared with the golden model (a mismatch fails the
   run), and prints the simulated cycles, the wall and CPU time of the simulations and the
   microseconds per simulated cycle. Default: one 384x384 linear (the query projection's shape);
   ``--layer``: the six linear shapes of an all-MiniLM-L6-v2 encoder layer (4 x 384x384,
   1536x384, 384x1536). The cycle counts do not depend on the values, so they equal those of
   the model's layer.

The machine is shared: the load average is printed with each level; read the wall times with
it (the CPU times depend less on the load).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time

from infra.cli import Parser, int_range, listof

OPTS = ("-O0", "-O1", "-O2", "-O3", "-Os")
LAYER = [(384, 384)] * 4 + [(1536, 384), (384, 1536)]


def _opt(text: str) -> str:
    if text not in OPTS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(OPTS)}, got {text!r}")
    return text


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _linears(shapes, tokens: int, seed: int = 0):
    """(name, FineQPlan, FgmpPlan) of random N x K weights and activations."""
    import torch

    import golden.fineq as gf
    from golden.fgmp.blocks import quantize_mixed
    from verif.e2e.fgmp import FgmpPlan, VmacConfig
    from verif.e2e.fineq import CoreConfig, FineQPlan

    g = torch.Generator().manual_seed(seed)
    out = []
    for i, (n, k) in enumerate(shapes):
        w = torch.randn(n, k, generator=g)
        x = torch.randn(tokens, k, generator=g) * 2
        a, s = gf.quantize_acts_int8(x)
        fq = FineQPlan(CoreConfig(), gf.quantize(w), a, s)
        nb = -(-k // 16)
        wq = quantize_mixed(w, torch.rand(n, nb, generator=g) < 0.3, pad=True)
        fbar = torch.randint(0, 0x7F, (nb * 16,), dtype=torch.uint8, generator=g)
        score = FgmpPlan(VmacConfig(), wq, x, -4, fbar, 0).golden_act()[3]
        tau = int(score.flatten().double().quantile(0.7))         # about 30 % FP8 activation blocks
        out.append((f"linear{i}-{n}x{k}", fq, FgmpPlan(VmacConfig(), wq, x, -4, fbar, tau)))
    return out


def measure(opt: str, linears) -> dict:
    from infra.paths import build_dir
    from verif.e2e import sim
    from verif.e2e.model import run_fgmp_linear, run_fineq_linear

    root = build_dir("bench", "e2e_opt", opt.lstrip("-"))
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    os.environ.update(BUILD_DIR=str(root), E2E_VERILATOR_OPT=opt, CCACHE_DISABLE="1")
    os.environ.pop("CCACHE_DIR", None)
    sim._PREPARED.clear()
    fq0, fg0 = linears[0][1], linears[0][2]
    blocks = [("fineq_core", fq0.cfg.params), ("act_quant", {}), ("vmac", fg0.cfg.params)]
    res = {"opt": opt, "load": os.getloadavg()[0], "build": {}, "sim": {}}
    for block, params in blocks:
        w0, c0 = time.monotonic(), _cpu_children()
        sim._prepare(block, params, "verilator")
        res["build"][block] = (time.monotonic() - w0, _cpu_children() - c0)
    for arch, run in (("fineq", run_fineq_linear), ("fgmp", run_fgmp_linear)):
        w0, c0, s0 = time.monotonic(), _cpu_children(), _cpu_self()
        cycles = 0
        for name, fq, fg in linears:
            _, r, _ = run(name, fq if arch == "fineq" else fg, sim="verilator")
            if r.mismatches:
                raise SystemExit(f"{opt} {arch} {name}: {r.mismatches} mismatches with golden")
            cycles += r.cycles["cycles"] + r.cycles.get("act_quant_cycles", 0)
        res["sim"][arch] = (cycles, time.monotonic() - w0, _cpu_children() - c0,
                            _cpu_self() - s0)
    return res


def main(argv=None) -> int:
    p = Parser(prog="benchmarks/e2e_verilator_opt.py", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--opt", type=listof(_opt), default=["-O0", "-O2"],
                   help="GCC levels to compare (default -O0,-O2)")
    p.add_argument("--tokens", type=int_range(1, 512), default=16,
                   help="tokens per linear (default 16)")
    p.add_argument("--layer", action="store_true",
                   help="the six linear shapes of a MiniLM encoder layer (default: one 384x384)")
    args = p.parse_args(argv)
    linears = _linears(LAYER if args.layer else LAYER[:1], args.tokens)
    what = "one MiniLM encoder layer (6 linears)" if args.layer else "one 384x384 linear"
    print(f"{what}, {args.tokens} tokens; build: wall s (CPU s of Verilator + GCC); "
          "simulation: wall s (CPU s of the simulator process + this process)")
    for opt in args.opt:
        r = measure(opt, linears)
        b = ", ".join(f"{blk} {w:.0f} s ({c:.0f} s)" for blk, (w, c) in r["build"].items())
        tb = sum(w for w, _ in r["build"].values())
        print(f"{opt}: load {r['load']:.1f}; build {b}; total {tb:.0f} s", flush=True)
        for arch, (cyc, wall, cpu_c, cpu_s) in r["sim"].items():
            print(f"  {arch:<5} {cyc:>7} cycles  sim {wall:6.1f} s ({cpu_c:.1f} + {cpu_s:.1f} s)"
                  f"  {1e6 * wall / cyc:6.1f} us/cycle  0 mismatches", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
