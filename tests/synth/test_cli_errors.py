"""Bad input to the synthesis CLIs: one error line naming the file or cell, exit code 2."""
import pytest

from synth.liberty import liberty_text
from tests.cli_errors import one_error_line, run


def _libs(tmp_path):
    text = liberty_text()
    bad = tmp_path / "broken.lib"
    bad.write_text(text[: len(text) // 2])
    s, e = text.index("  cell (DFF_X1)"), text.rindex("}")
    noff = tmp_path / "noff.lib"
    noff.write_text(text[:s] + text[e:])
    return {"missing": tmp_path / "missing.lib", "malformed": bad, "nocell": noff}


@pytest.mark.parametrize("kind,needle", [
    ("missing", "not found"), ("malformed", "malformed"), ("nocell", "flip-flop")])
@pytest.mark.parametrize("cli", ["synth.area", "synth.report", "synth.sweep"])
def test_bad_liberty(tmp_path, kind, needle, cli):
    lib = _libs(tmp_path)[kind]
    args = ["e2m1_decoder"] if cli == "synth.area" else ["--out", str(tmp_path / "o")]
    if cli == "synth.sweep":
        args += ["--families", "fineq", "--sizes", "2"]
    out = run("-m", cli, *args, "--liberty", str(lib))
    one_error_line(out, str(lib.name), needle)


@pytest.mark.parametrize("block,needle", [
    ("synth_test_loop", "RTL conversion"),           # Amaranth refuses the combinational loop
    ("synth_test_unknown_cell", "no_such_cell"),     # Yosys hierarchy -check fails
])
def test_block_that_fails_synthesis(block, needle):
    code = ("import sys; sys.path.insert(0, 'tests/synth'); import conftest; "
            "conftest.register_loop_block(); from synth.area import main; "
            f"sys.exit(main(['{block}', '--json', '--no-cache']))")
    out = run(code=code)
    one_error_line(out, f"synthesis of '{block}' failed", needle)


def test_unknown_block_and_parameter():
    one_error_line(run("-m", "synth.area", "nope"), "unknown block 'nope'")
    one_error_line(run("-m", "synth.area", "temporal_array", "--param", "rows=0"), "rows")


def test_fineq_compare_bad_size_and_unknown_dataflow():
    one_error_line(run("-m", "synth.fineq_compare", "--rows", "0"), "rows must be")
    one_error_line(run("-m", "synth.area", "binary_array", "--param", "dataflow=tree"),
                   "dataflow must be one of ['broadcast', 'systolic'], got 'tree'")
