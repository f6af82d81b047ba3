"""cocotb driver of the mutation flow (verif/mutate.py): every test of a block's testbench
against every mutant, in one simulator run.

The DUT is verif.mutate's netlist: the block's ports plus ``mutsel`` (0 = the original, k =
mutant k). For each mutant (in the order of VERIF_MUTANTS) and each test of the testbench
VERIF_MUTATE_TB that applies to the block (in the testbench's order), one cocotb test sets
``mutsel`` and runs the original test function with the random seed that test has in a normal
run (so every mutant sees the same stimulus as the original). The first failing test kills the
mutant (a failure raised by the test or by a task it started, e.g. a stream monitor): its
remaining tests are skipped. Each verdict is appended to VERIF_MUTATE_PROGRESS (one JSON object
per line: mutant, test, status, message), which verif.mutate reads; a simulator that
dies mid-run loses nothing already recorded.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import random

import cocotb
import pytest
from cocotb._decorators import Test, TestGenerator

TB = importlib.import_module(os.environ["VERIF_MUTATE_TB"])
MUTANTS = [int(x) for x in os.environ["VERIF_MUTANTS"].split(",") if x.strip()]
PROGRESS = os.environ["VERIF_MUTATE_PROGRESS"]
KILLED: set[int] = set()


def _seed_of(fullname: str) -> int:
    return int(hashlib.sha1(fullname.encode()).hexdigest(), 16)


def _record(**entry) -> None:
    with open(PROGRESS, "a") as fh:
        fh.write(json.dumps(entry) + "\n")


def _failed_task_error() -> BaseException | None:
    """The error of the task that ended the running test (cocotb keeps it in its test manager),
    or None."""
    from cocotb import _test_manager
    excs = getattr(getattr(_test_manager, "_current_test", None), "_excs", None) or []
    return excs[0] if excs else None


def _tests() -> list[Test]:
    out = []
    for obj in vars(TB).values():
        if isinstance(obj, TestGenerator):
            out += [t for t in obj.generate_tests() if not t.skip]
    return out


def _wrapper(k: int, test: Test, name: str):
    async def run(dut):
        if k in KILLED:
            pytest.skip(f"mutant {k} already killed")
        # the seed the original test gets in a normal run of the same regression seed
        base = cocotb.RANDOM_SEED - _seed_of(f"{__name__}.{name}")
        cocotb.RANDOM_SEED = base + _seed_of(test.fullname)
        random.seed(cocotb.RANDOM_SEED)
        dut.mutsel.value = k
        try:
            await test.func(dut, *test.args, **test.kwargs)
        except BaseException as e:
            # BaseException too: a failing task the test started (a stream monitor) makes
            # cocotb cancel the test coroutine, which then sees a cancellation, not the error
            KILLED.add(k)
            cause = e if isinstance(e, Exception) else _failed_task_error() or e
            text = " ".join(f"{type(cause).__name__}: {cause}".split())
            _record(mutant=k, test=test.name, status="failed", message=text[:300])
            raise
        _record(mutant=k, test=test.name, status="passed", message="")
    return run


def _register() -> None:
    # in a function: cocotb collects every Test among the module's globals, so a loop variable
    # holding the testbench's last Test would run once more, without mutsel set
    for k in MUTANTS:
        for t in _tests():
            name = f"m{k}__{t.name}"
            globals()[name] = Test(func=_wrapper(k, t, name), args=(), kwargs={}, name=name,
                                   module=__name__, doc=None, timeout=None, expect_fail=False,
                                   expect_error=(), skip=False, stage=0)


_register()
