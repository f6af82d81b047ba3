"""FGMP block formats (SPEC §4): NVFP4 and FP8 blocks of 16 elements, one FP32 tensor scale.

Rules (docs/fgmp.md §1 has the full text and the exactness argument):

* Blocks are 16 consecutive elements along the last dimension. A last dimension that is not a
  multiple of 16 is refused (``ValueError``) unless ``pad=True``, which appends zeros (zeros do
  not change any block amax, code or dot product); ``FGMPTensor.k`` keeps the true length and
  ``dequantize`` crops the padding again.
* Tensor scale S (an FP32 number): ``S = fp32_rne(amax / 2688)`` (2688 = 448·6), amax over the
  whole tensor; amax = 0 gives S = 1; an underflow to 0 gives the smallest subnormal 2**-149.
  The caller may pass any positive finite FP32 S instead (e.g. a power of two for activations,
  ``pow2_tensor_scale``).
* NVFP4 block: ``s_b = UE4M3_rne_sat(amax_b / (6·S))``, ``q_i = E2M1_rne_sat(x_i / (s_b·S))``;
  ``s_b = 0`` gives all codes 0. Value = e2m1(q_i)·s_b·S.
* FP8 block: ``q_i = E4M3_rne_sat(x_i / (6·S))``; implicit block scale 6. Value = e4m3(q_i)·6·S.
* Rounding is RNE of the exact quotient. The golden model computes the quotient in float64 and
  rounds that: this is exact because the divisor (s_b·S or 6·S, at most 28 significant bits) and
  the dividend (an FP32, 24 bits) are so short that the exact quotient is either a grid
  midpoint itself (then float64 division returns it exactly) or at least 2**-34 (relative) away
  from every midpoint, far beyond float64's 2**-53 division error. Tests check this against
  ``fractions.Fraction`` on every midpoint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from golden.formats import E2M1, E4M3, UE4M3, FloatFormat, decode, encode, int_codes

__all__ = [
    "BLOCK", "FP8_SCALE_CODE", "FP8_BLOCK_SCALE", "TENSOR_DIV",
    "tensor_scale", "pow2_tensor_scale", "quantize_nvfp4", "quantize_fp8", "quantize_mixed",
    "nvfp4_block_scale_codes", "FGMPTensor", "PackedFGMP", "fp8_bits_per_element",
    "rne_encode",
]

BLOCK = 16
FP8_BLOCK_SCALE = 6.0
#: UE4M3 code of 6.0 (= 1.5·2**2). Written into the scale field of FP8 blocks; readers ignore it.
FP8_SCALE_CODE = 0x4C
TENSOR_DIV = 2688.0          # 448 · 6
_F32_MIN_SUB = math.ldexp(1.0, -149)


# ---------------------------------------------------------------------------------------------
# Fast exact RNE encoder (bucketize on midpoints), cross-checked against golden.formats.encode.

class _Grid:
    def __init__(self, fmt: FloatFormat):
        self.fmt = fmt
        mids = torch.tensor(fmt.midpoints[:-1], dtype=torch.float64)  # between finite codes
        # midpoint j lies between codes j and j+1; a tie goes to the even code.
        j = torch.arange(len(mids))
        self.mids_up_on_tie = mids[j % 2 == 1].contiguous()     # tie -> j+1 (even)
        self.mids_down_on_tie = mids[j % 2 == 0].contiguous()   # tie -> j (even)


_GRIDS: dict[str, _Grid] = {}


def _grid(fmt: FloatFormat) -> _Grid:
    g = _GRIDS.get(fmt.name)
    if g is None:
        g = _GRIDS[fmt.name] = _Grid(fmt)
    return g


def rne_encode(fmt: FloatFormat, v: torch.Tensor) -> torch.Tensor:
    """RNE-with-saturation code of the float64 values ``v`` (same rule as ``formats.encode``,
    which it must equal; tests check). NaN gives the format's NaN code (E2M1: saturates)."""
    if v.dtype != torch.float64:
        raise ValueError(f"rne_encode expects float64, got {v.dtype}")
    g = _grid(fmt)
    a = v.abs()
    nan = torch.isnan(a)
    a = torch.where(nan, torch.zeros_like(a), a)
    # count of midpoints strictly below a (ties stay down) + those <= a (ties go up)
    code = (torch.bucketize(a, g.mids_down_on_tie, right=False)
            + torch.bucketize(a, g.mids_up_on_tie, right=True))
    if fmt.nan_code is not None:
        code = torch.where(nan, torch.full_like(code, fmt.nan_code), code)
    else:
        code = torch.where(nan, torch.full_like(code, fmt.max_code), code)
    if fmt.signed:
        code = code | (torch.signbit(v).to(torch.int64) << fmt.sign_bit)
    elif bool((torch.signbit(v) & (a > 0)).any()):
        raise ValueError(f"rne_encode {fmt.name}: negative value for an unsigned format")
    return code.to(torch.uint8)


