"""Mode-grouped block-pair order of the VMAC energy runs (synth.stimulus.grouped_order): a
permutation that groups the modes, and — the accumulation being exact (docs/fgmp.md §3) — one
that changes no output bit of golden hw.vmac; the report's targets read the headline order
(synth.designs.FGMP_ORDER) against the FP8-only run in the same order."""
import random

import pytest
import torch

from golden.fgmp import hw
from synth import designs as D
from synth import tables as R
from synth.stimulus import LANE_MAPS, ORDERS, clustered_lane_groups, fgmp_vmac, grouped_order
from verif.vectors.fgmp import _blocks, rand_block


def _key(w, a):
    n8 = sum(w)
    return (n8, a if n8 % 2 == 0 else 1 - a)


@pytest.mark.parametrize("lanes", [1, 3])
def test_grouped_order_groups_the_modes(lanes):
    rng = random.Random(lanes)
    for trial in range(50):
        n = rng.randrange(1, 40)
        w = [tuple(int(rng.random() < 0.4) for _ in range(lanes)) for _ in range(n)]
        a = [int(rng.random() < 0.4) for _ in range(n)]
        for reverse in (False, True):
            perm = grouped_order(w, a, reverse)
            assert sorted(perm) == list(range(n))
            keys = [_key(w[k], a[k]) for k in perm]
            assert keys == sorted(keys, reverse=reverse)            # one run per mode
            for x, y in zip(perm, perm[1:]):                          # K order inside a group
                if keys[perm.index(x)] == keys[perm.index(y)]:
                    assert x < y
    # one lane: FP4xFP4, FP4xFP8, FP8xFP8, FP8xFP4 (one operand changes between groups)
    w, a = [(1,), (1,), (0,), (0,)], [0, 1, 1, 0]
    assert grouped_order(w, a) == [3, 2, 1, 0]
    assert grouped_order(w, a, reverse=True) == [0, 1, 2, 3]


def test_reordering_changes_no_output_bit():
    """Random mixed-precision dot products (NaN codes, extreme scales, zero blocks included) in
    K order, the grouped order and random orders: golden FP32 outputs equal bit for bit."""
    rng = random.Random(11)
    for trial in range(40):
        lanes, n = rng.randrange(1, 4), rng.randrange(1, 30)
        p = rng.choice([0.3, 0.7, 0.9])
        a = [rand_block(rng, rng.random() >= p, nan_ok=trial % 8 == 0,
                        zero_frac=rng.choice([0.0, 0.5])) for _ in range(n)]
        w = [[rand_block(rng, rng.random() >= p, nan_ok=trial % 8 == 0) for _ in range(n)]
             for _ in range(lanes)]
        acc = torch.tensor([rng.getrandbits(32) for _ in range(lanes)])
        want = hw.vmac(_blocks(w), _blocks(a), acc)
        perms = [grouped_order([tuple(w[l][k][0] for l in range(lanes)) for k in range(n)],
                               [b[0] for b in a], rev) for rev in (False, True)]
        perms += [rng.sample(range(n), n) for _ in range(3)]
        for perm in perms:
            got = hw.vmac(_blocks([[row[k] for k in perm] for row in w]),
                          _blocks([a[k] for k in perm]), acc)
            assert torch.equal(got, want), (trial, perm, got, want)


def test_order_bad_input():
    with pytest.raises(ValueError, match="order must be one of"):
        fgmp_vmac({"lanes": 1}, shapes={}, p=0.7, order="sorted")
    with pytest.raises(ValueError, match="needs p"):
        fgmp_vmac({"lanes": 1}, shapes={}, all_fp8=True, order="grouped")
    assert ORDERS == D.FGMP_ORDERS


def _pp(fj, pairs=384):
    return {"status": "ok", "energy_fj": fj * pairs * 0.5, "glitch_energy_fj": fj * pairs,
            "gated_glitch_energy_fj": fj * pairs * 0.9, "info": {"block_pairs": pairs}}


