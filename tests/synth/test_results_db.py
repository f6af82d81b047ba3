"""Results database (synth.results), library ranking (synth.tables), Pareto plots (synth.plots)
on hand-made rows: one row per point whatever the retries, filters and CSV export, rankings that
agree or differ, the Pareto front, the PNGs."""
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from synth import plots, results
from synth.render import library_ranking_markdown
from synth.tables import library_ranking

ROOT = Path(__file__).resolve().parents[2]


def _row(key, block, params, area, library="mpaccel45", family="fineq", energy=None, flow="f1"):
    en = {}
    for name, (zd, ud, cg, t, args) in (energy or {}).items():
        en[name] = {"status": "ok", "stimulus": "fineq_array", "args": args, "macs": 100,
                    "cycles": 10, "energy_per_mac_fj": zd, "glitch_energy_per_mac_fj": ud,
                    "gated_glitch_energy_per_mac_fj": cg, "cycles_per_vector": t, "data": "test"}
    return {"key": key, "label": key, "family": family, "block": block, "params": params,
            "status": "ok", "library": library, "seconds": 1.5, "host": "h",
            "synth": {"params": params, "area_um2": area, "nand2_eq": area / 0.8, "transistors": int(area * 10),
                      "cells": 10, "lib_cells": 9, "flip_flops": 2, "flow_id": flow, "yosys_version": "y",
                      "timing": {"fmax_mhz": 500.0, "critical_path_ns": 2.0, "logic_depth": 7}},
            "energy": en}


def test_store_once_query_and_csv(tmp_path):
    db = tmp_path / "r.sqlite"
    conn = results.open_db(db)
    r = _row("a", "temporal_array", {"rows": 4, "cols": 4}, 100.0,
             energy={"minilm": (1.0, 2.0, 1.5, 2, {})})
    assert results.store(conn, "k1", r) is True
    assert results.store(conn, "k1", r) is False              # a retried task: still one row
    results.store(conn, "k2", _row("b", "binary_array", {"rows": 4, "cols": 4, "weight_bits": 8}, 300.0))
    results.store(conn, "k3", _row("c", "vmac", {"lanes": 1}, 900.0, family="fgmp"))
    results.store(conn, "k4", _row("a", "temporal_array", {"rows": 4, "cols": 4}, 500.0, library="sky130hd"))
    assert conn.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 4
    assert conn.execute("SELECT COUNT(*) FROM energy").fetchone()[0] == 1
    assert results.lookup(conn, "k1")["synth"]["area_um2"] == 100.0
    assert [p["design"] for p in results.query(conn, family="fineq", library="mpaccel45")] == ["b", "a"]
    assert [p["point_key"] for p in results.query(conn, params={"weight_bits": 8})] == ["k2"]
    sky = results.query(conn, library="sky130hd")[0]
    assert sky["area_um2"] == 500.0 and sky["fmax_mhz"] is None      # placeholder timing kept out
    a = results.query(conn, library="mpaccel45", block="temporal_array")[0]
    assert (a["energy_unit_delay_fj_per_mac"], a["window_t"], a["workload"]) == (2.0, 2, "minilm")

    out = subprocess.run([sys.executable, "-m", "synth.results", "--db", str(db), "--family", "fineq",
                          "--all-flows", "--csv"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert sorted((r["design"], r["library"]) for r in rows) == [("a", "mpaccel45"), ("a", "sky130hd"),
                                                                 ("b", "mpaccel45")]
    out = subprocess.run([sys.executable, "-m", "synth.results", "--db", str(db), "--all-flows", "--json",
                          "--energy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout)[0]["energy_gated_fj_per_mac"] == 1.5
    out = subprocess.run([sys.executable, "-m", "synth.results", "--db", str(db), "--all-flows",
                          "--library", "sky130hd"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    head, row = out.stdout.splitlines()                   # a header and one aligned row, no reprs
    assert head.split()[:3] == ["design", "library", "status"] and "None" not in row
    assert row.split()[:3] == ["a", "sky130hd", "ok"] and len(head) >= len(row)


def test_library_ranking_same_and_different():
    rows = [_row("t4", "temporal_array", {"rows": 4}, 100.0), _row("i4", "binary_array", {"rows": 4}, 150.0),
            _row("t4", "temporal_array", {"rows": 4}, 500.0, "sky130hd"),
            _row("i4", "binary_array", {"rows": 4}, 700.0, "sky130hd"),
            _row("v", "vmac", {"lanes": 1}, 900.0, family="fgmp"),
            _row("f", "fp8_vmac", {"lanes": 1}, 800.0, family="fgmp"),
            _row("v", "vmac", {"lanes": 1}, 4000.0, "sky130hd", family="fgmp"),
            _row("f", "fp8_vmac", {"lanes": 1}, 4100.0, "sky130hd", family="fgmp")]
    lr = library_ranking(rows)
    assert lr["libraries"] == ["mpaccel45", "sky130hd"]
    fq, fg = lr["families"]["fineq"], lr["families"]["fgmp"]
    assert fq["same"] and [d["rank"]["sky130hd"] for d in fq["designs"]] == [1, 2]
    assert not fg["same"] and fg["differences"][0]["a"] in ("v", "f")
    md = library_ranking_markdown(lr)
    assert "Same ranking under mpaccel45 and sky130hd" in md and "The ranking differs" in md


def test_pareto_front():
    pts = [(1, 10), (2, 5), (3, 6), (4, 1), (2, 7)]
    assert plots.pareto_front(pts) == [(1, 10), (2, 5), (4, 1)]


def test_database_plots(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    conn = results.open_db(db)
    monkeypatch.setattr("synth.flow.flow_id", lambda: "f1")
    for n, (a, e) in {4: (100.0, 3.0), 8: (400.0, 2.5), 16: (1600.0, 2.2)}.items():
        for block, params, f in (("temporal_array", {"rows": n, "cols": n, "coding": "csd"}, 1.0),
                                 ("binary_array", {"rows": n, "cols": n, "weight_bits": 8}, 1.6)):
            results.store(conn, f"{block}{n}", _row(f"{block}{n}", block, params, a * f,
                                                   energy={"minilm": (e * f, e * f * 1.3, e * f * 1.2, 2 if f == 1 else 1, {})}))
    vm = {f"p{p}": (10 - 5 * p, 12 - 5 * p, 11 - 5 * p, None, {"p": p}) for p in (0.1, 0.5, 0.9)}
    # the same p in another block order: its own series (sorting equal p once raised TypeError)
    vm.update({f"p{p}_grouped": (9 - 5 * p, 10 - 5 * p, 9 - 5 * p, None, {"p": p, "order": "grouped"})
               for p in (0.5, 0.9)})
    results.store(conn, "vm", _row("vm", "vmac", {"lanes": 1}, 900.0, family="fgmp", energy=vm))
    results.store(conn, "f8", _row("f8", "fp8_vmac", {"lanes": 1}, 500.0, family="fgmp",
                                   energy={"all_fp8": (9.0, 10.0, 9.5, None, {"all_fp8": True})}))
    names = plots.database_plots(tmp_path / "plots", db_path=db)
    assert names == ["pareto_fineq.png", "fineq_area_cycles.png", "pareto_fgmp.png", "fgmp_energy_vs_p.png"]
    for n in names:
        assert (tmp_path / "plots" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
