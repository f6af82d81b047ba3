"""``python -m golden.eval <subcommand> [args...]`` — thin dispatcher.

Each subcommand is a module with a ``main(argv) -> int`` function; add new ones to
``SUBCOMMANDS`` (module path, one-line description).
"""
from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "fineq": ("golden.eval.fineq_cli", "FineQ layouts vs RTN / coarse mixed precision on real weights"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        lines = ["usage: python -m golden.eval <subcommand> [args...]", "", "subcommands:"]
        lines += [f"  {name:10s} {desc}" for name, (_, desc) in SUBCOMMANDS.items()]
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown subcommand {argv[0]!r}\n", file=sys.stderr)
            print("\n".join(lines), file=sys.stderr)
            return 2
        print("\n".join(lines))
        return 0
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
