"""Shared cocotb testbench pieces: configuration, clock/reset, valid/ready stream drivers and
the stream-protocol monitor.

Port naming follows Amaranth's flattening of component signatures: a stream member ``i`` becomes
``i__valid``, ``i__ready`` and ``i__payload``. Payload integers are packed and unpacked with
verif.payload from the DUT's own payload shapes (:func:`wire_shapes`).
"""
from __future__ import annotations

import json
import os
import random
import warnings
from collections import deque
from functools import lru_cache
from typing import Any, Callable, Iterable

import cocotb
from amaranth.hdl import UnusedElaboratable
from amaranth.lib import stream
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from rtl.registry import get_block
from verif.payload import signature_shapes

__all__ = ["config", "block_meta", "wire_shapes", "stream_names", "start_clock", "reset",
           "Mismatches", "StreamSource", "StreamSink", "StreamMonitor", "start_monitors", "settle"]

# wire_shapes() builds the DUT's component only for its signature; Amaranth would warn that it
# is never elaborated.
warnings.filterwarnings("ignore", category=UnusedElaboratable)


def config() -> dict[str, Any]:
    """The block's resolved parameters (set by verif.runner)."""
    return json.loads(os.environ["VERIF_PARAMS"])


def block_meta() -> dict[str, Any]:
    """The block's generated metadata (ports, latency, ...)."""
    with open(os.environ["VERIF_BLOCK_JSON"]) as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def _signature():
    """The DUT's signature: the component is built from the block registry with the resolved
    parameters, so its layouts are the RTL's own."""
    return get_block(block_meta()["block"]).build(config()).signature


def stream_names() -> list[str]:
    """Names of the DUT's stream members (``a``, ``w``, ``o``, ``i``)."""
    return [name for name, member in _signature().members.items()
            if member.is_signature and isinstance(member.signature, stream.Signature)]


def wire_shapes() -> dict[str, Any]:
    """Shape of every member of the DUT's signature (verif.payload.signature_shapes)."""
    return signature_shapes(_signature())


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
        minimum = max(minimum, 1)          # a comparison of nothing is not a pass
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


class StreamMonitor:
    """Protocol check of the stream ``<prefix>`` (the rules of ``amaranth.lib.stream``): once
    ``valid`` is high, ``valid`` and ``payload`` stay unchanged until the handshake (``valid``
    and ``ready`` at a rising edge). A synchronous reset (``rst`` high) may abort a transfer.

    Samples like the drivers, in the read-only phase after each falling edge: the values the
    DUT sees at the next rising edge. A violation raises AssertionError naming the stream, the
    cycle (rising edges since the monitor started) and the values, which fails the test.
    ``transfers`` counts the handshakes it saw.
    """

    def __init__(self, dut, prefix: str):
        self.dut = dut
        self.prefix = prefix
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.rst = getattr(dut, "rst", None)
        self.transfers = 0

    async def run(self):
        pending = None       # (cycle first offered, payload) of a transfer waiting for ready
        cycle = 0
        while True:
            await FallingEdge(self.dut.clk)
            await ReadOnly()
            in_reset = self.rst is not None and self.rst.value == 1
            valid = self.valid.value == 1
            ready = self.ready.value == 1
            # The payload is only read while a transfer waits (reading wide signals is slow).
            payload = int(self.payload.value) if valid and (pending or not ready) else None
            if pending and not in_reset:
                since, held = pending
                if not valid:
                    raise AssertionError(
                        f"stream {self.prefix}: valid dropped at cycle {cycle} before ready "
                        f"(payload {held:#x} offered since cycle {since})")
                if payload != held:
                    raise AssertionError(
                        f"stream {self.prefix}: payload changed at cycle {cycle} before ready, "
                        f"from {held:#x} to {payload:#x} (offered since cycle {since})")
            if valid and ready and not in_reset:
                self.transfers += 1
            if in_reset or not valid or ready:
                pending = None
            elif not pending:
                pending = (cycle, payload)
            cycle += 1


def start_monitors(dut) -> dict[str, StreamMonitor]:
    """A running StreamMonitor on every stream of the DUT's signature."""
    monitors = {name: StreamMonitor(dut, name) for name in stream_names()}
    for mon in monitors.values():
        cocotb.start_soon(mon.run())
    return monitors
