"""FGMP policy: Fisher collection, global thresholds, clipping, apply() and its activation rule,
bad input. Uses a tiny MLP (fast)."""
import math

import pytest
import torch
import torch.nn as nn

from golden.fgmp import act_quant
from golden.fgmp.blocks import BLOCK, _nvfp4_codes, nvfp4_block_scale_codes, tensor_scale
from golden.fgmp.policy import (Calibration, FGMPConfig, FGMPLinear, FGMPPlanner,
                                _nvfp4_values, act_fp4_fraction, apply, clip_scale_codes,
                                collect_fisher, global_threshold, weight_block_scores)
from golden.formats import E2M1, UE4M3, decode


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 48)
        self.head = nn.Linear(48, 10)
        with torch.no_grad():
            for m in (self.fc1, self.fc2, self.head):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.weight[0, :16] *= 8            # a few loud blocks

    def forward(self, x):
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def _batches(n=4, bs=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(bs, 32, generator=g), torch.randint(0, 10, (bs,), generator=g))
            for _ in range(n)]


def _loss(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


@pytest.fixture(scope="module")
def calib():
    return collect_fisher(TinyNet(), _loss, _batches(), act_rows=64)


def test_fisher_matches_manual(calib):
    model = TinyNet()
    batches = _batches()
    wf = {n: torch.zeros_like(m.weight) for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    for b in batches:
        model.zero_grad()
        _loss(model, b).backward()
        for n in wf:
            wf[n] += model.get_submodule(n).weight.grad ** 2
    for n in wf:
        assert torch.allclose(calib.weight_fisher[n], wf[n] / len(batches), rtol=1e-5)
    # activation Fisher of fc1's input = mean over rows of (dL/dx)²
    af = torch.zeros(32, dtype=torch.float64)
    rows = 0
    for x, y in batches:
        x = x.clone().requires_grad_(True)
        _loss(model, (x, y)).backward()
        af += (x.grad.double() ** 2).sum(0)
        rows += x.shape[0]
    assert torch.allclose(calib.act_fisher["fc1"].double(), af / rows, rtol=1e-5)
    assert calib.act_amax["fc1"] == max(float(b[0].abs().max()) for b in batches)
    assert calib.act_samples["fc2"].shape == (64, 64)
    assert all(bool((f > 0).any()) for f in calib.weight_fisher.values())


def test_global_threshold_fraction_and_ties():
    s = torch.arange(100, dtype=torch.float64)
    for p in (0.0, 0.3, 0.5, 0.7, 1.0):
        tau = global_threshold([s[:40], s[40:]], p)
        assert float((s <= tau).double().mean()) == pytest.approx(p)
    assert global_threshold(s, 0.0) == -math.inf and global_threshold(s, 1.0) == math.inf
    ties = torch.tensor([0.0] * 6 + [1.0] * 4)
    tau = global_threshold(ties, 0.3)          # ties at τ stay NVFP4: achieved 0.6 >= 0.3
    assert tau == 0.0 and float((ties <= tau).double().mean()) == 0.6


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, "x"])
def test_bad_p(p):
    with pytest.raises(ValueError, match="p"):
        global_threshold(torch.ones(4), p)
    with pytest.raises(ValueError, match="p_w"):
        apply(TinyNet(), FGMPConfig(p_w=p), None)


