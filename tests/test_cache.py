"""infra.cache / infra.paths: keys follow inputs and code, writes are atomic, concurrent builders
build once, BUILD_DIR is honoured by every cache."""
from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pytest

from infra import cache
from infra.paths import ROOT, build_dir


def test_key_changes_with_inputs_and_code(tmp_path):
    code = tmp_path / "producer.py"
    code.write_text("X = 1\n")
    k = cache.cache_key({"a": 1}, [code])
    assert k == cache.cache_key({"a": 1}, [code]), "key not deterministic"
    assert k != cache.cache_key({"a": 2}, [code]), "input change kept the key"
    code.write_text("X = 2\n")
    assert k != cache.cache_key({"a": 1}, [code]), "code change kept the key"


def test_key_covers_every_file_of_a_package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "deep.py").write_text("Y = 1\n")
    k = cache.cache_key({}, [pkg])
    (pkg / "sub" / "deep.py").write_text("Y = 2\n")
    assert k != cache.cache_key({}, [pkg])


def test_dotted_names_resolve_to_repository_sources():
    assert cache.source_digest(["synth.energy"]) != cache.source_digest(["synth.flow"])
    assert cache.source_digest(["golden"]) == cache.source_digest(["golden", "golden.formats"])
    with pytest.raises(ValueError, match="no source file for 'synth.nope'"):
        cache.cache_key({}, ["synth.nope"])
    with pytest.raises(ValueError, match="neither a dotted module name"):
        cache.cache_key({}, ["synth/energy.py"])
    with pytest.raises(TypeError, match="JSON-serialisable"):
        cache.cache_key({"x": object()})


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    p = tmp_path / "d" / "f.txt"
    cache.atomic_write(p, "old")
    assert p.read_text() == "old"

    def broken(tmp: Path):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.atomic_save(p, broken)
    assert p.read_text() == "old", "a failed write changed the file"
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.txt"], "temporary file left behind"
    cache.atomic_write(p, b"new")
    assert p.read_text() == "new"
    ref = tmp_path / "plain"
    ref.write_text("x")
    assert p.stat().st_mode == ref.stat().st_mode, "cache file permissions differ from a plain file"


def _build_once(args):
    path, log = args

    def build():
        with open(log, "a") as fh:
            fh.write("built\n")
        return {"v": 1}

    return cache.cached_json(Path(path), build)


def test_concurrent_builders_build_once(tmp_path):
    path, log = tmp_path / "entry.json", tmp_path / "log"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_build_once, [(str(path), str(log))] * 8)
    assert results == [{"v": 1}] * 8
    assert log.read_text().count("built") == 1, "the entry was built more than once"


def test_build_dir_is_honoured_by_every_cache(tmp_path, monkeypatch):
    from synth import flow
    from verif import runner
    monkeypatch.delenv("BUILD_DIR", raising=False)
    assert build_dir() == ROOT / "build"
    monkeypatch.setenv("BUILD_DIR", str(tmp_path))
    assert build_dir("x", "y") == tmp_path / "x" / "y"
    assert runner.build_dir_for("vmac", {}, "verilator", False).is_relative_to(tmp_path)
    assert flow.flow_dir("vmac", "k").is_relative_to(tmp_path)
    assert flow.cache_root().is_relative_to(tmp_path)


def test_no_hand_bumped_revision_constants():
    """Cache keys hash the producing code; a *_REV constant would be a second, forgettable key."""
    found = []
    for top in ("infra", "golden", "rtl", "verif", "synth", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.match(r"\s*[A-Z_]*_REV\s*=", line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "revision constants left:\n" + "\n".join(found)
