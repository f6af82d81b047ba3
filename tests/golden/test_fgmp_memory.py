"""Weight-memory accounting (golden.fgmp.memory): exact storage of mixed NVFP4/FP8 matrices."""
from fractions import Fraction

import pytest
import torch

from golden.fgmp.blocks import quantize_mixed
from golden.fgmp.memory import error_scores, fp8_meta_by_error, weight_memory


def _w(seed=0, n=32, k=64):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed))


def test_points_match_the_storage_formula():
    mem = weight_memory(_w(), (0.0, 0.5, 0.75, 1.0))
    assert mem["fp8_bits_per_element"] == 8
    for p, pt in mem["points"].items():
        p = float(p)
        assert pt["fp4_fraction"] == p
        # 72 bits per NVFP4 block, 128 per FP8 block, 1 meta bit per block, 16 elements
        bpe = Fraction(round(p * 128) * 72 + round((1 - p) * 128) * 128 + 128, 128 * 16)
        assert pt["bits_per_element"] == round(float(bpe), 4), (p, pt)
        assert pt["saving_pct"] == round(100 * (1 - float(bpe) / 8), 2), (p, pt)


def test_fp8_blocks_are_those_where_nvfp4_errs_most():
    w = _w(1)
    s = error_scores(w)
    assert s.shape == (32, 4)
    meta = fp8_meta_by_error(s, 0.75)
    assert int(meta.sum()) == 32
    assert s[meta].min() >= s[~meta].max()
    t = quantize_mixed(w, meta)
    assert t.fp4_fraction == 0.75


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True])
def test_bad_fraction_is_named(p):
    with pytest.raises(ValueError, match="p must be a number in"):
        fp8_meta_by_error(torch.zeros(2, 2), p)
