"""cocotb regression for the FP32 <-> E4M3/E2M1 encoder and decoder blocks.

Every output is compared for equality with golden.formats (through verif.vectors.formats).
Functional coverage (verif.coverage; an empty bin fails the test): every input code of a decoder
and every output code of an encoder, counted only when the output was checked equal.
Environment: VERIF_N_RANDOM (default 100000) random FP32 inputs for encoders.
"""
from __future__ import annotations

import os

import cocotb

from verif.coverage import Coverage
from verif.payload import pack, width
from verif.tb.common import Mismatches, block_meta, config, settle, wire_shapes
from verif.vectors.formats import decoder_vectors, encoder_vectors

_FORMAT_OF = {"e4m3_encoder": "e4m3", "e2m1_encoder": "e2m1",
              "e4m3_decoder": "e4m3", "e2m1_decoder": "e2m1"}
BLOCK = block_meta()["block"]
IS_ENCODER = BLOCK.endswith("_encoder")
IS_DECODER = BLOCK.endswith("_decoder")


@cocotb.skipif(not IS_ENCODER, reason="encoder test, the DUT is not an encoder")
@cocotb.test()
async def encoder_matches_golden(dut):
    params = config()
    n_random = int(os.environ.get("VERIF_N_RANDOM", "100000"))
    vec = encoder_vectors(_FORMAT_OF[BLOCK], scale_exp=params["scale_exp"],
                          scale_width=params["scale_width"], n_random=n_random,
                          seed=cocotb.RANDOM_SEED & 0x7FFFFFFF)
    scale_shape = wire_shapes().get("scale")      # no port when scale_width = 0
    mm = Mismatches(f"{BLOCK} {params}")
    cov = Coverage(f"{BLOCK} output code", (1 << width(wire_shapes()["o"]),), lambda t: f"code {t[0]:#04x}")
    bits, scales, expected = vec.bits.tolist(), vec.scale.tolist(), vec.expected.tolist()
    for x, s, want, kind in zip(bits, scales, expected, vec.kind):
        dut.i.value = x
        if scale_shape is not None:
            dut.scale.value = pack(scale_shape, s)
        await settle()
        got = int(dut.o.value)
        mm.check(got, want, f"{kind} x={x:#010x} scale={s}")
        if got == want:
            cov.hit(got)
    mm.finish(minimum=len(vec))
    cocotb.log.info(cov.finish())      # every output code (NaN codes included) was produced


@cocotb.skipif(not IS_DECODER, reason="decoder test, the DUT is not a decoder")
@cocotb.test()
async def decoder_matches_golden(dut):
    """Every input code (functional coverage: a code counts once its output was checked equal;
    an empty bin fails)."""
    codes, bits = decoder_vectors(_FORMAT_OF[BLOCK])
    mm = Mismatches(BLOCK)
    cov = Coverage(f"{BLOCK} input code", (1 << width(wire_shapes()["i"]),), lambda t: f"code {t[0]:#04x}")
    for c, want in zip(codes.tolist(), bits.tolist()):
        dut.i.value = c
        await settle()
        got = int(dut.o.value)
        mm.check(got, want, f"code {c:#04x}")
        if got == want:
            cov.hit(int(dut.i.value))
    mm.finish(minimum=len(codes))
    cocotb.log.info(cov.finish())
