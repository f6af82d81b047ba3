"""Number-format building blocks: FP32 <-> E2M1 / E4M3 / E5M2 encoders and decoders."""
from .codec import FloatDecoder, FloatEncoder, SIGNED_FORMATS
from ..registry import block

__all__ = ["FloatEncoder", "FloatDecoder", "SIGNED_FORMATS"]


@block("e4m3_encoder")
def e4m3_encoder(*, scale_exp: int = 0, scale_width: int = 8):
    """FP32 x 2^(scale_exp + scale port) -> E4M3 code (RNE, saturating), combinational."""
    return FloatEncoder(fmt="e4m3", scale_exp=scale_exp, scale_width=scale_width)


@block("e2m1_encoder")
def e2m1_encoder(*, scale_exp: int = 0, scale_width: int = 8):
    """FP32 x 2^(scale_exp + scale port) -> E2M1 code (RNE, saturating), combinational."""
    return FloatEncoder(fmt="e2m1", scale_exp=scale_exp, scale_width=scale_width)


@block("e4m3_decoder")
def e4m3_decoder():
    """E4M3 code -> FP32 bits (exact), combinational."""
    return FloatDecoder(fmt="e4m3")


@block("e2m1_decoder")
def e2m1_decoder():
    """E2M1 code -> FP32 bits (exact), combinational."""
    return FloatDecoder(fmt="e2m1")
