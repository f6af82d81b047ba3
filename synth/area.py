"""Area of one block configuration: generic Yosys cells and a CMOS transistor estimate.

    python -m synth.area BLOCK [--param NAME=VALUE ...] [--json]

Flow (one script for every block): Amaranth RTLIL -> ``hierarchy -check``, ``proc``,
``check -assert`` (structural lint: no undriven or multiply-driven nets, no logic loops) ->
``synth -flatten`` (generic gates via ABC) -> ``dfflegalize`` to plain positive-edge D flip-flops
(so that ``stat -tech cmos`` knows every cell: its transistor count is complete, no "+") ->
``stat -tech cmos -json``. Results are cached under build/synth/area/ by a hash of the RTLIL,
the script and the Yosys version.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from rtl.generate import elaborate
from rtl.registry import BlockError, get_block

from .yosys import YosysError, run_script, yosys_version

__all__ = ["area", "AREA_SCRIPT", "main"]

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "synth" / "area"

AREA_SCRIPT = """\
read_rtlil design.il
hierarchy -check -top {top}
proc
check -assert
synth -flatten -top {top}
dfflegalize -cell $_DFF_P_ 01
opt_clean
tee -q -o stat.json stat -tech cmos -json
"""


def _parse_stat(path: Path, top: str) -> dict[str, Any]:
    data = json.loads(path.read_text())
    design = data.get("design") or data["modules"][f"\\{top}"]
    transistors = str(design.get("estimated_num_transistors", ""))
    if not transistors.isdigit():
        raise YosysError(f"transistor estimate incomplete ({transistors!r}): a cell type has no "
                         f"CMOS cost; cells: {design['num_cells_by_type']}")
    return {
        "cells": int(design["num_cells"]),
        "cells_by_type": dict(sorted(design["num_cells_by_type"].items())),
        "transistors": int(transistors),
    }


def area(block: str, params: dict[str, Any] | None = None, *, use_cache: bool = True) -> dict[str, Any]:
    gen = elaborate(block, params)
    il = gen.rtlil()
    script = AREA_SCRIPT.format(top=block)
    version = yosys_version()
    key = hashlib.sha256((il + script + version).encode()).hexdigest()[:16]
    work = CACHE / f"{block}-{key}"
    result_path = work / "result.json"
    if use_cache and result_path.exists():
        return json.loads(result_path.read_text())
    work.mkdir(parents=True, exist_ok=True)
    (work / "design.il").write_text(il)
    run_script(script, work)
    result = {
        "block": block,
        "params": gen.params,
        **_parse_stat(work / "stat.json", block),
        "latency": getattr(gen.component, "latency", None),
        "yosys_version": version,
    }
    result_path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.area", description=__doc__.split("\n")[0])
    ap.add_argument("block")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args(argv)
    try:
        spec = get_block(args.block)
        result = area(args.block, spec.parse(args.param), use_cache=not args.no_cache)
    except BlockError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except YosysError as e:
        print(f"error: synthesis of '{args.block}' failed: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"{result['block']}: {result['cells']} cells, {result['transistors']} transistors "
              f"(yosys {result['yosys_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
