"""Energy per token from the synthesized designs' per-MAC / per-block-pair energies, read from
the results of ``make area`` (``build/synth/report.json``, docs/synth.md). Two delay models
of the gate-level toggle simulation: ``unit-delay`` (glitches counted, the report's headline)
and ``zero-delay`` (no glitches).

* FineQ: the ``temporal_array`` row of the same R x C (default coding/dataflow) on the MiniLM
  workload: energy per MAC x useful MACs (array only: the decoder/assembler and the cycles
  spent loading weights or draining are not charged, so this is a lower bound).
* FGMP: the 1-lane ``vmac`` energy per block pair of each mode (FP4xFP4 ... FP8xFP8) x the
  layer's useful block pairs of that mode, plus the ``act_quant`` energy per block x the
  activation blocks quantized.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["DELAY_MODELS", "load_report", "fineq_energy", "fgmp_energy"]

DELAY_MODELS = ("unit-delay", "zero-delay")
_FINEQ_KEY = {"unit-delay": "glitch_energy_per_mac_fj", "zero-delay": "energy_per_mac_fj"}


def load_report(path: Path) -> tuple[dict | None, str]:
    """(report, source) or (None, why not)."""
    try:
        return json.loads(Path(path).read_text()), str(path)
    except FileNotFoundError:
        return None, f"no make area results ({path} missing): energy not reported"
    except (OSError, ValueError) as e:
        return None, f"make area results unreadable ({path}: {e}): energy not reported"


def fineq_energy(report: dict, cfg, macs: int) -> tuple[dict | None, str]:
    want = {"rows": cfg.rows, "cols": cfg.cols, "coding": cfg.coding, "dataflow": cfg.dataflow}
    for row in report.get("rows", []):
        params = {"coding": "select", "dataflow": "broadcast", **(row.get("params") or {})}
        if row.get("block") == "temporal_array" and params == want:
            e = (row.get("energy") or {}).get("minilm") or {}
            if e.get("status") != "ok":
                break
            per = {m: e[_FINEQ_KEY[m]] for m in DELAY_MODELS}
            return ({m: per[m] * macs for m in DELAY_MODELS},
                    f"temporal_array {cfg.rows}x{cfg.cols} ({cfg.coding}, {cfg.dataflow}) "
                    "energy per MAC on MiniLM "
                    f"({per['unit-delay']:.1f} fJ unit-delay, {per['zero-delay']:.1f} fJ "
                    "zero-delay) x useful MACs; array only")
    return None, (f"the area report has no energy of temporal_array {cfg.rows}x{cfg.cols} "
                  f"({cfg.coding}, {cfg.dataflow})")


def fgmp_energy(report: dict, mode_pairs: dict[str, int], act_blocks: int
                ) -> tuple[dict | None, str]:
    fg = report.get("fgmp") or {}
    pairs = ((fg.get("lanes") or {}).get("1") or {}).get("vmac_per_block_pair_fj") or {}
    act = fg.get("act_quant_per_block_fj") or {}
    try:
        out = {}
        for m in DELAY_MODELS:
            out[m] = sum(n * pairs[f"mode_{mode}"][m] for mode, n in mode_pairs.items()) \
                + act_blocks * act[m]
    except KeyError as e:
        return None, f"the area report has no FGMP energy figure {e}"
    ud = ", ".join(f"{mode} {pairs[f'mode_{mode}']['unit-delay'] / 1e3:.1f}"
                   for mode in sorted(mode_pairs))
    return out, (f"1-lane default vmac energy per block pair by mode ({ud} pJ unit-delay) x "
                 f"useful block pairs + act_quant {act['unit-delay'] / 1e3:.1f} pJ unit-delay "
                 "per block x blocks")
