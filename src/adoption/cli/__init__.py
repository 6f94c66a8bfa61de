"""The ``adoption`` command line: a thin layer over the library, one module per command.

:mod:`~adoption.cli.main` builds the parser and maps errors to exit codes (0 success, 1 bad input,
2 usage, 3 a bug in ``adoption``, 130 interrupted); each command module (``validate``, ``simulate``,
``activation``, ``effect``, ``report``, ``sweep``, ``market``, ``funnel``) adds its subcommand and runs it.
Nothing here imports a scientific library until a command runs, so ``--help`` answers at once.
"""

from adoption.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
