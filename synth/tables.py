"""The report's derived tables, computed from evaluated rows (synth.evaluate): FineQ arrays,
FGMP VMACs, the paper claims, the area-ranking cross-check; and the weight-memory figures.

Pure computation: no synthesis, no rendering (synth.render, synth.plots).
"""
from __future__ import annotations

from typing import Any

from .designs import FGMP_LANES, FGMP_P, FGMP_SEQS, FGMP_VARIANTS, FINEQ_SIZES, fgmp_seq_name
from .evaluate import NOT_AVAILABLE
from .stimulus import SYNTHETIC

__all__ = ["CLAIMS", "VMAC_TARGETS", "vmac_targets", "ENERGY_MODELS", "fineq_table", "fgmp_table", "fgmp_memory", "claims",
           "ranking_check", "ranking_detail", "design_row", "energy_of"]

# Paper claims (SPEC §6, issue 7): (id, source, text, goal, unit, direction)
CLAIMS = [
    ("fineq_area", "FineQ", "systolic-array area reduction vs baseline (temporal vs INT8xINT8, 16x16)",
     61.2, "%", ">="),
    ("fineq_eff", "FineQ", "energy-efficiency gain (up to), temporal vs binary array; unit-delay "
     "model (glitches counted)", 1.79, "x", ">="),
    ("fineq_eff_zd", "FineQ", "same, zero-delay model (no glitches)", 1.79, "x", ">="),
    ("fineq_eff_cg", "FineQ", "same, unit-delay + clock gating", 1.79, "x", ">="),
    ("fgmp_energy", "FGMP", "energy reduction vs all-FP8 at p = 0.7 (VMAC, real data); unit-delay",
     14.0, "%", ">="),
    ("fgmp_energy_zd", "FGMP", "same, zero-delay model", 14.0, "%", ">="),
    ("fgmp_energy_cg", "FGMP", "same, unit-delay + clock gating", 14.0, "%", ">="),
    ("fgmp_actq", "FGMP", "activation quantizer energy / dot-product energy (unit-delay)", 1.0, "%", "<"),
    ("fgmp_mem07", "FGMP", "weight memory saving vs all-FP8 at p = 0.7", 29.8, "%", ">="),
    ("fgmp_mem09", "FGMP", "weight memory saving vs all-FP8 at p = 0.9", 38.6, "%", ">="),
]


def design_row(rows, key):
    for r in rows:
        if r["key"] == key:
            return r
    return None


def energy_of(row, name="minilm"):
    if not row or row.get("status") != "ok":
        return None
    e = row.get("energy", {}).get(name)
    return e if e and e.get("status") == "ok" else None


def fineq_table(rows) -> list[dict]:
    out = []
    for n in FINEQ_SIZES:
        t = design_row(rows, f"fineq/temporal/{n}x{n}")
        et = energy_of(t)
        for kind, label in (("temporal", "temporal-coded"), ("int4", "binary INT8xINT4"),
                            ("int8", "binary INT8xINT8")):
            r = design_row(rows, f"fineq/{kind}/{n}x{n}")
            entry: dict[str, Any] = {"size": f"{n}x{n}", "design": label, "key": f"fineq/{kind}/{n}x{n}"}
            if not r or r["status"] != "ok":
                entry["status"] = r["status"] if r else NOT_AVAILABLE
                out.append(entry)
                continue
            s = r["synth"]
            e = energy_of(r)
            pe = s["groups"].get("pe", {}).get("area_um2")
            entry.update(status="ok", area_um2=s["area_um2"], nand2_eq=s["nand2_eq"],
                         transistors=s["transistors"], pe_area_um2=pe,
                         fmax_mhz=s["timing"]["fmax_mhz"], logic_depth=s["timing"]["logic_depth"])
            cyc = e["cycles_per_vector"] if e else None
            entry["cycles_per_mac"] = cyc
            entry["area_x_cycles"] = round(s["area_um2"] * cyc, 1) if cyc else None
            entry["energy_per_mac_fj"] = e["energy_per_mac_fj"] if e else None
            entry["glitch_energy_per_mac_fj"] = e.get("glitch_energy_per_mac_fj") if e else None
            entry["gated_glitch_energy_per_mac_fj"] = e.get("gated_glitch_energy_per_mac_fj") if e else None
            if kind != "temporal" and t and t["status"] == "ok":
                ts = t["synth"]
                entry["temporal_area_reduction_pct"] = round(100 * (1 - ts["area_um2"] / s["area_um2"]), 1)
                tpe = ts["groups"].get("pe", {}).get("area_um2")
                if pe and tpe:
                    entry["temporal_pe_area_reduction_pct"] = round(100 * (1 - tpe / pe), 1)
                if et and e:
                    entry["temporal_efficiency_x"] = round(e["energy_per_mac_fj"] / et["energy_per_mac_fj"], 3)
                    if e.get("glitch_energy_per_mac_fj") and et.get("glitch_energy_per_mac_fj"):
                        entry["temporal_efficiency_glitch_x"] = round(
                            e["glitch_energy_per_mac_fj"] / et["glitch_energy_per_mac_fj"], 3)
                    if e.get("gated_glitch_energy_per_mac_fj") and et.get("gated_glitch_energy_per_mac_fj"):
                        entry["temporal_efficiency_gated_x"] = round(
                            e["gated_glitch_energy_per_mac_fj"] / et["gated_glitch_energy_per_mac_fj"], 3)
                if cyc and et and et["cycles_per_vector"]:
                    entry["temporal_area_x_cycles_reduction_pct"] = round(
                        100 * (1 - ts["area_um2"] * et["cycles_per_vector"] / (s["area_um2"] * cyc)), 1)
            out.append(entry)
    return out


