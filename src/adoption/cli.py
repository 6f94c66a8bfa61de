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


# ------------------------------------------------------------------ simulate
def _cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from adoption.errors import UsageError
    from adoption.scenario import Scenario
    from adoption.simulate import simulate

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise UsageError(f"--out: {out} already exists; choose a new folder or pass --overwrite")
    overrides = {} if args.users is None else {"n_users": args.users}
    scenario = Scenario.named(args.scenario, **overrides).set_from_strings(args.set or [])
    log = simulate(scenario, seed=args.seed, progress=not args.quiet)
    log.write(out, overwrite=args.overwrite, format=args.format)
    summary = log.summary()
    print(f"{out}: {summary['users']:,} users, {sum(summary['rows'].values()):,} rows "
          f"({', '.join(f'{k} {v:,}' for k, v in summary['rows'].items())})")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from adoption.scenario import Scenario, _named_table

    if args.parameters:
        table = Scenario.describe()
        with _wide_pandas():
            print(table.to_string(index=False))
        return 0
    for name, spec in _named_table().items():
        params = spec.get("parameters") or {}
        changes = ", ".join(f"{k}={v}" for k, v in params.items()) or "the defaults"
        print(f"{name}: {' '.join(str(spec.get('description', '')).split())}\n    ({changes})")
    return 0


def _wide_pandas():
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_colwidth", 90, "display.max_rows", 500)


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate the red-packet world and write its event log",
                       description="Run the day-stepped simulator and write an event log folder (Parquet).")
    p.add_argument("--scenario", default="default", help="named scenario (see `adoption scenarios`)")
    p.add_argument("--users", type=int, help="number of users (overrides the scenario's n_users)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same log")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change a scenario parameter (repeatable); `adoption scenarios --parameters` lists them")
    p.add_argument("--out", required=True, help="folder to write (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_simulate)
    q = sub.add_parser("scenarios", help="list the named scenarios (or every parameter)")
    q.add_argument("--parameters", action="store_true", help="every parameter with default, unit and range")
    q.set_defaults(handler=_cmd_scenarios)


#: Functions that add a subcommand to the parser; later modules append theirs here.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_validate, _add_simulate]


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
