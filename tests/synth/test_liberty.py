"""The project's liberty: generated file up to date, NanGate45 areas, functions, reader errors."""
import pytest

from synth.liberty import (DEFAULT_LIBERTY, LibertyError, liberty_text, parse_liberty,
                           read_liberty, truth_table, wire_cap)
from tests.cli_errors import one_error_line, run

# Published NanGate45 Open Cell Library X1 areas (µm²).
NANGATE45_AREA = {
    "INV_X1": 0.532, "BUF_X1": 0.798, "NAND2_X1": 0.798, "NOR2_X1": 0.798, "AND2_X1": 1.064,
    "OR2_X1": 1.064, "XOR2_X1": 1.596, "XNOR2_X1": 1.596, "AOI21_X1": 1.064, "OAI21_X1": 1.064,
    "AOI22_X1": 1.330, "OAI22_X1": 1.330, "MUX2_X1": 1.862, "NAND3_X1": 1.064, "NOR3_X1": 1.064,
    "DFF_X1": 4.522,
}


def test_checked_in_liberty_is_generated():
    assert DEFAULT_LIBERTY.read_text() == liberty_text(), "run: python -m synth.liberty"


def test_areas_are_nangate45():
    lib = read_liberty(DEFAULT_LIBERTY)
    for name, area in NANGATE45_AREA.items():
        assert lib.cells[name].area == pytest.approx(area), name
    assert lib.nand2_area == pytest.approx(0.798)
    kinds = lib.require()
    assert {k: kinds[k] for k in ("inverter", "buffer", "nand2", "dff")} == {
        "inverter": "INV_X1", "buffer": "BUF_X1", "nand2": "NAND2_X1", "dff": "DFF_X1"}


@pytest.mark.parametrize("fn,pins,tt", [
    ("((S & B) | (A & !S))", ["A", "B", "S"], [0, 1, 0, 1, 0, 0, 1, 1]),
    ("!(A | (B1 & B2))", ["A", "B1", "B2"], [1, 0, 1, 0, 1, 0, 0, 0]),
    ("(A ^ B)", ["A", "B"], [0, 1, 1, 0]),
    ("(A B)' + C", ["A", "B", "C"], [1, 1, 1, 0, 1, 1, 1, 1]),
    ("A * !B", ["A", "B"], [0, 1, 0, 0]),
])
def test_function_truth_tables(fn, pins, tt):
    assert truth_table(fn, pins) == tt


def test_every_cell_function_parses():
    lib = read_liberty(DEFAULT_LIBERTY)
    for c in lib.cells.values():
        if c.ff is None:
            for fn in c.outputs.values():
                assert len(truth_table(fn, list(c.inputs))) == 1 << len(c.inputs)


def test_wire_load_grows_with_fanout():
    caps = [wire_cap(f) for f in range(1, 30)]
    assert all(b > a for a, b in zip(caps, caps[1:]))


def test_missing_file(tmp_path):
    with pytest.raises(LibertyError, match="not found") as e:
        read_liberty(tmp_path / "nope.lib")
    assert "nope.lib" in str(e.value)


@pytest.mark.parametrize("text,needle", [
    ("", "empty file"),
    ("cell (X) { }", "must start with 'library"),
    ("library (x) { cell (A) { area : 1.0; ", "missing '}'"),
    ("library (x) { cell (A) { area : zz; } }", "not a number"),
])
def test_malformed(tmp_path, text, needle):
    p = tmp_path / "bad.lib"
    p.write_text(text)
    with pytest.raises(LibertyError, match=needle) as e:
        read_liberty(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("cell,attr,value", [
    ("NAND2_X1", "area", "nan"), ("NAND2_X1", "area", "inf"), ("INV_X1", "area", "-0.5"),
    ("BUF_X1", "capacitance", "nan"), ("BUF_X1", "capacitance", "-1"),
])
def test_non_finite_or_negative_quantity_refused(tmp_path, cell, attr, value):
    """issue 13.4: a NaN area compared false everywhere, so such a cell got picked."""
    text = liberty_text()
    start = text.index(f"  cell ({cell})")
    at = text.index(f"{attr} : ", start)
    end = text.index(";", at)
    p = tmp_path / "bad.lib"
    p.write_text(text[:at] + f"{attr} : {value}" + text[end:])
    with pytest.raises(LibertyError, match=f"cell {cell}.*{attr}.*{value!r}") as e:
        read_liberty(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_liberty_cli_bad_check_and_out(tmp_path):
    text = liberty_text()
    at = text.index("area : ", text.index("  cell (NAND2_X1)"))
    bad = tmp_path / "nan.lib"
    bad.write_text(text[:at] + "area : nan" + text[text.index(";", at):])
    one_error_line(run("-m", "synth.liberty", "--check", str(bad)), "nan.lib", "NAND2_X1",
                   "area", "'nan'")
    one_error_line(run("-m", "synth.liberty", "-o", str(tmp_path)), "--out", str(tmp_path))
    one_error_line(run("-m", "synth.liberty", "--bogus"), "unrecognized", "--bogus")


def test_missing_cells_named(tmp_path):
    text = liberty_text()
    start = text.index("  cell (BUF_X1)")
    end = text.index("  cell (NAND2_X1)")
    lib = parse_liberty(text[:start] + text[end:], tmp_path / "nobuf.lib")
    with pytest.raises(LibertyError, match="buffer"):
        lib.require()
    start = text.index("  cell (DFF_X1)")
    lib = parse_liberty(text[:start] + "}\n", tmp_path / "noff.lib")
    with pytest.raises(LibertyError, match="flip-flop"):
        lib.require()


def test_mux_found_by_truth_table():
    lib = read_liberty(DEFAULT_LIBERTY)
    assert lib.kinds()["mux2"] == "MUX2_X1"
    assert lib.mux_roles("MUX2_X1") == {"A": "A", "B": "B", "S": "S", "Z": "Z"}
