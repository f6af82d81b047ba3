"""cocotb regressions of the generated Verilog of the format blocks, on every simulator.

Encoders: every code (round trip), every midpoint and one FP32 ulp either side, saturation
(448/464/480/6/7/inf), format and FP32 subnormals, signed zero, NaN, at the extremes of the scale
port, plus VERIF_N_RANDOM (default 10^5) random FP32 inputs. Decoders: every code.
"""
import pytest

from verif.runner import run_cocotb

CONFIGS = [
    ("e4m3_encoder", {}),                                    # default: 8-bit scale port
    ("e4m3_encoder", {"scale_width": 0, "scale_exp": -4}),   # constant scale, no port
    ("e4m3_encoder", {"scale_width": 4, "scale_exp": 130}),  # lifts FP32 subnormals into range
    ("e2m1_encoder", {}),
    ("e2m1_encoder", {"scale_width": 0, "scale_exp": 3}),
    ("e4m3_decoder", {}),
    ("e2m1_decoder", {}),
]


def _id(block, params):
    return f"{block}-" + ("-".join(f"{k}{v}" for k, v in params.items()) or "default")


DEFAULTS = [c for c in CONFIGS if not c[1]]
VARIANTS = [c for c in CONFIGS if c[1]]     # the full set (make test-full, regress-full)


@pytest.mark.parametrize("block,params", DEFAULTS, ids=[_id(b, p) for b, p in DEFAULTS])
def test_format_block(block, params, sim):
    run_cocotb(block, params, "verif.tb.formats", sim=sim)


@pytest.mark.slow
@pytest.mark.parametrize("block,params", VARIANTS, ids=[_id(b, p) for b, p in VARIANTS])
def test_format_variant(block, params, sim):
    run_cocotb(block, params, "verif.tb.formats", sim=sim)
