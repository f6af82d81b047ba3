"""FineQ cluster format: layouts, cluster bytes, 32-bit word packing, ``FineQWeight``.

This module is the bit-exact definition the RTL decoder is checked against (docs/fineq.md).

Summary (SPEC §2 plus the rules the SPEC leaves open, marked "D" in docs/fineq.md):

* ``W[N, K]`` is zero-padded along K to ``Kp`` = a multiple of the group size ``G``. Clusters are
  3 consecutive weights along K; cluster ``c`` of a row covers columns ``3c .. 3c+2``.
* One FP16 scale Δ per (row, group of G columns). A weight's value is ``level * Δ / 2`` with an
  odd integer level (or 0 for the "330" victim).
* A b-bit code ``c`` (b >= 1): ``sign = c[b-1]`` (1 = negative), ``k = c[b-2:0]``,
  ``level = (-1)**sign * (2k + 1)``. A 0-bit code is level 0 (sign 0).
* Cluster byte: ``bits[7:6]`` = type ``t``. ``t = 0`` (normal): 2-bit codes of w0, w1, w2 at
  bits [1:0], [3:2], [5:4]. ``t in {1, 2, 3}``: outlier at position ``p = t - 1``; the layout's
  three field widths ``(b0, b1, b2)`` (sum 6) hold the codes of ``w_p``, ``w_(p+1)%3``,
  ``w_(p+2)%3``, packed from bit 0 upwards (``w_p`` at ``[b0-1:0]``, next at ``[b0+b1-1:b0]``,
  last at ``[5:b0+b1]``).
* Every one of the 256 byte values is a valid cluster in every layout.
* Word packing: 4 cluster bytes per uint32, cluster ``j`` of a word at bits ``[8j+7:8j]``,
  clusters in K order, each row padded to whole words with zero bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch

from golden.formats import int_codes

__all__ = [
    "Layout", "LAYOUTS", "DEFAULT_LAYOUT", "DEFAULT_GROUP_SIZE", "get_layout",
    "check_group_size", "field_table", "decode_byte", "decode_word", "encode_levels",
    "level_lut", "FineQWeight", "unpack",
]

DEFAULT_GROUP_SIZE = 96


@dataclass(frozen=True)
class Layout:
    """How the 6 data bits of an outlier cluster (type 1..3, outlier position p) are coded.

    Two kinds:

    * ``"fields"``: ``outlier_bits = (b0, b1, b2)`` (sum 6) are the code widths of ``w_p``,
      ``w_(p+1)%3``, ``w_(p+2)%3``, packed from bit 0 upwards; a b-bit code has sign bit
      ``c[b-1]`` and ``k = c[b-2:0]``, ``|level| = 2k+1``; a 0-bit code is the level 0 (victim).
    * ``"patterns"``: a joint code. ``patterns`` lists magnitude patterns
      ``(k_p, k_(p+1), k_(p+2))`` (``|level| = 2k+1``; ``None`` = level 0). Pattern ``j``
      owns the ``2**nnz_j`` consecutive data values from ``base_j`` (the running sum of the
      earlier patterns' sizes, which must be aligned: ``base_j % 2**nnz_j == 0``); the data
      value ``base_j + o`` gives the non-zero positions, in p-relative order, the sign bits
      ``o[0], o[1], ...``. The sizes must add up to 64.

    Normal clusters (type 0) are the same in every layout: three 2-bit codes.
    """

    name: str
    kind: str
    outlier_bits: tuple[int, ...] = ()
    patterns: tuple[tuple[int | None, int | None, int | None], ...] = ()
    description: str = ""

    def __post_init__(self):
        if self.kind == "fields":
            bits = self.outlier_bits
            if len(bits) != 3 or sum(bits) != 6 or not all(0 <= x <= 4 for x in bits):
                raise ValueError(f"bad outlier_bits {bits!r}")
        elif self.kind == "patterns":
            base = 0
            for pat in self.patterns:
                if len(pat) != 3 or not all(k is None or 0 <= k <= 3 for k in pat):
                    raise ValueError(f"bad pattern {pat!r}")
                size = 1 << sum(k is not None for k in pat)
                if base % size:
                    raise ValueError(f"pattern {pat!r} at data value {base} is not aligned")
                base += size
            if base != 64:
                raise ValueError(f"patterns of layout {self.name!r} cover {base} data values, "
                                 f"not 64")
        else:
            raise ValueError(f"bad layout kind {self.kind!r}")

    @property
    def pattern_bases(self) -> tuple[int, ...]:
        out, base = [], 0
        for pat in self.patterns:
            out.append(base)
            base += 1 << sum(k is not None for k in pat)
        return tuple(out)

    @property
    def max_level(self) -> int:
        """Largest |level| any cluster of this layout can encode."""
        if self.kind == "fields":
            return max(2 ** b - 1 for b in (2, *self.outlier_bits))
        return max(3, *(2 * k + 1 for pat in self.patterns for k in pat if k is not None))


LAYOUTS: dict[str, Layout] = {
    "321": Layout("321", "fields", (3, 2, 1),
                  description="SPEC: outlier 3-bit, next 2-bit, last 1-bit"),
    "330": Layout("330", "fields", (3, 3, 0),
                  description="SPEC outlier-victim: outlier and next 3-bit, last = 0"),
    # Ours (docs/fineq.md): 3 sign bits + a 3-bit joint magnitude pattern (h, a, b) = j:
    # h = 0: k = (2, a, b); h = 1: k = (3, a*(2-b), b*(1+a)). Data bits [2:0] = signs of
    # (w_p, w_(p+1)%3, w_(p+2)%3), bits [5:3] = j.
    "joint": Layout("joint", "patterns", patterns=(
        (2, 0, 0), (2, 0, 1), (2, 1, 0), (2, 1, 1), (3, 0, 0), (3, 0, 1), (3, 2, 0), (3, 1, 2)),
        description="ours: outlier k_p in {2,3}, joint 3-bit magnitude pattern + 3 signs"),
}
# Chosen by measurement on all-MiniLM-L6-v2 (docs/fineq.md, "Evaluation"): "joint" has the best
# weight SQNR (plain and importance-weighted) and the best importance-weighted output SQNR.
DEFAULT_LAYOUT = "joint"


def get_layout(layout) -> Layout:
    if isinstance(layout, Layout):
        if LAYOUTS.get(layout.name) != layout:
            raise ValueError(f"unknown layout {layout!r}")
        return layout
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known layouts: {sorted(LAYOUTS)}")
    return LAYOUTS[layout]


def check_group_size(group_size) -> int:
    if (isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer))
            or group_size <= 0 or group_size % 3 != 0):
        raise ValueError(f"group_size must be a positive multiple of 3, got {group_size!r}")
    return int(group_size)


@lru_cache(maxsize=None)
def field_table(layout: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    """``table[t][i] = (width, offset)`` of the code of weight ``w_i`` in a type-``t`` byte.

    Fields layouts only; for a patterns layout only ``table[0]`` (normal clusters) is given.
    """
    lay = get_layout(layout)
    table = [((2, 0), (2, 2), (2, 4))]
    if lay.kind != "fields":
        return tuple(table)
    for p in range(3):
        fields = [None, None, None]
        off = 0
        for j, b in enumerate(lay.outlier_bits):
            fields[(p + j) % 3] = (b, off)
            off += b
        assert off == 6
        table.append(tuple(fields))
    return tuple(table)


def _check_layout_name(layout) -> str:
    return get_layout(layout).name


def _decode_field(byte: int, width: int, offset: int) -> tuple[int, int]:
    if width == 0:
        return (0, 0)
    code = (byte >> offset) & ((1 << width) - 1)
    sign = code >> (width - 1)
    k = code & ((1 << (width - 1)) - 1)
    return (sign, 2 * k + 1)


def decode_byte(byte: int, layout: str = DEFAULT_LAYOUT) -> list[tuple[int, int]]:
    """Decode one cluster byte into 3 ``(sign, magnitude)`` pairs (see :func:`decode_word`)."""
    lay = get_layout(layout)
    if isinstance(byte, bool) or not isinstance(byte, (int, np.integer)) or not 0 <= byte < 256:
        raise ValueError(f"cluster byte must be an integer in [0, 255], got {byte!r}")
    byte = int(byte)
    t = byte >> 6
    if t == 0 or lay.kind == "fields":
        return [_decode_field(byte, w, o) for w, o in field_table(lay.name)[t]]
    p = t - 1
    d = byte & 0x3F
    out = [(0, 0)] * 3
    for pat, base in zip(lay.patterns, lay.pattern_bases):
        size = 1 << sum(k is not None for k in pat)
        if base <= d < base + size:
            o, bit = d - base, 0
            for q, k in enumerate(pat):
                if k is not None:
                    out[(p + q) % 3] = ((o >> bit) & 1, 2 * k + 1)
                    bit += 1
            return out
    raise AssertionError("patterns cover all 64 data values")


def decode_word(word: int, layout: str = DEFAULT_LAYOUT) -> list[tuple[int, int]]:
    """Hardware reference decoder: one packed 32-bit word -> 12 ``(sign, magnitude)`` pairs.

    Pair ``3j + i`` is weight ``w_i`` of cluster ``j`` (the byte at word bits ``[8j+7:8j]``), i.e.
    the pairs are in K order. ``sign`` is 1 for a negative level. ``magnitude`` is ``|level|`` as
    an unsigned integer in {0, 1, 3, 5, 7}: bit 0 is the "non-zero" flag (0 only for a victim,
    i.e. a 0-bit code), bits [2:1] are ``k`` with ``|level| = 2k + 1``. A victim decodes to
    ``(0, 0)``. The signed level is ``(1 - 2*sign) * magnitude``.
    """
    layout = get_layout(layout).name
    if isinstance(word, bool) or not isinstance(word, (int, np.integer)) or not 0 <= word < 2 ** 32:
        raise ValueError(f"word must be an integer in [0, 2**32), got {word!r}")
    word = int(word)
    out = []
    for j in range(4):
        out.extend(decode_byte((word >> (8 * j)) & 0xFF, layout))
    return out


@lru_cache(maxsize=None)
def _luts(layout: str):
    """Decode tables over all 256 bytes, built in the encoding direction (independently of the
    bit-parsing :func:`decode_byte`): for every type and every code choice, assemble the byte
    and record what it means."""
    lay = get_layout(layout)
    level = torch.zeros((256, 3), dtype=torch.int64)
    width = torch.zeros((256, 3), dtype=torch.int64)
    code = torch.zeros((256, 3), dtype=torch.int64)
    seen = torch.zeros(256, dtype=torch.int64)

    def lev(c, w):
        if w == 0:
            return 0
        sign, k = c >> (w - 1), c & ((1 << (w - 1)) - 1)
        return -(2 * k + 1) if sign else 2 * k + 1

    types = range(4) if lay.kind == "fields" else range(1)
    for t in types:
        tab = field_table(lay.name)[t]
        r = [range(1 << w) for w, _ in tab]
        for cs in ((a, b, c) for a in r[0] for b in r[1] for c in r[2]):
            byte = (t << 6) | sum(c << o for c, (_, o) in zip(cs, tab))
            for i, (w, _) in enumerate(tab):
                level[byte, i], width[byte, i], code[byte, i] = lev(cs[i], w), w, cs[i]
            seen[byte] += 1
    if lay.kind == "patterns":
        for t in (1, 2, 3):
            p = t - 1
            for pat, base in zip(lay.patterns, lay.pattern_bases):
                nz = [q for q, k in enumerate(pat) if k is not None]
                for o in range(1 << len(nz)):
                    byte = (t << 6) | (base + o)
                    for bit, q in enumerate(nz):
                        i = (p + q) % 3
                        sign = (o >> bit) & 1
                        level[byte, i] = -(2 * pat[q] + 1) if sign else 2 * pat[q] + 1
                        width[byte, i] = 1           # its own sign bit; magnitude is joint
                        code[byte, i] = (sign << 2) | pat[q]
                    seen[byte] += 1
    assert bool((seen == 1).all()), "every byte must be defined exactly once"
    return {
        "level": level.to(torch.int8),
        "code": code.to(torch.uint8),
        "width": width.to(torch.uint8),
        "sign": (level < 0).to(torch.uint8),
        "mag": level.abs().to(torch.uint8),
    }


def encode_levels(levels, layout: str = DEFAULT_LAYOUT) -> int:
    """The cluster byte for signed levels ``(l0, l1, l2)``; the lowest byte if several decode to
    them (e.g. "321" can also write some normal clusters as outlier clusters).
    ``ValueError`` if the layout cannot represent them."""
    lay = get_layout(layout)
    vals = int_codes(levels, "encode_levels: levels", -128, 127).reshape(-1).tolist()
    if len(vals) != 3:
        raise ValueError(f"need 3 levels, got {levels!r}")
    want = torch.tensor(vals, dtype=torch.int64)
    hit = (_luts(lay.name)["level"].long() == want).all(dim=1).nonzero()
    if hit.numel() == 0:
        raise ValueError(f"levels {tuple(vals)} are not representable in layout {lay.name!r}")
    return int(hit[0, 0])


def level_lut(layout: str = DEFAULT_LAYOUT) -> torch.Tensor:
    """``int8[256, 3]``: signed levels of w0, w1, w2 for every cluster byte."""
    return _luts(_check_layout_name(layout))["level"]


def _as_numpy(x, name):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise ValueError(f"{name} must be a numpy array or torch tensor, got {type(x).__name__}")


@dataclass(eq=False)
class FineQWeight:
    """A FineQ-quantized weight matrix.

    Canonical content: ``cluster_bytes`` (``torch.uint8[N, Kp/3]``, the cluster bytes in K
    order) and ``scales`` (``torch.float16[N, Kp/G]``, Δ per (row, group)). Everything else is
    derived. ``shape`` is the original ``(N, K)``; ``Kp`` is K padded to a multiple of G.
    """

    cluster_bytes: torch.Tensor
    scales: torch.Tensor
    shape: tuple[int, int]
    group_size: int
    layout: str

    def __post_init__(self):
        self.group_size = check_group_size(self.group_size)
        self.layout = _check_layout_name(self.layout)
        n, k = self.shape
        self.shape = (int(n), int(k))
        if self.cluster_bytes.dtype != torch.uint8 or tuple(self.cluster_bytes.shape) != (
                n, self.clusters_per_row):
            raise ValueError(
                f"cluster_bytes must be uint8[{n}, {self.clusters_per_row}], got "
                f"{self.cluster_bytes.dtype}{list(self.cluster_bytes.shape)}")
        if self.scales.dtype != torch.float16 or tuple(self.scales.shape) != (n, self.groups):
            raise ValueError(f"scales must be float16[{n}, {self.groups}], got "
                             f"{self.scales.dtype}{list(self.scales.shape)}")

    # ---- geometry -------------------------------------------------------------------------
    @property
    def k_padded(self) -> int:
        g = self.group_size
        return -(-self.shape[1] // g) * g

    @property
    def groups(self) -> int:
        return self.k_padded // self.group_size

    @property
    def clusters_per_row(self) -> int:
        return self.k_padded // 3

    @property
    def words_per_row(self) -> int:
        return -(-self.clusters_per_row // 4)

    # ---- per-cluster / per-weight views ---------------------------------------------------
    @property
    def types(self) -> torch.Tensor:
        """``uint8[N, Kp/3]``: cluster type (0 normal, 1..3 outlier at position type-1)."""
        return self.cluster_bytes >> 6

    def _per_weight(self, key: str) -> torch.Tensor:
        lut = _luts(self.layout)[key]
        n = self.shape[0]
        return lut[self.cluster_bytes.long()].reshape(n, self.k_padded)

    @property
    def levels(self) -> torch.Tensor:
        """``int8[N, Kp]``: signed odd levels (0 for a "330" victim); padding columns included."""
        return self._per_weight("level")

    @property
    def codes(self) -> torch.Tensor:
        """``uint8[N, Kp]``: each weight's code. Fields layouts and normal clusters: the raw
        ``code_bits``-wide field (0 for a victim). Patterns-layout outlier clusters:
        ``sign << 2 | k`` (the magnitude is coded jointly, not in a field)."""
        return self._per_weight("code")

    @property
    def code_bits(self) -> torch.Tensor:
        """``uint8[N, Kp]``: width of each weight's own field (0, 1, 2 or 3; for patterns-layout
        outlier clusters 1 for the sign bit, 0 for a victim)."""
        return self._per_weight("width")

    @property
    def signs(self) -> torch.Tensor:
        return self._per_weight("sign")

    @property
    def magnitudes(self) -> torch.Tensor:
        """``uint8[N, Kp]``: ``|level|`` (the magnitude code of :func:`decode_word`)."""
        return self._per_weight("mag")

    @property
    def outlier_fraction(self) -> float:
        """Fraction of outlier clusters among clusters holding at least one original weight."""
        real = -(-self.shape[1] // 3)
        t = self.types[:, :real]
        return float((t != 0).sum()) / t.numel()

    # ---- values ---------------------------------------------------------------------------
    def scales_per_column(self) -> torch.Tensor:
        """``float32[N, Kp]``: Δ/2 of each column (exact in FP32)."""
        return (self.scales.float() / 2).repeat_interleave(self.group_size, dim=1)

    def dequantize(self) -> torch.Tensor:
        """``float32[N, K]``: ``level * Δ / 2`` (exact in FP32), padding removed."""
        w = self.levels.float() * self.scales_per_column()
        return w[:, : self.shape[1]].contiguous()

    # ---- storage --------------------------------------------------------------------------
    @property
    def packed_bits(self) -> int:
        """Exact size of the memory image in bits: ``N*words_per_row*32 + N*groups*16``."""
        n = self.shape[0]
        return n * self.words_per_row * 32 + n * self.groups * 16

    @property
    def avg_bits_exact(self) -> Fraction:
        return Fraction(self.packed_bits, self.shape[0] * self.shape[1])

    @property
    def avg_bits(self) -> float:
        """Packed bits per original weight (padding and word padding are counted)."""
        return float(self.avg_bits_exact)

    def pack(self) -> tuple[np.ndarray, np.ndarray]:
        """Memory image: ``(words: numpy.uint32[N, W], scales: numpy.float16[N, G])``."""
        n, c = self.cluster_bytes.shape
        wpr = self.words_per_row
        b = torch.zeros((n, wpr * 4), dtype=torch.int64)
        b[:, :c] = self.cluster_bytes.long()
        b = b.reshape(n, wpr, 4)
        words = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16) | (b[..., 3] << 24)
        return words.numpy().astype(np.uint32), self.scales.numpy().copy()

    def equal(self, other: "FineQWeight") -> bool:
        """Exact equality (bytes, scale bit patterns, shape, group size, layout)."""
        return (isinstance(other, FineQWeight) and self.shape == other.shape
                and self.group_size == other.group_size and self.layout == other.layout
                and torch.equal(self.cluster_bytes, other.cluster_bytes)
                and torch.equal(self.scales.view(torch.int16), other.scales.view(torch.int16)))

    def __repr__(self) -> str:
        return (f"FineQWeight(shape={self.shape}, group_size={self.group_size}, "
                f"layout={self.layout!r}, avg_bits={self.avg_bits:.4f}, "
                f"outlier_fraction={self.outlier_fraction:.4f})")


def unpack(words, scales, shape, group_size: int = DEFAULT_GROUP_SIZE,
           layout: str = DEFAULT_LAYOUT) -> FineQWeight:
    """Inverse of :meth:`FineQWeight.pack`.

    ``words``: integer array ``[N, W]`` (numpy of any integer dtype or torch integer tensor) with
    values in ``[0, 2**32)``; ``scales``: float16-representable ``[N, G]`` (non-negative, finite);
    ``shape``: the original ``(N, K)``. Bytes after the last cluster of a row must be zero.
    """
    group_size = check_group_size(group_size)
    layout = _check_layout_name(layout)
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                       for s in shape)):
        raise ValueError(f"shape must be two positive integers (N, K), got {shape!r}")
    n, k = int(shape[0]), int(shape[1])
    kp = -(-k // group_size) * group_size
    c = kp // 3
    wpr = -(-c // 4)
    g = kp // group_size

    w = _as_numpy(words, "words")
    if w.ndim != 2 or w.shape != (n, wpr):
        raise ValueError(f"words must have shape ({n}, {wpr}) for shape {tuple(shape)} and "
                         f"group_size {group_size}, got {tuple(w.shape)}")
    if not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"words must be an integer array, got dtype {w.dtype}")
    w64 = w.astype(np.int64) if w.dtype != np.uint64 else w
    if (w64 < 0).any() or (w64 >= 2 ** 32).any():
        raise ValueError("words must hold values in [0, 2**32)")
    w64 = torch.from_numpy(np.ascontiguousarray(w64.astype(np.int64)))
    shifts = torch.tensor([0, 8, 16, 24], dtype=torch.int64)
    b = ((w64[..., None] >> shifts) & 0xFF).reshape(n, wpr * 4)
    if (b[:, c:] != 0).any():
        raise ValueError(f"padding bytes after cluster {c} of a row must be zero")

    s = _as_numpy(scales, "scales")
    if s.ndim != 2 or s.shape != (n, g):
        raise ValueError(f"scales must have shape ({n}, {g}), got {tuple(s.shape)}")
    s16 = s.astype(np.float16)
    if not np.array_equal(s16.astype(np.float64), s.astype(np.float64), equal_nan=True):
        raise ValueError("scales are not representable in float16")
    if not np.isfinite(s16).all() or (s16 < 0).any():
        raise ValueError("scales must be finite and non-negative")
    return FineQWeight(b[:, :c].to(torch.uint8).contiguous(), torch.from_numpy(s16.copy()),
                       (n, k), group_size, layout)
