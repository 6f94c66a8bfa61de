"""``adoption validate LOG``: check a log folder against the contract; exit 0 when valid, 1 when not.

It always checks every rule, even where the files passed them before (the analyses do not check those again:
:mod:`adoption.log.checked`)."""

from __future__ import annotations

import argparse
import sys

from adoption.cli.options import (
    add_amount_unit,
    print_json,
)
from adoption.errors import InvalidEventLog

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.log.eventlog import read_eventlog

    try:
        log = read_eventlog(args.path, amount_unit=args.amount_unit, recheck=True)
    except InvalidEventLog as err:
        problems = err.problems
        if args.json:
            print_json(err.to_dict())
        else:
            for problem in problems:
                print(problem.message())
            print(f"{args.path}: invalid event log, {len(problems)} problem{'s' if len(problems) > 1 else ''}",
                  file=sys.stderr)
        return 1
    summary = log.summary()
    if args.json:
        print_json({"valid": True, **summary})
        return 0
    print(f"{args.path}: valid event log")
    for name, n in summary["rows"].items():
        print(f"  {name:<18} {n:>12,} rows")
    print(f"  time span          {summary['start']} .. {summary['end']}")
    print(f"  users {summary['users']:,}   receivers {summary['receivers']:,}   payers {summary['payers']:,}")
    for name, columns in summary["ignored_columns"].items():
        print(f"  {name}: ignored columns not in the contract: {', '.join(columns)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check an event-log folder against the contract",
                       description="Check a folder of Parquet/CSV tables against the event-log contract "
                                   "(data/README.md). Exit 0 when valid, 1 when not.")
    p.add_argument("path", help="folder holding users.parquet (or .csv) and activity tables")
    p.add_argument("--json", action="store_true", help="print the summary or problems as JSON")
    add_amount_unit(p)
    p.set_defaults(handler=run)
