"""FGMP blocks in Amaranth's Python simulator (fast layer; cocotb covers the generated Verilog
on Verilator and Icarus): short streams from the same generators as the cocotb testbench,
operand isolation observed on the units' operands, latency/throughput, parameter validation,
generated metadata."""
import random

import pytest
from verif.amaranth_sim import run_clocked

import verif.vectors.fgmp as V
from rtl.fgmp import ActQuantUnit, Fp8Vmac, Vmac
from rtl.fgmp.act_quant import in_layout, out_layout
from rtl.fgmp.vmac import a_layout, w_lane_layout
from rtl.generate import elaborate
from verif.payload import unpack


# ------------------------------------------------------------------------------------------------
# drivers
# ------------------------------------------------------------------------------------------------

def run_vmac(dut, st, *, acc_init=False, o_ready=None, probe=None, rng=None):
    """Drive a VmacStream (a and w valid whenever there is data), collect o. ``o_ready``:
    callable(cycle) -> bool; ``probe``: callable(ctx, cycle) run every cycle."""
    aw, ww = st.a_words(), st.w_words(acc_init)
    n_out = len(st.segments())
    outs, out_cycles, take_cycles = [], [], []

    async def bench(ctx):
        t = cyc = 0
        while len(outs) < n_out:
            assert cyc < 10 * len(aw) + 100, "stalled"
            have = t < len(aw)
            ctx.set(dut.a.valid, have)
            ctx.set(dut.w.valid, have)
            if have:
                ctx.set(dut.a.payload.as_value(), aw[t])
                ctx.set(dut.w.payload.as_value(), ww[t])
            rdy = 1 if o_ready is None else int(o_ready(cyc))
            ctx.set(dut.o.ready, rdy)
            if probe:
                probe(ctx, cyc)
            _, _, a_rdy, w_rdy, ov, op = await ctx.tick().sample(
                dut.a.ready, dut.w.ready, dut.o.valid, dut.o.payload.as_value())
            assert a_rdy == w_rdy or not have
            if have and a_rdy:
                take_cycles.append(cyc)
                t += 1
            if ov and rdy:
                outs.append(unpack(dut.o.payload.shape(), int(op)))
                out_cycles.append(cyc)
            cyc += 1

    run_clocked(dut, bench)
    return outs, take_cycles, out_cycles


def run_act(dut, groups, *, o_ready=None):
    results, take_cycles, out_cycles = [], [], []

    async def bench(ctx):
        cyc = 0
        for g in groups:
            ctx.set(dut.scale_exp, g.k)
            ctx.set(dut.tau, g.tau)
            words, outs, t = g.words(), [], 0
            while len(outs) < len(words):
                have = t < len(words)
                ctx.set(dut.i.valid, have)
                if have:
                    ctx.set(dut.i.payload.as_value(), words[t])
                rdy = 1 if o_ready is None else int(o_ready(cyc))
                ctx.set(dut.o.ready, rdy)
                _, _, i_rdy, ov, op = await ctx.tick().sample(dut.i.ready, dut.o.valid,
                                                              dut.o.payload.as_value())
                if have and i_rdy:
                    take_cycles.append(cyc)
                    t += 1
                if ov and rdy:
                    outs.append(int(op))
                    out_cycles.append(cyc)
                cyc += 1
            results.append(outs)

    run_clocked(dut, bench)
    return results, take_cycles, out_cycles


def check_vmac(st, outs, acc_init=False):
    exp = st.expected(acc_init)
    assert len(outs) == len(exp)
    bad = [(j, st.kind[st.segments()[j][0]], [hex(x) for x in g], [hex(x) for x in e])
           for j, (g, e) in enumerate(zip(outs, exp)) if g != e]
    assert not bad, f"{len(bad)} of {len(exp)} dot products differ: {bad[:3]}"


def check_act(groups, results, score_out=True):
    for g, outs in zip(groups, results):
        exp = g.expected_words(score_out)
        assert len(outs) == len(exp), f"{g.kind}: {len(outs)} results for {len(exp)} blocks"
        bad = [(n, V.unpack_act_out(o, score_out), V.unpack_act_out(e, score_out))
               for n, (o, e) in enumerate(zip(outs, exp)) if o != e]
        assert not bad, f"{g.kind}: {len(bad)} of {len(exp)} blocks differ: {bad[:2]}"


