"""The Dask engine on a real cluster: a scheduler and two worker processes on localhost (the
``dask scheduler`` / ``dask worker`` commands of the docs), a small sweep through them, one
worker killed in the middle of it. Every point must finish exactly once (one row per point in
the results database, one result per point delivered) with the same numbers as a local run in
this process."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth.designs import Design
from synth.jobs import Point, point_key, run_points
from synth.results import open_db

ROOT = Path(__file__).resolve().parents[2]

#: small designs that take a few seconds each in Yosys (synthesis only)
DESIGNS = [
    Design("t/temporal/2x2", "temporal_array", {"rows": 2, "cols": 2}, "temporal 2x2", "fineq"),
    Design("t/temporal/3x2", "temporal_array", {"rows": 3, "cols": 2}, "temporal 3x2", "fineq"),
    Design("t/int4/2x2", "binary_array", {"rows": 2, "cols": 2, "weight_bits": 4}, "int4 2x2", "fineq"),
    Design("t/int8/2x2", "binary_array", {"rows": 2, "cols": 2, "weight_bits": 8}, "int8 2x2", "fineq"),
    Design("t/decoder/330", "fineq_decoder", {"layout": "330"}, "decoder 330", "fineq-extra"),
    Design("t/e4m3_encoder", "e4m3_encoder", {}, "e4m3 encoder", "formats"),
]
#: what must be equal between workers and the local run (not wall time, host, work dir)
SAME = ("cells", "transistors", "lib_cells", "area_um2", "flip_flops", "lib_cells_by_type",
        "groups", "timing", "flow_id", "params")


def _spawn(args, env, log):
    return subprocess.Popen([sys.executable, "-m", *args], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, {worker name: Popen}); every worker builds in its own shared
    BUILD_DIR under tmp_path (cold: the flow really runs)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), BUILD_DIR=str(tmp_path / "cluster-build"))
    sched_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    procs = [_spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(sched_file)], env, log)]
    workers = {}
    try:
        deadline = time.monotonic() + 120
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), (tmp_path / "cluster.log").read_text()
        time.sleep(0.2)
        addr = json.loads(sched_file.read_text())["address"]
        for name in ("w0", "w1"):
            workers[name] = _spawn(["distributed.cli.dask_worker", addr, "--name", name,
                                    "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                    "--memory-limit", "0"], env, log)
        procs += list(workers.values())
        from distributed import Client
        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(2, timeout=180)
        yield addr, workers
    finally:
        _stop(procs)
        log.close()


def _same(r):
    return {k: r["synth"][k] for k in SAME}


def test_sweep_on_a_cluster_with_a_killed_worker(cluster, tmp_path, monkeypatch):
    addr, workers = cluster
    points = [Point(d, None, energy=False) for d in DESIGNS]
    db_path = tmp_path / "results.sqlite"
    from distributed import Client
    monitor = Client(addr, timeout="60s")
    killed = {}
    arrived = []

    def on_row(row):
        arrived.append(row["key"])
        if killed:
            return
        # kill a worker that is busy with a point right now (SIGKILL: no goodbye to the scheduler)
        info = monitor.scheduler_info()["workers"]
        busy = {a: ks for a, ks in monitor.processing().items() if ks}
        for a, ks in busy.items():
            name = info[a]["name"]
            workers[name].send_signal(signal.SIGKILL)
            workers[name].wait(timeout=30)
            killed.update(name=name, tasks=list(ks), after=len(arrived))
            return

    try:
        rows = run_points(points, scheduler=addr, on_row=on_row, db_path=db_path)
    finally:
        monitor.close()
    assert killed, "no worker was busy when the first point finished: nothing was killed"
    assert len(arrived) == len(points) and sorted(arrived) == sorted(d.key for d in DESIGNS), arrived
    assert killed["after"] < len(points), killed
    assert all(r["status"] == "ok" for r in rows), [(r["key"], r.get("error")) for r in rows]

    conn = open_db(db_path)
    keys = [k for (k,) in conn.execute("SELECT point_key FROM points")]
    assert sorted(keys) == sorted(point_key(p) for p in points)      # each point exactly once
    stored = {json.loads(r)["key"]: json.loads(r) for (r,) in conn.execute("SELECT row_json FROM points")}

    # a rerun finds every point in the database: no task, same rows
    again = run_points(points, scheduler=addr, db_path=db_path)
    assert [_same(r) for r in again] == [_same(r) for r in rows]

    # the local run (this process, its own cold build directory) gives the same numbers
    monkeypatch.setenv("BUILD_DIR", str(tmp_path / "local-build"))
    local = run_points(points, jobs=1, use_db=False)
    for lr, cr in zip(local, rows):
        assert _same(lr) == _same(cr) == _same(stored[cr["key"]]), cr["key"]
