"""FineQ golden model (SPEC §2-3, docs/fineq.md).

* :func:`quantize` -> :class:`FineQWeight` (``.dequantize()``, ``.avg_bits``, ``.pack()``),
  :func:`unpack` — the memory image ``uint32[N, W]`` words + ``fp16[N, G]`` scales.
* Hardware reference: :func:`decode_word` (12 ``(sign, magnitude)`` pairs per word),
  :func:`int_matmul` (exact per-group partial sums), :func:`linear`
  (:func:`linear_from_sums`: its rescale of given partial sums), :func:`quantize_acts_int8`.
* Baselines: :func:`quantize_rtn`, :func:`quantize_coarse_mixed`.
"""
from .baselines import GroupQuantWeight, quantize_coarse_mixed, quantize_rtn
from .format import (DEFAULT_GROUP_SIZE, DEFAULT_LAYOUT, LAYOUTS, FineQWeight, Layout,
                     decode_byte, decode_word, encode_levels, level_lut, unpack)
from .hw import int_matmul, linear, linear_from_sums, partial_sum_bits, quantize_acts_int8
from .quantizer import quantize

__all__ = [
    "quantize", "unpack", "FineQWeight", "Layout", "LAYOUTS", "DEFAULT_LAYOUT",
    "DEFAULT_GROUP_SIZE", "decode_word", "decode_byte", "encode_levels", "level_lut",
    "int_matmul", "linear", "linear_from_sums", "quantize_acts_int8", "partial_sum_bits",
    "quantize_rtn", "quantize_coarse_mixed", "GroupQuantWeight",
]
