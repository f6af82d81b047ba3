"""Activity-based energy of a synthesized design on a workload (synth.stimulus).

The liberty-mapped netlist of the flow (``mapped.json``) is simulated by synth.gatesim on the
workload's streams; outputs must equal the golden expectation bit for bit (else
:class:`EnergyError`), toggles are weighted by switched capacitance (model in synth.gatesim and
docs/synth.md). Results are cached next to the flow result (infra.cache), keyed by the stimulus,
its arguments, the data it is made from and the code of :data:`ENERGY_CODE`.
"""
from __future__ import annotations

import statistics
import time
from typing import Any

from infra.cache import cache_key, cached_json
from rtl.generate import elaborate
from verif.payload import signature_shapes

from .flow import ROOT, load_library
from .gatesim import GateSim, StreamHarness, energy
from .liberty import VDD, WIRE_CAP_PER_UM, wire_cap
from .netlist import BUFFER_FANOUT, Netlist
from .stimulus import data_key, make_workload

__all__ = ["measure_energy", "EnergyError", "ENERGY_CODE"]

#: Code an energy figure comes from: the workload (stimulus, golden models, VMAC stream encoder),
#: the netlist reader and the gate-level simulator.
ENERGY_CODE = ("golden", "verif.payload", "verif.vectors.fgmp", "verif.vectors.fineq", "synth.stimulus",
               "synth.energy", "synth.gatesim",
               "synth.netlist", "synth.liberty")


class EnergyError(RuntimeError):
    pass


def high_fanout_nets(net: Netlist, sim: GateSim, macs: int) -> dict[str, Any]:
    """What the wire-load model charges for the nets with fanout > BUFFER_FANOUT (broadcast
    buses, control fanout): their number, mean fanout, the wire capacitance the model gives them,
    and per MAC the energy of that wire capacitance plus the energy one extra µm of wire on each
    of them would cost (zero-delay and unit-delay toggles). A reader scales the latter by a
    physical wire length (docs/fineq_rtl.md does, for the array rows)."""
    nets = [n for n in net.sinks if n > 1 and net._fanout(n) > BUFFER_FANOUT
            and n != sim.clock_net]
    half_v2 = 0.5 * VDD * VDD
    out: dict[str, Any] = {"nets": len(nets), "min_fanout": BUFFER_FANOUT + 1}
    if not nets or not macs:
        return out
    fan = [net._fanout(n) for n in nets]
    wc = [wire_cap(f) for f in fan]
    out["mean_fanout"] = round(sum(fan) / len(fan), 2)
    out["wire_cap_ff"] = round(sum(wc), 2)
    for name, tog in (("zero-delay", sim.toggles), ("unit-delay", sim.toggles_ud)):
        t = [int(tog[n]) for n in nets]
        if not any(t) and name == "unit-delay" and not sim.glitches:
            continue
        out[name] = {
            "toggles_per_mac": round(sum(t) / macs, 4),
            "wire_energy_per_mac_fj": round(half_v2 * sum(x * c for x, c in zip(t, wc)) / macs, 4),
            "energy_per_mac_per_um_fj": round(half_v2 * WIRE_CAP_PER_UM * sum(t) / macs, 5)}
    return out


def measure_energy(result: dict[str, Any], stimulus: str, args: dict | None = None, *,
                   liberty=None, use_cache: bool = True, glitches: bool = True,
                   synthetic: bool = False) -> dict[str, Any]:
    """Zero-delay energy (``energy_*``) and, with ``glitches``, unit-delay energy including
    hazards (``glitch_energy_*``). ``synthetic``: seeded random data instead of all-MiniLM-L6-v2
    (see synth.stimulus; without it a missing model raises ModelNotAvailable)."""
    work = ROOT / result["work_dir"]
    props = dict(result.get("properties") or {})
    props.update(result["params"])
    key = cache_key({"stimulus": stimulus, "args": args or {}, "props": props,
                     "glitches": glitches, "data": data_key(synthetic)}, ENERGY_CODE)
    return cached_json(work / f"energy-{stimulus}-{key}.json",
                       lambda: _measure(result, stimulus, args, props, liberty, glitches, synthetic),
                       use_cache=use_cache)


