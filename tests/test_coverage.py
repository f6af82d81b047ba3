"""verif.coverage: a bin space fails when a bin stays empty and names it; the stimulus of the
sweeps and probes does what it claims."""
import pytest

from verif.coverage import Coverage


def test_complete_coverage_passes_and_counts():
    cov = Coverage("pairs", (2, 3))
    for a in range(2):
        for b in range(3):
            cov.hit(a, b)
    cov.hit(1, 2)
    assert cov.finish() == "pairs: 6 of 6 bins covered (7 hits)"


def test_an_empty_bin_fails_naming_it():
    cov = Coverage("pairs", (2, 3), lambda t: f"a={t[0]} b={t[1]}")
    for a, b in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)]:
        cov.hit(a, b)
    with pytest.raises(AssertionError, match=r"5 of 6 bins covered .* 1 empty, first: a=1 b=1"):
        cov.finish()


def test_out_of_range_and_wrong_arity_are_refused():
    cov = Coverage("c", (4,))
    with pytest.raises(ValueError, match="outside 0..3"):
        cov.hit(4)
    with pytest.raises(ValueError, match="2 coordinates for 1 dimensions"):
        cov.hit(1, 2)
    with pytest.raises(ValueError, match="at least one bin"):
        Coverage("e", (0,))


def test_fp4xfp4_sweep_fills_every_pair_position_bin():
    """The stimulus side of vmac_every_code_pair, without a simulator: the FP4xFP4 sweep's
    block pairs, read back from their payloads, show every (w, a, position) bin."""
    import verif.vectors.fgmp as V
    st = V.exhaustive_stream(4, "fp4xfp4")
    a, w, last = V.accepted_blocks(st.a_words(), st.w_words(), 4)
    assert all(last)
    prods = V.block_products_of(a, w)
    cov = Coverage("fp4xfp4", (16, 16, 16))
    for t in range(len(a)):
        for lane in range(4):
            for b in V.pair_bins(w[t][lane], a[t], prods[t][lane]):
                cov.hit(*b)
    cov.finish()


def test_pair_bins_credits_only_pairs_the_result_shows():
    import verif.vectors.fgmp as V
    one = (1, [0x38] * 16, 0)                       # FP8 1.0 everywhere
    a = (1, [0x38] * 16, 0)
    assert len(V.pair_bins(one, a, 16 << 20)) == 16  # exact: all 16 pairs
    assert V.pair_bins(one, a, (1 << 30) + 1) == []  # 31-bit odd part: rounded, nothing
    nan1 = (1, [0x7F] + [0x38] * 15, 0)
    assert V.pair_bins(nan1, a, None) == [(0x7F, 0x38, 0)]   # the only NaN: its pair
    nan2 = (1, [0x7F, 0xFF] + [0x38] * 14, 0)
    assert V.pair_bins(nan2, a, None) == []                  # two NaNs mask each other
    assert V.pair_bins((0, [1] * 16, 0x7F), (0, [1] * 16, 0x38), None) == []   # NaN scale


@pytest.mark.parametrize("fp8_only", [False, True])
def test_history_probes_are_exact_zero_or_smallest_product(fp8_only):
    """verif.vectors.fgmp.history_stream: every "zero" probe's golden result is +0 and every
    "tiny" probe's is non-zero, in every mode, so a stale accumulator bit changes the result."""
    import random

    import verif.vectors.fgmp as V
    st = V.history_stream(random.Random(7), 2, fp8_only)
    kinds = {}
    for (s, e), res in zip(st.segments(), st.expected()):
        kind = st.kind[e]
        if "probe" not in kind:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        if "zero" in kind:
            assert res == [0, 0], f"{kind}: {res}"
        else:
            assert all(v & 0x7FFFFFFF for v in res), f"{kind}: {res}"
    modes = ["fp8xfp8"] if fp8_only else list(V.MODES)
    assert sorted(kinds) == sorted(f"history probe {k} {m}" for k in ("zero", "tiny")
                                   for m in modes)
    assert set(kinds.values()) == {24}
