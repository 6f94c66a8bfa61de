"""``adoption calibrate``: simulated method of moments against the public figures, on processes or Dask."""

from __future__ import annotations

import argparse

from adoption.cli.options import add_executor, count, print_json, wide_pandas

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.calibrate import CalibrationSpec, calibrate

    changes = {"budget": args.budget, "replicates": args.replicates, "seed": args.seed,
               "base": {"n_users": args.users} if args.users else {}}
    spec = (CalibrationSpec.load(args.targets, **changes) if args.targets else CalibrationSpec.default(**changes))
    result = calibrate(spec, args.out, workers=args.workers, scheduler=args.scheduler,
                       progress=not args.quiet and not args.json)
    if args.json:
        print_json(result.to_dict())
        return 0 if result.complete else 1
    moments = result.moments
    with wide_pandas():
        print(moments[["name", "target", "simulated", "simulated_sd", "low", "high", "within"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        print(result.spread.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    accepted = int(result.points["accepted"].sum())
    print(f"\n{accepted} of {len(result.points)} points accepted ({result.acceptance}); "
          f"{int(moments['within'].sum())} of {len(moments)} moments within tolerance at the calibrated point")
    print(f"calibrated scenario: {args.out}/calibrated.yaml; report: adoption report calibration -p calibration={args.out}")
    if not result.complete:
        print("adoption: the calibration did not finish every simulation; run the same command again to resume")
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit the world's parameters to the public figures (method of moments)",
                       description="Simulated method of moments: a Latin-hypercube design over the free "
                                   "parameters, then a local refinement; every simulation a task on local "
                                   "processes or a Dask cluster, resumable. Prints the moment table (target, "
                                   "simulated, within tolerance?) and the spread of the accepted parameters. "
                                   "Targets and ranges: data/reference/calibration.yaml, or --targets FILE.")
    p.add_argument("--targets", help="YAML of targets and parameter ranges (default: the package's calibration.yaml)")
    p.add_argument("--budget", type=count(2), help="parameter points to simulate (default 32)")
    p.add_argument("--replicates", type=count(1), help="seeded simulations per point (default 2)")
    p.add_argument("--users", type=count(100), help="users per simulation (default: the scenario's)")
    p.add_argument("--seed", type=count(0), help="seed of the design and the simulations (default 0)")
    add_executor(p)
    p.add_argument("--out", required=True, help="folder for the results (a folder of the same calibration resumes)")
    p.add_argument("--json", action="store_true", help="print moments, calibrated parameters and spread as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)
