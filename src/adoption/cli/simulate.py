"""``adoption simulate`` (run the simulator into a log folder) and ``adoption scenarios`` (list them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from adoption.cli.options import (
    count,
    wide_pandas,
)
from adoption.errors import InputError, UsageError

__all__ = ["add_parser", "run", "run_scenarios"]


def run(args: argparse.Namespace) -> int:
    from adoption.log.eventlog import check_destination
    from adoption.processes import reuse_freed_memory
    from adoption.world.scenario import Scenario
    from adoption.world.simulate import simulate_to

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} is a file, not a folder; choose a new folder")
    if out.exists() and not args.overwrite:
        raise UsageError(f"--out: {out} already exists; choose a new folder or pass --overwrite")
    check_destination(out, args.overwrite)
    overrides = {} if args.users is None else {"n_users": args.users}
    scenario = Scenario.named(args.scenario, **overrides).set_from_strings(args.set or [])
    reuse_freed_memory()  # this process ends after the run: keep freed arrays for the next day's
    if args.partition == "month" and args.format != "parquet":
        raise UsageError("--partition month: needs --format parquet (a CSV log is one file per table)")
    rows = simulate_to(out, scenario, seed=args.seed, progress=not args.quiet, overwrite=args.overwrite,
                       format=args.format, partition=args.partition, check=not args.no_check)
    print(f"{out}: {rows['users']:,} users, {sum(rows.values()):,} rows "
          f"({', '.join(f'{k} {v:,}' for k, v in rows.items())})")
    return 0


def run_scenarios(args: argparse.Namespace) -> int:
    from adoption.world.scenario import Scenario, named_scenarios

    if args.parameters:
        table = Scenario.describe()
        with wide_pandas():
            print(table.to_string(index=False))
        return 0
    for name, spec in named_scenarios().items():
        params = spec.get("parameters") or {}
        changes = ", ".join(f"{k}={v}" for k, v in params.items()) or "the defaults"
        print(f"{name}: {' '.join(str(spec.get('description', '')).split())}\n    ({changes})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate the red-packet world and write its event log",
                       description="Run the day-stepped simulator and write an event log folder (Parquet).")
    p.add_argument("--scenario", default="default", help="named scenario (see `adoption scenarios`)")
    p.add_argument("--users", type=count(1), help="number of users (overrides the scenario's n_users)")
    p.add_argument("--seed", type=count(0), default=0, help="random seed (default 0); same seed, same log")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change a scenario parameter (repeatable); `adoption scenarios --parameters` lists them")
    p.add_argument("--out", required=True, help="folder to write (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--partition", choices=["month", "none"],
                   help="tables of events as one Parquet part per simulated month, written as the run goes "
                        "(default for Parquet: memory holds a month of the log), or one file per table "
                        "(default for CSV)")
    p.add_argument("--no-check", action="store_true",
                   help="do not check the log written against the contract (by default it is checked and "
                        "remembered as checked, so that the first analysis of it does not check it again)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)
    q = sub.add_parser("scenarios", help="list the named scenarios (or every parameter)")
    q.add_argument("--parameters", action="store_true", help="every parameter with default, unit and range")
    q.set_defaults(handler=run_scenarios)
