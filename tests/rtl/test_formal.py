"""Formal proofs against the independent references of verif/formal_ref/ and the stream rules
(verif/formal.py, docs/verification.md "Formal proofs"). The cheap proofs run in make test; the
long ones (seconds to minutes each) are marked slow and all run in ``make formal``."""
import pytest

from amaranth.lib import wiring

from rtl.registry import blocks
from verif.formal import (STREAM_CONFIGS, act_quant_decision_proof, act_quant_fp4_proof,
                          act_quant_fp8_proof, decoder_proof, encoder_proof, f32_round_proof,
                          main, properties, scale_inputs_proof, stream_proof)


@pytest.mark.parametrize("fmt", ["e4m3", "e2m1"])
def test_decoder_equals_reference(fmt):
    r = decoder_proof(fmt)
    assert r["proven"], r["counterexample"]


def test_e2m1_encoder_equals_reference():
    """Every FP32 input x every value of the 8-bit scale port."""
    r = encoder_proof("e2m1")
    assert r["proven"], r["counterexample"]


def test_broken_encoder_fails_the_proof():
    """The sticky bit without the significand's LSB: wrong only one FP32 ulp above a midpoint;
    the solver must find such an input (the same check on E4M3 is in make formal)."""
    r = encoder_proof("e2m1", mutant="sticky_lsb")
    assert not r["proven"] and not r["timed_out"]
    assert "in_i" in r["counterexample"], r["counterexample"]


def test_vmac_scale_inputs_stay_in_range():
    """The block sums fit the bounds the block-scale step is sized for (what makes vmac
    mutant 10 of ``make mutate`` equivalent), and one bit less is refuted."""
    r = scale_inputs_proof()
    assert r["proven"], r["counterexample"]
    r = scale_inputs_proof(tighter=1)
    assert not r["proven"] and not r["timed_out"] and not r["error"], r["counterexample"]


@pytest.mark.slow
def test_act_quant_decision_equals_reference():
    """Cheap SAT problem (7,500 variables), but converting BlockScore (16 squarers) to RTLIL
    takes a while: slow."""
    r = act_quant_decision_proof()
    assert r["proven"], r["counterexample"]


def test_fineq_decoder_stream_rules():
    (cfg,) = [c for c in STREAM_CONFIGS if c.block == "fineq_decoder"]
    r = stream_proof(cfg)
    assert r["proven"], r["counterexample"]
    cover = stream_proof(cfg, cover=True)
    assert cover["proven"], "the stream harness is vacuous: no input set drained within depth"


def test_stream_check_catches_an_early_drain_claim():
    """Checking the checker: claiming that fineq_decoder (latency 1) has delivered every result
    0 cycles after its last input must be refuted."""
    from verif.formal import StreamConfig
    r = stream_proof(StreamConfig("fineq_decoder", {}, counts="i", depth=5, drain=0,
                                  label="drain0"))
    assert not r["proven"] and not r["error"] and not r["timed_out"], r["counterexample"]


def test_every_streaming_block_has_a_stream_proof():
    """A block registered with a stream port is in STREAM_CONFIGS (so make formal checks it)."""
    streaming = set()
    for name, spec in blocks().items():
        comp = spec.build()
        members = comp.signature.members
        if any(isinstance(m.signature, wiring.Signature) and "valid" in m.signature.members
               for _, m in members.items() if m.is_signature):
            streaming.add(name)
    assert streaming, "no streaming block found"
    assert streaming <= {c.block for c in STREAM_CONFIGS}, streaming


def test_property_names_are_unique_and_mutants_expect_refutation():
    props = properties()
    assert len({p.name for p in props}) == len(props)
    assert {p.name for p in props if not p.expect} == {"mutant.e4m3_encoder.sticky_lsb",
                                                       "mutant.vmac.mask21"}


def test_cli_rejects_bad_arguments(capsys):
    assert main(["-k", "("]) == 2
    assert main(["--mutant", "nosuch"]) == 2
    assert main(["--list"]) == 0
    assert "ref.e4m3_encoder" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("scale_width", [8, 0])
def test_e4m3_encoder_equals_reference(scale_width):
    r = encoder_proof("e4m3", scale_width=scale_width)
    assert r["proven"], r["counterexample"]


@pytest.mark.slow
def test_broken_e4m3_encoder_fails_the_proof():
    r = encoder_proof("e4m3", mutant="sticky_lsb")
    assert not r["proven"] and not r["timed_out"]


@pytest.mark.slow
def test_act_quant_candidates_equal_reference():
    for proof in (act_quant_fp8_proof, act_quant_fp4_proof):
        r = proof()
        assert r["proven"], r["counterexample"]


@pytest.mark.slow
def test_vmac_fp32_round_equals_reference():
    r = f32_round_proof()
    assert r["proven"], r["counterexample"]


@pytest.mark.slow
@pytest.mark.parametrize("cfg", [c for c in STREAM_CONFIGS if c.block != "fineq_decoder"],
                         ids=lambda c: c.tag)
def test_stream_rules(cfg):
    r = stream_proof(cfg)
    assert r["proven"], r["counterexample"]
    assert stream_proof(cfg, cover=True)["proven"], "vacuous: nothing drained within the depth"
