"""Stimulus + golden expectations for the FGMP RTL (vmac, fp8_vmac, act_quant) and the shared
FP32 / small-float pieces of rtl/common.

Used by the cocotb testbench (verif/tb/fgmp.py) and the Amaranth-simulator tests
(tests/rtl/test_fgmp_amaranth.py, tests/rtl/test_common_arith.py), so both exercise the same
corners. Every expectation comes from the golden model's public API: ``hw.vmac``,
``hw.act_quant_blocks``, ``hw.f32_add_bits``, ``hw.round_to_f32_bits``, ``hw.codes_to_bus``,
``golden.formats.encode``. Payloads are packed from the RTL's own layouts (rtl/fgmp/vmac.py,
rtl/fgmp/act_quant.py) with verif.payload.
"""
from __future__ import annotations

import math
import random
import struct
from collections import defaultdict
from dataclasses import dataclass, field

import torch

from golden.fgmp import hw
from golden.fgmp.reference import f32_bits
from golden.fgmp.reference import f32_from_bits as f32_value
from golden.formats import E4M3, UE4M3, encode
from rtl.fgmp.act_quant import in_layout, out_layout
from rtl.fgmp.vmac import a_layout, o_layout, w_layout
from verif.payload import pack, unpack

__all__ = [
    "block_fields", "clear_meta", "VmacStream", "mode_stream", "exhaustive_stream", "pair_bins",
    "accepted_blocks", "block_products_of",
    "extreme_stream", "zero_stream", "nan_stream", "history_stream", "long_streams",
    "random_stream",
    "acc_init_stream", "concat", "ActGroup", "unpack_act_out", "act_threshold_groups",
    "act_zero_group", "act_tie_groups", "act_saturation_groups", "act_subnormal_groups",
    "act_special_group", "act_random_groups", "f32_add_pairs", "f32_round_cases",
    "minifloat_round_cases", "f32_fixed_cases", "f32_bits", "f32_value",
]

BLOCK = 16
MODES = ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8")   # (weight, activation)


# ------------------------------------------------------------------------------------------------
# VMAC payloads
# ------------------------------------------------------------------------------------------------

def block_fields(meta, codes, scale, hi_junk: int = 0) -> dict:
    """One block as the fields of the RTL's block layout (rtl/fgmp/common.py BLOCK_LAYOUT;
    code bus from golden ``hw.codes_to_bus``). ``hi_junk`` fills the code-bus bits above an
    NVFP4 block's 16 4-bit codes, which the RTL ignores (golden requires them zero, so
    expectations use the clean block)."""
    bus = hw.codes_to_bus(meta, codes)
    if not meta:
        bus |= hi_junk << (4 * BLOCK)
    return {"codes": bus, "scale": scale, "meta": meta}


def clear_meta(words: list[int], layout, rng: random.Random | None = None) -> list[int]:
    """``words`` (payloads of ``layout``: one block, or an array of per-lane blocks) with the
    meta bit of every block cleared (with ``rng``: each with probability 1/2). fp8_vmac ignores
    meta, so its results must not change."""
    out = []
    for word in words:
        value = unpack(layout, word)
        for blk in value if isinstance(value, list) else [value]:
            if rng is None or rng.random() < 0.5:
                blk["meta"] = 0
        out.append(pack(layout, value))
    return out


@dataclass
class VmacStream:
    """Block pairs cycle by cycle: a[t] = (meta, codes[16], scale), w[t][lane] likewise,
    last[t], init[t][lane] (FP32 start value of the accumulator, read at the first block pair of
    a dot product; +0 without acc_init). ``kind`` labels each cycle for failure messages."""
    lanes: int
    a: list = field(default_factory=list)
    w: list = field(default_factory=list)
    last: list = field(default_factory=list)
    init: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    a_junk: list = field(default_factory=list)     # NVFP4 bits [127:64] / FP8 scale garbage
    w_junk: list = field(default_factory=list)

    def add(self, a, w, last, kind, init=None, a_junk=0, w_junk=None):
        assert len(w) == self.lanes
        self.a.append(a)
        self.w.append(list(w))
        self.last.append(bool(last))
        self.init.append(list(init) if init is not None else [0] * self.lanes)
        self.kind.append(kind)
        self.a_junk.append(a_junk)
        self.w_junk.append(list(w_junk) if w_junk is not None else [0] * self.lanes)

    def __len__(self):
        return len(self.a)

    def segments(self) -> list[tuple[int, int]]:
        """(first, last) cycle of every dot product that ends with last = 1."""
        out, start = [], 0
        for t, lst in enumerate(self.last):
            if lst:
                out.append((start, t))
                start = t + 1
        return out

    def a_words(self) -> list[int]:
        """Payloads of the ``a`` stream (rtl/fgmp/vmac.py ``a_layout``)."""
        layout = a_layout()
        return [pack(layout, {**block_fields(*blk, junk), "last": int(lst)})
                for blk, lst, junk in zip(self.a, self.last, self.a_junk)]

    def w_words(self, acc_init: bool = False) -> list[int]:
        """Payloads of the ``w`` stream (rtl/fgmp/vmac.py ``w_layout``); with ``acc_init`` each
        lane also carries its start value."""
        layout = w_layout(self.lanes, acc_init)
        words = []
        for blocks, init, junk in zip(self.w, self.init, self.w_junk):
            lanes = [block_fields(*blk, j) for blk, j in zip(blocks, junk)]
            if acc_init:
                for lane, acc in zip(lanes, init):
                    lane["acc"] = acc
            words.append(pack(layout, lanes))
        return words

    def expected_words(self, acc_init: bool = False) -> list[int]:
        """Expected payloads of the ``o`` stream (rtl/fgmp/vmac.py ``o_layout``), one per dot
        product."""
        layout = o_layout(self.lanes)
        return [pack(layout, res) for res in self.expected(acc_init)]

    def expected(self, acc_init: bool = False) -> list[list[int]]:
        """Per dot product: the L FP32 results of golden ``hw.vmac``. Length-1 dot products are
        batched by activation block (the lanes of one golden call may be many cycles)."""
        segs = self.segments()
        res: list = [None] * len(segs)
        groups = defaultdict(list)
        for n, (s, e) in enumerate(segs):
            if s == e:
                am, ac, asc = self.a[s]
                groups[(am, tuple(ac), asc)].append(n)
            else:
                res[n] = self._golden(s, e, acc_init)
        for (am, ac, asc), idx in groups.items():
            wb = [blk for n in idx for blk in self.w[segs[n][0]]]
            init = [v for n in idx for v in self.init[segs[n][0]]] if acc_init else None
            out = _golden_vmac([[b] for b in wb], [(am, list(ac), asc)], init)
            for j, n in enumerate(idx):
                res[n] = out[j * self.lanes:(j + 1) * self.lanes]
        return res

    def _golden(self, s, e, acc_init):
        wb = [[self.w[t][lane] for t in range(s, e + 1)] for lane in range(self.lanes)]
        init = self.init[s] if acc_init else None
        return _golden_vmac(wb, self.a[s:e + 1], init)


