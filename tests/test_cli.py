"""Command-line contracts: rtl.generate, synth.area, verif.lint (exit code 2 on bad input)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rtl.registry import blocks

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd)


def test_generate_list_prints_every_block():
    out = run("-m", "rtl.generate", "--list")
    assert out.returncode == 0
    assert out.stdout.split() == list(blocks())
    assert {"e4m3_encoder", "e2m1_encoder", "e4m3_decoder", "e2m1_decoder"} <= set(out.stdout.split())


def test_generate_writes_verilog_and_metadata(tmp_path):
    out = run("-m", "rtl.generate", "e4m3_encoder", "--param", "scale_width=6",
              "--param", "scale_exp=-2", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    v = (tmp_path / "e4m3_encoder.v").read_text()
    assert "module e4m3_encoder(" in v and "endmodule" in v
    meta = json.loads((tmp_path / "e4m3_encoder.json").read_text())
    assert meta["block"] == "e4m3_encoder"
    assert meta["params"] == {"scale_exp": -2, "scale_width": 6}
    assert meta["latency"] == 0
    ports = {p["name"]: (p["direction"], p["width"]) for p in meta["ports"]}
    assert ports == {"i": ("input", 32), "scale": ("input", 6), "o": ("output", 8)}


def test_generate_is_deterministic(tmp_path):
    for d in ("a", "b"):
        assert run("-m", "rtl.generate", "e2m1_encoder", "-o", str(tmp_path / d)).returncode == 0
    assert (tmp_path / "a/e2m1_encoder.v").read_text() == (tmp_path / "b/e2m1_encoder.v").read_text()


@pytest.mark.parametrize("args,needle", [
    (["no_such_block"], "unknown block 'no_such_block'"),
    (["e4m3_encoder", "--param", "nope=1"], "no parameter 'nope'"),
    (["e4m3_encoder", "--param", "scale_width=abc"], "scale_width='abc'"),
    (["e4m3_encoder", "--param", "scale_width=40"], "scale_width must be an int in 0..10, got 40"),
    (["e4m3_encoder", "--param", "scale_width"], "NAME=VALUE"),
    (["temporal_array", "--param", "dataflow=tree"],
     "dataflow must be one of ['broadcast', 'systolic'], got 'tree'"),
    (["binary_array", "--param", "dataflow=output"], "dataflow must be one of"),
    (["fineq_core", "--param", "coding=booth"], "coding must be one of ['select', 'csd', 'unary']"),
])
def test_generate_bad_input_exit_2_one_line(args, needle, tmp_path):
    out = run("-m", "rtl.generate", *args, "-o", str(tmp_path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


def test_area_json_contract():
    out = run("-m", "synth.area", "e2m1_decoder", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert {"block", "params", "cells", "transistors", "yosys_version"} <= set(res)
    assert res["block"] == "e2m1_decoder" and res["params"] == {}
    assert isinstance(res["transistors"], int) and res["transistors"] > 0
    assert res["cells"] == sum(res["cells_by_type"].values())


@pytest.mark.parametrize("args,needle", [
    (["nope", "--json"], "unknown block 'nope'"),
    (["e4m3_encoder", "--param", "scale_exp=999", "--json"], "exceeds"),
    (["temporal_array", "--param", "coding=booth"], "coding must be one of"),
])
def test_area_bad_input_exit_2(args, needle):
    out = run("-m", "synth.area", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


def test_lint_waivers_keep_real_faults_fatal(tmp_path):
    """The waiver file must not hide latches or combinational loops."""
    import os
    from verif.runner import LINT_CONFIG, verilator_bin_dir
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input [3:0] a, input b, output reg y, output z);\n"
                   "always @* if (b) y = a[0];\nassign z = ~z;\nendmodule\n")
    env = dict(os.environ, PATH=f"{verilator_bin_dir()}:{os.environ['PATH']}")
    out = subprocess.run(["verilator", "--lint-only", "-Wall", str(LINT_CONFIG), str(bad)],
                         capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "LATCH" in out.stderr and "UNOPTFLAT" in out.stderr


@pytest.mark.slow   # `make lint`; every Verilator build of the regressions lints with the same waivers
def test_lint_every_block_clean(tmp_path):
    out = run("-m", "verif.lint", "--out", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(blocks())}/{len(blocks())} blocks lint-clean" in out.stdout
