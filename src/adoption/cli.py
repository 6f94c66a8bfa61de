"""The ``adoption`` command line.

Every command exits 0 on success, 1 when the input (a log, a file) is bad, and 2 on a usage error
(unknown option, a path that does not exist, a parameter out of range). Errors are one line on
standard error; ``--debug`` shows the traceback of an unexpected failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from adoption import __version__
from adoption.errors import AdoptionError, InvalidEventLog

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


# ------------------------------------------------------------------ validate
def _cmd_validate(args: argparse.Namespace) -> int:
    from adoption.eventlog import EventLog, coerce_tables, read_tables
    from adoption.validation import validate_tables

    raw, meta = read_tables(args.path)
    tables, problems = coerce_tables(raw)
    problems += validate_tables(tables)
    if problems:
        if args.json:
            _print_json({"valid": False, "problems": [p.message() for p in problems]})
        else:
            for problem in problems:
                print(problem.message())
            print(f"{args.path}: invalid event log, {len(problems)} problem{'s' if len(problems) > 1 else ''}",
                  file=sys.stderr)
        return 1
    summary = EventLog(**tables, meta=meta).summary()
    if args.json:
        _print_json({"valid": True, **summary})
        return 0
    print(f"{args.path}: valid event log")
    for name, n in summary["rows"].items():
        print(f"  {name:<18} {n:>12,} rows")
    print(f"  time span          {summary['start']} .. {summary['end']}")
    print(f"  users {summary['users']:,}   receivers {summary['receivers']:,}   payers {summary['payers']:,}")
    return 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check an event-log folder against the contract",
                       description="Check a folder of Parquet/CSV tables against the event-log contract "
                                   "(data/README.md). Exit 0 when valid, 1 when not.")
    p.add_argument("path", help="folder holding users.parquet (or .csv) and activity tables")
    p.add_argument("--json", action="store_true", help="print the summary or problems as JSON")
    p.set_defaults(handler=_cmd_validate)


#: Functions that add a subcommand to the parser; later modules append theirs here.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_validate]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="adoption", description="Social payment adoption: simulate, validate and analyse "
                                                  "red-packet event logs.")
    parser.add_argument("--version", action="version", version=f"adoption {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except InvalidEventLog as err:
        for problem in err.problems:
            print(problem.message(), file=sys.stderr)
        return err.exit_code
    except AdoptionError as err:
        print(f"adoption: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("adoption: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # an unexpected failure: one line unless --debug
        if args.debug:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"adoption: unexpected error: {type(err).__name__}: {first} (rerun with --debug for details)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