def fgmp_memory(synthetic: bool = False) -> dict:
    """Weight memory of the first attention query matrix of all-MiniLM-L6-v2 (or, with
    ``synthetic``, a seeded random 384x384 matrix) at each FGMP_P, by golden.fgmp.memory.
    Without the model package: golden.models.ModelNotAvailable."""
    import torch

    from golden import models
    from golden.fgmp.memory import weight_memory
    if synthetic:
        w = torch.randn(384, 384, generator=torch.Generator().manual_seed(0))
        src = SYNTHETIC
    else:
        name = "encoder.layer.0.attention.self.query.weight"
        w = models.minilm_weight(name)
        src = f"all-MiniLM-L6-v2 {name}"
    return {"source": src, **weight_memory(w, FGMP_P)}


ENERGY_MODELS = (("energy_fj", "zero-delay"), ("glitch_energy_fj", "unit-delay"),
                 ("gated_glitch_energy_fj", "unit-delay + clock gating"))


#: VMAC targets of issue 11 (the datapath part): (id, text, goal, unit, direction)
VMAC_TARGETS = [
    ("vmac_fp8", "FP8xFP8 block pair: VMAC / fp8_vmac energy, unit-delay", 1.05, "x", "<="),
    ("vmac_area", "area: VMAC / fp8_vmac", 1.25, "x", "<="),
    ("vmac_fp4", "FP4xFP4 block pair: VMAC / fp8_vmac energy, unit-delay", 0.40, "x", "<="),
    ("vmac_fmax", "fmax of every VMAC variant and fp8_vmac (the lowest)", 500.0, "MHz", ">="),
    ("vmac_p07_ud", "datapath energy saving vs fp8_vmac at p = 0.7, unit-delay", 25.0, "%", ">="),
    ("vmac_p07_all", "same, lowest of zero-delay / unit-delay / unit-delay + clock gating",
     14.0, "%", ">="),
]


def _per_pair(e) -> dict:
    bp = e["info"]["block_pairs"]
    return {"status": "ok", **{m: round(e[f] / bp, 2) for f, m in ENERGY_MODELS
                               if e.get(f) is not None},
            "weight_fp4": e["info"].get("weight_fp4_fraction"),
            "act_fp4": e["info"].get("act_fp4_fraction"),
            "mode_changes": e["info"].get("mode_changes")}


def _unit_energy(e) -> dict:
    """Per unit (instance path), energy per block pair under each delay model."""
    bp = e["info"]["block_pairs"]
    out: dict[str, dict] = {}
    for f, m in (("by_group_fj", "zero-delay"), ("glitch_by_group_fj", "unit-delay"),
                 ("gated_glitch_by_group_fj", "unit-delay + clock gating")):
        for g, v in (e.get(f) or {}).items():
            out.setdefault(g, {})[m] = round(v / bp, 1)
    return out


