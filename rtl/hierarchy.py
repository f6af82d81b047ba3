"""Hierarchical Verilog/RTLIL: one module per distinct unit, instantiated where it is used.

A *unit* is a ``wiring.Component`` that an engineer would name (a PE, a lane, a dot-product
unit). A parent adds it with :func:`add_unit` instead of ``m.submodules[name] = unit``:

* under the Amaranth simulator (any ``platform`` but :class:`UnitPlatform`) the unit is an
  ordinary submodule, so simulation sees one flat design;
* under :func:`convert` the unit is converted on its own, as a top-level design whose ports are
  exactly its signature, and the parent gets an ``Instance`` of that module. Units whose RTLIL
  is identical share one module, so a 16x16 array has one PE module per distinct PE
  configuration, instantiated 256 times.

Why not Amaranth's own submodule hierarchy: its RTLIL backend optimises across module boundaries
(constants and unused bits are pushed into submodules, port lists differ per instance), so every
instance becomes a module of its own and no module keeps the unit's interface.

A unit may define ``unit_key``, a hashable summary of its configuration: units of the same
class with equal keys are taken to have identical modules, and only the first is converted.

Module names are ``<top>__<unit_name>``: ``unit_name`` is the unit's ``unit_name`` attribute
(default: its class name in snake case); two different modules with the same name get ``_2``,
``_3``... in order of first use. The top name prefix keeps the modules of two blocks apart when
their Verilog files are read together.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from amaranth import ClockSignal, Instance, ResetSignal
from amaranth.back import rtlil
from amaranth.hdl import ValueCastable
from amaranth.lib import wiring

__all__ = ["add_unit", "UnitPlatform", "HierarchicalDesign", "convert", "unit_name"]

_PLACEHOLDER = "__mpaccel_unit__"
_PORT_RE = re.compile(r"^\s*wire width \d+ (input|output|inout) \d+\s+(?:signed\s+)?\\(\S+)\s*$", re.M)


def unit_name(unit) -> str:
    """The module name a unit asks for (before the top prefix and de-duplication)."""
    name = getattr(unit, "unit_name", None)
    if name is None:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(unit).__name__).lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"unit name {name!r} of {type(unit).__name__} is not a plain "
                         "lower-case Verilog identifier")
    return name


@dataclass
class _Module:
    name: str
    text: str                      # RTLIL of the module (and of its non-unit submodules)
    ports: list[str]               # port names in the RTLIL
    instances: int = 0


@dataclass
class HierarchicalDesign:
    """The modules of one converted design, in order of first use; ``top`` last."""
    top: str
    modules: dict[str, _Module] = field(default_factory=dict)
    by_digest: dict[str, str] = field(default_factory=dict)
    by_key: dict[tuple, str] = field(default_factory=dict)
    top_text: str = ""

    def rtlil(self) -> str:
        return "\n".join([m.text for m in self.modules.values()] + [self.top_text])

    def instance_counts(self) -> dict[str, int]:
        """Module name -> number of instances in the whole design (nested ones multiplied)."""
        return {name: mod.instances for name, mod in self.modules.items()}


class UnitPlatform:
    """The ``platform`` handed to ``elaborate`` by :func:`convert`: tells :func:`add_unit` to
    emit instances. Carries no resources; blocks must not rely on any platform feature."""

    def __init__(self, design: HierarchicalDesign, use_keys: bool = True):
        self.design = design
        self.use_keys = use_keys

    def instance(self, unit: wiring.Component, name: str) -> Instance:
        mod = self._module(unit)
        args = []
        for path, member, value in unit.signature.flatten(unit):
            if isinstance(value, ValueCastable):
                value = value.as_value()
            pname = "__".join(map(str, path))
            if pname not in mod.ports:
                raise ValueError(f"unit {mod.name}: port {pname} missing from its module")
            args.append(("i" if member.flow == wiring.In else "o", pname, value))
        if "clk" in mod.ports:
            args.append(("i", "clk", ClockSignal("sync")))
        if "rst" in mod.ports:
            args.append(("i", "rst", ResetSignal("sync")))
        return Instance(mod.name, *args)

    def _module(self, unit) -> _Module:
        if not isinstance(unit, wiring.Component):
            raise TypeError(f"a unit must be a wiring.Component, got {type(unit).__name__}")
        d = self.design
        key = getattr(unit, "unit_key", None)
        if key is not None and self.use_keys:
            key = (type(unit).__qualname__, key)
            if key in d.by_key:
                # same configuration as an earlier unit: same module (checked by
                # tests/rtl/test_hierarchy.py, which converts every unit)
                unit._MustUse__silence = True
                mod = d.modules[d.by_key[key]]
                mod.instances += 1
                return mod
        # Convert on its own: nested units become instances through this same platform.
        text = rtlil.convert(unit, name=_PLACEHOLDER, platform=self, emit_src=False)
        text = text.replace("attribute \\top 1\n", "")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in d.by_digest:
            mod = d.modules[d.by_digest[digest]]
        else:
            base = f"{d.top}__{unit_name(unit)}"
            name, n = base, 1
            while name in d.modules:
                n += 1
                name = f"{base}_{n}"
            text = text.replace(f"\\{_PLACEHOLDER}", f"\\{name}")
            ports = [p for _, p in _PORT_RE.findall(_module_body(text, name))]
            mod = _Module(name, text, ports)
            d.modules[name] = mod
            d.by_digest[digest] = name
        if key is not None and self.use_keys:
            d.by_key[key] = mod.name
        mod.instances += 1
        return mod


def _module_body(text: str, name: str) -> str:
    match = re.search(rf"^module \\{re.escape(name)}\n(.*?)^end$", text, re.M | re.S)
    if match is None:
        raise ValueError(f"module {name} not found in its own RTLIL")
    return match.group(1)


def add_unit(m, name: str, unit, platform=None):
    """Add ``unit`` to module ``m`` as submodule ``name``: an instance of the unit's own module
    when converting hierarchically, an ordinary submodule otherwise. Returns ``unit``."""
    if isinstance(platform, UnitPlatform):
        m.submodules[name] = platform.instance(unit, name)
    else:
        m.submodules[name] = unit
    return unit


def convert(component, name: str, *, use_keys: bool = True) -> HierarchicalDesign:
    """RTLIL of ``component`` as top module ``name`` with every unit as a module of its own.

    ``use_keys``: a unit with a ``unit_key`` (its configuration) equal to an earlier unit's of
    the same class reuses that unit's module without converting it again (fast for arrays of
    hundreds of PEs); False converts every unit (the reference the tests compare against)."""
    design = HierarchicalDesign(top=name)
    platform = UnitPlatform(design, use_keys)
    design.top_text = rtlil.convert(component, name=name, platform=platform, emit_src=False)
    return design
