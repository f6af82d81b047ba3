"""Area of one block configuration: generic Yosys cells, a CMOS transistor estimate, and the
liberty-mapped area (µm², NAND2 equivalents), hierarchy groups and a timing estimate.

    python -m synth.area BLOCK [--param NAME=VALUE ...] [--library mpaccel45|sky130hd | --liberty PATH] [--json]

The flow is synth.flow (one Yosys script for every block; docs/synth.md): Amaranth RTLIL ->
``hierarchy -check; proc; flatten; check -assert`` (structural lint) -> generic synthesis ->
``dfflegalize`` to plain D flip-flops -> ``stat -tech cmos`` (complete transistor count), and
the same netlist mapped to the liberty (``dfflibmap`` + ``abc -liberty``) -> ``stat -liberty``.
Results are cached under $BUILD_DIR/synth/flow/ (synth.flow: keyed by every Yosys input and the
code that produces the result).

``--json`` prints one JSON object with at least: block, params, cells, transistors,
yosys_version (and area_um2, nand2_eq, lib_cells, groups, timing, latency). Errors (unknown
block or parameter, failed synthesis, bad liberty): one line on stderr, exit code 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from infra.cli import Parser, fail
from rtl.registry import BlockError, get_block

from . import libraries
from .flow import ROOT, FlowError, synthesize
from .liberty import LibertyError

__all__ = ["area", "main", "ROOT"]


def area(block: str, params: dict[str, Any] | None = None, *, use_cache: bool = True,
         liberty=None) -> dict[str, Any]:
    """Synthesis result of one configuration (see synth.flow.synthesize)."""
    return synthesize(block, params, liberty=liberty, use_cache=use_cache)


def main(argv: list[str] | None = None) -> int:
    ap = Parser(prog="python -m synth.area", description=__doc__.split("\n")[0])
    ap.add_argument("block")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    lib = ap.add_mutually_exclusive_group()
    lib.add_argument("--library", choices=libraries.NAMES,
                     help="cell library (default mpaccel45; sky130hd: LEF areas, placeholder timing)")
    lib.add_argument("--liberty", type=Path, help="liberty file (default synth/lib/mpaccel45.lib)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args(argv)
    try:
        spec = get_block(args.block)
        liberty = libraries.resolve(args.library) if args.library else args.liberty
        result = area(args.block, spec.parse(args.param), use_cache=not args.no_cache,
                      liberty=liberty)
    except (BlockError, FlowError, LibertyError) as e:
        return fail(str(e))
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        t = result["timing"]
        print(f"{result['block']}: {result['cells']} cells, {result['transistors']} transistors; "
              f"{result['area_um2']:.1f} um2 = {result['nand2_eq']:.0f} NAND2-eq "
              f"({result['lib_cells']} cells of {result['liberty']}); critical path "
              f"{t['critical_path_ns']:.3f} ns, depth {t['logic_depth']} "
              f"(yosys {result['yosys_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
