"""Cocotb regressions over seeds as tasks on Dask distributed (infra.cluster): the same
configurations pytest runs (tests/cocotb/*), each (test, seed) one task.

    python -m verif.regress [-m "cocotb and not slow"] [-k EXPR] [--seeds 1-4]
                            [--jobs 2] [--scheduler tcp://HOST:PORT] [--force]
                            [--list] [--json PATH] [--db PATH]

The configurations are collected by pytest itself (``pytest --collect-only`` with the marker
expression and ``-k``), so a configuration added to a test file is regressed with no change
here. A task runs ``pytest NODEID`` in a subprocess with ``SEED=<seed>`` (verif.runner gives
each seed its own run directory), on a local cluster of ``--jobs`` worker processes or on the
cluster of ``--scheduler``. Its verdict (passed / failed / error / skipped, and for a failure
the first failing cocotb test with the head of its message: verif.results) goes into the
``regress`` table of the results database (``$BUILD_DIR/results.sqlite``), once per task key
(test id, seed, simulator-independent: the id names it; + the code of rtl, golden, verif and the
test files), and into a JSON summary (``$BUILD_DIR/verif/regress.json``). A rerun skips tasks
already in the database (``--force`` runs them again). Exit code 1 when any task failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from infra import db
from infra.cache import cache_key
from infra.cli import Parser, fail, int_range, listof, out_file
from infra.cluster import Task, run_tasks, scheduler_default
from infra.paths import ROOT, build_dir

from .results import failure_report, read_results

__all__ = ["collect", "run_regression", "main", "COLUMNS"]

COLUMNS = {"task_key": "TEXT", "nodeid": "TEXT", "seed": "INTEGER", "status": "TEXT",
           "message": "TEXT", "seconds": "REAL", "host": "TEXT", "finished": "TEXT"}
TEST_DIR = "tests/cocotb"
#: code a verdict depends on (besides the test file and the shared conftest)
CODE = ("rtl", "golden", "verif")
TIMEOUT = 3 * 3600


def collect(marker: str = "cocotb and not slow", keyword: str | None = None,
            paths: tuple[str, ...] = (TEST_DIR,)) -> list[str]:
    """Node ids of the tests pytest would run."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
           "-m", marker, *paths] + (["-k", keyword] if keyword else [])
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode not in (0, 5):        # 5: nothing collected
        raise RuntimeError(f"pytest --collect-only failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return [line.strip() for line in out.stdout.splitlines() if "::" in line]


def _key(nodeid: str, seed: int) -> str:
    test_file = ROOT / nodeid.split("::")[0]
    code = [*CODE, test_file, ROOT / "tests" / "conftest.py"]
    return "regress-" + cache_key({"nodeid": nodeid, "seed": seed}, code, length=24)


def _run(nodeid: str, seed: int, key: str) -> dict:
    """One test at one seed, in a pytest subprocess (on a worker)."""
    t0 = time.monotonic()
    junit = build_dir("verif", "regress", f"{key}.xml")
    junit.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SEED=str(seed), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", nodeid]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    status, message = "error", (out.stdout + out.stderr)[-1500:]
    if junit.exists():
        cases = read_results(junit)
        if cases:
            status = "skipped" if all(c.status == "skipped" for c in cases) else (
                "passed" if failure_report(cases) is None else "failed")
            message = "" if status == "passed" else (
                failure_report(cases) if status == "failed" else cases[0].message)
    return {"task_key": key, "nodeid": nodeid, "seed": seed, "status": status, "message": message,
            "seconds": round(time.monotonic() - t0, 1), "host": socket.gethostname(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}


def run_regression(nodeids: list[str], seeds: list[int], *, jobs: int = 2,
                   scheduler: str | None = None, force: bool = False, db_path: Path | None = None,
                   progress: bool = True) -> list[dict]:
    """Every (test, seed); verdicts in that order (from the database where already known)."""
    from tqdm import tqdm

    conn = db.connect(db_path)
    db.ensure_table(conn, "regress", COLUMNS, ["task_key"])
    pairs = [(n, s, _key(n, s)) for n in nodeids for s in seeds]
    done: dict[str, dict] = {}
    if not force:
        for n, s, k in pairs:
            r = db.rows(conn, "SELECT * FROM regress WHERE task_key = ?", [k])
            if r:
                done[k] = {**r[0], "from_db": True}
    bar = tqdm(total=len(pairs), initial=len(done), desc="regress", unit="run", disable=not progress)

    def arrived(k: str, row: dict) -> None:
        done[k] = row
        with conn:
            if force:
                conn.execute("DELETE FROM regress WHERE task_key = ?", [k])
            db.insert_once(conn, "regress", row)
        bar.set_postfix_str(f"{row['status']} {row['nodeid'].split('::')[-1]} seed {row['seed']}")
        bar.update()

    tasks = [Task(k, _run, (n, s, k)) for n, s, k in pairs if k not in done]
    try:
        run_tasks(tasks, jobs=jobs, scheduler=scheduler, on_result=arrived, retries=0)
    finally:
        bar.close()
    return [done[k] for _, _, k in pairs]


def _seeds(text: str) -> list[int]:
    """``type=`` of --seeds: comma-separated seeds >= 0 and ranges ``A-B`` (A <= B)."""
    out = []
    for part in listof()(text):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise argparse.ArgumentTypeError(f"{part!r} in {text!r} is not a seed >= 0 or a "
                                             "range A-B with A <= B")
        out += list(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    return out


def main(argv=None) -> int:
    ap = Parser(prog="python -m verif.regress", description=__doc__.split("\n")[0])
    ap.add_argument("-m", dest="marker", default="cocotb and not slow", help="pytest marker expression")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    ap.add_argument("--seeds", type=_seeds, default=[1], help="e.g. 1-4 or 3,7 (default 1)")
    ap.add_argument("--jobs", type=int_range(1), default=os.environ.get("JOBS", "2"),
                    help="worker processes of the local cluster (1: no cluster, in this process)")
    ap.add_argument("--scheduler", default=scheduler_default(),
                    help="tcp://HOST:PORT of a running Dask scheduler (default: a local cluster)")
    ap.add_argument("--force", action="store_true", help="rerun tasks already in the database")
    ap.add_argument("--list", action="store_true", help="print the (test, seed) tasks and exit")
    ap.add_argument("--json", type=out_file, help="summary file (default $BUILD_DIR/verif/regress.json)")
    ap.add_argument("--db", type=out_file, help="default $BUILD_DIR/results.sqlite")
    ap.add_argument("paths", nargs="*", default=[TEST_DIR])
    args = ap.parse_args(argv)
    try:
        nodeids = collect(args.marker, args.keyword, tuple(args.paths))
    except RuntimeError as e:
        return fail(str(e))
    if args.list:
        for n in nodeids:
            for s in args.seeds:
                print(f"{n} seed={s}")
        return 0
    if not nodeids:
        return fail("no test selected")
    t0 = time.monotonic()
    print(f"verif.regress: {len(nodeids)} tests x {len(args.seeds)} seeds "
          f"({args.scheduler or f'local cluster, {args.jobs} workers'})", flush=True)
    rows = run_regression(nodeids, args.seeds, jobs=args.jobs, scheduler=args.scheduler,
                          force=args.force, db_path=args.db)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("passed", "failed", "error", "skipped")}
    summary = {"tests": len(nodeids), "seeds": args.seeds, "counts": counts,
               "wall_seconds": round(time.monotonic() - t0, 1), "runs": rows}
    path = args.json or build_dir("verif", "regress.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1) + "\n")
    for r in rows:
        if r["status"] in ("failed", "error"):
            print(f"{r['status'].upper()} {r['nodeid']} seed {r['seed']}:\n  {r['message']}")
    print(f"{counts['passed']} passed, {counts['failed'] + counts['error']} failed"
          + (f", {counts['skipped']} skipped" if counts["skipped"] else "")
          + f" ({len([r for r in rows if r.get('from_db')])} from the database; {summary['wall_seconds']} s; {path})")
    return 1 if counts["failed"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
