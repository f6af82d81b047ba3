"""FineQ RTL (SPEC §3, docs/fineq_rtl.md): decoder, multiplier-free array (codings select / csd /
unary, dataflows broadcast / systolic), binary baselines, and the core that joins decoder and
array."""
from ..registry import block
from .array import BinaryPE, BinarySystolicArray, TemporalPE, TemporalSystolicArray
from .common import WEIGHT, signed_width, window_cycles
from .core import FineQCore
from .decoder import LAYOUT_BITS, LAYOUTS, FineQDecoder

__all__ = ["FineQDecoder", "TemporalPE", "BinaryPE", "TemporalSystolicArray",
           "BinarySystolicArray", "FineQCore", "WEIGHT", "LAYOUT_BITS", "LAYOUTS",
           "signed_width", "window_cycles"]


@block("fineq_decoder")
def fineq_decoder(*, layout: str = "joint"):
    """FineQ packed 32-bit word -> 12 (sign, magnitude) weights, 1 word/cycle, latency 1."""
    return FineQDecoder(layout=layout)


@block("temporal_pe")
def temporal_pe(*, coding: str = "select", row: int = 15, dataflow: str = "broadcast"):
    """Multiplier-free FineQ PE (row index sets the partial-sum width)."""
    return TemporalPE(coding=coding, row=row, dataflow=dataflow)


@block("binary_pe")
def binary_pe(*, weight_bits: int = 4, row: int = 15, dataflow: str = "broadcast"):
    """Binary INT8 x INT4/INT8 multiply-accumulate PE (baseline; row sets the psum width)."""
    return BinaryPE(weight_bits=weight_bits, row=row, dataflow=dataflow)


@block("temporal_array")
def temporal_array(*, rows: int = 16, cols: int = 16, coding: str = "select",
                   dataflow: str = "broadcast", early_finish: bool = True):
    """Multiplier-free weight-stationary FineQ array (FineQ levels, INT8 activations)."""
    return TemporalSystolicArray(rows=rows, cols=cols, coding=coding, dataflow=dataflow,
                                 early_finish=early_finish)


@block("binary_array")
def binary_array(*, rows: int = 16, cols: int = 16, weight_bits: int = 4,
                 dataflow: str = "broadcast"):
    """Binary INT8 x INT4/INT8 weight-stationary array (baseline, same interface)."""
    return BinarySystolicArray(rows=rows, cols=cols, weight_bits=weight_bits, dataflow=dataflow)


@block("fineq_core")
def fineq_core(*, rows: int = 16, cols: int = 16, layout: str = "joint",
               coding: str = "select", dataflow: str = "broadcast", early_finish: bool = True):
    """FineQ decoder + multiplier-free array: packed weight tiles in, INT8 vectors in, column
    sums out."""
    return FineQCore(rows=rows, cols=cols, layout=layout, coding=coding, dataflow=dataflow,
                     early_finish=early_finish)
