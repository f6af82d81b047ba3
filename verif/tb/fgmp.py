"""cocotb regression of the FGMP blocks: vmac, fp8_vmac (VMAC lanes) and act_quant.

Every result is compared for equality with the golden model (verif/vectors/fgmp.py:
``hw.vmac``, ``hw.act_quant_blocks``). VMAC: the four modes, every code pair of every mode,
saturated values and largest scales, zero and NaN blocks, results independent of the previous
dot product (probes of exact +0 and the smallest product), long accumulations (K >= 4096) with
growth and cancellation, random mixed-precision streams at p = 0.5 / 0.9 (with garbage in the
ignored fields), start values (acc_init: overflow to Inf, subnormal results), real
all-MiniLM-L6-v2 dot products, back-pressure, reset, and the documented timing (one block pair
per cycle, result ``latency`` cycles after the last handshake). act_quant: scores at the
threshold (I = τ_q, ±1), τ_q = −1 / 2^63 − 1, zero and tiny blocks, exact ties of every rounding
(E4M3, UE4M3, E2M1) and one ulp either side, values around 448·6·S and the E2M1 boundaries,
FP32 subnormals, NaN/Inf, random blocks, real MiniLM activations with the golden threshold,
back-pressure, reset, timing (1 block/cycle, ``latency`` from the block metadata: 8). A protocol
monitor (verif.tb.common.StreamMonitor) watches every stream (a, w, o / i, o) in every test.

Environment: VERIF_N_RANDOM (cycles per random stream, default 400), VERIF_FGMP_EXHAUSTIVE
(the modes whose every code pair is swept at every element position, with functional coverage
that fails on an empty bin: ``all`` or ``1``, a comma-separated list such as ``fp4xfp4``, or
``0`` for none; default ``fp4xfp4``, the full sweep is the slow coverage set,
tests/cocotb/test_coverage_cocotb.py), VERIF_FGMP_LONG (block pairs per long dot product,
default 512 = K 8192), VERIF_FGMP_REAL (1 = MiniLM vectors, default 0; the pytest wrapper sets
it when the model package or the cached vectors are available).
"""
from __future__ import annotations

import os
import random

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

import verif.vectors.fgmp as V
from verif.vectors.act_differences import act_difference_groups
from verif.coverage import Coverage
from verif.payload import pack, unpack
from verif.tb.common import (Mismatches, StreamSink, StreamSource, block_meta, config, reset,
                             start_clock, start_monitors, wire_shapes)

META = block_meta()
PARAMS = config()
BLOCK = META["block"]
IS_VMAC = BLOCK in ("vmac", "fp8_vmac")
IS_AQ = BLOCK == "act_quant"
FP8_ONLY = BLOCK == "fp8_vmac"
LANES = PARAMS.get("lanes", 1)
ACC_INIT = bool(PARAMS.get("acc_init", False))
SCORE_OUT = bool(PARAMS.get("score_out", True))
LATENCY = META["latency"]
SHAPES = wire_shapes()

N_RANDOM = int(os.environ.get("VERIF_N_RANDOM", "400"))
_EXH = os.environ.get("VERIF_FGMP_EXHAUSTIVE", "fp4xfp4").strip()
_MODES_HERE = ["fp8xfp8"] if FP8_ONLY else list(V.MODES)
if _EXH in ("1", "all"):
    EXHAUSTIVE = _MODES_HERE
elif _EXH in ("0", ""):
    EXHAUSTIVE = []
else:
    _bad = [m for m in _EXH.split(",") if m.strip() not in V.MODES]
    if _bad:
        raise ValueError(f"VERIF_FGMP_EXHAUSTIVE: unknown mode {_bad[0]!r} "
                         f"(all, 0 or a list of {', '.join(V.MODES)})")
    EXHAUSTIVE = [m for m in _MODES_HERE if m in [x.strip() for x in _EXH.split(",")]]
LONG = int(os.environ.get("VERIF_FGMP_LONG", "512"))
REAL = os.environ.get("VERIF_FGMP_REAL", "0") == "1"


def _rng(tag: str) -> random.Random:
    return random.Random(f"{cocotb.RANDOM_SEED}-{tag}")


