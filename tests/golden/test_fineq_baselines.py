"""Baselines: group-wise RTN (odd / asym grids) and coarse 2/3-bit mixed precision."""
from fractions import Fraction

import pytest
import torch

from golden.fineq import quantize_coarse_mixed, quantize_rtn


def _w(seed, n=8, k=192):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * torch.exp(0.5 * torch.randn(n, 1, generator=g))


def _sqnr(W, q):
    return 10 * torch.log10(W.pow(2).sum() / (W - q.dequantize()).pow(2).sum()).item()


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_rtn_odd_grid_values_and_size(bits):
    W = _w(bits)
    q = quantize_rtn(W, bits, group_size=96)
    s = q.scales.float().repeat_interleave(96, dim=1) / 2
    lev = q.dequantize() / s
    assert torch.equal(lev, lev.round())
    assert torch.all(lev.remainder(2) == 1) and lev.abs().max() <= 2 ** bits - 1
    assert q.avg_bits_exact == bits + Fraction(16, 96)


def test_rtn_asym_grid_values_and_size():
    W = _w(1)
    q = quantize_rtn(W, 3, group_size=96, grid="asym")
    d = q.scales.float().repeat_interleave(96, dim=1)
    z = q.zeros.float().repeat_interleave(96, dim=1)
    qv = q.dequantize() / d + z
    assert torch.allclose(qv, qv.round(), atol=1e-4)
    assert qv.round().min() >= 0 and qv.round().max() <= 7
    assert q.avg_bits_exact == 3 + Fraction(16 + 3, 96)


def test_rtn_more_bits_is_better():
    W = _w(2)
    s = [_sqnr(W, quantize_rtn(W, b)) for b in (2, 3, 4)]
    assert s[0] + 3 < s[1] and s[1] + 3 < s[2]


@pytest.mark.parametrize("grid", ["odd", ("odd", "asym")])
def test_coarse_mixed_budget_and_selection(grid):
    W = _w(3, n=10, k=288)                       # 30 groups of 96
    target = 17 / 6                              # FineQ's 2.8333 bits
    q = quantize_coarse_mixed(W, target, group_size=96, grid=grid)
    lo_grid, hi_grid = (grid, grid) if isinstance(grid, str) else grid
    q2 = quantize_rtn(W, 2, grid=lo_grid)
    q3 = quantize_rtn(W, 3, grid=hi_grid)
    cost2 = 2 * 96 + 16 + (2 if lo_grid == "asym" else 0) + 1
    cost3 = 3 * 96 + 16 + (3 if hi_grid == "asym" else 0) + 1
    n3 = int((q.bits == 3).sum())
    assert q.packed_bits == n3 * cost3 + (30 - n3) * cost2
    assert q.avg_bits <= target < (q.packed_bits + cost3 - cost2) / W.numel()   # tight
    # each group is exactly the 2-bit or the 3-bit RTN result
    v, v2, v3 = (x.reshape(10, 3, 96) for x in (q.dequantize(), q2.dequantize(), q3.dequantize()))
    is3 = (q.bits == 3)
    assert torch.equal(v[is3], v3[is3]) and torch.equal(v[~is3], v2[~is3])
    # the 3-bit groups are those with the largest error reduction
    W3 = W.reshape(10, 3, 96)
    gain = ((W3 - v2).pow(2).sum(-1) - (W3 - v3).pow(2).sum(-1))
    assert gain[is3].min() >= gain[~is3].max() - 1e-6
    assert 0.5 < q.high_fraction < 0.8


def test_baseline_bad_input():
    W = _w(0)
    with pytest.raises(ValueError, match="bits must be an integer in 1..8, got 0"):
        quantize_rtn(W, 0)
    with pytest.raises(ValueError, match="unknown grid 'nf4'"):
        quantize_rtn(W, 4, grid="nf4")
    with pytest.raises(ValueError, match="below the all-2-bit size"):
        quantize_coarse_mixed(W, 2.0)
    with pytest.raises(ValueError, match="need low < high"):
        quantize_coarse_mixed(W, 3.0, low=3, high=2)
    with pytest.raises(ValueError, match="2-D"):
        quantize_rtn(torch.ones(3), 2)
    with pytest.raises(ValueError, match="group_size"):
        quantize_rtn(W, 2, group_size=32)
