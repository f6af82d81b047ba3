"""FGMP weight-memory accounting: storage of a weight matrix when a fraction p of its blocks is
NVFP4 and the rest FP8, counted exactly by ``FGMPTensor.storage_bits``.

Which blocks stay FP8: those where NVFP4 differs most from FP8 (squared difference of the two
dequantized blocks). The paper's Fisher weighting changes *which* blocks, not how many, and the
storage depends only on how many.
"""
from __future__ import annotations

import torch

from golden.fgmp.blocks import (BLOCK, fp8_bits_per_element, quantize_fp8, quantize_mixed,
                                quantize_nvfp4)

__all__ = ["error_scores", "fp8_meta_by_error", "weight_memory"]


def error_scores(w: torch.Tensor) -> torch.Tensor:
    """Per block ``[N, K/16]``: squared difference between the NVFP4 and FP8 dequantized block."""
    q4 = quantize_nvfp4(w).dequantize()
    q8 = quantize_fp8(w).dequantize()
    return ((q4 - q8) ** 2).reshape(w.shape[0], -1, BLOCK).sum(-1)


def fp8_meta_by_error(scores: torch.Tensor, p: float) -> torch.Tensor:
    """Meta bits (True = FP8) of ``scores``' shape: the round((1 - p) * n) blocks with the
    largest score are FP8, so a fraction p is NVFP4."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    flat = scores.flatten()
    meta = torch.zeros(flat.numel(), dtype=torch.bool)
    n_fp8 = round((1 - p) * flat.numel())
    if n_fp8:
        meta[torch.topk(flat, n_fp8).indices] = True
    return meta.reshape(scores.shape)


def weight_memory(w: torch.Tensor, ps) -> dict:
    """Storage of ``w`` at each NVFP4 fraction in ``ps``: {"fp8_bits_per_element", "points":
    {str(p): {fp4_fraction, bits_per_element, saving_pct (vs all-FP8)}}}."""
    score = error_scores(w)
    base = fp8_bits_per_element()
    out = {"fp8_bits_per_element": base, "points": {}}
    for p in ps:
        t = quantize_mixed(w, fp8_meta_by_error(score, p))
        bpe = float(t.bits_per_element)
        out["points"][str(p)] = {"fp4_fraction": round(t.fp4_fraction, 4),
                                 "bits_per_element": round(bpe, 4),
                                 "saving_pct": round(100 * (1 - bpe / base), 2)}
    return out
