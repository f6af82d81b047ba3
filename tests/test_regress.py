"""verif.regress: configurations collected by pytest, (test, seed) tasks, verdicts with the first
failure message, written once to the database, skipped on a rerun. Runs two tiny stand-in test
files (a pass and a failure that names its seed) instead of cocotb builds."""
import json

from infra.paths import ROOT, build_dir
from verif import regress

FAKE = '''
import os

def test_passes():
    assert int(os.environ["SEED"]) > 0

def test_fails_on_seed_2():
    seed = int(os.environ["SEED"])
    assert seed != 2, f"first mismatch: item 7 expected 3 got 4 (seed {seed})"
'''


def test_seeds_syntax():
    assert regress._seeds("1-3,7") == [1, 2, 3, 7]


def test_collect_uses_pytest_selection():
    ids = regress.collect("cocotb and not slow", "e2m1_decoder and format_block")
    assert ids and all("e2m1_decoder" in i and i.startswith("tests/cocotb/") for i in ids)


def test_regression_verdicts_database_and_rerun(tmp_path):
    d = build_dir("test-regress")
    d.mkdir(parents=True, exist_ok=True)
    f = d / "test_fake_regress.py"
    f.write_text(FAKE)
    rel = f.relative_to(ROOT) if f.is_relative_to(ROOT) else f
    ids = [f"{rel}::test_passes", f"{rel}::test_fails_on_seed_2"]
    db = tmp_path / "r.sqlite"
    rows = regress.run_regression(ids, [1, 2], jobs=1, db_path=db, progress=False)
    got = {(r["nodeid"].split("::")[1], r["seed"]): r for r in rows}
    assert [got[k]["status"] for k in sorted(got)] == ["passed", "failed", "passed", "passed"], rows
    bad = got[("test_fails_on_seed_2", 2)]
    assert "first mismatch: item 7 expected 3 got 4 (seed 2)" in bad["message"]
    again = regress.run_regression(ids, [1, 2], jobs=1, db_path=db, progress=False)
    assert all(r.get("from_db") for r in again)
    assert [r["status"] for r in again] == [r["status"] for r in rows]
    import sqlite3
    n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM regress").fetchone()[0]
    assert n == 4
    json.dumps(rows)                                    # the JSON summary can hold them
