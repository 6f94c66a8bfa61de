"""``adoption activation LOG``: the share of receivers active within the horizon after their first receipt."""

from __future__ import annotations

import argparse
import math

from adoption.cli.options import add_log_options, count, positive, print_json, read_for_analysis
from adoption.errors import ParameterError, UsageError

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.analysis.activation import activation_tables
    from adoption.analysis.headline import activation_headline, headline_by_definition
    from adoption.log.contract import DEFINITIONS

    if args.memory_limit is not None and args.engine != "duckdb":
        raise UsageError("--memory-limit: only with --engine duckdb")
    if not (math.isfinite(args.horizon) and args.horizon > 0):
        raise ParameterError(f"--horizon: expected a number of days > 0, got {args.horizon:g}")
    others = [d for d in DEFINITIONS if d != args.definition]
    if args.engine == "duckdb":  # one opening and one check of the log for every definition
        from adoption.analysis.activation_sql import headline_tables_duckdb

        # what the headlines read, no covariates; a big cohort counted on the fits' grid by DuckDB (at ten
        # million users the tables' rows took a minute and a half to reach pandas and be fitted); the other
        # definitions are read at the horizon only, so their follow-up ends there
        tables = headline_tables_duckdb(args.log, [args.definition, *others], k=args.k, d=args.d, optional=others,
                                        memory_limit=args.memory_limit, validate=not args.skip_validation,
                                        amount_unit=args.amount_unit, progress=not (args.quiet or args.json),
                                        until=dict.fromkeys(others, args.horizon))
        # (None: the log has no table for that definition; headline_by_definition then leaves it out
        # rather than opening the log again to try)
        tables = {definition: tables.get(definition) for definition in (args.definition, *others)}
        source = args.log
    else:  # every definition's table from one pass over the receipts, as the headlines read them
        source = read_for_analysis(args)
        built = activation_tables(source, [args.definition, *others], k=args.k, d=args.d, covariates=(),
                                  optional=others)
        # (None: the log has no table for that definition; headline_by_definition leaves it out)
        tables = {definition: built.get(definition) for definition in (args.definition, *others)}
    table = tables[args.definition]
    headline = activation_headline(table, horizon=args.horizon, definition=args.definition)
    result = headline.to_dict()
    by_definition = headline_by_definition(source, args.horizon, engine=args.engine, k=args.k, d=args.d,
                                           tables=tables, memory_limit=args.memory_limit,
                                           validate=False,  # checked once, with the first table
                                           headlines={args.definition: headline})
    result["by_definition"] = [{"definition": name, **{key: (round(v, 6) if isinstance(v, float) else v)
                                                       for key, v in row.items()}}
                               for name, row in by_definition.to_dict("index").items()]
    if args.json:
        print_json(result)
        return 0
    print(f"activation within {args.horizon:g} days of the first receipt ({args.definition}); "
          f"{result['organic_adopters']:,} organic adopters left out")
    print(f"  {'':<30} {'':>11}  before leaving         if nobody left         left first")
    for r in [result, *result["by_first_kind"], *result["by_group_or_direct"]]:
        print(f"  {r['cohort']:<30} n={r['n']:>9,}  {r['cumulative_incidence']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
              f"  {r['cumulative_incidence_no_leaving']:.3f} [{r['no_leaving_ci_low']:.3f}, {r['no_leaving_ci_high']:.3f}]"
              f"  {r['leaving']:.3f}")
    print("  before leaving: the share who did activate (Aalen-Johansen, leaving a competing event); "
          "if nobody left: 1 - Kaplan-Meier")
    print("every definition, before leaving:")
    for r in result["by_definition"]:
        print(f"  {r['definition']:<28} {r['cumulative_incidence']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]  "
              f"{r['meaning']}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from adoption.log.contract import DEFINITIONS
    from adoption.processes import default_memory_limit

    p = sub.add_parser("activation", help="the 90-day activation headline after the first receipt",
                       description="The share of receivers who activated before leaving within the horizon "
                                   "(Aalen-Johansen, delayed entry), beside 1 - Kaplan-Meier (if nobody left), "
                                   "overall, by first receipt kind and by group vs one-to-one.")
    p.add_argument("log", help="event-log folder")
    p.add_argument("--horizon", type=float, default=90.0, help="days after the first receipt (default 90)")
    p.add_argument("--definition", choices=DEFINITIONS, default="first_action", help="what counts as activation")
    p.add_argument("--k", type=count(1), default=3, help="for k_payments: payments needed")
    p.add_argument("--d", type=positive, default=30.0, help="for k_payments: within this many days")
    p.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas",
                   help="duckdb reads the Parquet files directly (for logs bigger than memory)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB's memory budget, such as 8GB (default: half this machine's memory, "
                        f"{default_memory_limit()} here); it spills to disk beyond it. The arrays the first "
                        "receipts are found in come on top: about 40 bytes a user and 9 a red packet")
    p.add_argument("--quiet", action="store_true", help="no progress bar (--engine duckdb shows one)")
    add_log_options(p)
    p.set_defaults(handler=run)
