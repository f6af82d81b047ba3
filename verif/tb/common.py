"""Shared cocotb testbench pieces: configuration, clock/reset, valid/ready stream drivers.

Port naming follows Amaranth's flattening of component signatures: a stream member ``i`` becomes
``i__valid``, ``i__ready`` and ``i__payload`` (struct payloads are packed little-end first).
"""
from __future__ import annotations

import json
import os
import random
from collections import deque
from typing import Any, Callable, Iterable

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer

__all__ = ["config", "block_meta", "start_clock", "reset", "Mismatches", "StreamSource",
           "StreamSink", "settle"]


def config() -> dict[str, Any]:
    """The block's resolved parameters (set by verif.runner)."""
    return json.loads(os.environ["VERIF_PARAMS"])


def block_meta() -> dict[str, Any]:
    """The block's generated metadata (ports, latency, ...)."""
    with open(os.environ["VERIF_BLOCK_JSON"]) as fh:
        return json.load(fh)


async def settle():
    """Let combinational logic settle after driving inputs."""
    await Timer(1, "ns")


def start_clock(dut, period_ns: int = 10):
    cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())


async def reset(dut, cycles: int = 2):
    """Synchronous reset for ``cycles`` rising edges, driven at falling edges."""
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


class Mismatches:
    """Collects mismatches and fails once at the end with the first few, so one run shows a
    pattern instead of stopping at the first difference."""

    def __init__(self, what: str, show: int = 10):
        self.what = what
        self.show = show
        self.items: list[str] = []
        self.checked = 0

    def check(self, got: int, expected: int, context: str = "") -> None:
        self.checked += 1
        if got != expected:
            self.items.append(f"{context}: got {got:#x}, expected {expected:#x}")

    def finish(self, minimum: int = 1) -> None:
        assert self.checked >= minimum, f"{self.what}: only {self.checked} checks (< {minimum})"
        if self.items:
            head = "\n  ".join(self.items[: self.show])
            raise AssertionError(f"{self.what}: {len(self.items)} of {self.checked} mismatched:\n  {head}")
        cocotb.log.info("%s: %d checks, all equal", self.what, self.checked)


class StreamSource:
    """Drives ``<prefix>__valid/__payload`` and honours ``<prefix>__ready``.

    Timing rule for every driver here: inputs change only at the falling clock edge, and the
    handshake is sampled in the read-only phase right after, which holds the values the DUT
    sees at the next rising edge. ``valid_prob`` < 1 inserts random idle cycles between
    transfers (valid is never withdrawn before its transfer, as the stream contract requires).
    """

    def __init__(self, dut, prefix: str, *, valid_prob: float = 1.0,
                 rng: random.Random | None = None):
        self.dut = dut
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.valid_prob = valid_prob
        self.rng = rng or random.Random(0)
        self.queue: deque[int] = deque()
        self.sent = 0
        self.cycles: list[int] = []   # cycle index (rising edges since start) of each transfer
        self.valid.value = 0

    def push(self, items: Iterable[int]) -> None:
        self.queue.extend(items)

    @property
    def idle(self) -> bool:
        return not self.queue

    async def run(self):
        clk = self.dut.clk
        cycle = 0
        offering = False
        while True:
            await FallingEdge(clk)
            if not offering and self.queue and self.rng.random() < self.valid_prob:
                offering = True
            if offering:
                self.payload.value = self.queue[0]
            self.valid.value = int(offering)
            await ReadOnly()
            if offering and int(self.ready.value):
                self.queue.popleft()
                self.sent += 1
                self.cycles.append(cycle)
                offering = False
            cycle += 1


class StreamSink:
    """Takes ``<prefix>__payload`` on handshakes, driving ``<prefix>__ready`` high with
    probability ``ready_prob`` per cycle (back-pressure). Same timing rule as StreamSource."""

    def __init__(self, dut, prefix: str, *, ready_prob: float = 1.0,
                 rng: random.Random | None = None,
                 on_item: Callable[[int], None] | None = None):
        self.dut = dut
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.ready_prob = ready_prob
        self.rng = rng or random.Random(1)
        self.items: list[int] = []
        self.cycles: list[int] = []
        self.on_item = on_item
        self.ready.value = 0

    async def run(self):
        clk = self.dut.clk
        cycle = 0
        while True:
            await FallingEdge(clk)
            self.ready.value = int(self.rng.random() < self.ready_prob)
            await ReadOnly()
            if int(self.valid.value) and int(self.ready.value):
                value = int(self.payload.value)
                self.items.append(value)
                self.cycles.append(cycle)
                if self.on_item:
                    self.on_item(value)
            cycle += 1
