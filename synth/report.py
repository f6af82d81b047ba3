"""Area table of every registered block in its default configuration.

    python -m synth.report [--out build/synth]

Prints a table (block, cells, transistors, latency) and writes ``report.json`` and
``report.md`` to the output folder. Every area figure in README/docs comes from here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rtl.registry import blocks

from .area import ROOT, area
from .yosys import yosys_version


def collect() -> list[dict]:
    return [area(name) for name in blocks()]


def markdown(rows: list[dict]) -> str:
    lines = ["| block | cells | transistors | latency |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['block']} | {r['cells']} | {r['transistors']} | {r['latency']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.report", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "synth")
    args = ap.parse_args(argv)
    rows = collect()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(
        {"yosys_version": yosys_version(), "blocks": rows}, indent=2, sort_keys=True) + "\n")
    md = markdown(rows)
    (args.out / "report.md").write_text(
        f"# Area report (default configurations, Yosys {yosys_version()})\n\n" + md)
    w = max(len(r["block"]) for r in rows)
    print(f"{'block':{w}s} {'cells':>8s} {'transistors':>12s} {'latency':>8s}")
    for r in rows:
        print(f"{r['block']:{w}s} {r['cells']:8d} {r['transistors']:12d} {str(r['latency']):>8s}")
    print(f"(yosys {yosys_version()}; written to {args.out}/report.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
