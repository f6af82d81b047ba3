"""Registry of generatable blocks: name -> component factory with typed, defaulted parameters.

A block is registered with ``@block("name")`` on a ``wiring.Component`` subclass (or a factory
function) whose parameters are keyword-only with defaults. The defaults' types (int, bool, str)
type the ``--param NAME=VALUE`` command-line values; the component's ``__init__`` validates
values and raises ``ValueError`` for impossible ones.
"""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["BlockSpec", "block", "blocks", "get_block", "BlockError"]

# Modules that register blocks; imported lazily so `import rtl.registry` stays cheap.
_BLOCK_MODULES = [
    "rtl.formats",
    "rtl.fineq",
    "rtl.fgmp",
]

_REGISTRY: dict[str, "BlockSpec"] = {}


class BlockError(ValueError):
    """Unknown block, unknown parameter or bad parameter value (CLI exit code 2)."""


@dataclass(frozen=True)
class BlockSpec:
    name: str
    factory: Callable[..., Any]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with ``overrides`` (already typed), unknown names refused."""
        params = dict(self.defaults)
        for name, value in (overrides or {}).items():
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise BlockError(f"block '{self.name}' has no parameter '{name}' (known: {known})")
            want = type(params[name])
            if want is int and isinstance(value, bool) or not isinstance(value, want):
                raise BlockError(f"parameter {name}={value!r} of block '{self.name}' "
                                 f"must be {want.__name__}")
            params[name] = value
        return params

    def parse(self, assignments: list[str]) -> dict[str, Any]:
        """Parse ``NAME=VALUE`` strings into typed overrides."""
        out: dict[str, Any] = {}
        for text in assignments:
            if "=" not in text:
                raise BlockError(f"--param expects NAME=VALUE, got '{text}'")
            name, raw = text.split("=", 1)
            name = name.strip()
            if name not in self.defaults:
                known = ", ".join(sorted(self.defaults)) or "none"
                raise BlockError(f"block '{self.name}' has no parameter '{name}' (known: {known})")
            out[name] = _parse_value(self.name, name, raw.strip(), type(self.defaults[name]))
        return out

    def build(self, params: dict[str, Any] | None = None):
        """Instantiate the component; ``ValueError`` from the component becomes ``BlockError``."""
        resolved = self.resolve(params)
        try:
            return self.factory(**resolved)
        except BlockError:
            raise
        except (ValueError, TypeError) as e:
            raise BlockError(f"block '{self.name}': {e}") from e


def _parse_value(block_name: str, name: str, raw: str, typ: type) -> Any:
    try:
        if typ is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(raw, 0)
        if typ is float:
            return float(raw)
        if typ is str:
            return raw
    except ValueError:
        pass
    raise BlockError(f"parameter {name}={raw!r} of block '{block_name}' is not a valid {typ.__name__}")


def block(name: str, *, description: str | None = None):
    """Class/function decorator registering a block under ``name``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"block name {name!r} must be a lower-case Verilog identifier")

    def deco(factory):
        sig = inspect.signature(factory)
        defaults = {}
        for p in sig.parameters.values():
            if p.name == "self":
                continue
            if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
                raise TypeError(f"block {name}: parameter '{p.name}' must be keyword-only with a default")
            if not isinstance(p.default, (bool, int, float, str)):
                raise TypeError(f"block {name}: parameter '{p.name}' default must be bool/int/float/str")
            defaults[p.name] = p.default
        doc = description or (inspect.getdoc(factory) or "").split("\n", 1)[0]
        if name in _REGISTRY:
            raise ValueError(f"block {name!r} registered twice")
        _REGISTRY[name] = BlockSpec(name=name, factory=factory, description=doc, defaults=defaults)
        return factory

    return deco


def _load() -> None:
    for mod in _BLOCK_MODULES:
        importlib.import_module(mod)


def blocks() -> dict[str, BlockSpec]:
    _load()
    return dict(sorted(_REGISTRY.items()))


def get_block(name: str) -> BlockSpec:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise BlockError(f"unknown block '{name}' (known: {', '.join(sorted(_REGISTRY))})") from None
