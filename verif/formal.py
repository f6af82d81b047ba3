"""Formal equivalence of the VMAC datapaths (docs/verification.md "Equivalence proof").

    python -m verif.formal [--datapath shared shared_fp4 shared_ss shared_sa ...] [--mode ...]
                           [--mutant mask21] [--timeout S]

What is proven, for every input (no bound: the block-product stage is combinational once its
pipeline registers are replaced by wires, ``rtl.fgmp.vmac.BlockProduct``): for one lane and one
mode at a time, the shared datapath (or ``shared_fp4``, ``shared_ss``) computes the same block sum D, the same
block-scale factors (M_sw·M_sa, s), the same NaN flag and the same block product
P·2^20 = ±(|D|·M_sw·M_sa << s) as the split datapath (four units side by side), for all 2^281
values of the weight block, activation block and both scale bytes. Method: Yosys
``miter -equiv`` of the two flattened netlists, ``opt`` (structurally equal logic merges),
then Yosys's SAT solver (``sat -prove-asserts``) proves that no input distinguishes them.
P is proven through a cut at D: the miter first proves D, mm, s and NaN equal
(``--output d``); P is the same ``scale_words`` netlist applied to them, and the ``--output p``
miter proves that too where the solver finishes in time (docs/verification.md lists which).

``--mutant mask21`` checks the checker: the shared unit with one complement-mask bit of the
mixed modes missing differs only for negative terms of 2^21 or more; the proof must fail with a
counterexample. Exit code 0 when every requested proof holds (or, with ``--mutant``, when every
one fails); 1 otherwise (a proof that runs past ``--timeout`` + 600 s is undecided: 1);
2 for bad arguments.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from amaranth.back import rtlil

from infra.cli import Parser, int_range
from infra.paths import build_dir
from infra.yosys import YosysError, run_script
from rtl.fgmp.vmac import DATAPATHS, MUTANTS, UNIT_NAMES, BlockProduct

__all__ = ["prove", "main", "SCRIPT"]

SCRIPT = """\
read_rtlil gold.il
hierarchy -top gold
proc
flatten
opt_clean
write_rtlil gold_flat.il
design -reset
read_rtlil gate.il
hierarchy -top gate
proc
flatten
opt_clean
write_rtlil gate_flat.il
design -reset
read_rtlil gold_flat.il
read_rtlil gate_flat.il
{cut}miter -equiv -flatten -make_assert gold gate miter
hierarchy -top miter
opt -fast
sat -verify -prove-asserts -show-inputs -timeout {timeout}
"""


def prove(gate: str, mode: str, *, output: str = "d", mutant: str | None = None,
          gold: str = "split", timeout: int = 1200, work: Path | None = None) -> dict:
    """Prove ``gate`` ≡ ``gold`` (``BlockProduct`` of each) in ``mode``. ``output``: ``"d"``
    (D, mm, s, NaN) or ``"p"`` (those and P). Returns {"proven": bool, "seconds", "log",
    "counterexample" (the solver's input values, when it found one)}."""
    if output not in ("d", "p"):
        raise ValueError(f"output must be 'd' or 'p', got {output!r}")
    tag = f"{gate}-{mode}-{output}" + (f"-{mutant}" if mutant else "")
    work = work or build_dir("formal", tag)
    work.mkdir(parents=True, exist_ok=True)
    (work / "gold.il").write_text(rtlil.convert(BlockProduct(datapath=gold, mode=mode),
                                                name="gold", emit_src=False))
    (work / "gate.il").write_text(rtlil.convert(
        BlockProduct(datapath=gate, mode=mode, mutant=mutant), name="gate", emit_src=False))
    cut = "delete -port gold/p gate/p\n" if output == "d" else ""
    t0 = time.monotonic()
    timed_out = False
    try:
        run_script(SCRIPT.format(cut=cut, timeout=timeout), work, timeout=timeout + 600)
        proven = True
    except YosysError:
        proven = False
    except subprocess.TimeoutExpired:       # the solver ignored its own limit: undecided
        proven, timed_out = False, True
    log = (work / "yosys.log").read_text() if (work / "yosys.log").exists() else ""
    if proven and "SUCCESS!" not in log:
        proven = False
    cex = ""
    if timed_out:
        cex = f"undecided: no answer within {timeout + 600} s (not a counterexample)"
    elif not proven:
        m = re.search(r"Time Signal\s+Dec\s+Hex\s+Bin.*?(?=\n\n)", log, re.S)
        cex = m.group(0) if m else log[-2000:]
    return {"proven": proven, "seconds": round(time.monotonic() - t0, 1), "log": str(work /
            "yosys.log"), "counterexample": cex, "gate": gate, "gold": gold, "mode": mode,
            "output": output, "mutant": mutant, "timed_out": timed_out}


def main(argv: list[str] | None = None) -> int:
    ap = Parser(prog="python -m verif.formal", description=__doc__.split("\n")[0])
    ap.add_argument("--datapath", nargs="+", default=["shared"],
                    choices=[dp for dp in DATAPATHS if dp != "split"])
    ap.add_argument("--mode", nargs="+", default=list(UNIT_NAMES), choices=list(UNIT_NAMES))
    ap.add_argument("--output", default="d", choices=["d", "p"])
    ap.add_argument("--mutant", choices=list(MUTANTS))
    ap.add_argument("--timeout", type=int_range(1), default=1200, help="seconds per proof")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    ok = True
    for dp in args.datapath:
        for mode in args.mode:
            r = prove(dp, mode, output=args.output, mutant=args.mutant, timeout=args.timeout)
            want = not args.mutant
            verdict = ("PROVEN equal" if r["proven"] else "UNDECIDED (time limit)"
                       if r["timed_out"] else "NOT equal (counterexample below)")
            print(f"{dp} vs split, {mode}, outputs {'D, mm, s, NaN' if args.output == 'd' else 'D, mm, s, NaN, P'}"
                  f"{', mutant ' + args.mutant if args.mutant else ''}: {verdict} "
                  f"({r['seconds']} s; {r['log']})", flush=True)
            if not r["proven"]:
                print(r["counterexample"])
            ok &= r["proven"] == want and not r["timed_out"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
