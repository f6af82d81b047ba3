"""Mutation score of the cocotb regressions (issue 13 part 3, ``make mutate``).

    python -m verif.mutate [--blocks e4m3_decoder,vmac ...] [--mutants N] [--seed S]
                           [--sim verilator|icarus] [--depth D]

Does the regression notice a broken circuit? Per block (one small configuration each,
``TARGETS``):

1. the generated Verilog is flattened by Yosys (``proc; flatten; opt_clean``) and
   ``mutate -list N -seed S`` draws N mutations, sampled evenly over the netlist's cells and
   wire bits (modes ``inv``, ``const0``, ``const1``, ``cnot0``, ``cnot1``: an output or input bit
   of one cell inverted, stuck, or replaced by a function of another bit of the same signal);
2. all N are applied to ONE netlist, each behind ``mutsel == k`` (``mutate -ctrl``, the mcy
   approach): the top module keeps the block's name and ports and gains the input ``mutsel``
   (0 = the original), so the simulator builds it once per block;
3. the reduced regression (the block's cocotb testbench with the environment of ``TARGETS``:
   every test of the quick regression, fewer random vectors) runs in ONE simulator process
   (verif/tb/mutants.py): first against mutsel = 0 (must pass), then against each mutant, test
   by test in the testbench's order with the same seeds, stopping at the first failing test:
   the mutant is *killed* (by that test) or *survives*;
4. each survivor goes to a Yosys equivalence check of the original against the mutant alone,
   both after the same ``pmuxtree`` as the simulated netlist. Clocked blocks: first with the
   registers matched by name (``EQUIV_MATCHED``: ``equiv_simple`` + ``equiv_induct``, local
   and quick), then a ``miter -equiv`` + ``sat`` temporal induction from the reset state
   (``equivalent``: proven for every cycle; ``bounded``: no difference within ``--depth``
   cycles but the induction did not close; ``differs``: a counterexample trace, i.e. a missing
   test). Combinational blocks: the miter and ``sat`` (a full proof or a counterexample). A
   survivor listed in ``IN_CONTEXT`` (equivalent only because some register values never
   occur) counts as equivalent when its ``make formal`` property is proven in the same run.

Kill rate = killed / (mutants - proven equivalent). Report: ``$BUILD_DIR/verif/mutate/
report.md`` and ``report.json``, and the table on stdout; each block's result is also kept in
``blocks/BLOCK.json``, so ``--report-only`` renders the report of blocks run separately. Exit code 0 when every block reaches
``--target`` (default 0.95), 1 otherwise, 2 for bad arguments.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.cli import Parser, fail, fraction, int_range, listof
from infra.paths import build_dir

__all__ = ["Target", "TARGETS", "Mutation", "list_mutations", "mutant_netlist",
           "prove_equivalent", "run_block", "render", "main"]

CTRL = "mutsel"
CTRL_WIDTH = 10          # up to 1023 mutants per block


@dataclass(frozen=True)
class Target:
    """One block configuration under mutation and its reduced regression."""
    block: str
    params: dict
    tb: str
    env: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.block + "".join(f" {k}={v}" for k, v in self.params.items())


_FGMP_ENV = {"VERIF_N_RANDOM": "100", "VERIF_FGMP_LONG": "32", "VERIF_FGMP_EXHAUSTIVE": "0"}
_FINEQ_ENV = {"VERIF_N_RANDOM": "3", "VERIF_N_DECODER": "300"}

#: Blocks and the configuration each is mutated in: the default, except the arrays and the
#: core (4x4 instead of 16x16) and the VMACs (one lane instead of four), so that the mutants
#: sample the unit logic rather than its many copies and the netlist builds quickly.
TARGETS = [
    Target("e4m3_encoder", {}, "verif.tb.formats", {"VERIF_N_RANDOM": "3000"}),
    Target("e2m1_encoder", {}, "verif.tb.formats", {"VERIF_N_RANDOM": "3000"}),
    Target("e4m3_decoder", {}, "verif.tb.formats"),
    Target("e2m1_decoder", {}, "verif.tb.formats"),
    Target("fineq_decoder", {}, "verif.tb.fineq", _FINEQ_ENV),
    Target("temporal_array", {"rows": 4, "cols": 4}, "verif.tb.fineq", _FINEQ_ENV),
    Target("binary_array", {"rows": 4, "cols": 4}, "verif.tb.fineq", _FINEQ_ENV),
    Target("fineq_core", {"rows": 4, "cols": 4}, "verif.tb.fineq", _FINEQ_ENV),
    Target("vmac", {"lanes": 1}, "verif.tb.fgmp", _FGMP_ENV),
    Target("fp8_vmac", {"lanes": 1}, "verif.tb.fgmp", _FGMP_ENV),
    Target("act_quant", {}, "verif.tb.fgmp", _FGMP_ENV),
]
BY_NAME = {t.block: t for t in TARGETS}

FLATTEN = """\
read_verilog {top}.v
hierarchy -check -top {top}
proc
flatten
opt_clean
write_rtlil flat.il
mutate -list {n} -seed {seed} -ctrl {ctrl} {width} 1 -o mutations.ys
"""

APPLY = """\
read_rtlil flat.il
script mutations.ys
opt_clean
pmuxtree
write_verilog -noattr mutants.v
"""

#: The survivor's check sees the netlist the simulator ran: the same ``opt_clean; pmuxtree`` as
#: APPLY. A mutant that breaks a case decoder's one-hot select leaves a ``$pmux`` with no select
#: bit set, whose output is the undefined default (x) in RTLIL but, after ``pmuxtree``, one of
#: the cases: checked without ``pmuxtree`` the x alone would make it "differ".
EQUIV = """\
read_rtlil flat.il
rename {top} gold
copy gold gate
{mutation}
opt_clean
pmuxtree
miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter
hierarchy -top miter
opt -fast
{sat}
"""

#: Clocked survivors are first checked with their registers matched by name (``equiv_make``
#: sees only register outputs and ports; every other wire is hidden): ``equiv_simple`` proves
#: each register input and output port of the mutant equal to the original's given equal
#: registers, ``equiv_induct`` closes the induction from the common initial state. Before,
#: ``opt_merge`` merges the cells the mutant shares with the original (same type, same inputs:
#: a sound rewrite), so only the mutation's fan-out is left to the solver. A proof is sound
#: and local, so it decides in seconds what the whole-design miter cannot (1.7 M variables for
#: one VMAC lane). It fails when the mutant is equivalent only because some register values
#: never occur; those go on to the miter, ``IN_CONTEXT`` and ``CONTEXT_RULES``.
EQUIV_MATCHED = """\
read_rtlil flat.il
rename {top} gold
copy gold gate
{mutation}
opt_clean
pmuxtree
rename -hide gold/w:* gold/t:*dff* %co1:+[Q] gold/x:* %u %d
rename -hide gate/w:* gate/t:*dff* %co1:+[Q] gate/x:* %u %d
equiv_make gold gate equiv
hierarchy -top equiv
opt_merge
equiv_simple
equiv_induct
equiv_status -assert
"""

SAT_COMB = "sat -verify -prove-asserts -show-inputs -timeout {timeout}"
SAT_SEQ = ("sat -verify -tempinduct -prove-asserts -set-init-zero -seq 1 -maxsteps {depth} "
           "-timeout {timeout}")


#: Survivors equivalent only in context: the mutated logic is active only for register
#: values the block never holds. Each is pinned to its exact mutation text (a changed netlist
#: drops it back to "survived") and to the ``make formal`` property (verif/formal.py) that proves
#: the context; the mutant counts as equivalent only when that property is proven in the same run.
IN_CONTEXT = {
    ("vmac", "cnot1 $flatten\\lane_0.\\scale_acc.$and$vmac.v:8379$2696.B[28] (ctrl bit 2) "
             "at vmac.v:8379.17-8379.312"): (
        "vmac.scale_inputs",
        "the cell is the partial-product row mm[2]·|D|[28] of the block-scale step, so the "
        "mutant differs only for a pair with M_sw·M_sa bit 2 set and |D| >= 2^28; "
        "vmac.scale_inputs proves M_sw·M_sa = 9 (bit 2 clear) in fp8xfp8 and |D| < 2^26 in "
        "every other mode, and the lane carries each pair's D and M_sw·M_sa to that step "
        "together (checked bit-exactly by every VMAC test)"),
}


@dataclass(frozen=True)
class ContextRule:
    """Survivors equivalent in context by exhaustive simulation. The mutated cell lies in the
    combinational logic of one unit (``cell``: a regex on the cell name, group 1 = the unit; not
    its registers or their enables), the register-matched check leaves unproven only that
    unit's output register (``unproven``: a regex on the original's register names, group 1 =
    the unit), and ``test`` passed against the mutant: it drives every value the unit's input
    can take into every copy of the unit and checks, exactly, an output every bit of that
    register reaches. Then the mutant's unit computes the original's function on every input
    it can receive, so nothing can differ."""
    block: str
    cell: str
    unproven: str
    test: str
    reason: str

    def applies(self, mutation: Mutation, unproven: list[str], tests: list[str]) -> bool:
        m = re.match(self.cell, mutation.fields.get("cell", ""))
        if not m or self.test not in tests or not unproven:
            return False
        units = {(re.match(self.unproven, n) or [None, None])[1] for n in unproven}
        return units == {m[1]}


CONTEXT_RULES = [
    ContextRule(
        "act_quant",
        r"^\$flatten\\block_score\.\\square_(\d+)\.(?:\\\w+\.)*\$(?!procdff|procmux|dff)",
        r"^\\block_score\.square_(\d+)\.sq_gold$", "aq_every_difference",
        "the mutant changes d² only for differences no block produces: aq_every_difference "
        "puts every reachable |d| (272 values, enumerated in verif/vectors/act_differences.py "
        "and checked closed by tests/test_act_differences.py) into every Square with a "
        "non-zero weight, and the exact score shows any wrong square"),
]


def _in_context(target: Target, mutation: Mutation) -> tuple[str, float, str]:
    """The ``IN_CONTEXT`` verdict of a survivor: (``equivalent`` when its property is proven,
    else ``differs``; seconds; method)."""
    from verif.formal import properties, run_property
    name, _ = IN_CONTEXT[(target.block, mutation.describe())]
    (prop,) = [p for p in properties() if p.name == name]
    r = run_property(prop, timeout=600)
    verdict = "equivalent" if r["ok"] else "differs"
    return verdict, r["seconds"], f"in context ({name} {r['result']})"


@dataclass
class Mutation:
    """One line of ``mutate -list``: the ``mutate`` command and its fields."""
    id: int
    command: str
    fields: dict

    def unconditional(self, module: str) -> str:
        """The same mutation without the control input, applied to ``module``."""
        cmd = re.sub(rf"-ctrl {CTRL} \d+ \d+ ", "", self.command)
        return re.sub(r"-module \S+", f"-module {module}", cmd)

    def describe(self) -> str:
        f = self.fields
        where = f.get("wire") or f"{f.get('cell')}.{f.get('port')}"
        bit = f.get("wirebit", f.get("portbit"))
        src = f.get("src", "")
        extra = f" (ctrl bit {f['ctrlbit']})" if "ctrlbit" in f else ""
        return f"{f.get('mode')} {where}[{bit}]{extra} at {src}"


def _parse(line: str) -> Mutation:
    toks = line.split()
    fields: dict = {}
    i = 1
    mid = None
    while i < len(toks):
        key = toks[i].lstrip("-")
        if key == "ctrl":
            mid = int(toks[i + 3])
            i += 4
            continue
        val = toks[i + 1]
        if key == "src":
            fields.setdefault("src", val)       # the first (most specific) source position
        else:
            fields[key] = val
        i += 2
    if mid is None:
        raise ValueError(f"mutation line without -ctrl: {line!r}")
    return Mutation(mid, line.strip(), fields)


def _work(target: Target) -> Path:
    from infra.cache import cache_key
    key = cache_key({"block": target.block, "params": target.params}, length=8)
    return build_dir("verif", "mutate", f"{target.block}-{key}")


def list_mutations(target: Target, n: int, seed: int) -> tuple[Path, list[Mutation], dict]:
    """Generate the block's Verilog, flatten it and draw ``n`` mutations. Returns the work
    directory, the mutations and the block's metadata (BLOCK.json)."""
    from infra.yosys import run_script
    from rtl.generate import elaborate
    gen = elaborate(target.block, target.params)
    work = _work(target)
    vpath, jpath = gen.write(work)
    run_script(FLATTEN.format(top=target.block, n=n, seed=seed, ctrl=CTRL, width=CTRL_WIDTH),
               work, "flatten.log")
    lines = [ln for ln in (work / "mutations.ys").read_text().splitlines() if ln.strip()]
    return work, [_parse(ln) for ln in lines], json.loads(jpath.read_text())


