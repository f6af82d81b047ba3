"""Lint every registered block's generated Verilog.

    python -m verif.lint [BLOCK ...] [--out $BUILD_DIR/lint]

Three independent checks per block, all must be clean:
1. Verilator ``--lint-only -Wall`` with the waivers of verif/lint.vlt (only Yosys-backend idioms
   are waived; latches, loops, undriven/multi-driven nets and the rest stay fatal).
2. Yosys reads the *Verilog file* back (as a third-party tool would) and runs
   ``hierarchy -check; proc; check -assert``.
3. The ports of BLOCK.json (described by the component, rtl/generate.py) are exactly the ports
   of the Verilog top module: names, directions, widths.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from infra.cli import Parser, fail, out_dir
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


_PORT_DECL = re.compile(
    r"^\s*(input|output|inout)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?\\?(\S+?)\s*;", re.M)


def verilog_ports(text: str, module: str) -> dict[str, tuple[str, int]]:
    """{name: (direction, width)} of the port declarations of ``module`` in Verilog text."""
    match = re.search(rf"^module \\?{module}\s*\((.*?)^endmodule", text, re.M | re.S)
    if not match:
        raise ValueError(f"no module {module} in the Verilog text")
    return {pname: (direction, int(msb) - int(lsb) + 1 if msb else 1)
            for direction, msb, lsb, pname in _PORT_DECL.findall(match.group(1))}


def port_problems(name: str, verilog_text: str, metadata: dict) -> list[str]:
    """Differences between the ports of BLOCK.json and those of the Verilog module."""
    listed = {p["name"]: (p["direction"], p["width"]) for p in metadata["ports"]}
    actual = verilog_ports(verilog_text, name)
    if len(listed) != len(metadata["ports"]):
        return [f"ports: {name}.json lists a port twice"]
    if listed == actual:
        return []
    only_json = sorted(set(listed.items()) - set(actual.items()))
    only_verilog = sorted(set(actual.items()) - set(listed.items()))
    return [f"ports: only in {name}.json {only_json}; only in {name}.v {only_verilog}"]


def lint_block(name: str, out: Path) -> list[str]:
    """Return a list of problems (empty when clean)."""
    vpath, jpath = elaborate(name).write(out)
    problems = port_problems(name, vpath.read_text(), json.loads(jpath.read_text()))
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
    ap = Parser(prog="python -m verif.lint", description=__doc__.split("\n")[0])
    ap.add_argument("blocks", nargs="*")
    ap.add_argument("--out", type=out_dir, default=None, help="default $BUILD_DIR/lint")
    args = ap.parse_args(argv)
    args.out = args.out or build_dir("lint")
    try:
        names = args.blocks or list(blocks())
        for n in names:
            get_block(n)
    except BlockError as e:
        return fail(str(e))
    failed = 0
    for name in names:
        problems = lint_block(name, args.out)
        status = "clean" if not problems else "FAIL"
        print(f"{name:28s} {status}")
        for p in problems:
            print(f"    {p}")
        failed += bool(problems)
    print(f"{len(names) - failed}/{len(names)} blocks lint-clean "
          "(verilator -Wall + yosys check -assert + BLOCK.json ports)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