# ------------------------------------------------------------------------------------------------
# VMAC
# ------------------------------------------------------------------------------------------------

# The Amaranth simulator runs the multi-unit datapaths (split, shared_fp4) for minutes; make test
# covers them on the generated Verilog (tests/cocotb), so here they are in the full set only.
_SLOW = pytest.mark.slow

#: every datapath, and the isolation choices of the multi-unit ones
VARIANTS = [("shared", "hold"), ("shared_ss", "hold"),
            pytest.param("shared_fp4", "hold", marks=_SLOW), pytest.param("shared_fp4", "and", marks=_SLOW),
            pytest.param("split", "hold", marks=_SLOW), pytest.param("split", "and", marks=_SLOW),
            pytest.param("split", "none", marks=_SLOW)]


@pytest.mark.parametrize("datapath,isolation", VARIANTS)
def test_vmac_modes_bit_exact_and_timing(datapath, isolation):
    rng = random.Random(1)
    st = V.concat(*[V.mode_stream(rng, 2, mode, n_cycles=12, max_seg=3) for mode in V.MODES])
    dut = Vmac(lanes=2, datapath=datapath, isolation=isolation)
    outs, takes, out_cycles = run_vmac(dut, st)
    check_vmac(st, outs)
    assert takes == list(range(len(st))), "not one block pair per cycle"
    assert out_cycles == [takes[e] + dut.latency for _, e in st.segments()]
    assert dut.latency == len(dut.stages)


@pytest.mark.parametrize("datapath", ["shared", "shared_ss", pytest.param("shared_fp4", marks=_SLOW),
                                      pytest.param("split", marks=_SLOW)])
def test_vmac_extremes_zero_nan_random(datapath):
    rng = random.Random(3)
    st = V.concat(V.extreme_stream(rng, 1), V.zero_stream(rng, 1), V.nan_stream(rng, 1),
                  V.random_stream(rng, 1, p=0.7, n_cycles=40, max_seg=8, junk=True))
    outs, _, _ = run_vmac(Vmac(lanes=1, datapath=datapath), st)
    check_vmac(st, outs)


@pytest.mark.slow
@pytest.mark.parametrize("datapath", ["shared_sa", "shared_ss_sa", "shared_nc"])
def test_vmac_accumulator_variants(datapath):
    """The accumulators of ScaleAccumulate other than "twos": two magnitude accumulators (P, N;
    both cleared by a dot product's first pair, only the selected one loading after it), and
    the 47-bit one's complements with a count of negative products: every mode, extremes, NaN,
    random p = 0.7 streams, start values with back-pressure."""
    rng = random.Random(7)
    st = V.concat(*[V.mode_stream(rng, 1, mode, n_cycles=4, max_seg=3) for mode in V.MODES],
                  V.extreme_stream(rng, 1), V.nan_stream(rng, 1),
                  V.random_stream(rng, 1, p=0.7, n_cycles=16, max_seg=8, junk=True))
    dut = Vmac(lanes=1, datapath=datapath)
    outs, takes, out_cycles = run_vmac(dut, st)
    check_vmac(st, outs)
    assert takes == list(range(len(st))) and dut.latency == 8
    assert out_cycles == [takes[e] + dut.latency for _, e in st.segments()]
    st = V.concat(V.acc_init_stream(rng, 1), V.random_stream(rng, 1, p=0.5, n_cycles=8,
                                                              max_seg=2))
    ready = random.Random(8)
    outs, _, _ = run_vmac(Vmac(lanes=1, datapath=datapath, acc_init=True), st, acc_init=True,
                          o_ready=lambda c: ready.random() < 0.3)
    check_vmac(st, outs, acc_init=True)


@pytest.mark.parametrize("block", ["vmac", "fp8_vmac"])
def test_vmac_acc_init_and_backpressure(block):
    rng = random.Random(4)
    fp8 = block == "fp8_vmac"
    st = V.concat(V.acc_init_stream(rng, 2, fp8), V.random_stream(rng, 2, p=0.5, n_cycles=30,
                                                                   max_seg=2, fp8_only=fp8))
    ready = random.Random(5)
    dut = Fp8Vmac(lanes=2, acc_init=True) if fp8 else Vmac(lanes=2, acc_init=True)
    outs, _, _ = run_vmac(dut, st, acc_init=True, o_ready=lambda c: ready.random() < 0.3)
    check_vmac(st, outs, acc_init=True)


