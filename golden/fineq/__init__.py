"""FineQ golden model (SPEC §2-3, docs/fineq.md)."""
from .format import (DEFAULT_GROUP_SIZE, DEFAULT_LAYOUT, LAYOUTS, FineQWeight, Layout,
                     decode_byte, decode_word, encode_levels, level_lut, unpack)
from .quantizer import quantize
from .hw import int_matmul, linear, partial_sum_bits
from .baselines import GroupQuantWeight, quantize_coarse_mixed, quantize_rtn
