"""verif.runner configuration that the cocotb regressions rely on (no simulator run)."""
import pytest

from verif import runner


def test_verilator_build_is_O0_by_default(monkeypatch):
    monkeypatch.delenv("VERILATOR_OPT", raising=False)
    flags = runner._verilator_makeflags()
    assert "OPT_FAST=-O0" in flags and "OPT_SLOW=-O0" in flags and "OPT_GLOBAL=-O0" in flags


def test_verilator_opt_override(monkeypatch):
    monkeypatch.setenv("VERILATOR_OPT", "-Os")
    assert "OPT_FAST=-Os" in runner._verilator_makeflags()


@pytest.mark.parametrize("bad", ["-O9", "O2", "-O2 -g", ""])
def test_verilator_opt_rejects_bad_values(monkeypatch, bad):
    monkeypatch.setenv("VERILATOR_OPT", bad)
    with pytest.raises(ValueError, match="VERILATOR_OPT"):
        runner._verilator_makeflags()


def test_build_dir_depends_on_every_key():
    base = runner.build_dir_for("vmac", {"lanes": 1}, "verilator", False)
    assert base != runner.build_dir_for("vmac", {"lanes": 2}, "verilator", False)
    assert base != runner.build_dir_for("vmac", {"lanes": 1}, "icarus", False)
    assert base != runner.build_dir_for("vmac", {"lanes": 1}, "verilator", True)
    assert base == runner.build_dir_for("vmac", {"lanes": 1}, "verilator", False)


def test_unknown_simulator_is_named():
    with pytest.raises(ValueError, match="'xcelium'"):
        runner.simulator("xcelium")
