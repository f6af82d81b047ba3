"""Rendering of a report dict (synth.report): the markdown file and the console tables."""
from __future__ import annotations

import textwrap

from .designs import FGMP_ORDER, FGMP_ORDERS, FGMP_P, fgmp_p_name
from .tables import UNIT_ENERGY_FIELDS, energy_of

__all__ = ["markdown", "print_tables", "library_ranking_markdown"]


def _per_model(values: dict, unit: str) -> str:
    """{delay model: number} as "zero-delay 7.44 %, unit-delay 20.48 %, ..." (no dict reprs)."""
    return ", ".join(f"{m} {_f(v, 2)}{unit}" for m, v in values.items())


def _f(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    if isinstance(x, int):
        return f"{x:,d}"
    return str(x)


_MODELS = ("zero-delay", "unit-delay", "unit-delay + clock gating")


def _ratios(d: dict | None, field: str) -> str:
    if not d or not d.get(field):
        return "–"
    return " / ".join(_f(d[field].get(m), 2) for m in _MODELS)


def fineq_markdown(rep: dict) -> list[str]:
    """Section 1: every FineQ array (variant x dataflow x size) beside the binary arrays of its
    dataflow, and the window histogram on real weights."""
    L = ["## 1. FineQ: multiplier-free arrays vs binary arrays (same dataflow)\n"]
    L.append("| size | dataflow | design | area µm² | flip-flops | fmax MHz | cycles/vector | "
             "area×cycles | energy/MAC fJ: zero-delay / unit-delay / + clock gating | "
             "vs INT8xINT4: area red. / area×cycles / energy (three models) | "
             "vs INT8xINT8: area red. / PE grid red. / efficiency (three models) |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for e in rep["fineq"]:
        name = f"**{e['design']}**" if e.get("default") else e["design"]
        if e.get("status") != "ok":
            L.append(f"| {e['size']} | {e['dataflow']} | {name} | {e.get('status')} | | | | | | | |")
            continue
        v4, v8 = e.get("vs_int4"), e.get("vs_int8")
        c4 = (f"{_f(v4.get('area_reduction_pct'))} % / {_f(v4.get('area_x_cycles_ratio'), 3)}× / "
              f"{_ratios(v4, 'energy_ratio')}×") if v4 else "–"
        c8 = (f"{_f(v8.get('area_reduction_pct'))} % / {_f(v8.get('grid_area_reduction_pct'))} % / "
              f"{_ratios(v8, 'efficiency_x')}×") if v8 else "–"
        L.append(f"| {e['size']} | {e['dataflow']} | {name} | {_f(e['area_um2'])} | "
                 f"{_f(e.get('flip_flops'))} | {_f(e.get('fmax_mhz'), 0)} | "
                 f"{_f(e.get('cycles_per_mac'))} | {_f(e.get('area_x_cycles'), 0)} | "
                 f"{_f(e.get('energy_per_mac_fj'), 1)} / {_f(e.get('glitch_energy_per_mac_fj'), 1)} / "
                 f"{_f(e.get('gated_glitch_energy_per_mac_fj'), 1)} | {c4} | {c8} |")
    L.append("\nEvery multiplier-free variant is compared with the binary arrays of the **same size "
             "and dataflow**. Energy/MAC covers a whole workload (weight-tile loads, streaming, "
             "drain; 3 tiles × 64 real token vectors); cycles/vector = the MAC window T measured "
             "in that run; area×cycles = area × cycles/vector (÷ R·C for per MAC; the ratios are "
             "the same). Energy ratio = this ÷ INT8xINT4 (below 1 is better); efficiency = "
             "INT8xINT8 ÷ this. PE grid = the PEs plus the select row heads. Zero-delay counts "
             "settled transitions only; unit-delay also counts hazards (glitches); clock gating: "
             "one ICG per enable net of ≥ 4 flip-flops (docs/synth.md).\n")
    hf = [e for e in rep["fineq"] if e.get("status") == "ok" and e["size"] == "16x16"
          and (e.get("high_fanout_nets") or {}).get("nets")]
    if hf:
        L.append("**Broadcast and other high-fanout nets** (fanout > 8; the timing model buffers "
                 "them, the energy model charges the NanGate45 wire-load capacitance of their "
                 "fanout). Energy per MAC on that wire capacitance and per extra µm of wire on "
                 "every such net, unit-delay toggles (docs/fineq_rtl.md scales it to row "
                 "length):\n")
        L.append("| 16x16 design | nets | mean fanout | wire-load cap fF (sum) | toggles/MAC | "
                 "wire energy fJ/MAC | fJ/MAC per µm | critical path |\n"
                 "|---|---:|---:|---:|---:|---:|---:|---|")
        for e in hf:
            h = e["high_fanout_nets"]
            u = h.get("unit-delay") or h.get("zero-delay") or {}
            cp = e.get("critical_path") or {}
            L.append(f"| {e['design']} | {h['nets']} | {_f(h.get('mean_fanout'), 1)} | "
                     f"{_f(h.get('wire_cap_ff'), 0)} | {_f(u.get('toggles_per_mac'), 2)} | "
                     f"{_f(u.get('wire_energy_per_mac_fj'), 2)} | "
                     f"{_f(u.get('energy_per_mac_per_um_fj'), 4)} | "
                     f"{_f(cp.get('critical_path_ns'), 3)} ns, {cp.get('path_from')} → "
                     f"{cp.get('path_to')} |")
        L.append("")
    w = rep.get("fineq_windows")
    if w:
        L.append(f"**Window T over every {w['size']} tile** ({w['tiles']} tiles of "
                 f"{', '.join(w['layers'])}; {w['source']}):\n")
        L.append("| coding | T histogram (T: tiles) | mean T |\n|---|---|---:|")
        for c, h in w["codings"].items():
            L.append(f"| {c} | " + ", ".join(f"{t}: {n}" for t, n in h.items())
                     + f" | {w['mean'][c]} |")
        L.append(f"| INT8xINT4 / INT8xINT8 | 1: {w['tiles']} | 1 |")
        L.append("")
    return L


def _system_md(sy: dict) -> list[str]:
    """Section 3: inference energy per token (synth/system, docs/synth.md)."""
    L = ["## 3. Inference energy per token (system model, synth/system)\n"]
    if sy.get("status") != "ok":
        return L + [f"{sy.get('status', 'not computed')}\n"]
    a = sy["assumptions"]
    reuse = "once per token" if a["weight_reuse"] == 1 else f"once per {a['weight_reuse']} tokens"
    L.append(f"Datapath and quantizer: gate-level energies of this report ({sy['gate_level']['source']}), "
             f"scaled by the anchor: FP8-only lane energy per MAC = {a['anchor_pj_per_mac']} pJ "
             f"({a['anchor_source']}). Memory: {a['memory_source']}; weight SRAM {a['weight_sram']}, "
             f"activation SRAM {a['act_sram']}, DRAM {a['dram_pj_per_64b']} pJ per 64 bits, "
             f"{a['lanes']} output channels per activation read, weights read from SRAM "
             f"{reuse}. "
             "Linear layers only (no attention products, KV cache, embeddings or LM head). "
             "µJ per token; assumptions: docs/synth.md.\n")
    for m in sy["models"].values():
        if m.get("status") != "ok":
            L.append(f"{m.get('status')}\n")
            continue
        L.append(f"**{m['name']}** ({m['layers']} layers, {m['macs_per_token']:,} MACs per token; "
                 f"batch {m['batch']}: {m['batch_reason']}; shapes: {m['source']})\n")
        L.append("| design | p | datapath | act. quantizer | weight SRAM | DRAM | activation SRAM | "
                 "total | vs all-FP8 | quantizer / datapath |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in m["rows"]:
            p = "–" if r["p"] is None else r["p"]
            if r["status"] != "ok":
                L.append(f"| {r['design']} | {p} | {r['status']} | | | | | | | |")
                continue
            aq = r.get("act_quant_pct_of_datapath")
            L.append(f"| {r['design']} | {p} | {_f(r['datapath_uj'], 3)} | {_f(r['act_quant_uj'], 4)} | "
                     f"{_f(r['weight_sram_uj'], 2)} | {_f(r['dram_uj'], 2)} | {_f(r['act_sram_uj'], 3)} | "
                     f"**{_f(r['total_uj'], 2)}** | {-r['reduction_pct']:+.1f} % | "
                     f"{_f(aq, 3) + ' %' if aq is not None else '–'} |")
        s = m.get("sensitivity")
        if s:
            L.append(f"\nSensitivity at p = {s['p']} (µJ per token, all-FP8 → FGMP, reduction):\n")
            L.append("| variant | all-FP8 | FGMP | reduction |\n|---|---:|---:|---:|")
            for r in s["rows"]:
                L.append(f"| {r['variant']} | {_f(r['fp8_uj'], 2)} | {_f(r['fgmp_uj'], 2)} | "
                         f"{r['reduction_pct']:.1f} % |")
            L.append(f"\nRange: {s['range'][0]:.1f} .. {s['range'][1]:.1f} %.")
        L.append("")
    return L


def _fgmp_lane_md(lanes: str, ent: dict) -> list[str]:
    """Markdown of one lane count: variants (area, fmax, latency), energy per block pair of
    every workload (three delay models) and vs fp8_vmac, mode-change costs, targets, and the
    per-unit energy of every workload."""
    vs = {k: v for k, v in ent.get("variants", {}).items() if v.get("status") == "ok"}
    if not vs:
        return []
    L = [f"### {lanes} lane(s)\n",
         "| variant | area µm² | vs fp8_vmac | flip-flops | fmax MHz | latency |",
         "|---|---:|---:|---:|---:|---:|"]
    for k, v in vs.items():
        L.append(f"| {v['label']} | {_f(v['area_um2'])} | {_f(v.get('area_ratio'), 3)} | "
                 f"{_f(v['flip_flops'])} | {_f(v['fmax_mhz'], 0)} | {_f(v.get('latency'))} |")
    names = []
    for v in vs.values():
        names += [n for n in v.get("per_block_pair_fj", {}) if n not in names]
    L.append("\nEnergy per block pair, fJ: zero-delay / unit-delay / unit-delay + clock gating "
             "(in brackets: unit-delay ÷ fp8_vmac on the same data, all FP8)\n")
    L.append("| workload | " + " | ".join(v["label"] for v in vs.values()) + " |")
    L.append("|---|" + "---:|" * len(vs))
    for n in names:
        cells = []
        for k, v in vs.items():
            r = v.get("per_block_pair_fj", {}).get(n)
            if not r or r.get("status") != "ok":
                cells.append("–" if not r else r.get("status", "–"))
                continue
            rat = v.get("vs_fp8", {}).get(n, {}).get("unit-delay")
            cells.append(" / ".join(_f(r.get(m), 0) for m in _MODELS)
                         + (f" ({rat:.3f})" if rat is not None else ""))
        L.append(f"| {n} | " + " | ".join(cells) + " |")
    for k, v in vs.items():
        for p in FGMP_P:
            for o in FGMP_ORDERS:
                red = v.get("reduction_" + fgmp_p_name(p, o))
                if red:
                    L.append(f"\n{v['label']}: saving vs fp8_vmac at p = {p}, {o} block-pair "
                             f"order{' (headline)' if o == FGMP_ORDER else ''}: "
                             + ", ".join(f"{m} {x} %" for m, x in red.items()))
        if v.get("mode_change_fj"):
            L.append(f"\n{v['label']}: mode-change cost per block pair (alternating − mean of the "
                     "two modes repeated), unit-delay: " + ", ".join(
                         f"{n[4:]} {c.get('unit-delay')} fJ" for n, c in v["mode_change_fj"].items()))
    if ent.get("act_quant_fraction"):
        L.append("\nActivation quantizer per block vs the dot products using it: " + "; ".join(
            f"{m}: {v['layer_pct']} % of the layer's {ent.get('layer_outputs')} channels "
            f"({v['vs_one_block_pair_pct']} % of one block pair)"
            for m, v in ent["act_quant_fraction"].items()))
    if ent.get("targets"):
        L.append("\n| issue 11 target | goal | ours (default shared) | status | margin | per variant |")
        L.append("|---|---|---:|---|---:|---|")
        for c in ent["targets"]:
            L.append(f"| {c['claim']} | {c['goal']} | {_f(c['ours'], 3)} | **{c['status']}** | "
                     f"{_f(c['margin'], 3)} | {c['note']} |")
    for k, v in vs.items():
        pu = v.get("per_unit_fj") or {}
        if not pu:
            continue
        units = sorted({u for w in pu.values() for u in w})
        L.append(f"\nWhere the energy goes: {v['label']}, fJ per block pair, unit-delay "
                 "(zero-delay in brackets)\n")
        L.append("| workload | " + " | ".join(units) + " |")
        L.append("|---|" + "---:|" * len(units))
        for n, w in pu.items():
            L.append(f"| {n} | " + " | ".join(
                f"{_f(w.get(u, {}).get('unit-delay'), 0)} ({_f(w.get(u, {}).get('zero-delay'), 0)})"
                for u in units) + " |")
    L.append("")
    return L


def markdown(rep: dict) -> str:
    L = [f"# Synthesis, area, timing and energy report\n"]
    if rep.get("synthetic"):
        L.append("**SYNTHETIC DATA** (`--synthetic`): the energy workloads and the weight memory "
                 "use seeded random data, not all-MiniLM-L6-v2. No figure below that depends on "
                 "data (energy, weight memory, claims) measures the papers' workloads.\n")
    data = "seeded random (SYNTHETIC)" if rep.get("synthetic") else "real all-MiniLM-L6-v2"
    L.append(f"Yosys {rep['yosys_version']}, liberty `{rep['liberty']}` (NAND2 = {rep['nand2_area_um2']} µm²), "
             f"{'full' if rep['full'] else 'default'} set, {rep['wall_seconds']:.0f} s wall time. "
             f"Energy: zero-delay gate-level toggle simulation on {data} data, "
             "switched-capacitance model of docs/synth.md, relative units (fJ at 1.1 V).\n")
    L += fineq_markdown(rep)
    fg = rep["fgmp"]
    L.append("## 2. FGMP: VMAC datapaths vs FP8-only VMAC\n")
    L.append("Status: " + ", ".join(f"{k} {v}" for k, v in fg["status"].items()) + "\n")
    for lanes, ent in fg["lanes"].items():
        L += _fgmp_lane_md(lanes, ent)
    if fg.get("act_quant_area_um2"):
        L.append(f"Activation quantizer: {_f(fg['act_quant_area_um2'])} µm²; energy per block "
                 + ", ".join(f"{m} {v} fJ" for m, v in fg.get("act_quant_per_block_fj", {}).items())
                 + f"; FP4 fraction {fg.get('act_quant_fp4_fraction')}\n")
    L.append("| weight memory | value |\n|---|---|")
    mem = fg.get("memory", {})
    for p, m in mem.get("points", {}).items():
        L.append(f"| weight memory at p = {p} (FP4 fraction {m['fp4_fraction']}) | "
                 f"{m['bits_per_element']} bits/element vs 8: −{m['saving_pct']} % |")
    L.append("")
    L += _system_md(rep.get("system") or {})
    L.append("## 4. Paper claims vs our measurement\n")
    L.append("| source | claim | goal | ours | status | margin | note |\n|---|---|---|---|---|---|---|")
    for c in rep["claims"]:
        L.append(f"| {c['source']} | {c['claim']} | {c['goal']} | "
                 f"{_f(c['ours'], 2) + ' ' + c['unit'] if c['ours'] is not None else '–'} | "
                 f"**{c['status']}** | {_f(c['margin'], 2) if c['margin'] is not None else '–'} | {c['note']} |")
    L.append("\nStatus compares our figure rounded to the precision the paper states (38.59 % counts as "
             "38.6 %); margin = ours − goal unrounded (goal − ours for an upper bound).")
    L.append("")
    L.append("## 5. Every design\n")
    L.append("| design | block | status | generic cells | transistors | lib cells | area µm² | NAND2-eq | "
             "flip-flops | critical path ns | depth | yosys s |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rep["rows"]:
        if r["status"] != "ok":
            L.append(f"| {r['key']} | {r['block']} | {r['status']}{': ' + r['error'] if r.get('error') else ''} | | | | | | | | | |")
            continue
        s = r["synth"]
        L.append(f"| {r['key']} | {r['block']} | ok | {_f(s['cells'])} | {_f(s['transistors'])} | "
                 f"{_f(s['lib_cells'])} | {_f(s['area_um2'])} | {_f(s['nand2_eq'], 0)} | {_f(s['flip_flops'])} | "
                 f"{s['timing']['critical_path_ns']:.3f} | {s['timing']['logic_depth']} | {_f(s.get('yosys_seconds'))} |")
    L.append("\n## 6. Per-unit breakdown (from the instance paths of the hierarchical netlist)\n")
    L.append("Units are the design's unit modules (rtl/hierarchy.py) with instance indices removed "
             "(`pe` = all PEs, `lane/round` = the rounder of every lane); `(top level)` is the "
             "control and glue logic of the top module. Energy per operation of the workload named "
             "(MAC, block pair or block), clock energy included in each unit; worst path = the "
             "longest path ending at the unit's flip-flops. The total row equals the design's "
             "totals.\n")
    for b in rep.get("breakdown", []):
        if b is None:
            continue
        models = [m for _, _, m in UNIT_ENERGY_FIELDS if m in b["total"]]
        L.append(f"**{b['label']}** (`{b['key']}`" + (f", energy on `{b['workload']}`, fJ per "
                                                       f"{b['per']}" if models else "") + ")\n")
        L.append("| unit | instances | area µm² | area % | flip-flops | worst path ns | "
                 + " | ".join(f"energy {m}" for m in models) + (" |" if models else "|"))
        L.append("|---|---:|---:|---:|---:|---:|" + "---:|" * len(models))
        for u in b["units"] + [b["total"]]:
            name = f"**{u['unit']}**" if u is b["total"] else u["unit"]
            L.append(f"| {name} | {_f(u['instances'])} | {_f(u['area_um2'])} | {_f(u['area_pct'])} | "
                     f"{_f(u['flip_flops'])} | {_f(u['critical_path_ns'], 3)} | "
                     + " | ".join(_f(u.get(m), 1) for m in models) + (" |" if models else "|"))
        if not b["consistent"]:
            L.append("\n**The units do not add up to the design totals: a flow bug.**")
        L.append("")
    rd = rep.get("ranking_detail", {})
    L.append(f"Cross-check (area ranking, transistors vs liberty µm²): "
             f"**{'same' if rep['ranking_consistent'] else 'different'}** over all {rep['ranking_n']} designs; "
             "per comparison family: " + ", ".join(
                 f"{f} {'same' if v['same'] else 'DIFFERENT'} ({v['designs']})" for f, v in rd.get("by_family", {}).items())
             + ".")
    for pr in rd.get("discordant_pairs", []):
        L.append(f"- ordered differently: {pr['a']} vs {pr['b']}: transistors {pr['transistors']}, "
                 f"µm² {pr['area_um2']}, flip-flops {pr['flip_flops']} (a DFF is 16 transistors in "
                 "`stat -tech cmos` but 5.7 NAND2 = 22.7 transistor-equivalents of area in the "
                 "liberty: flip-flop-heavy designs weigh more in µm²)")
    L.append("")
    if rep.get("library_ranking"):
        L.append(library_ranking_markdown(rep["library_ranking"]))
    if rep.get("plots"):
        L.append("## Plots\n")
        for p in rep["plots"]:
            L.append(f"![{p}](plots/{p})")
    return "\n".join(L) + "\n"




#: designs whose per-unit table `make area` also prints on the console: every 16x16 FineQ
#: array (synth.designs, _console_breakdown) and the FGMP blocks
CONSOLE_BREAKDOWN = ("fgmp/vmac/1", "fgmp/vmac_split/1", "fgmp/fp8_vmac/1", "fgmp/vmac/4",
                     "fgmp/vmac_split/4", "fgmp/fp8_vmac/4", "fgmp/act_quant")


def _console_breakdown(key: str) -> bool:
    return key in CONSOLE_BREAKDOWN or (key.startswith("fineq/") and key.endswith("/16x16"))


def print_breakdown(b: dict) -> None:
    models = [m for _, _, m in UNIT_ENERGY_FIELDS if m in b["total"]]
    short = {"zero-delay": "E zd", "unit-delay": "E ud", "unit-delay + clock gating": "E ud+cg"}
    print(f"\nPer-unit breakdown: {b['label']} ({b['key']})"
          + (f"; energy fJ per {b['per']} on {b['workload']}" if models else ""))
    print(f"{'unit':28s} {'inst':>5s} {'area um2':>11s} {'area%':>6s} {'FFs':>6s} {'path ns':>8s}"
          + "".join(f" {short[m]:>9s}" for m in models))
    for u in b["units"] + [b["total"]]:
        print(f"{u['unit']:28s} {_f(u['instances']):>5s} {_f(u['area_um2']):>11s} "
              f"{_f(u['area_pct']):>6s} {_f(u['flip_flops']):>6s} {_f(u['critical_path_ns'], 3):>8s}"
              + "".join(f" {_f(u.get(m), 1):>9s}" for m in models))
    if not b["consistent"]:
        print("  the units do not add up to the design totals (flow bug)")


def print_fineq(rep: dict) -> None:
    print("\nFineQ: multiplier-free arrays vs binary arrays of the same dataflow "
          "(ratios: this / INT8xINT4; efficiency: INT8xINT8 / this)")
    print(f"{'size':6s} {'dataflow':9s} {'design':36s} {'area um2':>10s} {'FFs':>6s} {'fmax':>5s} "
          f"{'cyc':>4s} {'E zd':>7s} {'E ud':>7s} {'E ud+cg':>7s} {'axc/i4':>6s} {'E/i4':>5s} "
          f"{'red/i8':>6s} {'eff/i8':>6s}")
    for e in rep["fineq"]:
        if e.get("status") != "ok":
            print(f"{e['size']:6s} {e['dataflow']:9s} {e['design']:36s} {e.get('status')}")
            continue
        v4, v8 = e.get("vs_int4") or {}, e.get("vs_int8") or {}
        cg = "unit-delay + clock gating"
        print(f"{e['size']:6s} {e['dataflow']:9s} {e['design']:36s} {e['area_um2']:10,.0f} "
              f"{_f(e.get('flip_flops')):>6s} {_f(e.get('fmax_mhz'), 0):>5s} {_f(e.get('cycles_per_mac')):>4s} "
              f"{_f(e.get('energy_per_mac_fj'), 1):>7s} {_f(e.get('glitch_energy_per_mac_fj'), 1):>7s} "
              f"{_f(e.get('gated_glitch_energy_per_mac_fj'), 1):>7s} "
              f"{_f(v4.get('area_x_cycles_ratio'), 3):>6s} "
              f"{_f(v4.get('energy_ratio', {}).get(cg), 2):>5s} "
              f"{_f(v8.get('area_reduction_pct')):>6s} {_f(v8.get('efficiency_x', {}).get(cg), 2):>6s}")
    w = rep.get("fineq_windows")
    if w:
        print(f"\nWindow T over every {w['size']} tile of the four MiniLM matrices "
              f"({w['tiles']} tiles): " + "; ".join(
                  f"{c}: " + ", ".join(f"T={t} in {n} tiles" for t, n in h.items())
                  + f" (mean {w['mean'][c]})" for c, h in w["codings"].items())
              + "; binary: T = 1")


def print_tables(rep: dict) -> None:
    if rep.get("synthetic"):
        print("\nSYNTHETIC DATA (--synthetic): energy and weight memory use seeded random data")
    print(f"\nEvery design (one or more per registered block)\n"
          f"{'design':22s} {'block':15s} {'cells':>9s} {'transistors':>12s} {'area um2':>11s} "
          f"{'flip-flops':>10s} {'fmax MHz':>9s}")
    for r in rep["rows"]:
        if r["status"] != "ok":
            print(f"{r['key']:22s} {r['block']:15s} {r['status']}")
            continue
        sy = r["synth"]
        fmax = (sy.get("timing") or {}).get("fmax_mhz")
        print(f"{r['key']:22s} {r['block']:15s} {sy['cells']:9,d} {sy['transistors']:12,d} "
              f"{sy['area_um2']:11,.1f} {sy['flip_flops']:10,d} {_f(fmax, 1):>9s}")
    print_fineq(rep)
    fg = rep["fgmp"]
    print("\nFGMP:", ", ".join(f"{k} {v}" for k, v in fg["status"].items()))
    for lanes, ent in fg["lanes"].items():
        vs = {k: v for k, v in ent.get("variants", {}).items() if v.get("status") == "ok"}
        if not vs:
            continue
        print(f"\nFGMP VMAC, {lanes} lane(s): energy per block pair fJ zero-delay / unit-delay / "
              "+clock gating [unit-delay / fp8_vmac]")
        lw = max(len("variant"), *(len(v["label"]) for v in vs.values()))   # never cut a name
        print(f"  {'variant':{lw}s} {'area um2':>10s} {'vs fp8':>7s} {'fmax':>6s} {'lat':>4s}")
        for k, v in vs.items():
            print(f"  {v['label']:{lw}s} {v['area_um2']:10,.0f} {_f(v.get('area_ratio'), 3):>7s} "
                  f"{_f(v['fmax_mhz'], 0):>6s} {_f(v.get('latency')):>4s}")
        for k, v in vs.items():
            for n, r in v.get("per_block_pair_fj", {}).items():
                if r.get("status") == "ok":
                    rat = v.get("vs_fp8", {}).get(n, {}).get("unit-delay")
                    print(f"  {v['label']:{lw}s} {n:26s} " + " / ".join(
                        _f(r.get(m), 0) for m in _MODELS) + (f"  [{rat:.3f}]" if rat else ""))
            for p in FGMP_P:
                for o in FGMP_ORDERS:
                    red = v.get("reduction_" + fgmp_p_name(p, o))
                    if red:
                        print(f"  {v['label']:{lw}s} saving vs fp8_vmac at p={p} ({o}): "
                              + _per_model(red, " %"))
            for n, c in (v.get("mode_change_fj") or {}).items():
                print(f"  {v['label']:{lw}s} mode-change cost {n[4:]}: " + _per_model(c, " fJ"))
        tw = max((len(c["claim"]) for c in ent.get("targets", [])), default=0)
        for c in ent.get("targets", []):
            print(f"  target {c['claim']:{tw}s} goal {c['goal']:>10s} ours {_f(c['ours'], 3):>8s}"
                  f"  {c['status']} (margin {_f(c['margin'], 3)}); {c['note']}")
        if ent.get("act_quant_fraction"):
            aq = ent["act_quant_fraction"]
            print(f"  {lanes} lane(s) act_quant energy per activation block / one block pair: "
                  + _per_model({m: r.get("vs_one_block_pair_pct") for m, r in aq.items()}, " %"))
            print(f"  {lanes} lane(s) act_quant energy / the layer's dot products: "
                  + _per_model({m: r.get("layer_pct") for m, r in aq.items()}, " %"))
    for p, m in fg.get("memory", {}).get("points", {}).items():
        print(f"  weight memory p={p}: {m['bits_per_element']} bits/element, -{m['saving_pct']} % vs FP8")
    for b in rep.get("breakdown", []):
        if b and _console_breakdown(b["key"]):
            print_breakdown(b)
    sy = rep.get("system") or {}
    print(f"\nInference energy per token (synth/system; uJ): {sy.get('status')}")
    if sy.get("status") == "ok":
        from .system import table_lines
        print("\n".join("  " + line for line in table_lines(sy)))
    print("\nClaims")
    sw = max((len(c["source"]) for c in rep["claims"]), default=0)
    for c in rep["claims"]:
        ours = f"{c['ours']:.2f} {c['unit']}" if c["ours"] is not None else "-"
        # long claims wrap (whole words) instead of being cut; the figures follow the last line
        text = textwrap.wrap(c["claim"], 64, break_on_hyphens=False) or [""]
        src = [c["source"]] + [""] * (len(text) - 1)
        for s, line in zip(src, text[:-1]):
            print(f"  {s:{sw}s} {line}")
        print(f"  {src[-1]:{sw}s} {text[-1]:64s} goal {c['goal']:>10s}  ours {ours:>10s}  "
              f"{c['status']}")
    rd = rep.get("ranking_detail", {})
    print(f"\nranking transistors vs liberty area: {'same' if rep['ranking_consistent'] else 'different'} "
          f"over all {rep['ranking_n']} designs; per family: "
          + ", ".join(f"{f} {'same' if v['same'] else 'DIFFERENT'}" for f, v in rd.get("by_family", {}).items()))
    for pr in rd.get("discordant_pairs", []):
        print(f"  ordered differently: {pr['a']} vs {pr['b']} (transistors "
              + " vs ".join(_f(x) for x in pr["transistors"]) + ", µm² "
              + " vs ".join(_f(x) for x in pr["area_um2"]) + ", flip-flops "
              + " vs ".join(_f(x) for x in pr["flip_flops"]) + ")")




def library_ranking_markdown(lr: dict) -> str:
    """The area ranking of synth.tables.library_ranking as markdown: one table per family, the
    libraries side by side, and a sentence saying whether the rankings agree."""
    L = ["## Area ranking under each cell library\n"]
    if len(lr.get("libraries", [])) < 2:
        L.append("Only one library in the results (`make sweep` synthesizes the FineQ and FGMP "
                 "designs under mpaccel45 and sky130hd).\n")
        return "\n".join(L) + "\n"
    L.append("µm² from each library's cell areas (mpaccel45: NanGate45 X1; sky130hd: SkyWater "
             "130 nm LEF sizes); rank 1 = smallest within the family; ratio = area / area under "
             "the first library. Only areas are compared: sky130hd has no real timing or power "
             "data.\n")
    for fam, f in lr["families"].items():
        libs = f["libraries"]
        if len(libs) < 2 or not f["designs"]:
            L.append(f"**{fam}**: not synthesized under every library yet.\n")
            continue
        L.append(f"**{fam}**\n")
        L.append("| design | " + " | ".join(f"µm² {l} | rank {l}" for l in libs) + " | "
                 + " | ".join(f"ratio {l}" for l in libs[1:]) + " |")
        L.append("|---|" + "---:|---:|" * len(libs) + "---:|" * (len(libs) - 1))
        for e in f["designs"]:
            L.append(f"| {e['design']} | " + " | ".join(f"{_f(e['area_um2'][l])} | {e['rank'][l]}" for l in libs)
                     + " | " + " | ".join(f"{e['ratio'][l]:.2f}" for l in libs[1:]) + " |")
        if f["same"]:
            L.append(f"\nSame ranking under {' and '.join(libs)} ({len(f['designs'])} designs).\n")
        else:
            L.append(f"\n**The ranking differs** ({len(f['differences'])} pair(s) ordered differently):")
            for d in f["differences"]:
                l0, l1 = d["libraries"]
                L.append(f"- {d['a']} vs {d['b']}: {_f(d['a_um2'][0])} vs {_f(d['b_um2'][0])} µm² "
                         f"under {l0}, {_f(d['a_um2'][1])} vs {_f(d['b_um2'][1])} µm² under {l1}")
            L.append("")
        if f["missing"]:
            L.append(f"Not under every library yet (not ranked): {', '.join(f['missing'])}.\n")
    return "\n".join(L) + "\n"
