"""Cell libraries by name: ``--library mpaccel45`` (default) or ``--library sky130hd``; any other
text is a liberty file path (``--liberty PATH``).

| name | liberty | areas | timing, capacitances (energy) |
|---|---|---|---|
| ``mpaccel45`` | synth/lib/mpaccel45.lib (synth.liberty) | NanGate45 X1 | approximate NanGate45 model |
| ``sky130hd`` | generated from the ``sky130`` package (synth.sky130) | LEF SIZE | placeholders |

A library spec is resolved where the synthesis runs (a worker resolves ``sky130hd`` on its own
host), so tasks carry the name, not a path.
"""
from __future__ import annotations

from pathlib import Path

from .liberty import DEFAULT_LIBERTY, LIB_NAME as DEFAULT

__all__ = ["DEFAULT", "NAMES", "resolve", "name_of", "characterized"]

NAMES = (DEFAULT, "sky130hd")


def resolve(spec: str | Path | None) -> Path:
    """Liberty file of a library name or path (None: the default library). Raises
    synth.liberty.LibertyError when sky130hd is asked for without the sky130 package."""
    if spec is None or str(spec) == DEFAULT:
        return DEFAULT_LIBERTY
    if str(spec) == "sky130hd":
        from . import sky130
        return sky130.liberty_path()
    return Path(spec)


def name_of(spec: str | Path | None) -> str:
    """The name a library is reported under: its registry name, else the file's stem."""
    if spec is None:
        return DEFAULT
    return str(spec) if str(spec) in NAMES else Path(spec).stem


def characterized(spec: str | Path | None) -> bool:
    """Whether timing and energy under this library mean something: not for sky130hd, whose
    capacitances and delays are placeholders (synth.sky130); a user's liberty is trusted."""
    return name_of(spec) != "sky130hd"
