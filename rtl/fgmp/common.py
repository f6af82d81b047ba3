"""Shared definitions of the FGMP RTL: block wire layout; parameter checks (from rtl.params).

Block wire format (docs/fgmp.md §3, golden ``hw.codes_to_bus``): ``codes`` is the 128-bit code
bus (NVFP4: E2M1 code of element i at bits [4i+3:4i], bits [127:64] ignored by the RTL; FP8:
E4M3 code of element i at [8i+7:8i]), ``scale`` the UE4M3 scale code of an NVFP4 block (bit 7
ignored; ignored entirely for FP8 blocks, whose scale is the implicit 6), ``meta`` 1 = FP8.
"""
from __future__ import annotations

from amaranth.lib import data

from ..params import check_choice, check_int

__all__ = ["BLOCK", "BLOCK_LAYOUT", "FP8_SCALE_CODE", "check_int", "check_choice"]

BLOCK = 16
FP8_SCALE_CODE = 0x4C

#: One block on a wire, packed LSB first: codes [127:0], scale [135:128], meta [136].
BLOCK_LAYOUT = data.StructLayout({"codes": 128, "scale": 8, "meta": 1})