def test_clipping_is_the_brute_force_optimum():
    g = torch.Generator().manual_seed(2)
    w = torch.randn(8, 64, generator=g) * torch.rand(8, 1, generator=g)
    w[0, 3] = 9.0                                      # an outlier worth clipping
    F = torch.rand(8, 64, generator=g)
    S = tensor_scale(float(w.abs().max()))
    sc = clip_scale_codes(w, S, F, steps=8)
    xb = w.reshape(8, 4, 16).double()
    fb = F.reshape(8, 4, 16).double()
    c0 = nvfp4_block_scale_codes(xb.float(), S)
    for r in range(8):
        for b in range(4):
            best, best_c = None, None
            for j in range(9):
                c = int(c0[r, b]) - j
                if c < 1:
                    continue
                ct = torch.tensor(c, dtype=torch.uint8)
                deq = decode(E2M1, _nvfp4_codes(xb[r, b], S, ct)).double() \
                    * float(decode(UE4M3, ct)) * S
                e = float((fb[r, b] * (xb[r, b] - deq) ** 2).sum())
                if best is None or e < best:
                    best, best_c = e, c
            assert int(sc[r, b]) == best_c
    # the value helper used by the search equals decoding the codes
    cs = sc.reshape(8, 4)
    v = _nvfp4_values(xb, S, cs)
    ref = decode(E2M1, _nvfp4_codes(xb, S, cs)).double() * (decode(UE4M3, cs).double() * S)[..., None]
    assert torch.equal(v, ref)


def test_weight_scores_policies():
    w = torch.randn(4, 32)
    S = tensor_scale(float(w.abs().max()))
    F = torch.rand(4, 32)
    fi = weight_block_scores(w, S, "fisher", F)
    er = weight_block_scores(w, S, "error")
    assert fi.shape == er.shape == (4, 2) and bool((fi <= er * F.max()).all())
    assert torch.equal(weight_block_scores(w, S, "magnitude"), (w.double().reshape(4, 2, 16) ** 2).sum(-1))
    with pytest.raises(ValueError, match="unknown policy"):
        weight_block_scores(w, S, "nope")


@pytest.mark.parametrize("policy", ["fisher", "error", "magnitude", "random"])
@pytest.mark.parametrize("clip", [False, True])
def test_apply_replaces_layers_and_hits_p(calib, policy, clip):
    model = TinyNet()
    q = apply(model, FGMPConfig(p_w=0.7, p_a=0.6, policy=policy, clip=clip), calib)
    layers = [m for m in q.modules() if isinstance(m, FGMPLinear)]
    assert len(layers) == 3 and not any(type(m) is nn.Linear for m in q.modules())
    rep = q.fgmp_report
    assert rep["weight_fp4_fraction"] == pytest.approx(0.7, abs=0.02)
    assert rep["weight_bits"] == sum(m.wq.storage_bits for m in layers)
    x = _batches(1, 256, seed=5)[0][0]
    with torch.no_grad():
        y = q(x)
        y_ref = model(x)
    assert y.shape == (256, 10) and torch.isfinite(y).all()
    assert abs(act_fp4_fraction(q) - 0.6) < 0.2
    assert float((y - y_ref).norm() / y_ref.norm()) < 0.3


