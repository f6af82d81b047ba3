"""Evaluating design points as tasks on Dask distributed: the one job runner of synth.report and
synth.sweep (infra.cluster: a local cluster of ``jobs`` worker processes by default, or
``--scheduler tcp://HOST:PORT``).

A point is a design (synth.designs) under one cell library (synth.libraries), with or without
its energy workloads. Its identity (:func:`point_key`) is content-addressed like every cache of
the project (infra.cache): block, resolved parameters, the liberty text, the flow id (scripts +
Yosys), the energy workloads and their data, and the source of the code that produces the
numbers (:data:`EVAL_CODE`). The key is the Dask task key and the primary key of the results
database (synth.results): a point already in the database is not run again, a retried task is
written once, and two workers computing one point compute the same numbers (the flow and energy
runs are deterministic and cached per configuration on the worker's ``$BUILD_DIR``).
"""
from __future__ import annotations

import hashlib
import platform
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

from infra.cache import cache_key, source_digest
from infra.cluster import Task, run_tasks

from . import libraries
from .designs import Design
from .evaluate import NOT_AVAILABLE, evaluate

__all__ = ["Point", "cost", "point_key", "run_points", "run_jobs", "EVAL_CODE"]

#: Code a point's numbers come from (RTL, golden models and vectors of the energy workloads,
#: the flow, netlist reader, liberty reader, energy model); reports, plots and this runner are
#: not part of it.
EVAL_CODE = ("infra.yosys", "rtl", "golden", "verif.vectors", "synth.flow", "synth.netlist",
             "synth.liberty", "synth.evaluate", "synth.energy", "synth.gatesim", "synth.stimulus")


@dataclass(frozen=True)
class Point:
    design: Design
    library: str | None = None        # synth.libraries name or liberty path; None: default
    energy: bool = True               # run the design's energy workloads


def cost(d: Design) -> float:
    """Rough synthesis cost, to start the longest jobs first (ABC is slow on the deep FP logic
    of the FGMP blocks)."""
    if d.block in ("vmac", "fp8_vmac"):
        return (600 if d.block == "vmac" else 200) * d.params.get("lanes", 4)
    if d.block == "act_quant":
        return 700
    n = d.params.get("rows", 4) * d.params.get("cols", 4)
    return n * {8: 4.0, 4: 2.0}.get(d.params.get("weight_bits"), 1.0)


_CODE: dict[str, str] = {}


def point_key(p: Point, synthetic: bool = False) -> str:
    """Task identity of a point (see the module docstring). Raises LibertyError for a bad
    library and ModelNotAvailable for real-data energy without the model package."""
    from infra.yosys import yosys_version
    from rtl.registry import BlockError, get_block

    from .flow import flow_id, load_library
    from .stimulus import data_key

    if "code" not in _CODE:
        _CODE["code"] = source_digest(EVAL_CODE)
    try:
        params = get_block(p.design.block).resolve(p.design.params)
    except BlockError:
        params = p.design.params
    lib = load_library(libraries.resolve(p.library))
    run_energy = p.energy and libraries.characterized(p.library)
    energy = {k: list(v) for k, v in p.design.energy.items()} if run_energy else {}
    return "point-" + cache_key({
        "block": p.design.block, "params": params,
        "liberty": hashlib.sha256(lib.path.read_bytes()).hexdigest(),
        "flow": flow_id(), "yosys": yosys_version(), "energy": energy,
        "data": data_key(synthetic) if energy else None, "code": _CODE["code"]}, length=24)


def _job(d: Design, library: str | None, synthetic: bool, with_energy: bool) -> dict:
    """One point, on a worker."""
    import amaranth

    from infra.yosys import yosys_version
    t0 = time.monotonic()
    row = evaluate(d, liberty=libraries.resolve(library), with_energy=with_energy,
                   synthetic=synthetic)
    row["seconds"] = round(time.monotonic() - t0, 1)
    row["host"] = socket.gethostname()
    row["library"] = libraries.name_of(library)
    row["tools"] = {"yosys": yosys_version(), "amaranth": amaranth.__version__,
                    "python": platform.python_version()}
    return row


def _storable(row: dict) -> bool:
    """Finished for good: synthesized (or refused) and no energy run that failed (a rerun
    retries those)."""
    if row["status"] not in ("ok", "error"):
        return False
    return all(e.get("status") == "ok" for e in (row.get("energy") or {}).values())


def run_points(points: list[Point], *, jobs: int = 2, scheduler: str | None = None,
               synthetic: bool = False, on_row: Callable[[dict], None] | None = None,
               use_db: bool = True, db_path=None) -> list[dict]:
    """Evaluate ``points`` (costliest first); rows in the order of ``points``. Points found in
    the results database are not run; every new finished point is written to it once.
    ``on_row`` is called in this process as each row arrives (progress output)."""
    from rtl.registry import blocks

    from . import results

    conn = results.open_db(db_path) if use_db else None
    keys = [point_key(p, synthetic) for p in points]
    rows: dict[tuple[str, str], dict] = {}

    def label(p: Point, row: dict) -> dict:
        row = dict(row)
        d = p.design.as_json()                   # this caller's key, label and family
        row.update({k: d[k] for k in ("key", "label", "family", "default", "params")})
        row["library"] = libraries.name_of(p.library)
        return row

    def emit(k: str, row: dict) -> None:
        for p, pk in zip(points, keys):
            if pk == k and (pk, p.design.key) not in rows:
                rows[(pk, p.design.key)] = r = label(p, row)
                if on_row:
                    on_row(r)

    tasks = []
    known = blocks()
    for p, k in sorted(zip(points, keys), key=lambda pk: -cost(pk[0].design)):
        if p.design.block not in known:
            emit(k, {**p.design.as_json(), "status": NOT_AVAILABLE})
            continue
        stored = results.lookup(conn, k) if conn else None
        if stored is not None:
            emit(k, {**stored, "from_db": True})
            continue
        tasks.append(Task(k, _job, (p.design, p.library, synthetic,
                                    p.energy and libraries.characterized(p.library))))

    def arrived(k: str, row: dict) -> None:
        if conn is not None and _storable(row):
            results.store(conn, k, row)
        emit(k, row)

    run_tasks(tasks, jobs=jobs, scheduler=scheduler, on_result=arrived)
    return [rows[(k, p.design.key)] for p, k in zip(points, keys)]


def run_jobs(designs: list[Design], *, jobs: int = 2, liberty=None, synthetic: bool = False,
             on_row: Callable[[dict], None] | None = None, scheduler: str | None = None,
             use_db: bool = True) -> dict[str, dict]:
    """:func:`run_points` of ``designs`` under one library (``liberty``: name or path);
    {design key: row}."""
    spec = None if liberty is None else str(liberty)
    pts = [Point(d, spec) for d in designs]
    rows = run_points(pts, jobs=jobs, scheduler=scheduler, synthetic=synthetic, on_row=on_row,
                      use_db=use_db)
    return {r["key"]: r for r in rows}
