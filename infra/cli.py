"""Bad input to a command line: one line ``error: ...`` naming the argument and the value, exit
code 2, before anything is loaded (models, torch, data, Yosys).

Every ``python -m`` CLI builds its parser with :class:`Parser` and checks values with the
``type=`` helpers below (one helper per kind of check), so argparse refuses a bad value while
parsing, before the CLI imports anything heavy. Checks that need the parsed arguments together
end with :func:`fail`.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

__all__ = ["Parser", "fail", "int_range", "fraction", "regex", "listof", "out_dir", "out_file"]


def fail(message: str) -> int:
    """Print the one error line; return exit code 2 (``return fail(...)`` in ``main``)."""
    print(f"error: {message}", file=sys.stderr)
    return 2


class Parser(argparse.ArgumentParser):
    """``argparse`` with one error line (no usage block) and exit code 2."""

    def error(self, message):
        fail(message)
        raise SystemExit(2)


def int_range(lo: int, hi: int | None = None):
    """``type=`` for an integer in ``lo..hi`` (``hi=None``: no upper bound)."""
    what = f"an integer >= {lo}" if hi is None else f"an integer in {lo}..{hi}"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return v
    parse.__name__ = what
    return parse


def fraction(text: str) -> float:
    """``type=`` for a finite number in [0, 1]."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0.0 <= v <= 1.0:                       # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return v


def regex(text: str) -> str:
    """``type=`` for a regular expression (kept as text; it compiles)."""
    try:
        re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"invalid regular expression {text!r}: {e}") from None
    return text


def listof(item=str):
    """``type=`` for a non-empty comma-separated list, each value checked by ``item``."""
    def parse(text: str) -> list:
        values = [x.strip() for x in text.split(",") if x.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"lists no value, got {text!r}")
        return [item(v) for v in values]
    parse.__name__ = f"list of {getattr(item, '__name__', 'values')}"
    return parse


def out_dir(text: str) -> Path:
    """``type=`` for an output folder: an existing folder, or one that can be created (the
    nearest existing parent is a writable folder). Nothing is created here."""
    p = Path(text)
    parent = p
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent == p and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create folder {text!r}: {str(parent)!r} is "
                                         "not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write to folder {str(parent)!r} ({text!r})")
    return p


def out_file(text: str) -> Path:
    """``type=`` for a file to write: not a folder, in a folder that exists or can be created."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    out_dir(str(p.parent))
    return p