def fgmp_table(rows, memory: dict | None = None) -> dict:
    """Per lane count and VMAC variant (synth.designs.FGMP_VARIANTS, fp8_vmac): area, fmax,
    energy per block pair of every workload (modes, p, mode sequences; all three energy models)
    and per unit; ratios to fp8_vmac, savings at each p, the mode-change cost of each sequence
    (alternating − mean of its two modes repeated); the activation-quantizer share; weight
    memory (``memory``, from :func:`fgmp_memory`). The default VMAC (``fgmp/vmac/L``) also fills
    the flat fields the paper claims read."""
    aq = design_row(rows, "fgmp/act_quant")
    out: dict[str, Any] = {"lanes": {}, "status": {}}
    out["status"]["act_quant"] = aq["status"] if aq else NOT_AVAILABLE
    for lanes in FGMP_LANES:
        f8 = design_row(rows, f"fgmp/fp8_vmac/{lanes}")
        keys = [k for k, *_ in FGMP_VARIANTS] + ["fp8_vmac"]
        ent: dict[str, Any] = {"variants": {}}
        for k in keys:
            r = design_row(rows, f"fgmp/{k}/{lanes}")
            status = r["status"] if r else NOT_AVAILABLE
            out["status"][f"{k}/{lanes}"] = status
            v: dict[str, Any] = {"status": status, "label": r.get("label") if r else k}
            if r and status == "ok":
                sy = r["synth"]
                v.update(area_um2=sy["area_um2"], fmax_mhz=sy["timing"]["fmax_mhz"],
                         flip_flops=sy["flip_flops"], latency=sy.get("latency"),
                         params=r.get("params"))
                runs, units = {}, {}
                for n, e in r.get("energy", {}).items():
                    if e.get("status") != "ok":
                        runs[n] = {"status": e.get("status"), "error": e.get("error")}
                        continue
                    runs[n] = _per_pair(e)
                    units[n] = _unit_energy(e)
                v["per_block_pair_fj"] = runs
                v["per_unit_fj"] = units
            ent["variants"][k] = v
        base = energy_of(f8, "all_fp8")
        fb = ent["variants"]["fp8_vmac"]
        for k, v in ent["variants"].items():
            if k == "fp8_vmac" or v["status"] != "ok":
                continue
            r = design_row(rows, f"fgmp/{k}/{lanes}")
            if fb["status"] == "ok":
                v["area_ratio"] = round(v["area_um2"] / fb["area_um2"], 3)
            if base:
                bpp = _per_pair(base)
                v["vs_fp8"] = {n: {m: round(x[m] / bpp[m], 3) for _, m in ENERGY_MODELS
                                   if x.get(m) and bpp.get(m)}
                               for n, x in v["per_block_pair_fj"].items() if x["status"] == "ok"}
                for p in FGMP_P:
                    a = energy_of(r, f"p{p}")
                    if a:
                        v[f"reduction_p{p}"] = {m: round(100 * (1 - a[f] / base[f]), 2)
                                                for f, m in ENERGY_MODELS if a.get(f) and base.get(f)}
            runs = v["per_block_pair_fj"]
            changes = {}
            for seq in FGMP_SEQS:
                alt = runs.get(fgmp_seq_name(seq), {})
                reps = [runs.get(f"mode_{mo}", {}) for mo in seq]
                if alt.get("status") == "ok" and all(x.get("status") == "ok" for x in reps):
                    changes[fgmp_seq_name(seq)] = {
                        m: round(alt[m] - sum(x[m] for x in reps) / len(reps), 1)
                        for _, m in ENERGY_MODELS if m in alt}
            v["mode_change_fj"] = changes
        dv = ent["variants"]["vmac"]
        # flat fields of the default VMAC (paper claims, older readers)
        ent["vmac"], ent["fp8_vmac"] = dv["status"], fb["status"]
        for k, v in (("vmac", dv), ("fp8_vmac", fb)):
            if v["status"] == "ok":
                ent[f"{k}_area_um2"] = v["area_um2"]
                ent[f"{k}_fmax_mhz"] = v["fmax_mhz"]
                ent[f"{k}_per_block_pair_fj"] = v.get("per_block_pair_fj", {})
        for fld in ("area_ratio", "reduction_p0.7", "reduction_p0.9"):
            if fld in dv:
                ent[fld] = dv[fld]
        vm = design_row(rows, f"fgmp/vmac/{lanes}")
        if aq and vm and energy_of(aq) and energy_of(vm, "p0.7"):
            a, v = energy_of(aq), energy_of(vm, "p0.7")
            frac = {}
            for f, m in ENERGY_MODELS:
                if a.get(f) and v.get(f):
                    per_block = a[f] / a["info"]["blocks"]
                    per_pair = v[f] / v["info"]["block_pairs"]
                    frac[m] = {"vs_one_block_pair_pct": round(100 * per_block / per_pair, 2),
                               "layer_pct": round(100 * per_block / (v["info"]["layer_outputs"] * per_pair), 3)}
            ent["act_quant_fraction"] = frac
            ent["layer_outputs"] = v["info"]["layer_outputs"]
        ent["targets"] = vmac_targets(ent, lanes)
        out["lanes"][str(lanes)] = ent
    if aq and aq["status"] == "ok":
        out["act_quant_area_um2"] = aq["synth"]["area_um2"]
        e = energy_of(aq)
        if e:
            out["act_quant_per_block_fj"] = {m: round(e[f] / e["info"]["blocks"], 2)
                                             for f, m in ENERGY_MODELS if e.get(f)}
            out["act_quant_fp4_fraction"] = e["info"].get("fp4_fraction")
    done = [l for l in sorted(out["lanes"], key=int) if "reduction_p0.7" in out["lanes"][l]]
    out["claim_lanes"] = done[-1] if done else None
    if memory is not None:
        out["memory"] = memory
    return out


