"""The liberty-mapped netlist (Yosys ``write_json``) as a graph: units, static timing and
switched capacitances.

The flow keeps the design's hierarchy (rtl/hierarchy.py: one module per distinct unit), so the
mapped JSON holds one module per unit; :meth:`Netlist.load` flattens it here and records the
instance path of every cell (``lane_0.round``). The per-unit breakdown groups cells by that path
with instance indices removed (``lane/round``, ``pe``, ``array/pe``); cells of the top module
form the group ``TOP_GROUP`` (control and glue logic). Every cell belongs to exactly one unit,
so the units' areas and energies add up to the design's.

Timing: a linear delay model per cell, ``d = d0 + k * C_load`` with ``C_load`` = the input pin
capacitances of the net's sinks + the wire-load capacitance of its fanout (liberty.wire_cap);
flip-flop outputs start at their clock-to-Q delay; the critical path is the largest arrival time
at a flip-flop D pin (plus setup) or an output port. Logic depth = cells on that path. The same
is reported per unit (paths ending at the unit's flip-flops).
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

__all__ = ["Netlist", "unit_of_path", "TOP_GROUP", "INT_CAP_PER_UM2", "CLK_INT_CAP"]

#: Group of the cells that belong to the top module itself (control, glue, top-level registers).
TOP_GROUP = "(top level)"

_INDEX = re.compile(r"(_\d+)+$")


def unit_of_path(path: tuple[str, ...]) -> str:
    """Unit (group) name of an instance path: instance indices removed, levels joined by '/'
    (``("lane_0", "round")`` -> ``"lane/round"``, ``("pe_3_4",)`` -> ``"pe"``)."""
    if not path:
        return TOP_GROUP
    return "/".join(_INDEX.sub("", p) for p in path)


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

@dataclass
class _Cell:
    name: str
    type: str
    inputs: list[tuple[str, int]]       # (pin, net) data inputs, library pin order
    outputs: list[tuple[str, int, list[int]]]   # (pin, net, truth table over inputs)
    clock_net: int | None
    seq: bool
    ff_out_inv: list[bool] | None = None   # per output: True for IQN
    path: tuple[str, ...] = ()             # instance path of the cell's module


class _Flattener:
    """Instantiates the modules of a mapped netlist recursively: every net gets a global id
    (0 and 1 are the constants), nets joined through module ports are merged (union-find, so a
    module that passes an input straight to an output is handled), and every cell records the
    instance path of its module."""

    def __init__(self, modules: dict, lib: Library):
        self.modules = modules
        self.lib = lib
        self.parent = [0, 1]
        self.next_id = 2
        self.cells: list[_Cell] = []
        self.names: list[tuple[str, int]] = []
        self._tt: dict[tuple[str, str], list[int]] = {}

    def new(self) -> int:
        self.parent.append(self.next_id)
        self.next_id += 1
        return self.next_id - 1

    @staticmethod
    def const(bit: str) -> int:
        return 1 if bit == "1" else 0     # "0", "x", "z": constant 0

    def find(self, n: int) -> int:
        root = n
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[n] != root:
            self.parent[n], n = root, self.parent[n]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < 2:                       # a constant stays the representative
            ra, rb = rb, ra
        if ra < 2 and rb < 2:
            raise LibertyError("a module port joins constant 0 and constant 1")
        self.parent[rb] = ra

    def instance(self, mod_name: str, path: tuple[str, ...], bound: dict[int, int]) -> None:
        """Add module ``mod_name`` at ``path``; ``bound`` maps its port bits to global nets."""
        mod = self.modules[mod_name]
        local: dict[int, int] = dict(bound)

        def gid(b) -> int:
            if isinstance(b, str):
                return self.const(b)
            if b not in local:
                local[b] = self.new()
            return local[b]

        prefix = ".".join(path) + "." if path else ""
        for nname, nn in mod["netnames"].items():
            if nn.get("hide_name"):
                continue
            for b in nn["bits"]:
                if isinstance(b, int):
                    self.names.append((prefix + nname, gid(b)))
        for cname, c in mod["cells"].items():
            conns = c["connections"]
            if c["type"] in self.modules and c["type"] not in self.lib.cells:
                sub = self.modules[c["type"]]
                sub_bound: dict[int, int] = {}
                for pname, p in sub["ports"].items():
                    outer = conns.get(pname, [])
                    for inner, ob in zip(p["bits"], outer):
                        if isinstance(inner, str):
                            continue
                        g = gid(ob)
                        if inner in sub_bound:
                            self.union(sub_bound[inner], g)
                        else:
                            sub_bound[inner] = g
                self.instance(c["type"], path + (cname,), sub_bound)
                continue
            self.cells.append(self._cell(cname, c, path, gid))

    def _cell(self, cname: str, c: dict, path, gid) -> "_Cell":
        lib = self.lib
        lc = lib.cells.get(c["type"])
        if lc is None:
            raise LibertyError(f"{lib.path}: cell {c['type']} used by the netlist is not in the library")
        conns = c["connections"]
        clock = lc.clock if lc.ff is not None else None
        data_pins = [p for p in lc.inputs if p != clock and p in conns]
        inputs = [(p, gid(conns[p][0])) for p in data_pins]
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
                if key not in self._tt:
                    self._tt[key] = truth_table(nxt, data_pins)
                outs.append((opin, gid(conns[opin][0]), self._tt[key]))
                inv.append(f == iqn)
            else:
                key = (lc.name, opin + "|" + ",".join(data_pins))
                if key not in self._tt:
                    self._tt[key] = truth_table(fn, data_pins)
                outs.append((opin, gid(conns[opin][0]), self._tt[key]))
        clock_net = gid(conns[clock][0]) if clock and clock in conns else None
        name = ".".join(path + (cname,))
        return _Cell(name, c["type"], inputs, outs, clock_net, lc.ff is not None,
                     inv if lc.ff is not None else None, path)


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
        """Read a mapped netlist and flatten its hierarchy from module ``top`` down."""
        data = json.loads(Path(path).read_text())
        modules = data["modules"]
        if top not in modules:
            raise LibertyError(f"{path}: no module {top!r} in the mapped netlist")
        flat = _Flattener(modules, lib)
        ports = {}
        top_bits = {}
        for pname, p in modules[top]["ports"].items():
            nets = [flat.const(b) if isinstance(b, str) else top_bits.setdefault(b, flat.new())
                    for b in p["bits"]]
            ports[pname] = (p["direction"], nets)
        flat.instance(top, (), top_bits)
        find = flat.find
        cells = flat.cells
        for c in cells:
            c.inputs = [(pin, find(n)) for pin, n in c.inputs]
            c.outputs = [(pin, find(n), tt) for pin, n, tt in c.outputs]
            if c.clock_net is not None:
                c.clock_net = find(c.clock_net)
        ports = {k: (d, [find(n) for n in nets]) for k, (d, nets) in ports.items()}
        names: dict[int, list[str]] = defaultdict(list)
        # public names only; the top level and the shortest first ('pe_0_0.w' before 'x.y.z')
        for name, net in sorted(flat.names, key=lambda kv: (kv[0].count("."), len(kv[0]))):
            n = find(net)
            if n > 1 and name not in names[n]:
                names[n].append(name)
        return cls(lib, top, ports, cells, flat.next_id, dict(names))

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
        """Unit of every cell (``unit_of_path`` of its instance path)."""
        if self._groups is None:
            self._groups = [unit_of_path(c.path) for c in self.cells]
        return self._groups

    def area_by_group(self) -> dict[str, dict]:
        """Per unit: area (µm²), cells, flip-flops and the number of instances, largest first.
        The areas add up to the design's area."""
        out: dict[str, dict] = {}
        paths: dict[str, set] = defaultdict(set)
        for c, g in zip(self.cells, self.cell_groups()):
            a = self.lib.cells[c.type].area
            e = out.setdefault(g, {"area_um2": 0.0, "cells": 0, "flip_flops": 0})
            e["area_um2"] += a
            e["cells"] += 1
            e["flip_flops"] += int(c.seq)
            paths[g].add(c.path)
        for g, e in out.items():
            e["area_um2"] = round(e["area_um2"], 3)
            e["instances"] = len(paths[g])
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
        by_unit: dict[str, dict] = {}
        for c, g in zip(self.cells, self.cell_groups()):
            if c.seq:
                lc = self.lib.cells[c.type]
                for _, net in c.inputs:
                    t = arr[net] + lc.setup
                    u = by_unit.setdefault(g, {"critical_path_ns": 0.0, "logic_depth": 0})
                    if t > u["critical_path_ns"]:
                        u["critical_path_ns"], u["logic_depth"] = t, int(depth[net])
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
            # worst path ending at each unit's flip-flops (register-to-register timing per unit)
            "by_unit": {g: {"critical_path_ns": round(float(u["critical_path_ns"]), 4),
                            "logic_depth": u["logic_depth"]}
                        for g, u in sorted(by_unit.items())},
        }
