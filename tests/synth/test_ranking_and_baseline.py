"""Cross-check of the two area measures, and the 5 % area regression guard."""
import json

import pytest

from infra.paths import build_dir
from synth import baseline as bl
from synth.designs import Design, design
from synth.flow import synthesize
from synth.tables import ranking_check

SMALL = [("e2m1_decoder", {}), ("e4m3_decoder", {}), ("e2m1_encoder", {}), ("e4m3_encoder", {}),
         ("temporal_array", {"rows": 2, "cols": 2}),
         ("binary_array", {"rows": 2, "cols": 2, "weight_bits": 4}),
         ("binary_array", {"rows": 2, "cols": 2, "weight_bits": 8})]


def _rows(configs):
    return [{"key": f"{b}{sorted(p.items())}", "status": "ok", "synth": synthesize(b, p)}
            for b, p in configs]


def test_area_ranking_same_under_transistors_and_liberty_area():
    same, n = ranking_check(_rows(SMALL))
    assert n == len(SMALL) and same


@pytest.mark.slow
def test_area_ranking_default_report():
    rep = build_dir("synth", "report.json")
    if not rep.exists():
        pytest.skip("run make area first")
    data = json.loads(rep.read_text())
    # Transistors (a DFF = 16) and liberty area (a DFF = 5.7 NAND2 = 22.7 transistor-equivalents)
    # may order two designs differently only when the one with more flip-flops is the larger in
    # µm² (e.g. the systolic select array, 18k flip-flops, against INT8xINT4 systolic).
    for pair in data["ranking_detail"]["discordant_pairs"]:
        (fa, fb), (ua, ub) = pair["flip_flops"], pair["area_um2"]
        assert (fa > fb) == (ua > ub), f"ranking differs without a flip-flop reason: {pair}"


def test_ranking_check_detects_a_difference():
    rows = [{"key": "a", "status": "ok", "synth": {"transistors": 10, "area_um2": 5.0}},
            {"key": "b", "status": "ok", "synth": {"transistors": 20, "area_um2": 4.0}}]
    assert ranking_check(rows) == (False, 2)


def test_guard_passes_against_stored_baseline():
    """The stored baseline of the installed Yosys, over the fixed guard list (synthesized,
    cached afterwards)."""
    path = bl.baseline_path()
    if not path.exists():
        pytest.skip(f"no baseline for this yosys version ({path.name})")
    fails, _ = bl.check(path)
    assert not fails, "\n".join(fails)


def test_guard_list_is_fixed_default_small_and_in_the_baseline():
    for key in bl.GUARD:
        d = design(key)                     # KeyError names a stale key
        assert d.default, f"{key} is not in the default design set"
        assert d.block not in ("vmac", "fp8_vmac", "act_quant"), f"{key}: minutes in ABC"
        assert d.params.get("rows", 4) <= 4, f"{key}: too large for CI"
    path = bl.baseline_path()
    if path.exists():
        missing = set(bl.GUARD) - set(json.loads(path.read_text())["designs"])
        assert not missing, f"guard designs missing from {path.name}: {sorted(missing)}"


def test_guard_checks_the_same_designs_whatever_the_cache(tmp_path, monkeypatch):
    """Exactly the guard list is synthesized: no design is added or dropped because its
    synthesis happens to be cached."""
    calls = []

    def fake(block, params):
        calls.append((block, params))
        return {"area_um2": 1.0, "transistors": 1, "cells": 1}

    monkeypatch.setattr(bl, "synthesize", fake)
    base = {d.key: {"block": d.block, "params": d.params, "area_um2": 1.0, "transistors": 1,
                    "cells": 1} for d in bl.designs(True)}
    p = tmp_path / "yosys-test.json"
    p.write_text(json.dumps({"designs": base}))
    fails, notes = bl.check(p)
    assert fails == []
    assert calls == [(design(k).block, design(k).params) for k in bl.GUARD]
    assert any("outside the guard list" in n for n in notes), notes
    del base["fineq/decoder"]
    p.write_text(json.dumps({"designs": base}))
    fails, _ = bl.check(p)
    assert len(fails) == 1 and "fineq/decoder: not in" in fails[0], fails


def test_guard_fails_on_growth_and_names_the_update(tmp_path):
    d = Design("formats/e2m1_decoder", "e2m1_decoder", {})
    r = synthesize(d.block, d.params)
    base = {"designs": {d.key: {"block": d.block, "params": {},
                                "area_um2": r["area_um2"] / 1.06, "transistors": r["transistors"],
                                "cells": r["cells"]}}}
    p = tmp_path / "yosys-test.json"
    p.write_text(json.dumps(base))
    fails, _ = bl.check(p, keys=[d.key])
    assert len(fails) == 1 and "area_um2 grew 6.0 %" in fails[0] and "make area-baseline" in fails[0]
    base["designs"][d.key]["area_um2"] = r["area_um2"] / 1.04     # within 5 %
    p.write_text(json.dumps(base))
    assert bl.check(p, keys=[d.key])[0] == []
