"""``adoption diffusion LOG``: adoption curves by community, network exposure, thresholds, a contagion test."""

from __future__ import annotations

import argparse

from adoption.cli.options import add_log_options, count, positive, print_json, read_for_analysis

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.analysis.network_diffusion import NetworkDiffusion

    log = read_for_analysis(args)
    fit = NetworkDiffusion(definition=args.definition, period_days=args.period_days, draws=args.draws,
                           seed=args.seed).fit(log)
    result = fit.to_dict()
    if args.json:
        print_json(result)
        return 0
    print(f"{result['users']:,} people, {result['adopters']:,} adopters, {result['contacts']:,} named contacts, "
          f"{result['periods']} periods of one {result['unit']}")
    print("  community          size  adopters  saturation  time to 50%")
    for c in result["communities"]:
        half = "never" if c["time_to_half"] is None else f"{c['time_to_half']:g}"
        print(f"  {str(c['community']):<16} {c['size']:6,} {c['adopters']:9,} {c['saturation']:11.3f}  {half:>11}")
    print(f"  adopters by period: {', '.join(str(v) for v in result['adopters_by_period'])}")
    if result["mean_exposure_at_adoption"] is not None:
        print(f"  mean exposure at adoption {result['mean_exposure_at_adoption']:.3f}, mean threshold "
              f"{result['mean_threshold']:.3f}")
    for name in ("contagion_test", "rewiring_test"):
        t = result[name]
        print(f"  {name.replace('_', ' ')} ({t['null_model']}, {t['draws']} draws): observed {t['observed_exposure']:.3f}, "
              f"null {t['null_mean']:.3f} [{t['null_low']:.3f}, {t['null_high']:.3f}], p = {t['p_value']:.3f}")
    print(f"  {result['verdict']}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from adoption.log.contract import DEFINITIONS

    q = sub.add_parser("diffusion", help="adoption curves by community, network exposure, a contagion test",
                       description="Per community: the adoption curve, saturation and time to 50%; each adopter's "
                                   "exposure (share of named contacts adopted earlier) and threshold; a discrete-time "
                                   "hazard model of adopting on exposure; and a contagion test against adoption "
                                   "times permuted within communities and contacts rewired.")
    q.add_argument("log", help="event-log folder with friendships (and adoptions, or payments)")
    q.add_argument("--definition", choices=DEFINITIONS, default="first_payment",
                   help="adoption in logs without an adoptions table (first_payment: contacts already paying)")
    q.add_argument("--period-days", type=positive, default=7.0,
                   help="period length for logs that are not imported surveys (7)")
    q.add_argument("--draws", type=count(1), default=999, help="re-draws of the contagion tests (999)")
    q.add_argument("--seed", type=count(0), default=0)
    add_log_options(q)
    q.set_defaults(handler=run)
