"""Evaluate a :class:`synth.designs.Design`: synthesis (cached) + its energy workloads (cached).

Status of a row: ``ok``; ``not available yet`` (block not registered); ``error`` (parameters
refused or synthesis failed: the message is kept, the report goes on). A bad liberty file or a
missing model package is not a per-design problem: :class:`synth.liberty.LibertyError` and
:class:`golden.models.ModelNotAvailable` propagate (exit code 2 in the CLIs).
"""
from __future__ import annotations

import sys
import traceback
from typing import Any

from golden.models import ModelNotAvailable
from rtl.registry import BlockError, blocks

from .designs import Design
from .energy import EnergyError, measure_energy
from .flow import FlowError, synthesize
from .liberty import LibertyError
from .stimulus import STIMULI

__all__ = ["evaluate", "NOT_AVAILABLE", "INPUT_ERRORS", "input_error"]

NOT_AVAILABLE = "not available yet"
#: Problems of the whole run, not of one design: the CLIs stop with :func:`input_error`.
INPUT_ERRORS = (LibertyError, ModelNotAvailable)


def input_error(e: Exception) -> int:
    """Print the one error line of an :data:`INPUT_ERRORS` exception; return exit code 2."""
    hint = " (or pass --synthetic for seeded random data)" if isinstance(e, ModelNotAvailable) else ""
    print(f"error: {e}{hint}", file=sys.stderr)
    return 2


def evaluate(d: Design, *, liberty=None, with_energy: bool = True,
             synthetic: bool = False) -> dict[str, Any]:
    """Synthesis and energy row of ``d``; ``synthetic``: seeded random workload data."""
    row: dict[str, Any] = d.as_json()
    if d.block not in blocks():
        row["status"] = NOT_AVAILABLE
        return row
    try:
        r = synthesize(d.block, d.params, liberty=liberty)
    except LibertyError:
        raise
    except (BlockError, FlowError) as e:
        row["status"] = "error"
        row["error"] = str(e)
        return row
    row["status"] = "ok"
    row["synth"] = r
    row["energy"] = {}
    if not with_energy:
        return row
    for name, (stim, args) in d.energy.items():
        if stim not in STIMULI:
            row["energy"][name] = {"status": f"stimulus {stim!r} {NOT_AVAILABLE}"}
            continue
        try:
            row["energy"][name] = {"status": "ok", **measure_energy(r, stim, args, liberty=liberty,
                                                                    synthetic=synthetic)}
        except INPUT_ERRORS:
            raise
        except (EnergyError, KeyError, ValueError, RuntimeError) as e:
            row["energy"][name] = {"status": "error", "error": f"{type(e).__name__}: {e}",
                                   "trace": traceback.format_exc(limit=3)}
    return row
