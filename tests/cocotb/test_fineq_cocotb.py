"""cocotb regressions of the FineQ blocks (generated Verilog, Verilator and Icarus).

Every configuration runs all tests of verif/tb/fineq.py that apply to its block: every cluster
byte (type and code) at every position, INT8 extremes against the largest levels, all-zero and
all-outlier tiles, early-finish windows, random tiles, real all-MiniLM-L6-v2 tiles, back-pressure
on inputs and output, reset in the middle of a stream, several tiles in a row, and the
documented cycle counts. Bit-exact against the golden model (verif/vectors/fineq.py).
"""
import pytest

from verif.runner import run_cocotb

DECODERS = [("fineq_decoder", {"layout": "joint"}), ("fineq_decoder", {"layout": "330"}),
            ("fineq_decoder", {"layout": "321"})]

# Defaults: coding="select", dataflow="broadcast" (temporal_array, fineq_core); binary arrays
# default to "broadcast" too. Every coding and dataflow has a configuration in the full set.
ARRAYS = [
    ("temporal_array", {"rows": 16, "cols": 16}),
    ("temporal_array", {"rows": 7, "cols": 5, "dataflow": "systolic"}),
    ("temporal_array", {"rows": 6, "cols": 5, "coding": "csd"}),
    ("temporal_array", {"rows": 5, "cols": 7, "coding": "unary", "early_finish": False,
                        "dataflow": "systolic"}),
    ("binary_array", {"rows": 16, "cols": 16, "weight_bits": 4}),
    ("binary_array", {"rows": 10, "cols": 6, "weight_bits": 8, "dataflow": "systolic"}),
]

CORES = [
    ("fineq_core", {"rows": 4, "cols": 4, "layout": "330"}),
    ("fineq_core", {"rows": 8, "cols": 8, "layout": "joint", "coding": "csd",
                    "dataflow": "systolic"}),
    ("fineq_core", {"rows": 16, "cols": 16, "layout": "joint"}),
    ("fineq_core", {"rows": 10, "cols": 6, "layout": "321", "dataflow": "systolic"}),
]

SLOW = [
    ("temporal_array", {"rows": 4, "cols": 4}),
    ("temporal_array", {"rows": 8, "cols": 8}),
    ("temporal_array", {"rows": 10, "cols": 6, "coding": "csd", "dataflow": "systolic"}),
    ("binary_array", {"rows": 4, "cols": 4, "weight_bits": 4}),
    ("binary_array", {"rows": 8, "cols": 8, "weight_bits": 8}),
    ("temporal_array", {"rows": 8, "cols": 8, "coding": "unary"}),
    ("temporal_array", {"rows": 16, "cols": 16, "coding": "unary", "dataflow": "systolic"}),
    ("temporal_array", {"rows": 16, "cols": 16, "coding": "csd", "dataflow": "systolic"}),
    ("temporal_array", {"rows": 16, "cols": 16, "coding": "csd"}),
    ("temporal_array", {"rows": 16, "cols": 16, "dataflow": "systolic"}),
    ("fineq_core", {"rows": 13, "cols": 3, "layout": "330", "coding": "unary"}),
    ("binary_array", {"rows": 16, "cols": 16, "weight_bits": 8}),
    ("binary_array", {"rows": 16, "cols": 16, "weight_bits": 4, "dataflow": "systolic"}),
    ("fineq_core", {"rows": 16, "cols": 16, "layout": "330", "coding": "csd",
                    "dataflow": "systolic"}),
    ("fineq_core", {"rows": 32, "cols": 8, "layout": "330"}),
]


def _id(block, params):
    return f"{block}-" + "-".join(f"{k}{v}" for k, v in params.items())


# each block's default configuration runs on every simulator in make test, the others on
# Verilator there and on every simulator in the full set (icarus_full, tests/conftest.py)
DEFAULTS = [("fineq_decoder", {"layout": "joint"}),
            ("temporal_array", {"rows": 16, "cols": 16}),
            ("binary_array", {"rows": 16, "cols": 16, "weight_bits": 4}),
            ("fineq_core", {"rows": 16, "cols": 16, "layout": "joint"})]
# make test: one small variant on Verilator (the Amaranth-simulator tests cover every variant)
VARIANTS = [("temporal_array", {"rows": 5, "cols": 7, "coding": "unary", "early_finish": False,
                                "dataflow": "systolic"})]
SLOW = SLOW + [c for c in DECODERS + ARRAYS + CORES if c not in DEFAULTS + VARIANTS]


@pytest.mark.parametrize("block,params", DEFAULTS, ids=[_id(b, p) for b, p in DEFAULTS])
def test_fineq_block(block, params, sim):
    run_cocotb(block, params, "verif.tb.fineq", sim=sim)


@pytest.mark.icarus_full
@pytest.mark.parametrize("block,params", VARIANTS, ids=[_id(b, p) for b, p in VARIANTS])
def test_fineq_variant(block, params, sim):
    run_cocotb(block, params, "verif.tb.fineq", sim=sim)


@pytest.mark.slow
@pytest.mark.parametrize("block,params", SLOW, ids=[_id(b, p) for b, p in SLOW])
def test_fineq_block_slow(block, params, sim):
    run_cocotb(block, params, "verif.tb.fineq", sim=sim)
