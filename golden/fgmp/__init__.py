"""FGMP golden model (SPEC §4–5, docs/fgmp.md): NVFP4/FP8 block formats, Fisher-weighted
mixed-precision policy with global thresholds, sensitivity-weighted clipping, fake-quant model
transform, and the bit-exact VMAC / activation-quantizer references the RTL is checked against.
"""
from golden.fgmp.blocks import (BLOCK, FP8_BLOCK_SCALE, FP8_SCALE_CODE, FGMPTensor, PackedFGMP,
                                nvfp4_block_scale_codes, pow2_tensor_scale, quantize_fp8,
                                quantize_mixed, quantize_nvfp4, tensor_scale)
from golden.fgmp.hw import (TAU_FORCE_FP8, TAU_FORCE_NVFP4, Blocks, act_quant, act_quant_blocks,
                            bus_to_codes, codes_to_bus, f32_add_bits, fbar_from_fisher,
                            round_to_f32_bits, tau_to_fixed, vmac)
