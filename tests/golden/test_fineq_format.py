"""FineQ format: cluster bytes, decode_word, packing, unpack, avg_bits, bad input."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from golden.fineq import (LAYOUTS, FineQWeight, decode_byte, decode_word, encode_levels,
                          level_lut, quantize, unpack)
from golden.fineq.format import _luts

ALL_LAYOUTS = sorted(LAYOUTS)


def levels_of(pairs):
    return tuple((1 - 2 * s) * m for s, m in pairs)


# --------------------------------------------------------------------------------------------
# literal decodes worked out by hand from SPEC §2 and docs/fineq.md

LITERALS = [
    # (layout, byte, levels of w0, w1, w2)
    ("321", 0b00_10_01_11, (-3, 3, -1)),     # normal: w0=11, w1=01, w2=10
    ("330", 0b00_10_01_11, (-3, 3, -1)),
    ("joint", 0b00_10_01_11, (-3, 3, -1)),
    ("321", 0b00_00_00_00, (1, 1, 1)),
    ("321", 0b01_1_10_101, (-3, -1, -1)),    # p=0: w0 3-bit 101, w1 2-bit 10, w2 1-bit 1
    ("321", 0b11_0_01_011, (3, 1, 7)),       # p=2: w2 3-bit 011, w0 2-bit 01, w1 1-bit 0
    ("321", 0b10_0_11_110, (1, -5, -3)),     # p=1: w1 110, w2 11, w0 0
    ("330", 0b10_111_010, (0, 5, -7)),       # p=1: w1 010, w2 111, w0 victim
    ("330", 0b01_000_000, (1, 1, 0)),        # p=0: w0 000, w1 000, w2 victim
    ("330", 0b11_011_100, (7, 0, -1)),       # p=2: w2 100, w0 011, w1 victim
    ("joint", 0b01_110_101, (-7, 5, -1)),    # p=0, j=6 (3,2,0), signs (w0,w1,w2)=(1,0,1)
    ("joint", 0b11_111_011, (-3, 5, -7)),    # p=2, j=7 (3,1,2): w2 k3, w0 k1, w1 k2; signs w2=1,w0=1,w1=0
    ("joint", 0b10_000_000, (1, 5, 1)),      # p=1, j=0 (2,0,0)
    ("joint", 0b01_011_010, (5, -3, 3)),     # p=0, j=3 (2,1,1), sign w1
]


@pytest.mark.parametrize("layout,byte,expected", LITERALS)
def test_literal_decodes(layout, byte, expected):
    assert levels_of(decode_byte(byte, layout)) == expected
    assert tuple(level_lut(layout)[byte].tolist()) == expected
    q = unpack(np.array([[byte]], dtype=np.uint32), np.array([[2.0]], dtype=np.float16),
               (1, 3), group_size=3, layout=layout)
    assert tuple(q.levels[0].tolist()) == expected
    assert q.dequantize()[0].tolist() == [float(x) for x in expected]   # Δ/2 = 1
    enc = encode_levels(expected, layout)           # lowest byte with these levels
    assert enc <= byte and levels_of(decode_byte(enc, layout)) == expected
    if layout != "321":                             # only "321" has duplicate codewords
        assert enc == byte


def spec_field_levels(byte, layout):
    """Independent re-statement of SPEC §2 for the two SPEC layouts."""
    t = byte >> 6

    def code(c, bits):
        if bits == 0:
            return 0
        sign = (c >> (bits - 1)) & 1
        k = c & ((1 << (bits - 1)) - 1)
        return (-1 if sign else 1) * (2 * k + 1)

    if t == 0:
        return tuple(code((byte >> (2 * i)) & 3, 2) for i in range(3))
    p = t - 1
    out = [None] * 3
    out[p] = code(byte & 7, 3)
    if layout == "321":
        out[(p + 1) % 3] = code((byte >> 3) & 3, 2)
        out[(p + 2) % 3] = code((byte >> 5) & 1, 1)
    else:
        out[(p + 1) % 3] = code((byte >> 3) & 7, 3)
        out[(p + 2) % 3] = 0
    return tuple(out)


JOINT_K = [(2, 0, 0), (2, 0, 1), (2, 1, 0), (2, 1, 1), (3, 0, 0), (3, 0, 1), (3, 2, 0), (3, 1, 2)]


def spec_joint_levels(byte):
    t = byte >> 6
    if t == 0:
        return spec_field_levels(byte, "321")
    p = t - 1
    h, a, b = (byte >> 5) & 1, (byte >> 4) & 1, (byte >> 3) & 1
    ks = (2, a, b) if h == 0 else (3, a * (2 - b), b * (1 + a))
    assert ks == JOINT_K[(byte >> 3) & 7]
    out = [None] * 3
    for q in range(3):
        sign = (byte >> q) & 1
        out[(p + q) % 3] = (-1 if sign else 1) * (2 * ks[q] + 1)
    return tuple(out)


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_every_byte_decodes_to_its_spec_level(layout):
    lut = level_lut(layout)
    for byte in range(256):
        expected = spec_joint_levels(byte) if layout == "joint" else spec_field_levels(byte, layout)
        assert levels_of(decode_byte(byte, layout)) == expected, hex(byte)
        assert tuple(lut[byte].tolist()) == expected, hex(byte)


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_magnitude_code_contract(layout):
    """mag = |level|: bit 0 = non-zero, bits [2:1] = k with |level| = 2k+1; victim = (0, 0)."""
    mags = set()
    for byte in range(256):
        for sign, mag in decode_byte(byte, layout):
            mags.add(mag)
            assert mag in (0, 1, 3, 5, 7)
            if mag == 0:
                assert sign == 0
            else:
                assert mag & 1 == 1 and (mag >> 1) == (mag - 1) // 2
    assert mags == ({0, 1, 3, 5, 7} if layout == "330" else {1, 3, 5, 7})


def test_every_type_and_code_value_occurs():
    """Every type and every field value of every position appears among the 256 bytes, and the
    level sets are the SPEC ones (so no code is left undefined)."""
    for layout in ("321", "330"):
        seen = {}
        for byte in range(256):
            t = byte >> 6
            for i, lev in enumerate(levels_of(decode_byte(byte, layout))):
                seen.setdefault((t, i), set()).add(lev)
        for i in range(3):
            assert seen[(0, i)] == {-3, -1, 1, 3}
        for t in (1, 2, 3):
            p = t - 1
            assert seen[(t, p)] == {-7, -5, -3, -1, 1, 3, 5, 7}
            if layout == "321":
                assert seen[(t, (p + 1) % 3)] == {-3, -1, 1, 3}
                assert seen[(t, (p + 2) % 3)] == {-1, 1}
            else:
                assert seen[(t, (p + 1) % 3)] == {-7, -5, -3, -1, 1, 3, 5, 7}
                assert seen[(t, (p + 2) % 3)] == {0}


def test_joint_codebook_is_distinct_and_normal_disjoint():
    lut = level_lut("joint")
    triples = {tuple(r) for r in lut.tolist()}
    assert len(triples) == 256                       # no wasted code
    for byte in range(64, 256):                      # outlier clusters: some |level| >= 5
        assert max(abs(x) for x in lut[byte].tolist()) >= 5


def test_321_redundant_codes_encode_to_the_lowest_byte():
    # (1, 1, 1) is a normal cluster (byte 0) and also an outlier cluster in "321"
    assert encode_levels((1, 1, 1), "321") == 0
    with pytest.raises(ValueError, match="not representable"):
        encode_levels((7, 7, 7), "330")


# --------------------------------------------------------------------------------------------
# decode_word and packing

def test_decode_word_literal():
    word = 0xC0FF3E01          # bytes (cluster 0..3): 0x01, 0x3E, 0xFF, 0xC0
    assert decode_word(word, "330") == [
        (0, 3), (0, 1), (0, 1),        # 0x01 normal: w0 = 01, w1 = 00, w2 = 00
        (1, 1), (1, 3), (1, 3),        # 0x3E normal: w0 = 10, w1 = 11, w2 = 11
        (1, 7), (0, 0), (1, 7),        # 0xFF p=2: w2 = 111, w0 = 111, w1 victim
        (0, 1), (0, 0), (0, 1),        # 0xC0 p=2: w2 = 000, w0 = 000, w1 victim
    ]
    assert decode_word(word, "321")[6:] == [
        (1, 3), (1, 1), (1, 7),        # 0xFF p=2: w2 = 111, w0 = 11, w1 = 1
        (0, 1), (0, 1), (0, 1),        # 0xC0 p=2: all zero codes
    ]
    assert decode_word(word, "joint")[6:] == [
        (1, 3), (1, 5), (1, 7),        # 0xFF p=2, j=7 (3,1,2): w2 k3, w0 k1, w1 k2, all negative
        (0, 1), (0, 1), (0, 5),        # 0xC0 p=2, j=0 (2,0,0): w2 k2, w0 and w1 k0
    ]


def test_pack_literal_word_order():
    bytes_ = torch.tensor([[0x01, 0x02, 0x03, 0x04, 0x05]], dtype=torch.uint8)
    q = FineQWeight(bytes_, torch.ones((1, 1), dtype=torch.float16), (1, 15), 15, "330")
    words, scales = q.pack()
    assert words.dtype == np.uint32 and scales.dtype == np.float16
    assert words.tolist() == [[0x04030201, 0x00000005]]
    assert q.packed_bits == 2 * 32 + 16


def _random_weight(seed, n, k, heavy=True):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, k, generator=g)
    if heavy:
        w = w * torch.exp(torch.randn(n, k, generator=g))   # heavy-tailed: many outliers
    return w


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_decode_word_agrees_with_unpack(layout):
    W = _random_weight(1, 5, 101)
    q = quantize(W, group_size=12, layout=layout)
    words, scales = q.pack()
    q2 = unpack(words, scales, (5, 101), 12, layout)
    signs, mags = q2.signs, q2.magnitudes
    for n in range(5):
        for wi, word in enumerate(words[n]):
            pairs = decode_word(int(word), layout)
            for j, (sgn, mag) in enumerate(pairs):
                col = wi * 12 + j
                if col < q2.k_padded:
                    assert (sgn, mag) == (int(signs[n, col]), int(mags[n, col]))
                else:
                    assert (sgn, mag) == decode_byte(0, layout)[j % 3]   # zero padding bytes


ADVERSARIAL = {
    "zeros": torch.zeros(3, 50),
    "constant": torch.full((2, 96), 0.37),
    "negative_constant": torch.full((2, 97), -1.5),
    "one_spike": torch.zeros(2, 96).index_put_((torch.tensor([1]), torch.tensor([40])),
                                               torch.tensor(1e4)),
    "alternating": torch.tensor([[(-1.0) ** i * (i % 7) for i in range(200)]]),
    "tiny": torch.randn(3, 40, generator=torch.Generator().manual_seed(0)) * 1e-9,
    "huge": torch.randn(3, 40, generator=torch.Generator().manual_seed(0)) * 1e5,
    "fp16_edge": torch.tensor([[60000.0, -65504.0, 1.0, 3e-8, 0.0, -0.0]]),
    "single": torch.tensor([[-0.25]]),
    "signed_zero": torch.tensor([[-0.0, 0.0, -0.0, 1.0]]),
}


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_pack_unpack_round_trip_adversarial(layout, name):
    W = ADVERSARIAL[name]
    for g in (3, 12, 96):
        q = quantize(W, group_size=g, layout=layout)
        words, scales = q.pack()
        assert np.isfinite(scales).all()
        q2 = unpack(words, scales, tuple(W.shape), g, layout)
        assert q2.equal(q)
        assert torch.equal(q2.dequantize(), q.dequantize())
        assert q.dequantize().shape == W.shape
        assert torch.isfinite(q.dequantize()).all()


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_pack_unpack_round_trip_random(layout):
    W = _random_weight(7, 17, 333)
    q = quantize(W, layout=layout)
    words, scales = q.pack()
    assert words.shape == (17, q.words_per_row) and scales.shape == (17, q.groups)
    q2 = unpack(torch.from_numpy(words.astype(np.int64)), torch.from_numpy(scales), (17, 333),
                96, layout)
    assert q2.equal(q)
    assert torch.equal(q2.levels, q.levels)


def test_unpack_any_memory_image_round_trips():
    """Every byte value is a valid cluster: random words unpack and re-pack bit-exactly."""
    rng = np.random.default_rng(3)
    n, k, g = 4, 96 * 2 - 6, 96        # 62 clusters of 64: last word has 2 zero padding bytes
    q0 = FineQWeight(torch.from_numpy(rng.integers(0, 256, (n, 64), dtype=np.uint8)),
                     torch.from_numpy(rng.random((n, 2)).astype(np.float16)), (n, k), g, "321")
    words, scales = q0.pack()
    for layout in ALL_LAYOUTS:
        q = unpack(words, scales, (n, k), g, layout)
        w2, s2 = q.pack()
        assert np.array_equal(w2, words) and np.array_equal(s2.view(np.uint16),
                                                            scales.view(np.uint16))


def test_avg_bits_equals_packed_size():
    for (n, k, g) in [(4, 384, 96), (3, 1536, 96), (2, 11008, 96), (5, 7, 3), (1, 1, 96),
                      (2, 100, 12), (3, 13, 6)]:
        q = quantize(_random_weight(n * k, n, k), group_size=g)
        words, scales = q.pack()
        image_bits = words.size * 32 + scales.size * 16
        assert q.packed_bits == image_bits
        assert q.avg_bits_exact == Fraction(image_bits, n * k)
        assert q.avg_bits == image_bits / (n * k)
    assert quantize(torch.ones(2, 384)).avg_bits_exact == Fraction(17, 6)   # 8/3 + 16/96


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), k=st.integers(1, 70), g=st.sampled_from([3, 6, 12, 24, 96]),
       layout=st.sampled_from(ALL_LAYOUTS), seed=st.integers(0, 2 ** 16),
       scale=st.sampled_from([1e-6, 1.0, 300.0]), heavy=st.booleans())
def test_property_shapes_padding_round_trip(n, k, g, layout, seed, scale, heavy):
    W = _random_weight(seed, n, k, heavy) * scale
    q = quantize(W, group_size=g, layout=layout)
    kp = -(-k // g) * g
    assert q.k_padded == kp and q.cluster_bytes.shape == (n, kp // 3)
    words, scales = q.pack()
    assert words.shape == (n, -(-(kp // 3) // 4)) and scales.shape == (n, kp // g)
    # bytes after the last cluster are zero; clusters wholly in the padding are byte 0
    tail = (words[:, -1].astype(np.int64) >> (8 * ((kp // 3) % 4 or 4))) if (kp // 3) % 4 else 0
    assert np.all(tail == 0)
    first_pad_cluster = -(-k // 3)
    assert torch.all(q.cluster_bytes[:, first_pad_cluster:] == 0)
    q2 = unpack(words, scales, (n, k), g, layout)
    assert q2.equal(q)
    D = q.dequantize()
    assert D.shape == (n, k)
    assert torch.equal(D, (q.levels.float() * q.scales_per_column())[:, :k])
    assert q.packed_bits == words.size * 32 + scales.size * 16
    # the error is never worse than rounding everything to zero
    assert (W - D).pow(2).sum() <= W.pow(2).sum() * (1 + 1e-6) + 1e-30


# --------------------------------------------------------------------------------------------
# bad input

def test_quantize_bad_input():
    with pytest.raises(ValueError, match=r"2-D.*\(5,\)"):
        quantize(torch.ones(5))
    with pytest.raises(ValueError, match=r"2-D.*\(2, 3, 4\)"):
        quantize(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"non-empty.*\(0, 5\)"):
        quantize(torch.ones(0, 5))
    with pytest.raises(ValueError, match=r"non-empty.*\(5, 0\)"):
        quantize(torch.ones(5, 0))
    w = torch.ones(2, 6)
    w[1, 4] = float("nan")
    with pytest.raises(ValueError, match=r"finite; W\[1, 4\] = nan"):
        quantize(w)
    w[1, 4] = float("-inf")
    with pytest.raises(ValueError, match=r"W\[1, 4\] = -inf"):
        quantize(w)
    with pytest.raises(ValueError, match="overflows float32"):
        quantize(torch.tensor([[1e300]], dtype=torch.float64))
    for gs in (0, -3, 4, 95, 3.0, True, "96", None):
        with pytest.raises(ValueError, match=f"group_size.*{gs!r}".replace("(", r"\(")):
            quantize(torch.ones(2, 6), group_size=gs)
    with pytest.raises(ValueError, match="unknown layout '333'"):
        quantize(torch.ones(2, 6), layout="333")
    with pytest.raises(ValueError, match="outlier.*'max'"):
        quantize(torch.ones(2, 6), outlier="max")
    with pytest.raises(ValueError, match=r"importance must have shape \(6,\), got \(5,\)"):
        quantize(torch.ones(2, 6), importance=torch.ones(5))
    with pytest.raises(ValueError, match="non-negative"):
        quantize(torch.ones(2, 6), importance=-torch.ones(6))
    with pytest.raises(ValueError, match="finite"):
        quantize(torch.ones(2, 6), importance=torch.full((6,), float("nan")))
    with pytest.raises(ValueError, match="complex|real"):
        quantize(torch.ones(2, 6, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"scales must have shape \(2, 1\)"):
        quantize(torch.ones(2, 6), scales=torch.ones(2, 2))
    with pytest.raises(ValueError, match="FP16"):
        quantize(torch.ones(2, 6), scales=torch.full((2, 1), 0.1, dtype=torch.float64))


def test_unpack_bad_input():
    q = quantize(_random_weight(0, 3, 40), group_size=12)
    words, scales = q.pack()                                  # (3, 4), (3, 4)
    with pytest.raises(ValueError, match=r"words must have shape \(3, 4\).*got \(3, 5\)"):
        unpack(np.zeros((3, 5), np.uint32), scales, (3, 40), 12, "330")
    with pytest.raises(ValueError, match=r"words must have shape \(3, 4\).*got \(12,\)"):
        unpack(words.reshape(-1), scales, (3, 40), 12, "330")
    with pytest.raises(ValueError, match=r"scales must have shape \(3, 4\), got \(3, 3\)"):
        unpack(words, scales[:, :3], (3, 40), 12, "330")
    with pytest.raises(ValueError, match="integer"):
        unpack(words.astype(np.float64), scales, (3, 40), 12, "330")
    bad = words.astype(np.int64)
    bad[0, 0] = 2 ** 32
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        unpack(bad, scales, (3, 40), 12, "330")
    bad[0, 0] = -1
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        unpack(bad, scales, (3, 40), 12, "330")
    pad = words.copy()                   # 48 cols -> 16 clusters = 4 words, no padding bytes
    q5 = quantize(_random_weight(0, 3, 15), group_size=15)    # 5 clusters -> 3 padding bytes
    w5, s5 = q5.pack()
    w5[1, -1] |= np.uint32(1 << 24)
    with pytest.raises(ValueError, match="padding bytes after cluster 5"):
        unpack(w5, s5, (3, 15), 15, "330")
    bad_s = scales.astype(np.float32)
    bad_s[0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        unpack(pad, bad_s, (3, 40), 12, "330")
    bad_s[0, 0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        unpack(pad, bad_s, (3, 40), 12, "330")
    bad_s[0, 0] = 0.1
    with pytest.raises(ValueError, match="float16"):
        unpack(pad, bad_s, (3, 40), 12, "330")
    with pytest.raises(ValueError, match="unknown layout 'x'"):
        unpack(words, scales, (3, 40), 12, "x")
    with pytest.raises(ValueError, match="group_size.*10"):
        unpack(words, scales, (3, 40), 10, "330")
    for shape in ((3,), (3, 0), (0, 40), (3, 40, 1), "3x40", (3.0, 40)):
        with pytest.raises(ValueError, match="shape must be two positive integers"):
            unpack(words, scales, shape, 12, "330")
    with pytest.raises(ValueError, match="numpy array or torch tensor"):
        unpack(words.tolist(), scales, (3, 40), 12, "330")


def test_decode_bad_input():
    for w in (-1, 2 ** 32, 1.0, True, "1"):
        with pytest.raises(ValueError, match="word must be an integer"):
            decode_word(w, "330")
    with pytest.raises(ValueError, match="unknown layout 'abc'"):
        decode_word(0, "abc")
    with pytest.raises(ValueError, match="cluster byte"):
        decode_byte(256, "330")
    assert decode_word(np.uint32(0xFFFFFFFF), "321") == decode_word(0xFFFFFFFF, "321")


def test_lut_tables_consistent():
    for layout in ALL_LAYOUTS:
        t = _luts(layout)
        lev = t["level"].long()
        assert torch.equal(lev.abs(), t["mag"].long())
        assert torch.equal((lev < 0).long(), t["sign"].long())
