"""``adoption sweep GRID``: simulate and measure over a parameter grid, then render the sweep report."""

from __future__ import annotations

import argparse
from pathlib import Path

from adoption.cli.options import (
    add_executor,
)

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.reports import run_report
    from adoption.sweep import SweepSpec, run_sweep

    spec = SweepSpec.load(args.grid)
    if args.out:
        spec.out = Path(args.out)
    table = run_sweep(spec, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet)
    total = len(spec.points()) * spec.replicates
    print(f"{spec.out}: {len(table)} of {total} points ({table.attrs['computed']} computed now)")
    if not args.no_report and len(table) == total:
        run = run_report("sweep", {"results": str(Path(spec.out).resolve())}, out=args.reports, progress=False)
        print(f"sweep report: {run.html}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="simulate and measure over a parameter grid (processes or Dask)",
                       description="Run the simulate-and-measure function over a grid (YAML), on local processes "
                                   "or a Dask cluster; resumable; then render the sweep report.")
    p.add_argument("grid", help="grid YAML file (see adoption.sweep)")
    add_executor(p)
    p.add_argument("--out", help="result Parquet file (default: next to the grid file)")
    p.add_argument("--reports", default="reports", help="reports folder for the sweep report")
    p.add_argument("--no-report", action="store_true", help="do not render sweep.ipynb")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=run)
