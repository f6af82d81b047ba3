"""cocotb regression for the FP32 <-> E4M3/E2M1 encoder and decoder blocks.

Every output is compared for equality with golden.formats (through verif.vectors.formats).
Environment: VERIF_N_RANDOM (default 100000) random FP32 inputs for encoders.
"""
from __future__ import annotations

import os

import cocotb

from verif.tb.common import Mismatches, block_meta, config, settle
from verif.vectors.formats import decoder_vectors, encoder_vectors

_FORMAT_OF = {"e4m3_encoder": "e4m3", "e2m1_encoder": "e2m1",
              "e4m3_decoder": "e4m3", "e2m1_decoder": "e2m1"}


@cocotb.test()
async def encoder_matches_golden(dut):
    meta = block_meta()
    if not meta["block"].endswith("_encoder"):
        return
    params = config()
    n_random = int(os.environ.get("VERIF_N_RANDOM", "100000"))
    vec = encoder_vectors(_FORMAT_OF[meta["block"]], scale_exp=params["scale_exp"],
                          scale_width=params["scale_width"], n_random=n_random,
                          seed=cocotb.RANDOM_SEED & 0x7FFFFFFF)
    has_port = params["scale_width"] > 0
    mm = Mismatches(f"{meta['block']} {params}")
    bits, scales, expected = vec.bits.tolist(), vec.scale.tolist(), vec.expected.tolist()
    width = params["scale_width"]
    for x, s, want, kind in zip(bits, scales, expected, vec.kind):
        dut.i.value = x
        if has_port:
            dut.scale.value = s & ((1 << width) - 1)
        await settle()
        mm.check(int(dut.o.value), want, f"{kind} x={x:#010x} scale={s}")
    mm.finish(minimum=len(vec))


@cocotb.test()
async def decoder_matches_golden(dut):
    meta = block_meta()
    if not meta["block"].endswith("_decoder"):
        return
    codes, bits = decoder_vectors(_FORMAT_OF[meta["block"]])
    mm = Mismatches(meta["block"])
    for c, want in zip(codes.tolist(), bits.tolist()):
        dut.i.value = c
        await settle()
        mm.check(int(dut.o.value), want, f"code {c:#04x}")
    mm.finish(minimum=len(codes))