def _dec64(fmt: FloatFormat, codes: torch.Tensor) -> torch.Tensor:
    return decode(fmt, codes).to(torch.float64)


# ---------------------------------------------------------------------------------------------
# Tensor scale

def _check_f32_scale(s, what="tensor_scale") -> float:
    s = float(s)
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"{what} must be a positive finite FP32 number, got {s!r}")
    if float(np.float32(s)) != s:
        raise ValueError(f"{what} must be exactly representable in FP32, got {s!r}")
    return s


def tensor_scale(amax: float) -> float:
    """S = fp32_rne(amax / 2688). amax = 0 gives 1.0; an FP32 underflow gives 2**-149."""
    amax = float(amax)
    if not math.isfinite(amax) or amax < 0:
        raise ValueError(f"tensor amax must be finite and >= 0, got {amax!r}")
    if amax == 0:
        return 1.0
    a32 = np.float32(amax)
    if float(a32) != amax:
        raise ValueError(f"tensor amax must be an FP32 value, got {amax!r}")
    s = float(np.float32(a32) / np.float32(TENSOR_DIV))   # one IEEE FP32 division, RNE
    return s if s > 0 else _F32_MIN_SUB


def pow2_tensor_scale(amax: float) -> float:
    """Smallest power of two S with amax <= 2688·S (so the calibration range never saturates),
    limited to the FP32 range [2**-149, 2**127]. amax = 0 gives 1.0."""
    amax = float(amax)
    if not math.isfinite(amax) or amax < 0:
        raise ValueError(f"activation amax must be finite and >= 0, got {amax!r}")
    if amax == 0:
        return 1.0
    k = math.frexp(amax / TENSOR_DIV)[1]        # 2**(k-1) <= q < 2**k approximately
    k = max(-149, min(127, k + 1))
    while k > -149 and amax <= TENSOR_DIV * math.ldexp(1.0, k - 1):   # exact comparisons
        k -= 1
    while k < 127 and amax > TENSOR_DIV * math.ldexp(1.0, k):
        k += 1
    return math.ldexp(1.0, k)


# ---------------------------------------------------------------------------------------------
# Input preparation

