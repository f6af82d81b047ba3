"""Stimulus + golden expectations for the FineQ RTL (decoder, arrays, core).

Used by the cocotb testbench (verif/tb/fineq.py) and the Amaranth-simulator tests
(tests/rtl/test_fineq_amaranth.py), so both exercise the same corners. Expectations come from
the golden model's public API only: ``golden.fineq.decode_word`` for per-weight (sign, magnitude),
``FineQWeight`` / ``.pack()`` for the memory image, ``quantize`` for real weights, and
``golden.fineq.int_matmul`` for the column sums (cross-checked against a plain int64 product).

A ``Tile`` is one weight tile of an R x C array plus the activation vectors streamed against it.
``level(r, c)`` is ``W[n0 + c, k0 + r]`` of a packed matrix: array column c is output row n0 + c,
array row r is input index k0 + r. Tiles built from a packed image also carry the words the core
consumes (the golden memory image, not re-packed) and the skip count ``k0 % 12``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

import golden.fineq as gf
from golden.fineq import FineQWeight, decode_word
from rtl.fineq.common import WEIGHT
from verif.payload import pack, unpack

__all__ = ["Tile", "column_sums", "window_cycles", "tile_from_image", "image_from_bytes",
           "directed_tiles", "random_tiles", "minilm_tiles", "encode_weight_beat", "encode_level_beat",
           "encode_core_words", "encode_acts", "decode_outputs", "decoder_words", "word_bytes",
           "level_sweep_tiles", "byte_sweep_tiles", "extreme_acts",
           "latency", "LAYOUT_BYTES", "sm_to_level", "level_to_sm"]

WORD_WEIGHTS = 12
GROUP = 96


# ------------------------------------------------------------------------------------------------
# golden-side arithmetic
# ------------------------------------------------------------------------------------------------

def column_sums(levels_rc: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
    """Expected output ``out[v, c] = sum_r acts[v, r] * levels[r, c]`` (int64, exact).

    Computed by ``golden.fineq.int_matmul(levels[N, K], a[T, K], group_size)`` (per-group integer
    partial sums ``[T, N, G]``) with the tile's K range as one group (zero-padded to a multiple
    of 3), and cross-checked against a plain int64 product.
    """
    ref = acts.to(torch.int64) @ levels_rc.to(torch.int64)
    rows = levels_rc.shape[0]
    g = -(-rows // 3) * 3
    L = torch.zeros((levels_rc.shape[1], g), dtype=torch.int64)
    L[:, :rows] = levels_rc.T
    a = torch.zeros((acts.shape[0], g), dtype=torch.int64)
    a[:, :rows] = acts
    got = gf.int_matmul(L, a.to(torch.int8), group_size=g)
    got = torch.as_tensor(got).to(torch.int64)
    if got.shape != (acts.shape[0], L.shape[0], 1) or not torch.equal(got[..., 0], ref):
        raise AssertionError("golden.fineq.int_matmul disagrees with the exact int64 product "
                             f"(shape {tuple(got.shape)})")
    return got[..., 0]


def sm_to_level(sign: int, mag: int) -> int:
    return -mag if sign else mag


def level_to_sm(level: int) -> tuple[int, int]:
    return (1 if level < 0 else 0), abs(int(level))


def window_cycles(levels, kind: str, coding: str = "select", early_finish: bool = True) -> int:
    """Documented cycles per vector (docs/fineq_rtl.md), written independently of the RTL.

    binary arrays and select: 1. csd: 1 if every |level| <= 1 else 2. unary: 1 + max k,
    |level| = 2k+1. Without early finish: csd 2, unary 4.
    """
    if kind == "binary" or coding == "select":
        return 1
    mags = [abs(int(v)) for v in torch.as_tensor(levels).flatten().tolist()]
    if coding == "csd":
        t = 2 if any(m > 1 for m in mags) else 1
        return t if early_finish else 2
    t = 1 + max((m - 1) // 2 if m else 0 for m in mags)
    return t if early_finish else 4


def latency(rows: int, cols: int, window: int, dataflow: str = "broadcast") -> int:
    """Documented latency: vector handshake to result handshake (no stall) = R + T + 1
    (broadcast: every column finishes together) or R + C + T + 1 (systolic: the activation
    register of each PE delays column c by c + 1 cycles, the output deskew aligns them)."""
    extra = {"broadcast": 0, "systolic": cols}[dataflow]
    return rows + window + 1 + extra


# ------------------------------------------------------------------------------------------------
# tiles
# ------------------------------------------------------------------------------------------------

@dataclass
class Tile:
    kind: str                         # what the tile exercises (failure messages)
    sign: torch.Tensor                # int64 [R, C]
    mag: torch.Tensor                 # int64 [R, C] in {0, 1, 3, 5, 7}
    acts: torch.Tensor                # int64 [V, R]
    words: list[list[int]] | None = None   # core: per column, the packed words
    skip: int = 0                     # core: k0 % 12
    expected: torch.Tensor = field(init=False)   # int64 [V, C]

    def __post_init__(self):
        self.expected = column_sums(self.levels, self.acts)

    @property
    def levels(self) -> torch.Tensor:
        return torch.where(self.sign.bool(), -self.mag, self.mag)

    @property
    def rows(self) -> int:
        return self.sign.shape[0]

    @property
    def cols(self) -> int:
        return self.sign.shape[1]

    @property
    def core_ok(self) -> bool:
        return self.words is not None


def image_from_bytes(cluster_bytes: torch.Tensor, layout: str) -> FineQWeight:
    """A FineQWeight holding exactly the given cluster bytes (K padded to a group multiple with
    zero bytes; scales 1.0 - irrelevant to the integer datapath)."""
    n, c = cluster_bytes.shape
    kp = -(-3 * c // GROUP) * GROUP
    b = torch.zeros((n, kp // 3), dtype=torch.uint8)
    b[:, :c] = cluster_bytes.to(torch.uint8)
    return FineQWeight(b, torch.ones((n, kp // GROUP), dtype=torch.float16), (n, kp), GROUP,
                       layout)


def _decoded_rows(words: np.ndarray, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(sign, mag) int64 [N, 12*W] of a packed image, via golden decode_word."""
    n, wpr = words.shape
    sign = torch.zeros((n, wpr * WORD_WEIGHTS), dtype=torch.int64)
    mag = torch.zeros_like(sign)
    for i in range(n):
        for j in range(wpr):
            pairs = decode_word(int(words[i, j]), layout)
            for q, (s, mg) in enumerate(pairs):
                sign[i, j * WORD_WEIGHTS + q] = s
                mag[i, j * WORD_WEIGHTS + q] = mg
    return sign, mag