def mutant_netlist(target: Target, work: Path) -> Path:
    """One Verilog file, top module ``BLOCK`` with the block's ports plus the input ``mutsel``:
    every mutation applied behind ``mutsel == k`` (0 = the original)."""
    from infra.yosys import run_script
    run_script(APPLY.format(top=target.block), work, "apply.log")
    return work / "mutants.v"


def matched_unproven(target: Target, ework: Path, mutation: Mutation,
                     timeout: int = 600) -> list[str] | None:
    """``EQUIV_MATCHED`` of a clocked block: [] when proven, else the original's names of the
    registers (and ports) it could not prove equal (``["?"]``: Yosys failed or timed out)."""
    from infra.yosys import YosysError, run_script
    try:
        run_script(EQUIV_MATCHED.format(top=target.block, mutation=mutation.unconditional("gate")),
                   ework, "matched.log", timeout=timeout + 300)
        return []
    except YosysError:
        text = (ework / "matched.log").read_text() if (ework / "matched.log").exists() else ""
        names = sorted(set(re.findall(r"Unproven \$equiv \S+: (\S+) \[", text)))
        return names or ["?"]
    except Exception:            # subprocess timeout
        return ["?"]


def prove_equivalent(target: Target, work: Path, mutation: Mutation, clocked: bool, *,
                     depth: int = 20, timeout: int = 600,
                     tests: list[str] = ()) -> tuple[str, float, str]:
    """Original vs the mutant alone: ``equivalent`` (proven), ``differs`` (counterexample),
    ``bounded`` (clocked: no difference within ``depth`` cycles from reset, induction open) or
    ``undecided`` (solver timeout). Returns (verdict, seconds, method). Clocked blocks:
    ``EQUIV_MATCHED`` first (``register-matched induction``); if it leaves registers unproven, a
    ``CONTEXT_RULES`` rule (``tests``: the tests the mutant passed) or an ``IN_CONTEXT`` entry
    (``in context``); else the miter (``miter induction``). Combinational blocks: the miter
    (``miter SAT``)."""
    from infra.yosys import YosysError, run_script
    ework = work / "equiv" / f"m{mutation.id}"
    ework.mkdir(parents=True, exist_ok=True)
    (ework / "flat.il").write_text((work / "flat.il").read_text())   # Yosys sees only its cwd
    t0 = time.monotonic()
    if clocked:
        unproven = matched_unproven(target, ework, mutation, timeout)
        if not unproven:
            return "equivalent", time.monotonic() - t0, "register-matched induction"
        for rule in CONTEXT_RULES:
            if rule.block == target.block and rule.applies(mutation, unproven, list(tests)):
                return ("equivalent", time.monotonic() - t0,
                        f"in context ({rule.test}, exhaustive)")
        if (target.block, mutation.describe()) in IN_CONTEXT:
            verdict, secs, method = _in_context(target, mutation)
            return verdict, time.monotonic() - t0, method
    sat = (SAT_SEQ.format(depth=depth, timeout=timeout) if clocked
           else SAT_COMB.format(timeout=timeout))
    method = "miter induction" if clocked else "miter SAT"
    try:
        log = run_script(EQUIV.format(top=target.block, mutation=mutation.unconditional("gate"),
                                      sat=sat), ework, "equiv.log", timeout=timeout + 300)
        text = log.read_text()
        verdict = "equivalent"
    except YosysError:
        text = (ework / "equiv.log").read_text() if (ework / "equiv.log").exists() else ""
        verdict = "differs"
    except Exception:           # subprocess timeout
        return "undecided", time.monotonic() - t0, method
    if "timeout" in text.lower() and "SUCCESS" not in text:
        verdict = "undecided"
    if clocked and verdict == "differs" and re.search(r"[Rr]eached maximum number of time steps",
                                                      text) and "failed" not in text.lower():
        verdict = "bounded"
    return verdict, time.monotonic() - t0, method


