"""``python -m golden.eval <subcommand> [args]``: thin dispatcher to ``golden.eval.<name>_cli``.

Each subcommand module provides ``main(argv) -> int``. (Minimal version written by the FGMP
work; extend freely.)
"""
import importlib
import sys

SUBCOMMANDS = {"fgmp": "golden.eval.fgmp_cli"}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m golden.eval {{{','.join(sorted(SUBCOMMANDS))}}} [args]")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    module = SUBCOMMANDS.get(name)
    if module is None:
        try:
            importlib.import_module(f"golden.eval.{name}_cli")
            module = f"golden.eval.{name}_cli"
        except ModuleNotFoundError:
            print(f"unknown subcommand {name!r}; known: {sorted(SUBCOMMANDS)}", file=sys.stderr)
            return 2
    return importlib.import_module(module).main(rest)


if __name__ == "__main__":
    sys.exit(main())
