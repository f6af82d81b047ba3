"""Cycle-based, zero-delay simulation of a liberty-mapped netlist, with toggle counting.

Every combinational cell is a lookup table built from its liberty ``function`` (truth table over
its input pins); cells are evaluated level by level with numpy (one gather + one table lookup per
level), flip-flops take their ``next_state`` at each clock edge. One clock domain (every
flip-flop's clock pin on the same input port), as in every generated block.

Per cycle: drive the input ports -> settle the combinational logic -> count the nets whose
settled value changed since the previous cycle -> sample the outputs (stream handshakes) ->
clock edge. Zero delay means glitches are not counted (docs/synth.md discusses the bias).

Energy model (relative, reported in fJ at the library's nominal voltage; docs/synth.md):
``E = 1/2 V^2 * sum_nets toggles(net) * C_sw(net)  +  cycles * V^2 * C_clock``
with ``C_sw`` = sink pin capacitances + wire load + driver internal capacitance
(``Netlist.switched_cap``) and ``C_clock`` = every flip-flop's clock pin + internal clock
capacitance + wire (``Netlist.clock_cap``), switched twice per cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .liberty import VDD
from .netlist import Netlist

__all__ = ["GateSim", "StreamHarness", "EnergyResult", "SimError"]


class SimError(RuntimeError):
    pass


class GateSim:
    """``glitches=True`` also runs a unit-delay pass per cycle (every cell switches one time
    unit after its inputs; all cells are evaluated in lock-step until nothing changes) and
    counts every transition, hazards included, in ``toggles_ud``; ``toggles`` always holds the
    zero-delay count (settled value changed since the previous cycle)."""

    def __init__(self, net: Netlist, glitches: bool = False):
        self.net = net
        self.glitches = glitches
        n = net.n_nets
        self.val = np.zeros(n, dtype=np.uint8)
        self.val[1] = 1
        lut_parts: list[np.ndarray] = []
        offset = 0
        # levelized combinational evaluation
        lvl = net.levels()
        by_level: dict[int, list] = {}
        for ci, level in lvl.items():
            c = net.cells[ci]
            ins = [n_ for _, n_ in c.inputs]
            for _, out, tt in c.outputs:
                by_level.setdefault(level, []).append((ins, out, tt))
        self.levels = []
        for level in sorted(by_level):
            items = by_level[level]
            kmax = max(1, max(len(i[0]) for i in items))
            in_mat = np.zeros((len(items), kmax), dtype=np.int64)   # padded with net 0 (const 0)
            outs = np.empty(len(items), dtype=np.int64)
            offs = np.empty(len(items), dtype=np.int64)
            for j, (ins, out, tt) in enumerate(items):
                in_mat[j, :len(ins)] = ins
                outs[j] = out
                offs[j] = offset
                lut_parts.append(np.asarray(tt, dtype=np.uint8))
                offset += len(tt)
            self.levels.append((in_mat, outs, offs, (1 << np.arange(kmax)).astype(np.int64)))
        # flip-flops: next state = table over the data inputs; outputs Q / QN
        ff_in, ff_out, ff_off, ff_inv = [], [], [], []
        kff = 1
        for c in net.cells:
            if not c.seq:
                continue
            ins = [n_ for _, n_ in c.inputs]
            kff = max(kff, len(ins))
            for (_, out, tt), inv in zip(c.outputs, c.ff_out_inv):
                ff_in.append(ins)
                ff_out.append(out)
                ff_off.append(offset)
                ff_inv.append(inv)
                lut_parts.append(np.asarray(tt, dtype=np.uint8))
                offset += len(tt)
        self.ff_in = np.zeros((len(ff_in), kff), dtype=np.int64)
        for j, ins in enumerate(ff_in):
            self.ff_in[j, :len(ins)] = ins
        self.ff_out = np.asarray(ff_out, dtype=np.int64)
        self.ff_off = np.asarray(ff_off, dtype=np.int64)
        self.ff_inv = np.asarray(ff_inv, dtype=np.uint8)
        self.ff_w = (1 << np.arange(kff)).astype(np.int64)
        self.lut = np.concatenate(lut_parts) if lut_parts else np.zeros(1, dtype=np.uint8)
        clocks = {c.clock_net for c in net.cells if c.seq}
        self.clock_net = next(iter(clocks)) if clocks else None
        if len(clocks) > 1:
            raise SimError(f"{net.top}: more than one clock net; the simulator supports one")
        # unit-delay evaluation: all combinational outputs at once, one matrix per input count
        self.ud = []
        by_k: dict[int, list] = {}
        for in_mat, outs, offs, w in self.levels:      # rows padded with net 0 (constant 0)
            by_k.setdefault(in_mat.shape[1], []).append((in_mat, outs, offs, w))
        for k, parts in sorted(by_k.items()):
            self.ud.append((np.concatenate([p[0] for p in parts]),
                            np.concatenate([p[1] for p in parts]),
                            np.concatenate([p[2] for p in parts]), parts[0][3]))
        self.ports = net.ports
        self.prev = self.val.copy()
        self.toggles = np.zeros(n, dtype=np.int64)
        self.toggles_ud = np.zeros(n, dtype=np.int64)
        self.max_steps = 0
        # clock gating: enabled cycles per gated enable net
        gating = net.clock_gating()
        self.gate_nets = np.array(sorted(gating), dtype=np.int64)
        self.gate_ffs = [gating[n] for n in sorted(gating)]
        self.gate_active = np.zeros(len(self.gate_nets), dtype=np.int64)
        self.cycles = 0
        self.counting = False

    # ---- ports -----------------------------------------------------------------------------
    def set(self, port: str, value: int) -> None:
        bits = self.ports[port][1]
        for i, b in enumerate(bits):
            self.val[b] = (value >> i) & 1

    def get(self, port: str) -> int:
        bits = self.ports[port][1]
        v = 0
        for i, b in enumerate(bits):
            v |= int(self.val[b]) << i
        return v

    def has(self, port: str) -> bool:
        return port in self.ports

    # ---- evaluation ------------------------------------------------------------------------
    def settle(self) -> None:
        val, lut = self.val, self.lut
        if self.glitches and self.counting:
            # inputs and flip-flop outputs switched at t = 0: count them, then step the logic
            self.toggles_ud += val != self.prev
            steps = 0
            while True:
                news = [(outs, lut[offs + val[in_mat] @ w]) for in_mat, outs, offs, w in self.ud]
                changed = False
                for outs, new in news:
                    diff = new != val[outs]
                    if diff.any():
                        changed = True
                        self.toggles_ud[outs[diff]] += 1   # outputs are unique
                        val[outs] = new
                if not changed:
                    break
                steps += 1
                if steps > 10000:
                    raise SimError(f"{self.net.top}: unit-delay evaluation does not settle")
            self.max_steps = max(self.max_steps, steps)
        else:
            for in_mat, outs, offs, w in self.levels:
                val[outs] = lut[offs + val[in_mat] @ w]
        if self.counting:
            self.toggles += val != self.prev
            self.cycles += 1
            if len(self.gate_nets):
                self.gate_active += val[self.gate_nets]
        self.prev[:] = val

    def clock(self) -> None:
        if len(self.ff_out):
            nxt = self.lut[self.ff_off + self.val[self.ff_in] @ self.ff_w]
            self.val[self.ff_out] = nxt ^ self.ff_inv


@dataclass
class EnergyResult:
    cycles: int
    total_fj: float
    clock_fj: float
    gated_clock_fj: float                # clock energy with clock gating (ICG per enable group)
    gated_by_group_fj: dict[str, float]
    by_group_fj: dict[str, float]
    toggle_rate: float                  # mean toggles per net per cycle (driven nets)
    extra: dict = field(default_factory=dict)


def energy(sim: GateSim, glitches: bool = False) -> EnergyResult:
    """Energy of the counted cycles; ``glitches`` uses the unit-delay toggle counts."""
    net = sim.net
    cap = net.switched_cap()
    toggles = sim.toggles_ud if glitches else sim.toggles
    e_net = 0.5 * VDD * VDD * toggles * cap
    groups = net.net_group()
    by = np.bincount(groups, weights=e_net, minlength=len(net.group_names))
    clock_fj = sim.cycles * VDD * VDD * net.clock_cap()
    by_group = {g: float(by[i]) for i, g in enumerate(net.group_names) if by[i] > 0}
    # clock energy split by the groups of the flip-flops; and the same with clock gating
    cg = net.cell_groups()
    v2 = VDD * VDD
    gated = dict(by_group)
    active = {}
    icg_fj = 0.0
    for en_i, ffs in enumerate(sim.gate_ffs):
        for ci in ffs:
            active[ci] = int(sim.gate_active[en_i])
        # the ICG's own clock load, every cycle, charged to its first flip-flop's group
        icg_fj += sim.cycles * v2 * net.ff_clock_cap(ffs[0])
        gated[cg[ffs[0]]] = gated.get(cg[ffs[0]], 0.0) + sim.cycles * v2 * net.ff_clock_cap(ffs[0])
    gated_clock = icg_fj
    for ci, (c, g) in enumerate(zip(net.cells, cg)):
        if c.seq:
            e_ff = sim.cycles * v2 * net.ff_clock_cap(ci)
            by_group[g] = by_group.get(g, 0.0) + e_ff
            e_g = active.get(ci, sim.cycles) * v2 * net.ff_clock_cap(ci)
            gated[g] = gated.get(g, 0.0) + e_g
            gated_clock += e_g
    driven = max(1, len(net.driver))
    return EnergyResult(
        cycles=sim.cycles,
        total_fj=float(e_net.sum() + clock_fj),
        clock_fj=float(clock_fj),
        gated_clock_fj=float(gated_clock),
        gated_by_group_fj=dict(sorted(gated.items(), key=lambda kv: -kv[1])),
        by_group_fj=dict(sorted(by_group.items(), key=lambda kv: -kv[1])),
        toggle_rate=float(toggles.sum() / driven / max(1, sim.cycles)),
    )


class StreamHarness:
    """Drives valid/ready streams of a GateSim at full rate: every source offers its next item
    whenever it has one (payload held when idle), every sink is always ready.

    ``sources``: port prefix -> list of payloads; ``sinks``: port prefixes; items received per
    sink are in ``received``; ``transfer_cycles`` records the cycle of every source handshake.
    """

    def __init__(self, sim: GateSim, sources: dict[str, list[int]], sinks: list[str]):
        self.sim = sim
        self.sources = {p: list(v) for p, v in sources.items()}
        self.pos = {p: 0 for p in sources}
        self.sinks = sinks
        self.received: dict[str, list[int]] = {p: [] for p in sinks}
        self.cycle = 0

    def reset(self, cycles: int = 2) -> None:
        sim = self.sim
        for p in self.sources:
            sim.set(f"{p}__valid", 0)
        for p in self.sinks:
            sim.set(f"{p}__ready", 0)
        if sim.has("rst"):
            sim.set("rst", 1)
        for _ in range(cycles):
            sim.settle()
            sim.clock()
        if sim.has("rst"):
            sim.set("rst", 0)

    def step(self) -> None:
        sim = self.sim
        offering = {}
        for p, items in self.sources.items():
            i = self.pos[p]
            if i < len(items):
                sim.set(f"{p}__payload", items[i])
                sim.set(f"{p}__valid", 1)
                offering[p] = True
            else:
                sim.set(f"{p}__valid", 0)
                offering[p] = False
        for p in self.sinks:
            sim.set(f"{p}__ready", 1)
        sim.settle()
        for p in self.sources:
            if offering[p] and sim.get(f"{p}__ready"):
                self.pos[p] += 1
        for p in self.sinks:
            if sim.get(f"{p}__valid"):
                self.received[p].append(sim.get(f"{p}__payload"))
        sim.clock()
        self.cycle += 1

    def run_until(self, done, max_cycles: int) -> int:
        start = self.cycle
        while not done(self):
            if self.cycle - start >= max_cycles:
                raise SimError(f"{self.sim.net.top}: stimulus not finished after {max_cycles} "
                               f"cycles (sent {self.pos}, received "
                               f"{ {p: len(v) for p, v in self.received.items()} })")
            self.step()
        return self.cycle - start
