"""Area regression guard: stored per-design baselines, one JSON file per Yosys version.

    python -m synth.baseline --check            # exit 1 if a design grew > 5 % (default)
    python -m synth.baseline --update           # rewrite the baseline on purpose (make area-baseline)

``synth/baselines/yosys-<version>.json`` holds, for every design of the default set, its
liberty area (µm²), transistor estimate and generic cell count. The check re-synthesizes the
small "guard" designs (a few seconds each, cached afterwards) and compares every other design
whose synthesis result is already cached (``make area`` fills the cache); a metric that grew
more than :data:`TOLERANCE` fails. Baselines are per Yosys version because ABC results move
between versions; with no baseline for the installed version the check says so and passes.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .designs import DESIGNS, Design, designs
from .flow import flow_dir, flow_key, load_library, synthesize
from .yosys import yosys_version

__all__ = ["baseline_path", "check", "update", "TOLERANCE", "GUARD", "METRICS"]

BASE_DIR = Path(__file__).resolve().parent / "baselines"
TOLERANCE = 0.05
METRICS = ("area_um2", "transistors", "cells")


def GUARD(d: Design) -> bool:
    """Small designs the check always synthesizes (seconds each): the format codecs, the FineQ
    decoder, single PEs, the 4x4 arrays and core. The FGMP blocks take minutes in ABC: compared
    when cached."""
    if d.block in ("temporal_array", "binary_array", "fineq_core"):
        return d.params.get("rows", 16) <= 4 and d.params.get("cols", 16) <= 4
    return d.block in ("fineq_decoder", "temporal_pe", "binary_pe", "e4m3_encoder",
                       "e2m1_encoder", "e4m3_decoder", "e2m1_decoder")


def baseline_path(version: str | None = None) -> Path:
    v = re.sub(r"[^A-Za-z0-9._-]+", "-", version or yosys_version())
    return BASE_DIR / f"yosys-{v}.json"


def _available(d: Design) -> bool:
    from rtl.registry import blocks
    return d.block in blocks()


def _cached_result(d: Design):
    from rtl.generate import elaborate
    lib = load_library(None)
    key = flow_key(elaborate(d.block, d.params).rtlil(), lib.path.read_text(), d.block)
    p = flow_dir(d.block, key) / "result.json"
    return json.loads(p.read_text()) if p.exists() else None


def update(path: Path | None = None, full: bool = False) -> Path:
    path = path or baseline_path()
    entries = {}
    for d in designs(full):
        if not _available(d):
            continue
        r = synthesize(d.block, d.params)
        entries[d.key] = {"block": d.block, "params": d.params, **{m: r[m] for m in METRICS}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"yosys_version": yosys_version(), "liberty": "mpaccel45.lib",
                                "tolerance": TOLERANCE, "designs": entries},
                               indent=1, sort_keys=True) + "\n")
    return path


def check(path: Path | None = None, *, only_cached: bool = False) -> tuple[list[str], list[str]]:
    """(failures, notes). A failure names the design, metric, growth and how to update."""
    path = path or baseline_path()
    if not path.exists():
        return [], [f"no baseline for yosys {yosys_version()} ({path.name}): nothing compared"]
    base = json.loads(path.read_text())["designs"]
    fails, notes = [], []
    by_key = {d.key: d for d in DESIGNS}
    for key, b in sorted(base.items()):
        d = by_key.get(key) or Design(key, b["block"], b["params"])
        if d.params != b["params"]:
            d = Design(key, b["block"], b["params"])
        if not _available(d):
            notes.append(f"{key}: block {d.block} not registered")
            continue
        r = _cached_result(d)
        if r is None:
            if only_cached or not GUARD(d):
                notes.append(f"{key}: not in the synthesis cache (run make area), skipped")
                continue
            r = synthesize(d.block, d.params)
        for m in METRICS:
            old, new = b[m], r[m]
            if old and new > old * (1 + TOLERANCE):
                fails.append(f"{key}: {m} grew {100 * (new / old - 1):.1f} % ({old} -> {new}) vs "
                             f"{path.name}; if intended, run `make area-baseline` and commit it")
    return fails, notes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.baseline", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="compare with the baseline (default)")
    g.add_argument("--update", action="store_true", help="rewrite the baseline from current results")
    ap.add_argument("--full", action="store_true", help="with --update: every design")
    args = ap.parse_args(argv)
    if args.update:
        p = update(full=args.full)
        print(f"wrote {p}")
        return 0
    fails, notes = check()
    for n in notes:
        print(f"note: {n}")
    for f in fails:
        print(f"FAIL: {f}")
    print(f"{len(fails)} area regression(s) > {100 * TOLERANCE:.0f} %")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