def _blocks(rows):
    """Nested lists of (meta, codes, scale) -> hw.Blocks tensors."""
    def flat(x, depth):
        return x if depth == 0 else [y for z in x for y in flat(z, depth - 1)]
    shape = []
    r = rows
    while isinstance(r, list) and r and isinstance(r[0], list):
        shape.append(len(r))
        r = r[0]
    shape.append(len(r))
    items = flat(rows, len(shape) - 1)
    meta = torch.tensor([int(b[0]) for b in items], dtype=torch.bool).reshape(shape)
    codes = torch.tensor([list(b[1]) for b in items], dtype=torch.int64).reshape(*shape, BLOCK)
    scales = torch.tensor([int(b[2]) for b in items], dtype=torch.int64).reshape(shape)
    return hw.Blocks(meta, codes, scales)


def _golden_vmac(w_rows, a_row, init):
    """w_rows[L][T] blocks, a_row[T] blocks -> L FP32 bit patterns (golden hw.vmac)."""
    acc = None if init is None else torch.tensor(init, dtype=torch.int64)
    out = hw.vmac(_blocks(w_rows), _blocks(list(a_row)), acc)
    return [int(v) for v in out.tolist()]


def concat(*streams: VmacStream) -> VmacStream:
    out = VmacStream(streams[0].lanes)
    for s in streams:
        for name in ("a", "w", "last", "init", "kind", "a_junk", "w_junk"):
            getattr(out, name).extend(getattr(s, name))
    return out


# ---- block generators --------------------------------------------------------------------------

def rand_block(rng: random.Random, fp8: bool, *, nan_ok: bool = False, scale_max: int = 0x7E,
               zero_frac: float = 0.0):
    if fp8:
        codes = []
        for _ in range(BLOCK):
            c = rng.randrange(256)
            while not nan_ok and (c & 0x7F) == 0x7F:
                c = rng.randrange(256)
            codes.append(0 if rng.random() < zero_frac else c)
        return (1, codes, rng.choice([hw_fp8_scale(), rng.randrange(256)]))
    codes = [0 if rng.random() < zero_frac else rng.randrange(16) for _ in range(BLOCK)]
    return (0, codes, rng.randrange(scale_max + 1))


def hw_fp8_scale() -> int:
    return 0x4C


def _mode_formats(mode: str) -> tuple[int, int]:
    i = MODES.index(mode)
    return i >> 1, i & 1


def _rand_segments(rng, n, max_seg):
    lasts = []
    left = 0
    for t in range(n):
        if left == 0:
            left = rng.randint(1, max_seg)
        left -= 1
        lasts.append(left == 0 or t == n - 1)
    return lasts


def mode_stream(rng, lanes, mode, n_cycles=64, max_seg=8) -> VmacStream:
    """Random blocks of one mode (every lane), dot products of 1..max_seg block pairs."""
    w8, a8 = _mode_formats(mode)
    st = VmacStream(lanes)
    for t, lst in enumerate(_rand_segments(rng, n_cycles, max_seg)):
        st.add(rand_block(rng, a8), [rand_block(rng, w8) for _ in range(lanes)], lst, mode)
    return st


def _code_groups(fp8: bool) -> list[list[int]]:
    """Groups of 16 element codes whose products with one other group stay exact in FP32:
    E2M1: all 16 codes; E4M3: per sign, two adjacent exponent fields (16 codes within a factor
    of 4 of each other, one sign: no cancellation), the NaN code (0x7F / 0xFF) replaced by the
    largest finite code of its sign (NaN pairs get their own blocks)."""
    if not fp8:
        return [list(range(16))]
    out = []
    for sign in (0, 0x80):
        for e in range(0, 16, 2):
            g = [sign | (ee << 3) | m for ee in (e, e + 1) for m in range(8)]
            out.append([sign | 0x7E if (c & 0x7F) == 0x7F else c for c in g])
    return out


def _is_nan_code(fp8: int, code: int) -> bool:
    return bool(fp8) and (code & 0x7F) == 0x7F


def exhaustive_stream(lanes, mode, seed=0) -> VmacStream:
    """Every (weight code, activation code) pair of ``mode``, NaN codes included, in every one
    of the 16 element positions, each in a dot product of one block pair whose result shows it:

    * non-NaN pairs: activation block = a code group (``_code_groups``) rotated by ``ra``,
      weight block (per lane) = a code group rotated by ``rw``; over all (group, group, ra, rw)
      element i pairs every code of one group with every code of the other at every position,
      16 pairs per block, and the block sum stays exact in FP32 (so the result changes with
      any one product);
    * a NaN weight code at position p (each lane its own p) against rotated activation groups,
      and a NaN activation code at p against every weight code at p: the only NaN of the
      block pair, so the result (0x7FC00000 instead of a number) shows that position's pair.

    NVFP4 block scales: random non-zero, non-NaN codes (seeded by ``seed``); FP8 blocks carry
    the hardware's constant scale byte. ``pair_bins`` credits the pairs from the payloads the
    DUT accepted (the coverage does not trust this construction)."""
    rng = random.Random(seed)
    w8, a8 = _mode_formats(mode)
    wgroups, agroups = _code_groups(w8), _code_groups(a8)
    st = VmacStream(lanes)

    def scale(fp8):
        return 0x4C if fp8 else rng.randrange(1, 0x7F)

    def rot(g, r):
        return [g[(i - r) % BLOCK] for i in range(BLOCK)]

    def emit(a_blk, w_blks, kind):
        for j in range(0, len(w_blks), lanes):
            chunk = w_blks[j:j + lanes]
            chunk += [(w8, [0] * BLOCK, scale(w8))] * (lanes - len(chunk))
            st.add(a_blk, chunk, True, kind)

    w_nan = [c for c in range(256) if _is_nan_code(w8, c)]
    a_nan = [c for c in range(256) if _is_nan_code(a8, c)]
    for ai, ag in enumerate(agroups):
        for ra in range(BLOCK):
            a_blk = (a8, rot(ag, ra), scale(a8))
            w_blks = [(w8, rot(wg, rw), scale(w8)) for wg in wgroups for rw in range(BLOCK)]
            for nc in w_nan:                    # NaN weight code alone at position p
                for p in range(BLOCK):
                    c = rot(wgroups[0], 0)
                    c[p] = nc
                    w_blks.append((w8, c, scale(w8)))
            emit(a_blk, w_blks, f"exhaustive {mode} a-group {ai} rot {ra}")
    for nc in a_nan:                            # NaN activation code alone at position p
        for p in range(BLOCK):
            ac = rot(agroups[0], 0)
            ac[p] = nc
            w_blks = []
            for wc in range(256 if w8 else 16):
                c = rot(wgroups[0], 0)      # group 0 holds no NaN code
                c[p] = wc
                w_blks.append((w8, c, scale(w8)))
            emit((a8, ac, scale(a8)), w_blks, f"exhaustive {mode} NaN a={nc:#x} at {p}")
    return st