def test_fp8_vmac_bit_exact_meta_ignored():
    rng = random.Random(6)
    st = V.concat(V.mode_stream(rng, 3, "fp8xfp8", n_cycles=20, max_seg=4),
                  V.extreme_stream(rng, 3, fp8_only=True), V.nan_stream(rng, 3, fp8_only=True))
    dut = Fp8Vmac(lanes=3)
    outs, takes, out_cycles = run_vmac(dut, st)
    check_vmac(st, outs)
    assert out_cycles == [takes[e] + dut.latency for _, e in st.segments()]
    # meta bits are ignored: clearing them changes nothing
    dut = Fp8Vmac(lanes=3)
    aw = V.clear_meta(st.a_words(), dut.a.payload.shape())
    ww = V.clear_meta(st.w_words(), dut.w.payload.shape())
    assert aw != st.a_words() and ww != st.w_words()
    st.a_words = lambda: aw
    st.w_words = lambda acc_init=False: ww
    outs2, _, _ = run_vmac(dut, st)
    assert outs2 == outs


@pytest.mark.parametrize("datapath,isolation", [pytest.param("split", "hold", marks=_SLOW),
                                                pytest.param("split", "and", marks=_SLOW),
                                                pytest.param("shared_fp4", "hold", marks=_SLOW)])
def test_vmac_operand_isolation(datapath, isolation):
    """Lane 0 only ever uses FP4×FP4 after the first cycles; lane 1 cycles through all modes.
    An unselected unit's operands (and tree words) must not change (hold) or be 0 (and)."""
    rng = random.Random(7)
    st = V.VmacStream(2)
    for t in range(40):
        a8 = t % 2 if t < 4 else 0               # activations FP4 from block pair 4 on
        w0 = 1 if t < 4 else 0                   # lane 0: FP8 weights, then FP4 only
        w1 = int(rng.random() < 0.5)
        st.add(V.rand_block(rng, a8), [V.rand_block(rng, w0), V.rand_block(rng, w1)],
               t % 5 == 4 or t == 39, "iso")
    dut = Vmac(lanes=2, datapath=datapath, isolation=isolation)
    seen = {}

    def probe(ctx, cyc):
        for (lane, mode), (w_op, a_op, s, c) in dut.unit_probes.items():
            seen.setdefault((lane, mode), []).append(
                (cyc, ctx.get(w_op.as_value()), ctx.get(a_op.as_value()), ctx.get(s),
                 ctx.get(c)))

    outs, _, _ = run_vmac(dut, st, probe=probe)
    check_vmac(st, outs)
    def selects(lane, t, mode):
        unit = dut.unit_probes[(lane, mode)]
        pair = V.MODES[2 * st.w[t][lane][0] + st.a[t][0]]
        return dut.unit_probes[(lane, pair)][0] is unit[0]

    for (lane, mode), trace in seen.items():
        prev = None
        for cyc, w, a, s, c in trace:
            if isolation == "and" and cyc < len(st) and not selects(lane, cyc, mode):
                assert (w, a) == (0, 0), f"lane {lane} {mode} not zeroed at {cyc}"
            # hold: the operand registers at cycle c hold block pair c - 1 if it selected the unit
            if isolation == "hold" and prev is not None and 1 <= cyc <= len(st) and \
                    not selects(lane, cyc - 1, mode):
                assert (w, a) == prev[:2], f"lane {lane} {mode} operands changed at {cyc}"
            prev = (w, a, s, c)
    # lane 0 used only FP4xFP4 after block pair 3: its FP8xFP8 unit is frozen from then on
    frozen = {x[1:] for x in seen[(0, "fp8xfp8")] if x[0] >= 4 + dut.latency}
    assert len(frozen) == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"lanes": 0}, "lanes"), ({"lanes": 65}, "lanes"), ({"lanes": True}, "lanes"),
    ({"lanes": "4"}, "lanes"), ({"isolation": "gate", "datapath": "split"}, "isolation"),
    ({"acc_init": 1}, "acc_init"), ({"datapath": "unified"}, "datapath"),
    ({"datapath": "shared", "isolation": "and"}, "multi-unit"),
    ({"datapath": "shared_ss", "isolation": "none"}, "multi-unit"),
])
def test_vmac_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Vmac(**kwargs)


