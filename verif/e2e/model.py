"""Model in the loop: every nn.Linear of the chosen all-MiniLM-L6-v2 encoder layers runs on the
simulated RTL; attention, softmax, LayerNorm and GELU stay in PyTorch (docs/e2e.md).

Three forward passes over the same texts: FP32; the golden model (each chosen Linear computed
by the golden hardware reference: ``golden.fineq.linear`` on per-token INT8 activations, or
golden ``act_quant`` + ``vmac``); and the RTL model (each chosen Linear through the simulated
blocks, its outputs compared for equality with the golden result of the same input). When
every layer is bit-exact the RTL model's embeddings equal the golden model's, so their cosines
against FP32 are the same number.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from golden import models

from . import energy as E
from .fgmp import FgmpPlan, VmacConfig, act_shapes
from .fineq import CoreConfig, FineQPlan
from .sim import play

__all__ = ["RunConfig", "LayerResult", "linear_names", "select_texts", "run",
           "run_fineq_linear", "run_fgmp_linear"]

N_LAYERS = 6
SUBLAYERS = ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "intermediate.dense", "output.dense")


def linear_names(layers, only=SUBLAYERS) -> list[str]:
    return [f"encoder.layer.{i}.{s}" for i in layers for s in SUBLAYERS if s in only]


@dataclass
class RunConfig:
    arch: str = "fineq"
    layers: tuple = (0,)
    only: tuple = SUBLAYERS            # which nn.Linear of each layer run on the RTL
    tokens: int = 16
    texts: int = 2
    p: float = 0.7
    core: CoreConfig = field(default_factory=CoreConfig)
    vmac: VmacConfig = field(default_factory=VmacConfig)
    sim: str | None = None
    area_report: str | None = None
    seed: int = 0


@dataclass
class LayerResult:
    name: str
    shape: tuple
    tokens: int
    macs: int
    checked: int
    mismatches: int
    cycles: dict
    utilization: float
    energy_fj: dict | None
    sim_seconds: float
    extra: dict


def select_texts(tok, n: int, seq_len: int, seed: int = 0) -> list[str]:
    """The first ``n`` evaluation texts of the golden split with at least ``seq_len`` tokens, so
    that truncation to ``seq_len`` leaves no padding (every token position is a real token)."""
    _, ev, _ = models.split_texts(16, 200, seed)
    out = [t for t in ev if len(tok(t, truncation=False)["input_ids"]) >= seq_len][:n]
    if len(out) < n:
        raise ValueError(f"only {len(out)} evaluation texts have {seq_len} tokens, {n} needed")
    return out


class _Arch:
    """Quantized weights and per-layer golden/RTL linear functions of one architecture."""

    def __init__(self, cfg: RunConfig, model, tok, names: list[str]):
        self.cfg, self.model, self.names = cfg, model, names
        self.results: list[LayerResult] = []
        self.report, self.report_src = (E.load_report(cfg.area_report)
                                        if cfg.area_report else (None, "no area report given"))
        if cfg.arch == "fineq":
            import golden.fineq as gf
            self.wq = {n: gf.quantize(model.get_submodule(n).weight.detach().float(),
                                      layout=cfg.core.layout) for n in names}
        else:
            self._fgmp_setup(tok)

    def _fgmp_setup(self, tok):
        from golden.fgmp.policy import FGMPConfig, FGMPPlanner, collect_fisher
        enc = models.Encoder(tok, 64, 16)
        cal, _, _ = models.split_texts(16, 16, self.cfg.seed)
        batches = [[models.two_views(t) for t in cal[i:i + 8]] for i in range(0, 16, 8)]
        calib = collect_fisher(self.model, models.contrastive_loss(enc), batches, act_rows=128,
                               seed=self.cfg.seed, act_batches=enc.length_sorted_batches(cal),
                               act_forward=lambda m, texts: m(**enc.tokens(texts)))
        planner = FGMPPlanner(self.model, calib)
        fcfg = FGMPConfig(p_w=self.cfg.p, p_a=self.cfg.p, policy="fisher", clip=True,
                          seed=self.cfg.seed)
        wq, _ = planner.quantize_weights(fcfg)
        aq, _ = planner.act_params(fcfg)
        self.wq = {n: wq[n] for n in self.names}
        self.aq = {n: aq[n] for n in self.names}
        self.model.zero_grad(set_to_none=True)

    # -- per-architecture plans -------------------------------------------------------------
    def _plan(self, name, x2):
        if self.cfg.arch == "fineq":
            from golden.fineq import quantize_acts_int8
            a, s = quantize_acts_int8(x2)
            return FineQPlan(self.cfg.core, self.wq[name], a, s)
        import math
        act = self.aq[name]
        k = int(round(math.log2(act.tensor_scale)))
        if math.ldexp(1.0, k) != act.tensor_scale:
            raise ValueError(f"{name}: activation scale {act.tensor_scale} is not a power of two")
        return FgmpPlan(self.cfg.vmac, self.wq[name], x2.float(), k, act.fbar, int(act.tau_q))

    def golden(self, name, x2):
        plan = self._plan(name, x2)
        if self.cfg.arch == "fineq":
            return plan.golden_output()
        return plan.output(plan.golden_bits())

    def rtl(self, name, x2):
        plan = self._plan(name, x2)
        fn = self._rtl_fineq if self.cfg.arch == "fineq" else self._rtl_fgmp
        y, res = fn(name, plan)
        self.results.append(res)
        return y

    def _rtl_fineq(self, name, plan: FineQPlan):
        y, res, src = run_fineq_linear(name, plan, sim=self.cfg.sim, report=self.report)
        if src:
            self.energy_src = src
        return y, res

    def _rtl_fgmp(self, name, plan: FgmpPlan):
        y, res, src = run_fgmp_linear(name, plan, sim=self.cfg.sim, report=self.report)
        if src:
            self.energy_src = src
        return y, res


def run_fineq_linear(name: str, plan: FineQPlan, *, sim: str | None = None,
                     report: dict | None = None):
    """One nn.Linear on the simulated FineQ core: ``(y, LayerResult, energy source or None)``;
    every column sum, ``last`` flag, partial sum and FP32 output compared with golden."""
    cfg = plan.cfg
    shapes = cfg.shapes()
    streams = plan.streams(shapes)
    budget = 4 * (len(streams["w"]) + len(streams["a"]) * 4) + 1000
    played = play("fineq_core", cfg.params, streams, "o", plan.n_out, sim=sim,
                  max_cycles=budget, run_name=f"e2e-fineq-{name}")
    sums, bad_last = plan.column_sums(played.out, shapes)
    exp = plan.expected_tiles()
    n, C = plan.wq.shape[0], cfg.cols
    bad_sums = checked = 0
    for i, (n0, _) in enumerate(plan.tiles):
        cols = min(C, n - n0)
        bad_sums += int((sums[i, :, :cols] != exp[i, :, :cols]).sum())
        checked += plan.tokens * cols
    P = plan.partial_sums(sums)
    bad_p = int((P != plan.golden_partial_sums()).sum())
    y = plan.output(P)
    yg = plan.golden_output()
    bad_y = int((y.view(torch.int32) != yg.view(torch.int32)).sum())
    cyc = plan.cycle_breakdown(played.in_cycles["a"], played.out_cycles)
    util = plan.macs / (cyc["cycles"] * cfg.rows * cfg.cols)
    en = src = None
    if report is not None:
        en, src = E.fineq_energy(report, cfg, plan.macs)
    res = LayerResult(name, tuple(plan.wq.shape), plan.tokens, plan.macs,
                      checked + P.numel() + y.numel(), bad_sums + bad_last + bad_p + bad_y,
                      cyc, util, en, played.seconds,
                      {"column_sums": checked, "column_sum_mismatches": bad_sums,
                       "last_mismatches": bad_last, "partial_sum_mismatches": bad_p,
                       "output_mismatches": bad_y})
    return y, res, src


def run_fgmp_linear(name: str, plan: FgmpPlan, *, sim: str | None = None,
                    report: dict | None = None):
    """One nn.Linear on the simulated act_quant RTL -> vmac RTL: ``(y, LayerResult, energy
    source or None)``; every act_quant block, VMAC result and FP32 output compared with
    golden."""
    ashapes = act_shapes()
    act_in = plan.act_stream(ashapes)
    act_played = play("act_quant", {}, {"i": act_in}, "o", len(act_in),
                      ports=plan.act_ports(), sim=sim,
                      max_cycles=len(act_in) * 2 + 100, run_name=f"e2e-act-{name}")
    fields, bad_act = plan.act_mismatches(act_played.out, ashapes)
    vcfg = plan.cfg
    vshapes = vcfg.shapes()
    streams = plan.vmac_streams(fields, vshapes)
    vm_played = play("vmac", vcfg.params, streams, "o", plan.n_vmac_out, sim=sim,
                     max_cycles=2 * len(streams["a"]) + 1000, run_name=f"e2e-vmac-{name}")
    bits = plan.vmac_bits(vm_played.out, vshapes)
    gbits = plan.golden_bits()
    bad_bits = int((bits != gbits).sum())
    y = plan.output(bits)
    yg = plan.output(gbits)
    bad_y = int((y.view(torch.int32) != yg.view(torch.int32)).sum())
    cyc = plan.cycle_breakdown(act_played, vm_played)
    util = plan.macs / (cyc["cycles"] * vcfg.lanes * 16)
    act_meta = torch.tensor([f["meta"] for f in fields]).reshape(plan.tokens, plan.nb)
    modes = plan.mode_counts(act_meta)
    en = src = None
    if report is not None:
        en, src = E.fgmp_energy(report, modes, len(fields))
    res = LayerResult(name, tuple(plan.wq.shape), plan.tokens, plan.macs,
                      len(fields) + bits.numel() + y.numel(), bad_act + bad_bits + bad_y,
                      cyc, util, en, act_played.seconds + vm_played.seconds,
                      {"act_blocks": len(fields), "act_mismatches": bad_act,
                       "act_fp4_fraction": 1 - float(act_meta.float().mean()),
                       "weight_fp4_fraction": 1 - float(plan.wq.meta.float().mean()),
                       "vmac_mismatches": bad_bits, "output_mismatches": bad_y,
                       "mode_pairs": modes})
    return y, res, src


def _forward(model, enc_tokens, hooks: dict):
    """Mean-pooled, normalised embeddings with ``hooks[name](x2) -> y2`` replacing the Linear
    outputs (bias added here, the same for every path)."""
    handles = []
    for name, fn in hooks.items():
        mod = model.get_submodule(name)

        def hook(m, inp, out, fn=fn, name=name):
            x = inp[0]
            y = fn(name, x.reshape(-1, x.shape[-1]).detach().float())
            if m.bias is not None:
                y = y + m.bias.detach().float()
            return y.reshape(out.shape).to(out.dtype)
        handles.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            h = model(**enc_tokens).last_hidden_state
    finally:
        for hd in handles:
            hd.remove()
    m = enc_tokens["attention_mask"].unsqueeze(-1).to(h.dtype)
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


def run(cfg: RunConfig, log=print) -> dict:
    t_start = time.monotonic()
    torch.manual_seed(cfg.seed)
    model, tok = models.load_minilm()
    seq_len = cfg.tokens // cfg.texts
    texts = select_texts(tok, cfg.texts, seq_len, cfg.seed)
    enc_tokens = tok(texts, padding=True, truncation=True, max_length=seq_len,
                     return_tensors="pt")
    if int(enc_tokens["attention_mask"].sum()) != cfg.tokens:
        raise AssertionError("the chosen texts do not fill every token position")
    names = linear_names(cfg.layers, cfg.only)
    t0 = time.monotonic()
    arch = _Arch(cfg, model, tok, names)
    t_quant = time.monotonic() - t0
    ref = _forward(model, enc_tokens, {})
    gold = _forward(model, enc_tokens, {n: arch.golden for n in names})

    def rtl(name, x2):
        y = arch.rtl(name, x2)
        r = arch.results[-1]
        log(_layer_line(r))
        return y
    t0 = time.monotonic()
    got = _forward(model, enc_tokens, {n: rtl for n in names})
    t_rtl = time.monotonic() - t0

    def cos(a, b):
        return float((a * b).sum(-1).double().mean())
    return {
        "arch": cfg.arch, "layers": list(cfg.layers), "tokens": cfg.tokens, "texts": texts,
        "config": cfg.core.params if cfg.arch == "fineq" else {**cfg.vmac.params, "p": cfg.p},
        "results": arch.results,
        "cos_rtl_fp32": cos(got, ref), "cos_golden_fp32": cos(gold, ref),
        "cos_rtl_golden": cos(got, gold), "embeddings_equal": bool(torch.equal(got, gold)),
        "energy_source": getattr(arch, "energy_src", arch.report_src),
        "seconds": {"quantize": t_quant, "rtl_pass": t_rtl, "total": time.monotonic() - t_start,
                    "simulation": sum(r.sim_seconds for r in arch.results)},
    }


def _layer_line(r: LayerResult) -> str:
    c = r.cycles
    return (f"  {r.name:<38} {r.shape[0]:>5}x{r.shape[1]:<5} mismatches {r.mismatches} / "
            f"{r.checked}  cycles {c['cycles']:>7}  util {100 * r.utilization:5.1f} %  "
            f"sim {r.sim_seconds:5.1f} s")
