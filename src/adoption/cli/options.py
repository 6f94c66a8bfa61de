"""What every command shares: the parser class, option types, JSON output and reading a log for analysis.

Nothing here imports pandas or a scientific library at module level: ``adoption --help`` must answer at
once.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any, TextIO

from adoption.text import strip_controls

__all__ = ["Parser", "Printable", "add_amount_unit", "add_executor", "add_log_options", "count", "date", "positive",
           "check_memory", "print_json", "read_for_analysis", "wide_pandas"]


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Printable:
    """A text stream that drops control characters (terminal escape sequences) from what is written.

    Log strings (channel names, campaign names, ids) reach the terminal through the CLI's output; an
    escape sequence in them must not reach the terminal raw. Newlines, tabs and carriage returns (the
    progress bars) are kept.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(strip_controls(text, keep_carriage_returns=True))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def count(minimum: int) -> Callable[[str], int]:
    """An option type: an integer of at least ``minimum``.

    Examples
    --------
    >>> count(1)("3")
    3
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


def positive(text: str) -> float:
    """An option type: a finite number > 0.

    Examples
    --------
    >>> positive("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def date(text: str) -> str:
    """An option type: a date or timestamp (ISO 8601), kept as text.

    Examples
    --------
    >>> date("2014-01-27")
    '2014-01-27'
    """
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise argparse.ArgumentTypeError(f"expected a date such as 2014-01-27, got {text!r}")
    return text


def add_amount_unit(p: argparse.ArgumentParser) -> None:
    """The ``--amount-unit`` option of every command that reads a log."""
    p.add_argument("--amount-unit", choices=["cents", "yuan"], default="cents",
                   help="unit of the money columns in the files (default cents, the contract's unit)")


def add_log_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that reads a log with :func:`read_for_analysis`: ``--skip-validation``,
    ``--json`` and ``--amount-unit``."""
    p.add_argument("--skip-validation", action="store_true", help="check types only, not every contract rule")
    p.add_argument("--json", action="store_true")
    add_amount_unit(p)


def add_executor(p: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDR``: where the simulations of a sweep, calibration or tipping run."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=count(1), help="local worker processes (default: all cores; 1 runs the tasks in this process)")
    where.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on standard output."""
    print(json.dumps(obj, indent=2, default=str), file=sys.stdout)


def wide_pandas() -> Any:
    """A pandas option context for printing wide tables."""
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_colwidth", 90, "display.max_rows", 500)


def check_memory(path: str, engine_option: bool) -> None:
    """Refuse, before reading, a log that pandas would need more memory for than this process may use
    (:func:`adoption.log.eventlog.memory_needed` against :func:`adoption.processes.memory_allowed`): one
    line instead of the system killing the command minutes later. ``engine_option``: the command has
    ``--engine duckdb``, which streams the files instead."""
    from adoption.errors import UsageError
    from adoption.log.eventlog import memory_needed
    from adoption.processes import memory_allowed

    needed, allowed = memory_needed(path), memory_allowed()
    if needed is None or allowed is None or needed <= allowed:
        return
    instead = ("; --engine duckdb streams the files instead" if engine_option else
               "; analyse a sample of its users, or a machine with more memory")
    raise UsageError(f"{path}: reading this log into memory would take about {needed / 2**30:.0f} GB, more "
                     f"than the {allowed / 2**30:.0f} GB this machine allows{instead}")


def read_for_analysis(args: argparse.Namespace) -> Any:
    """The log of ``args.log``, validated unless ``--skip-validation``, in ``--amount-unit``; refused up front
    where it would not fit in memory (:func:`check_memory`)."""
    from adoption.log.eventlog import read_eventlog

    check_memory(args.log, engine_option=hasattr(args, "engine"))
    return read_eventlog(args.log, validate=not args.skip_validation, amount_unit=args.amount_unit)
