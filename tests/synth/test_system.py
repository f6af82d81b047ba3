"""synth/system: the inference-energy arithmetic on hand-made inputs (exact expected numbers),
reading the gate-level inputs from report rows, the report rows and claims, and the CLI
contract of ``python -m synth.system`` (bad input: one error line, exit code 2)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from synth import system as S
from synth.render import markdown
from synth.tables import claims, system_table
from tests.cli_errors import one_error_line

ROOT = Path(__file__).resolve().parents[2]

#: 2 layers of two small linears (K multiples of 16), inputs x (K = 16) and y (K = 32)
SHAPE = S.ModelShape("toy", 2, (S.Linear("a", 32, 16, "x"), S.Linear("b", 16, 32, "y")), 4,
                     "test", "hand-made")
#: FP8 lane 1600 fJ per block pair = 100 per MAC; anchor 0.2 pJ -> 0.002 pJ per relative fJ
GL = S.GateLevel({0.0: 1700.0, 0.5: None, 0.7: 800.0, 0.9: 700.0}, 1600.0, 3200.0, 160.0)
#: weight SRAM 8 KB = 10/64 pJ per bit, activation SRAM 32 KB = 20/64, DRAM 640/64 = 10
A = S.Assumptions(anchor_pj_per_mac=0.2, dram_pj_per_64b=640.0, weight_sram="8KB",
                  act_sram="32KB", lanes=16)


def test_fp8_token_energy_by_hand():
    e = S.token_energy(SHAPE, 0.0, "fp8", GL, A)
    # per layer: datapath 2 x 32 block pairs x 1600 x 0.002 = 204.8 pJ; weights 2 x 4096 bits:
    # SRAM 8192 x 10/64 x (1 + 1/4) = 1600 pJ, DRAM 8192 x 10 / 4 = 20480 pJ; activation SRAM:
    # a reads 2 x 128 + FP32 2x32x32, b reads 1 x 256 + 2x32x16, writes 128 + 256 bits:
    # 3968 bits x 20/64 = 1240 pJ; FP8 conversion 3 blocks x 160 x 0.002 = 0.96 pJ
    assert e["pj_per_relative_fj"] == pytest.approx(0.002)
    assert e["datapath_uj"] == pytest.approx(2 * 204.8e-6)
    assert e["weight_sram_uj"] == pytest.approx(2 * 1600e-6)
    assert e["dram_uj"] == pytest.approx(2 * 20480e-6)
    assert e["act_sram_uj"] == pytest.approx(2 * 1240e-6)
    assert e["act_quant_uj"] == pytest.approx(2 * 0.96e-6)
    assert e["total_uj"] == pytest.approx(2 * 23525.76e-6)
    assert (e["macs"], e["quantized_blocks"], e["weights_bits"]) == (2048, 6, 16384)
    assert (e["act_in_reads_bits"], e["act_writes_bits"], e["fp32_out_bits"]) == (1024, 768, 6144)


def test_fgmp_token_energy_by_hand():
    e = S.token_energy(SHAPE, 0.7, "fgmp", GL, A)
    # weights: 32 blocks per layer matrix, round(0.3 x 32) = 10 FP8 -> 72x22 + 128x10 + 32 = 2896
    # bits; activations x: 1 block, 0 FP8 -> 73 bits; y: 2 blocks, 1 FP8 -> 202 bits
    assert e["weights_bits"] == 2 * 2 * 2896
    assert e["datapath_uj"] == pytest.approx(2 * 102.4e-6)
    assert e["act_quant_uj"] == pytest.approx(2 * 19.2e-6)
    assert e["weight_sram_uj"] == pytest.approx(2 * 1131.25e-6)
    assert e["dram_uj"] == pytest.approx(2 * 14480e-6)
    assert e["act_sram_uj"] == pytest.approx(2 * 1154.6875e-6)
    assert e["total_uj"] == pytest.approx(2 * 16887.5375e-6)
    rows = S.compare(SHAPE, GL, A, ps=(0.7, 0.5))
    assert rows[0]["design"] == "all-FP8" and rows[1]["p"] == 0.7
    assert rows[1]["reduction_pct"] == pytest.approx(100 * (1 - 16887.5375 / 23525.76))
    assert rows[1]["act_quant_pct_of_datapath"] == pytest.approx(18.75)
    assert rows[2]["status"].startswith("pending")            # p = 0.5 has no datapath figure


def test_p0_storage_has_the_bitmap_and_fp8_has_none():
    assert S._bits(1, 16, 0.0, "fgmp") == 129          # one FP8 block + its meta bit
    assert S._bits(1, 16, 1.0, "fgmp") == 73
    assert S._bits(3, 32, 0.0, "fp8") == 8 * 96


def test_bits_are_the_golden_storage_accounting():
    import torch

    from golden.fgmp.blocks import quantize_mixed
    from golden.fgmp.memory import error_scores, fp8_meta_by_error
    assert S.block_bits() == (73, 129, 8)
    w = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
    for p in (0.0, 0.5, 0.7, 0.9, 1.0):
        t = quantize_mixed(w, fp8_meta_by_error(error_scores(w), p))
        assert S._bits(8, 64, p, "fgmp") == t.storage_bits


def test_sensitivity_variants_move_the_right_terms():
    s = S.sensitivity(SHAPE, GL, A, 0.7)
    by = {r["variant"]: r for r in s["rows"]}
    base = S.token_energy(SHAPE, 0.0, "fp8", GL, A)
    # anchor x2 doubles only the gate-level terms of the baseline
    assert by["anchor x2"]["fp8_uj"] == pytest.approx(
        base["total_uj"] + base["datapath_uj"] + base["act_quant_uj"])
    assert by["DRAM x0.5"]["fp8_uj"] == pytest.approx(base["total_uj"] - base["dram_uj"] / 2)
    assert {"weight SRAM 32KB", "weight SRAM 1MB", "activation SRAM 8KB", "batch 1",
            "weights reused by all 4 tokens of the batch (weight-stationary)"} <= set(by)
    red = [r["reduction_pct"] for r in s["rows"]]
    assert s["range"] == (min(red), max(red))


@pytest.mark.parametrize("kw,needle", [
    ({"weight_sram": "2MB"}, "weight_sram"), ({"anchor_pj_per_mac": 0}, "anchor"),
    ({"lanes": 0}, "lanes"), ({"delay_model": "x"}, "delay_model")])
def test_bad_assumptions(kw, needle):
    with pytest.raises(S.SystemModelError, match=needle):
        S.token_energy(SHAPE, 0.7, "fgmp", GL, S.Assumptions(**kw))


def test_bad_p_and_model():
    with pytest.raises(S.SystemModelError, match="p must be"):
        S.token_energy(SHAPE, 1.5, "fgmp", GL, A)
    with pytest.raises(S.SystemModelError, match="p = 0.6"):
        S.token_energy(SHAPE, 0.6, "fgmp", GL, A)
    with pytest.raises(S.SystemModelError, match="unknown model"):
        S.model_shape("gpt-2")


def test_llama_shapes():
    m = S.LLAMA2_7B
    assert (m.layers, m.batch) == (32, 1)
    assert m.macs_per_token == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    assert {l.input for l in m.linears} == {"attn_in", "attn_out", "mlp_in", "mlp_mid"}


# ------------------------------------------------------------------------------------------------
# report rows
# ------------------------------------------------------------------------------------------------

def _energy(total, info, groups=None):
    return {"status": "ok", "energy_fj": total / 2, "glitch_energy_fj": total,
            "gated_glitch_energy_fj": total, "info": info,
            "glitch_by_group_fj": groups or {}, "by_group_fj": groups or {},
            "gated_glitch_by_group_fj": groups or {}}


def _rows():
    vm = {"mode_fp8xfp8": _energy(17000.0, {"block_pairs": 10}),
          "p0.7": _energy(8000.0, {"block_pairs": 10}),
          "p0.9": _energy(7000.0, {"block_pairs": 10})}
    return [{"key": "fgmp/vmac/1", "status": "ok", "energy": vm},
            {"key": "fgmp/fp8_vmac/1", "status": "ok",
             "energy": {"all_fp8": _energy(16000.0, {"block_pairs": 10})}},
            {"key": "fgmp/act_quant", "status": "ok",
             "energy": {"minilm": _energy(6400.0, {"blocks": 2},
                                          {"fp8_candidate": 320.0, "(top level)": 6080.0})}}]


def test_gate_level_from_rows():
    gl = S.gate_level(_rows())
    assert gl.fgmp_pair_fj == {0.0: 1700.0, 0.5: None, 0.7: 800.0, 0.9: 700.0}
    assert (gl.fp8_pair_fj, gl.act_quant_block_fj, gl.fp8_convert_block_fj) == (1600.0, 3200.0, 160.0)
    assert S.gate_level(_rows(), "zero-delay").fp8_pair_fj == 800.0
    with pytest.raises(S.SystemModelError, match="fgmp/fp8_vmac/1 all_fp8"):
        S.gate_level(_rows()[:1] + _rows()[2:])


def test_report_rows_and_claims(monkeypatch):
    monkeypatch.setitem(S.MODELS, "minilm", lambda: SHAPE)
    sy = system_table(_rows())
    assert sy["status"] == "ok"
    toy = sy["models"]["minilm"]
    assert [r["p"] for r in toy["rows"]] == [None, 0.0, 0.5, 0.7, 0.9]
    assert toy["rows"][3]["reduction_pct"] == pytest.approx(
        S.compare(SHAPE, S.gate_level(_rows()), S.Assumptions(), (0.7,))[1]["reduction_pct"])
    fgmp = {"lanes": {}, "status": {"act_quant": "ok"}, "claim_lanes": None}
    cl = {c["id"]: c for c in claims([], fgmp, sy)}
    assert cl["fgmp_infer_minilm"]["ours"] == round(toy["rows"][3]["reduction_pct"], 2)
    assert cl["fgmp_infer_minilm"]["goal"] == ">= 20.0 %"
    assert "range" in cl["fgmp_infer_minilm"]["note"]
    assert cl["fgmp_infer_llama"]["status"] in ("reached", "not reached")
    assert claims([], fgmp, {"status": "pending: x", "models": {}})[-1]["status"] == "pending"


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "synth.system", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _main(capsys, *args):
    """``main`` in this process (the same code ``python -m synth.system`` runs, faster)."""
    from synth.system.__main__ import main
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("args,needles", [
    (["--p", "1.5"], ["p must be", "1.5"]),
    (["--p", "abc"], ["p must be", "abc"]),
    (["--p", "0.6"], ["p = 0.6"]),
    (["--model", "gpt-2"], ["unknown model", "gpt-2"]),
    (["--weight-sram", "2MB"], ["weight_sram"]),
    (["--bogus"], ["unrecognized"]),
])
def test_cli_bad_input(tmp_path, capsys, args, needles):
    rep = tmp_path / "report.json"
    rep.write_text(json.dumps({"rows": _rows()}))
    one_error_line(_main(capsys, "--report", str(rep), *args), *needles)


def test_cli_entry_point_and_missing_report(tmp_path):
    one_error_line(_cli("--report", str(tmp_path / "none.json"), "--p", "0.7"), "make area")
    one_error_line(_cli("--p", "2"), "p must be")


def test_cli_json(tmp_path, capsys):
    rep = tmp_path / "report.json"
    rep.write_text(json.dumps({"rows": _rows()}))
    out = _main(capsys, "--report", str(rep), "--model", "llama2-7b", "--p", "0.7", "0.9", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    rows = res["models"]["llama2-7b"]["rows"]
    assert [r["p"] for r in rows] == [None, 0.7, 0.9]
    assert rows[1]["total_uj"] == pytest.approx(S.compare(
        S.LLAMA2_7B, S.gate_level(_rows()), S.Assumptions(), (0.7,))[1]["total_uj"])
    text = _main(capsys, "--report", str(rep), "--model", "llama2-7b")
    assert text.returncode == 0 and "Llama-2-7B" in text.stdout and "sensitivity" in text.stdout


def test_markdown_section(monkeypatch):
    monkeypatch.setitem(S.MODELS, "minilm", lambda: SHAPE)
    sy = system_table(_rows())
    rep = {"yosys_version": "x", "liberty": "l", "nand2_area_um2": 0.8, "full": False,
           "wall_seconds": 1.0, "fineq": [], "fgmp": {"status": {}, "lanes": {}},
           "claims": [], "rows": [], "breakdown": [], "system": sy,
           "ranking_consistent": True, "ranking_n": 0}
    md = markdown(rep)
    assert "## 3. Inference energy per token" in md and "| base |" in md and "Range:" in md
