"""The ``adoption`` command line.

Every command exits 0 on success, 1 when the input (a log, a file) is bad, and 2 on a usage error
(unknown option, a path that does not exist, a parameter out of range). Errors are one line on
standard error; ``--debug`` shows the traceback of an unexpected failure.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from adoption import __version__
from adoption.errors import AdoptionError, InputError, InvalidEventLog, ParameterError, UsageError
from adoption.text import strip_controls

Handler = Callable[[argparse.Namespace], int]


class _Printable:
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


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _amount_unit_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--amount-unit", choices=["cents", "yuan"], default="cents",
                   help="unit of the money columns in the files (default cents, the contract's unit)")


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


# ------------------------------------------------------------------ validate
def _cmd_validate(args: argparse.Namespace) -> int:
    from adoption.eventlog import read_eventlog

    try:
        log = read_eventlog(args.path, amount_unit=args.amount_unit)
    except InvalidEventLog as err:
        problems = err.problems
        if args.json:
            _print_json({"valid": False, "problems": [p.message() for p in problems]})
        else:
            for problem in problems:
                print(problem.message())
            print(f"{args.path}: invalid event log, {len(problems)} problem{'s' if len(problems) > 1 else ''}",
                  file=sys.stderr)
        return 1
    summary = log.summary()
    if args.json:
        _print_json({"valid": True, **summary})
        return 0
    print(f"{args.path}: valid event log")
    for name, n in summary["rows"].items():
        print(f"  {name:<18} {n:>12,} rows")
    print(f"  time span          {summary['start']} .. {summary['end']}")
    print(f"  users {summary['users']:,}   receivers {summary['receivers']:,}   payers {summary['payers']:,}")
    for name, columns in summary["ignored_columns"].items():
        print(f"  {name}: ignored columns not in the contract: {', '.join(columns)}")
    return 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check an event-log folder against the contract",
                       description="Check a folder of Parquet/CSV tables against the event-log contract "
                                   "(data/README.md). Exit 0 when valid, 1 when not.")
    p.add_argument("path", help="folder holding users.parquet (or .csv) and activity tables")
    p.add_argument("--json", action="store_true", help="print the summary or problems as JSON")
    _amount_unit_option(p)
    p.set_defaults(handler=_cmd_validate)


# ------------------------------------------------------------------ simulate
def _cmd_simulate(args: argparse.Namespace) -> int:
    from adoption.eventlog import check_destination
    from adoption.scenario import Scenario
    from adoption.simulate import simulate_to

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} is a file, not a folder; choose a new folder")
    if out.exists() and not args.overwrite:
        raise UsageError(f"--out: {out} already exists; choose a new folder or pass --overwrite")
    check_destination(out, args.overwrite)
    overrides = {} if args.users is None else {"n_users": args.users}
    scenario = Scenario.named(args.scenario, **overrides).set_from_strings(args.set or [])
    rows = simulate_to(out, scenario, seed=args.seed, progress=not args.quiet, overwrite=args.overwrite,
                       format=args.format)
    print(f"{out}: {rows['users']:,} users, {sum(rows.values()):,} rows "
          f"({', '.join(f'{k} {v:,}' for k, v in rows.items())})")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from adoption.scenario import Scenario, named_scenarios

    if args.parameters:
        table = Scenario.describe()
        with _wide_pandas():
            print(table.to_string(index=False))
        return 0
    for name, spec in named_scenarios().items():
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
    p.add_argument("--users", type=_count(1), help="number of users (overrides the scenario's n_users)")
    p.add_argument("--seed", type=_count(0), default=0, help="random seed (default 0); same seed, same log")
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


# ---------------------------------------------------------- activation, effect
def _read_for_analysis(args: argparse.Namespace):
    from adoption.eventlog import read_eventlog

    return read_eventlog(args.log, validate=not args.skip_validation, amount_unit=args.amount_unit)


def _cmd_activation(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from adoption.activation import activation_table
    from adoption.survival import ActivationCurve

    if not (math.isfinite(args.horizon) and args.horizon > 0):
        raise ParameterError(f"--horizon: expected a number of days > 0, got {args.horizon:g}")
    if args.engine == "duckdb":
        from adoption.activation_sql import activation_table_duckdb

        table = activation_table_duckdb(args.log, args.definition, k=args.k, d=args.d,
                                        validate=not args.skip_validation, amount_unit=args.amount_unit)
    else:
        table = activation_table(_read_for_analysis(args), args.definition, k=args.k, d=args.d)
    overall = ActivationCurve(horizon=args.horizon).fit(table).headline_.iloc[0]
    by_kind = ActivationCurve(horizon=args.horizon).fit(table, by="first_kind").headline_
    by_group = ActivationCurve(horizon=args.horizon).fit(table, by="first_group").headline_
    organic = int((table["cohort"] == "organic").sum())

    def record(row: pd.Series, cohort: str) -> dict:
        return {"cohort": cohort, "horizon_days": float(args.horizon), "n": int(row["n"]),
                "events": int(row["events"]), "cumulative_incidence": round(float(row["cumulative_incidence"]), 6),
                "ci_low": round(float(row["ci_low"]), 6), "ci_high": round(float(row["ci_high"]), 6),
                "median_days": None if not np.isfinite(row["median_days"]) else round(float(row["median_days"]), 3),
                "restricted_mean_days": round(float(row["restricted_mean_days"]), 3)}

    result = {**record(overall, "all receivers"), "definition": args.definition, "organic_adopters": organic,
              "by_first_kind": [record(r, f"first receipt: {r['group']}") for _, r in by_kind.iterrows()],
              "by_group_or_direct": [record(r, "first receipt in a group" if r["group"] == "True" else
                                            "first receipt one-to-one" if r["group"] == "False" else
                                            "first receipt: unknown")
                                     for _, r in by_group.iterrows()]}
    if args.json:
        _print_json(result)
        return 0
    print(f"activation within {args.horizon:g} days of the first receipt ({args.definition}); "
          f"{organic:,} organic adopters left out")
    rows = [result, *result["by_first_kind"], *result["by_group_or_direct"]]
    for r in rows:
        median = "-" if r["median_days"] is None else f"{r['median_days']:.1f}"
        print(f"  {r['cohort']:<30} n={r['n']:>9,}  {r['cumulative_incidence']:.3f} "
              f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]  median {median} d")
    return 0


def _cmd_effect(args: argparse.Namespace) -> int:
    import numpy as np

    from adoption.causal import ReceiptEffect

    log = _read_for_analysis(args)
    fx = ReceiptEffect(n_permutations=args.permutations, seed=args.seed).fit(log, args.definition)
    e = fx.effects_
    result = {
        "naive_hazard_ratio": float(e.loc["naive", "hazard_ratio"]),
        "naive_ci_low": float(e.loc["naive", "ci_low"]), "naive_ci_high": float(e.loc["naive", "ci_high"]),
        "time_varying_hazard_ratio": float(e.loc["time_varying", "hazard_ratio"]),
        "adjusted_hazard_ratio": float(e.loc["adjusted", "hazard_ratio"]),
        "adjusted_ci_low": float(e.loc["adjusted", "ci_low"]), "adjusted_ci_high": float(e.loc["adjusted", "ci_high"]),
        "propensity_adjusted_hazard_ratio": float(e.loc["propensity_adjusted", "hazard_ratio"]),
        "permutation_p": None if not np.isfinite(fx.permutation_p_) else float(fx.permutation_p_),
        "covariates": fx.covariates_, "imputed_covariates": fx.imputed_, "users": fx.n_users_,
        "receivers": fx.n_receivers_,
        "balance": {k: {"smd_before": round(float(v["smd_before"]), 4), "smd_after": round(float(v["smd_after"]), 4)}
                    for k, v in fx.balance_.iterrows()},
    }
    if args.json:
        _print_json(result)
        return 0
    print(f"effect of receiving on activation ({fx.n_users_:,} users at risk, {fx.n_receivers_:,} exposed)")
    if fx.imputed_:
        print(f"  missing values filled with the median plus an indicator: {', '.join(fx.imputed_)}")
    for name, row in e.iterrows():
        print(f"  {name:<20} HR {row['hazard_ratio']:7.3f}  [{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    if result["permutation_p"] is not None:
        print(f"  permutation test of receipt timing: p = {result['permutation_p']:.3f}")
    return 0


def _add_analysis(sub: argparse._SubParsersAction) -> None:
    from adoption.contract import DEFINITIONS

    p = sub.add_parser("activation", help="the 90-day activation headline after the first receipt",
                       description="Cumulative incidence of activation after the first receipt (Kaplan-Meier with "
                                   "delayed entry), overall, by first receipt kind and by group vs one-to-one.")
    p.add_argument("log", help="event-log folder")
    p.add_argument("--horizon", type=float, default=90.0, help="days after the first receipt (default 90)")
    p.add_argument("--definition", choices=DEFINITIONS, default="first_action", help="what counts as activation")
    p.add_argument("--k", type=_count(1), default=3, help="for k_payments: payments needed")
    p.add_argument("--d", type=_positive, default=30.0, help="for k_payments: within this many days")
    p.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas",
                   help="duckdb reads the Parquet files directly (for logs bigger than memory)")
    p.add_argument("--skip-validation", action="store_true", help="check types only, not every contract rule")
    p.add_argument("--json", action="store_true")
    _amount_unit_option(p)
    p.set_defaults(handler=_cmd_activation)
    q = sub.add_parser("effect", help="naive vs adjusted effect of receiving, as hazard ratios",
                       description="Hazard ratios of activation for receiving money: naive, receipt as a "
                                   "time-varying exposure, adjusted for pre-exposure covariates.")
    q.add_argument("log", help="event-log folder")
    q.add_argument("--definition", choices=DEFINITIONS, default="first_action")
    q.add_argument("--permutations", type=_count(0), default=20, help="receipt-timing shuffles (0 to skip)")
    q.add_argument("--seed", type=_count(0), default=0)
    q.add_argument("--skip-validation", action="store_true")
    q.add_argument("--json", action="store_true")
    _amount_unit_option(q)
    q.set_defaults(handler=_cmd_effect)


# -------------------------------------------------------------------- report
def _cmd_report(args: argparse.Namespace) -> int:
    import yaml

    from adoption.reports import Report, list_reports, parse_assignments, run_manifest, run_report

    folder = Path(args.notebooks).resolve() if args.notebooks else None
    if args.list:
        for name in list_reports(folder):
            report = Report.load(name, folder)
            print(f"{name}:")
            for key, spec in report.parameters.items():
                help_text = f"  # {spec['help']}" if spec.get("help") else ""
                print(f"    {key} = {spec['default']}{help_text}")
        return 0
    if args.all:
        manifest = folder / "manifest.yaml" if folder else None
        runs = run_manifest(manifest, out=args.out, progress=not args.quiet)
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
        from adoption.eventlog import read_eventlog

        read_eventlog(params["events"], amount_unit=str(params.get("amount_unit", "cents")))
    run = run_report(args.name, params, out=args.out, progress=not args.quiet, folder=folder)
    print(f"{run.report}: {run.status} -> {run.html}")
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="run a report notebook into HTML (or --all, or --list)",
                       description="Execute a parameterized report notebook with papermill and write "
                                   "reports/<report>/<run-id>/ (never overwriting an earlier run).")
    p.add_argument("name", nargs="?", help="report name (see --list); a name, not a path")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a parameter (repeatable)")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("--out", default="reports", help="reports folder (default reports/)")
    p.add_argument("--notebooks", help="a folder of your own report notebooks (default: the shipped ones)")
    p.add_argument("--all", action="store_true", help="run every report of notebooks/manifest.yaml")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters with defaults")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_report)


# --------------------------------------------------------------------- sweep
def _cmd_sweep(args: argparse.Namespace) -> int:
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


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="simulate and measure over a parameter grid (processes or Dask)",
                       description="Run the simulate-and-measure function over a grid (YAML), on local processes "
                                   "or a Dask cluster; resumable; then render the sweep report.")
    p.add_argument("grid", help="grid YAML file (see adoption.sweep)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_count(1), help="local worker processes (default: all cores)")
    where.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--out", help="result Parquet file (default: next to the grid file)")
    p.add_argument("--reports", default="reports", help="reports folder for the sweep report")
    p.add_argument("--no-report", action="store_true", help="do not render sweep.ipynb")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_sweep)


# -------------------------------------------------------------------- market
def _cmd_market_frontier(args: argparse.Namespace) -> int:
    from adoption.market import TwoSidedMarket

    market = TwoSidedMarket(b_users=args.b_users, b_merchants=args.b_merchants, p_users=args.p_users,
                            p_merchants=args.p_merchants, l_users=args.l_users, l_merchants=args.l_merchants,
                            tastes=args.tastes, taste_spread=args.taste_spread)
    result: dict[str, Any] = {
        "parameters": {k: getattr(market, k) for k in ("b_users", "b_merchants", "p_users", "p_merchants",
                                                        "l_users", "l_merchants", "tastes", "taste_spread")},
        **market.summary(),
    }
    reason = result["no_saddle_reason"]
    saddle = None if reason is not None else (result["saddle_users"], result["saddle_merchants"])
    if saddle is not None and args.points:
        front = market.frontier(args.points)
        result["frontier"] = front.round(6).to_dict(orient="records")
    if args.json:
        _print_json(result)
    else:
        print("equilibria (users, merchants):")
        for r in result["equilibria"]:
            print(f"  ({r['users']:.6g}, {r['merchants']:.6g})  {r['kind']:<8} eigenvalues "
                  f"{r['eigenvalues'][0]:.4g}, {r['eigenvalues'][1]:.4g}")
        print(f"(0, 0) {'is' if result['zero_stable'] else 'is not'} stable; "
              f"(1, 1) {'is' if result['full_stable'] else 'is not'} stable")
        if saddle is not None:
            print(f"critical mass (saddle): users {saddle[0]:.6g}, merchants {saddle[1]:.6g}")
            for row in result.get("frontier", []):
                print(f"  frontier  users {row['users']:.4f}  merchants {row['merchants']:.4f}")
    if reason is not None:
        print(f"adoption: {reason}", file=sys.stderr)
        return 1
    return 0


def _add_market(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("market", help="the two-sided cold start (mean-field critical mass)",
                       description="Mean-field two-sided adoption (Evans & Schmalensee): equilibria, the "
                                   "critical-mass saddle and its frontier.")
    msub = p.add_subparsers(dest="market_command", metavar="WHAT", parser_class=_Parser)
    msub.required = True
    f = msub.add_parser("frontier", help="equilibria, their stability and the critical-mass saddle",
                        description="Prints the equilibria, the interior saddle (the critical mass) and whether "
                                    "(0, 0) and (1, 1) are stable. Exits 1 with the reason when there is no "
                                    "interior saddle.")
    f.add_argument("--b-users", type=float, required=True, help="users' benefit from all merchants accepting")
    f.add_argument("--b-merchants", type=float, required=True, help="merchants' benefit from all users paying")
    f.add_argument("--p-users", type=float, required=True, help="users' effective price (negative: cash, subsidy)")
    f.add_argument("--p-merchants", type=float, required=True, help="merchants' effective price")
    f.add_argument("--l-users", type=float, default=1.0, help="users' adjustment speed (default 1)")
    f.add_argument("--l-merchants", type=float, default=1.0, help="merchants' adjustment speed (default 1)")
    f.add_argument("--tastes", choices=["uniform", "normal", "logistic"], default="uniform")
    f.add_argument("--taste-spread", type=float, default=0.2, help="spread of normal/logistic tastes")
    f.add_argument("--points", type=int, default=0, help="also print this many points of the frontier")
    f.add_argument("--json", action="store_true")
    f.set_defaults(handler=_cmd_market_frontier)


# -------------------------------------------------------------------- funnel
def _cmd_funnel(args: argparse.Namespace) -> int:
    import numpy as np

    from adoption.funnel import NO_SCANS, campaign_report

    log = _read_for_analysis(args)
    report = campaign_report(log, args.campaign, method=args.interval, correction=args.correction, seed=args.seed)
    if report is None:
        raise InputError(NO_SCANS)
    funnel, shares, pairs = report.funnel, report.sharing, report.comparisons

    def number(x: Any) -> Any:
        return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else x

    channels = [{"campaign": r.campaign, "channel": r.channel, "placement": r.placement or None,
                 "scans": int(r.scans), "unique_scanners": int(r.unique_scanners),
                 "anonymous_scans": int(r.anonymous_scans), "conversions": int(r.conversions),
                 "rate": float(r.rate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                 "median_minutes_to_pay": number(float(r.median_minutes_to_pay)),
                 "prob_best": float(r.prob_best), "expected_rank": float(r.expected_rank)}
                for r in funnel.itertuples()]
    result: dict[str, Any] = {
        "campaign": args.campaign, "interval": args.interval, "channels": channels,
        "referred_conversions_per_conversion": number(shares.viral_coefficient),
        "viral_ci": [number(shares.ci_low), number(shares.ci_high)],
        "conversions": shares.conversions, "referred_conversions": shares.referred_conversions,
        "reach": shares.reach.to_dict(orient="records"),
        "generations": shares.generations.to_dict(orient="records"),
        "comparisons": pairs.to_dict(orient="records"),
        "payments_without_scan": int(log.payments["scan_id"].isna().sum())
        if log.payments is not None and "scan_id" in log.payments else None,
    }
    if len(report.visits):
        result["returned_share"] = float(report.visits["returned"].mean())
        lift = report.follow_up
        result["follow_up"] = None if lift.empty else {k: number(float(v)) for k, v in lift.iloc[0].items()}
    if args.json:
        _print_json(result)
        return 0
    print(f"channel funnel{' of ' + args.campaign if args.campaign else ''} "
          f"({args.interval} 95% intervals; P(best) from Jeffreys posteriors)")
    for c in channels:
        name = c["channel"] + (f":{c['placement']}" if c["placement"] else "")
        print(f"  {c['campaign']:<14} {name:<22} scans {c['scans']:>7,}  conversions {c['conversions']:>6,}  "
              f"rate {c['rate']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}]  P(best) {c['prob_best']:.2f}")
    print(f"referred conversions per conversion: {shares.viral_coefficient:.3f} "
          f"[{shares.ci_low:.3f}, {shares.ci_high:.3f}] ({shares.referred_conversions} of {shares.conversions})")
    for r in shares.reach.itertuples():
        print(f"  reach {r.reach:<13} {r.people:>8,} people  {r.conversions:>6,} conversions")
    significant = pairs[pairs["significant"]]
    print(f"{len(significant)} of {len(pairs)} channel pairs differ ({args.correction}-corrected p < 0.05)")
    if "follow_up" in result and result["follow_up"]:
        f = result["follow_up"]
        print(f"follow-up message: return hazard ratio {f['hazard_ratio']:.2f} [{f['ci_low']:.2f}, {f['ci_high']:.2f}]")
    return 0


def _add_funnel(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("funnel", help="QR campaign channels: scans, conversions, sharing, returns",
                       description="Per campaign, channel and placement: scans, conversions and the conversion rate "
                                   "with its 95% interval, pairwise channel comparisons, an uncertainty-aware ranking, "
                                   "the viral coefficient of sharing and the follow-up lift in return visits.")
    p.add_argument("log", help="event-log folder (needs scans; payments for conversions)")
    p.add_argument("--campaign", help="only this campaign")
    p.add_argument("--interval", choices=["wilson", "jeffreys"], default="wilson")
    p.add_argument("--correction", choices=["holm", "bh"], default="holm", help="multiple-testing correction")
    p.add_argument("--seed", type=_count(0), default=0, help="for the ranking draws and the bootstrap")
    p.add_argument("--skip-validation", action="store_true")
    p.add_argument("--json", action="store_true")
    _amount_unit_option(p)
    p.set_defaults(handler=_cmd_funnel)


#: Functions that add a subcommand to the parser; later modules append theirs here.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_validate, _add_simulate, _add_analysis,
                                                                _add_report, _add_sweep, _add_market, _add_funnel]


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
    """Run the command line; return the exit code.

    0 success, 1 bad input (a log, a file, the machine: disk full, permission denied), 2 usage (an option,
    a parameter), 3 a bug in ``adoption``, 130 interrupted (Ctrl-C). Every error is one line on standard
    error; ``--debug`` shows the traceback of an unexpected failure.
    """
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(stdout), _Printable(stderr)  # type: ignore[assignment]
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _warning_line
            return _main(argv, debug)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = stdout, stderr


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """A warning as one line: ``adoption: warning: ...``."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"adoption: warning: {text}", file=sys.stderr)


