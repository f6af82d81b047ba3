"""Hierarchical generation (rtl/hierarchy.py): one module per distinct unit, instantiated where it
is used, with the unit's own interface as its ports."""
from __future__ import annotations

import re

import pytest

from rtl.generate import elaborate
from rtl.hierarchy import convert
from rtl.registry import blocks, get_block


def _instances(rtlil_text: str) -> dict[str, int]:
    """Module name -> instances in the whole design (nested instances multiplied)."""
    modules = dict(re.findall(r"^module \\(\S+)\n(.*?)^end$", rtlil_text, re.M | re.S))
    children = {name: re.findall(r"^\s*cell \\(\S+) ", body, re.M) for name, body in
                modules.items()}
    tops = set(modules) - {c for cs in children.values() for c in cs}
    assert len(tops) == 1, f"expected one top module, got {sorted(tops)}"
    counts: dict[str, int] = {}

    def walk(name, times):
        for child in children[name]:
            if child in modules:
                counts[child] = counts.get(child, 0) + times
                walk(child, times)
    walk(tops.pop(), 1)
    return counts


@pytest.mark.parametrize("coding,dataflow", [("csd", "systolic"), ("select", "broadcast")])
def test_temporal_array_has_one_pe_module_per_width_instantiated_rows_x_cols_times(coding,
                                                                                   dataflow):
    gen = elaborate("temporal_array", {"rows": 8, "cols": 5, "coding": coding,
                                       "dataflow": dataflow})
    counts = _instances(gen.rtlil())
    pe = {m: n for m, n in counts.items() if "_pe_" in m}
    assert sum(pe.values()) == 8 * 5
    # rows with equal partial-sum widths share a module: fewer modules than rows
    assert 1 < len(pe) < 8
    assert counts["temporal_array__activation_feeder"] == 1
    assert counts["temporal_array__output_deskew"] == 1
    if coding == "csd":
        assert counts["temporal_array__column_accumulator_csd"] == 5
    else:   # one row head per row, no column accumulator (T = 1)
        assert counts["temporal_array__row_multiples"] == 8
        assert not any("column_accumulator" in m for m in counts)


def test_vmac_lanes_and_dot_units_are_modules():
    counts = _instances(elaborate("vmac", {"lanes": 3}).rtlil())          # datapath "shared"
    assert counts["vmac__lane_shared"] == counts["vmac__dot_shared"] == 3
    assert counts["vmac__scale_accumulate"] == counts["vmac__f32_round"] == 3
    split = _instances(elaborate("vmac", {"lanes": 2, "datapath": "split"}).rtlil())
    assert split["vmac__lane_split_hold"] == 2
    for mode in ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8"):
        assert split[f"vmac__dot_{mode}"] == 2
    fp8 = _instances(elaborate("fp8_vmac", {"lanes": 2}).rtlil())
    assert fp8 == {"fp8_vmac__fp8_lane": 2, "fp8_vmac__dot_fp8xfp8": 2,
                   "fp8_vmac__fp8_accumulate": 2, "fp8_vmac__f32_round": 2}


def test_core_nests_the_array():
    counts = _instances(elaborate("fineq_core", {"rows": 4, "cols": 3}).rtlil())
    assert counts["fineq_core__fineq_decoder_joint"] == 1
    assert counts["fineq_core__column_assembler"] == 1
    assert counts["fineq_core__temporal_systolic_array"] == 1
    assert sum(n for m, n in counts.items() if "_pe_" in m) == 12


def test_act_quant_stages_are_modules():
    counts = _instances(elaborate("act_quant").rtlil())
    for unit in ("fp8_candidate", "fp4_candidate", "candidate_difference", "square",
                 "weight_shift"):
        assert counts[f"act_quant__{unit}"] == 16
    assert counts["act_quant__block_scale"] == counts["act_quant__block_score"] == 1


SMALL = [("temporal_array", {"rows": 5, "cols": 3}), ("temporal_array",
         {"rows": 4, "cols": 2, "coding": "unary"}),
         ("temporal_array", {"rows": 4, "cols": 3, "coding": "csd", "dataflow": "systolic"}),
         ("binary_array", {"rows": 3, "cols": 4}),
         ("binary_array", {"rows": 3, "cols": 2, "dataflow": "systolic"}),
         ("fineq_core", {"rows": 4, "cols": 2}), ("vmac", {"lanes": 2}),
         pytest.param("vmac", {"lanes": 1, "datapath": "split", "isolation": "and", "acc_init": True},
                      marks=pytest.mark.slow),
         ("fp8_vmac", {"lanes": 2}), ("act_quant", {})]


@pytest.mark.parametrize("block,params", SMALL,
                         ids=["{}-{}".format(*getattr(c, "values", c)) for c in SMALL])
def test_unit_keys_give_the_same_design_as_converting_every_unit(block, params):
    """``unit_key`` lets equal units skip conversion; the result must be the design that
    converting every unit gives (a wrong key would silently reuse a different module)."""
    spec = get_block(block)
    fast = convert(spec.build(params), block, use_keys=True).rtlil()
    full = convert(spec.build(params), block, use_keys=False).rtlil()
    assert fast == full


@pytest.mark.parametrize("name", sorted(blocks()))
def test_every_block_has_its_signature_as_ports_and_unique_module_names(name):
    gen = elaborate(name)
    text = gen.rtlil()
    mods = re.findall(r"^module \\(\S+)$", text, re.M)
    assert len(mods) == len(set(mods)), "module names must be unique"
    assert all(m == name or m.startswith(f"{name}__") for m in mods), \
        f"unit modules are prefixed with the block name: {mods}"
    top = re.search(rf"^module \\{name}\n(.*?)^end$", text, re.M | re.S).group(1)
    ports = set(re.findall(r"wire width \d+ (?:input|output) \d+\s+(?:signed\s+)?\\(\S+)", top))
    comp = gen.component
    expected = {"__".join(map(str, p)) for p, _, _ in comp.signature.flatten(comp)}
    assert expected <= ports and ports - expected <= {"clk", "rst"}
