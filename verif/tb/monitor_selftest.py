"""Self-test of the stream-protocol monitor (verif.tb.common.StreamMonitor) on fineq_decoder.

A deliberately bad producer on the decoder's input stream ``i`` must be caught, naming the
stream, the cycle and the values: the payload changed, or valid withdrawn, before the handshake.
A reset may abort a transfer, and a legal producer passes with every handshake counted.

The decoder takes a word while its output register is free (``i.ready = ~o.valid | o.ready``):
with ``o.ready`` low it takes the first word, and the second one waits.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import FallingEdge, with_timeout

from verif.tb.common import StreamMonitor, reset, start_clock

WORDS = (0x0A0A0A0A, 0x0B0B0B0B, 0x0C0C0C0C)


async def _watch(mon: StreamMonitor) -> str:
    """Run the monitor; its violation message, if any (the test checks it instead of failing)."""
    try:
        await mon.run()
    except AssertionError as e:
        return str(e)
    return ""


async def _setup(dut):
    start_clock(dut)
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    await reset(dut)
    mon = StreamMonitor(dut, "i")
    return mon, cocotb.start_soon(_watch(mon))


async def _offer(dut, word: int | None):
    """At the next falling edge (monitor cycle n), offer ``word`` (None: withdraw valid)."""
    await FallingEdge(dut.clk)
    dut.i__valid.value = int(word is not None)
    if word is not None:
        dut.i__payload.value = word


async def _violation(task) -> str:
    message = await with_timeout(task, 100, "ns")
    assert message, "the monitor accepted a protocol violation"
    return message


@cocotb.parametrize((("third", "message"), [
    (WORDS[2], "stream i: payload changed at cycle 2 before ready, from 0xb0b0b0b to 0xc0c0c0c "
               "(offered since cycle 1)"),
    (None, "stream i: valid dropped at cycle 2 before ready (payload 0xb0b0b0b offered since "
           "cycle 1)"),
]))
@cocotb.test()
async def monitor_catches_a_violation(dut, third, message):
    """Cycle 0: a word is taken; cycle 1: the next one waits; cycle 2: ``third`` replaces it
    (None: valid withdrawn)."""
    mon, task = await _setup(dut)
    for word in (*WORDS[:2], third):
        await _offer(dut, word)
    assert await _violation(task) == message


@cocotb.test()
async def monitor_accepts_a_reset_abort_and_legal_traffic(dut):
    mon, task = await _setup(dut)
    for word in WORDS[:2]:      # the second word waits ...
        await _offer(dut, word)
    await reset(dut)            # ... and a reset aborts it
    dut.i__valid.value = 0
    dut.o__ready.value = 1
    for word in WORDS:          # legal: one word per cycle while o is drained
        await _offer(dut, word)
    await _offer(dut, None)
    for _ in range(3):
        await FallingEdge(dut.clk)
    assert not task.done(), f"false violation: {task.result()}"
    assert mon.transfers == 1 + len(WORDS), f"{mon.transfers} handshakes counted"