def vmac_targets(ent: dict, lanes: int) -> list[dict]:
    """The issue-11 VMAC targets at one lane count: per target our figure, met or missed and
    the margin (ours − goal; goal − ours for an upper bound), and the figure per variant."""
    vs = {k: v for k, v in ent["variants"].items() if v["status"] == "ok"}
    vm = {k: v for k, v in vs.items() if k != "fp8_vmac"}
    ud, models = "unit-delay", [m for _, m in ENERGY_MODELS]

    def ratio(mode):
        return {k: v.get("vs_fp8", {}).get(f"mode_{mode}", {}).get(ud) for k, v in vm.items()}

    per: dict[str, dict] = {
        "vmac_fp8": ratio("fp8xfp8"),
        "vmac_area": {k: v.get("area_ratio") for k, v in vm.items()},
        "vmac_fp4": ratio("fp4xfp4"),
        "vmac_fmax": {k: v.get("fmax_mhz") for k, v in vs.items()},
        "vmac_p07_ud": {k: v.get("reduction_p0.7", {}).get(ud) for k, v in vm.items()},
        "vmac_p07_all": {k: (min(v["reduction_p0.7"][m] for m in models)
                             if all(m in v.get("reduction_p0.7", {}) for m in models) else None)
                         for k, v in vm.items()},
    }
    out = []
    for tid, text, goal, unit, direction in VMAC_TARGETS:
        figs = per[tid]
        # default design (shared), except where the target says "every variant"
        if tid == "vmac_fmax":
            known = [x for x in figs.values() if x is not None]
            val = (max(known) if direction == "<=" else min(known)) if known else None
        else:
            val = figs.get("vmac")
        out.append(_status({"id": f"{tid}/{lanes}", "source": "issue 11",
                            "claim": f"{text} ({lanes} lane{'s' * (lanes > 1)})",
                            "goal": f"{direction} {goal} {unit}", "ours": val, "unit": unit,
                            "note": "; ".join(f"{k} {x}" for k, x in figs.items() if x is not None)},
                           goal, direction))
    return out


def _status(c: dict, goal: float, direction: str) -> dict:
    val = c["ours"]
    if val is None:
        return {**c, "status": "pending", "margin": None}
    nd = len(str(goal).split(".")[1]) if "." in str(goal) else 0
    v = round(val, nd)
    ok = v >= goal if direction == ">=" else v <= goal if direction == "<=" else v < goal
    gap = round(val - goal, 3) if direction == ">=" else round(goal - val, 3)
    return {**c, "status": "reached" if ok else "not reached", "margin": gap}



