"""Task engine on Dask distributed: the one way the project spreads work over processes and
hosts (synth.jobs for synthesis / energy points, verif.regress for cocotb regressions).

    results = run_tasks([Task(key, fn, args), ...], jobs=2, scheduler=None, on_result=cb)

* ``scheduler=None`` and ``jobs > 1``: a local cluster of ``jobs`` worker processes (one thread
  each) on this machine, closed afterwards. ``jobs <= 1``: the tasks run one after the other in
  this process (no cluster; tracebacks as usual).
* ``scheduler="tcp://HOST:PORT"``: the tasks go to an existing cluster (``dask scheduler`` and
  ``dask worker`` started by hand or by dask-jobqueue; docs/synth.md). Every worker must run
  the same checkout of the project (``PYTHONPATH``), since a task names its function by import
  path.
* A task's ``key`` is its identity: content-addressed by the caller (inputs + producing code,
  infra.cache), used as the Dask key. Equal keys are one task; a task whose worker dies is
  rescheduled on another worker by the scheduler (up to ``distributed.scheduler.allowed-failures``
  times); a task that raises is retried ``retries`` times. ``on_result(key, value)`` runs here,
  in the submitting process, exactly once per key, as results arrive.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

__all__ = ["Task", "run_tasks", "client", "scheduler_default"]


@dataclass(frozen=True)
class Task:
    key: str
    fn: Callable[..., Any]
    args: tuple = field(default_factory=tuple)


def scheduler_default() -> str | None:
    """``$DASK_SCHEDULER_ADDRESS`` (Dask's own variable) or None (local cluster)."""
    return os.environ.get("DASK_SCHEDULER_ADDRESS") or None


@contextlib.contextmanager
def client(jobs: int = 2, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler``, or to a local cluster of ``jobs``
    single-threaded worker processes started here (and stopped on exit)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as c:
            yield c
        return
    # no memory limit: a worker is never killed for size (large energy runs), as with the
    # former process pool; the dashboard on a free port (no clash between concurrent sweeps)
    with LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                      memory_limit=0, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


def run_tasks(tasks: Sequence[Task], *, jobs: int = 2, scheduler: str | None = None,
              on_result: Callable[[str, Any], None] | None = None,
              retries: int = 1) -> dict[str, Any]:
    """Run ``tasks`` (first submitted first); return {key: result}. See the module docstring."""
    unique: dict[str, Task] = {}
    for t in tasks:
        unique.setdefault(t.key, t)
    results: dict[str, Any] = {}

    def done(key: str, value: Any) -> None:
        if key in results:                      # never twice, whatever the scheduler did
            return
        results[key] = value
        if on_result:
            on_result(key, value)

    if not unique:
        return results
    if scheduler is None and jobs <= 1:
        for t in unique.values():
            done(t.key, t.fn(*t.args))
        return results
    from distributed import as_completed

    with client(jobs, scheduler) as c:
        futures = {}
        for i, t in enumerate(unique.values()):
            # priority keeps the caller's order (costliest first) among ready tasks
            f = c.submit(t.fn, *t.args, key=t.key, pure=False, retries=retries,
                         priority=len(unique) - i)
            futures[f] = t.key
        try:
            for f in as_completed(futures):
                done(futures[f], f.result())
        finally:
            for f in futures:
                f.release()
    return results