def test_fp8_vmac_rejects_bad_parameters():
    with pytest.raises(ValueError, match="lanes"):
        Fp8Vmac(lanes=-1)
    with pytest.raises(TypeError):
        Fp8Vmac(isolation="hold")


def test_vmac_properties_and_metadata():
    v = Vmac()
    assert v.lanes == 4 and v.modes == list(V.MODES) and v.datapath == "shared"
    assert v.stages == ["products", "tree", "sum", "scale", "accumulate", "abs", "normalize",
                        "round"] and v.latency == 8
    assert Vmac(datapath="split").latency == 9          # + per-unit operand registers (hold)
    assert Vmac(acc_init=True).latency == 10            # + start value alignment and frame
    assert Fp8Vmac().modes == ["fp8xfp8"] and Fp8Vmac().latency == 7     # docs/fgmp_rtl.md
    assert Vmac(datapath="shared_ss").latency == 8 and Vmac(datapath="shared_ss").dot_units == [
        list(V.MODES)]
    assert v.dot_units == [list(V.MODES)]
    assert Vmac(datapath="split").dot_units == [[m] for m in V.MODES]
    gen = elaborate("vmac", {"lanes": 2})
    meta = gen.metadata()
    ports = {p["name"]: p for p in meta["ports"]}
    # the documented wire format (docs/fgmp_rtl.md): block 137 bits, + last
    assert ports["a__payload"]["width"] == a_layout().size == 138
    assert ports["w__payload"]["width"] == 2 * w_lane_layout(False).size == 2 * 137
    assert ports["o__payload"]["width"] == 64
    assert meta["latency"] == 8 and meta["datapath"] == "shared"
    assert meta["stages"] == v.stages and meta["max_pairs"] == 1 << 16


# ------------------------------------------------------------------------------------------------
# Activation quantization unit
# ------------------------------------------------------------------------------------------------

@pytest.mark.slow   # minutes in the Amaranth simulator; its Verilog runs in make test (tests/cocotb)
def test_act_quant_bit_exact_and_timing():
    rng = random.Random(8)
    groups = (V.act_threshold_groups(rng, n_blocks=2) + [V.act_zero_group(rng),
              V.act_special_group(rng)] + V.act_random_groups(rng, n_blocks=12))
    ties = V.act_tie_groups(rng)[1]
    idx = list(range(0, len(ties), 13))
    ties.x, ties.fbar, ties.last = ties.x[idx], ties.fbar[idx], [ties.last[i] for i in idx]
    groups.append(ties)
    dut = ActQuantUnit()
    results, takes, outs = run_act(dut, groups)
    check_act(groups, results)
    # the random groups ran at one block per cycle with the documented latency (8)
    g = groups[-2]
    first = sum(len(x) for x in groups[:-2])
    t0 = takes[first:first + len(g)]
    assert t0 == list(range(t0[0], t0[0] + len(g)))
    assert outs[first:first + len(g)] == [t + dut.latency for t in t0]


def test_act_quant_subnormal_saturation_backpressure_no_score():
    rng = random.Random(9)
    groups = [V.act_subnormal_groups(rng)[0], V.act_saturation_groups(rng)[1]]
    ready = random.Random(10)
    dut = ActQuantUnit(score_out=False)
    results, _, _ = run_act(dut, groups, o_ready=lambda c: ready.random() < 0.4)
    check_act(groups, results, score_out=False)


def test_act_quant_parameters_and_metadata():
    with pytest.raises(ValueError, match="score_out"):
        ActQuantUnit(score_out=1)
    a = ActQuantUnit()
    assert a.latency == 8 and a.scale_exp_range == (-149, 127)
    gen = elaborate("act_quant", {"score_out": False})
    meta = gen.metadata()
    ports = {p["name"]: p["width"] for p in meta["ports"]}
    assert ports["i__payload"] == in_layout().size == 641
    assert ports["o__payload"] == out_layout(False).size == 138
    assert ports["scale_exp"] == 9 and ports["tau"] == 64
