"""``python -m golden.eval fineq``: FineQ layouts vs RTN and coarse mixed precision on real weights.

For every selected 2-D weight ``W[N, K]`` of a safetensors file, every method quantizes W and
reports: average bits (exact storage / original weights), weight SQNR, output SQNR
``10*log10(sum Y^2 / sum (Y - Y_hat)^2)`` with ``Y = X W^T`` (no bias) on held-out activation
samples X, and ``frac`` (FineQ: fraction of outlier clusters; mixed: fraction of 3-bit groups).
Totals pool signal and noise over layers (bits are weighted by the number of weights).

Activation samples (``--activations auto``): if the weights are a transformers model directory
(``--weights minilm``, or a file next to a ``config.json`` + tokenizer), real text is run through
the model offline — paragraphs of Python standard-library docstrings
(``golden.models.stdlib_docstring_texts``): even-numbered paragraphs are the calibration set
(importance for the ``+imp`` methods), odd-numbered ones the evaluation set; each set is
subsampled to ``--tokens`` tokens. Otherwise (or ``--activations synthetic``) a documented
synthetic fallback is used (``golden.models.synthetic_activations``).

Bad input (a missing, empty or non-safetensors ``--weights`` file, an invalid ``--layers``
regex, an empty or unknown ``--methods`` list, a count below 1, a bad ``--group-size``): one
line ``error: ...`` naming the argument, exit code 2, before the weights or a model are loaded.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

from infra.cli import Parser, fail, int_range, listof, regex

DEFAULT_METHODS = (
    "fineq-321", "fineq-330", "fineq-joint", "fineq-330-ratio",
    "fineq-321+imp", "fineq-330+imp", "fineq-joint+imp",
    "int2", "int3", "int4", "int3-asym",
    "mixed-odd", "mixed-odd/asym", "mixed-odd+imp", "mixed-odd/asym+imp",
)


def fineq_avg_bits(shape, group_size):
    n, k = shape
    kp = -(-k // group_size) * group_size
    words = -(-(kp // 3) // 4)
    return (words * 32 + (kp // group_size) * 16) / k


def _parse_method(name):
    from golden.fineq import LAYOUTS
    imp = name.endswith("+imp")
    base = name[:-4] if imp else name
    m = re.fullmatch(r"fineq-(\w+?)(-ratio)?", base)
    if m and m.group(1) in LAYOUTS:
        return ("fineq", m.group(1), "ratio" if m.group(2) else "search", imp)
    m = re.fullmatch(r"int([1-8])(-asym|-odd)?", base)
    if m:
        return ("rtn", int(m.group(1)), (m.group(2) or "-odd")[1:], imp)
    m = re.fullmatch(r"mixed-(odd|asym)(?:/(odd|asym))?", base)
    if m:
        return ("mixed", (m.group(1), m.group(2) or m.group(1)), None, imp)
    raise ValueError(f"unknown method {name!r}; examples: {', '.join(DEFAULT_METHODS)}")


def run_method(name, W, group_size, importance):
    from golden.fineq import quantize, quantize_coarse_mixed, quantize_rtn
    kind, a, b, use_imp = _parse_method(name)
    imp = importance if use_imp else None
    if use_imp and importance is None:
        raise ValueError(f"method {name} needs activation samples")
    if kind == "fineq":
        q = quantize(W, group_size=group_size, layout=a, outlier=b, importance=imp)
        return q, q.outlier_fraction
    if kind == "rtn":
        q = quantize_rtn(W, a, group_size=group_size, grid=b, importance=imp)
        return q, None
    target = fineq_avg_bits(tuple(W.shape), group_size)
    q = quantize_coarse_mixed(W, target, group_size=group_size, grid=a, importance=imp)
    return q, q.high_fraction


def _sqnr(signal, noise):
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10 * math.log10(signal / noise)


def _match_module(key, module_names):
    kname = key[: -len(".weight")] if key.endswith(".weight") else key
    for m in module_names:
        if m == kname or kname.endswith("." + m) or m.endswith("." + kname):
            return m
    return None


def _real_activations(model_dir, keys, n_texts, tokens):
    from golden import models
    model, tok = models.load_hf_model(model_dir)
    texts = models.stdlib_docstring_texts()
    calib_texts, eval_texts = texts[0::2][:n_texts], texts[1::2][:n_texts]
    calib = models.capture_linear_inputs(model, tok, calib_texts, max_tokens=tokens, seed=0)
    evals = models.capture_linear_inputs(model, tok, eval_texts, max_tokens=tokens, seed=1)
    out = {}
    for key in keys:
        m = _match_module(key, list(evals))
        if m is not None:
            out[key] = (calib[m], evals[m])
    desc = (f"real text through the model (transformers, offline): Python stdlib docstring "
            f"paragraphs, {len(calib_texts)} calibration / {len(eval_texts)} evaluation "
            f"paragraphs, {tokens} tokens each (non-padding, seeded subsample)")
    return out, desc


def evaluate(weights: str, layers: str | None = None, methods=DEFAULT_METHODS,
             group_size: int = 96, activations: str = "auto", tokens: int = 2048,
             n_texts: int = 64, progress=None) -> dict:
    from golden import models
    from golden.formats import check_int
    check_int("tokens", tokens, 1, 1 << 30)       # 0 tokens: no signal, an infinite SQNR
    check_int("n_texts", n_texts, 1, 1 << 30)
    path = models.resolve_weights(weights)
    try:
        tensors = models.load_safetensors(path)
    except Exception as e:                        # noqa: BLE001 — safetensors' own errors
        raise ValueError(f"--weights {str(path)!r}: not a safetensors file "
                         f"({type(e).__name__}: {e})") from None
    rx = re.compile(layers) if layers else None
    keys = [k for k, v in tensors.items()
            if v.dim() == 2 and v.is_floating_point()
            and (rx.search(k) if rx else "embed" not in k)]
    if not keys:
        raise ValueError(f"no 2-D floating tensors match --layers {layers!r} in {path}")
    for m in methods:
        _parse_method(m)

    acts, act_desc = {}, None
    model_dir = path.parent
    if activations in ("auto", "text") and (model_dir / "config.json").is_file():
        try:
            acts, act_desc = _real_activations(model_dir, keys, n_texts, tokens)
        except Exception as exc:                  # noqa: BLE001 — reported, then fallback
            if activations == "text":
                raise
            act_desc = f"(could not run the model: {exc!r})"
    elif activations == "text":
        raise ValueError(f"--activations text needs a model directory with config.json: {path}")
    synth_desc = ("synthetic x[t,c] = z[t,c]*exp(u[c]), z,u ~ N(0,1), seeded by crc32(layer "
                  f"name); {tokens} calibration + {tokens} evaluation tokens")
    result = {"weights": str(path), "group_size": group_size, "methods": list(methods),
              "activations": {"text": act_desc, "synthetic": synth_desc}, "layers": []}
    tot = {m: {"bits": 0.0, "n": 0, "ws": 0.0, "wn": 0.0, "os": 0.0, "on": 0.0, "frac": 0.0,
               "fracn": 0} for m in methods}
    for key in keys:
        W = tensors[key].float()
        if key in acts:
            xc, xe = acts[key]
            src = "text"
        else:
            xc = models.synthetic_activations(key, W.shape[1], tokens, split=0)
            xe = models.synthetic_activations(key, W.shape[1], tokens, split=1)
            src = "synthetic"
        importance = xc.double().pow(2).mean(dim=0)
        W64, X64 = W.double(), xe.double()
        Y = X64 @ W64.T
        ws, os_ = float(W64.pow(2).sum()), float(Y.pow(2).sum())
        row = {"name": key, "shape": list(W.shape), "activations": src, "results": {}}
        for m in methods:
            t0 = time.time()
            q, frac = run_method(m, W, group_size, importance)
            D = W64 - q.dequantize().double()
            wn = float(D.pow(2).sum())
            on = float((X64 @ D.T).pow(2).sum())
            r = {"avg_bits": q.avg_bits, "weight_sqnr_db": _sqnr(ws, wn),
                 "output_sqnr_db": _sqnr(os_, on), "frac": frac,
                 "seconds": round(time.time() - t0, 3)}
            row["results"][m] = r
            t = tot[m]
            t["bits"] += q.avg_bits * W.numel()
            t["n"] += W.numel()
            t["ws"] += ws
            t["wn"] += wn
            t["os"] += os_
            t["on"] += on
            if frac is not None:
                t["frac"] += frac * W.numel()
                t["fracn"] += W.numel()
        result["layers"].append(row)
        if progress:
            progress(key)
    result["total"] = {
        m: {"avg_bits": t["bits"] / t["n"], "weight_sqnr_db": _sqnr(t["ws"], t["wn"]),
            "output_sqnr_db": _sqnr(t["os"], t["on"]),
            "frac": t["frac"] / t["fracn"] if t["fracn"] else None,
            "layers": len(keys), "weights": t["n"]}
        for m, t in tot.items()}
    return result


def _fmt(x, spec):
    return "-" if x is None else format(x, spec)


def format_text(res) -> str:
    lines = []
    nw = next(iter(res["total"].values()))["weights"]
    lines.append(f"FineQ evaluation: {res['weights']}")
    lines.append(f"  {len(res['layers'])} layers, {nw:,} weights, group_size {res['group_size']}")
    srcs = sorted({r["activations"] for r in res["layers"]})
    for s in srcs:
        lines.append(f"  activations ({s}): {res['activations'][s]}")
    if "text" not in srcs and res["activations"]["text"]:
        lines.append(f"  activations (text): {res['activations']['text']}")
    lines.append("  SQNR in dB; output = X W^T (no bias) on held-out tokens; totals pool "
                 "signal/noise over layers;")
    lines.append("  frac = outlier-cluster fraction (fineq) / 3-bit group fraction (mixed); "
                 "mixed-* target the fineq bits of each layer")
    lines.append("")
    w = max(len(r["name"]) for r in res["layers"])
    hdr = f"{'layer':{w}s}  {'shape':>10s}  {'method':20s} {'bits':>7s} {'wSQNR':>7s} {'oSQNR':>7s} {'frac':>6s}"
    lines.append(hdr)
    for r in res["layers"]:
        shape = "x".join(map(str, r["shape"]))
        for i, (m, v) in enumerate(r["results"].items()):
            lines.append(f"{(r['name'] if i == 0 else ''):{w}s}  {(shape if i == 0 else ''):>10s}  "
                         f"{m:20s} {v['avg_bits']:7.4f} {v['weight_sqnr_db']:7.2f} "
                         f"{v['output_sqnr_db']:7.2f} {_fmt(v['frac'], '6.3f'):>6s}")
    lines.append("")
    lines.append(f"TOTAL ({len(res['layers'])} layers)")
    lines.append(f"{'method':20s} {'bits':>7s} {'wSQNR':>7s} {'oSQNR':>7s} {'frac':>6s}")
    for m, v in res["total"].items():
        lines.append(f"{m:20s} {v['avg_bits']:7.4f} {v['weight_sqnr_db']:7.2f} "
                     f"{v['output_sqnr_db']:7.2f} {_fmt(v['frac'], '6.3f'):>6s}")
    lines.extend(_verdict(res))
    return "\n".join(lines)


def _verdict(res):
    """Each FineQ variant vs the best coarse mixed-precision result of the same family (plain or
    +imp), separately for weight and output SQNR (the bar is the best mixed on each metric)."""
    tot = res["total"]
    out = []
    for fam in ("", "+imp"):
        fq = [m for m in tot if m.startswith("fineq-") and m.endswith(fam) and (fam or "+imp" not in m)]
        mx = [m for m in tot if m.startswith("mixed-") and m.endswith(fam) and (fam or "+imp" not in m)]
        if not fq or not mx:
            continue
        bw = max(mx, key=lambda m: tot[m]["weight_sqnr_db"])
        bo = max(mx, key=lambda m: tot[m]["output_sqnr_db"])
        out.append("")
        out.append(f"matched bits, {'importance-weighted' if fam else 'plain MSE'}: best coarse "
                   f"mixed = {bw} (weight {tot[bw]['weight_sqnr_db']:.2f} dB), "
                   f"{bo} (output {tot[bo]['output_sqnr_db']:.2f} dB)")
        for m in fq:
            dw = tot[m]["weight_sqnr_db"] - tot[bw]["weight_sqnr_db"]
            do = tot[m]["output_sqnr_db"] - tot[bo]["output_sqnr_db"]
            verdict = ("BEATS" if dw > 0 and do > 0 else
                       "LOSES TO" if dw < 0 and do < 0 else "SPLIT vs")
            lw = [r["results"][m]["weight_sqnr_db"] - r["results"][bw]["weight_sqnr_db"]
                  for r in res["layers"]]
            lo = [r["results"][m]["output_sqnr_db"] - r["results"][bo]["output_sqnr_db"]
                  for r in res["layers"]]
            out.append(f"  {m:18s} {verdict:8s} coarse mixed: pooled weight {dw:+.2f} dB, "
                       f"output {do:+.2f} dB; per layer: weight better in "
                       f"{sum(d > 0 for d in lw)}/{len(lw)} (median {statistics.median(lw):+.2f}),"
                       f" output better in {sum(d > 0 for d in lo)}/{len(lo)} "
                       f"(median {statistics.median(lo):+.2f})")
    return out


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def _weights(text: str) -> str:
    """``type=`` of --weights: 'minilm', or a file that starts with a safetensors header (an
    8-byte little-endian length, then that many bytes of a JSON object)."""
    if text == "minilm":
        return text
    p = Path(text)
    if not p.is_file():
        raise argparse.ArgumentTypeError(f"weights file {text!r} does not exist (or use 'minilm')")
    with p.open("rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        size = p.stat().st_size
        try:
            ok = 0 < n <= size - 8 and isinstance(json.loads(f.read(n)), dict)
        except ValueError:                        # not JSON, not UTF-8
            ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"{text!r} is not a safetensors file "
                                         f"({'empty' if size == 0 else 'no safetensors header'})")
    return text


def check_args(args) -> None:
    """The checks that need golden.fineq (torch): method names, group size. ``ValueError``
    naming the argument; nothing is loaded."""
    from golden.fineq.format import check_group_size
    for m in args.methods:
        try:
            _parse_method(m)
        except ValueError as e:
            raise ValueError(f"--methods: {e}") from None
    try:
        check_group_size(args.group_size)
    except ValueError as e:
        raise ValueError(f"--group-size: {e}") from None


def main(argv=None) -> int:
    ap = Parser(prog="python -m golden.eval fineq", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    count = int_range(1)
    ap.add_argument("--weights", required=True, type=_weights,
                    help="a .safetensors file, or 'minilm' for the bundled all-MiniLM-L6-v2")
    ap.add_argument("--layers", default=None, type=regex,
                    help="regex (re.search) over tensor names; default: all 2-D float tensors "
                         "without 'embed' in the name")
    ap.add_argument("--methods", type=listof(), default=list(DEFAULT_METHODS),
                    help="comma-separated: fineq-<layout>[-ratio], int<b>[-asym], "
                         "mixed-<grid>[/<grid>], any with +imp (default: %(default)s)")
    ap.add_argument("--group-size", type=int_range(3), default=96,
                    help="a positive multiple of 3 (default %(default)s)")
    ap.add_argument("--activations", choices=("auto", "text", "synthetic"), default="auto")
    ap.add_argument("--tokens", type=count, default=2048,
                    help="calibration and evaluation tokens per layer (default 2048)")
    ap.add_argument("--texts", type=count, default=64,
                    help="paragraphs per calibration / evaluation set (default 64)")
    ap.add_argument("--threads", type=count, default=None,
                    help="torch.set_num_threads (default: torch's default; 1 is much faster "
                         "when the machine's cores are oversubscribed)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    try:
        check_args(args)
    except ValueError as exc:
        return fail(str(exc))
    from golden import models
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    try:
        res = evaluate(args.weights, args.layers, args.methods, args.group_size,
                       args.activations, args.tokens, args.texts,
                       progress=None if args.quiet else
                       (lambda k: print(f"  done {k}", file=sys.stderr, flush=True)))
    except (ValueError, FileNotFoundError, models.ModelNotAvailable) as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(_json_safe(res), indent=1))
    else:
        print(format_text(res))
    return 0
