"""Stream payloads as Python integers, derived from the Amaranth shapes that define them.

The RTL's data layouts are the only definition of a wire format (rtl/fgmp/vmac.py ``a_layout``,
``w_layout``, ``o_layout``; rtl/fgmp/act_quant.py ``in_layout``, ``out_layout``;
rtl/fineq/array.py ``w_shape`` / ``a_shape`` / ``o_shape`` of the array component;
rtl/fineq/decoder.py ``decoder_shapes``). Vector generators, testbenches and the synthesis
energy workloads build and read payload integers only through them (``signature_shapes`` gives
every stream's payload shape from a component's signature):

    pack(a_layout(), {"codes": bus, "scale": 0x38, "meta": 0, "last": 1}) -> int
    unpack(out_layout(), word) -> {"codes": ..., "scale": ..., "meta": ..., "last": ..., ...}

Values mirror the shape: a ``StructLayout`` is a dict with every field (no unknown names), an
``ArrayLayout`` a sequence of its length, any other shape an int. Fields are placed at
``layout[name].offset`` (array elements at ``i * elem_size``), as Amaranth flattens them. A value
that does not fit its field raises ValueError naming the field (``layout.const`` would truncate it
silently); signed fields take and return negative integers.
"""
from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from amaranth.hdl import Shape
from amaranth.lib import data, stream

__all__ = ["pack", "unpack", "width", "signature_shapes"]


def signature_shapes(signature) -> dict[str, Any]:
    """Shape of every member of a component's signature: the payload shape of a stream member,
    the shape of a plain port."""
    shapes = {}
    for name, member in signature.members.items():
        if member.is_port:
            shapes[name] = member.shape
        elif isinstance(member.signature, stream.Signature):
            shapes[name] = member.signature.members["payload"].shape
        else:
            raise TypeError(f"member {name}: {member.signature!r} is neither a port nor a stream")
    return shapes


def width(shape) -> int:
    """Bits of a payload of ``shape``."""
    return shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width


def _plan(shape):
    """The shape as nested tuples (computed once per shape; Amaranth's layout properties are
    slow to query per payload): ("struct", [(name, offset, width, plan)]), ("array",
    [(offset, width, plan)]) or ("int", width, signed)."""
    hit = _PLANS.get(id(shape))
    if hit is not None and hit[0] is shape:
        return hit[1]
    return _cache(shape)[1]


def _cache(shape):
    if isinstance(shape, data.StructLayout):
        plan = ("struct", [(name, f.offset, f.width, _plan(f.shape)) for name, f in shape])
    elif isinstance(shape, data.ArrayLayout):
        plan = ("array", [(f.offset, f.width, _plan(f.shape)) for _, f in shape])
    elif isinstance(shape, data.Layout):
        plan = ("unsupported", shape)
    else:
        s = Shape.cast(shape)
        plan = ("int", s.width, s.signed)
    entry = (shape, plan, width(shape) if plan[0] != "unsupported" else 0)
    _PLANS[id(shape)] = entry               # the shape is kept alive, so its id stays unique
    return entry


#: id(shape) -> (shape, plan); layouts are mutable-looking objects without a hash
_PLANS: dict = {}


def pack(shape, value, *, path: str = "payload") -> int:
    """The payload integer of ``value`` laid out as ``shape`` (see the module docstring)."""
    return _pack(_plan(shape), value, path)


def _pack(plan, value, path: str) -> int:
    kind = plan[0]
    if kind == "struct":
        if not isinstance(value, Mapping):
            raise TypeError(f"{path}: a struct takes a dict of its fields, got {value!r}")
        fields = plan[1]
        if len(value) != len(fields) or any(name not in value for name, *_ in fields):
            names = [name for name, *_ in fields]
            unknown = sorted(set(value) - set(names))
            missing = [name for name in names if name not in value]
            raise ValueError(f"{path}: fields {names}; unknown {unknown}, missing {missing}")
        return sum(_pack(sub, value[name], f"{path}.{name}") << off
                   for name, off, _, sub in fields)
    if kind == "array":
        fields = plan[1]
        if not isinstance(value, Sequence) or len(value) != len(fields):
            raise ValueError(f"{path}: an array of {len(fields)} elements, got {value!r}")
        return sum(_pack(sub, value[i], f"{path}[{i}]") << off
                   for i, (off, _, sub) in enumerate(fields))
    if kind == "unsupported":
        raise TypeError(f"{path}: {plan[1]!r} is not supported (struct, array or plain shapes)")
    _, w, signed = plan
    v = operator.index(value)
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
    if not lo <= v <= hi:
        raise ValueError(f"{path}: {v} does not fit {Shape(w, signed)!r} ({lo}..{hi})")
    return v & ((1 << w) - 1)


def unpack(shape, word: int, *, path: str = "payload") -> Any:
    """The value (dict / list / int, see the module docstring) of the payload integer ``word``."""
    hit = _PLANS.get(id(shape))
    _, plan, n = hit if hit is not None and hit[0] is shape else _cache(shape)
    if plan[0] == "unsupported":
        raise TypeError(f"{path}: {shape!r} is not supported (struct, array or plain shapes)")
    if not 0 <= word < 1 << n:
        raise ValueError(f"{path}: {word:#x} is not a {n}-bit payload")
    return _unpack(plan, word, path)


def _unpack(plan, word: int, path: str) -> Any:
    kind = plan[0]
    if kind == "struct":
        return {name: _unpack(sub, (word >> off) & ((1 << w) - 1), f"{path}.{name}")
                for name, off, w, sub in plan[1]}
    if kind == "array":
        return [_unpack(sub, (word >> off) & ((1 << w) - 1), f"{path}[{i}]")
                for i, (off, w, sub) in enumerate(plan[1])]
    if kind == "unsupported":
        raise TypeError(f"{path}: {plan[1]!r} is not supported (struct, array or plain shapes)")
    _, w, signed = plan
    if signed and word >> (w - 1):
        return word - (1 << w)
    return word
