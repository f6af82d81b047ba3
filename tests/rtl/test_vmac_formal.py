"""Formal equivalence of the shared and split VMAC datapaths (verif/formal.py,
docs/verification.md): the block-product stage of one lane, per mode, for every input; and the
checker's own check: a deliberately broken shared unit must fail."""
import pytest

from verif.formal import main, prove


@pytest.mark.slow   # make formal runs it
def test_shared_equals_split_fp8xfp8_block_product():
    """FP8xFP8: D, M_sw·M_sa, s, NaN and P itself, all 2^272 inputs of the mode."""
    r = prove("shared", "fp8xfp8", output="p", timeout=1800)
    assert r["proven"], r["counterexample"]


@pytest.mark.slow   # make formal runs it
def test_broken_shared_unit_fails_the_proof():
    """One missing complement-mask bit in the mixed modes (it matters only for negative terms
    of 2^21 or more): the solver must find an input on which the two datapaths differ."""
    r = prove("shared", "fp8xfp4", mutant="mask21", timeout=1800)
    assert not r["proven"]
    assert "in_w" in r["counterexample"] or "in_a" in r["counterexample"], r["counterexample"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fp4xfp4", "fp4xfp8", "fp8xfp4"])
def test_shared_equals_split_every_mode(mode):
    r = prove("shared", mode, output="d", timeout=3600)
    assert r["proven"], r["counterexample"]


def test_cli_rejects_bad_arguments():
    assert main(["--mode", "fp16"]) == 2