def _main(argv: Sequence[str] | None, debug: bool) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return int(exit_.code or 0) if isinstance(exit_.code, int) else 2
    except InvalidEventLog as err:
        for problem in err.problems:
            print(problem.message(), file=sys.stderr)
        return err.exit_code
    except AdoptionError as err:
        print(f"adoption: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("adoption: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except MemoryError:
        print("adoption: error: out of memory (try fewer users, or --engine duckdb for big logs)", file=sys.stderr)
        return 1
    except OSError as err:  # the machine, not the code: disk full, permission denied, read-only folder
        if debug:
            raise
        print(f"adoption: error: {_os_error(err)}", file=sys.stderr)
        return 1
    except Exception as err:  # an unexpected failure: one line unless --debug
        if debug:
            raise
        cause = _os_error_in(err)
        if cause is not None:
            print(f"adoption: error: {_os_error(cause)}", file=sys.stderr)
            return 1
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"adoption: unexpected error: {type(err).__name__}: {first} (a bug in adoption; rerun with --debug "
              "for details)", file=sys.stderr)
        return 3


def _os_error_in(err: BaseException) -> OSError | None:
    """The OSError behind a library's own exception (e.g. nbformat's on a full disk), if any."""
    seen = err
    for _ in range(5):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
    return None


def _os_error(err: OSError) -> str:
    where = f"{err.filename}: " if getattr(err, "filename", None) else ""
    if err.errno == errno.ENOSPC:
        return f"{where}disk full (free some space and run again; nothing half-written was kept)"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{where}permission denied"
    if err.errno == errno.EROFS:
        return f"{where}read-only file system"
    return f"{where}{err.strerror or err}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
