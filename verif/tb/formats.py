"""cocotb regression for the FP32 <-> E4M3/E2M1 encoder and decoder blocks.

Every output is compared for equality with golden.formats (through verif.vectors.formats).
Environment: VERIF_N_RANDOM (default 100000) random FP32 inputs for encoders.
"""
from __future__ import annotations

import os

import cocotb

from verif.payload import pack
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
    bits, scales, expected = vec.bits.tolist(), vec.scale.tolist(), vec.expected.tolist()
    for x, s, want, kind in zip(bits, scales, expected, vec.kind):
        dut.i.value = x
        if scale_shape is not None:
            dut.scale.value = pack(scale_shape, s)
        await settle()
        mm.check(int(dut.o.value), want, f"{kind} x={x:#010x} scale={s}")
    mm.finish(minimum=len(vec))


@cocotb.skipif(not IS_DECODER, reason="decoder test, the DUT is not a decoder")
@cocotb.test()
async def decoder_matches_golden(dut):
    codes, bits = decoder_vectors(_FORMAT_OF[BLOCK])
    mm = Mismatches(BLOCK)
    for c, want in zip(codes.tolist(), bits.tolist()):
        dut.i.value = c
        await settle()
        mm.check(int(dut.o.value), want, f"code {c:#04x}")
    mm.finish(minimum=len(codes))
