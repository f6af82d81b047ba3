"""Synthesis, area, timing and energy report: `make area`.

    python -m synth.report [--full] [--synthetic] [--library mpaccel45 | --liberty PATH]
                           [--family F ...] [--jobs 2] [--scheduler tcp://HOST:PORT]
                           [--out build/synth]

Evaluates every design of synth.designs (default set, or all with ``--full``; results of
non-default designs already in the cache are included too) as tasks on Dask distributed
(synth.jobs: a local cluster of two worker processes, or ``--scheduler``; points already in the
results database are read from it, new ones are written to it), and writes ``report.json``, ``report.md`` (synth.render) and PNG plots
(synth.plots, ``plots/``) to the output folder (default ``$BUILD_DIR/synth``). Every figure in
README/docs comes from this report. Tables (synth.tables):

0. every design: generic cells, transistors, liberty cells, µm², NAND2-eq, flip-flops, critical
   path / logic depth; per-unit breakdown from the hierarchy (area, flip-flops, worst path and
   energy per unit; the units add up to the design);
1. FineQ multiplier-free array variants (coding x dataflow) vs binary INT8xINT4 / INT8xINT8
   arrays of the same dataflow and size; window (T) histogram of every coding on real tiles;
2. FGMP VMAC vs FP8-only VMAC, activation quantizer, weight memory;
3. inference energy per token (synth/system: datapath + quantizer + SRAM + DRAM) for
   all-MiniLM-L6-v2 and Llama-2-7B shapes at p = 0 / 0.5 / 0.7 / 0.9, with its sensitivity;
4. each paper claim beside our figure: reached or not, by how much;
5. the area ranking of the FineQ arrays and FGMP blocks under each cell library in the results
   database (mpaccel45 and sky130hd after ``make sweep``), and whether the rankings differ.

The energy workloads and the weight memory need the all-MiniLM-L6-v2 package; ``--synthetic``
uses seeded random data instead and the report says so in its header. Exit code 2 with one error
line for a bad liberty file or a missing model package (without ``--synthetic``).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import time
from pathlib import Path

from golden.models import minilm_version
from infra.cli import Parser, int_range, out_dir
from infra.cluster import scheduler_default
from infra.paths import build_dir
from infra.yosys import yosys_version

from . import libraries
from .designs import DEFAULT_FINEQ_SIZES, DESIGNS, FAMILIES, Design, designs
from .evaluate import INPUT_ERRORS, NOT_AVAILABLE, input_error
from .flow import load_library
from .jobs import run_jobs
from .plots import plots
from .render import markdown, print_tables
from .tables import (claims, fgmp_memory, fgmp_table, fineq_table, fineq_windows, library_ranking,
                     ranking_check, ranking_detail, system_table, unit_breakdown)

__all__ = ["collect", "build_report", "main"]


def collect(full: bool = False, liberty=None, jobs: int = 2, progress: bool = True,
            synthetic: bool = False, scheduler: str | None = None,
            families: list[str] | None = None, patterns: list[str] | None = None) -> list[dict]:
    """Rows for the selected designs (largest first across ``jobs`` processes); ``families``:
    only the designs of these families, ``patterns``: only the designs whose key matches one of
    these shell patterns (the others' rows say "not run")."""
    sel = selection(full, liberty, families, patterns)
    rows = run_jobs(sel, jobs=jobs, liberty=liberty, synthetic=synthetic,
                    on_row=_progress if progress else None, scheduler=scheduler)
    for d in DESIGNS:
        if d.key not in rows:
            from rtl.registry import blocks
            row = d.as_json()
            row["status"] = (NOT_AVAILABLE if d.block not in blocks()
                             else f"not run (--family {' '.join(families)})"
                             if families and d.family not in families
                             else f"not run (--design {' '.join(patterns)})" if patterns
                             else "not run (outside the default set: make area-full)")
            rows[d.key] = row
    return [rows[d.key] for d in DESIGNS if d.key in rows]


def selection(full: bool = False, liberty=None, families: list[str] | None = None,
              patterns: list[str] | None = None) -> list[Design]:
    """The designs a report run evaluates (see :func:`collect`)."""
    if patterns:
        return [d for d in DESIGNS if _matches(d, patterns)
                and (not families or d.family in families)]
    sel = designs(full)
    if not full:
        # designs outside the default set join when a sweep or --full already synthesized them
        sel += [d for d in DESIGNS if not d.default and _has_cached_synthesis(d, liberty)]
    return [d for d in sel if not families or d.family in families]


def _matches(d: Design, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(d.key, p) for p in patterns)


def design_pattern(text: str) -> str:
    """``--design``: a shell pattern over the design keys (``fgmp/*/4``) that matches one."""
    if not any(fnmatch.fnmatchcase(d.key, text) for d in DESIGNS):
        raise argparse.ArgumentTypeError(f"{text!r} matches no design (python -m synth.report --list)")
    return text


def _has_cached_synthesis(d: Design, liberty) -> bool:
    """A finished synthesis of this block + parameters with this liberty is in the cache (cheap:
    reads the cached results, no elaboration)."""
    from rtl.registry import BlockError, get_block

    from .flow import cache_root, flow_id
    try:
        params = get_block(d.block).resolve(d.params)
    except BlockError:
        return False
    lib = load_library(liberty)
    for p in cache_root().glob(f"{d.block}-*/result.json"):
        try:
            r = json.loads(p.read_text())
        except ValueError:
            continue
        if r.get("params") == params and r.get("flow_id") == flow_id() and \
                (p.parent / "cells.lib").read_text() == lib.path.read_text():
            return True
    return False


def _progress(row: dict) -> None:
    s = row["status"]
    extra = ""
    if s == "ok":
        extra = f"{row['synth']['area_um2']:.0f} um2"
        es = [e for e in row["energy"].values() if e.get("status") == "ok"]
        if es:
            extra += f", {len(es)} energy run(s)"
        bad = [k for k, e in row["energy"].items() if e.get("status") == "error"]
        if bad:
            extra += f", energy errors: {bad}"
    elif s == "error":
        extra = row["error"]
    if row.get("from_db"):
        extra += " (results database)"
    print(f"  [{row.get('seconds', 0):6.1f}s] {row['key']:24s} {s} {extra}", flush=True)


def _other_libraries(rows: list[dict], liberty) -> list[dict]:
    """Rows of the results database under the other libraries (current flow) of the designs
    in ``rows``, for the library ranking."""
    from infra import db

    from .flow import flow_id
    from .results import open_db, stored_rows
    if not db.default_path().exists():
        return []
    conn = open_db()
    this = libraries.name_of(liberty)
    ident = lambda r: (r["block"], json.dumps(r["synth"]["params"], sort_keys=True))
    mine = {ident(r) for r in rows if r.get("status") == "ok"}
    return [r for lib in libraries.NAMES if lib != this
            for r in stored_rows(conn, library=lib, flow_id=flow_id()) if ident(r) in mine]


def build_report(rows: list[dict], *, full: bool, liberty, wall: float, out: Path,
                 synthetic: bool = False) -> dict:
    lib = load_library(libraries.resolve(liberty))
    fineq = fineq_table(rows)
    fgmp = fgmp_table(rows, fgmp_memory(synthetic))
    system = system_table(rows)
    consistent, n = ranking_check(rows)
    rank_detail = ranking_detail(rows)
    rep = {
        "yosys_version": yosys_version(),
        "liberty": str(lib.path.name),
        "nand2_area_um2": lib.nand2_area,
        "full": full,
        "synthetic": synthetic,
        "wall_seconds": round(wall, 1),
        "rows": rows,
        "fineq": fineq,
        "fineq_windows": fineq_windows(synthetic),
        "fgmp": fgmp,
        "system": system,
        "claims": claims(fineq, fgmp, system),
        "ranking_consistent": consistent,
        "ranking_n": n,
        "ranking_detail": rank_detail,
        "breakdown": [unit_breakdown(r) for r in rows if r.get("status") == "ok"],
        "default_fineq_sizes": list(DEFAULT_FINEQ_SIZES),
        "library_ranking": library_ranking(rows + _other_libraries(rows, liberty)),
    }
    rep["plots"] = plots(rep, out / "plots")
    return rep


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.report", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=out_dir, default=None, help="output folder (default $BUILD_DIR/synth)")
    ap.add_argument("--full", action="store_true", help="every design (32x32 arrays too)")
    ap.add_argument("--synthetic", action="store_true",
                    help="seeded random data instead of all-MiniLM-L6-v2 (the report says so)")
    lib = ap.add_mutually_exclusive_group()
    lib.add_argument("--library", choices=libraries.NAMES, help="cell library (default mpaccel45)")
    lib.add_argument("--liberty", type=Path, help="a liberty file instead of synth/lib/mpaccel45.lib")
    ap.add_argument("--family", action="append", choices=FAMILIES, default=None,
                    help="only the designs of this family (repeatable; e.g. fgmp: the VMACs and "
                    "the activation quantizer); the other rows say 'not run'")
    ap.add_argument("--design", action="append", type=design_pattern, default=None,
                    help="only the designs whose key matches this shell pattern, any set "
                    "(repeatable; e.g. 'fgmp/*/4'); the other rows say 'not run'")
    ap.add_argument("--list", action="store_true", help="print every design key and exit")
    ap.add_argument("--jobs", type=int_range(1), default=os.environ.get("SYNTH_JOBS", "2"),
                    help="worker processes of the local cluster (1: no cluster, in this process)")
    ap.add_argument("--scheduler", default=scheduler_default(),
                    help="tcp://HOST:PORT of a running Dask scheduler (default: a local cluster)")
    args = ap.parse_args(argv)
    if args.list:
        for d in DESIGNS:
            print(f"{d.key:40s} {'default' if d.default else 'full':8s} {d.label}")
        return 0
    if args.library:
        args.liberty = args.library
    out = args.out or build_dir("synth")
    t0 = time.monotonic()
    try:
        load_library(libraries.resolve(args.liberty))
        if not args.synthetic:
            minilm_version()        # fail before hours of synthesis, not after
        n = len(selection(args.full, args.liberty, args.family, args.design))
        print(f"synth.report: {n} designs, {args.jobs} jobs "
              f"(yosys {yosys_version()}){'; SYNTHETIC data' if args.synthetic else ''}", flush=True)
        rows = collect(args.full, args.liberty, args.jobs, synthetic=args.synthetic,
                       scheduler=args.scheduler, families=args.family,
                       patterns=args.design)
        wall = time.monotonic() - t0
        out.mkdir(parents=True, exist_ok=True)
        rep = build_report(rows, full=args.full, liberty=args.liberty, wall=wall, out=out,
                           synthetic=args.synthetic)
    except INPUT_ERRORS as e:
        return input_error(e)
    (out / "report.json").write_text(json.dumps(rep, indent=1, sort_keys=True, default=str) + "\n")
    (out / "report.md").write_text(markdown(rep))
    print_tables(rep)
    print(f"(wall time {rep['wall_seconds']:.0f} s; written to {out}/report.md, report.json, plots/)")
    return 0

if __name__ == "__main__":
    sys.exit(main())
