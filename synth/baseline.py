"""Area regression guard: stored per-design baselines, one JSON file per Yosys version.

    python -m synth.baseline --check            # exit 1 if a design grew > 5 % (default)
    python -m synth.baseline --update           # rewrite the baseline on purpose (make area-baseline)

``synth/baselines/yosys-<version>.json`` holds, for every design of the default set, its
liberty area (µm²), transistor estimate and generic cell count. The check synthesizes exactly the
:data:`GUARD` designs (seconds each, cached afterwards), on a cold machine as on a warm one, and
fails when a metric grew more than :data:`TOLERANCE`. The other entries are reference values
(``make area`` reports those designs). Baselines are per Yosys version because ABC results move
between versions; with no baseline for the installed version the check says so and passes.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from infra.cli import Parser
from infra.yosys import yosys_version

from .designs import Design, designs
from .flow import synthesize

__all__ = ["baseline_path", "check", "update", "TOLERANCE", "GUARD", "METRICS"]

BASE_DIR = Path(__file__).resolve().parent / "baselines"
TOLERANCE = 0.05
METRICS = ("area_um2", "transistors", "cells")


#: The designs the check synthesizes, whatever the cache holds: the format codecs, the FineQ
#: decoder, one PE of each array, the 4x4 arrays and core (about a minute cold on one core).
#: The FGMP blocks and larger arrays take minutes each in ABC: CI cannot afford them.
GUARD = ("formats/e4m3_encoder", "formats/e2m1_encoder", "formats/e4m3_decoder",
         "formats/e2m1_decoder", "fineq/decoder", "fineq/pe/select", "fineq/pe/csd-systolic",
         "fineq/pe/int4", "fineq/pe/int8", "fineq/select-broadcast/4x4",
         "fineq/int4-broadcast/4x4", "fineq/int8-broadcast/4x4", "fineq/core/4x4")


def baseline_path(version: str | None = None) -> Path:
    v = re.sub(r"[^A-Za-z0-9._-]+", "-", version or yosys_version())
    return BASE_DIR / f"yosys-{v}.json"


def _available(d: Design) -> bool:
    from rtl.registry import blocks
    return d.block in blocks()


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


def check(path: Path | None = None, keys=GUARD) -> tuple[list[str], list[str]]:
    """(failures, notes) over exactly the designs ``keys``. A failure names the design, metric,
    growth and how to update."""
    path = path or baseline_path()
    if not path.exists():
        return [], [f"no baseline for yosys {yosys_version()} ({path.name}): nothing compared"]
    base = json.loads(path.read_text())["designs"]
    fails, notes = [], []
    for key in keys:
        b = base.get(key)
        if b is None:
            fails.append(f"{key}: not in {path.name}; run `make area-baseline` and commit it")
            continue
        # compare like with like: the configuration the baseline was made from
        d = Design(key, b["block"], b["params"])
        if not _available(d):
            notes.append(f"{key}: block {d.block} not registered")
            continue
        r = synthesize(d.block, d.params)
        for m in METRICS:
            old, new = b[m], r[m]
            if old and new > old * (1 + TOLERANCE):
                fails.append(f"{key}: {m} grew {100 * (new / old - 1):.1f} % ({old} -> {new}) vs "
                             f"{path.name}; if intended, run `make area-baseline` and commit it")
    unchecked = sorted(set(base) - set(keys))
    if unchecked:
        notes.append(f"{len(unchecked)} baseline entries outside the guard list not compared "
                     "(make area reports them)")
    return fails, notes


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.baseline", description=__doc__.split("\n")[0])
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
    print(f"{len(fails)} area regression(s) > {100 * TOLERANCE:.0f} % over the {len(GUARD)} guard designs")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
