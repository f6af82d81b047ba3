"""The liberty-mapped netlist (Yosys ``write_json``) as a graph: hierarchy groups, static timing
and switched capacitances.

Groups (the hierarchical breakdown): the generated arrays are flat modules, so cells are grouped
by the *names* of the registers and ports they feed (:data:`GROUP_RULES`, regular expressions on
the public net names Amaranth gives its signals; names of flattened submodules ``sub.x`` fall back
to the submodule name ``sub``):

* a flip-flop belongs to the group of its output net's name;
* a combinational cell whose output net keeps a public name belongs to that name's group;
  otherwise to the group(s) of everything it drives, followed forward to flip-flops and output
  ports; a cell that feeds more than one group is "shared control" (enables, handshakes).

Timing: a linear delay model per cell, ``d = d0 + k * C_load`` with ``C_load`` = the input pin
capacitances of the net's sinks + the wire-load capacitance of its fanout (liberty.wire_cap);
flip-flop outputs start at their clock-to-Q delay; the critical path is the largest arrival time
at a flip-flop D pin (plus setup) or an output port. Logic depth = cells on that path.
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .liberty import Library, LibertyError, truth_table, wire_cap

__all__ = ["Netlist", "GROUP_RULES", "group_of_name", "INT_CAP_PER_UM2", "CLK_INT_CAP"]

#: (regular expression on a public net name, group). First match wins.
GROUP_RULES: list[tuple[str, str]] = [
    (r"^pe_\d+_\d+_", "PE array"),
    # FGMP VMAC (rtl/fgmp/vmac.py): lane l's units, block sums, scaling/rounding, accumulator
    (r"^l\d+_fp\dxfp\d", "dot-product units"),
    (r"^l\d+_(d\d|dabs)", "dot-product units"),
    (r"^l\d+_(prnd|p\d|n\d|mm|ms|e\d|eunit)", "block scale + FP32 round"),
    (r"^l\d+_(fadd|acc)", "FP32 accumulator"),
    (r"^(a_ms|a_sh|l\d+_mode|l\d+_nan|v\d|last\d|first$)", "pipeline control"),
    (r"^(skew_|feed_data|feed_last)", "input skew/feeder"),
    (r"^(acc_|col_)", "column accumulators"),
    (r"^(deskew_|out_|o__)", "output deskew/regs"),
    (r"^(state|load_col|feed_|ctl_|window|take|en$|load$)", "control"),
    (r"(^|\.)(dec|decoder)", "decoder"),
    (r"(^|\.)(asm|assembler|column_)", "column assembler"),
    (r"(^|\.)(lane|dot|mult|prod)", "dot product"),
    (r"(^|\.)(tree|adder)", "adder tree"),
    (r"(^|\.)(quant|score|cand)", "quantizer"),
    (r"(^|\.)(fp32|f32|align|norm|round)", "FP32 accumulate"),
]

#: Nets with a larger fanout are modelled as buffered (timing only).
BUFFER_FANOUT = 8
#: Internal (diffusion/parasitic) capacitance charged when a cell output switches, fF per µm² of
#: the driving cell, shared by its outputs (the "relative switched capacitance by area" model).
INT_CAP_PER_UM2 = 1.0
#: Clock-driven internal capacitance of a flip-flop (master/slave clock inverters), fF.
CLK_INT_CAP = 1.5
#: Clock gating model: one integrated clock gate (ICG) per enable net that drives at least
#: MIN_GATED_BANK flip-flops; its clock load is taken equal to one flip-flop's and its area
#: as NanGate45 CLKGATE_X1 (approximately 2.66 µm²).
MIN_GATED_BANK = 4
ICG_AREA = 2.66

_RULES = [(re.compile(p), g) for p, g in GROUP_RULES]


def group_of_name(name: str | None) -> str | None:
    if not name:
        return None
    for rx, g in _RULES:
        if rx.search(name):
            return g
    if "." in name and not name.startswith("$"):
        head = name.split(".", 1)[0]
        if head and not head.endswith("__payload"):
            return head
    return None


def _rule_index(name: str) -> int:
    for i, (rx, _) in enumerate(_RULES):
        if rx.search(name):
            return i
    return len(_RULES)


def group_of_names(names) -> str | None:
    """Group of a net with several public names: the name matching the earliest rule."""
    if not names:
        return None
    if isinstance(names, str):
        return group_of_name(names)
    return group_of_name(min(names, key=_rule_index))


@dataclass
class _Cell:
    name: str
    type: str
    inputs: list[tuple[str, int]]       # (pin, net) data inputs, library pin order
    outputs: list[tuple[str, int, list[int]]]   # (pin, net, truth table over inputs)
    clock_net: int | None
    seq: bool
    ff_out_inv: list[bool] | None = None   # per output: True for IQN


class Netlist:
    """Mapped netlist of one design. Net ids are Yosys bit numbers; 0 and 1 are constants."""

    def __init__(self, lib: Library, top: str, ports: dict, cells: list[_Cell], n_nets: int,
                 names: dict[int, str]):
        self.lib = lib
        self.top = top
        self.ports = ports              # name -> (direction, [net ids])
        self.cells = cells
        self.n_nets = n_nets
        self.all_names = names          # net -> public names (shortest first)
        self.names = {n: v[0] for n, v in names.items()}
        self.driver: dict[int, tuple[int, int]] = {}      # net -> (cell index, output index)
        self.sinks: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for ci, c in enumerate(cells):
            for oi, (_, net, _) in enumerate(c.outputs):
                self.driver[net] = (ci, oi)
            for pin, net in c.inputs:
                self.sinks[net].append((ci, pin))
            if c.clock_net is not None:
                self.sinks[c.clock_net].append((ci, "__clock__"))
        self.inputs = {n for d, bits in ports.values() if d == "input" for n in bits}
        self.ff_enable = self._enables()
        self.outputs = {n for d, bits in ports.values() if d == "output" for n in bits}
        self._order = None
        self._groups = None

    def _enables(self) -> dict[int, int]:
        """Flip-flop cell index -> enable net, for flip-flops whose D comes from the flow's
        explicit enable multiplexer (mux output only to this flip-flop, hold input = its Q)."""
        mux = self.lib.kinds().get("mux2")
        if mux is None:
            return {}
        roles = self.lib.mux_roles(mux)
        out = {}
        for i, c in enumerate(self.cells):
            if not c.seq or not c.inputs:
                continue
            d_net = c.inputs[0][1]
            drv = self.driver.get(d_net)
            if drv is None:
                continue
            m = self.cells[drv[0]]
            if m.type != mux:
                continue
            pins = dict(m.inputs)
            q_nets = {n for _, n, _ in c.outputs}
            if pins.get(roles["A"]) in q_nets and len(self.sinks.get(d_net, ())) == 1:
                out[i] = pins[roles["S"]]
        return out

    def clock_gating(self) -> dict:
        """Enable groups that get an ICG: {enable net: [flip-flop cell indices]}."""
        groups: dict[int, list[int]] = defaultdict(list)
        for ci, en in self.ff_enable.items():
            groups[en].append(ci)
        return {en: ffs for en, ffs in groups.items() if len(ffs) >= MIN_GATED_BANK}

    def ff_clock_cap(self, ci: int) -> float:
        lc = self.lib.cells[self.cells[ci].type]
        return lc.inputs.get(lc.clock, 1.0) + CLK_INT_CAP + wire_cap(1)

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, lib: Library, top: str) -> "Netlist":
        data = json.loads(Path(path).read_text())
        mod = data["modules"].get(top)
        if mod is None:
            raise LibertyError(f"{path}: no module {top!r} in the mapped netlist")
        max_bit = 1

        def nid(b):
            nonlocal max_bit
            if isinstance(b, str):
                return 1 if b == "1" else 0
            max_bit = max(max_bit, b)
            return b

        ports = {}
        for pname, p in mod["ports"].items():
            ports[pname] = (p["direction"], [nid(b) for b in p["bits"]])
        all_names: dict[int, list[str]] = defaultdict(list)
        # public names only; the shortest first (e.g. 'pe_0_0_w' before 'pe_0_0_w.mag')
        for nname, nn in sorted(mod["netnames"].items(), key=lambda kv: len(kv[0])):
            if nn.get("hide_name"):
                continue
            for b in nn["bits"]:
                if isinstance(b, int):
                    all_names[b].append(nname)
        names = dict(all_names)
        cells: list[_Cell] = []
        tt_cache: dict[tuple[str, str], list[int]] = {}
        for cname, c in mod["cells"].items():
            lc = lib.cells.get(c["type"])
            if lc is None:
                raise LibertyError(f"{lib.path}: cell {c['type']} used by the netlist is not in the library")
            conns = c["connections"]
            clock = lc.clock if lc.ff is not None else None
            data_pins = [p for p in lc.inputs if p != clock and p in conns]
            inputs = [(p, nid(conns[p][0])) for p in data_pins]
            outs = []
            inv = []
            for opin, fn in lc.outputs.items():
                if opin not in conns:
                    continue
                if lc.ff is not None:
                    iq, iqn, nxt, _ = lc.ff
                    f = fn.strip()
                    if f not in (iq, iqn):
                        raise LibertyError(f"{lib.path}: cell {lc.name} output {opin} function "
                                           f"{fn!r} is not the ff state (unsupported)")
                    key = (lc.name, "__next__")
                    if key not in tt_cache:
                        tt_cache[key] = truth_table(nxt, data_pins)
                    outs.append((opin, nid(conns[opin][0]), tt_cache[key]))
                    inv.append(f == iqn)
                else:
                    key = (lc.name, opin + "|" + ",".join(data_pins))
                    if key not in tt_cache:
                        tt_cache[key] = truth_table(fn, data_pins)
                    outs.append((opin, nid(conns[opin][0]), tt_cache[key]))
            clock_net = nid(conns[clock][0]) if clock and clock in conns else None
            cells.append(_Cell(cname, c["type"], inputs, outs, clock_net, lc.ff is not None,
                               inv if lc.ff is not None else None))
        return cls(lib, top, ports, cells, max_bit + 1, names)

    # ---- structure -------------------------------------------------------------------------
    def comb_order(self) -> list[int]:
        """Combinational cells in topological order (raises on a combinational loop)."""
        if self._order is not None:
            return self._order
        comb = [i for i, c in enumerate(self.cells) if not c.seq]
        indeg = {}
        users = defaultdict(list)
        for i in comb:
            deps = 0
            for _, net in self.cells[i].inputs:
                drv = self.driver.get(net)
                if drv is not None and not self.cells[drv[0]].seq:
                    deps += 1
                    users[drv[0]].append(i)
            indeg[i] = deps
        ready = [i for i in comb if indeg[i] == 0]
        order = []
        while ready:
            i = ready.pop()
            order.append(i)
            for u in users[i]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    ready.append(u)
        if len(order) != len(comb):
            raise LibertyError(f"{self.top}: combinational loop in the mapped netlist")
        self._order = order
        return order

    def levels(self) -> dict[int, int]:
        lvl: dict[int, int] = {}
        for i in self.comb_order():
            m = 0
            for _, net in self.cells[i].inputs:
                drv = self.driver.get(net)
                if drv is not None and not self.cells[drv[0]].seq:
                    m = max(m, lvl[drv[0]])
            lvl[i] = m + 1
        return lvl

    # ---- capacitances ----------------------------------------------------------------------
    def load_cap(self, net: int) -> float:
        """Pin capacitance of the net's data sinks + wire-load capacitance (fF)."""
        caps = 0.0
        fan = 0
        for ci, pin in self.sinks.get(net, ()):
            if pin == "__clock__":
                continue
            caps += self.lib.cells[self.cells[ci].type].inputs.get(pin, 1.0)
            fan += 1
        if net in self.outputs:
            fan += 1
        return caps + wire_cap(fan)

    def switched_cap(self) -> np.ndarray:
        """Per net: capacitance (fF) charged or discharged by one transition: load + the
        driving cell's internal capacitance (INT_CAP_PER_UM2 x area / outputs)."""
        cap = np.zeros(self.n_nets, dtype=np.float64)
        for net in set(self.sinks) | set(self.driver) | self.outputs:
            if net < 2:
                continue
            c = self.load_cap(net)
            drv = self.driver.get(net)
            if drv is not None:
                cell = self.cells[drv[0]]
                c += INT_CAP_PER_UM2 * self.lib.cells[cell.type].area / max(1, len(cell.outputs))
            cap[net] = c
        return cap

    def clock_cap(self) -> float:
        """Clock capacitance switched twice per cycle: every flip-flop's clock pin + internal
        clock capacitance + one wire-load unit per sink (fF)."""
        total = 0.0
        for c in self.cells:
            if c.seq and c.clock_net is not None:
                lc = self.lib.cells[c.type]
                total += lc.inputs.get(lc.clock, 1.0) + CLK_INT_CAP + wire_cap(1)
        return total

    # ---- groups ----------------------------------------------------------------------------
    def cell_groups(self) -> list[str]:
        if self._groups is not None:
            return self._groups
        n = len(self.cells)
        groups: list[str | None] = [None] * n
        port_group = {}
        for pname, (d, bits) in self.ports.items():
            g = group_of_name(pname) or ("inputs" if d == "input" else "outputs")
            for b in bits:
                port_group.setdefault(b, g)
        for i, c in enumerate(self.cells):
            if c.seq:
                nm = None
                for _, net, _ in c.outputs:
                    nm = nm or self.all_names.get(net)
                if nm is None and c.inputs:
                    nm = self.all_names.get(c.inputs[0][1])
                groups[i] = group_of_names(nm) or "other"
            else:
                for _, net, _ in c.outputs:
                    g = group_of_names(self.all_names.get(net))
                    if g:
                        groups[i] = g
                        break
        # remaining combinational cells: by fanout, in reverse topological order
        sets: dict[int, set[str]] = {}
        for i in reversed(self.comb_order()):
            if groups[i] is not None:
                sets[i] = {groups[i]}
                continue
            s: set[str] = set()
            for _, net, _ in self.cells[i].outputs:
                if net in port_group and net in self.outputs:
                    s.add(port_group[net])
                for ci, _pin in self.sinks.get(net, ()):
                    c = self.cells[ci]
                    if c.seq:
                        s.add(groups[ci])
                    else:
                        s |= sets.get(ci, {groups[ci] or "other"})
            sets[i] = s
            groups[i] = (next(iter(s)) if len(s) == 1 else "shared control") if s else "other"
        self._groups = [g or "other" for g in groups]
        return self._groups

    def area_by_group(self, _unused=None) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for c, g in zip(self.cells, self.cell_groups()):
            a = self.lib.cells[c.type].area
            e = out.setdefault(g, {"area_um2": 0.0, "cells": 0, "flip_flops": 0})
            e["area_um2"] += a
            e["cells"] += 1
            e["flip_flops"] += int(c.seq)
        for e in out.values():
            e["area_um2"] = round(e["area_um2"], 3)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["area_um2"]))

    def net_group(self) -> np.ndarray:
        """Group index of every net (its driver's group; inputs -> 'inputs')."""
        groups = self.cell_groups()
        names = sorted(set(groups) | {"inputs", "clock"})
        idx = {g: i for i, g in enumerate(names)}
        out = np.full(self.n_nets, idx["inputs"], dtype=np.int32)
        for net, (ci, _) in self.driver.items():
            out[net] = idx[groups[ci]]
        self.group_names = names
        return out

    # ---- timing ----------------------------------------------------------------------------
    def _fanout(self, net: int) -> int:
        return sum(1 for _, p in self.sinks.get(net, ()) if p != "__clock__") + (net in self.outputs)

    def wire_delay(self, net: int, k: float) -> float:
        """Load-dependent delay of a net driven by a cell with slope ``k`` (ns/fF). Nets with
        fanout > BUFFER_FANOUT are assumed to be buffered by a fanout-4 tree of the library's
        buffer (its stages add delay; its area and energy are not counted)."""
        fan = self._fanout(net)
        if fan <= BUFFER_FANOUT:
            return k * self.load_cap(net)
        buf = self.lib.cells[self.lib.require()["buffer"]]
        stage_load = 4 * sum(buf.inputs.values()) / max(1, len(buf.inputs)) + wire_cap(4)
        stages = math.ceil(math.log(fan / 4, 4))
        return k * stage_load + stages * (buf.d0 + buf.k * stage_load)

    def timing(self) -> dict:
        arr = np.zeros(self.n_nets)
        depth = np.zeros(self.n_nets, dtype=np.int64)
        pred: dict[int, int] = {}
        for c in self.cells:
            if c.seq:
                lc = self.lib.cells[c.type]
                for _, net, _ in c.outputs:
                    arr[net] = lc.d0 + self.wire_delay(net, lc.k)
        for i in self.comb_order():
            c = self.cells[i]
            lc = self.lib.cells[c.type]
            best, bnet = 0.0, None
            for _, net in c.inputs:
                if arr[net] >= best:
                    best, bnet = arr[net], net
            for _, net, _ in c.outputs:
                arr[net] = best + lc.d0 + self.wire_delay(net, lc.k)
                depth[net] = (depth[bnet] if bnet is not None else 0) + 1
                if bnet is not None:
                    pred[net] = bnet
        worst, wnet, wkind, end = 0.0, None, "none", None
        for c in self.cells:
            if c.seq:
                lc = self.lib.cells[c.type]
                for _, net in c.inputs:
                    t = arr[net] + lc.setup
                    if t > worst:
                        worst, wnet, wkind = t, net, "register"
                        end = next((self.names[o] for _, o, _ in c.outputs if o in self.names), None)
        for net in self.outputs:
            if arr[net] > worst:
                worst, wnet, wkind, end = arr[net], net, "output", self.names.get(net)
        path = []
        n = wnet
        while n is not None and len(path) < 10000:
            path.append(n)
            n = pred.get(n)
        start = None
        for n in reversed(path):
            if self.names.get(n):
                start = self.names[n]
                break
        return {
            "critical_path_ns": round(float(worst), 4),
            "fmax_mhz": round(1000.0 / float(worst), 1) if worst > 0 else None,
            "logic_depth": int(depth[wnet]) if wnet is not None else 0,
            "max_logic_depth": int(max(self.levels().values(), default=0)),
            "endpoint": wkind,
            "path_from": start,
            "path_to": end,
        }