def _simulate(target: Target, netlist: Path, sim: str, mutants: list[int], work: Path,
              n_tests: int = 0, log=print) -> dict[int, dict]:
    """Run the testbench against ``mutants`` (verif/tb/mutants.py) in as few simulator runs as
    possible: a run that dies (a mutant can crash the simulator) resumes after the mutant it
    was running, which counts as killed by the crash. Returns per mutant: tests passed, the
    killing test and its message."""
    from verif.runner import run_cocotb
    progress = work / "progress.jsonl"
    out: dict[int, dict] = {k: {"passed": [], "killed_by": None, "message": ""} for k in mutants}
    todo = list(mutants)
    while todo:
        progress.unlink(missing_ok=True)
        error = ""
        try:
            run_cocotb(target.block, target.params, "verif.tb.mutants", sim=sim,
                       extra_env={**target.env, "VERIF_MUTATE_TB": target.tb,
                                  "VERIF_MUTANTS": ",".join(map(str, todo)),
                                  "VERIF_MUTATE_PROGRESS": str(progress)},
                       netlist=netlist, run_name=f"mutants-{todo[0]}", seed=1)
        except AssertionError as e:      # failing tests are the point; a crash is handled below
            error = str(e).splitlines()[0]
        except RuntimeError as e:        # the simulator exited with an error (e.g. $stop)
            error = f"simulator wrote no results ({' '.join(str(e).split())[:120]})"
        for line in (progress.read_text().splitlines() if progress.exists() else []):
            r = json.loads(line)
            k = r["mutant"]
            if r["status"] == "passed":
                out[k]["passed"].append(r["test"])
            elif out[k]["killed_by"] is None:
                out[k]["killed_by"], out[k]["message"] = r["test"], r["message"]
        if "wrote no results" not in error:
            break                      # the regression ran to its end: every mutant is done
        # the simulator died: the mutant it was running is the first one not finished
        finished = [k for k in todo if out[k]["killed_by"] is not None
                    or (n_tests and len(out[k]["passed"]) >= n_tests)]
        crashed = next(k for k in todo if k not in finished)
        out[crashed]["killed_by"], out[crashed]["message"] = "(simulator crash)", error
        log(f"  the simulator died while running mutant {crashed}: {error}")
        todo = [k for k in todo if k not in finished and k != crashed]
    return out