async def _start(dut):
    """Clock, reset, and a protocol monitor on every stream for the rest of the test."""
    start_clock(dut)
    await reset(dut)
    start_monitors(dut)


def _set_config(dut, g: V.ActGroup):
    """act_quant's configuration ports (signed) for group ``g``."""
    dut.scale_exp.value = pack(SHAPES["scale_exp"], g.k)
    dut.tau.value = pack(SHAPES["tau"], g.tau)


def _idle_inputs(dut):
    if IS_VMAC:
        dut.a__valid.value = 0
        dut.w__valid.value = 0
    else:
        dut.i__valid.value = 0


# ------------------------------------------------------------------------------------------------
# VMAC
# ------------------------------------------------------------------------------------------------

async def _vmac_run(dut, st: V.VmacStream, what: str, *, a_prob=1.0, w_prob=1.0, o_prob=1.0,
                    rng=None, check_timing=False, meta_junk=False, cov: Coverage | None = None):
    rng = rng or random.Random(0)
    aw = st.a_words()
    ww = st.w_words(ACC_INIT)
    if FP8_ONLY and meta_junk:         # fp8_vmac ignores meta: clear it at random
        aw = V.clear_meta(aw, SHAPES["a"], rng)
        ww = V.clear_meta(ww, SHAPES["w"], rng)
    expected = st.expected(ACC_INIT)
    src_a = StreamSource(dut, "a", valid_prob=a_prob, rng=random.Random(rng.random()))
    src_w = StreamSource(dut, "w", valid_prob=w_prob, rng=random.Random(rng.random()))
    snk = StreamSink(dut, "o", ready_prob=o_prob, rng=random.Random(rng.random()))
    src_a.push(aw)
    src_w.push(ww)
    tasks = [cocotb.start_soon(x.run()) for x in (src_a, src_w, snk)]
    limit = 4 * len(aw) / min(a_prob, w_prob) + 8 * len(expected) / o_prob + 200
    n = 0
    while len(snk.items) < len(expected):
        await RisingEdge(dut.clk)
        n += 1
        assert n < limit, f"{what}: stalled, {len(snk.items)} of {len(expected)} results"
    for _ in range(LATENCY + 3):          # no spurious outputs afterwards
        await RisingEdge(dut.clk)
    for t in tasks:
        t.cancel()
    await FallingEdge(dut.clk)
    _idle_inputs(dut)
    dut.o__ready.value = 0
    assert len(snk.items) == len(expected), \
        f"{what}: {len(snk.items)} results for {len(expected)} dot products"
    assert src_a.cycles == src_w.cycles, f"{what}: a and w handshakes are not joined"
    mm = Mismatches(f"{BLOCK} {what}")
    segs = st.segments()
    results = [unpack(SHAPES["o"], word) for word in snk.items]
    for j, (got, exp) in enumerate(zip(results, expected)):
        for lane in range(LANES):
            mm.check(got[lane], exp[lane],
                     f"dot product {j} ({st.kind[segs[j][0]]}, K={16 * (segs[j][1] - segs[j][0] + 1)}) lane {lane}")
    mm.finish(minimum=len(expected) * LANES)
    if cov is not None:
        _cover_pairs(cov, aw[:len(src_a.cycles)], ww[:len(src_w.cycles)], results, expected)
    if check_timing:
        assert src_a.cycles == list(range(len(aw))), f"{what}: not one block pair per cycle"
        want = [src_a.cycles[e] + LATENCY for _, e in segs]
        assert snk.cycles == want, f"{what}: results at cycles {snk.cycles[:8]}, " \
                                   f"expected {want[:8]} (latency {LATENCY})"