def pair_bins(w_blk, a_blk, product: int | None) -> list[tuple[int, int, int]]:
    """The (weight code, activation code, position) pairs that a one-block-pair dot product
    shows, given its exact block product (``block_products``, units of 2**-20; None when NaN):

    * no NaN anywhere: all 16 pairs, if the product is exact in FP32 (its odd part has at most
      24 bits), so that the rounded result changes with any one element product;
    * exactly one position holding a NaN element code (weight, activation or both) and no NaN
      scale: that position's pair (the result is NaN only because of it);
    * otherwise nothing."""
    wm, wc, ws = w_blk
    am, ac, as_ = a_blk
    if (not wm and ws == 0x7F) or (not am and as_ == 0x7F):
        return []
    nan_pos = [i for i, (x, y) in enumerate(zip(wc, ac))
               if (wm and (x & 0x7F) == 0x7F) or (am and (y & 0x7F) == 0x7F)]
    if nan_pos:
        return [(wc[nan_pos[0]], ac[nan_pos[0]], nan_pos[0])] if len(nan_pos) == 1 else []
    if product is None:
        return []
    m = abs(int(product))
    if m:
        m >>= (m & -m).bit_length() - 1
    if m.bit_length() > 24:
        return []
    return [(wc[i], ac[i], i) for i in range(BLOCK)]


def accepted_blocks(a_words: list[int], w_words: list[int], lanes: int, acc_init: bool = False):
    """The block pairs in payloads of the ``a`` and ``w`` streams, read back with the RTL's
    layouts: (a[t] = (meta, codes, scale), w[t][lane] likewise, last[t])."""
    al, wl = a_layout(), w_layout(lanes, acc_init)

    def blk(f):
        return (f["meta"], hw.bus_to_codes(f["meta"], f["codes"]), f["scale"])
    a, w, last = [], [], []
    for aw, ww in zip(a_words, w_words):
        fa = unpack(al, aw)
        a.append(blk(fa))
        last.append(fa["last"])
        w.append([blk(f) for f in unpack(wl, ww)])
    return a, w, last


def block_products_of(a: list, w: list) -> list[list[int | None]]:
    """Exact block product (golden ``hw.block_products``, units of 2**-20) of every cycle and
    lane, None where the pair is NaN: ``out[t][lane]``. ``a[t]``, ``w[t][lane]`` blocks as
    (meta, codes, scale); NVFP4 scale bytes above 0x7F (ignored by the RTL for FP8 blocks)
    are cleared for golden."""
    def clean(b):
        return (b[0], b[1], b[2] if not b[0] else 0)
    lanes = len(w[0]) if w else 0
    p, nan = hw.block_products(_blocks([[clean(w[t][lane]) for t in range(len(a))]
                                        for lane in range(lanes)]),
                               _blocks([clean(b) for b in a]))
    pl, nl = p.tolist(), nan.tolist()
    return [[None if nl[lane][t] else pl[lane][t] for lane in range(lanes)]
            for t in range(len(a))]


def extreme_stream(rng, lanes, fp8_only=False) -> VmacStream:
    """Largest block scales and saturated element codes in every mode, alone and accumulated;
    sign patterns; smallest non-zero products (subnormal codes and scales)."""
    st = VmacStream(lanes)
    modes = ["fp8xfp8"] if fp8_only else list(MODES)
    for mode in modes:
        w8, a8 = _mode_formats(mode)

        def sat(fp8, neg_mask):
            top = 0x7E if fp8 else 0x7
            sb = 0x80 if fp8 else 0x8
            codes = [top | (sb if (neg_mask >> i) & 1 else 0) for i in range(BLOCK)]
            return (fp8, codes, 0x4C if fp8 else 0x7E)

        def tiny(fp8):
            codes = [rng.choice([0x01, 0x81]) if fp8 else rng.choice([1, 9]) for _ in range(BLOCK)]
            return (fp8, codes, 0x4C if fp8 else 0x01)

        for neg in (0, 0xFFFF, 0x5555, rng.getrandbits(16)):
            st.add(sat(a8, neg), [sat(w8, rng.choice([0, neg, 0xFFFF])) for _ in range(lanes)],
                   True, f"saturated {mode}")
        for t in range(12):         # accumulate saturated blocks
            st.add(sat(a8, 0), [sat(w8, rng.choice([0, 0, 0xFFFF])) for _ in range(lanes)],
                   t == 11, f"saturated acc {mode}")
        for t in range(3):
            st.add(tiny(a8), [tiny(w8) for _ in range(lanes)], t == 2, f"tiny {mode}")
        # largest scale with random codes, smallest subnormal scale with random codes
        for sc in (0x7E, 0x01, 0x07, 0x08):
            a = rand_block(rng, a8)
            if not a8:
                a = (0, a[1], sc)
            ws = []
            for _ in range(lanes):
                b = rand_block(rng, w8)
                ws.append(b if w8 else (0, b[1], sc))
            st.add(a, ws, True, f"scale {sc:#x} {mode}")
    return st


