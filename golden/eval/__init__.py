"""Evaluation command line: ``python -m golden.eval <subcommand> ...`` (see ``__main__``)."""
