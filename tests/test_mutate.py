"""verif.mutate on e2m1_decoder (slow: one Yosys mutant netlist, one simulator run, Yosys
equivalence checks): the flow kills the mutants that change the decoder and proves the one that
cannot change it equivalent. Bad arguments: tests/test_bad_input_cli.py."""
import pytest


@pytest.mark.slow
def test_e2m1_decoder_mutants_killed_or_proven_equivalent():
    from verif.mutate import BY_NAME, run_block
    res = run_block(BY_NAME["e2m1_decoder"], 8, 1, "verilator", 20, log=lambda s: None)
    rows = {r["id"]: r for r in res["rows"]}
    assert res["mutants"] == 8
    # mutant 6 inverts FP32 bit 19 when bit 17 is set: both are always 0 for an E2M1 value
    assert rows[6]["killed_by"] is None and rows[6]["equivalence"] == "equivalent"
    assert all(r["killed_by"] == "decoder_matches_golden" for k, r in rows.items() if k != 6)
    assert res["kill_rate"] == 1.0


@pytest.mark.slow
def test_survivor_is_checked_as_simulated_after_pmuxtree():
    """fineq_decoder mutant 2 (20 mutants, seed 1) sticks the ``== 0`` compare of cluster 3's
    type field (a case select of c3_w0.sign) at false: type 0 then selects no case, whose
    output is x in RTLIL and, after pmuxtree (as simulated), the type-3 case, the same bit
    (i[25]) as type 0. The check of the simulated netlist proves it equivalent."""
    from verif.mutate import BY_NAME, list_mutations, prove_equivalent
    target = BY_NAME["fineq_decoder"]
    work, mutations, _ = list_mutations(target, 20, 1)
    m = next(x for x in mutations if x.id == 2)
    assert m.fields["mode"] == "const1" and m.fields["cell"].endswith("_CMP0")
    assert prove_equivalent(target, work, m, clocked=True)[0] == "equivalent"


def _vmac_mutation(k):
    from verif.mutate import BY_NAME, list_mutations
    target = BY_NAME["vmac"]
    work, mutations, _ = list_mutations(target, 20, 1)
    return target, work, next(x for x in mutations if x.id == k)


@pytest.mark.slow
def test_register_matched_check_proves_local_equivalence_and_nothing_killed():
    """vmac (one lane, 20 mutants, seed 1): mutant 9 sticks one bit of the accumulator-clear
    mask at 1 in a product term whose other operand is masked too, so it cannot change
    anything; mutant 2 is killed by the simulation. The register-matched check proves the
    first and leaves accumulator registers of the second unproven."""
    from verif.mutate import matched_unproven
    target, work, m9 = _vmac_mutation(9)
    ework = work / "equiv" / "test-m9"
    ework.mkdir(parents=True, exist_ok=True)
    (ework / "flat.il").write_text((work / "flat.il").read_text())
    assert matched_unproven(target, ework, m9) == []
    _, _, m2 = _vmac_mutation(2)
    unproven = matched_unproven(target, ework, m2)
    assert unproven and all("scale_acc.acc_" in n for n in unproven), unproven


def test_context_rule_needs_its_test_and_the_one_unit():
    """A CONTEXT_RULES rule applies only to a mutated cell of the unit's logic (not its
    register), only when every unproven register belongs to that same unit, and only when the
    exhaustive test ran."""
    from verif.mutate import CONTEXT_RULES, Mutation
    (rule,) = [r for r in CONTEXT_RULES if r.block == "act_quant"]
    cell = "$flatten\\block_score.\\square_4.$and$act_quant.v:7975$2239"
    m = Mutation(2, "", {"cell": cell})
    sq4, sq5 = "\\block_score.square_4.sq_gold", "\\block_score.square_5.sq_gold"
    tests = ["aq_threshold_exact", rule.test]
    assert rule.applies(m, [sq4], tests)
    assert not rule.applies(m, [sq4], ["aq_threshold_exact"])       # the test did not run
    assert not rule.applies(m, [sq5], tests)                        # another unit's register
    assert not rule.applies(m, [sq4, "\\block_score.cs0_d2_gold"], tests)   # reaches further
    assert not rule.applies(m, ["?"], tests)                        # the check failed
    assert not rule.applies(m, [], tests)
    reg = Mutation(3, "", {"cell": "$flatten\\block_score.\\square_4.$procdff$3552"})
    assert not rule.applies(reg, [sq4], tests)                      # the register itself
    nested = Mutation(13, "", {"cell": "$flatten\\block_score.\\square_9.\\sq_add.\\blk_2."
                                       "$reduce_and$act_quant.v:4039$1145"})
    assert rule.applies(nested, ["\\block_score.square_9.sq_gold"], tests)
