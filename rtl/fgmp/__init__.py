"""FGMP RTL (SPEC §4–5, docs/fgmp_rtl.md): VMAC lanes with four FP4/FP8 dot-product modes, the
all-FP8 VMAC baseline, and the activation quantization unit."""
from ..registry import block
from .act_quant import ActQuantUnit
from .common import BLOCK, BLOCK_LAYOUT, FP8_SCALE_CODE
from .vmac import DATAPATHS, ISOLATION, UNITS, Fp8Vmac, Vmac

__all__ = ["Vmac", "Fp8Vmac", "ActQuantUnit", "BLOCK", "BLOCK_LAYOUT", "FP8_SCALE_CODE",
           "ISOLATION", "UNITS", "DATAPATHS"]


@block("vmac")
def vmac(*, lanes: int = 4, datapath: str = "shared", isolation: str = "hold",
         acc_init: bool = False):
    """FGMP VMAC: L lanes x FP4/FP8 dot products (shared / shared_fp4 / split datapath), exact
    block sums and accumulation, one FP32 rounding per dot product; pipelined."""
    return Vmac(lanes=lanes, datapath=datapath, isolation=isolation, acc_init=acc_init)


@block("fp8_vmac")
def fp8_vmac(*, lanes: int = 4, acc_init: bool = False):
    """All-FP8 VMAC baseline (same interface as vmac, every block FP8)."""
    return Fp8Vmac(lanes=lanes, acc_init=acc_init)


@block("act_quant")
def act_quant(*, score_out: bool = True):
    """FGMP activation quantization unit: 16 FP32/cycle -> meta, codes, scale (golden act_quant)."""
    return ActQuantUnit(score_out=score_out)