def test_activation_rule_is_the_hardware_unit(calib):
    """FGMPLinear's online activation quantization equals act_quant block by block."""
    q = apply(TinyNet(), FGMPConfig(p_w=0.5, p_a=0.5, policy="fisher"), calib)
    lin = q.fc2
    a = lin.act
    x = torch.relu(q.fc1(_batches(1, 8, seed=7)[0][0]))
    xq, meta = a.quantize(x)
    S = a.tensor_scale
    fb = a.fbar.reshape(-1, BLOCK)
    for r in range(8):
        for b in range(x.shape[1] // BLOCK):
            blk = x[r, BLOCK * b:BLOCK * (b + 1)]
            m, codes, sc = act_quant(blk, S, fb[b].tolist(), a.tau_q)
            assert m == int(meta[r, b])
            if m:
                from golden.formats import E4M3
                v = decode(E4M3, torch.tensor(codes)).double() * 6 * S
            else:
                v = decode(E2M1, torch.tensor(codes)).double() * float(decode(UE4M3, torch.tensor(sc))) * S
            assert torch.equal(xq[r, BLOCK * b:BLOCK * (b + 1)], v.float())


def test_activation_threshold_hits_p_on_calibration(calib):
    pl = FGMPPlanner(TinyNet(), calib)
    for p in (0.5, 0.8):
        cfg = FGMPConfig(p_w=p, policy="fisher")
        params, tau = pl.act_params(cfg)
        tot = fp4 = 0
        for n, prm in params.items():
            xs = calib.act_samples[n]
            _, meta = prm.quantize(xs)
            tot += meta.numel()
            fp4 += int((~meta).sum())
        assert fp4 / tot == pytest.approx(p, abs=0.01)


def test_baselines_all_fp8_all_nvfp4(calib):
    pl = FGMPPlanner(TinyNet(), calib)
    q8 = pl.apply(FGMPConfig(p_w=0.0, p_a=0.0))
    q4 = pl.apply(FGMPConfig(p_w=1.0, p_a=1.0))
    x = _batches(1, 64, seed=3)[0][0]
    q8(x), q4(x)
    assert q8.fgmp_report["weight_fp4_fraction"] == 0 and act_fp4_fraction(q8) == 0
    assert q4.fgmp_report["weight_fp4_fraction"] == 1 and act_fp4_fraction(q4) == 1
    assert q8.fgmp_report["weight_bits_per_element"] == 129 / 16
    assert q4.fgmp_report["weight_bits_per_element"] == 73 / 16


def test_bad_model_and_calibration(calib):
    with pytest.raises(ValueError, match="no nn.Linear"):
        apply(nn.Sequential(nn.ReLU()), FGMPConfig(), None)
    m = TinyNet()
    with torch.no_grad():
        m.fc2.weight[3, 7] = math.nan
    with pytest.raises(ValueError, match=r"layer 'fc2': non-finite weight nan at \(3, 7\)"):
        apply(m, FGMPConfig(), calib)
    bad = Calibration({**calib.weight_fisher, "fc1": torch.ones(3, 3)}, calib.act_fisher,
                      calib.act_amax, calib.act_samples, 1)
    with pytest.raises(ValueError, match=r"weight Fisher of layer 'fc1' has shape \(3, 3\), "
                                         r"expected \(64, 32\)"):
        apply(TinyNet(), FGMPConfig(), bad)
    bad = Calibration(calib.weight_fisher, {**calib.act_fisher, "head": torch.ones(5)},
                      calib.act_amax, calib.act_samples, 1)
    with pytest.raises(ValueError, match=r"activation Fisher of layer 'head' has shape \(5,\)"):
        apply(TinyNet(), FGMPConfig(), bad)
    with pytest.raises(ValueError, match="needs a Calibration"):
        apply(TinyNet(), FGMPConfig(policy="error"), None)
    with pytest.raises(ValueError, match="unknown policy 'best'"):
        apply(TinyNet(), FGMPConfig(policy="best"), calib)
    # weights-only quantization needs no calibration for the error policy
    q = apply(TinyNet(), FGMPConfig(policy="error", quantize_acts=False), None)
    assert q.fc1.act is None


def test_non_multiple_of_16_layers_are_padded():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(20, 8)

        def forward(self, x):
            return self.fc(x)
    m = Odd()
    cal = collect_fisher(m, lambda mod, b: mod(b).pow(2).mean(), [torch.randn(16, 20)])
    q = apply(m, FGMPConfig(p_w=0.5), cal)
    assert q.fc.wq.shape == (8, 20) and q.fc.wq.meta.shape == (8, 2)
    x = torch.randn(4, 20)
    assert q(x).shape == (4, 8)


def test_activation_statistics_from_separate_batches():
    extra = [torch.randn(16, 32) * 5 for _ in range(2)]
    cal = collect_fisher(TinyNet(), _loss, _batches(), act_rows=16, act_batches=extra,
                         act_forward=lambda m, x: m(x))
    ref = collect_fisher(TinyNet(), _loss, _batches(), act_rows=16)
    assert cal.act_amax["fc1"] == max(float(x.abs().max()) for x in extra)
    assert torch.equal(cal.weight_fisher["fc2"], ref.weight_fisher["fc2"])
    assert torch.equal(cal.act_fisher["fc1"], ref.act_fisher["fc1"])
    with pytest.raises(ValueError, match="act_forward"):
        collect_fisher(TinyNet(), _loss, _batches(1), act_batches=extra)
