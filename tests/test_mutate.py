"""verif.mutate: bad arguments, and (slow) a real mutation run on e2m1_decoder: the flow kills
mutants that change the decoder and proves the one that cannot change it equivalent."""
import subprocess
import sys

import pytest

from infra.paths import ROOT


@pytest.mark.parametrize("args,word", [(["--mutants", "0"], "--mutants"),
                                       (["--blocks", "nosuch"], "nosuch"),
                                       (["--target", "2"], "--target")])
def test_bad_arguments_exit_2(args, word):
    r = subprocess.run([sys.executable, "-m", "verif.mutate", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and word in r.stderr


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
