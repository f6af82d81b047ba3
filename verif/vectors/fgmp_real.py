"""Real all-MiniLM-L6-v2 vectors for the FGMP RTL, chosen by the golden policy.

Calibration (small, for test speed): 16 calibration texts of the golden FGMP split
(``golden.models.split_texts``), Fisher from 2 batches of 8 with the contrastive loss
(``golden.models.contrastive_loss``), activation statistics from the same texts; policy ``FGMPConfig(p_w=0.7, p_a=0.7,
policy="fisher", clip=True)`` through ``FGMPPlanner`` (global weight threshold τ_w over all 36
layers, per-layer activation S = 2^k, F̄ codes and τ_q from the global τ_a). Weights: golden
FGMP blocks (meta, codes, scales) of a few output rows of three layers; activations: the FP32
inputs of those layers on evaluation texts (FP32 model), to be quantized by ``act_quant``.

Deriving them takes ~20 s (model load, Fisher, policy), so the result is cached
(infra.cache) in ``$BUILD_DIR/fgmp/minilm_vectors-<key>.pt``, keyed by the model package
version and the code of golden/ and this module.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from golden import models
from golden.fgmp import hw
from infra.cache import cache_key, cached
from infra.paths import build_dir

from .fgmp import ActGroup, VmacStream

__all__ = ["LAYERS", "available", "minilm_data", "minilm_vmac_stream", "minilm_act_groups",
           "cache_path"]

LAYERS = ("encoder.layer.0.attention.self.query",     # K = 384
          "encoder.layer.2.intermediate.dense",       # K = 384, 1536 outputs
          "encoder.layer.5.output.dense")             # K = 1536
ROWS = 16          # weight rows kept per layer
TOKENS = 16        # activation rows kept per layer


def available() -> bool:
    """The model package is installed (the vectors are derived from it, or cached for it)."""
    try:
        models.minilm_version()
    except models.ModelNotAvailable:
        return False
    return True


def cache_path() -> Path:
    """Cache file of the vectors: keyed by the model version and the code deriving them."""
    key = cache_key({"model": models.minilm_version()}, ("golden", "verif.vectors.fgmp_real"))
    return build_dir("fgmp", f"minilm_vectors-{key}.pt")


def _derive() -> dict:
    from golden.fgmp.blocks import tensor_scale
    from golden.fgmp.policy import FGMPConfig, FGMPPlanner, collect_fisher

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, tok = models.load_minilm()
        enc = models.Encoder(tok, 64, 16)
        cal, ev, _ = models.split_texts(16, 16, 0)
        batches = [[models.two_views(t) for t in cal[i:i + 8]] for i in range(0, 16, 8)]
        calib = collect_fisher(model, models.contrastive_loss(enc), batches, act_rows=128, seed=0,
                               act_batches=enc.length_sorted_batches(cal),
                               act_forward=lambda m, texts: m(**enc.tokens(texts)))
        planner = FGMPPlanner(model, calib)
        cfg = FGMPConfig(p_w=0.7, p_a=0.7, policy="fisher", clip=True)
        wq, tau_w = planner.quantize_weights(cfg)
        aq, tau_a = planner.act_params(cfg)
        acts = models.capture_linear_inputs(model, tok, ev, max_length=64, max_tokens=TOKENS,
                                            seed=0, modules=set(LAYERS))
    finally:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    layers = {}
    for name in LAYERS:
        w = wq[name]
        rows = torch.randperm(w.shape[0], generator=gen)[:ROWS].sort().values
        a = aq[name]
        S = a.tensor_scale
        k = int(round(math.log2(S)))
        if math.ldexp(1.0, k) != S:
            raise AssertionError(f"{name}: activation scale {S} is not a power of two")
        x = acts[name].to(torch.float32)
        w_fp32 = model.get_submodule(name).weight.detach().to(torch.float32)
        layers[name] = {
            "w_meta": w.meta[rows].clone(), "w_codes": w.codes[rows].clone(),
            "w_scales": w.scales[rows].clone(), "rows": rows,
            "w_fp32": w_fp32[rows].clone(), "S_w": tensor_scale(float(w_fp32.abs().max())),
            "x": x.reshape(x.shape[0], -1, 16).clone(),
            "fbar": a.fbar.reshape(-1, 16).clone(), "k": k, "tau": int(a.tau_q),
        }
    return {"layers": layers, "tau_w": tau_w, "tau_a": tau_a,
            "config": "FGMPConfig(p_w=0.7, p_a=0.7, policy='fisher', clip=True)"}


def minilm_data() -> dict:
    """The cached real vectors (derived on first use; ModelNotAvailable without the model)."""
    return cached(cache_path(), _derive, load=lambda p: torch.load(p, weights_only=False),
                  save=torch.save)


def _act_blocks(layer: dict):
    """Golden act_quant of a layer's activation rows -> (meta[R, nb], codes[R, nb, 16],
    scales[R, nb])."""
    x = layer["x"]
    meta, codes, scales, _ = hw.act_quant_blocks(x, math.ldexp(1.0, layer["k"]),
                                                 layer["fbar"], layer["tau"])
    return meta, codes, scales


def minilm_vmac_stream(lanes: int, tokens: int = 8, row_groups: int = 2,
                       fp8_only: bool = False) -> VmacStream:
    """Dot products of real weight rows (``lanes`` per group) with real activation rows
    quantized by the golden activation unit: one dot product per (layer, token, row group),
    K = the layer's input width. ``fp8_only``: both operands re-encoded as all-FP8 blocks
    (golden quantize with every meta bit set) for the FP8 baseline."""
    data = minilm_data()
    st = VmacStream(lanes)
    for name, layer in data["layers"].items():
        if fp8_only:
            wm, wc, ws, am, ac, as_ = _fp8_versions(layer)
        else:
            wm, wc, ws = layer["w_meta"], layer["w_codes"], layer["w_scales"]
            am, ac, as_ = _act_blocks(layer)
        nb = wm.shape[1]
        for t in range(min(tokens, am.shape[0])):
            for g in range(row_groups):
                rows = [(g * lanes + lane) % wm.shape[0] for lane in range(lanes)]
                for b in range(nb):
                    a = (int(am[t, b]), [int(c) for c in ac[t, b]], int(as_[t, b]))
                    ws_ = [(int(wm[r, b]), [int(c) for c in wc[r, b]], int(ws[r, b]))
                           for r in rows]
                    st.add(a, ws_, b == nb - 1, f"minilm {name} token {t}")
    return st


def _fp8_versions(layer):
    """All-FP8 encodings of the same real rows (golden ``quantize_mixed`` with every meta bit
    set): weights with the layer's tensor scale, activations with the layer's S = 2^k."""
    from golden.fgmp.blocks import quantize_mixed
    w = layer["w_fp32"]
    wf = quantize_mixed(w, torch.ones(w.shape[0], w.shape[1] // 16, dtype=torch.bool),
                        layer["S_w"])
    x = layer["x"].reshape(layer["x"].shape[0], -1)
    xf = quantize_mixed(x, torch.ones(x.shape[0], x.shape[1] // 16, dtype=torch.bool),
                        math.ldexp(1.0, layer["k"]))
    return (wf.meta, wf.codes, wf.scales, xf.meta, xf.codes, xf.scales)


def minilm_act_groups(tokens: int = TOKENS) -> list[ActGroup]:
    """One group per layer: its activation rows block by block with the layer's S = 2^k, F̄
    codes and golden threshold τ_q; ``last`` marks the final block of each row."""
    data = minilm_data()
    groups = []
    for name, layer in data["layers"].items():
        x = layer["x"][:tokens]
        R, nb, _ = x.shape
        fbar = layer["fbar"].unsqueeze(0).expand(R, nb, 16).reshape(-1, 16).contiguous()
        last = [b == nb - 1 for _ in range(R) for b in range(nb)]
        groups.append(ActGroup(layer["k"], layer["tau"], x.reshape(-1, 16).contiguous(), fbar,
                               last, f"minilm {name}"))
    return groups