def zero_stream(rng, lanes, fp8_only=False) -> VmacStream:
    """Zero blocks: all codes +0 / −0 / mixed, NVFP4 scale 0 with non-zero codes, zero against
    saturated; alone and inside accumulations (results must be +0)."""
    st = VmacStream(lanes)
    modes = ["fp8xfp8"] if fp8_only else list(MODES)
    for mode in modes:
        w8, a8 = _mode_formats(mode)

        def zero(fp8, kind):
            sb = 0x80 if fp8 else 0x8
            if kind == "pos":
                codes = [0] * BLOCK
            elif kind == "neg":
                codes = [sb] * BLOCK
            else:
                codes = [rng.choice([0, sb]) for _ in range(BLOCK)]
            return (fp8, codes, 0x4C if fp8 else rng.randrange(0x7F))

        for ka in ("pos", "neg", "mix"):
            st.add(zero(a8, ka), [zero(w8, rng.choice(["pos", "neg", "mix"]))
                                  for _ in range(lanes)], True, f"zero {mode}")
        st.add(rand_block(rng, a8), [zero(w8, "neg") for _ in range(lanes)], True,
               f"zero w {mode}")
        st.add(zero(a8, "neg"), [rand_block(rng, w8) for _ in range(lanes)], True,
               f"zero a {mode}")
        if not a8:                                    # scale 0 with non-zero codes
            a = rand_block(rng, 0)
            st.add((0, a[1], 0), [rand_block(rng, w8) for _ in range(lanes)], True,
                   f"zero scale {mode}")
        for t in range(6):
            st.add(zero(a8, "mix"), [zero(w8, "mix") for _ in range(lanes)], t == 5,
                   f"zero acc {mode}")
    return st