@cocotb.test(skip=not IS_VMAC)
async def vmac_each_mode_full_rate(dut):
    """Each of the four modes separately (fp8_vmac: FP8×FP8), one block pair per cycle, and
    the documented latency of every result."""
    await _start(dut)
    rng = _rng("modes")
    for mode in (["fp8xfp8"] if FP8_ONLY else V.MODES):
        st = V.mode_stream(rng, LANES, mode, n_cycles=max(64, N_RANDOM // 4), max_seg=6)
        await _vmac_run(dut, st, f"mode {mode}", rng=rng, check_timing=True)


def _cover_pairs(cov: Coverage, aw, ww, results, expected):
    """Credit the (weight code, activation code, position) bins that the accepted payloads
    show (``V.pair_bins``: one-block-pair dot products whose result depends on that pair),
    for the lanes whose result was checked equal to golden."""
    a, w, last = V.accepted_blocks(aw, ww, LANES, ACC_INIT)
    prods = V.block_products_of(a, w)
    j = 0
    first = True
    for t, lst in enumerate(last):
        if lst:
            if first:                      # a dot product of exactly one block pair
                for lane in range(LANES):
                    if results[j][lane] == expected[j][lane]:
                        for bin_ in V.pair_bins(w[t][lane], a[t], prods[t][lane]):
                            cov.hit(*bin_)
            j += 1
        first = bool(lst)


def _pair_coverage(mode: str) -> Coverage:
    w8, a8 = (1, 1) if FP8_ONLY else (V.MODES.index(mode) >> 1, V.MODES.index(mode) & 1)
    return Coverage(f"{BLOCK} {mode} (weight code, activation code, element position)",
                    (256 if w8 else 16, 256 if a8 else 16, V.BLOCK),
                    lambda t: f"(w {t[0]:#04x}, a {t[1]:#04x}, position {t[2]})")


@cocotb.test(skip=not (IS_VMAC and EXHAUSTIVE))
async def vmac_every_code_pair(dut):
    """Every (weight code, activation code) pair of each mode in VERIF_FGMP_EXHAUSTIVE, NaN
    codes included, at every element position (V.exhaustive_stream), with functional coverage:
    a bin counts only when the DUT accepted it in a one-block-pair dot product whose checked
    result shows that pair; an empty bin fails the test."""
    await _start(dut)
    for n, mode in enumerate(EXHAUSTIVE):
        cov = _pair_coverage(mode)
        st = V.exhaustive_stream(LANES, mode, seed=n)
        await _vmac_run(dut, st, f"exhaustive {mode}", check_timing=True, cov=cov)
        cocotb.log.info(cov.finish())


@cocotb.test(skip=not IS_VMAC)
async def vmac_extremes_zeros_nans(dut):
    """Saturated codes with the largest scales (alone and accumulated), smallest products,
    zero blocks (±0 codes, scale 0), NaN codes/scales at the start, middle and end of a dot
    product."""
    await _start(dut)
    rng = _rng("extremes")
    st = V.concat(V.extreme_stream(rng, LANES, FP8_ONLY), V.zero_stream(rng, LANES, FP8_ONLY),
                  V.nan_stream(rng, LANES, FP8_ONLY))
    await _vmac_run(dut, st, "extremes/zeros/NaN", rng=rng, check_timing=True)


@cocotb.test(skip=not IS_VMAC)
async def vmac_history_independence(dut):
    """Every dot product starts from a clean accumulator: in every mode, random dot products
    each followed by a one-pair probe whose exact result is +0 (cancelling non-zero codes) or
    the mode's smallest product; an accumulator bit that the first block pair leaves set, and
    that the random dot product before it left at 1, changes the probe's result."""
    await _start(dut)
    rng = _rng("history")
    st = V.history_stream(rng, LANES, FP8_ONLY)
    await _vmac_run(dut, st, "history", rng=rng, check_timing=True)


@cocotb.test(skip=not IS_VMAC)
async def vmac_long_accumulations(dut):
    """Dot products of LONG block pairs (default 512: K = 8192): random, growth, cancellation
    (sequence then its negation), exact pairwise cancellation, tiny products absorbed by a large
    accumulator."""
    await _start(dut)
    rng = _rng("long")
    st = V.long_streams(rng, LANES, FP8_ONLY, blocks=LONG)
    await _vmac_run(dut, st, f"long K={16 * LONG}", rng=rng, check_timing=True)


@cocotb.test(skip=not IS_VMAC)
async def vmac_random_mixed_precision(dut):
    """Random streams with NVFP4 fraction p = 0.5 and 0.9 (fp8_vmac: all FP8, meta bits
    random because they are ignored), random dot-product lengths, garbage in NVFP4 code bits
    [127:64] and in FP8 scale bytes (both ignored)."""
    await _start(dut)
    rng = _rng("random")
    for p in (0.5, 0.9):
        st = V.random_stream(rng, LANES, p=p, n_cycles=N_RANDOM, max_seg=40,
                             fp8_only=FP8_ONLY, junk=True)
        await _vmac_run(dut, st, f"random p={p}", rng=rng, meta_junk=True)


@cocotb.test(skip=not IS_VMAC)
async def vmac_backpressure(dut):
    """Random valid gaps on both inputs (independently) and a slow consumer, short dot products
    so that results queue up behind the output."""
    await _start(dut)
    rng = _rng("bp")
    for a_prob, w_prob, o_prob in ((0.7, 0.5, 0.3), (1.0, 1.0, 0.15), (0.4, 0.9, 0.8)):
        st = V.random_stream(rng, LANES, p=0.7, n_cycles=max(100, N_RANDOM // 2), max_seg=3,
                             fp8_only=FP8_ONLY)
        await _vmac_run(dut, st, f"back-pressure a={a_prob} w={w_prob} o={o_prob}",
                        a_prob=a_prob, w_prob=w_prob, o_prob=o_prob, rng=rng)


@cocotb.test(skip=not IS_VMAC)
async def vmac_reset_mid_stream(dut):
    """Reset while block pairs are in flight, a partial accumulation is open and a result is
    waiting for o.ready: afterwards no stale result appears and the next dot products start
    from a clean accumulator."""
    await _start(dut)
    rng = _rng("reset")
    for stall_output in (False, True):
        st = V.random_stream(rng, LANES, p=0.6, n_cycles=60, max_seg=7, fp8_only=FP8_ONLY)
        src_a = StreamSource(dut, "a", rng=random.Random(1))
        src_w = StreamSource(dut, "w", rng=random.Random(2))
        snk = StreamSink(dut, "o", ready_prob=0.0 if stall_output else 1.0)
        src_a.push(st.a_words())
        src_w.push(st.w_words(ACC_INIT))
        tasks = [cocotb.start_soon(x.run()) for x in (src_a, src_w, snk)]
        for _ in range(23):
            await RisingEdge(dut.clk)
        for t in tasks:
            t.cancel()
        await reset(dut, cycles=2)          # inputs still valid during reset
        _idle_inputs(dut)
        await ReadOnly()
        assert int(dut.o__valid.value) == 0, "o.valid set right after reset"
        for _ in range(LATENCY + 2):
            await RisingEdge(dut.clk)
            await ReadOnly()
            assert int(dut.o__valid.value) == 0, "stale result after reset"
        await FallingEdge(dut.clk)
        st2 = V.random_stream(rng, LANES, p=0.6, n_cycles=80, max_seg=9, fp8_only=FP8_ONLY)
        await _vmac_run(dut, st2, f"after reset (output stalled: {stall_output})", rng=rng,
                        check_timing=True)


@cocotb.test(skip=not (IS_VMAC and ACC_INIT))
async def vmac_start_values(dut):
    """acc_init: start values near the FP32 maximum (overflow to ±Inf), subnormal and special
    start values with zero blocks (subnormal / Inf / NaN / signed-zero results), random
    starts; ``acc`` of the non-first block pairs is random and must be ignored."""
    await _start(dut)
    rng = _rng("acc")
    st = V.acc_init_stream(rng, LANES, FP8_ONLY)
    await _vmac_run(dut, st, "start values", rng=rng, check_timing=True)
    st = V.concat(V.acc_init_stream(rng, LANES, FP8_ONLY), V.long_streams(rng, LANES, FP8_ONLY,
                                                                          blocks=64))
    await _vmac_run(dut, st, "start values, back-pressure", rng=rng, a_prob=0.6, w_prob=0.8,
                    o_prob=0.4)


@cocotb.test(skip=not (IS_VMAC and REAL))
async def vmac_minilm(dut):
    """Real all-MiniLM-L6-v2 weight rows (golden Fisher policy, p = 0.7, clipping) against real
    activations quantized by the golden activation unit (layer S, F̄, τ_q), K = 384 and 1536;
    fp8_vmac: the same rows and activations encoded all-FP8."""
    from verif.vectors.fgmp_real import minilm_vmac_stream
    await _start(dut)
    st = minilm_vmac_stream(LANES, fp8_only=FP8_ONLY)
    await _vmac_run(dut, st, "MiniLM", check_timing=True)


# ------------------------------------------------------------------------------------------------
# Activation quantization unit
# ------------------------------------------------------------------------------------------------

async def _aq_run(dut, groups, what, *, i_prob=1.0, o_prob=1.0, rng=None, check_timing=False):
    """Groups run one after the other; the configuration (scale_exp, tau) changes only when
    the previous group has drained."""
    rng = rng or random.Random(0)
    snk = StreamSink(dut, "o", ready_prob=o_prob, rng=random.Random(rng.random()))
    sink_task = cocotb.start_soon(snk.run())
    mm = Mismatches(f"act_quant {what}")
    total = 0
    for g in groups:
        _set_config(dut, g)
        words = g.words()
        src = StreamSource(dut, "i", valid_prob=i_prob, rng=random.Random(rng.random()))
        src.push(words)
        first_out = len(snk.items)
        task = cocotb.start_soon(src.run())
        limit = 4 * len(words) / (i_prob * o_prob) + 100
        n = 0
        while len(snk.items) < first_out + len(words):
            await RisingEdge(dut.clk)
            n += 1
            assert n < limit, f"{what} {g.kind}: stalled at {len(snk.items) - first_out} " \
                              f"of {len(words)} blocks"
        task.cancel()
        await FallingEdge(dut.clk)
        dut.i__valid.value = 0
        exp = g.expected_words(SCORE_OUT)
        got = snk.items[first_out:]
        for n_blk, (gw, ew) in enumerate(zip(got, exp)):
            mm.check(gw, ew, f"{g.kind} block {n_blk} (k={g.k}, tau={g.tau}) "
                             f"{_describe(gw)} vs {_describe(ew)}")
        total += len(words)
        if check_timing:
            start = snk.cycles[first_out] - LATENCY
            assert src.cycles == list(range(src.cycles[0], src.cycles[0] + len(words))), \
                f"{g.kind}: not one block per cycle"
            out_cycles = snk.cycles[first_out:]
            assert all(b - a == 1 for a, b in zip(out_cycles, out_cycles[1:])), \
                f"{g.kind}: results not one per cycle"
            assert start >= 0
    for _ in range(LATENCY + 3):
        await RisingEdge(dut.clk)
    sink_task.cancel()
    await FallingEdge(dut.clk)
    dut.o__ready.value = 0
    assert len(snk.items) == total, f"{what}: {len(snk.items)} results for {total} blocks"
    mm.finish(minimum=total)


def _describe(word: int) -> str:
    f = V.unpack_act_out(word, SCORE_OUT)
    return f"(meta {f['meta']}, scale {f['scale']:#04x}, last {f['last']}, " \
           f"score {f.get('score')}, codes {' '.join(f'{c:02x}' for c in f['codes'])})"


async def _aq_latency(dut):
    """One block into an idle unit: the result is valid exactly LATENCY cycles later."""
    g = V.act_random_groups(random.Random(7), n_blocks=1)[0]
    _set_config(dut, g)
    dut.o__ready.value = 1
    await FallingEdge(dut.clk)
    dut.i__payload.value = g.words()[0]
    dut.i__valid.value = 1
    await ReadOnly()
    assert int(dut.i__ready.value) == 1
    await FallingEdge(dut.clk)
    dut.i__valid.value = 0
    for cyc in range(1, LATENCY + 1):
        await ReadOnly()
        assert int(dut.o__valid.value) == (1 if cyc == LATENCY else 0), \
            f"o.valid {int(dut.o__valid.value)} {cyc} cycles after the handshake " \
            f"(latency {LATENCY})"
        await FallingEdge(dut.clk)
    assert int(dut.o__payload.value) == g.expected_words(SCORE_OUT)[0]
    dut.o__ready.value = 0


@cocotb.test(skip=not IS_AQ)
async def aq_threshold_exact(dut):
    """Scores exactly at the threshold: τ_q = I (NVFP4), I − 1 (FP8), I + 1 (NVFP4); τ_q = −1
    forces FP8, 2^63 − 1 NVFP4; a zero-score block with τ_q = 0 stays NVFP4."""
    await _start(dut)
    rng = _rng("thr")
    await _aq_run(dut, V.act_threshold_groups(rng, n_blocks=12), "threshold", rng=rng)


@cocotb.test(skip=not IS_AQ)
async def aq_roundings_and_ranges(dut):
    """Zero and tiny blocks, exact ties of every rounding and one ulp either side, values
    around 448·6·S and the E2M1 boundaries, FP32 subnormal inputs (tiny S and S = 1)."""
    await _start(dut)
    rng = _rng("rnd")
    groups = ([V.act_zero_group(rng)] + V.act_tie_groups(rng) + V.act_saturation_groups(rng)
              + V.act_subnormal_groups(rng))
    await _aq_run(dut, groups, "roundings/ranges", rng=rng, check_timing=True)


@cocotb.test(skip=not IS_AQ)
async def aq_every_difference(dut):
    """Every reachable candidate difference |d| (272 values, verif/vectors/act_differences.py)
    in every element position with non-zero F̄: each Square sees every input it can get."""
    await _start(dut)
    rng = _rng("diff")
    await _aq_run(dut, act_difference_groups(rng), "every difference", rng=rng)


@cocotb.test(skip=not IS_AQ)
async def aq_nan_inf(dut):
    """NaN / ±Inf inputs: documented behaviour (NaN block -> FP8 with NaN codes, score −1;
    Inf saturates)."""
    await _start(dut)
    rng = _rng("nan")
    await _aq_run(dut, [V.act_special_group(rng) for _ in range(3)], "NaN/Inf", rng=rng)


@cocotb.test(skip=not IS_AQ)
async def aq_random_full_rate(dut):
    """Random blocks at one block per cycle, with the documented latency."""
    await _start(dut)
    rng = _rng("rand")
    await _aq_latency(dut)
    await _aq_run(dut, V.act_random_groups(rng, n_blocks=max(50, N_RANDOM // 2)), "random",
                  rng=rng, check_timing=True)


@cocotb.test(skip=not IS_AQ)
async def aq_backpressure(dut):
    """Random input gaps and output back-pressure."""
    await _start(dut)
    rng = _rng("bp")
    for i_prob, o_prob in ((0.7, 0.4), (1.0, 0.2), (0.3, 0.9)):
        await _aq_run(dut, V.act_random_groups(rng, n_blocks=60),
                      f"back-pressure i={i_prob} o={o_prob}", i_prob=i_prob, o_prob=o_prob,
                      rng=rng)


@cocotb.test(skip=not IS_AQ)
async def aq_reset_mid_stream(dut):
    """Reset with blocks in flight and a result held by back-pressure: nothing stale comes
    out afterwards and the next blocks are correct."""
    await _start(dut)
    rng = _rng("reset")
    g = V.act_random_groups(rng, n_blocks=40)[0]
    _set_config(dut, g)
    src = StreamSource(dut, "i")
    snk = StreamSink(dut, "o", ready_prob=0.0)
    src.push(g.words())
    tasks = [cocotb.start_soon(x.run()) for x in (src, snk)]
    for _ in range(12):
        await RisingEdge(dut.clk)
    for t in tasks:
        t.cancel()
    await reset(dut)
    dut.i__valid.value = 0
    for _ in range(LATENCY + 2):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.o__valid.value) == 0, "stale result after reset"
    await FallingEdge(dut.clk)
    await _aq_run(dut, V.act_random_groups(rng, n_blocks=40), "after reset", rng=rng,
                  check_timing=True)


@cocotb.test(skip=not (IS_AQ and REAL))
async def aq_minilm(dut):
    """Real all-MiniLM-L6-v2 activation rows of three layers with each layer's golden S = 2^k,
    F̄ codes and threshold τ_q (golden Fisher policy, p = 0.7)."""
    from verif.vectors.fgmp_real import minilm_act_groups
    await _start(dut)
    await _aq_run(dut, minilm_act_groups(), "MiniLM", check_timing=True)
