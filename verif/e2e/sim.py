"""One simulation of a block that streams a whole layer (verif/tb/e2e.py plays it).

``play(block, params, inputs, output, n_out, ports=..., sim=...)`` writes the job file, runs the
cocotb stream player and returns a :class:`Played`: every output payload with its handshake
cycle, the input handshake cycles and the wall time.

The simulator build is verif.runner's (Verilog generated from the registry, Verilator/Icarus
build cached per parameter hash and locked), with two differences:

* the builds live under ``$BUILD_DIR/e2e/sim/`` and Verilator's C++ is compiled with
  ``E2E_VERILATOR_OPT`` (default ``-O2``) instead of the regression's ``-O0``: a layer is
  hundreds of thousands of cycles; measured (benchmarks/e2e_verilator_opt.py, docs/e2e.md),
  the ``-O2`` builds take about the same wall time and simulate a layer about twice as fast
  (the regression's builds are left alone, so the two never rebuild each other;
  ``E2E_VERILATOR_OPT=-O0`` uses and shares the regression's builds instead);
* generating the Verilog of a 16x16 core takes most of a minute, so a process prepares each
  configuration once (``verif.runner._build``: generate, compare the build stamp, build if
  needed) and reuses it for every later layer.

The run itself goes through cocotb_tools' runner as ``verif.runner.run_cocotb`` does, and its
results.xml is read the same way (a failing run raises AssertionError naming it).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from infra.paths import build_dir

__all__ = ["Played", "play"]

_PREPARED: dict = {}


@dataclass
class Played:
    out: list[int]                       # output payloads, in order
    out_cycles: list[int]                # handshake cycle of each output
    in_cycles: dict[str, list[int]]      # per input stream, handshake cycle of each payload
    cycles: int                          # cycles simulated (until the last output was taken)
    seconds: float                       # wall time of the run (and of the build, if any)


DEFAULT_OPT = "-O2"


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _prepare(block: str, params: dict, sim: str | None):
    import verif.runner as R
    sim = R.simulator(sim)
    key = (block, json.dumps(params, sort_keys=True), sim)
    if key not in _PREPARED:
        if sim == "verilator":
            R._path_with_verilator()
        opt = os.environ.get("E2E_VERILATOR_OPT", DEFAULT_OPT)
        if sim == "verilator" and opt != R.DEFAULT_VERILATOR_OPT:
            env = {"BUILD_DIR": str(build_dir("e2e")), "VERILATOR_OPT": opt}
        else:                                  # the regression's own builds, shared
            env = {"VERILATOR_OPT": R.DEFAULT_VERILATOR_OPT} if sim == "verilator" else {}
        with _environ(**env):
            _PREPARED[key] = (sim, *R._build(block, params, sim, False))
    return _PREPARED[key]


def play(block: str, params: dict, inputs: dict[str, list[int]], output: str, n_out: int, *,
         ports: dict[str, int] | None = None, sim: str | None = None, max_cycles: int,
         run_name: str = "e2e") -> Played:
    from verif.results import failure_report, read_results

    t0 = time.monotonic()
    sim, runner, bdir, jpath, gen = _prepare(block, params, sim)
    run_dir = bdir / "runs" / re.sub(r"[^A-Za-z0-9_.-]+", "_", run_name)[-100:]
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    job, res, results = run_dir / "job.json", run_dir / "result.json", run_dir / "results.xml"
    job.write_text(json.dumps({"inputs": inputs, "ports": ports or {}, "output": output,
                               "n_out": n_out, "max_cycles": max_cycles}))
    env = {"VERIF_BLOCK_JSON": str(jpath), "VERIF_PARAMS": json.dumps(gen.params),
           "E2E_JOB": str(job), "E2E_RESULT": str(res)}
    try:
        runner.test(test_module="verif.tb.e2e", hdl_toplevel=block, hdl_toplevel_lang="verilog",
                    build_dir=bdir / "obj", test_dir=run_dir, seed=1, extra_env=env,
                    timescale=("1ns", "1ps"), results_xml=str(results))
    except SystemExit:
        pass                                   # the results say what failed
    where = f"log and results in {run_dir}"
    if not results.exists():
        raise AssertionError(f"{block} on {sim}: simulator wrote no results ({where})")
    problem = failure_report(read_results(results))
    if problem:
        raise AssertionError(f"{block} on {sim}: {problem}\n({where})")
    r = json.loads(res.read_text())
    job.unlink()                               # large; the result stays for inspection
    return Played(r["out"], r["out_cycles"], r["in_cycles"], r["cycles"], time.monotonic() - t0)
