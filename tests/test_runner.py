"""verif.runner configuration and result reporting that the cocotb regressions rely on (no
simulator run)."""
import pytest

from verif import runner
from verif.results import CaseResult, failure_report, read_results


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


RESULTS_XML = """<?xml version='1.0' encoding='utf-8'?>
<testsuites name="results">
  <testsuite name="verif.tb.fgmp" tests="4" failures="1" errors="1" skipped="1">
    <testcase name="vmac_each_mode_full_rate" classname="verif.tb.fgmp" time="1.0" />
    <testcase name="vmac_every_code_pair" classname="verif.tb.fgmp" time="2.0">
      <failure message="vmac exhaustive fp4xfp4: 1 of 256 mismatched:&#10;  dot product 7 lane 0: got 0x3f800000, expected 0x3f800001&#10;  l2&#10;  l3&#10;  l4" type="AssertionError">Traceback ...</failure>
    </testcase>
    <testcase name="vmac_backpressure" classname="verif.tb.fgmp" time="0.1">
      <error message="stream w: valid dropped at cycle 12 before ready" type="RuntimeError" />
    </testcase>
    <testcase name="aq_threshold_exact" classname="verif.tb.fgmp" time="0">
      <skipped message="Test was skipped" />
    </testcase>
  </testsuite>
</testsuites>
"""


def test_results_are_read_per_test(tmp_path):
    path = tmp_path / "results.xml"
    path.write_text(RESULTS_XML)
    cases = read_results(path)
    assert [(c.name, c.status) for c in cases] == [
        ("vmac_each_mode_full_rate", "passed"), ("vmac_every_code_pair", "failed"),
        ("vmac_backpressure", "error"), ("aq_threshold_exact", "skipped")]
    assert cases[1].message.startswith("AssertionError: vmac exhaustive fp4xfp4: 1 of 256")
    assert "got 0x3f800000, expected 0x3f800001" in cases[1].message
    assert cases[2].message == "RuntimeError: stream w: valid dropped at cycle 12 before ready"
    assert cases[0].message == cases[3].message == ""


def test_failure_report_names_every_failing_test_and_its_first_lines(tmp_path):
    path = tmp_path / "results.xml"
    path.write_text(RESULTS_XML)
    report = failure_report(read_results(path))
    assert report.startswith("2 of 3 cocotb tests failed (1 skipped):")
    assert "vmac_every_code_pair FAILED: AssertionError: vmac exhaustive fp4xfp4" in report
    assert "dot product 7 lane 0: got 0x3f800000, expected 0x3f800001" in report
    assert "l3" in report and "l4" not in report          # the head of the message only
    assert "vmac_backpressure ERROR: RuntimeError: stream w: valid dropped at cycle 12" in report
    assert "aq_threshold_exact" not in report and "vmac_each_mode" not in report


@pytest.mark.parametrize("statuses,verdict", [
    (["passed", "skipped"], None),
    (["skipped", "skipped"], "no cocotb test ran (2 skipped)"),
    ([], "no cocotb test ran (0 skipped)"),
    (["passed", "failed"], "1 of 2 cocotb tests failed:"),
])
def test_a_run_passes_only_when_a_test_ran_and_none_failed(statuses, verdict):
    cases = [CaseResult(f"t{i}", s, "AssertionError: x" if s == "failed" else "")
             for i, s in enumerate(statuses)]
    report = failure_report(cases)
    assert report == verdict if verdict is None else report.startswith(verdict)
