"""The one cache helper: every generated artefact (simulator builds, Yosys runs and their
post-processing, energy runs, stimulus data, real vectors, test caches) is keyed, written and
locked here.

* :func:`cache_key` hashes the inputs *and* the source text of the code that produces the
  artefact (modules or whole packages, named as imported: ``"golden"``, ``"synth.netlist"``), so
  editing that code invalidates the entry. There are no hand-bumped revision constants.
* :func:`atomic_write` / :func:`atomic_save` write a temporary file in the target's directory and
  ``os.replace`` it: readers see the old file or the whole new one, never a partial one.
* :func:`locked` serialises processes that may build the same entry (pytest-xdist workers, the
  report's job processes); :func:`cached` combines the three for a single-file entry.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from .paths import ROOT

__all__ = ["cache_key", "source_digest", "atomic_write", "atomic_save", "locked", "cached",
           "cached_json"]

T = TypeVar("T")


def _code_files(item: str | Path) -> list[Path]:
    """The .py files of a dotted module/package name (resolved under the repository, without
    importing it), or of a file/directory path."""
    if isinstance(item, Path):
        base = item
    elif isinstance(item, str) and item and all(p.isidentifier() for p in item.split(".")):
        base = ROOT.joinpath(*item.split("."))
        if not base.is_dir():
            base = base.with_suffix(".py")
    else:
        raise ValueError(f"code: {item!r} is neither a dotted module name nor a Path")
    if base.is_dir():
        files = sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    else:
        files = [base] if base.is_file() else []
    if not files:
        raise ValueError(f"code: no source file for {item!r} ({base})")
    return files


def source_digest(code: Iterable[str | Path]) -> str:
    """SHA-256 of the names and texts of every source file of ``code`` (order-independent)."""
    h = hashlib.sha256()
    for f in sorted({f.resolve() for item in code for f in _code_files(item)}):
        h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(inputs: Any, code: Iterable[str | Path] = (), length: int = 16) -> str:
    """Hex key of JSON-serialisable ``inputs`` plus the source of ``code``."""
    try:
        text = json.dumps(inputs, sort_keys=True)
    except TypeError as e:
        raise TypeError(f"cache_key: inputs must be JSON-serialisable ({e})") from None
    h = hashlib.sha256(text.encode())
    h.update(source_digest(code).encode())
    return h.hexdigest()[:length]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_save(path: Path, save: Callable[[Path], None]) -> Path:
    """Call ``save(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600; a cache is shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write text or bytes to ``path`` atomically."""
    raw = data.encode() if isinstance(data, str) else data
    return atomic_save(path, lambda tmp: tmp.write_bytes(raw))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock (``flock``) on the file ``path`` for the duration of the block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached(path: Path, build: Callable[[], T], *, load: Callable[[Path], T],
           save: Callable[[T, Path], None], use_cache: bool = True) -> T:
    """``load(path)`` if present; else ``build()`` under a lock (a second process waiting for the
    lock then finds the first one's result) and save it atomically."""
    path = Path(path)
    if use_cache and path.exists():
        return load(path)
    with locked(path.with_name(path.name + ".lock")):
        if use_cache and path.exists():
            return load(path)
        value = build()
        atomic_save(path, lambda tmp: save(value, tmp))
        return value


def _save_json(value: Any, path: Path) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


def cached_json(path: Path, build: Callable[[], Any], *, use_cache: bool = True) -> Any:
    """:func:`cached` for a JSON file."""
    return cached(path, build, load=lambda p: json.loads(p.read_text()), save=_save_json,
                  use_cache=use_cache)
