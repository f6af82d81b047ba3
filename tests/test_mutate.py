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
