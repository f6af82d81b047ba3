"""FGMP offline policy and fake-quant model transform (SPEC §4 "Policy", docs/fgmp.md §5).

* ``collect_fisher``: diagonal empirical Fisher (mean over calibration batches of squared
  gradients of the loss) per element of every ``nn.Linear`` weight and per input channel of its
  input activation (tensor hooks), plus per-layer activation amax and a row sample of the
  calibration activations (for the activation threshold).
* Block scores I = Σ F_i (Q4(x_i) − Q8(x_i))²; one global threshold τ_w over all weight blocks
  and one τ_a over all activation blocks, the quantile for a target NVFP4 fraction p; a block is
  FP8 iff I > τ.
* Sensitivity-weighted clipping of NVFP4 weight blocks: search UE4M3 scale codes c0, c0−1, …,
  c0−8 (c0 = amax-based code, c0−8 ≈ ½×) minimising Σ F_i (x_i − deq_i)².
* ``apply(model, config, calib)``: returns a copy of ``model`` whose ``nn.Linear`` layers are
  ``FGMPLinear``: weights dequantized from their FGMP encoding, input activations quantized on
  the fly by the same rule as the hardware unit (``hw.act_quant_blocks``).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden.formats import E2M1, E4M3, UE4M3, check_int, decode
from golden.fgmp.blocks import (BLOCK, FP8_BLOCK_SCALE, FP8_SCALE_CODE, FGMPTensor,
                                _fp8_codes, _nvfp4_codes, nvfp4_block_scale_codes,
                                pow2_tensor_scale, quantize_mixed, tensor_scale)
from golden.fgmp.hw import (SCORE_FRAC_BITS, TAU_FORCE_FP8, TAU_FORCE_NVFP4, _act_candidates,
                            _round_grid_, act_values_fast, fbar_from_fisher)

__all__ = [
    "POLICIES", "Calibration", "FGMPConfig", "FGMPLinear", "ActQuantParams", "FGMPPlanner",
    "linear_layers", "collect_fisher", "global_threshold", "weight_block_scores",
    "clip_scale_codes", "apply", "tau_fixed_for_layer",
]

POLICIES = ("fisher", "error", "magnitude", "random")


# ---------------------------------------------------------------------------------------------
# Calibration / Fisher

def linear_layers(model: nn.Module) -> dict[str, nn.Linear]:
    if not isinstance(model, nn.Module):
        raise ValueError(f"expected a torch.nn.Module, got {type(model).__name__}")
    layers = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not layers:
        raise ValueError(f"model {type(model).__name__} has no nn.Linear layers to quantize")
    return layers


@dataclass
class Calibration:
    weight_fisher: dict[str, torch.Tensor]      # name -> [out, in] mean squared gradient
    act_fisher: dict[str, torch.Tensor]         # name -> [in] mean squared gradient per channel
    act_amax: dict[str, float]                  # name -> max |x| of the layer input
    act_samples: dict[str, torch.Tensor]        # name -> [R, in] sampled input rows (FP32)
    n_batches: int
    seconds: float = 0.0


def collect_fisher(model: nn.Module, loss_fn: Callable[[nn.Module, object], torch.Tensor],
                   batches: Iterable, *, act_rows: int = 512, seed: int = 0,
                   act_batches: Iterable | None = None,
                   act_forward: Callable[[nn.Module, object], object] | None = None
                   ) -> Calibration:
    """Diagonal empirical Fisher over ``batches`` (``loss_fn(model, batch) -> scalar``).

    Weight Fisher: mean over batches of grad(W)². Activation Fisher: mean over batches and over
    input rows (all positions of all calls) of grad(x)² per channel. The model is run in eval
    mode (no dropout) with every parameter requiring grad; both are restored afterwards.
    act_rows: rows of each layer's calibration input kept (uniform sample) for the activation
    threshold. Non-finite activations are ignored for amax. With ``act_batches`` (and
    ``act_forward(model, batch)``), the activation amax and row samples come from forward-only
    passes over those batches instead of the loss passes (e.g. whole texts rather than the
    loss's views), so the activation thresholds see the deployment input distribution."""
    t0 = time.perf_counter()
    layers = linear_layers(model)
    was_training = model.training
    req = {n: p.requires_grad for n, p in model.named_parameters()}
    gen = torch.Generator().manual_seed(seed)
    wf = {n: torch.zeros_like(m.weight, dtype=torch.float32) for n, m in layers.items()}
    af = {n: torch.zeros(m.in_features, dtype=torch.float64) for n, m in layers.items()}
    arows = {n: 0 for n in layers}
    amax = {n: 0.0 for n in layers}
    samples: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    hooks = []

    def pre_hook(mod, args):
        x = args[0]
        if torch.is_tensor(x) and x.is_floating_point() and not x.requires_grad:
            # e.g. the model input: make it a leaf that records its gradient (nothing upstream)
            return (x.detach().requires_grad_(True), *args[1:])
        return None

    stats_on = [act_batches is None]

    def fwd_hook(name):
        def hook(mod, args, out):
            x = args[0]
            if not stats_on[0]:
                if x.requires_grad:
                    x.register_hook(grad_hook(name))
                return
            xd = x.detach().reshape(-1, x.shape[-1]).to(torch.float32)
            fin = torch.isfinite(xd)
            if bool(fin.any()):
                amax[name] = max(amax[name], float(xd[fin].abs().max()))
            samples[name].append(xd[torch.randperm(xd.shape[0], generator=gen)[:act_rows]])
            if x.requires_grad:
                x.register_hook(grad_hook(name))
        return hook

    def grad_hook(name):
        def ghook(g):
            g2 = g.detach().reshape(-1, g.shape[-1]).to(torch.float64)
            af[name] += (g2 * g2).sum(0)
            arows[name] += g2.shape[0]
        return ghook

    n_batches = 0
    try:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(True)
        for n, m in layers.items():
            hooks.append(m.register_forward_pre_hook(pre_hook))
            hooks.append(m.register_forward_hook(fwd_hook(n)))
        for batch in batches:
            model.zero_grad(set_to_none=True)
            loss = loss_fn(model, batch)
            if not torch.is_tensor(loss) or loss.dim() != 0:
                raise ValueError("loss_fn must return a scalar tensor")
            loss.backward()
            for n, m in layers.items():
                if m.weight.grad is not None:
                    wf[n] += m.weight.grad.detach().float() ** 2
            n_batches += 1
        if act_batches is not None:
            if act_forward is None:
                raise ValueError("act_batches needs act_forward(model, batch)")
            stats_on[0] = True
            with torch.no_grad():
                for batch in act_batches:
                    act_forward(model, batch)
    finally:
        for h in hooks:
            h.remove()
        model.zero_grad(set_to_none=True)
        for n, p in model.named_parameters():
            p.requires_grad_(req[n])
        model.train(was_training)
    if n_batches == 0:
        raise ValueError("collect_fisher: no calibration batches")
    for n in layers:
        wf[n] /= n_batches
        af[n] = (af[n] / max(arows[n], 1)).to(torch.float32)
    samp = {}
    for n in layers:
        s = torch.cat(samples[n]) if samples[n] else torch.zeros(0, layers[n].in_features)
        samp[n] = s[torch.randperm(s.shape[0], generator=gen)[:act_rows]]
    return Calibration(wf, af, amax, samp, n_batches, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# Thresholds

def _check_p(p, what="p") -> float:
    try:
        pf = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in [0, 1], got {p!r}") from None
    if not 0.0 <= pf <= 1.0:                 # also rejects NaN
        raise ValueError(f"{what} must lie in [0, 1], got {p!r}")
    return pf


def global_threshold(scores, p: float) -> float:
    """τ for a target NVFP4 fraction p over the pooled ``scores`` (tensor or list of tensors).

    k = floor(p·n + ½) blocks are meant to be NVFP4: τ = the k-th smallest score, so blocks with
    I ≤ τ (ties included) are NVFP4 and blocks with I > τ are FP8; the achieved NVFP4 fraction is
    ≥ p and equals k/n unless scores tie at τ. k = 0 gives τ = −inf (all FP8), k = n gives
    τ = +inf (all NVFP4, also for blocks not seen in calibration)."""
    p = _check_p(p)
    if isinstance(scores, torch.Tensor):
        scores = [scores]
    s = torch.cat([t.reshape(-1).to(torch.float64) for t in scores])
    n = s.numel()
    if n == 0:
        raise ValueError("global_threshold: no scores")
    if bool(torch.isnan(s).any()):
        raise ValueError("global_threshold: NaN score")
    k = math.floor(p * n + 0.5)
    if k <= 0:
        return -math.inf
    if k >= n:
        return math.inf
    return float(torch.kthvalue(s, k).values)


def tau_fixed_for_layer(tau_real: float, tensor_scale: float, alpha: float) -> int:
    """Hardware threshold tau_q of one layer for the global τ_a (real units):
    I_real = I_int·2**-29·S²/α, so I_real > τ_a  ⟺  I_int > floor(τ_a·α/S²·2**29)."""
    if math.isnan(tau_real):
        raise ValueError("tau must not be NaN")
    if tau_real == math.inf:
        return TAU_FORCE_NVFP4
    if tau_real < 0:
        return TAU_FORCE_FP8
    q = math.floor(Fraction(tau_real) * Fraction(alpha) / Fraction(tensor_scale) ** 2
                   * (1 << SCORE_FRAC_BITS))
    return min(q, TAU_FORCE_NVFP4)


# ---------------------------------------------------------------------------------------------
# Weight candidates, clipping, scores

def _blocks64(w: torch.Tensor) -> torch.Tensor:
    k = w.shape[-1]
    if k % BLOCK:
        w = F.pad(w, (0, BLOCK - k % BLOCK))
    return w.reshape(*w.shape[:-1], -1, BLOCK).to(torch.float64)


def _nvfp4_values(xb: torch.Tensor, S: float, sc: torch.Tensor) -> torch.Tensor:
    """Dequantized NVFP4 values e2m1(q)·s_b·S (float64, exact) for blocks xb[..., 16] (float64)
    with UE4M3 scale codes sc; equals decoding ``_nvfp4_codes`` (tests check)."""
    sbS = (decode(UE4M3, sc).to(torch.float64) * S).unsqueeze(-1)
    t = xb / torch.where(sbS > 0, sbS, torch.ones_like(sbS))
    return _round_grid_(t, 1, 0, 6.0).mul_(sbS)


def _fp8_values(xb: torch.Tensor, S: float) -> torch.Tensor:
    return _round_grid_(xb / (FP8_BLOCK_SCALE * S), 3, -6, 448.0).mul_(FP8_BLOCK_SCALE * S)


def clip_scale_codes(w: torch.Tensor, S: float, weight: torch.Tensor | None,
                     steps: int = 8) -> torch.Tensor:
    """Sensitivity-weighted clipping: per NVFP4 block choose the UE4M3 scale code among
    c0, c0−1, …, c0−steps (codes >= 1; c0 = UE4M3(amax_b/(6S))) minimising Σ F_i (x_i − deq_i)²
    (``weight`` = F, None = unweighted). Ties keep the larger scale (smaller j). Blocks with
    c0 = 0 keep 0. Returns codes [..., nb] uint8."""
    xb = _blocks64(w.float())
    fw = None if weight is None else _blocks64(weight.float())
    c0 = nvfp4_block_scale_codes(xb.float(), S).to(torch.int64)
    errs, cands = [], []
    for j in range(steps + 1):
        c = torch.where(c0 - j >= 1, c0 - j, c0)
        e = (xb - _nvfp4_values(xb, S, c.to(torch.uint8))) ** 2
        errs.append((e * fw if fw is not None else e).sum(-1))
        cands.append(c)
    best = torch.stack(errs).argmin(0)          # first minimum: the largest scale wins ties
    return torch.gather(torch.stack(cands), 0, best.unsqueeze(0))[0].to(torch.uint8)


def weight_block_scores(w, S, policy, fisher=None, scale_codes=None, generator=None):
    """Block scores [..., nb] (float64) for one weight tensor under ``policy``."""
    xb = _blocks64(w.float())
    if policy in ("fisher", "error"):
        sc = nvfp4_block_scale_codes(xb.float(), S) if scale_codes is None else scale_codes
        e = (_nvfp4_values(xb, S, sc) - _fp8_values(xb, S)) ** 2
        if policy == "fisher":
            if fisher is None:
                raise ValueError("policy 'fisher' needs the weight Fisher")
            e = e * _blocks64(fisher.float())
        return e.sum(-1)
    if policy == "magnitude":
        return (xb ** 2).sum(-1)
    if policy == "random":
        return torch.rand(xb.shape[:-1], generator=generator, dtype=torch.float64)
    raise ValueError(f"unknown policy {policy!r}; expected one of {POLICIES}")


# ---------------------------------------------------------------------------------------------
# Fake-quant layer

@dataclass
class ActQuantParams:
    """Online activation quantization of one layer's input.

    mode 'hw' (fisher / error policies, and the all-FP8 / all-NVFP4 baselines): the hardware
    rule, FP8 iff NaN or I_int > tau_q with per-channel F̄ codes ``fbar`` (UE4M3, length K
    padded to 16). mode 'magnitude': FP8 iff Σ x² > tau_real (software rule). mode 'random':
    each block FP8 with probability 1 − p (software rule)."""
    mode: str
    tensor_scale: float
    fbar: torch.Tensor | None = None
    alpha: float = 1.0
    tau_q: int = TAU_FORCE_FP8
    tau_real: float = -math.inf
    p: float = 0.0
    seed: int = 0
    _gen: torch.Generator | None = field(default=None, repr=False)
    _last: tuple | None = field(default=None, repr=False)

    def quantize(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x[..., K] -> (fake-quantized x (FP32, RNE of the exact dequantized value), meta).

        Layers that read the same input tensor with equal parameters (e.g. the Q, K, V
        projections) share one ActQuantParams; the result for the last input tensor object is
        reused, as the hardware quantizes that activation once."""
        if self._last is not None and self._last[0] is x and self._last[1] == x._version \
                and self.mode != "random":
            return self._last[2], self._last[3]
        out, meta = self._quantize(x)
        self._last = (x, x._version, out, meta)
        return out, meta

    def _quantize(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = x.shape[-1]
        xr = x.detach().reshape(-1, k).to(torch.float32)
        if k % BLOCK:
            xr = F.pad(xr, (0, BLOCK - k % BLOCK))
        xb = xr.reshape(xr.shape[0], -1, BLOCK)
        S = self.tensor_scale
        fbar = self.fbar.reshape(-1, BLOCK) if self.fbar is not None else \
            torch.zeros(xb.shape[1], BLOCK, dtype=torch.uint8)
        if bool(torch.isnan(xb).any()):
            c = _act_candidates(xb, S, fbar)
        else:
            v4, v8, score = act_values_fast(xb, S, fbar)
            c = {"v4": v4, "v8": v8, "score": score,
                 "nan": torch.zeros(xb.shape[:-1], dtype=torch.bool)}
        if self.mode == "hw":
            meta = c["nan"] | (c["score"] > self.tau_q)
        elif self.mode == "magnitude":
            xz = torch.where(torch.isnan(xb), torch.zeros_like(xb), xb).to(torch.float64)
            meta = c["nan"] | ((xz * xz).sum(-1) > self.tau_real)
        elif self.mode == "random":
            if self._gen is None:
                self._gen = torch.Generator().manual_seed(self.seed)
            meta = c["nan"] | (torch.rand(xb.shape[:-1], generator=self._gen) >= self.p)
        else:
            raise ValueError(f"unknown activation mode {self.mode!r}")
        v = torch.where(meta.unsqueeze(-1), c["v8"], c["v4"]) * S
        if bool(c["nan"].any()):
            v = torch.where(torch.isnan(xb), torch.full_like(v, math.nan), v)
        out = v.reshape(xr.shape)[:, :k].to(torch.float32).reshape(x.shape)
        return out, meta


class FGMPLinear(nn.Module):
    """nn.Linear replacement: y = fq_act(x) @ deq(W)ᵀ + b (fake quantization, FP32 matmul)."""

    def __init__(self, linear: nn.Linear, wq: FGMPTensor | None, act: ActQuantParams | None):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        w = wq.dequantize(torch.float32) if wq is not None else linear.weight.detach().clone()
        self.register_buffer("weight", w.to(linear.weight.dtype))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(),
                                                                  requires_grad=False)
        self.wq = wq
        self.act = act
        self.act_blocks = 0
        self.act_fp8_blocks = 0

    def forward(self, x):
        if self.act is not None:
            x, meta = self.act.quantize(x)
            self.act_blocks += meta.numel()
            self.act_fp8_blocks += int(meta.sum())
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        wf = f"{self.wq.fp4_fraction:.3f}" if self.wq is not None else "fp32"
        return f"in={self.in_features}, out={self.out_features}, weight_fp4={wf}, " \
               f"act={self.act.mode if self.act else 'fp32'}"


# ---------------------------------------------------------------------------------------------
# Config and planner

@dataclass
class FGMPConfig:
    p_w: float = 0.7                 # target NVFP4 fraction of weight blocks
    p_a: float | None = None         # of activation blocks (None: same as p_w)
    policy: str = "fisher"           # fisher | error | magnitude | random
    clip: bool = False               # sensitivity-weighted clipping of NVFP4 weight blocks
    clip_weighting: str = "fisher"   # 'fisher' (F_i) or 'uniform' (plain MSE) in the clip search
    clip_steps: int = 8
    quantize_weights: bool = True
    quantize_acts: bool = True
    act_pow2_scale: bool = True      # activation tensor scale rounded up to a power of two
    seed: int = 0

    def validate(self):
        _check_p(self.p_w, "p_w")
        if self.p_a is not None:
            _check_p(self.p_a, "p_a")
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; expected one of {POLICIES}")
        if self.clip_weighting not in ("fisher", "uniform"):
            raise ValueError(f"clip_weighting must be 'fisher' or 'uniform', "
                             f"got {self.clip_weighting!r}")
        check_int("clip_steps", self.clip_steps, 0, 126)
        check_int("seed", self.seed, 0, (1 << 32) - 1)
        for name in ("clip", "quantize_weights", "quantize_acts", "act_pow2_scale"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        return self

    def __post_init__(self):
        self.validate()                  # a bad field fails here, naming it, not in apply()

    @property
    def pa(self) -> float:
        return self.p_w if self.p_a is None else self.p_a


class FGMPPlanner:
    """Caches per-layer work (tensor scales, clip searches, scores) so that many configurations
    can be applied to one model cheaply. ``apply(model, config, calib)`` is the one-shot form."""

    def __init__(self, model: nn.Module, calib: Calibration | None = None):
        self.model = model
        self.layers = linear_layers(model)
        self.calib = calib
        self._w: dict[str, torch.Tensor] = {}
        self._sw: dict[str, float] = {}
        for n, m in self.layers.items():
            w = m.weight.detach().float()
            bad = ~torch.isfinite(w)
            if bool(bad.any()):
                idx = tuple(int(i) for i in bad.nonzero()[0])
                raise ValueError(f"layer {n!r}: non-finite weight {w[idx].item()!r} at {idx}")
            self._w[n] = w
            self._sw[n] = tensor_scale(float(w.abs().max()))
        if calib is not None:
            self._check_calib(calib)
        self._clip_cache: dict = {}
        self._wscore_cache: dict = {}
        self._act_cache: dict = {}

    def _check_calib(self, c: Calibration):
        for n, m in self.layers.items():
            for what, d, shape in (("weight Fisher", c.weight_fisher, tuple(m.weight.shape)),
                                   ("activation Fisher", c.act_fisher, (m.in_features,))):
                if n not in d:
                    raise ValueError(f"calibration has no {what} for layer {n!r}")
                got = tuple(d[n].shape)
                if got != shape:
                    raise ValueError(f"{what} of layer {n!r} has shape {got}, expected {shape}")
                t = d[n]
                if not bool(torch.isfinite(t).all()) or bool((t < 0).any()):
                    raise ValueError(f"{what} of layer {n!r} must be finite and >= 0")
            if n not in c.act_amax or n not in c.act_samples:
                raise ValueError(f"calibration has no activation statistics for layer {n!r}")
            if c.act_samples[n].shape[-1] != m.in_features:
                raise ValueError(f"activation samples of layer {n!r} have "
                                 f"{c.act_samples[n].shape[-1]} channels, expected "
                                 f"{m.in_features}")

    def _need_calib(self, why: str) -> Calibration:
        if self.calib is None:
            raise ValueError(f"{why} needs a Calibration (collect_fisher)")
        return self.calib

    # -- weights ------------------------------------------------------------------------------
    def _scale_codes(self, n, cfg: FGMPConfig):
        if not cfg.clip:
            return None
        key = (n, cfg.clip_weighting, cfg.clip_steps)
        if key not in self._clip_cache:
            fw = None
            if cfg.clip_weighting == "fisher":
                fw = self._need_calib("Fisher-weighted clipping").weight_fisher[n]
            self._clip_cache[key] = clip_scale_codes(self._w[n], self._sw[n], fw, cfg.clip_steps)
        return self._clip_cache[key]

    def _wscores(self, cfg: FGMPConfig) -> dict[str, torch.Tensor]:
        key = (cfg.policy, cfg.clip, cfg.clip_weighting, cfg.clip_steps, cfg.seed)
        if key not in self._wscore_cache:
            gen = torch.Generator().manual_seed(cfg.seed)
            out = {}
            for n in self.layers:
                fisher = self._need_calib("policy 'fisher'").weight_fisher[n] \
                    if cfg.policy == "fisher" else None
                out[n] = weight_block_scores(self._w[n], self._sw[n], cfg.policy, fisher,
                                             self._scale_codes(n, cfg), gen)
            self._wscore_cache[key] = out
        return self._wscore_cache[key]

    def quantize_weights(self, cfg: FGMPConfig):
        scores = self._wscores(cfg)
        tau = global_threshold(list(scores.values()), cfg.p_w)
        out = {}
        for n in self.layers:
            meta = scores[n] > tau
            out[n] = quantize_mixed(self._w[n], meta, self._sw[n],
                                    scale_codes=self._scale_codes(n, cfg), pad=True,
                                    _what=f"layer {n!r}")
        return out, tau

    # -- activations --------------------------------------------------------------------------
    def _act_layer(self, n, cfg: FGMPConfig):
        """(S, fbar codes, alpha, calibration scores in real units) for one layer + mode."""
        c = self._need_calib("activation quantization")
        mode = cfg.policy
        key = (n, mode, cfg.act_pow2_scale)
        if key in self._act_cache:
            return self._act_cache[key]
        amax = c.act_amax[n]
        S = pow2_tensor_scale(amax) if cfg.act_pow2_scale else tensor_scale(amax)
        k = self.layers[n].in_features
        kp = -(-k // BLOCK) * BLOCK
        if mode == "fisher":
            fb, alpha = fbar_from_fisher(c.act_fisher[n])
        else:
            fb, alpha = fbar_from_fisher(torch.ones(k))
        fbar = torch.zeros(kp, dtype=torch.uint8)
        fbar[:k] = fb
        xs = c.act_samples[n].float()
        xs = F.pad(xs, (0, kp - k)).reshape(xs.shape[0], -1, BLOCK)
        if mode in ("fisher", "error"):
            cand = _act_candidates(xs, S, fbar.reshape(-1, BLOCK))
            sc = cand["score"].to(torch.float64) * (math.ldexp(S * S, -SCORE_FRAC_BITS) / alpha)
            sc = torch.where(cand["nan"], torch.full_like(sc, math.inf), sc)
        elif mode == "magnitude":
            xz = torch.nan_to_num(xs.to(torch.float64), nan=0.0)
            sc = (xz * xz).sum(-1)
        else:
            sc = None
        self._act_cache[key] = (S, fbar, alpha, sc)
        return self._act_cache[key]

    def act_params(self, cfg: FGMPConfig):
        layers = {n: self._act_layer(n, cfg) for n in self.layers}
        pa = cfg.pa
        out, tau = {}, None
        if cfg.policy in ("fisher", "error", "magnitude"):
            pooled = [v[3] for v in layers.values() if v[3] is not None and v[3].numel()]
            if pa in (0.0, 1.0) or not pooled:
                tau = -math.inf if pa == 0.0 else math.inf
            else:
                tau = global_threshold(pooled, pa)
        shared: dict = {}
        for i, (n, (S, fbar, alpha, _)) in enumerate(layers.items()):
            if cfg.policy in ("fisher", "error"):
                tq = tau_fixed_for_layer(tau, S, alpha)
                key = ("hw", S, fbar.numpy().tobytes(), tq)
                out[n] = shared.setdefault(key, ActQuantParams("hw", S, fbar, alpha, tq, tau))
            elif cfg.policy == "magnitude":
                key = ("magnitude", S, fbar.numpy().tobytes(), tau)
                out[n] = shared.setdefault(key, ActQuantParams("magnitude", S, fbar, alpha,
                                                               tau_real=tau))
            else:
                out[n] = ActQuantParams("random", S, fbar, alpha, p=pa, seed=cfg.seed * 1000 + i)
        return out, tau

    # -- model --------------------------------------------------------------------------------
    def apply(self, cfg: FGMPConfig, *, copy_model: bool = True) -> nn.Module:
        """Quantized copy of the model. copy_model=False reuses one working copy across calls
        (faster for sweeps; the previously returned model is then modified)."""
        cfg.validate()
        t0 = time.perf_counter()
        wq, tau_w = self.quantize_weights(cfg) if cfg.quantize_weights else ({}, None)
        aq, tau_a = self.act_params(cfg) if cfg.quantize_acts else ({}, None)
        if copy_model or getattr(self, "_work", None) is None:
            model = copy.deepcopy(self.model)
            if not copy_model:
                self._work = model
        else:
            model = self._work
        for n, lin in self.layers.items():
            new = FGMPLinear(lin, wq.get(n), aq.get(n))
            parent, _, attr = n.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, attr, new)
        bits = sum(q.storage_bits for q in wq.values())
        elems = sum(q.nblocks * BLOCK for q in wq.values())
        model.fgmp_report = {
            "config": cfg, "tau_w": tau_w, "tau_a": tau_a,
            "weight_fp4_fraction": (1 - sum(q.n_fp8 for q in wq.values())
                                    / max(1, sum(q.nblocks for q in wq.values()))) if wq else None,
            "weight_bits": bits, "weight_elements": elems,
            "weight_bits_per_element": bits / elems if elems else None,
            "weight_saving_vs_fp8": 1 - bits / (8 * elems) if elems else None,
            "seconds": time.perf_counter() - t0,
        }
        return model


def fgmp_layers(model: nn.Module) -> dict[str, FGMPLinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, FGMPLinear)}


def act_fp4_fraction(model: nn.Module) -> float | None:
    """Achieved NVFP4 fraction of the activation blocks seen since the model was built."""
    ls = [m for m in fgmp_layers(model).values() if m.act is not None]
    tot = sum(m.act_blocks for m in ls)
    return 1 - sum(m.act_fp8_blocks for m in ls) / tot if tot else None


def apply(model: nn.Module, config: FGMPConfig, calib: Calibration | None = None) -> nn.Module:
    """Copy of ``model`` with every nn.Linear replaced by an FGMPLinear per ``config``."""
    if not isinstance(config, FGMPConfig):
        raise ValueError(f"config must be an FGMPConfig, got {type(config).__name__}")
    config.validate()
    return FGMPPlanner(model, calib).apply(config)
