"""The stream-protocol monitor of every streaming testbench can fail: verif/tb/monitor_selftest.py
drives a deliberately bad producer into fineq_decoder on each simulator."""
from verif.runner import run_cocotb


def test_stream_monitor_catches_violations(sim):
    run_cocotb("fineq_decoder", {"layout": "joint"}, "verif.tb.monitor_selftest", sim=sim)
