"""Design-space sweeps: synthesis (+ optional energy) over a grid of configurations.

    python -m synth.sweep [--sizes 4,8,16,32] [--weight-bits 4,8] [--codings select,csd,unary]
                          [--dataflows broadcast,systolic] [--layouts 330,321] [--lanes 1,2,4,8] [--families fineq,fgmp]
                          [--energy [--synthetic]] [--jobs 2] [--liberty PATH]
                          [--out $BUILD_DIR/synth/sweep]

Every point is one (block, parameters) configuration of a registered block; blocks not
registered yet are listed as "not available yet". Points run on ``--jobs`` worker processes
(default 2, both cores; synth.jobs) with a progress bar. Synthesis and energy results are cached
per configuration ($BUILD_DIR/synth/flow/), so an interrupted sweep resumes where it stopped:
finished points are cache hits. Writes ``sweep.json``, ``sweep.csv`` and ``sweep.md`` to
``--out``. ``--energy`` needs the all-MiniLM-L6-v2 package (exit 2 without it) unless
``--synthetic`` asks for seeded random data.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from golden.models import minilm_version
from infra.paths import build_dir

from .designs import Design
from .flow import load_library
from .evaluate import INPUT_ERRORS, input_error
from .jobs import run_jobs

__all__ = ["points", "run_sweep", "main"]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _strs(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def points(args) -> list[Design]:
    out: list[Design] = []
    fams = set(args.families)
    e = {"minilm": ("fineq_array", {})} if args.energy else {}
    if "fineq" in fams:
        for n in args.sizes:
            for df in args.dataflows:
                for coding in args.codings:
                    out.append(Design(f"sweep/temporal/{coding}-{df}/{n}x{n}", "temporal_array",
                                      {"rows": n, "cols": n, "coding": coding, "dataflow": df},
                                      f"FineQ {coding} {df} {n}x{n}", "fineq", e))
                for wb in args.weight_bits:
                    out.append(Design(f"sweep/int{wb}-{df}/{n}x{n}", "binary_array",
                                      {"rows": n, "cols": n, "weight_bits": wb, "dataflow": df},
                                      f"INT8xINT{wb} {df} {n}x{n}", "fineq", e))
        for layout in args.layouts:
            out.append(Design(f"sweep/decoder/{layout}", "fineq_decoder", {"layout": layout},
                              f"decoder {layout}", "fineq-extra"))
            for n in args.core_sizes:
                out.append(Design(f"sweep/core/{layout}/{n}x{n}", "fineq_core",
                                  {"rows": n, "cols": n, "layout": layout}, f"core {layout} {n}x{n}",
                                  "fineq-extra"))
    if "fgmp" in fams:
        for lanes in args.lanes:
            out.append(Design(f"sweep/vmac/{lanes}", "vmac", {"lanes": lanes}, f"vmac {lanes} lanes", "fgmp"))
            out.append(Design(f"sweep/fp8_vmac/{lanes}", "fp8_vmac", {"lanes": lanes},
                              f"fp8_vmac {lanes} lanes", "fgmp"))
        out.append(Design("sweep/act_quant", "act_quant", {}, "act_quant", "fgmp"))
    return out


def run_sweep(pts: list[Design], *, jobs: int = 2, liberty=None, progress: bool = True,
              synthetic: bool = False) -> list[dict]:
    bar = tqdm(total=len(pts), desc="sweep", unit="design", disable=not progress)

    def tick(row: dict) -> None:
        bar.set_postfix_str(row["key"])
        bar.update()

    try:
        rows = run_jobs(pts, jobs=jobs, liberty=liberty, synthetic=synthetic, on_row=tick)
    finally:
        bar.close()
    return [rows[d.key] for d in pts if d.key in rows]


def _flat(row: dict) -> dict:
    out = {"key": row["key"], "block": row["block"], "params": json.dumps(row["params"], sort_keys=True),
           "status": row["status"]}
    if row["status"] == "ok":
        s = row["synth"]
        out.update(cells=s["cells"], transistors=s["transistors"], lib_cells=s["lib_cells"],
                   area_um2=s["area_um2"], nand2_eq=s["nand2_eq"], flip_flops=s["flip_flops"],
                   critical_path_ns=s["timing"]["critical_path_ns"], logic_depth=s["timing"]["logic_depth"])
        e = row.get("energy", {}).get("minilm")
        if e and e.get("status") == "ok":
            out.update(energy_per_mac_fj=e["energy_per_mac_fj"], cycles_per_vector=e["cycles_per_vector"])
    elif row.get("error"):
        out["error"] = row["error"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.sweep", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=_ints, default=[4, 8, 16, 32])
    ap.add_argument("--weight-bits", type=_ints, default=[4, 8])
    ap.add_argument("--codings", type=_strs, default=["select"])
    ap.add_argument("--dataflows", type=_strs, default=["broadcast"])
    ap.add_argument("--layouts", type=_strs, default=["330", "321"])
    ap.add_argument("--core-sizes", type=_ints, default=[16])
    ap.add_argument("--lanes", type=_ints, default=[1, 2, 4, 8])
    ap.add_argument("--families", type=_strs, default=["fineq", "fgmp"])
    ap.add_argument("--energy", action="store_true", help="also run the energy workloads (arrays)")
    ap.add_argument("--synthetic", action="store_true",
                    help="with --energy: seeded random data instead of all-MiniLM-L6-v2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--liberty", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="default $BUILD_DIR/synth/sweep")
    ap.add_argument("--list", action="store_true", help="print the points and exit")
    args = ap.parse_args(argv)
    out = args.out or build_dir("synth", "sweep")
    try:
        load_library(args.liberty)
        if args.energy and not args.synthetic:
            minilm_version()
    except INPUT_ERRORS as e:
        return input_error(e)
    pts = points(args)
    if args.list:
        for d in pts:
            print(d.key, d.block, d.params_text())
        return 0
    t0 = time.monotonic()
    try:
        rows = run_sweep(pts, jobs=args.jobs, liberty=args.liberty, synthetic=args.synthetic)
    except INPUT_ERRORS as e:
        return input_error(e)
    flat = [_flat(r) for r in rows]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(rows, indent=1, sort_keys=True, default=str) + "\n")
    fields = sorted({k for r in flat for k in r}, key=lambda k: list(flat[0]).index(k) if k in flat[0] else 99)
    with open(out / "sweep.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(flat)
    lines = ["| key | status | area µm² | NAND2-eq | transistors | crit. path ns | energy/MAC fJ |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in flat:
        lines.append(f"| {r['key']} | {r['status']} | {r.get('area_um2', '')} | {r.get('nand2_eq', '')} | "
                     f"{r.get('transistors', '')} | {r.get('critical_path_ns', '')} | {r.get('energy_per_mac_fj', '')} |")
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    for r in flat:
        print(f"{r['key']:32s} {r['status']:18s} {r.get('area_um2', ''):>12} {r.get('energy_per_mac_fj', '')}")
    print(f"({len(rows)} points, {time.monotonic() - t0:.0f} s; {out}/sweep.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