def _as_blocks(x, pad: bool, what: str) -> tuple[torch.Tensor, int]:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected a floating-point tensor, got dtype {x.dtype}")
    if x.dim() == 0:
        raise ValueError(f"{what}: expected at least one dimension, got a scalar")
    x = x.detach().to(torch.float32)
    k = x.shape[-1]
    if k == 0:
        raise ValueError(f"{what}: last dimension is 0")
    if k % BLOCK:
        if not pad:
            raise ValueError(f"{what}: last dimension {k} is not a multiple of {BLOCK} "
                             f"(pass pad=True to zero-pad it to {-(-k // BLOCK) * BLOCK})")
        x = torch.nn.functional.pad(x, (0, BLOCK - k % BLOCK))
    return x.reshape(*x.shape[:-1], x.shape[-1] // BLOCK, BLOCK), k


def _check_finite(x: torch.Tensor, what: str):
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(f"{what}: non-finite value {x[idx].item()!r} at index {idx}")


def _resolve_scale(xb: torch.Tensor, S) -> float:
    if S is None:
        return tensor_scale(float(xb.abs().max()) if xb.numel() else 0.0)
    return _check_f32_scale(S)


def nvfp4_block_scale_codes(xb: torch.Tensor, S: float) -> torch.Tensor:
    """UE4M3 codes s_b = UE4M3_rne_sat(amax_b / (6·S)) for blocks ``xb[..., 16]`` (FP32 values;
    NaN elements are ignored, an Inf gives the saturated code 0x7E)."""
    a = xb.to(torch.float64).abs()
    a = torch.where(torch.isnan(a), torch.zeros_like(a), a)
    amax = a.amax(-1)
    return rne_encode(UE4M3, amax / (FP8_BLOCK_SCALE * S))


def _nvfp4_codes(xb64: torch.Tensor, S: float, sc: torch.Tensor) -> torch.Tensor:
    sb = _dec64(UE4M3, sc)                                   # exact
    d = (sb * S).unsqueeze(-1)                               # exact: <= 28 significant bits
    safe = torch.where(d > 0, d, torch.ones_like(d))
    q = rne_encode(E2M1, xb64 / safe)
    return torch.where(d > 0, q, torch.zeros_like(q))


def _fp8_codes(xb64: torch.Tensor, S: float) -> torch.Tensor:
    return rne_encode(E4M3, xb64 / (FP8_BLOCK_SCALE * S))


# ---------------------------------------------------------------------------------------------
# Mixed tensor

@dataclass
class PackedFGMP:
    """Memory image of an FGMP tensor (docs/fgmp.md §2). Blocks in row-major order (leading
    dimensions flattened, then blocks along the last dimension)."""
    codes: bytes          # NVFP4 block: 8 bytes, element 2j in the low nibble of byte j; FP8: 16
    scales: bytes         # one UE4M3 byte per NVFP4 block, in block order (FP8 blocks: none)
    meta: bytes           # bitmap: block i -> byte i // 8, bit i % 8 (LSB first); 1 = FP8
    shape: tuple          # logical shape (last dimension = k, unpadded)
    tensor_scale: float

    @property
    def nblocks(self) -> int:
        lead = math.prod(self.shape[:-1])
        return lead * (-(-self.shape[-1] // BLOCK))

    @property
    def bits(self) -> int:
        """Stored bits excluding the 32-bit tensor scale: codes + scales + one meta bit/block."""
        return 8 * (len(self.codes) + len(self.scales)) + self.nblocks


@dataclass(eq=False)
class FGMPTensor:
    """A tensor of FGMP blocks along the last dimension.

    meta[..., nb] bool (True = FP8); codes[..., nb, 16] uint8 (E2M1 code 0..15 for NVFP4 blocks,
    E4M3 code for FP8 blocks); scales[..., nb] uint8 (UE4M3 code of s_b for NVFP4 blocks,
    FP8_SCALE_CODE = 0x4C for FP8 blocks); tensor_scale S (FP32); k = logical last dim.
    """
    meta: torch.Tensor
    codes: torch.Tensor
    scales: torch.Tensor
    tensor_scale: float
    k: int
    _deq_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.codes.shape[-1] != BLOCK or self.codes.shape[:-1] != self.meta.shape \
                or self.scales.shape != self.meta.shape:
            raise ValueError(f"inconsistent FGMPTensor shapes: meta {tuple(self.meta.shape)}, "
                             f"codes {tuple(self.codes.shape)}, scales {tuple(self.scales.shape)}")
        if not (0 < self.k <= self.meta.shape[-1] * BLOCK) or \
                self.meta.shape[-1] != -(-self.k // BLOCK):
            raise ValueError(f"k={self.k} does not match {self.meta.shape[-1]} blocks")
        self.meta = self.meta.to(torch.bool)

    # -- shape / accounting ------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return (*self.meta.shape[:-1], self.k)

    @property
    def nblocks(self) -> int:
        return self.meta.numel()

    @property
    def n_fp8(self) -> int:
        return int(self.meta.sum())

    @property
    def fp4_fraction(self) -> float:
        return 1.0 - self.n_fp8 / self.nblocks if self.nblocks else 0.0

    @property
    def storage_bits(self) -> int:
        """Exact bits: 72 per NVFP4 block, 128 per FP8 block, 1 meta bit per block (the 32-bit
        tensor scale is not counted, as in SPEC §4)."""
        n8 = self.n_fp8
        return 72 * (self.nblocks - n8) + 128 * n8 + self.nblocks

    @property
    def bits_per_element(self) -> Fraction:
        """Exact storage bits per (padded) element = (p·72 + (1−p)·128 + 1) / 16."""
        return Fraction(self.storage_bits, self.nblocks * BLOCK)

    # -- values --------------------------------------------------------------------------------
    def block_scales(self) -> torch.Tensor:
        """bs per block as float64: s_b for NVFP4, 6 for FP8 (exact)."""
        return torch.where(self.meta, torch.full(self.meta.shape, FP8_BLOCK_SCALE,
                                                 dtype=torch.float64),
                           _dec64(UE4M3, self.scales))

    def element_values(self) -> torch.Tensor:
        """e(q) per element (float64, exact), without block or tensor scale."""
        c = self.codes
        v4 = _dec64(E2M1, torch.where(self.meta.unsqueeze(-1), torch.zeros_like(c), c & 0xF))
        v8 = _dec64(E4M3, torch.where(self.meta.unsqueeze(-1), c, torch.zeros_like(c)))
        return torch.where(self.meta.unsqueeze(-1), v8, v4)

    def dequantize(self, dtype=torch.float32, padded: bool = False) -> torch.Tensor:
        """e(q)·bs·S, computed exactly in float64 and rounded once (RNE) to ``dtype``."""
        key = (dtype, padded)
        if key not in self._deq_cache:
            v = self.element_values() * self.block_scales().unsqueeze(-1) * self.tensor_scale
            v = v.reshape(*self.meta.shape[:-1], -1)
            if not padded:
                v = v[..., : self.k]
            self._deq_cache.clear()
            self._deq_cache[key] = v.to(dtype)
        return self._deq_cache[key]

    # -- memory image -------------------------------------------------------------------------
    def pack(self) -> PackedFGMP:
        meta = self.meta.reshape(-1).numpy()
        codes = self.codes.reshape(-1, BLOCK).numpy().astype(np.uint8)
        sizes = np.where(meta, 16, 8)
        offs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        out = np.zeros(int(sizes.sum()), dtype=np.uint8)
        i8 = np.nonzero(meta)[0]
        i4 = np.nonzero(~meta)[0]
        if len(i8):
            out[offs[i8][:, None] + np.arange(16)] = codes[i8]
        if len(i4):
            c4 = codes[i4]
            if (c4 > 15).any():
                raise ValueError("pack: NVFP4 block holds a code > 15")
            out[offs[i4][:, None] + np.arange(8)] = (c4[:, 0::2] | (c4[:, 1::2] << 4))
        scales = self.scales.reshape(-1).numpy().astype(np.uint8)[i4]
        bitmap = np.packbits(meta.astype(np.uint8), bitorder="little")
        return PackedFGMP(out.tobytes(), scales.tobytes(), bitmap.tobytes(), self.shape,
                          self.tensor_scale)

    @classmethod
    def unpack(cls, packed: PackedFGMP) -> "FGMPTensor":
        shape = tuple(packed.shape)
        nb_row = -(-shape[-1] // BLOCK)
        nb = packed.nblocks
        bitmap = np.frombuffer(packed.meta, dtype=np.uint8)
        if len(bitmap) != -(-nb // 8):
            raise ValueError(f"unpack: meta bitmap has {len(bitmap)} bytes, expected {-(-nb // 8)}")
        meta = np.unpackbits(bitmap, bitorder="little")[:nb].astype(bool)
        sizes = np.where(meta, 16, 8)
        raw = np.frombuffer(packed.codes, dtype=np.uint8)
        if len(raw) != sizes.sum():
            raise ValueError(f"unpack: {len(raw)} code bytes, expected {int(sizes.sum())}")
        offs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        codes = np.zeros((nb, BLOCK), dtype=np.uint8)
        i8 = np.nonzero(meta)[0]
        i4 = np.nonzero(~meta)[0]
        if len(i8):
            codes[i8] = raw[offs[i8][:, None] + np.arange(16)]
        if len(i4):
            b = raw[offs[i4][:, None] + np.arange(8)]
            codes[i4, 0::2] = b & 0xF
            codes[i4, 1::2] = b >> 4
        sc = np.frombuffer(packed.scales, dtype=np.uint8)
        if len(sc) != len(i4):
            raise ValueError(f"unpack: {len(sc)} scale bytes, expected {len(i4)}")
        scales = np.full(nb, FP8_SCALE_CODE, dtype=np.uint8)
        scales[i4] = sc
        lead = shape[:-1]
        return cls(torch.from_numpy(meta).reshape(*lead, nb_row),
                   torch.from_numpy(codes).reshape(*lead, nb_row, BLOCK),
                   torch.from_numpy(scales).reshape(*lead, nb_row),
                   float(packed.tensor_scale), shape[-1])


def fp8_bits_per_element() -> int:
    """All-FP8 baseline storage (no meta bitmap): 8 bits per element."""
    return 8


# ---------------------------------------------------------------------------------------------
# Quantizers

def quantize_mixed(x, meta, tensor_scale=None, *, scale_codes=None, pad: bool = False,
                   _what: str = "quantize_mixed") -> FGMPTensor:
    """Quantize ``x`` blockwise: FP8 where ``meta`` is True, NVFP4 elsewhere.

    tensor_scale: S (FP32) or None for ``tensor_scale(amax(x))``. scale_codes: optional UE4M3
    codes overriding the amax-based NVFP4 block scales (used by clipping). NaN/Inf in ``x``
    raise ValueError.
    """
    xb, k = _as_blocks(x, pad, _what)
    _check_finite(xb, _what)
    S = _resolve_scale(xb, tensor_scale)
    meta = int_codes(meta, f"{_what}: meta", 0, 1, bool_ok=True).to(torch.bool)
    if meta.shape != xb.shape[:-1]:
        raise ValueError(f"{_what}: meta shape {tuple(meta.shape)} != block shape "
                         f"{tuple(xb.shape[:-1])}")
    x64 = xb.to(torch.float64)
    if scale_codes is None:
        sc = nvfp4_block_scale_codes(xb, S)
    else:
        sc = int_codes(scale_codes, f"{_what}: scale_codes (UE4M3; 0x7F is NaN, not a scale)",
                       0, UE4M3.max_code).to(torch.uint8)
        if sc.shape != meta.shape:
            raise ValueError(f"{_what}: scale_codes shape {tuple(sc.shape)} != {tuple(meta.shape)}")
    c4 = _nvfp4_codes(x64, S, sc)
    c8 = _fp8_codes(x64, S)
    m = meta.unsqueeze(-1)
    codes = torch.where(m, c8, c4)
    scales = torch.where(meta, torch.full_like(sc, FP8_SCALE_CODE), sc)
    return FGMPTensor(meta.clone(), codes, scales, S, k)


def quantize_nvfp4(x, tensor_scale=None, *, scale_codes=None, pad: bool = False) -> FGMPTensor:
    """All blocks NVFP4 (SPEC §4)."""
    xb, _ = _as_blocks(x, pad, "quantize_nvfp4")
    meta = torch.zeros(xb.shape[:-1], dtype=torch.bool)
    return quantize_mixed(x, meta, tensor_scale, scale_codes=scale_codes, pad=pad,
                          _what="quantize_nvfp4")


def quantize_fp8(x, tensor_scale=None, *, pad: bool = False) -> FGMPTensor:
    """All blocks FP8 with implicit block scale 6 (SPEC §4)."""
    xb, _ = _as_blocks(x, pad, "quantize_fp8")
    meta = torch.ones(xb.shape[:-1], dtype=torch.bool)
    return quantize_mixed(x, meta, tensor_scale, pad=pad, _what="quantize_fp8")
