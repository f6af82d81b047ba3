"""``python -m golden.eval <subcommand> [args...]`` — thin dispatcher.

Each subcommand is a module ``golden.eval.<name>_cli`` with a ``main(argv) -> int`` function.
Registered ones are listed in ``SUBCOMMANDS`` (module path, one-line description); an
unregistered ``<name>`` is still found if ``golden.eval.<name>_cli`` exists.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

from infra.cli import fail

SUBCOMMANDS = {
    "fgmp": ("golden.eval.fgmp_cli", "FGMP block formats / policy on real activations"),
    "fineq": ("golden.eval.fineq_cli", "FineQ layouts vs RTN / coarse mixed precision on real weights"),
}


def _usage() -> str:
    lines = ["usage: python -m golden.eval <subcommand> [args...]", "", "subcommands:"]
    lines += [f"  {name:10s} {desc}" for name, (_, desc) in sorted(SUBCOMMANDS.items())]
    return "\n".join(lines)


def _module_for(name: str) -> str | None:
    if name in SUBCOMMANDS:
        return SUBCOMMANDS[name][0]
    mod = f"golden.eval.{name}_cli"
    if name.isidentifier() and importlib.util.find_spec(mod) is not None:
        return mod
    return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    known = ", ".join(sorted(SUBCOMMANDS))
    if not argv:
        return fail(f"give a subcommand ({known}; --help lists them)")
    module = _module_for(argv[0])
    if module is None:
        return fail(f"unknown subcommand {argv[0]!r} (known: {known})")
    return importlib.import_module(module).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