@lru_cache(maxsize=32)
def _decoded_cached(key, layout):
    return _decoded_rows(np.array(key, dtype=np.uint32), layout)


def tile_from_image(fq: FineQWeight, n0: int, k0: int, rows: int, cols: int, acts: torch.Tensor,
                    kind: str, check_levels: bool = True) -> Tile:
    """Tile W[n0:n0+C, k0:k0+R] of a packed image; positions past the last word are zero words
    (the host pads; activations there must be 0)."""
    words, _ = fq.pack()
    n, wpr = words.shape
    w_hi = (k0 + rows - 1) // WORD_WEIGHTS + 1
    padded = np.zeros((cols, max(w_hi, wpr)), dtype=np.uint32)
    for c in range(cols):
        if n0 + c < n:
            padded[c, :wpr] = words[n0 + c]
    sign, mag = _decoded_cached(tuple(map(tuple, padded.tolist())), fq.layout)
    if check_levels:     # the memory image decodes to the golden levels (within the real rows)
        lv = fq.levels.to(torch.int64)
        kk = min(lv.shape[1], padded.shape[1] * WORD_WEIGHTS)
        ours = torch.where(sign.bool(), -mag, mag)[: min(cols, n - n0), :kk]
        assert torch.equal(ours, lv[n0:n0 + cols, :kk]), "decode_word disagrees with .levels"
    sl = slice(k0, k0 + rows)
    col_words = [[int(x) for x in padded[c, k0 // WORD_WEIGHTS: w_hi]] for c in range(cols)]
    return Tile(kind, sign[:, sl].T.contiguous(), mag[:, sl].T.contiguous(), acts,
                words=col_words, skip=k0 % WORD_WEIGHTS)


def _acts(rng: random.Random, n: int, rows: int, extremes: bool = True) -> torch.Tensor:
    out = []
    for _ in range(n):
        mode = rng.random() if extremes else 1.0
        if mode < 0.15:
            out.append([rng.choice((-128, 127)) for _ in range(rows)])
        elif mode < 0.25:
            out.append([rng.choice((-128, -1, 0, 1, 127)) for _ in range(rows)])
        else:
            out.append([rng.randint(-128, 127) for _ in range(rows)])
    return torch.tensor(out, dtype=torch.int64).reshape(n, rows)


#: Cluster bytes of interest per layout: outlier clusters at the largest levels.
def LAYOUT_BYTES(layout: str) -> dict[str, list[int]]:
    if layout == "joint":   # j = 7: |levels| (7, 3, 5), signs from bits [2:0]
        pos = [t << 6 | 0b111 << 3 for t in (1, 2, 3)]
        neg = [b | 0b111 for b in pos]
    elif layout == "330":
        pos = [t << 6 | 0b011 | (0b011 << 3) for t in (1, 2, 3)]
        neg = [b | 0b100 | (0b100 << 3) for b in pos]
    else:  # "321": 3-bit 7, 2-bit 3, 1-bit 1
        pos = [t << 6 | 0b011 | (0b01 << 3) | (0 << 5) for t in (1, 2, 3)]
        neg = [t << 6 | 0b111 | (0b11 << 3) | (1 << 5) for t in (1, 2, 3)]
    return {"max_pos": pos, "max_neg": neg}


def directed_tiles(rows: int, cols: int, layout: str, rng: random.Random,
                   vectors: int = 2) -> list[Tile]:
    """Corner tiles (each usable by arrays and core unless noted):

    * ``sweep``: every one of the 256 cluster bytes (so every type and code of the layout) at
      every weight position of its cluster, in consecutive tiles along K (all skip values
      that R produces);
    * ``max_pos`` / ``max_neg``: all clusters outliers at the layout's largest levels, against
      INT8 extremes (all -128, all 127);
    * ``zero_words``: an all-zero memory image (every weight +1) and all-zero activations;
    * ``small`` (only |level| <= 1), ``k1`` (|level| <= 3): the short windows (early finish);
    * ``random_outliers``: every cluster an outlier cluster with random codes.

    Plus array-only tiles (``words`` None: not encodable in the packed format):
    ``levels_max``: every level +7 / -7 against -128 and 127 (the psum-width extremes),
    ``levels_zero``: every level 0, ``every_level``: all 15 signed levels (0, ±1..±7) per row.
    """
    tiles: list[Tile] = []
    # --- sweep over all 256 bytes
    per_row = -(-256 // cols) + 1
    by = torch.tensor([[(c * per_row + j) % 256 for j in range(per_row)] for c in range(cols)],
                      dtype=torch.uint8)
    fq = image_from_bytes(by, layout)
    k_total = 3 * per_row
    for k0 in range(0, k_total, rows):
        tiles.append(tile_from_image(fq, 0, k0, rows, cols, _acts(rng, vectors, rows), "sweep"))

    def pattern_tile(kind, byte_choices, acts, k0=None):
        nclu = -(-(rows + WORD_WEIGHTS) // 3) + 1
        by = torch.tensor([[rng.choice(byte_choices) for _ in range(nclu)] for _ in range(cols)],
                          dtype=torch.uint8)
        fq = image_from_bytes(by, layout)
        k0 = rng.randrange(0, 12) if k0 is None else k0
        return tile_from_image(fq, 0, k0, rows, cols, acts, kind)

    ext = torch.tensor([[-128] * rows, [127] * rows,
                        [(-128 if r % 2 else 127) for r in range(rows)]], dtype=torch.int64)
    lb = LAYOUT_BYTES(layout)
    tiles.append(pattern_tile("max_pos", lb["max_pos"], ext))
    tiles.append(pattern_tile("max_neg", lb["max_neg"], ext))
    tiles.append(pattern_tile("zero_words", [0], torch.zeros((2, rows), dtype=torch.int64), k0=0))
    small = [(c0 | c1 << 2 | c2 << 4) for c0 in (0, 2) for c1 in (0, 2) for c2 in (0, 2)]
    tiles.append(pattern_tile("small", small, _acts(rng, 3, rows)))
    tiles.append(pattern_tile("k1", list(range(64)), _acts(rng, 3, rows)))
    outl = [b for b in range(64, 256)]
    tiles.append(pattern_tile("random_outliers", outl, _acts(rng, 3, rows)))

    # --- array-only tiles
    def array_tile(kind, levels, acts):
        sign = (levels < 0).to(torch.int64)
        return Tile(kind, sign, levels.abs().to(torch.int64), acts)

    full = torch.full((rows, cols), 7, dtype=torch.int64)
    tiles.append(array_tile("levels_max", full, ext))
    tiles.append(array_tile("levels_max", -full, ext))
    tiles.append(array_tile("levels_zero", torch.zeros_like(full), ext))
    every = [0, 1, -1, 3, -3, 5, -5, 7, -7]
    lv = torch.tensor([[every[(r + 2 * c) % len(every)] for c in range(cols)] for r in range(rows)],
                      dtype=torch.int64)
    tiles.append(array_tile("every_level", lv, torch.cat([ext, _acts(rng, 2, rows)])))
    for t in (1, 2, 3):   # unary windows 2..4: max k = t
        lv = torch.tensor([[rng.choice([1, -1, 0] + [2 * k + 1 for k in range(1, t + 1)])
                            for _ in range(cols)] for _ in range(rows)], dtype=torch.int64)
        lv[rng.randrange(rows), rng.randrange(cols)] = 2 * t + 1
        tiles.append(array_tile(f"kmax{t}", lv, _acts(rng, 2, rows)))
    return tiles


def extreme_acts(rows: int) -> torch.Tensor:
    """The two extreme activation vectors: every row -128, every row 127."""
    return torch.tensor([[-128] * rows, [127] * rows], dtype=torch.int64)


def level_sweep_tiles(rows: int, cols: int, levels: list[int]) -> list[Tile]:
    """``len(levels)`` array tiles (no packed image): PE (r, c) of tile t holds
    ``levels[(r + c + t) % n]``, so every PE holds every level once, each tile against both
    extreme activation vectors (``extreme_acts``)."""
    n = len(levels)
    out = []
    for t in range(n):
        lv = torch.tensor([[levels[(r + c + t) % n] for c in range(cols)] for r in range(rows)],
                          dtype=torch.int64)
        out.append(Tile(f"level sweep {t}", (lv < 0).to(torch.int64), lv.abs(),
                        extreme_acts(rows)))
    return out


def byte_sweep_tiles(rows: int, cols: int, layout: str) -> list[Tile]:
    """Packed-image tiles in which every column holds each of the 256 cluster bytes (column c
    the sequence ``(j + 37 c) % 256``) and every byte lies wholly inside at least one tile (tiles
    start every 3·floor(R/3) weights along K), each tile against both extreme activation
    vectors."""
    if rows < 3:
        raise ValueError(f"byte_sweep_tiles: a cluster spans 3 rows, got rows={rows}")
    by = torch.tensor([[(j + 37 * c) % 256 for j in range(256)] for c in range(cols)],
                      dtype=torch.uint8)
    fq = image_from_bytes(by, layout)
    step = 3 * (rows // 3)
    return [tile_from_image(fq, 0, k0, rows, cols, extreme_acts(rows), "byte sweep")
            for k0 in range(0, 3 * 256 - 2, step)]


def random_tiles(rows: int, cols: int, layout: str, rng: random.Random, n: int,
                 max_vectors: int = 6) -> list[Tile]:
    """Random cluster bytes at random K offsets, 1..max_vectors random activation vectors."""
    out = []
    for _ in range(n):
        nclu = -(-(rows + WORD_WEIGHTS) // 3) + 4
        by = torch.tensor([[rng.randrange(256) for _ in range(nclu)] for _ in range(cols)],
                          dtype=torch.uint8)
        fq = image_from_bytes(by, layout)
        k0 = rng.randrange(0, 3 * nclu - rows + 1)
        out.append(tile_from_image(fq, 0, k0, rows, cols,
                                   _acts(rng, rng.randint(1, max_vectors), rows), "random"))
    return out


def minilm_tiles(rows: int, cols: int, layout: str, rng: random.Random, n: int = 2,
                 tensor: str = "encoder.layer.0.attention.self.query.weight") -> list[Tile]:
    """Tiles of a real all-MiniLM-L6-v2 weight matrix quantized by ``golden.fineq.quantize``
    (rows n0..n0+C-1, full K = 384, G = 96), at random K offsets; random INT8 activations."""
    from golden.models import minilm_weight
    W = minilm_weight(tensor)
    out = []
    for _ in range(n):
        n0 = rng.randrange(0, W.shape[0] - cols + 1)
        fq = gf.quantize(W[n0:n0 + cols], group_size=GROUP, layout=layout)
        k0 = rng.randrange(0, W.shape[1] - rows + 1)
        out.append(tile_from_image(fq, 0, k0, rows, cols, _acts(rng, 4, rows), "minilm"))
    return out


# ------------------------------------------------------------------------------------------------
# port payloads, packed with the DUT's own payload shapes (verif.payload)
# ------------------------------------------------------------------------------------------------

def encode_weight_beat(tile: Tile, c: int, shape) -> int:
    """Payload of an array's weight beat for column ``c``; ``shape`` is the array's ``w``
    payload (``w`` shape of the array component): R ``WEIGHT`` structs (temporal array) or R signed levels
    (binary arrays)."""
    col = zip(tile.sign[:, c].tolist(), tile.mag[:, c].tolist())
    if shape.elem_shape == WEIGHT:
        return pack(shape, [{"mag": mg, "sign": s} for s, mg in col])
    return pack(shape, [sm_to_level(s, mg) for s, mg in col])


def encode_level_beat(levels, shape) -> int:
    """Payload of an array's weight beat from one column's signed levels (top row first):
    (sign, magnitude) ``WEIGHT`` structs for the FineQ array (sign 0 for level 0), the levels
    themselves for the binary arrays."""
    if shape.elem_shape == WEIGHT:
        return pack(shape, [{"mag": abs(lv), "sign": int(lv < 0)} for lv in levels])
    return pack(shape, list(levels))


def encode_core_words(tile: Tile, shape) -> list[int]:
    """Payloads of the core's ``w`` stream (struct ``word``, ``skip``), columns in order."""
    return [pack(shape, {"word": w, "skip": tile.skip}) for col in tile.words for w in col]


def encode_acts(tile: Tile, shape) -> list[int]:
    """Payloads of the ``a`` stream (``a`` shape of the array; ``last`` on the tile's final
    vector)."""
    n = tile.acts.shape[0]
    return [pack(shape, {"data": row, "last": int(v == n - 1)})
            for v, row in enumerate(tile.acts.tolist())]


def decode_outputs(payload: int, shape) -> tuple[list[int], int]:
    """(column sums, last) of one ``o`` payload (``o`` shape of the array)."""
    fields = unpack(shape, payload)
    return fields["data"], fields["last"]


# ------------------------------------------------------------------------------------------------
# decoder
# ------------------------------------------------------------------------------------------------

def decoder_words(rng: random.Random, n_random: int = 2000) -> list[int]:
    """Every byte value in every byte position of a word, plus random words; the words are the
    golden memory image (``FineQWeight.pack``) of those cluster bytes."""
    rows = []
    for b in range(256):
        rows.append([b] * 4)                                  # same byte everywhere
        row = [0] * 4
        row[b % 4], row[(b + 1) % 4] = b, rng.randrange(256)
        rows.append(row)
    rows += [[rng.randrange(256) for _ in range(4)] for _ in range(n_random)]
    rows += [[0] * 4, [255] * 4]
    words, _ = image_from_bytes(torch.tensor(rows, dtype=torch.uint8), gf.DEFAULT_LAYOUT).pack()
    return [int(w) for w in words[:, 0]]


def word_bytes(word: int) -> list[int]:
    """The 4 cluster bytes of a packed word, cluster j at bits [8j+7:8j] (golden
    ``decode_word``'s rule, SPEC §2)."""
    return list(int(word).to_bytes(4, "little"))


def decoder_expected(word: int, layout: str, shape) -> int:
    """Expected decoder payload (``shape``: its ``o`` payload, 12 ``WEIGHT``) in decode_word
    order."""
    return pack(shape, [{"mag": mg, "sign": s} for s, mg in decode_word(word, layout)])
