"""Exhaustive operand coverage of the generated Verilog (issue 13 part 2): slow set, run by
``make coverage`` and ``make regress-full`` on Verilator and Icarus.

Each run fails on an empty functional-coverage bin (verif/coverage.py), counted from the inputs
the DUT accepted and whose results were checked equal to golden:

* VMACs: every (weight code, activation code) pair of every mode (256 / 4,096 / 4,096 /
  65,536 pairs, NaN codes included) in every one of the 16 element positions
  (``vmac_every_code_pair`` with VERIF_FGMP_EXHAUSTIVE=all; verif/vectors/fgmp.py
  ``exhaustive_stream``, ``pair_bins``);
* arrays: every level of the weight format in every PE against both extreme activations
  (``coverage_every_level``); core: every cluster byte in every column against both extremes
  (``coverage_every_byte``), one configuration per layout.

The quick regression keeps the cheap sweeps with the same coverage checks: every input code of
both format decoders, every output code of the encoders, every (byte, lane) of fineq_decoder in
each layout, and the FP4xFP4 pair sweep on the default vmac.
"""
import pytest

from verif.runner import run_cocotb

VMACS = [("vmac", {}), ("fp8_vmac", {}),
         ("vmac", {"lanes": 2, "datapath": "split", "isolation": "and", "acc_init": True})]
ARRAYS = [
    ("temporal_array", {"rows": 16, "cols": 16}),
    ("temporal_array", {"rows": 6, "cols": 5, "coding": "csd"}),
    ("temporal_array", {"rows": 5, "cols": 7, "coding": "unary", "early_finish": False,
                        "dataflow": "systolic"}),
    ("binary_array", {"rows": 16, "cols": 16, "weight_bits": 4}),
    ("binary_array", {"rows": 8, "cols": 8, "weight_bits": 8}),
]
CORES = [
    ("fineq_core", {"rows": 16, "cols": 16, "layout": "joint"}),
    ("fineq_core", {"rows": 4, "cols": 4, "layout": "330"}),
    ("fineq_core", {"rows": 10, "cols": 6, "layout": "321", "dataflow": "systolic"}),
]


def _id(block, params):
    return f"{block}-" + ("-".join(f"{k}{v}" for k, v in params.items()) or "default")


@pytest.mark.slow
@pytest.mark.parametrize("block,params", VMACS, ids=[_id(b, p) for b, p in VMACS])
def test_vmac_every_pair_every_position(block, params, sim):
    run_cocotb(block, params, "verif.tb.fgmp", sim=sim, testcase="vmac_every_code_pair",
               extra_env={"VERIF_FGMP_EXHAUSTIVE": "all"})


@pytest.mark.slow
@pytest.mark.parametrize("block,params", ARRAYS, ids=[_id(b, p) for b, p in ARRAYS])
def test_array_every_level_every_pe(block, params, sim):
    run_cocotb(block, params, "verif.tb.fineq", sim=sim, testcase="coverage_every_level",
               extra_env={"VERIF_COVERAGE": "1"})


@pytest.mark.slow
@pytest.mark.parametrize("block,params", CORES, ids=[_id(b, p) for b, p in CORES])
def test_core_every_byte_every_column(block, params, sim):
    run_cocotb(block, params, "verif.tb.fineq", sim=sim, testcase="coverage_every_byte",
               extra_env={"VERIF_COVERAGE": "1"})
