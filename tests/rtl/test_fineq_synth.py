"""Synthesis evidence for the FineQ RTL: the multiplier-free PE (every coding and dataflow), the
select row head, the arrays and the core contain no multiplier.

Yosys (the flow of synth/area.py) is stopped at two points before technology mapping and the
cell types are listed:

1. after ``proc; opt``: the word-level netlist as elaborated (``$mul`` would be here);
2. after ``synth -run begin:fine`` (coarse synthesis including ``alumacc``, which merges
   multiplications and multi-operand sums into ``$macc_v2`` cells): every ``$macc_v2`` must have
   ``NPRODUCTS = 0`` (a multi-operand adder: the temporal PE's psum + term + carry-in becomes one
   with three addends), and no ``$mul``/``$macc``/``$booth`` cell may exist.

The binary PE is the positive control: the same check must find its multiplier.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.cache import atomic_write, cache_key, locked
from infra.paths import build_dir
from infra.yosys import run_script
from rtl.generate import elaborate

SCRIPT = """\
read_rtlil design.il
hierarchy -check -top {top}
proc
opt
tee -q -o elaborated.json stat -json
synth -flatten -top {top} -run begin:fine
tee -q -o coarse.json stat -json
write_json coarse_netlist.json
"""

MULTIPLIER_CELLS = {"$mul", "$macc", "$booth", "$__mul", "$__MUL"}


def _cells(path: Path, top: str) -> dict[str, int]:
    data = json.loads(path.read_text())
    design = data.get("design") or data["modules"][f"\\{top}"]
    return dict(design["num_cells_by_type"])


def _work(block: str, params: dict) -> Path:
    """The Yosys work directory of this configuration (run once, cached by infra.cache)."""
    il = elaborate(block, params).rtlil()
    key = cache_key({"il": il, "script": SCRIPT}, ("infra.yosys",))
    work = build_dir("synth", "fineq_cells", f"{block}-{key}")
    with locked(work.with_name(work.name + ".lock")):
        if not (work / "done").exists():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            (work / "design.il").write_text(il)
            run_script(SCRIPT.format(top=block), work)
            atomic_write(work / "done", "")
    return work


def cell_types(block: str, params: dict) -> tuple[dict, dict]:
    work = _work(block, params)
    return _cells(work / "elaborated.json", block), _cells(work / "coarse.json", block)


def products(block: str, params: dict) -> list[tuple[int, int]]:
    """(A width, B width) of every product term in the coarse netlist: ``$mul`` cells and the
    products of ``$macc_v2`` cells."""
    net = json.loads((_work(block, params) / "coarse_netlist.json").read_text())
    out = []
    for mod in net["modules"].values():
        for cell in mod["cells"].values():
            prm = cell["parameters"]
            if cell["type"] == "$mul":
                out.append((int(prm["A_WIDTH"], 2), int(prm["B_WIDTH"], 2)))
            elif cell["type"] == "$macc_v2":
                n = int(prm["NPRODUCTS"], 2)
                for i in range(n):
                    aw = int(prm["A_WIDTHS"][::-1][16 * i:16 * i + 16][::-1], 2)
                    bw = int(prm["B_WIDTHS"][::-1][16 * i:16 * i + 16][::-1], 2)
                    out.append((aw, bw))
    return out


@pytest.mark.parametrize("block,params", [
    ("temporal_pe", {"coding": "select", "row": 15}),
    ("temporal_pe", {"coding": "select", "row": 15, "dataflow": "systolic"}),
    ("temporal_pe", {"coding": "csd", "row": 15, "dataflow": "systolic"}),
    ("temporal_pe", {"coding": "unary", "row": 15}),
    ("temporal_array", {"rows": 4, "cols": 4}),
    ("temporal_array", {"rows": 4, "cols": 3, "coding": "select", "dataflow": "systolic"}),
    ("temporal_array", {"rows": 4, "cols": 4, "coding": "csd", "dataflow": "systolic"}),
    ("temporal_array", {"rows": 4, "cols": 3, "coding": "unary"}),
    ("fineq_core", {"rows": 4, "cols": 3}),
])
def test_temporal_blocks_have_no_multiplier(block, params):
    elab, coarse = cell_types(block, params)
    assert not MULTIPLIER_CELLS & set(elab), f"multiplier cell after proc/opt: {elab}"
    assert not MULTIPLIER_CELLS & set(coarse), f"multiplier cell after coarse synth: {coarse}"
    assert products(block, params) == [], "a $macc_v2 with a product term"
    assert "$add" in elab, "expected adders in the datapath"


@pytest.mark.parametrize("weight_bits", [4, 8])
def test_binary_pe_multiplier_is_detected(weight_bits):
    """Positive control: the same check sees the baseline's multiplier."""
    elab, coarse = cell_types("binary_pe", {"weight_bits": weight_bits, "row": 15})
    assert "$mul" in elab
    assert sorted(products("binary_pe", {"weight_bits": weight_bits, "row": 15})) == \
        [(8, weight_bits)]


def test_select_array_has_no_multiplier_but_its_binary_twin_has_16():
    """The select array (row-shared multiples + select-and-add PEs) and the binary array with
    the same dataflow: only the latter has products, one 8 x 4 per PE."""
    assert products("temporal_array", {"rows": 4, "cols": 4}) == []
    assert sorted(products("binary_array", {"rows": 4, "cols": 4})) == [(8, 4)] * 16


@pytest.mark.slow
def test_temporal_16x16_array_has_no_multiplier():
    elab, coarse = cell_types("temporal_array", {"rows": 16, "cols": 16})
    assert not MULTIPLIER_CELLS & (set(elab) | set(coarse))
    assert products("temporal_array", {"rows": 16, "cols": 16}) == []
