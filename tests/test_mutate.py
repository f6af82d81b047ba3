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
