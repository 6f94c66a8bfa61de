"""``adoption import survey FILE ...``: a one-row-per-person diffusion survey as an event log."""

from __future__ import annotations

import argparse

from adoption.cli.options import date, print_json

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.log.survey import parse_never, read_survey, survey_log

    frame = read_survey(args.file)
    made = survey_log(frame, community=args.community, id=args.id, time=args.time, nominations=args.nominations,
                      never=parse_never(args.never), start=args.start, unit=args.unit, source=args.source or args.file,
                      keep=tuple(c.strip() for c in (args.keep or "").split(",") if c.strip()))
    folder = made.log.write(args.out)
    if args.json:
        print_json({"out": str(folder), "respondents": made.respondents, "adopters": made.adopters,
                    "pairs": made.pairs, "nominations": made.nominations, "unknown": made.unknown,
                    "other_community": made.other_community, "self_named": made.self_named,
                    "duplicate": made.duplicate, "nomination_columns": made.columns})
        return 0
    print(f"{folder}: " + "\n  ".join(made.lines()))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from adoption.log.contract import TIME_UNITS

    imp = sub.add_parser("import", help="import outside data into an event log (survey)",
                         description="Turn outside data into an event log in the contract.")
    kinds = imp.add_subparsers(dest="kind", metavar="KIND", required=True)
    q = kinds.add_parser("survey", help="a one-row-per-person diffusion survey with nominations",
                         description="Read a one-row-per-person table (R data, CSV, Parquet, Stata) whose nomination "
                                     "columns name other people's ids in the same community; write users (the "
                                     "community as city), friendships (direction kept) and adoptions. Nominations "
                                     "that cannot be placed are counted and reported.")
    q.add_argument("file", help="the survey file (.rda/.rdata/.rds, .csv, .parquet, .dta)")
    q.add_argument("--community", required=True, metavar="COL", help="column of the community (town, village)")
    q.add_argument("--id", required=True, metavar="COL", help="column of the respondent's id within the community")
    q.add_argument("--time", required=True, metavar="COL", help="column of the period of adoption")
    q.add_argument("--never", metavar="VALUE", default=None, help="the time code of non-adopters (e.g. 18)")
    q.add_argument("--nominations", required=True, metavar="PATTERN",
                   help="nomination columns: a glob such as 'net1_*', or several separated by commas")
    q.add_argument("--start", type=date, default="2000-01-01", metavar="DATE",
                   help="the date the first period begins (2000-01-01)")
    q.add_argument("--unit", choices=TIME_UNITS, default="month", help="the length of a period (month)")
    q.add_argument("--keep", default=None, metavar="COLS",
                   help="respondent columns to keep in users as survey_<name> (comma-separated)")
    q.add_argument("--source", default=None, help="recorded in meta.json (default: the file name)")
    q.add_argument("--out", required=True, help="a new folder for the log (never replaced)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=run)
