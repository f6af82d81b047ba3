"""PNG plots: of a report dict (synth.report: FineQ area and energy per MAC against array size,
the 16x16 breakdown) and of the results database (synth.results: Pareto plots per family).

Conventions, so that a plot reads at a glance: array sizes are the x ticks ("4×4", "8×8", ...);
one colour per design (the same design has the same colour in every plot, :func:`colour`); one
marker per delay model (:data:`MODEL_MARKERS`); units in every axis label; the Pareto front
(points no other point beats on both axes) is drawn as a step line.
"""
from __future__ import annotations

import json
from pathlib import Path

from .designs import FINEQ_DEFAULT
from .tables import energy_of

__all__ = ["plots", "database_plots", "colour", "MODEL_MARKERS", "pareto_front"]

#: delay model -> (marker, DB column, report field)
MODEL_MARKERS = {
    "zero-delay": ("o", "energy_zero_delay_fj_per_mac", "energy_per_mac_fj"),
    "unit-delay": ("s", "energy_unit_delay_fj_per_mac", "glitch_energy_per_mac_fj"),
    "unit-delay + clock gating": ("^", "energy_gated_fj_per_mac", "gated_glitch_energy_per_mac_fj"),
}
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#7b4173", "#3182bd",
            "#31a354", "#e6550d", "#756bb1", "#636363", "#bd9e39", "#ad494a", "#6baed6",
            "#fd8d3c", "#74c476", "#a55194", "#5254a3", "#8ca252", "#000000", "#c49c94"]
_FIXED = {"temporal_array coding=select dataflow=broadcast": 0,
          "binary_array dataflow=broadcast weight_bits=4": 2,
          "binary_array dataflow=broadcast weight_bits=8": 1,
          "temporal_array coding=csd dataflow=broadcast": 3, "vmac": 4, "fp8_vmac": 5}
_ASSIGNED: dict[str, str] = {}
SIZE_PARAMS = ("rows", "cols", "lanes")


def colour(design: str) -> str:
    """A fixed colour per design name (the FineQ and FGMP designs have reserved ones; any other
    design gets the next free colour, the same one for the whole process)."""
    if design in _FIXED:
        return _PALETTE[_FIXED[design]]
    if design not in _ASSIGNED:
        used = set(_FIXED.values()) | {_PALETTE.index(c) for c in _ASSIGNED.values()}
        free = [i for i in range(len(_PALETTE)) if i not in used] or list(range(len(_PALETTE)))
        _ASSIGNED[design] = _PALETTE[free[0]]
    return _ASSIGNED[design]


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated by any other (smaller or equal on both axes, smaller on one),
    sorted by x."""
    front, best = [], float("inf")
    for x, y in sorted(points):
        if y < best:
            front.append((x, y))
            best = y
    return front


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _size_axis(ax, sizes) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(sizes))
    ax.set_xticklabels([f"{n}×{n}" for n in sorted(sizes)])
    ax.minorticks_off()


def _plain(ax, axis="both") -> None:
    """Plain numbers on log axes ("1,000", not "10³"; "4", not "4×10⁰")."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")
    for a in ([ax.xaxis, ax.yaxis] if axis == "both" else [getattr(ax, f"{axis}axis")]):
        a.set_major_formatter(fmt)
        a.set_minor_formatter(NullFormatter())


