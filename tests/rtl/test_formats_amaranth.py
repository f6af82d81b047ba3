"""FP32 <-> E4M3/E2M1 blocks in Amaranth's Python simulator (fast layer; cocotb covers the
generated Verilog). Same stimulus generator as the cocotb testbench, fewer random vectors."""
import pytest

from rtl.formats import FloatDecoder, FloatEncoder
from verif.amaranth_sim import run_comb
from verif.vectors.formats import decoder_vectors, encoder_vectors


@pytest.mark.parametrize("fmt,scale_exp,scale_width", [
    ("e4m3", 0, 8), ("e4m3", -4, 0), ("e4m3", 130, 4), ("e2m1", 0, 8), ("e2m1", 3, 0),
    ("e5m2", 0, 6),
])
def test_encoder_bit_exact(fmt, scale_exp, scale_width):
    dut = FloatEncoder(fmt=fmt, scale_exp=scale_exp, scale_width=scale_width)
    vec = encoder_vectors(fmt, scale_exp=scale_exp, scale_width=scale_width, n_random=3000, seed=5)

    def drive(ctx, v):
        ctx.set(dut.i, v[0])
        if scale_width:
            ctx.set(dut.scale, v[1])

    got = run_comb(dut, drive, lambda ctx: ctx.get(dut.o),
                   list(zip(vec.bits.tolist(), vec.scale.tolist())))
    bad = [(k, hex(b), s, g, e) for k, b, s, g, e in
           zip(vec.kind, vec.bits.tolist(), vec.scale.tolist(), got, vec.expected.tolist()) if g != e]
    assert not bad, f"{len(bad)} mismatches, first: {bad[:5]}"


@pytest.mark.parametrize("fmt", ["e4m3", "e2m1", "e5m2"])
def test_decoder_every_code(fmt):
    dut = FloatDecoder(fmt=fmt)
    codes, bits = decoder_vectors(fmt)

    def drive(ctx, c):
        ctx.set(dut.i, c)

    got = run_comb(dut, drive, lambda ctx: ctx.get(dut.o), codes.tolist())
    assert got == bits.tolist()


def test_subnormal_normaliser_only_when_reachable():
    assert not FloatEncoder(fmt="e4m3", scale_width=0).normalises_subnormals
    assert FloatEncoder(fmt="e4m3", scale_width=8).normalises_subnormals
    assert FloatEncoder(fmt="e4m3", scale_exp=120, scale_width=0).normalises_subnormals


@pytest.mark.parametrize("kwargs,match", [
    ({"fmt": "e3m4"}, "fmt must be one of"),
    ({"fmt": "ue4m3"}, "fmt must be one of"),
    ({"scale_width": 11}, "scale_width"),
    ({"scale_width": -1}, "scale_width"),
    ({"scale_exp": 600}, "exceeds"),
    ({"scale_exp": 1.5}, "scale_exp must be an int"),
])
def test_encoder_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FloatEncoder(**kwargs)