def run_block(target: Target, n: int, seed: int, sim: str, depth: int, log=print) -> dict:
    """Mutate one block, run the regression against every mutant, check the survivors."""
    t0 = time.monotonic()
    work, mutations, meta = list_mutations(target, n, seed)
    netlist = mutant_netlist(target, work)
    clocked = any(p["name"] == "clk" for p in meta["ports"])
    t1 = time.monotonic()
    orig = _simulate(target, netlist, sim, [0], work, log=log)[0]
    if orig["killed_by"] is not None or not orig["passed"]:
        raise RuntimeError(f"{target.label}: the regression fails on the unmutated netlist "
                           f"({orig['killed_by']}: {orig['message']})")
    tests = orig["passed"]
    log(f"{target.label}: {len(mutations)} mutants; the original passes {len(tests)} tests "
        f"({time.monotonic() - t1:.0f} s incl. build)")
    t1 = time.monotonic()
    verdicts = _simulate(target, netlist, sim, [m.id for m in mutations], work, len(tests), log)
    sim_seconds = time.monotonic() - t1
    rows = []
    for m in mutations:
        v = verdicts[m.id]
        by = v["killed_by"]
        if by is None and len(v["passed"]) < len(tests):
            by, v["message"] = "(not run)", "the simulator stopped before this mutant"
        row = {"id": m.id, "mutation": m.describe(), "command": m.command,
               "killed_by": by, "message": v["message"]}
        if by is None:
            verdict, secs, method = prove_equivalent(target, work, m, clocked, depth=depth,
                                                     tests=tests)
            row["equivalence"] = verdict
            row["equiv_method"] = method
            row["equiv_seconds"] = round(secs, 1)
        rows.append(row)
        log(f"  mutant {m.id:3d} {('killed by ' + by) if by else 'SURVIVED (' + row['equivalence'] + ')'}"
            f"  [{m.describe()}]")
    not_run = sum(r["killed_by"] == "(not run)" for r in rows)
    killed = sum(r["killed_by"] is not None for r in rows) - not_run
    equivalent = sum(r.get("equivalence") == "equivalent" for r in rows)
    denom = len(rows) - equivalent - not_run
    return {"block": target.block, "params": target.params, "label": target.label,
            "tests": tests, "mutants": len(rows), "killed": killed,
            "survived": len(rows) - killed - not_run, "equivalent": equivalent,
            "not_run": not_run,
            "kill_rate": killed / denom if denom else 1.0, "clocked": clocked,
            "seconds": round(time.monotonic() - t0, 1), "sim_seconds": round(sim_seconds, 1),
            "rows": rows}


