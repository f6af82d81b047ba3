"""Where generated files go: one build directory for every layer.

``BUILD_DIR`` (environment variable) overrides the default ``<repo>/build``; it is read at each
call, so a process that sets it before its first build (a test, a CI job) is honoured everywhere.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "build_dir", "relative"]

ROOT = Path(__file__).resolve().parent.parent


def build_dir(*parts: str) -> Path:
    """``$BUILD_DIR/parts...`` (absolute: Yosys and the simulators run in other directories)."""
    base = os.environ.get("BUILD_DIR") or str(ROOT / "build")
    return Path(base).resolve().joinpath(*parts)


def relative(path: Path) -> str:
    """``path`` relative to the repository when inside it (machine-independent reports)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
