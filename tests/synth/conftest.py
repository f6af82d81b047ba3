"""Helpers for the synthesis tests: a tiny block that fails synthesis (combinational loop)."""
import pytest
from amaranth import Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from rtl import registry

LOOP_BLOCK = "synth_test_loop"


class _Loop(wiring.Component):
    """A combinational loop: Yosys `check -assert` refuses it."""

    def __init__(self):
        super().__init__({"a": In(1), "y": Out(1)})

    def elaborate(self, platform):
        m = Module()
        x = Signal()
        m.d.comb += [x.eq(~x ^ self.a), self.y.eq(x)]
        return m


class _Unknown(wiring.Component):
    """Instantiates a module nobody defines: Yosys `hierarchy -check` fails."""

    def __init__(self):
        super().__init__({"a": In(1), "y": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.u = Instance("no_such_cell", i_A=self.a, o_Y=self.y)
        return m


UNKNOWN_BLOCK = "synth_test_unknown_cell"


def register_loop_block():
    registry.blocks()   # load the real blocks first
    if LOOP_BLOCK not in registry._REGISTRY:
        registry.block(LOOP_BLOCK)(lambda: _Loop())
    if UNKNOWN_BLOCK not in registry._REGISTRY:
        registry.block(UNKNOWN_BLOCK)(lambda: _Unknown())


@pytest.fixture
def loop_block():
    register_loop_block()
    yield LOOP_BLOCK
