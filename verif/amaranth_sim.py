"""Helpers for the Amaranth-simulator test layer (tests/rtl/)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from amaranth.sim import Simulator

__all__ = ["run_comb", "run_clocked"]


def run_comb(dut, drive: Callable, read: Callable, vectors: Iterable) -> list:
    """Apply each vector to a combinational ``dut`` (``drive(ctx, v)``) and collect
    ``read(ctx)`` after it settles; returns the readings in vector order."""
    got = []

    async def bench(ctx):
        for v in vectors:
            drive(ctx, v)
            got.append(read(ctx))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


def run_clocked(dut, bench) -> None:
    """Run the async testbench ``bench(ctx)`` against ``dut`` on its sync domain (1 MHz clock)."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
