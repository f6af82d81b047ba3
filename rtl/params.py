"""Parameter checks shared by the RTL components: a bad value raises ``ValueError`` naming the
parameter (the registry turns it into ``BlockError``, exit code 2 in the CLIs)."""
from __future__ import annotations

from golden.formats import check_int   # one integer check for every layer

__all__ = ["check_int", "check_choice"]


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
