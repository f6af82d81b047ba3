"""Layering (docs/architecture.md): infra < golden < rtl < verif < synth. No module imports a
layer above its own, counting every import statement (function-local ones too) and
``importlib.import_module("...")`` with a literal name. And `rtl.generate --list` imports no
torch."""
from __future__ import annotations

import ast
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("infra", "golden", "rtl", "verif", "synth")      # lowest first
RANK = {name: i for i, name in enumerate(LAYERS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` (of module ``module``)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.append((node.lineno, name))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "import_module" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.append((node.lineno, node.args[0].value))
    return out


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports of ``module`` that reach a layer above its own, as readable lines."""
    own = RANK[module.split(".")[0]]
    bad = []
    for line, name in imported_modules(source, module, is_package):
        top = name.split(".")[0]
        if top in RANK and RANK[top] > own:
            bad.append(f"{module} (line {line}) imports {name}: layer {top} is above "
                       f"{module.split('.')[0]}")
    return bad


def _sources():
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            yield path


def test_every_layer_is_scanned():
    found = {p.relative_to(ROOT).parts[0] for p in _sources()}
    assert found == set(LAYERS), f"layer packages without sources: {set(LAYERS) - found}"


def test_no_module_imports_a_higher_layer():
    bad = []
    for path in _sources():
        bad += violations(path.read_text(), _module_name(path), path.name == "__init__.py")
    assert not bad, "layer violations:\n" + "\n".join(bad)


@pytest.mark.parametrize("source,module,expected", [
    ("from synth.area import area", "rtl.fineq.compare", "imports synth.area"),
    ("def f():\n    import verif.runner\n", "golden.fgmp.hw", "imports verif.runner"),
    ("from ...synth import flow", "verif.vectors.fgmp", "imports synth"),
    ("import importlib\nimportlib.import_module('rtl.generate')", "infra.cache",
     "imports rtl.generate"),
])
def test_checker_finds_violations(source, module, expected):
    found = violations(source, module)
    assert len(found) == 1 and expected in found[0] and module in found[0], found


def test_checker_allows_lower_layers_and_relative_imports():
    src = "from golden.formats import E2M1\nfrom infra.cache import cache_key\nfrom .common import x\n"
    assert violations(src, "rtl.fineq.array") == []
    assert imported_modules("from . import common", "rtl.fineq", is_package=True) == \
        [(1, "rtl.fineq")]


def test_generate_list_imports_no_torch():
    """`python -m rtl.generate --list` only registers blocks: no torch (seconds to import)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rtl.generate", "--list"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "vmac" in proc.stdout.split(), proc.stdout
    modules = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:")}
    heavy = sorted(m for m in modules if m.split(".")[0] in ("torch", "numpy", "transformers"))
    assert not heavy, f"rtl.generate --list imports {heavy[:5]}"
    # CPU time, not wall time: other jobs on a shared machine do not make it flaky. Importing
    # torch alone costs ~2.5 s; amaranth ~0.3 s.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 1.0, f"rtl.generate --list took {cpu:.2f} s of CPU"
