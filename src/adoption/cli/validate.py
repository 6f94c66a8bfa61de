"""``adoption validate LOG``: check a log folder against the contract; exit 0 when valid, 1 when not.

It always checks every rule, even where the files passed them before (the analyses do not check those again:
:mod:`adoption.log.checked`), with pandas or, for a log bigger than memory, with DuckDB (``--engine duckdb``):
the same problems, the same summary."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adoption.cli.options import (
    add_amount_unit,
    print_json,
)
from adoption.errors import InvalidEventLog, UsageError

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    if args.memory_limit is not None and args.engine != "duckdb":
        raise UsageError("--memory-limit: only with --engine duckdb")
    try:
        summary = _checked_summary(args)
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


def _checked_summary(args: argparse.Namespace) -> dict[str, Any]:
    """Every rule checked, even on files that passed them before; the log's summary, or InvalidEventLog."""
    if args.engine == "pandas":
        from adoption.cli.options import check_memory
        from adoption.log.eventlog import read_eventlog

        check_memory(args.path, engine_option=True)
        return read_eventlog(args.path, amount_unit=args.amount_unit, recheck=True).summary()
    import duckdb

    from adoption.log.sql import open_checked, out_of_memory, summary_sql

    try:
        with open_checked(args.path, memory_limit=args.memory_limit, amount_unit=args.amount_unit,
                          recheck=True) as log:
            return summary_sql(log)
    except duckdb.OutOfMemoryException:
        raise out_of_memory(args.memory_limit) from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check an event-log folder against the contract",
                       description="Check a folder of Parquet/CSV tables against the event-log contract "
                                   "(data/README.md). Exit 0 when valid, 1 when not.")
    p.add_argument("path", help="folder holding users.parquet (or .csv) and activity tables")
    p.add_argument("--json", action="store_true", help="print the summary or problems as JSON")
    p.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas",
                   help="duckdb checks the Parquet files in place (for logs bigger than memory)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB's memory budget, such as 8GB (default: half this machine's memory); it spills to "
                        "disk beyond it")
    add_amount_unit(p)
    p.set_defaults(handler=run)
