"""Functional coverage: named bin spaces that a testbench fills from what the DUT was actually
driven with and answered correctly, and that fail the test when a bin stays empty.

    cov = Coverage("vmac fp8xfp8 (w, a, position)", (256, 256, 16))
    cov.hit(w, a, pos)             # only after the result it influences was checked equal
    cov.finish()                   # AssertionError naming the first empty bins, or a summary

A bin space is a product of integer ranges (``dims``: the size of each coordinate); counts are
kept in a bytearray (saturating at 255), so 2^20 bins cost 1 MB. ``labels`` turn a coordinate
tuple into text for the failure message.
"""
from __future__ import annotations

from math import prod
from typing import Callable, Sequence

__all__ = ["Coverage"]


class Coverage:
    def __init__(self, name: str, dims: Sequence[int],
                 label: Callable[[tuple], str] | None = None):
        if not dims or any(int(d) < 1 for d in dims):
            raise ValueError(f"coverage {name!r}: every dimension needs at least one bin, got {dims}")
        self.name = name
        self.dims = tuple(int(d) for d in dims)
        self.counts = bytearray(prod(self.dims))
        self.label = label or (lambda t: str(t))
        self.hits = 0

    def index(self, *coords: int) -> int:
        if len(coords) != len(self.dims):
            raise ValueError(f"coverage {self.name!r}: {len(coords)} coordinates for "
                             f"{len(self.dims)} dimensions")
        i = 0
        for c, d in zip(coords, self.dims):
            if not 0 <= c < d:
                raise ValueError(f"coverage {self.name!r}: coordinate {c} outside 0..{d - 1}")
            i = i * d + c
        return i

    def coords(self, index: int) -> tuple:
        out = []
        for d in reversed(self.dims):
            out.append(index % d)
            index //= d
        return tuple(reversed(out))

    def hit(self, *coords: int) -> None:
        i = self.index(*coords)
        if self.counts[i] < 255:
            self.counts[i] += 1
        self.hits += 1

    @property
    def size(self) -> int:
        return len(self.counts)

    def covered(self) -> int:
        return self.size - self.counts.count(0)

    def missing(self, limit: int | None = None) -> list[tuple]:
        out = []
        start = 0
        while limit is None or len(out) < limit:
            i = self.counts.find(0, start)
            if i < 0:
                break
            out.append(self.coords(i))
            start = i + 1
        return out

    def summary(self) -> str:
        return f"{self.name}: {self.covered()} of {self.size} bins covered ({self.hits} hits)"

    def finish(self) -> str:
        """The summary when every bin was hit; AssertionError naming the first empty ones
        otherwise."""
        empty = self.size - self.covered()
        if empty:
            first = ", ".join(self.label(c) for c in self.missing(6))
            raise AssertionError(f"coverage hole: {self.summary()}; {empty} empty, first: {first}")
        return self.summary()
