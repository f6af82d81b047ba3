"""Lint every registered block's generated Verilog.

    python -m verif.lint [BLOCK ...] [--out $BUILD_DIR/lint]

Two independent checks per block, both must be clean:
1. Verilator ``--lint-only -Wall`` with the waivers of verif/lint.vlt (only Yosys-backend idioms
   are waived; latches, loops, undriven/multi-driven nets and the rest stay fatal).
2. Yosys reads the *Verilog file* back (as a third-party tool would) and runs
   ``hierarchy -check; proc; check -assert``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from infra.paths import build_dir
from infra.yosys import YosysError, run_script
from rtl.generate import elaborate
from rtl.registry import BlockError, blocks, get_block

from .runner import LINT_CONFIG, verilator_bin_dir

YOSYS_READBACK = """\
read_verilog -defer {name}.v
hierarchy -check -top {name}
proc
check -assert
"""


def lint_block(name: str, out: Path) -> list[str]:
    """Return a list of problems (empty when clean)."""
    problems = []
    vpath, _ = elaborate(name).write(out)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(verilator_bin_dir()), env.get("PATH", "")])
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", str(LINT_CONFIG), str(vpath)],
        capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        msgs = [ln for ln in proc.stderr.splitlines() if ln.startswith("%")]
        problems.append(f"verilator: " + "; ".join(msgs[:5]))
    try:
        run_script(YOSYS_READBACK.format(name=name), out, log_name=f"{name}.yosys.log")
    except YosysError as e:
        problems.append(f"yosys: {e}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m verif.lint", description=__doc__.split("\n")[0])
    ap.add_argument("blocks", nargs="*")
    ap.add_argument("--out", type=Path, default=None, help="default $BUILD_DIR/lint")
    args = ap.parse_args(argv)
    args.out = args.out or build_dir("lint")
    try:
        names = args.blocks or list(blocks())
        for n in names:
            get_block(n)
    except BlockError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        problems = lint_block(name, args.out)
        status = "clean" if not problems else "FAIL"
        print(f"{name:28s} {status}")
        for p in problems:
            print(f"    {p}")
        failed += bool(problems)
    print(f"{len(names) - failed}/{len(names)} blocks lint-clean (verilator -Wall + yosys check -assert)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