def claims(fineq: list[dict], fgmp: dict) -> list[dict]:
    def ent(key, size, field_):
        for e in fineq:
            if e["key"] == f"fineq/{key}/{size}" and e.get("status") == "ok":
                return e.get(field_)
        return None

    ours: dict[str, Any] = {}
    ours["fineq_area"] = (ent("int8", "16x16", "temporal_area_reduction_pct"),
                          "whole array, 16x16; vs INT8xINT4: "
                          f"{ent('int4', '16x16', 'temporal_area_reduction_pct')} %; PE cells only vs INT8xINT8: "
                          f"{ent('int8', '16x16', 'temporal_pe_area_reduction_pct')} %")
    for cid, fld in (("fineq_eff", "temporal_efficiency_glitch_x"), ("fineq_eff_zd", "temporal_efficiency_x"),
                     ("fineq_eff_cg", "temporal_efficiency_gated_x")):
        effs = [(e[fld], e["design"], e["size"]) for e in fineq if e.get(fld) is not None]
        if effs:
            best = max(effs)
            at16 = {e["design"]: e.get(fld) for e in fineq if e["size"] == "16x16"}
            ours[cid] = (best[0], f"best: vs {best[1]} at {best[2]}; at 16x16: "
                         + ", ".join(f"vs {k} {v}x" for k, v in at16.items() if v is not None))
        else:
            ours[cid] = (None, "energy runs missing")
    cl = fgmp.get("claim_lanes")
    ent = fgmp["lanes"].get(cl, {}) if cl else {}
    for cid, model in (("fgmp_energy", "unit-delay"), ("fgmp_energy_zd", "zero-delay"),
                       ("fgmp_energy_cg", "unit-delay + clock gating")):
        red = ent.get("reduction_p0.7", {}).get(model)
        other = ent.get("reduction_p0.9", {}).get(model)
        ours[cid] = (red, f"{cl}-lane VMAC vs FP8-only VMAC on the same real block pairs; at p = 0.9: {other} %"
                     if red is not None else "pending: " + ", ".join(f"{k} {v}" for k, v in fgmp["status"].items()))
    aqf = ent.get("act_quant_fraction", {}).get("unit-delay")
    ours["fgmp_actq"] = (aqf["layer_pct"] if aqf else None,
                         f"per activation block: quantizer / ({ent.get('layer_outputs')} output channels x "
                         f"VMAC energy per block pair) (the quantizer runs once per block, the layer's "
                         f"dot products reuse it); vs a single block pair: {aqf['vs_one_block_pair_pct']} %"
                         if aqf else "pending: act_quant " + fgmp["status"]["act_quant"])
    mem = fgmp.get("memory", {}).get("points", {})
    for p, cid in ((0.7, "fgmp_mem07"), (0.9, "fgmp_mem09")):
        m = mem.get(str(p))
        ours[cid] = (m["saving_pct"] if m else None,
                     f"golden FGMPTensor.storage_bits, {m['bits_per_element']} vs 8 bits/element "
                     f"({fgmp['memory']['source']})" if m else "golden not available")
    out = []
    for cid, src, text, goal, unit, direction in CLAIMS:
        val, note = ours.get(cid, (None, ""))
        # compared at the precision the paper states its figure with (29.8, 1.79, ...)
        out.append(_status({"id": cid, "source": src, "claim": text,
                            "goal": f"{direction} {goal} {unit}", "ours": val, "unit": unit,
                            "note": note}, goal, direction))
    for lanes in sorted(fgmp.get("lanes", {}), key=int):
        out += fgmp["lanes"][lanes].get("targets", [])
    return out



#: energy workload whose per-unit energies the breakdown shows, per block (else "minilm")
BREAKDOWN_WORKLOAD = {"vmac": "p0.7", "fp8_vmac": "all_fp8"}
#: (energy field of a run, its per-unit field, delay model)
UNIT_ENERGY_FIELDS = (("energy_fj", "by_group_fj", "zero-delay"),
                      ("glitch_energy_fj", "glitch_by_group_fj", "unit-delay"),
                      ("gated_glitch_energy_fj", "gated_glitch_by_group_fj",
                       "unit-delay + clock gating"))