def render(results: list[dict], *, n: int, seed: int, sim: str, target: float,
           seconds: float) -> str:
    """The report as Markdown: the per-block table, then every survivor."""
    lines = [f"# Mutation score (python -m verif.mutate, {n} mutants per block, seed {seed}, "
             f"{sim})", "",
             "| block (configuration) | mutants | killed | survived | equivalent (proven) | "
             "kill rate (non-equivalent) | time (simulator) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['mutants']} | {r['killed']} | {r['survived']} | "
                     f"{r['equivalent']} | {100 * r['kill_rate']:.1f} % | {r['seconds']:.0f} s "
                     f"({r.get('sim', sim)}) |")
    tot = {k: sum(r[k] for r in results) for k in ("mutants", "killed", "survived", "equivalent")}
    denom = tot["mutants"] - tot["equivalent"] - sum(r.get("not_run", 0) for r in results)
    rate = tot["killed"] / denom if denom else 1.0
    lines.append(f"| **all** | {tot['mutants']} | {tot['killed']} | {tot['survived']} | "
                 f"{tot['equivalent']} | {100 * rate:.1f} % | {seconds:.0f} s |")
    lines += ["", f"Target: at least {100 * target:.0f} % of the non-equivalent mutants of every "
              "block killed. Total run time " f"{seconds / 60:.1f} min.", ""]
    skipped = [f"{r['block']} {m['id']}" for r in results for m in r["rows"]
               if m["killed_by"] == "(not run)"]
    if skipped:
        lines += ["Not run (the simulator stopped before them; not counted): "
                  + ", ".join(skipped), ""]
    surv = [(r, m) for r in results for m in r["rows"] if m["killed_by"] is None]
    if surv:
        lines += ["## Survivors", "", "| block | mutant | mutation | equivalence check | method |",
                  "|---|---:|---|---|---|"]
        for r, m in surv:
            lines.append(f"| {r['block']} | {m['id']} | `{m['mutation']}` | {m['equivalence']} "
                         f"({m['equiv_seconds']:.0f} s) | {m.get('equiv_method', 'miter')} |")
        lines.append("")
        argued = [(r, m) for r, m in surv
                  if m.get("equiv_method", "").startswith("in context")]
        for r, m in argued:
            reason = IN_CONTEXT.get((r["block"], m["mutation"]), (None, None))[1] or next(
                (c.reason for c in CONTEXT_RULES if c.block == r["block"]
                 and f"({c.test}," in m["equiv_method"]), "see verif/mutate.py")
            lines.append(f"* {r['block']} mutant {m['id']} is equivalent in context: {reason}.")
        if argued:
            lines.append("")
    lines += ["## Kills per test", ""]
    for r in results:
        counts: dict = {}
        for m in r["rows"]:
            if m["killed_by"]:
                counts[m["killed_by"]] = counts.get(m["killed_by"], 0) + 1
        lines.append(f"* {r['label']}: " + (", ".join(f"{k} {v}" for k, v in counts.items())
                                            or "none"))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = Parser(prog="python -m verif.mutate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=listof(str), default=[t.block for t in TARGETS],
                    help="comma-separated blocks (default: every block of TARGETS)")
    ap.add_argument("--mutants", type=int_range(1, (1 << CTRL_WIDTH) - 1), default=20,
                    help="mutants per block (default 20)")
    ap.add_argument("--seed", type=int_range(0), default=1, help="mutate -list seed (default 1)")
    ap.add_argument("--sim", choices=("verilator", "icarus"), default=None,
                    help="default: icarus when installed (the mutant netlist compiles in "
                         "seconds; Verilator's C++ build of a flattened VMAC takes minutes)")
    ap.add_argument("--depth", type=int_range(1, 200), default=20,
                    help="induction depth of the survivors' equivalence check (default 20)")
    ap.add_argument("--target", type=fraction, default=0.95,
                    help="kill rate every block must reach (default 0.95)")
    ap.add_argument("--report-only", action="store_true",
                    help="no simulation: the report from the blocks' saved results "
                         "($BUILD_DIR/verif/mutate/blocks/BLOCK.json, same --mutants and --seed)")
    args = ap.parse_args(argv)
    unknown = [b for b in args.blocks if b not in BY_NAME]
    if unknown:
        return fail(f"argument --blocks: unknown block {unknown[0]!r} "
                    f"(choose from {', '.join(BY_NAME)})")
    from verif.runner import available_simulators, simulator
    try:
        sim = simulator(args.sim or ("icarus" if "icarus" in available_simulators()
                                     else "verilator"))
    except (ValueError, RuntimeError) as e:
        return fail(f"argument --sim: {e}")
    out = build_dir("verif", "mutate")
    saved = out / "blocks"
    saved.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.blocks:
        path = saved / f"{name}.json"
        if args.report_only:
            r = json.loads(path.read_text()) if path.exists() else None
            if r is None or (r["n"], r["seed"]) != (args.mutants, args.seed):
                return fail(f"argument --report-only: no saved result of {name} with "
                            f"--mutants {args.mutants} --seed {args.seed} in {saved}")
        else:
            r = run_block(BY_NAME[name], args.mutants, args.seed, sim, args.depth,
                          log=lambda s: print(s, flush=True))
            r.update(n=args.mutants, seed=args.seed, sim=sim)
            path.write_text(json.dumps(r, indent=1))
        results.append(r)
    seconds = sum(r["seconds"] for r in results)
    sims = sorted({r["sim"] for r in results})
    text = render(results, n=args.mutants, seed=args.seed, sim=" + ".join(sims),
                  target=args.target, seconds=seconds)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(
        {"mutants": args.mutants, "seed": args.seed, "seconds": round(seconds, 1),
         "blocks": results}, indent=1))
    print()
    print(text)
    print(f"written: {out / 'report.md'}")
    ok = all(r["kill_rate"] >= args.target for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
