"""FineQ hardware reference: int_matmul, linear, partial-sum width."""
import numpy as np
import pytest
import torch

from golden.fineq import LAYOUTS, int_matmul, linear, partial_sum_bits, quantize, unpack


def _w(seed, n, k):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * torch.exp(torch.randn(n, k, generator=g))


def _acts(seed, t, k, lo=-128, hi=128):
    return torch.randint(lo, hi, (t, k), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.int8)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("n,k,g", [(5, 96, 96), (7, 100, 12), (3, 11, 3), (1, 400, 96)])
def test_int_matmul_equals_plain_integer_matmul(layout, n, k, g):
    q = quantize(_w(n * k, n, k), group_size=g, layout=layout)
    a = _acts(k, 6, k)
    P = int_matmul(q, a)
    kp = q.k_padded
    assert P.dtype == torch.int64 and P.shape == (6, n, kp // g)
    # reference: numpy int64, per group, from the levels of the *unpacked memory image*
    words, scales = q.pack()
    L = unpack(words, scales, (n, k), g, layout).levels.numpy().astype(np.int64)[:, :k]
    A = a.numpy().astype(np.int64)
    for gi in range(kp // g):
        cols = slice(gi * g, min(k, (gi + 1) * g))
        assert np.array_equal(P[:, :, gi].numpy(), A[:, cols] @ L[:, cols].T)
    assert torch.equal(P.sum(-1), a.long() @ q.levels.long()[:, :k].T)
    # 1-D activations
    assert torch.equal(int_matmul(q, a[2]), P[2])


def test_int_matmul_raw_levels_and_extremes():
    g = 96
    L = torch.full((2, 2 * g), 7, dtype=torch.int8)
    L[1] = -7
    a = torch.full((1, 2 * g), -128, dtype=torch.int8)
    P = int_matmul(L, a, group_size=g)
    bound = g * 128 * 7
    assert P.tolist() == [[[-bound, -bound], [bound, bound]]]
    bits = partial_sum_bits(g, 7)
    assert bits == 18 and -(2 ** (bits - 1)) <= -bound and bound < 2 ** (bits - 1)
    assert partial_sum_bits(96, 8) == 18 and partial_sum_bits(3, 1) == 10


def test_linear_float_matches_dequantized_matmul():
    q = quantize(_w(1, 9, 200), group_size=24, layout="joint")
    x = torch.randn(2, 5, 200, generator=torch.Generator().manual_seed(3))
    y = linear(q, x)
    ref = x @ q.dequantize().T
    assert y.shape == (2, 5, 9) and y.dtype == torch.float32
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    y64 = linear(q, x.double())
    torch.testing.assert_close(y64, x.double() @ q.dequantize().double().T, rtol=1e-12, atol=1e-12)


def test_linear_int8_with_per_token_scale_is_exact():
    q = quantize(_w(2, 6, 150), group_size=12, layout="330")
    a = _acts(5, 4, 150)
    sc = torch.tensor([0.5, 0.01, 3.0, 1e-3])
    y = linear(q, a, act_scale=sc)
    # every product and partial sum is exact in FP64, so only the final casts round
    ref = ((a.double() @ q.dequantize().double().T) * sc.double()[:, None]).float()
    assert torch.equal(y, ref)
    assert torch.equal(linear(q, a, act_scale=2.0), ((a.double() @ q.dequantize().double().T)
                                                     * 2.0).float())


def test_hw_bad_input():
    q = quantize(_w(0, 2, 30), group_size=6)
    with pytest.raises(ValueError, match="integer dtype"):
        int_matmul(q, torch.zeros(1, 30))
    with pytest.raises(ValueError, match=r"INT8 in \[-128, 127\].*200"):
        int_matmul(q, torch.full((1, 30), 200, dtype=torch.int16))
    with pytest.raises(ValueError, match="K = 29, expected 30"):
        int_matmul(q, torch.zeros(1, 29, dtype=torch.int8))
    with pytest.raises(ValueError, match="group_size 12 differs"):
        int_matmul(q, torch.zeros(1, 30, dtype=torch.int8), group_size=12)
    with pytest.raises(ValueError, match="levels must be"):
        int_matmul(torch.zeros(2, 30), torch.zeros(1, 30, dtype=torch.int8))
    with pytest.raises(ValueError, match="act_scale"):
        linear(q, torch.zeros(1, 30, dtype=torch.int8))
    with pytest.raises(ValueError, match="K = 31, expected 30"):
        linear(q, torch.zeros(1, 31))
    with pytest.raises(ValueError, match="does not broadcast"):
        linear(q, torch.zeros(3, 30, dtype=torch.int8), act_scale=torch.ones(2))