def _legend(ax, models=(), designs=(), extra=(), outside: bool = True, loc="upper left") -> None:
    """One legend: the designs (their colour), then the delay models (their marker), then
    ``extra`` handles; outside the axes on the right unless ``outside`` is False."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colour(n), marker="o", ls="-", label=n) for n in designs]
    handles += [Line2D([], [], color="black", marker=MODEL_MARKERS[m][0], ls="", label=m) for m in models]
    handles += list(extra)
    kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if outside else {"loc": loc}
    ax.legend(handles=handles, fontsize=7, title="design · delay model" if models else "design",
              title_fontsize=7, **kw)


# ------------------------------------------------------------------------------------------------
# report plots
# ------------------------------------------------------------------------------------------------

def plots(rep: dict, out: Path) -> list[str]:
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    names = []
    lib = Path(str(rep.get("liberty", "mpaccel45"))).stem
    # against size: the default FineQ variant and the binary arrays of its dataflow (the other
    # variants are built at 16x16 only)
    fq = [e for e in rep["fineq"] if e.get("status") == "ok" and e.get("dataflow") == FINEQ_DEFAULT[1]
          and e.get("kind") in (FINEQ_DEFAULT[0], "int4", "int8")]
    if fq:
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [1, 1.25]})
        sizes = sorted({int(e["size"].split("x")[0]) for e in fq})
        models_seen = []
        for label in dict.fromkeys(e["design"] for e in fq):
            pts = sorted((int(e["size"].split("x")[0]), e) for e in fq if e["design"] == label)
            c = colour(label)
            axes[0].plot([n for n, _ in pts], [e["area_um2"] for _, e in pts], marker="o", color=c,
                         label=label)
            for model, (marker, _, field) in MODEL_MARKERS.items():
                ys = [(n, e[field]) for n, e in pts if e.get(field)]
                if ys:
                    axes[1].plot([a for a, _ in ys], [b for _, b in ys], marker=marker, color=c,
                                 ls="-" if model == "unit-delay" else ":", lw=1)
                    if model not in models_seen:
                        models_seen.append(model)
        axes[0].set(yscale="log", xlabel="array size (rows × columns)", ylabel=f"area (µm², {lib}; log scale)",
                    title="FineQ arrays: area")
        axes[1].set(xlabel="array size (rows × columns)", ylabel="energy per MAC (fJ, model)",
                    title="FineQ arrays: energy per MAC (real data; unit-delay solid)")
        for ax in axes:
            _size_axis(ax, sizes)
            ax.grid(True, alpha=0.3)
        _plain(axes[0], "y")
        axes[0].legend(fontsize=7, title="design", title_fontsize=7)
        _legend(axes[1], models_seen, dict.fromkeys(e["design"] for e in fq))
        fig.tight_layout()
        fig.savefig(out / "fineq_area_energy.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("fineq_area_energy.png")
    rows16 = [r for r in rep["rows"] if r["status"] == "ok" and r["family"] == "fineq"
              and r["params"].get("rows") == 16]
    if rows16:
        groups = sorted({g for r in rows16 for g in r["synth"]["groups"]})
        cmap = plt.get_cmap("tab20")
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        labels = [r["label"] for r in rows16]
        for ax, what in zip(axes, ("area", "energy")):
            bottom = [0.0] * len(rows16)
            for gi, g in enumerate(groups):
                vals = []
                for r in rows16:
                    if what == "area":
                        vals.append(r["synth"]["groups"].get(g, {}).get("area_um2", 0.0))
                    else:
                        e = energy_of(r)
                        vals.append((e["by_group_fj"].get(g, 0.0) / e["macs"]) if e else 0.0)
                ax.bar(labels, vals, bottom=bottom, label=g, color=cmap(gi % 20))
                bottom = [b + v for b, v in zip(bottom, vals)]
            ax.set_ylabel(f"area (µm², {lib})" if what == "area" else "energy per MAC (fJ, zero-delay)")
            ax.set_title(f"16×16 arrays: {what} by unit")
            ax.tick_params(axis="x", labelsize=7)
            plt.setp(ax.get_xticklabels(), rotation=55, ha="right", rotation_mode="anchor")
            _plain(ax, "y")
        axes[1].legend(fontsize=7, title="unit", title_fontsize=7, loc="upper left",
                       bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(out / "fineq_breakdown_16x16.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("fineq_breakdown_16x16.png")
    return names


# ------------------------------------------------------------------------------------------------
# database plots
# ------------------------------------------------------------------------------------------------

def _design_name(block: str, params: dict) -> str:
    """A design without its size: block + the parameters that are not a size and differ from
    the block's default (``vmac datapath=split``; the default ``vmac`` is just ``vmac``); the
    arrays always show what tells them apart (coding, dataflow / weight_bits, dataflow)."""
    from rtl.registry import BlockError, get_block
    try:
        default = get_block(block).resolve({})
    except (BlockError, KeyError, ValueError):
        default = {}
    always = {"temporal_array": ("coding", "dataflow"),
              "binary_array": ("weight_bits", "dataflow")}.get(block, ())
    keep = {k: v for k, v in sorted(params.items()) if k not in SIZE_PARAMS
            and (k in always or default.get(k, object()) != v)}
    if block == "binary_array":
        keep = {k: v for k, v in keep.items() if k in always}
    return " ".join([block] + [f"{k}={v}" for k, v in keep.items()])


def _db_points(conn, library: str):
    """{(design name, size): {"area", "block", "params", "energy": {workload: row}}} of the
    current flow's ok points under ``library`` (points that differ only in their energy
    workloads are merged)."""
    from .flow import flow_id
    from .results import energy_rows, query
    pts = query(conn, library=library, status="ok", flow_id=flow_id())
    energies: dict[str, list] = {}
    for e in energy_rows(conn, [p["point_key"] for p in pts]):
        energies.setdefault(e["point_key"], []).append(e)
    out: dict[tuple, dict] = {}
    for p in pts:
        params = json.loads(p["params"])
        size = params.get("rows") if "rows" in params else params.get("lanes")
        ent = out.setdefault((_design_name(p["block"], params), size),
                             {"area": p["area_um2"], "block": p["block"], "params": params,
                              "family": p["family"], "energy": {}})
        for e in energies.get(p["point_key"], []):
            if e["status"] == "ok":
                ent["energy"][e["workload"]] = e
    return out


def _scatter_pareto(ax, items, model: str) -> None:
    marker, col, _ = MODEL_MARKERS[model]
    xy = []
    for name, size, area, e in items:
        y = e.get(col)
        if y is None:
            continue
        ax.scatter(area, y, marker=marker, color=colour(name), s=36, zorder=3)
        ax.annotate(size if isinstance(size, str) else f"{size}×{size}",
                    (area, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        xy.append((area, y))
    front = pareto_front(xy)
    if len(front) > 1:
        ax.step([x for x, _ in front], [y for _, y in front], where="post", color="grey", lw=0.8,
                ls="--", zorder=2)


def database_plots(out: Path, db_path: Path | None = None, library: str = "mpaccel45") -> list[str]:
    """Pareto plots of the results database (current flow, ``library``) into ``out``:
    ``pareto_fineq.png`` (area vs energy per MAC), ``fineq_area_cycles.png`` (area × cycles
    per MAC window vs array size), ``pareto_fgmp.png`` (area vs energy per MAC) and
    ``fgmp_energy_vs_p.png``. Returns the names written."""
    from .results import open_db
    from infra import db as infra_db
    path = db_path or infra_db.default_path()
    if not Path(path).exists():
        return []
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    pts = _db_points(open_db(path), library)
    names = []

    fq = {k: v for k, v in pts.items() if v["block"] in ("temporal_array", "binary_array")}
    fq_models = [m for m in MODEL_MARKERS if any(MODEL_MARKERS[m][1] in v["energy"].get("minilm", {})
                                                   and v["energy"]["minilm"][MODEL_MARKERS[m][1]] is not None
                                                   for v in fq.values())]
    if fq and fq_models:
        fig, ax = plt.subplots(figsize=(9.5, 5))
        items = [(n, s, v["area"], v["energy"]["minilm"]) for (n, s), v in sorted(fq.items(), key=str)
                 if "minilm" in v["energy"]]
        for m in fq_models:
            _scatter_pareto(ax, items, m)
        ax.set(xscale="log", xlabel=f"area (µm², {library}; log scale)",
               ylabel="energy per MAC (fJ, model; real MiniLM data)",
               title="FineQ arrays: area vs energy per MAC\n(labels: array size; dashed: Pareto front per delay model)")
        _plain(ax, "x")
        ax.grid(True, which="both", alpha=0.3)
        _legend(ax, fq_models, dict.fromkeys(n for n, *_ in items))
        fig.tight_layout()
        fig.savefig(out / "pareto_fineq.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("pareto_fineq.png")

        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        sizes = set()
        for n in dict.fromkeys(n for n, _ in sorted(fq, key=str)):
            line = sorted((s, v["area"] * v["energy"]["minilm"]["window_t"]) for (nn, s), v in fq.items()
                          if nn == n and v["energy"].get("minilm", {}).get("window_t"))
            if line:
                sizes |= {s for s, _ in line}
                ax.plot([s for s, _ in line], [y for _, y in line], marker="o", color=colour(n), label=n)
        _size_axis(ax, sizes)
        ax.set(yscale="log", xlabel="array size (rows × columns)",
               ylabel=f"area × cycles per MAC window\n(µm² · cycles, {library}; log scale)",
               title="FineQ arrays: area × cycles (window T measured on real data)")
        _plain(ax, "y")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, title="design", title_fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "fineq_area_cycles.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("fineq_area_cycles.png")

    fg = {k: v for k, v in pts.items() if v["block"] in ("vmac", "fp8_vmac")}
    # the report's headline: p = 0.7 in the mode-grouped order against fp8_vmac in the same
    # permutation; points without those runs fall back to K order / all FP8
    head = {"vmac": ("p0.7_grouped", "p0.7"), "fp8_vmac": ("all_fp8_grouped_p0.7", "all_fp8")}
    items = []
    for (n, s), v in sorted(fg.items(), key=str):
        wl = next((w for w in head[v["block"]] if w in v["energy"]), None)
        if wl:
            items.append((n, f"{s} lane{'s' * (s != 1)}", v["area"], v["energy"][wl]))
    if items:
        fig, ax = plt.subplots(figsize=(9.5, 5))
        models = [m for m in MODEL_MARKERS if any(e.get(MODEL_MARKERS[m][1]) is not None for *_, e in items)]
        for m in models:
            _scatter_pareto(ax, items, m)
        ax.set(xlabel=f"area (µm², {library})", ylabel="energy per MAC (fJ, model; real MiniLM data)",
               title="FGMP VMACs: area vs energy per MAC (vmac at p = 0.7, fp8_vmac all FP8, both in the\n"
                     "mode-grouped block order; labels: lanes; dashed: Pareto front per delay model)")
        ax.grid(True, alpha=0.3)
        _plain(ax, "x")
        _legend(ax, models, dict.fromkeys(n for n, *_ in items))
        fig.tight_layout()
        fig.savefig(out / "pareto_fgmp.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("pareto_fgmp.png")

    vm = {k: v for k, v in fg.items() if v["block"] == "vmac"}
    if any(e["p"] is not None for v in vm.values() for e in v["energy"].values()):
        # one panel per lane count, one colour per datapath and block-pair order (K order;
        # mode-grouped, synth/stimulus.py: a workload's p alone does not name it), the
        # unit-delay line solid, the other delay models dotted
        lane_counts = sorted({lanes for _, lanes in vm})
        fig, axes = plt.subplots(1, len(lane_counts), figsize=(5.2 * len(lane_counts) + 3.5, 4.8),
                                 sharex=True, sharey=True, squeeze=False)
        models, handles = [], {}
        for ax, lanes in zip(axes[0], lane_counts):
            for (n, ln), v in sorted(vm.items(), key=str):
                if ln != lanes:
                    continue
                orders: dict[str, list] = {}
                for e in v["energy"].values():
                    if e["p"] is not None:
                        order = json.loads(e.get("args") or "{}").get("order", "natural")
                        orders.setdefault(order, []).append(e)
                for order, es in sorted(orders.items()):
                    series = f"{n}, {'K' if order == 'natural' else order} order"
                    ps = sorted(es, key=lambda e: e["p"])
                    for m, (marker, col, _) in MODEL_MARKERS.items():
                        line = [(e["p"], e[col]) for e in ps if e.get(col) is not None]
                        if not line:
                            continue
                        models += [m] if m not in models else []
                        h, = ax.plot([p for p, _ in line], [y for _, y in line], marker=marker,
                                     color=colour(series), ls="-" if m == "unit-delay" else ":",
                                     lw=1.2 if m == "unit-delay" else 0.8, ms=5)
                        if m == "unit-delay":
                            handles.setdefault(series, h)
            base = fg.get(("fp8_vmac", lanes), {}).get("energy", {}).get("all_fp8")
            if base and base.get("energy_unit_delay_fj_per_mac"):
                handles["fp8_vmac, all FP8 (unit-delay)"] = ax.axhline(
                    base["energy_unit_delay_fj_per_mac"], color="black", lw=1, ls="--")
            ax.set(xlabel="p (fraction of NVFP4 blocks)", title=f"{lanes} lane{'s' * (lanes != 1)}")
            ax.grid(True, alpha=0.3)
        axes[0][0].set_ylabel("energy per MAC (fJ, model; real MiniLM data)")
        fig.suptitle("FGMP VMAC: energy per MAC vs NVFP4 fraction p (unit-delay solid, "
                     "zero-delay and clock gating dotted)")
        from matplotlib.lines import Line2D
        extra = [Line2D([], [], color=h.get_color(), ls=h.get_linestyle(), label=k)
                 for k, h in handles.items()]
        _legend(axes[0][-1], models, extra=extra)
        fig.tight_layout()
        fig.savefig(out / "fgmp_energy_vs_p.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("fgmp_energy_vs_p.png")
    return names
