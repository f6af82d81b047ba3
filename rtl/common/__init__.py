"""Shared arithmetic for the datapaths (FGMP and later blocks): integer helpers (adder trees,
leading-zero count, squarer, divide-by-3 prefix), FP32 rounding and addition, small-float
(E2M1/E4M3/UE4M3) field decoding and rounding. Golden contracts: docs/fgmp.md §3–4."""
from .arith import (clog2, csa, csa_reduce, div3_prefix, fast_add, lzc, signed_sum, square,
                    tree_sum)
from .float32 import F32_PINF, F32_QNAN, F32Adder, F32FixedRound, F32Round, f32_add, f32_round
from .minifloat import (E2M1_MIDPOINTS_X4, MinifloatRound, e2m1_fields, e4m3_fields,
                        round_minifloat, ue4m3_fields)

__all__ = ["clog2", "tree_sum", "lzc", "square", "div3_prefix", "signed_sum", "csa",
           "csa_reduce", "fast_add",
           "F32_QNAN", "F32_PINF", "f32_round", "f32_add", "F32Adder", "F32Round", "F32FixedRound",
           "round_minifloat", "e2m1_fields", "e4m3_fields", "ue4m3_fields", "MinifloatRound",
           "E2M1_MIDPOINTS_X4"]