def unit_breakdown(row) -> dict | None:
    """Per-unit table of one synthesized design (units = instance paths, synth/netlist.py):
    instances, area, flip-flops, worst register-to-register path, and energy per operation
    (MAC, block pair or block) of the breakdown workload under each delay model. The units add
    up to the design's totals (``total`` row; ``consistent`` says whether they do)."""
    if not row or row.get("status") != "ok":
        return None
    s = row["synth"]
    wl = BREAKDOWN_WORKLOAD.get(row["block"], "minilm")
    e = energy_of(row, wl)
    ops, op_name = None, None
    if e:
        info = e.get("info", {})
        ops, op_name = ((info["block_pairs"], "block pair") if "block_pairs" in info else
                        (info["blocks"], "block") if "blocks" in info else (e.get("macs"), "MAC"))
    by_unit_t = (s.get("timing") or {}).get("by_unit", {})
    units = []
    for name, g in s["groups"].items():
        u = {"unit": name, "instances": g.get("instances"), "area_um2": g["area_um2"],
             "area_pct": round(100 * g["area_um2"] / s["area_um2"], 1),
             "flip_flops": g["flip_flops"],
             "critical_path_ns": by_unit_t.get(name, {}).get("critical_path_ns")}
        for total_f, unit_f, model in UNIT_ENERGY_FIELDS:
            if e and ops and e.get(unit_f) is not None:
                u[model] = round(e[unit_f].get(name, 0.0) / ops, 2)
        units.append(u)
    units.sort(key=lambda u: -u["area_um2"])
    total = {"unit": "total", "instances": None, "area_um2": round(sum(u["area_um2"] for u in units), 3),
             "area_pct": 100.0, "flip_flops": sum(u["flip_flops"] for u in units),
             "critical_path_ns": s["timing"]["critical_path_ns"]}
    consistent = (abs(total["area_um2"] - s["area_um2"]) <= 1e-3 * s["area_um2"]
                  and total["flip_flops"] == s["flip_flops"])
    for total_f, unit_f, model in UNIT_ENERGY_FIELDS:
        if e and ops and e.get(unit_f) is not None:
            total[model] = round(sum(e[unit_f].values()) / ops, 2)
            consistent &= abs(sum(e[unit_f].values()) - e[total_f]) <= 1e-4 * max(1.0, e[total_f])
    return {"key": row["key"], "label": row.get("label", row["key"]), "workload": wl if e else None,
            "per": op_name, "units": units, "total": total, "consistent": consistent}


def ranking_check(rows) -> tuple[bool, int]:
    """(same ranking under transistors and liberty area, number of designs)."""
    ok = [r for r in rows if r["status"] == "ok"]
    by_t = [r["key"] for r in sorted(ok, key=lambda r: (r["synth"]["transistors"], r["key"]))]
    by_a = [r["key"] for r in sorted(ok, key=lambda r: (r["synth"]["area_um2"], r["key"]))]
    return by_t == by_a, len(ok)


def ranking_detail(rows) -> dict:
    """Discordant pairs (ordered differently by the two measures) overall, and the check per
    comparison family (the designs a table compares with each other)."""
    ok = [r for r in rows if r["status"] == "ok"]
    pairs = []
    for i, a in enumerate(ok):
        for b in ok[i + 1:]:
            dt = a["synth"]["transistors"] - b["synth"]["transistors"]
            da = a["synth"]["area_um2"] - b["synth"]["area_um2"]
            if dt * da < 0:
                pairs.append({"a": a["key"], "b": b["key"],
                              "transistors": [a["synth"]["transistors"], b["synth"]["transistors"]],
                              "area_um2": [a["synth"]["area_um2"], b["synth"]["area_um2"]],
                              "flip_flops": [a["synth"]["flip_flops"], b["synth"]["flip_flops"]]})
    fams = {}
    for fam in sorted({r["family"] for r in ok}):
        same, n = ranking_check([r for r in ok if r["family"] == fam])
        fams[fam] = {"same": same, "designs": n}
    return {"discordant_pairs": pairs, "by_family": fams}


