"""``adoption report``: run a report notebook (or all of the manifest) into HTML, or list the reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from adoption.errors import UsageError

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    import yaml

    from adoption.reports import Report, list_reports, parse_assignments, run_manifest, run_report

    folder = Path(args.notebooks).resolve() if args.notebooks else None
    if args.list:
        for name in list_reports(folder):
            report = Report.load(name, folder)
            print(f"{name}:")
            for key, spec in report.parameters.items():
                help_text = f"  # {spec['help']}" if spec.get("help") else ""
                hint = spec.get("inferred_type_name")
                typed = f": {hint}" if hint and hint != "None" else ""
                print(f"    {key}{typed} = {spec['default']}{help_text}")
        return 0
    if args.all:
        manifest = folder / "manifest.yaml" if folder else None
        runs = run_manifest(manifest, out=args.out, progress=not args.quiet, jobs=args.jobs)
        for run in runs:
            print(f"{run.report}: {run.status} -> {run.html}")
        print(f"index: {Path(args.out) / 'index.html'}")
        return 0
    if not args.name:
        raise UsageError("report: name a report (see `adoption report --list`), or pass --all")
    report = Report.load(args.name, folder)
    params: dict = {}
    if args.file:
        try:
            loaded = yaml.safe_load(Path(args.file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"-f: cannot read {args.file} as YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"-f: {args.file} must hold a mapping of parameter names to values")
        params.update(loaded)
    params.update(parse_assignments(args.param, report))
    if params.get("events"):
        # a bad log fails here, in a second, with the validator's lines, before any kernel starts
        from adoption.log.eventlog import read_eventlog

        read_eventlog(params["events"], amount_unit=str(params.get("amount_unit", "cents")))
    run = run_report(args.name, params, out=args.out, progress=not args.quiet, folder=folder)
    print(f"{run.report}: {run.status} -> {run.html}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="run a report notebook into HTML (or --all, or --list)",
                       description="Execute a parameterized report notebook with papermill and write "
                                   "reports/<report>/<run-id>/ (never overwriting an earlier run).")
    p.add_argument("name", nargs="?", help="report name (see --list); a name, not a path")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a parameter (repeatable)")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("--out", default="reports", help="reports folder (default reports/)")
    p.add_argument("--notebooks", help="a folder of your own report notebooks (default: the shipped ones)")
    p.add_argument("--all", action="store_true", help="run every report of notebooks/manifest.yaml")
    p.add_argument("--jobs", type=int, default=None,
                   help="with --all: reports run at the same time, each in its own kernel (default: one per core)")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters with defaults")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=run)
