"""PNG plots of a report dict (synth.report): FineQ area and energy per MAC against array size
(the default variant and the binary arrays of its dataflow), and the 16x16 area / energy
breakdown by hierarchy group of every FineQ array."""
from __future__ import annotations

from pathlib import Path

from .designs import FINEQ_DEFAULT
from .tables import energy_of

__all__ = ["plots"]


def plots(rep: dict, out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    names = []
    fq = [e for e in rep["fineq"] if e.get("status") == "ok"]
    if fq:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        df = FINEQ_DEFAULT[1]
        for kind, marker in ((FINEQ_DEFAULT[0], "o"), ("int4", "s"), ("int8", "^")):
            pts = [(int(e["size"].split("x")[0]), e) for e in fq
                   if e["kind"] == kind and e["dataflow"] == df]
            label = pts[0][1]["design"] if pts else kind
            if not pts:
                continue
            xs = [p for p, _ in pts]
            axes[0].plot(xs, [e["area_um2"] for _, e in pts], marker=marker, label=label)
            ys = [(p, e["energy_per_mac_fj"]) for p, e in pts if e.get("energy_per_mac_fj")]
            if ys:
                axes[1].plot([a for a, _ in ys], [b for _, b in ys], marker=marker, ls="--",
                             label=label + " (zero-delay)")
            ys = [(p, e["glitch_energy_per_mac_fj"]) for p, e in pts if e.get("glitch_energy_per_mac_fj")]
            if ys:
                axes[1].plot([a for a, _ in ys], [b for _, b in ys], marker=marker,
                             label=label + " (unit-delay)")
        axes[0].set(xscale="log", yscale="log", xlabel="array size N (NxN)", ylabel="area (µm², mpaccel45)",
                    title="FineQ arrays: area")
        axes[1].set(xscale="log", xlabel="array size N (NxN)", ylabel="energy per MAC (fJ, model)",
                    title="FineQ arrays: energy per MAC (real data)")
        for ax in axes:
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "fineq_area_energy.png", dpi=110)
        plt.close(fig)
        names.append("fineq_area_energy.png")
    rows16 = [r for r in rep["rows"] if r["status"] == "ok" and r["family"] == "fineq"
              and r["params"].get("rows") == 16]
    if rows16:
        groups = sorted({g for r in rows16 for g in r["synth"]["groups"]})
        fig, axes = plt.subplots(1, 2, figsize=(14, 5))
        labels = [r["key"].split("/")[1] for r in rows16]
        for ax, what in zip(axes, ("area", "energy")):
            bottom = [0.0] * len(rows16)
            for g in groups:
                vals = []
                for r in rows16:
                    if what == "area":
                        vals.append(r["synth"]["groups"].get(g, {}).get("area_um2", 0.0))
                    else:
                        e = energy_of(r)
                        vals.append((e["by_group_fj"].get(g, 0.0) / e["macs"]) if e else 0.0)
                ax.bar(labels, vals, bottom=bottom, label=g)
                bottom = [b + v for b, v in zip(bottom, vals)]
            ax.set_ylabel("area (µm²)" if what == "area" else "energy per MAC (fJ)")
            ax.set_title(f"16x16 breakdown: {what}")
            ax.tick_params(axis="x", labelsize=7, labelrotation=60)
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "fineq_breakdown_16x16.png", dpi=110)
        plt.close(fig)
        names.append("fineq_breakdown_16x16.png")
    return names


