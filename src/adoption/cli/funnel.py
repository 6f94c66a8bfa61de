"""``adoption funnel LOG``: QR campaign channels, sharing and return visits."""

from __future__ import annotations

import argparse

from adoption.cli.options import (
    add_log_options,
    count,
    print_json,
    read_for_analysis,
)
from adoption.errors import InputError

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.analysis.funnel import NO_SCANS, campaign_report

    log = read_for_analysis(args)
    report = campaign_report(log, args.campaign, method=args.interval, correction=args.correction, seed=args.seed)
    if report is None:
        raise InputError(NO_SCANS)
    result = report.to_dict()
    shares, pairs, channels = report.sharing, report.comparisons, result["channels"]
    if args.json:
        print_json(result)
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("funnel", help="QR campaign channels: scans, conversions, sharing, returns",
                       description="Per campaign, channel and placement: scans, conversions and the conversion rate "
                                   "with its 95% interval, pairwise channel comparisons, an uncertainty-aware ranking, "
                                   "the viral coefficient of sharing and the follow-up lift in return visits.")
    p.add_argument("log", help="event-log folder (needs scans; payments for conversions)")
    p.add_argument("--campaign", help="only this campaign")
    p.add_argument("--interval", choices=["wilson", "jeffreys"], default="wilson")
    p.add_argument("--correction", choices=["holm", "bh"], default="holm", help="multiple-testing correction")
    p.add_argument("--seed", type=count(0), default=0, help="for the ranking draws and the bootstrap")
    add_log_options(p)
    p.set_defaults(handler=run)