def test_targets_read_the_headline_order():
    """The p = 0.7 target and the FGMP claim compare the grouped run with the FP8-only run in
    the same permutation; the natural-order saving stands beside it in the note."""
    assert D.FGMP_ORDER == "grouped"
    f8 = {"key": "fgmp/fp8_vmac/1", "status": "ok", "label": "fp8",
          "synth": {"area_um2": 100.0, "timing": {"fmax_mhz": 550.0}, "flip_flops": 1},
          "energy": {"all_fp8": _pp(100.0), "all_fp8_grouped_p0.7": _pp(80.0),
                     "all_fp8_grouped_p0.9": _pp(90.0)}}
    vm = {"key": "fgmp/vmac/1", "status": "ok", "label": "vmac",
          "synth": {"area_um2": 120.0, "timing": {"fmax_mhz": 600.0}, "flip_flops": 1},
          "energy": {"p0.7": _pp(95.0), "p0.7_grouped": _pp(60.0), "p0.9": _pp(70.0),
                     "p0.9_grouped": _pp(45.0), "mode_fp8xfp8": _pp(110.0)}}
    fg = R.fgmp_table([f8, vm])
    v = fg["lanes"]["1"]["variants"]["vmac"]
    assert v["reduction_p0.7"]["unit-delay"] == 5.0
    assert v["reduction_p0.7_grouped"]["unit-delay"] == 25.0        # 60 vs 80, same order
    assert v["vs_fp8"]["p0.7_grouped"]["unit-delay"] == 0.75
    assert v["vs_fp8"]["mode_fp8xfp8"]["unit-delay"] == 1.1          # K-order baseline
    ent = fg["lanes"]["1"]
    assert ent["reduction_p0.7"]["unit-delay"] == 25.0 and ent["order"] == "grouped"
    t = {c["id"]: c for c in ent["targets"]}
    assert t["vmac_p07_ud/1"]["ours"] == 25.0 and t["vmac_p07_ud/1"]["status"] == "reached"
    assert "natural (K) order: vmac 5.0" in t["vmac_p07_ud/1"]["note"]
    c = {c["id"]: c for c in R.claims([], fg)}
    assert c["fgmp_energy"]["ours"] == 25.0
    assert "natural (K) order at p = 0.7: 5.0 %" in c["fgmp_energy"]["note"]


@pytest.mark.slow
def test_real_workload_grouped_equals_natural():
    """The energy workload itself (real MiniLM blocks, 4 lanes): the grouped stream's golden
    outputs equal the K-order ones (fgmp_vmac checks it and raises otherwise), with far fewer
    mode changes."""
    nat = fgmp_vmac({"lanes": 4}, shapes={}, p=0.7)
    grp = fgmp_vmac({"lanes": 4}, shapes={}, p=0.7, order="grouped")
    assert grp.expected == nat.expected
    assert sorted(grp.sources["w"]) == sorted(nat.sources["w"])
    assert grp.info["mode_changes"] < nat.info["mode_changes"] / 2
    f8 = fgmp_vmac({"lanes": 4}, shapes={}, p=0.7, all_fp8=True, order="grouped")
    assert f8.expected == fgmp_vmac({"lanes": 4}, shapes={}, all_fp8=True).expected


def test_clustered_lane_groups():
    """Rows with the same FP8 block positions share a lane group; every row at most once."""
    meta = [[0, 1, 0], [1, 1, 1], [0, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 0]]
    groups = clustered_lane_groups(meta, 2)
    assert groups == [[0, 2], [3, 5], [1, 4]]
    assert len(clustered_lane_groups(meta + [[0, 0, 0]], 2)) == 3     # a 7th row is left over
    flat = [n for g in groups for n in g]
    assert len(flat) == len(set(flat))
    with pytest.raises(ValueError, match="lane_map must be one of"):
        fgmp_vmac({"lanes": 4}, shapes={}, p=0.7, order="grouped", lane_map="random")
    with pytest.raises(ValueError, match="needs p"):
        fgmp_vmac({"lanes": 4}, shapes={}, all_fp8=True, order="grouped", lane_map="clustered")
    assert LANE_MAPS == ("consecutive", "clustered")


@pytest.mark.slow                     # 10 s of real-data quantization; make test is at its budget
def test_clustered_workload_is_the_same_dot_products():
    """Clustered rows: other rows of the same layer, each output still equal to its K-order
    golden value (fgmp_vmac checks the grouped stream), fewer mode changes than consecutive."""
    con = fgmp_vmac({"lanes": 4}, shapes={}, p=0.7, order="grouped")
    clu = fgmp_vmac({"lanes": 4}, shapes={}, p=0.7, order="grouped", lane_map="clustered")
    assert clu.info["lane_map"] == "clustered" and clu.macs == con.macs
    assert clu.info["mode_changes"] < con.info["mode_changes"]