def nan_stream(rng, lanes, fp8_only=False) -> VmacStream:
    """NaN element codes in FP8 blocks and NaN scale codes (0x7F) in NVFP4 blocks, in either
    operand, at the start / middle / end of a dot product (the result is 0x7FC00000)."""
    st = VmacStream(lanes)
    modes = ["fp8xfp8"] if fp8_only else list(MODES)
    for mode in modes:
        w8, a8 = _mode_formats(mode)

        def nan_block(fp8):
            b = rand_block(rng, fp8)
            if fp8:
                codes = list(b[1])
                codes[rng.randrange(BLOCK)] = rng.choice([0x7F, 0xFF])
                return (1, codes, b[2])
            return (0, b[1], 0x7F)

        for where in range(3):
            n = 4
            for t in range(n):
                hit = t == (0, n // 2, n - 1)[where]
                a = nan_block(a8) if hit and rng.random() < 0.5 else rand_block(rng, a8)
                ws = [nan_block(w8) if hit and rng.random() < 0.6 else rand_block(rng, w8)
                      for _ in range(lanes)]
                st.add(a, ws, t == n - 1, f"nan {mode}")
    return st


def random_stream(rng, lanes, p=0.5, n_cycles=200, max_seg=32, fp8_only=False,
                  junk=False) -> VmacStream:
    """Mixed-precision stream: every block independently NVFP4 with probability ``p`` (FP8
    otherwise; all FP8 for fp8_only), random codes (some zero elements) and scales, dot products
    of 1..max_seg block pairs. ``junk``: NVFP4 bits [127:64] and FP8 scale bytes random."""
    st = VmacStream(lanes)
    for lst in _rand_segments(rng, n_cycles, max_seg):
        def blk():
            fp8 = fp8_only or rng.random() >= p
            return rand_block(rng, fp8, zero_frac=rng.choice([0.0, 0.0, 0.3]))
        a = blk()
        ws = [blk() for _ in range(lanes)]
        if junk:
            aj = rng.getrandbits(64)
            wj = [rng.getrandbits(64) for _ in range(lanes)]
            a = a if not a[0] else (1, a[1], rng.randrange(256))
            ws = [b if not b[0] else (1, b[1], rng.randrange(256)) for b in ws]
        else:
            aj, wj = 0, None
        st.add(a, ws, lst, f"random p={p}", a_junk=aj, w_junk=wj)
    return st


def history_stream(rng, lanes, fp8_only=False, repeats=48) -> VmacStream:
    """Results that must not depend on the previous dot product: in every mode, ``repeats``
    times a random dot product of 1..3 block pairs (random codes and scales: it leaves random
    bits in every accumulator word, sign-extended when its sum is negative) followed by a
    one-pair probe whose exact result is +0 (non-zero codes that cancel: c·d + c·(−d)) or the
    smallest product of the mode (one element, subnormal codes, smallest scale). A bit of the
    accumulator that the first block pair of a dot product does not clear shows in the probe
    whenever the dot product before it left that bit at 1 (random, not guaranteed per bit)."""
    st = VmacStream(lanes)
    modes = ["fp8xfp8"] if fp8_only else list(MODES)

    def elem(fp8, kind):
        """(code, sign bit) of a probe element: any non-zero magnitude, or the smallest."""
        sb = 0x80 if fp8 else 0x8
        mag = rng.randrange(1, (0x7E if fp8 else 0x7) + 1) if kind == "zero" else 1
        return mag | (sb if rng.random() < 0.5 else 0), sb

    def scale(fp8, kind):
        return 0x4C if fp8 else (rng.randrange(1, 0x7F) if kind == "zero" else 0x01)

    for mode in modes:
        w8, a8 = _mode_formats(mode)
        for n in range(repeats):
            k = rng.randint(1, 3)
            for t in range(k):
                st.add(rand_block(rng, a8, scale_max=rng.choice([0x7E, 0x30])),
                       [rand_block(rng, w8, scale_max=rng.choice([0x7E, 0x30]))
                        for _ in range(lanes)], t == k - 1, f"history dirty {mode}")
            kind = "zero" if n % 2 == 0 else "tiny"
            i, j = rng.sample(range(BLOCK), 2)
            a_codes = [0] * BLOCK
            a_codes[i] = elem(a8, kind)[0]
            if kind == "zero":
                a_codes[j] = a_codes[i]
            a_blk = (a8, a_codes, scale(a8, kind))
            ws = []
            for _ in range(lanes):
                codes = [0] * BLOCK
                codes[i], sb = elem(w8, kind)
                if kind == "zero":             # c·d + c·(−d) = 0
                    codes[j] = codes[i] ^ sb
                ws.append((w8, codes, scale(w8, kind)))
            st.add(a_blk, ws, True, f"history probe {kind} {mode}")
    return st


def long_streams(rng, lanes, fp8_only=False, blocks=512) -> VmacStream:
    """Long dot products (``blocks`` block pairs = 16·blocks elements, ≥ 4096):
    1. random mixed precision; 2. growth: saturated positive products (acc up to ~2^35);
    3. cancellation: a random sequence followed by the same sequence with negated weights (the
       result is the accumulated rounding residue, often exactly 0); 4. exact cancellation in
       pairs (+P, −P) ending in +0; 5. tiny products after a large one (absorbed: far path)."""
    st = VmacStream(lanes)
    pick = (lambda: 1) if fp8_only else (lambda: int(rng.random() < 0.5))

    def neg(b):
        fp8, codes, sc = b
        sb = 0x80 if fp8 else 0x8
        return (fp8, [c ^ sb for c in codes], sc)

    # 1
    for t in range(blocks):
        st.add(rand_block(rng, pick()), [rand_block(rng, pick()) for _ in range(lanes)],
               t == blocks - 1, "long random")
    # 2
    for t in range(blocks):
        a8 = pick()
        a = (a8, [0x7E if a8 else 0x7] * BLOCK, 0x4C if a8 else 0x7E)
        ws = []
        for _ in range(lanes):
            w8 = pick()
            ws.append((w8, [0x7E if w8 else 0x7] * BLOCK, 0x4C if w8 else 0x7E))
        st.add(a, ws, t == blocks - 1, "long growth")
    # 3
    half = blocks // 2
    seq = [(rand_block(rng, pick()), [rand_block(rng, pick()) for _ in range(lanes)])
           for _ in range(half)]
    for t, (a, ws) in enumerate(seq + [(a, [neg(b) for b in ws]) for a, ws in seq]):
        st.add(a, ws, t == 2 * half - 1, "long cancellation")
    # 4
    for t in range(half):
        a = rand_block(rng, pick())
        ws = [rand_block(rng, pick()) for _ in range(lanes)]
        st.add(a, ws, False, "long pair cancellation")
        st.add(a, [neg(b) for b in ws], t == half - 1, "long pair cancellation")
    # 5
    a8 = pick()
    big = (a8, [0x7E if a8 else 0x7] * BLOCK, 0x4C if a8 else 0x7E)
    st.add(big, [big if a8 == 1 else (0, [7] * BLOCK, 0x7E)] * lanes, False, "long absorb")
    for t in range(blocks - 1):
        tiny_a = (a8, [rng.choice([1, 0x81]) if a8 else rng.choice([1, 9])
                       for _ in range(BLOCK)], 0x4C if a8 else 0x01)
        st.add(tiny_a, [rand_block(rng, pick()) for _ in range(lanes)], t == blocks - 2,
               "long absorb")
    return st


def acc_init_stream(rng, lanes, fp8_only=False) -> VmacStream:
    """Start values for the acc_init configuration: FP32 overflow to ±Inf (near-max start plus
    large products), subnormal results (subnormal start plus zero blocks, or start −P), ±Inf,
    NaN and signed zeros as start values, random starts; also checks that ``acc`` is ignored
    after the first block pair of a dot product."""
    st = VmacStream(lanes)
    pick = (lambda: 1) if fp8_only else (lambda: int(rng.random() < 0.5))
    specials = [0x7F7FFFFF, 0xFF7FFFFF, 0x7F7FFFF0, 0x7F800000, 0xFF800000, 0x7FC00000,
                0xFFC00001, 0x7F800001, 0x80000000, 0x00000000, 0x00000001, 0x807FFFFF,
                0x00400000, 0x80000001]

    def sat(fp8, negative=False):
        top = 0x7E if fp8 else 0x7
        sb = (0x80 if fp8 else 0x8) if negative else 0
        return (fp8, [top | sb] * BLOCK, 0x4C if fp8 else 0x7E)

    for n in range(4):   # overflow: max finite start + large products (and negative)
        init = [rng.choice(specials[:3]) for _ in range(lanes)]
        for t in range(3):
            st.add(sat(pick()), [sat(pick(), negative=bool(init[lane] >> 31))
                                 for lane in range(lanes)], t == 2, "acc overflow",
                   init=init if t == 0 else [rng.getrandbits(32) for _ in range(lanes)])
    for n in range(4):   # special / subnormal starts with zero blocks: subnormal results
        init = [rng.choice(specials) for _ in range(lanes)]
        a8 = pick()
        for t in range(2):
            zero = (a8, [0] * BLOCK, 0x4C if a8 else 0x10)
            st.add(zero, [rand_block(rng, pick()) for _ in range(lanes)], t == 1,
                   "acc subnormal/special start", init=init if t == 0 else None)
    for n in range(6):   # random starts with random blocks
        init = [rng.getrandbits(32) if rng.random() < 0.5 else f32_bits(rng.uniform(-1e3, 1e3))
                for _ in range(lanes)]
        for t in range(3):
            st.add(rand_block(rng, pick()), [rand_block(rng, pick()) for _ in range(lanes)],
                   t == 2, "acc random start",
                   init=init if t == 0 else [rng.getrandbits(32) for _ in range(lanes)])
    return st


# ------------------------------------------------------------------------------------------------
# Activation quantization unit
# ------------------------------------------------------------------------------------------------

@dataclass
class ActGroup:
    """Blocks quantized with one configuration (S = 2^k, τ_q). x: FP32 [N, 16], fbar: uint8
    [N, 16] (UE4M3 codes), last: N flags (passed through)."""
    k: int
    tau: int
    x: torch.Tensor
    fbar: torch.Tensor
    last: list
    kind: str

    def expected(self):
        """(meta, codes, scale, score) per block from golden ``hw.act_quant_blocks``."""
        meta, codes, scales, score = hw.act_quant_blocks(self.x, math.ldexp(1.0, self.k),
                                                         self.fbar, self.tau)
        return [(int(mt), [int(c) for c in cs], int(s), int(sc)) for mt, cs, s, sc in
                zip(meta.tolist(), codes.tolist(), scales.tolist(), score.tolist())]

    def words(self) -> list[int]:
        """Payloads of the ``i`` stream (rtl/fgmp/act_quant.py ``in_layout``)."""
        layout = in_layout()
        bits = self.x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
        return [pack(layout, {"x": b, "fbar": f, "last": int(lst)}) for b, f, lst in
                zip(bits.tolist(), self.fbar.to(torch.int64).tolist(), self.last)]

    def expected_words(self, score_out: bool = True) -> list[int]:
        """Expected payloads of the ``o`` stream (rtl/fgmp/act_quant.py ``out_layout``)."""
        layout = out_layout(score_out)
        words = []
        for (meta, codes, scale, score), last in zip(self.expected(), self.last):
            fields = {"codes": hw.codes_to_bus(meta, codes), "scale": scale, "meta": meta,
                      "last": int(last)}
            if score_out:
                fields["score"] = score
            words.append(pack(layout, fields))
        return words

    def __len__(self):
        return self.x.shape[0]


def unpack_act_out(word: int, score_out: bool = True) -> dict:
    """An ``o`` payload as its fields, the code bus as 16 element codes (``hw.bus_to_codes``)."""
    fields = unpack(out_layout(score_out), word)
    fields["codes"] = hw.bus_to_codes(fields["meta"], fields["codes"])
    return fields


def _f32(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).to(torch.float32)


def _rand_fbar(rng, n, zero_frac=0.1):
    return torch.tensor([[0 if rng.random() < zero_frac else rng.randrange(0x7F)
                          for _ in range(BLOCK)] for _ in range(n)], dtype=torch.uint8)


def _lasts(rng, n):
    return [rng.random() < 0.25 for _ in range(n)]


def _rand_blocks(rng, n, k, spread=2.0):
    """FP32 blocks with log-normal magnitudes around 2^k·(1..2688)."""
    rows = []
    for _ in range(n):
        base = math.ldexp(1.0, k) * math.exp(rng.uniform(0, math.log(2688)))
        rows.append([rng.choice([-1, 1]) * base * math.exp(rng.gauss(0, spread))
                     for _ in range(BLOCK)])
    return _f32(rows)


def _score(x, k, fbar):
    return hw.act_quant_blocks(x, math.ldexp(1.0, k), fbar, hw.TAU_FORCE_NVFP4)[3]


def act_threshold_groups(rng, n_blocks=8) -> list[ActGroup]:
    """Scores exactly at the threshold: for each block with score I, runs with τ_q = I (stays
    NVFP4), I − 1 (FP8) and I + 1 (NVFP4); plus τ_q = −1 and 2^63 − 1 and τ_q = 0 with a zero
    score block."""
    groups = []
    for n in range(n_blocks):
        k = rng.randint(-20, 20)
        x = _rand_blocks(rng, 1, k)
        fb = _rand_fbar(rng, 1, 0.0)
        i_score = int(_score(x, k, fb)[0])
        for tau in (i_score, i_score - 1, i_score + 1):
            groups.append(ActGroup(k, tau, x, fb, [n % 2 == 0], f"threshold I={i_score} τ={tau}"))
    x = _rand_blocks(rng, 6, 0)
    fb = _rand_fbar(rng, 6)
    groups.append(ActGroup(0, hw.TAU_FORCE_FP8, x, fb, _lasts(rng, 6), "τ=-1"))
    groups.append(ActGroup(0, hw.TAU_FORCE_NVFP4, x, fb, _lasts(rng, 6), "τ=2^63-1"))
    z = _f32([[0.0] * BLOCK])
    groups.append(ActGroup(0, 0, z, _rand_fbar(rng, 1), [True], "zero score, τ=0"))
    return groups


def act_zero_group(rng) -> ActGroup:
    """+0 / −0 / mixed-sign zero blocks, and tiny blocks whose block scale rounds to 0 (all
    codes 0) or to the smallest subnormal UE4M3 code."""
    rows = [[0.0] * BLOCK, [-0.0] * BLOCK, [rng.choice([0.0, -0.0]) for _ in range(BLOCK)]]
    k = 0
    tiny = math.ldexp(1.0, -9) * 6          # 6S·(smallest UE4M3 subnormal)
    for scale in (0.25, 0.5, 0.5000001, 0.75, 1.0, 1.5):
        amax = tiny * scale
        rows.append([rng.choice([-1, 1]) * amax * rng.random() for _ in range(BLOCK - 1)]
                    + [amax * rng.choice([-1, 1])])
    x = _f32(rows)
    return ActGroup(k, rng.randrange(1 << 20), x, _rand_fbar(rng, len(rows)), _lasts(rng, len(rows)),
                    "zero/tiny blocks")


def act_tie_groups(rng) -> list[ActGroup]:
    """Exact ties in every rounding: E4M3 (x = 6S·midpoint), UE4M3 (amax = 6S·midpoint of the
    scale grid) and E2M1 (x = μ·s_b·S for every E2M1 midpoint μ), plus one FP32 ulp either side.
    Powers-of-two S make all of these exact FP32 values."""
    groups = []
    e4 = E4M3.midpoints[:-1]
    ue = UE4M3.midpoints[:-1]
    for k in (-7, 0, 5):
        S = math.ldexp(1.0, k)
        rows = []
        # E4M3 ties (and neighbours): 16 per block
        vals = [6 * S * mu for mu in e4]
        for j in range(0, len(vals), BLOCK):
            chunk = (vals[j:j + BLOCK] + vals[:BLOCK])[:BLOCK]
            rows.append([v * rng.choice([-1, 1]) for v in chunk])
        # UE4M3 ties of amax, E2M1 ties relative to the resulting s_b
        for mu in ue:
            amax = 6 * S * mu
            sc = int(encode(UE4M3, torch.tensor([amax / (6 * S)], dtype=torch.float64))[0])
            sb = UE4M3.magnitude(sc)
            row = [amax] + [rng.choice([-1, 1]) * m * sb * S
                            for m in (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0)]
            row += [rng.choice([-1, 1]) * m * sb * S for m in
                    rng.sample([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0], 7)]
            row.append(rng.choice([-1, 1]) * rng.choice([0.75, 5.0]) * sb * S)
            rows.append([r if abs(r) <= amax else math.copysign(amax, r) for r in row])
        x = _f32(rows)
        if not torch.equal(x.to(torch.float64), torch.tensor(rows, dtype=torch.float64)):
            raise AssertionError("tie vectors are not exact FP32 values")
        bits = x.view(torch.int32)
        for delta in (1, -1):     # one FP32 ulp away from every tie (magnitude up / down)
            nb = bits.clone()
            nz = (nb & 0x7FFFFFFF) != 0
            nb[nz] = nb[nz] + delta
            x = torch.cat([x, nb.view(torch.float32)])
        n = x.shape[0]
        fb = _rand_fbar(rng, n)
        sc = _score(x, k, fb)
        groups.append(ActGroup(k, int(sc.median()), x, fb, _lasts(rng, n), f"ties k={k}"))
    return groups


def act_saturation_groups(rng) -> list[ActGroup]:
    """Values around 448·6·S = 2688·S (the FP8 saturation), 464·6·S (E4M3 rounding to the
    saturating code), E2M1 boundaries 5·s_b·S and 6·s_b·S and beyond, and FP32 max."""
    groups = []
    for k in (-3, 0, 4):
        S = math.ldexp(1.0, k)
        ulp = lambda v, n: f32_value(f32_bits(v) + n)   # noqa: E731
        rows = []
        for c in (2688 * S, 2784 * S, 2880 * S, 2688 * S * 1.01, 2688 * S * 4):
            rows.append([ulp(c, rng.choice([-2, -1, 0, 1, 2])) * rng.choice([-1, 1])
                         for _ in range(BLOCK)])
        for sc in (0x7E, 0x7D, 0x40, 0x38, 0x08, 0x01):
            sb = UE4M3.magnitude(sc) * S
            amax = 6 * sb
            base = [5 * sb, 6 * sb, 5.5 * sb, 4 * sb, 4.5 * sb, 3.5 * sb]
            row = [amax] + [ulp(rng.choice(base), rng.choice([-1, 0, 1])) * rng.choice([-1, 1])
                            for _ in range(BLOCK - 1)]
            rows.append(row)
        rows.append([3.4028234663852886e38 * rng.choice([-1, 1]) for _ in range(BLOCK)])
        x = _f32(rows)
        fb = _rand_fbar(rng, len(rows))
        sc = _score(x, k, fb)
        groups.append(ActGroup(k, int(sc.median()), x, fb, _lasts(rng, len(rows)),
                               f"saturation k={k}"))
    return groups


def act_subnormal_groups(rng) -> list[ActGroup]:
    """FP32 subnormal inputs: with tiny S (k near −149) they quantize to non-zero codes, with
    S = 1 they round to signed zeros; mixed with small normal values."""
    groups = []
    for k in (-149, -146, -140, -133, -127, 0):
        rows = []
        for n in range(8):
            row = []
            for _ in range(BLOCK):
                frac = rng.getrandbits(rng.randint(1, 23)) or 1
                b = frac | (rng.getrandbits(1) << 31)
                if n >= 6 and rng.random() < 0.3:
                    b = (b & 0x80000000) | (rng.randint(1, 3) << 23) | rng.getrandbits(23)
                row.append(f32_value(b))
            rows.append(row)
        x = _f32(rows)
        fb = _rand_fbar(rng, len(rows))
        sc = _score(x, k, fb)
        groups.append(ActGroup(k, int(sc.median()), x, fb, _lasts(rng, len(rows)),
                               f"subnormal k={k}"))
    return groups


def act_special_group(rng) -> ActGroup:
    """NaN (quiet/signalling, both signs) and ±Inf inputs: NaN blocks go FP8 with NaN codes,
    Inf saturates (documented behaviour, docs/fgmp.md §4)."""
    nan_bits = [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFBFFFFF, 0x7FFFFFFF]
    rows = []
    for n in range(12):
        row = [rng.uniform(-100, 100) for _ in range(BLOCK)]
        kind = n % 4
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(BLOCK)
            if kind == 0:
                row[pos] = f32_value(rng.choice(nan_bits))
            elif kind == 1:
                row[pos] = rng.choice([math.inf, -math.inf])
            elif kind == 2:
                row[pos] = rng.choice([math.inf, -math.inf, f32_value(rng.choice(nan_bits))])
            else:
                row[pos] = f32_value(rng.choice(nan_bits))
                row[(pos + 1) % BLOCK] = rng.choice([math.inf, -math.inf])
        rows.append(row)
    rows.append([f32_value(nan_bits[i % 5]) for i in range(BLOCK)])   # all NaN
    rows.append([math.inf] * BLOCK)
    rows.append([-math.inf] + [0.0] * (BLOCK - 1))
    x = _f32(rows)
    # keep NaN payloads exactly (float64 round trip may quiet them)
    bits = x.view(torch.int32)
    for r, row in enumerate(rows):
        for i, v in enumerate(row):
            if math.isnan(v):
                bits[r, i] = struct.unpack("<i", struct.pack("<f", v))[0]
    fb = _rand_fbar(rng, len(rows))
    return ActGroup(0, 1 << 40, x, fb, _lasts(rng, len(rows)), "nan/inf")


def act_random_groups(rng, n_blocks=200) -> list[ActGroup]:
    """Random blocks (log-normal magnitudes, outliers, zeros) with random power-of-two S around
    the data's range, random F̄; τ_q at the median score and at the 10th/90th percentile."""
    groups = []
    for g in range(3):
        k = rng.randint(-40, 40)
        x = _rand_blocks(rng, n_blocks, k, spread=rng.choice([0.5, 1.5, 3.0]))
        z = torch.rand(x.shape, generator=torch.Generator().manual_seed(rng.getrandbits(31)))
        x = torch.where(z < 0.05, torch.zeros_like(x), x)
        fb = _rand_fbar(rng, n_blocks)
        sc = _score(x, k, fb).to(torch.float64)
        q = (0.5, 0.1, 0.9)[g]
        groups.append(ActGroup(k, int(torch.quantile(sc, q)), x, fb, _lasts(rng, n_blocks),
                               f"random k={k} q={q}"))
    return groups


# ------------------------------------------------------------------------------------------------
# rtl/common pieces
# ------------------------------------------------------------------------------------------------

_SPECIAL_F32 = [0x00000000, 0x00000001, 0x00000002, 0x003FFFFF, 0x00400000, 0x007FFFFF,
                0x00800000, 0x00800001, 0x00FFFFFF, 0x01000000, 0x3F800000, 0x3F800001,
                0x3FFFFFFF, 0x40000000, 0x4B000000, 0x4B7FFFFF, 0x7F000000, 0x7F7FFFFE,
                0x7F7FFFFF, 0x7F800000, 0x7F800001, 0x7FC00000, 0x7FFFFFFF]


def f32_add_pairs(rng, n_random=2000) -> list[tuple[int, int]]:
    """Adder operands: every pair of specials (±0, subnormals, normal edges, max, Inf, NaNs,
    both signs), exact cancellation and near-cancellation, ties at every exponent difference
    0..35, subnormal sums crossing into normal, overflow and rounding into overflow, then
    random pairs with close exponents and fully random bit patterns."""
    sp = _SPECIAL_F32 + [b | 0x80000000 for b in _SPECIAL_F32]
    pairs = [(a, b) for a in sp for b in sp]
    for _ in range(n_random // 4):
        a = rng.getrandbits(31)
        if (a >> 23) == 0xFF:
            continue
        pairs += [(a, a | 0x80000000), (a, (a + rng.choice([1, -1, 2])) | 0x80000000)]
        d = rng.randint(0, 35)
        e = a >> 23
        if e > d:   # b = a tie / near-tie at distance d
            b = ((e - d) << 23) | rng.choice([0, 1, 0x7FFFFF, 0x400000, rng.getrandbits(23)])
            pairs.append((a, b | rng.choice([0, 0x80000000])))
    for _ in range(n_random // 4):
        ea = rng.randint(0, 254)
        eb = max(0, min(254, ea + rng.randint(-26, 26)))
        a = (rng.getrandbits(1) << 31) | (ea << 23) | rng.getrandbits(23)
        b = (rng.getrandbits(1) << 31) | (eb << 23) | rng.getrandbits(23)
        pairs.append((a, b))
    for _ in range(n_random // 4):
        pairs.append((rng.getrandbits(32), rng.getrandbits(32)))
    for _ in range(n_random // 8):       # subnormal/small and large
        a = rng.getrandbits(24) | (rng.getrandbits(1) << 31)
        b = rng.getrandbits(24) | (rng.getrandbits(1) << 31)
        pairs.append((a, b))
        big = (rng.randint(250, 254) << 23) | rng.getrandbits(23)
        pairs.append((big | (rng.getrandbits(1) << 31), big | (rng.getrandbits(1) << 31)))
    return pairs


def f32_add_expected(pairs) -> list[int]:
    a = torch.tensor([p[0] for p in pairs], dtype=torch.int64)
    b = torch.tensor([p[1] for p in pairs], dtype=torch.int64)
    return [int(v) for v in hw.f32_add_bits(a, b).tolist()]


def f32_round_cases(rng, width, exp_min, exp_max, n_random=2000):
    """(mag, exp, sign, zero_sign) and golden ``round_to_f32_bits`` results: zero, all-ones,
    single bits, ties (…1 1000…, …0 1000…), ±1 around ties, every exponent at the range ends."""
    cases = []
    for exp in sorted({exp_min, exp_max, exp_min + 1, exp_max - 1, 0, -126, -149, -150, 104}):
        if not exp_min <= exp <= exp_max:
            continue
        for mag in (0, 1, (1 << width) - 1, 1 << (width - 1), 0xFFFFFF, 0x1FFFFFF, 0x1000001,
                    0x2000003, 0x3000000, 0x2000001):
            mag &= (1 << width) - 1
            cases.append((mag, exp, rng.getrandbits(1), rng.getrandbits(1)))
    for _ in range(n_random):
        L = rng.randint(1, width)
        mag = (1 << (L - 1)) | rng.getrandbits(L - 1) if L > 1 else 1
        if L > 25 and rng.random() < 0.5:          # make a tie or a near tie
            cut = L - 25
            mag = (mag >> cut << cut) | (1 << (cut - 1)) if cut >= 1 else mag
            mag += rng.choice([0, 0, 1, -1]) if mag > 1 else 0
        exp = rng.randint(exp_min, exp_max)
        cases.append((mag, exp, rng.getrandbits(1), rng.getrandbits(1)))
    n = torch.tensor([c[0] * (-1 if c[2] else 1) for c in cases], dtype=torch.int64)
    e = torch.tensor([c[1] for c in cases], dtype=torch.int64)
    zneg = torch.tensor([bool(c[3]) for c in cases])
    exp_bits = hw.round_to_f32_bits(n, e, zero_neg=zneg).tolist()
    return cases, [int(v) for v in exp_bits]


def f32_fixed_cases(rng, width, z_exp, start, n_random=1500, scale=1):
    """(z, init, nan) for ``F32FixedRound`` and golden ``f32_add_fixed_bits`` results (z a
    multiple of ``scale``: the unit gets z/scale and multiplies): z at
    the width's bounds, zero, small, ties of the final rounding (24 significant bits + a half),
    random; start values (with ``start``): specials, subnormals, values cancelling z exactly,
    starts just above / below the far limit, tiny starts below 2^(z_exp − 26), random."""
    zmax = (1 << (width - 1)) - 1
    far = width + 1 + z_exp                    # start LSB exponent beyond which z is ignored
    specials = [0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
                0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0x3F800000]

    def rand_z():
        r = rng.random()
        if r < 0.15:
            return rng.choice([0, 1, -1, zmax, -zmax, zmax - 1, 1 << (width - 2)])
        if r < 0.4:                              # ties / near ties at a random binade
            top = rng.randint(25, width - 2)
            v = ((1 << 24) | rng.getrandbits(24)) << (top - 24)
            v = (v >> (top - 24) << (top - 24)) | (1 << (top - 25))
            v += rng.choice([0, 0, 1, -1])
            return v if rng.random() < 0.5 else -v
        bits = rng.randint(1, width - 1)
        v = rng.getrandbits(bits)
        return v if rng.random() < 0.5 else -v

    def rand_init(z):
        r = rng.random()
        if r < 0.15:
            return rng.choice(specials)
        if r < 0.3:                              # cancel z exactly where it is on the grid
            v = -z
            if v == 0:
                return 0
            k = (abs(v).bit_length() - 24) if abs(v).bit_length() > 24 else 0
            v = (v >> k) << k if v > 0 else -((-v >> k) << k)
            return f32_bits(math.ldexp(v, z_exp))
        if r < 0.45:                             # around the far limit
            e = far + rng.choice([-3, -2, -1, 0, 1]) + 127 + 23
            return (rng.getrandbits(1) << 31) | (min(254, max(1, e)) << 23) | rng.getrandbits(23)
        if r < 0.6:                              # tiny: bits far below the z grid
            e = rng.randint(0, max(1, z_exp - 26 + 127 + 23))
            return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23)
        if r < 0.75:                             # bits just below 2^z_exp
            e = z_exp + 127 + rng.randint(-30, 23)
            return (rng.getrandbits(1) << 31) | (max(0, e) << 23) | rng.getrandbits(23)
        return rng.getrandbits(32)

    cases = []
    for _ in range(n_random):
        z = max(-zmax, min(zmax, rand_z()))
        z = int(z / scale) * scale if scale > 1 else z
        init = rand_init(z) if start else 0
        cases.append((z, init, int(rng.random() < 0.03)))
    want = [0x7FC00000 if nan else hw.f32_add_fixed_bits(init, z, z_exp) for z, init, nan in cases]
    return cases, want


def minifloat_round_cases(rng, width=5, n_random=3000, emin=-6, fmt=E4M3):
    """(sig, sticky, e) with sig's MSB set and golden ``encode`` of the exact value
    (sig + sticky/2)·2^(e − width + 1) (magnitude code)."""
    cases = []
    for e in range(emin - fmt.man_bits - 4, 12):
        for sig in range(1 << (width - 1), 1 << width):
            for st in (0, 1):
                cases.append((sig, st, e))
    for _ in range(n_random):
        cases.append(((1 << (width - 1)) | rng.getrandbits(width - 1), rng.getrandbits(1),
                      rng.randint(-300, 300)))
    vals = torch.tensor([math.ldexp(sig + 0.5 * st, e - width + 1) for sig, st, e in cases],
                        dtype=torch.float64)
    codes = encode(fmt, vals).to(torch.int64).tolist()
    return cases, codes
