"""Benchmark: FineQ-quantize a 4096 x 11008 matrix (an LLM MLP projection) with default settings.

    .venv/bin/python benchmarks/fineq_quantize.py [--layout joint] [--rows 4096] [--cols 11008]

Prints the wall and CPU time of ``golden.fineq.quantize``, the peak resident memory of the process
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the Python/torch runtime and the
input matrix) and the load average (the machine is shared: read the times with it).
``--workers`` is ``quantize(workers=...)`` (row chunks per Python thread; default 2 on this
machine); torch's intra-op threads are 1 inside ``quantize``. The matrix is heavy-tailed like real LLM weights: Student-t (nu = 5) * 0.02, with
per-row scales exp(0.5 * N(0, 1)), torch.manual_seed(0). Target (issue 3): < 60 s and < 4 GiB on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import torch

from golden.fineq import quantize
from golden.fineq.format import DEFAULT_LAYOUT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=11008)
    ap.add_argument("--layout", default=DEFAULT_LAYOUT)
    ap.add_argument("--group-size", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    # generated in row blocks so the generator's temporaries do not dominate the peak RSS
    torch.manual_seed(args.seed)
    t = torch.distributions.StudentT(torch.tensor(5.0))
    W = torch.empty(args.rows, args.cols)
    for r0 in range(0, args.rows, 256):
        r1 = min(args.rows, r0 + 256)
        W[r0:r1] = t.sample((r1 - r0, args.cols)) * 0.02 * torch.exp(0.5 * torch.randn(r1 - r0, 1))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20

    load0 = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    q = quantize(W, group_size=args.group_size, layout=args.layout, workers=args.workers)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    load1 = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # KiB -> GiB

    sqnr = 10 * torch.log10(W.pow(2).sum() / (W - q.dequantize()).pow(2).sum()).item()
    print(f"matrix {args.rows}x{args.cols}, layout {args.layout!r}, group {args.group_size}, "
          f"torch {torch.__version__}, workers {args.workers or 'default'}, "
          f"{platform.processor() or platform.machine()}")
    print(f"quantize wall time: {wall:.2f} s (CPU {cpu:.2f} s; 1-min load average "
          f"{load0:.1f} before, {load1:.1f} after, {os.cpu_count()} CPUs)")
    print(f"peak RSS: {peak:.2f} GiB (before quantize: {rss_before:.2f} GiB)")
    print(f"avg bits {q.avg_bits:.4f}, outlier clusters {q.outlier_fraction:.3f}, "
          f"weight SQNR {sqnr:.2f} dB")


if __name__ == "__main__":
    main()
