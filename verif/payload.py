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


def pack(shape, value, *, path: str = "payload") -> int:
    """The payload integer of ``value`` laid out as ``shape`` (see the module docstring)."""
    if isinstance(shape, data.StructLayout):
        if not isinstance(value, Mapping):
            raise TypeError(f"{path}: a struct takes a dict of its fields, got {value!r}")
        names = [name for name, _ in shape]
        unknown = sorted(set(value) - set(names))
        missing = [name for name in names if name not in value]
        if unknown or missing:
            raise ValueError(f"{path}: fields {names}; unknown {unknown}, missing {missing}")
        return sum(pack(field.shape, value[name], path=f"{path}.{name}") << field.offset
                   for name, field in shape)
    if isinstance(shape, data.ArrayLayout):
        if not isinstance(value, Sequence) or len(value) != shape.length:
            raise ValueError(f"{path}: an array of {shape.length} elements, got {value!r}")
        return sum(pack(field.shape, value[i], path=f"{path}[{i}]") << field.offset
                   for i, field in shape)
    if isinstance(shape, data.Layout):
        raise TypeError(f"{path}: {shape!r} is not supported (struct, array or plain shapes)")
    s = Shape.cast(shape)
    v = operator.index(value)
    lo, hi = ((-(1 << (s.width - 1)), (1 << (s.width - 1)) - 1) if s.signed
              else (0, (1 << s.width) - 1))
    if not lo <= v <= hi:
        raise ValueError(f"{path}: {v} does not fit {s!r} ({lo}..{hi})")
    return v & ((1 << s.width) - 1)


def unpack(shape, word: int, *, path: str = "payload") -> Any:
    """The value (dict / list / int, see the module docstring) of the payload integer ``word``."""
    n = width(shape)
    if not 0 <= word < 1 << n:
        raise ValueError(f"{path}: {word:#x} is not a {n}-bit payload")
    return _unpack(shape, word, path)


def _unpack(shape, word: int, path: str) -> Any:
    if isinstance(shape, data.StructLayout):
        return {name: _unpack(field.shape, _bits(word, field), f"{path}.{name}")
                for name, field in shape}
    if isinstance(shape, data.ArrayLayout):
        return [_unpack(field.shape, _bits(word, field), f"{path}[{i}]") for i, field in shape]
    if isinstance(shape, data.Layout):
        raise TypeError(f"{path}: {shape!r} is not supported (struct, array or plain shapes)")
    s = Shape.cast(shape)
    if s.signed and word >> (s.width - 1):
        return word - (1 << s.width)
    return word


def _bits(word: int, field: data.Field) -> int:
    return (word >> field.offset) & ((1 << field.width) - 1)
