"""FineQ quantizer: per-cluster optimality at fixed Δ (brute force), tie rules, Δ search,
ratio rule, importance, padding, chunking, every type/code reachable."""
import numpy as np
import pytest
import torch

from golden.fineq import LAYOUTS, level_lut, quantize
from golden.fineq.quantizer import search_ratios

ALL_LAYOUTS = sorted(LAYOUTS)


def brute_force_errors(w, imp, s, layout):
    """FP64 error of all 256 bytes for one cluster: sum_i imp_i * (w_i - L_i * s)^2, K order."""
    lut = level_lut(layout).double()                      # [256, 3]
    w = torch.as_tensor(w, dtype=torch.float64)
    imp = torch.as_tensor(imp, dtype=torch.float64)
    terms = imp * (w - lut * s) ** 2
    return terms[:, 0] + terms[:, 1] + terms[:, 2]


def cluster_views(q):
    n = q.shape[0]
    return q.cluster_bytes.reshape(n, -1)


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_per_cluster_choice_is_optimal_for_fixed_delta(layout, weighted):
    g = torch.Generator().manual_seed(11)
    n, k, G = 6, 48, 12
    W = torch.randn(n, k, generator=g) * torch.exp(torch.randn(n, k, generator=g))
    imp = (torch.rand(k, generator=g) + 0.05) if weighted else None
    scales = (torch.rand(n, k // G, generator=g) * 1.5 + 0.1).half()
    q = quantize(W, group_size=G, layout=layout, importance=imp, scales=scales)
    assert torch.equal(q.scales, scales)
    imp64 = torch.ones(k, dtype=torch.float64) if imp is None else imp.double()
    for r in range(n):
        for c in range(k // 3):
            s = float(scales[r, (3 * c) // G]) / 2
            errs = brute_force_errors(W[r, 3 * c:3 * c + 3].double(), imp64[3 * c:3 * c + 3], s,
                                      layout)
            best = errs.min()
            chosen = int(q.cluster_bytes[r, c])
            assert errs[chosen] == best                  # exact: same formula, same order
            assert chosen == int((errs == best).nonzero()[0, 0])   # lowest byte among ties


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_tie_rules_on_exact_ties(layout):
    s = 0.5                                               # Δ = 1.0, exact in FP16
    scales = torch.tensor([[1.0]], dtype=torch.float16)
    # zero weights: level +1 (code 0); "330" prefers a victim (error 2s^2 < 3s^2), the first
    # outlier type with all codes 0 (victim w2)
    zero_byte = 0x40 if layout == "330" else 0
    q = quantize(torch.zeros(1, 3), group_size=3, layout=layout, scales=scales)
    assert int(q.cluster_bytes[0, 0]) == zero_byte
    # -0.0 is positive
    q = quantize(torch.tensor([[-0.0, -0.0, -0.0]]), group_size=3, layout=layout, scales=scales)
    assert int(q.cluster_bytes[0, 0]) == zero_byte
    # midpoint between levels 1 and 3 (|w| = 2s) goes to the smaller magnitude
    q = quantize(torch.tensor([[2 * s, -2 * s, 2 * s]]), group_size=3, layout=layout,
                 scales=scales)
    assert q.levels[0].tolist() == [1, -1, 1]
    # just above the midpoint goes up
    q = quantize(torch.tensor([[2 * s + 1e-3, 0.5, 0.5]]), group_size=3, layout=layout,
                 scales=scales)
    assert q.levels[0].tolist() == [3, 1, 1]


def test_outlier_cluster_taken_when_it_wins():
    scales = torch.tensor([[1.0]], dtype=torch.float16)     # s = 0.5
    W = torch.tensor([[3.5, 0.5, 0.5]])                       # 7s, s, s
    for layout, lv in (("321", [7, 1, 1]), ("330", [7, 1, 0]), ("joint", [5, 1, 1])):
        q = quantize(W, group_size=3, layout=layout, scales=scales)
        assert int(q.types[0, 0]) == 1, layout
        if layout != "joint":
            assert q.levels[0].tolist() == lv
    # victim w0 (type 2) and victim w1 (type 3) tie at s^2: the lower type wins
    q = quantize(torch.tensor([[0.5, -0.5, 3.5]]), group_size=3, layout="330", scales=scales)
    assert int(q.types[0, 0]) == 2 and q.levels[0].tolist() == [0, -1, 7]
    q = quantize(torch.tensor([[0.25, -0.5, 3.5]]), group_size=3, layout="330", scales=scales)
    assert int(q.types[0, 0]) == 2 and q.levels[0].tolist() == [0, -1, 7]
    q = quantize(torch.tensor([[0.5, -0.25, 3.5]]), group_size=3, layout="330", scales=scales)
    assert int(q.types[0, 0]) == 3 and q.levels[0].tolist() == [1, 0, 7]


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_every_reachable_byte_is_emitted_and_decodes(layout):
    """Construct clusters exactly on each canonical codeword (the lowest byte with its levels):
    the quantizer must return exactly that byte — so every type and every code appears in
    quantizer output and dequantizes to its level."""
    lut = level_lut(layout)
    canon = sorted({min(b for b in range(256) if torch.equal(lut[b], lut[a])) for a in range(256)})
    if layout != "321":
        assert canon == list(range(256))
    s = 0.25
    W = (lut[canon].double() * s).reshape(1, -1).float()
    G = 3 * len(canon)
    q = quantize(W, group_size=G, layout=layout,
                 scales=torch.full((1, 1), 2 * s, dtype=torch.float16))
    assert q.cluster_bytes[0].tolist() == canon
    assert torch.equal(q.dequantize(), W)
    types = {b >> 6 for b in canon}
    assert types == {0, 1, 2, 3}


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_search_picks_the_best_stage1_candidate_or_better(layout):
    g = torch.Generator().manual_seed(5)
    W = torch.randn(4, 96, generator=g) * torch.exp(0.7 * torch.randn(4, 96, generator=g))
    q = quantize(W, layout=layout)
    err = (W - q.dequantize()).double().pow(2).sum(dim=1)
    amax = W.abs().amax(dim=1)
    for ratio in search_ratios(LAYOUTS[layout].max_level):
        sc = (2 * amax.double() * ratio).to(torch.float16)[:, None]
        qc = quantize(W, layout=layout, scales=sc)
        err_c = (W - qc.dequantize()).double().pow(2).sum(dim=1)
        # the search runs in FP32, the comparison here in FP64: allow rounding-level slack
        assert torch.all(err <= err_c * (1 + 1e-5))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_requantizing_with_own_scales_is_identical(layout):
    W = torch.randn(5, 200, generator=torch.Generator().manual_seed(2))
    q = quantize(W, layout=layout, group_size=24)
    q2 = quantize(W, layout=layout, group_size=24, scales=q.scales)
    assert q2.equal(q)


def test_ratio_rule():
    g = torch.Generator().manual_seed(9)
    W = torch.randn(3, 60, generator=g) * torch.exp(torch.randn(3, 60, generator=g))
    W[0, :3] = torch.tensor([1.0, -4.0, 2.0])        # 4 > 4*1 is false: normal
    W[0, 3:6] = torch.tensor([1.0, -4.001, 2.0])     # outlier at position 1
    W[0, 6:9] = torch.tensor([0.0, 0.0, 0.0])        # normal
    W[0, 9:12] = torch.tensor([0.0, 1e-3, 1e-3])     # max > 4*0: outlier at first max (1)
    for layout in ALL_LAYOUTS:
        q = quantize(W, group_size=12, layout=layout, outlier="ratio")
        A = W.abs().reshape(3, 20, 3)
        mx, pos = A.max(dim=2)
        expect = torch.where(mx > 4 * A.min(dim=2).values, pos + 1, 0)
        assert torch.equal(q.types.long(), expect)
        assert q.types[0, :4].tolist() == [0, 2, 0, 2]


def test_ratio_rule_ignores_padding():
    W = torch.tensor([[1.0, 2.0, 3.0, 1.0]])         # last cluster = (1.0, pad, pad)
    q = quantize(W, group_size=6, layout="330", outlier="ratio")
    assert q.types[0].tolist() == [0, 0]


def test_importance_ones_equals_none_and_weights_matter():
    g = torch.Generator().manual_seed(4)
    W = torch.randn(8, 96, generator=g)
    a = quantize(W)
    b = quantize(W, importance=torch.ones(96))
    assert a.equal(b)
    imp = torch.ones(96)
    imp[:10] = 1000.0
    c = quantize(W, importance=imp)
    err = lambda q, cols: (W - q.dequantize())[:, cols].pow(2).sum()
    assert not c.equal(a)
    assert err(c, slice(0, 10)) < err(a, slice(0, 10))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_padding_is_zero_importance(layout):
    g = torch.Generator().manual_seed(8)
    W = torch.randn(3, 50, generator=g)
    q = quantize(W, group_size=24, layout=layout)           # Kp = 72
    Wp = torch.zeros(3, 72)
    Wp[:, :50] = W
    imp = torch.zeros(72)
    imp[:50] = 1.0
    qp = quantize(Wp, group_size=24, layout=layout, importance=imp)
    assert torch.equal(q.cluster_bytes, qp.cluster_bytes)
    assert torch.equal(q.scales, qp.scales)


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_chunking_does_not_change_the_result(layout):
    W = torch.randn(9, 130, generator=torch.Generator().manual_seed(1))
    ref = quantize(W, layout=layout, workers=1)
    threads = torch.get_num_threads()
    assert quantize(W, layout=layout, chunk_elems=1, workers=3).equal(ref)
    assert quantize(W, layout=layout, chunk_elems=200, workers=2).equal(ref)
    assert torch.get_num_threads() == threads            # restored
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        quantize(W, workers=0)


def test_input_types_and_special_values():
    W = np.random.default_rng(0).standard_normal((4, 30))
    q64 = quantize(torch.from_numpy(W))                      # float64 -> rounded to float32
    q32 = quantize(torch.from_numpy(W.astype(np.float32)))
    assert q64.equal(q32) and quantize(W).equal(q32)
    assert quantize(torch.from_numpy(W).half()).shape == (4, 30)
    z = quantize(torch.zeros(2, 10))
    assert torch.all(z.cluster_bytes == 0) and torch.all(z.scales == 0)
    assert torch.equal(z.dequantize(), torch.zeros(2, 10))
    big = quantize(torch.full((1, 6), 1e6))                  # Δ clamps to the FP16 max
    assert torch.isfinite(big.scales.float()).all() and float(big.scales.max()) == 65504.0


def test_quantization_error_is_reasonable():
    """SQNR sanity on Gaussian data (would catch a broken search or a wrong sign)."""
    W = torch.randn(64, 384, generator=torch.Generator().manual_seed(0))
    sq = {}
    for layout in ALL_LAYOUTS:
        D = quantize(W, layout=layout).dequantize()
        sq[layout] = 10 * torch.log10(W.pow(2).sum() / (W - D).pow(2).sum()).item()
    assert 10.5 < sq["321"] < sq["330"] < sq["joint"] < 14.5, sq


def test_joint_search_shortcut_matches_generic_enumeration(monkeypatch):
    import golden.fineq.quantizer as Q
    g = torch.Generator().manual_seed(12)
    A = (torch.randn(3, 4, 2, 32, generator=g) * 2).abs()
    s = torch.rand(4, 2, generator=g) + 0.1
    imp = torch.rand(3, 1, 2, 32, generator=g)
    for w in (None, imp):
        fast = torch.stack(Q._joint_type_errors(A, s, w))
        near, fixed, zero = Q._per_weight_errors(A, s, w, LAYOUTS["joint"], torch.float32)
        slow = torch.stack(Q._cluster_errors(near, fixed, zero, LAYOUTS["joint"]))
        torch.testing.assert_close(fast, slow, rtol=1e-6, atol=0)
    W = torch.randn(6, 300, generator=g) * torch.exp(torch.randn(6, 300, generator=g))
    q_fast = quantize(W, layout="joint")
    monkeypatch.setattr(Q, "JOINT_PATTERNS", ())          # force the generic enumeration
    assert quantize(W, layout="joint").equal(q_fast)      # fixed seed: no near-ties here
