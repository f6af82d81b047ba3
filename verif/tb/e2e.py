"""cocotb stream player of the model-in-the-loop runtime (verif.e2e): one simulation streams a
whole layer's payloads through a block and records what comes out.

The job (JSON file named by ``E2E_JOB``, written by verif.e2e.sim) holds:

* ``inputs``: stream name -> list of payload integers (packed with verif.payload from the
  block's own layouts by verif.e2e). Each stream offers its next payload whenever it has one
  (valid stays high until the handshake, payload unchanged: the stream contract), so the
  block runs as fast as it accepts data;
* ``ports``: constant input ports (e.g. ``scale_exp``, ``tau`` of act_quant), set before reset;
* ``output``: the result stream (``ready`` held high: no back-pressure), ``n_out`` results to
  collect, ``max_cycles`` a budget after which the run fails (a stalled block).

The result file (``E2E_RESULT``) holds every output payload with the cycle of its handshake and
the handshake cycles of every input stream (cycle 0 = the first cycle after reset), from which
verif.e2e counts load, compute, fill/drain and stall cycles. The comparison with the golden
model happens in verif.e2e (it needs the whole layer); this player checks only the count.

One coroutine drives all streams (two scheduler waits per cycle), because a layer is hundreds
of thousands of cycles and per-stream coroutines would triple the Python cost.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from verif.tb.common import reset, start_clock


class _Source:
    """One input stream: offers ``items`` in order, records the cycle of each handshake."""
    __slots__ = ("name", "items", "idx", "shown", "on", "valid", "ready", "payload", "cycles")

    def __init__(self, dut, name, items):
        self.name, self.items, self.idx, self.shown, self.on = name, items, 0, -1, False
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.cycles: list[int] = []
        self.valid.value = 0

    def drive(self):
        """At the falling edge: offer the next payload (unchanged until it is taken)."""
        if self.idx < len(self.items):
            if self.shown != self.idx:
                self.payload.value = self.items[self.idx]
                self.shown = self.idx
            if not self.on:
                self.valid.value = 1
                self.on = True
        elif self.on:
            self.valid.value = 0
            self.on = False

    def sample(self, cycle):
        """In the read-only phase: the handshake the DUT sees at the next rising edge."""
        if self.on and int(self.ready.value):
            self.cycles.append(cycle)
            self.idx += 1


@cocotb.test()
async def play_layer(dut):
    with open(os.environ["E2E_JOB"]) as fh:
        job = json.load(fh)
    out_name, n_out, max_cycles = job["output"], int(job["n_out"]), int(job["max_cycles"])
    start_clock(dut)
    sources = [_Source(dut, name, items) for name, items in job["inputs"].items()]
    for port, value in job.get("ports", {}).items():
        getattr(dut, port).value = int(value)
    o_valid = getattr(dut, f"{out_name}__valid")
    o_ready = getattr(dut, f"{out_name}__ready")
    o_payload = getattr(dut, f"{out_name}__payload")
    o_ready.value = 0
    await reset(dut)
    o_ready.value = 1
    outs, out_cycles = [], []
    clk = dut.clk
    cycle = 0
    while len(outs) < n_out:
        await FallingEdge(clk)
        for s in sources:
            s.drive()
        await ReadOnly()
        for s in sources:
            s.sample(cycle)
        if int(o_valid.value):
            outs.append(int(o_payload.value))
            out_cycles.append(cycle)
        cycle += 1
        assert cycle < max_cycles, (f"stalled: {len(outs)} of {n_out} results after {cycle} "
                                    "cycles; inputs taken: "
                                    + ", ".join(f"{s.name} {s.idx}/{len(s.items)}"
                                                for s in sources))
    left = {s.name: len(s.items) - s.idx for s in sources if s.idx < len(s.items)}
    assert not left, f"{n_out} results but inputs left over: {left}"
    with open(os.environ["E2E_RESULT"], "w") as fh:
        json.dump({"out": outs, "out_cycles": out_cycles, "cycles": cycle,
                   "in_cycles": {s.name: s.cycles for s in sources}}, fh)