def _measure(result, stimulus, args, props, liberty, glitches, synthetic) -> dict[str, Any]:
    t0 = time.monotonic()
    lib = load_library(liberty)
    comp = elaborate(result["block"], result["params"]).component
    comp._MustUse__silence = True                # built for its payload shapes only
    shapes = signature_shapes(comp.signature)
    wl = make_workload(stimulus, props, args, shapes=shapes, synthetic=synthetic)
    net = Netlist.load(ROOT / result["work_dir"] / "mapped.json", lib, result["block"])
    sim = GateSim(net, glitches=glitches)
    for port, value in wl.constants.items():
        sim.set(port, value)
    h = StreamHarness(sim, wl.sources, wl.sinks)
    h.reset(2)
    sim.counting = True
    a_cycles: list[int] = []
    last_pos = {p: 0 for p in wl.sources}

    def done(hh):
        for p, pos in hh.pos.items():
            if pos != last_pos[p]:
                if p == "a":
                    a_cycles.append(hh.cycle)
                last_pos[p] = pos
        return all(len(hh.received[p]) >= len(wl.expected[p]) for p in wl.sinks)

    budget = 50 * (sum(len(v) for v in wl.sources.values()) + 200)
    cycles = h.run_until(done, budget)
    for p in wl.sinks:
        got, exp = h.received[p], wl.expected[p]
        bad = [i for i, (g, e) in enumerate(zip(got, exp)) if g != e]
        if bad or len(got) != len(exp):
            i = bad[0] if bad else min(len(got), len(exp))
            raise EnergyError(f"{result['block']} {result['params']}: gate-level outputs differ "
                              f"from the golden expectation on '{p}' ({len(bad)} of {len(exp)} "
                              f"items, first at {i})")
    e = energy(sim)
    gaps = [b - a for a, b in zip(a_cycles, a_cycles[1:])]
    out = {
        "stimulus": stimulus,
        "args": args or {},
        "data": wl.data,
        "cycles": cycles,
        "macs": wl.macs,
        "energy_fj": round(e.total_fj, 3),
        "energy_per_mac_fj": round(e.total_fj / wl.macs, 5) if wl.macs else None,
        "energy_per_cycle_fj": round(e.total_fj / max(1, e.cycles), 3),
        "clock_fj": round(e.clock_fj, 3),
        "by_group_fj": {k: round(v, 3) for k, v in e.by_group_fj.items()},
        "toggle_rate": round(e.toggle_rate, 5),
        "gated_energy_fj": round(e.total_fj - e.clock_fj + e.gated_clock_fj, 3),
        "gated_energy_per_mac_fj": round((e.total_fj - e.clock_fj + e.gated_clock_fj) / wl.macs, 5)
        if wl.macs else None,
        "gated_clock_fj": round(e.gated_clock_fj, 3),
        "gated_by_group_fj": {k: round(v, 3) for k, v in e.gated_by_group_fj.items()},
        "icgs": len(sim.gate_ffs),
        "gated_flip_flops": int(sum(len(f) for f in sim.gate_ffs)),
        "cycles_per_vector": statistics.median(gaps) if gaps else None,
        "outputs_checked": sum(len(wl.expected[p]) for p in wl.sinks),
        "info": wl.info,
        "sim_seconds": round(time.monotonic() - t0, 1),
    }
    out["high_fanout_nets"] = high_fanout_nets(net, sim, wl.macs)
    if glitches:
        g = energy(sim, glitches=True)
        out.update({
            "glitch_energy_fj": round(g.total_fj, 3),
            "glitch_energy_per_mac_fj": round(g.total_fj / wl.macs, 5) if wl.macs else None,
            "glitch_by_group_fj": {k: round(v, 3) for k, v in g.by_group_fj.items()},
            "gated_glitch_by_group_fj": {k: round(v, 3) for k, v in g.gated_by_group_fj.items()},
            "glitch_toggle_rate": round(g.toggle_rate, 5),
            "gated_glitch_energy_fj": round(g.total_fj - g.clock_fj + g.gated_clock_fj, 3),
            "gated_glitch_energy_per_mac_fj":
                round((g.total_fj - g.clock_fj + g.gated_clock_fj) / wl.macs, 5) if wl.macs else None,
            "unit_delay_max_steps": sim.max_steps,
        })
    return out
