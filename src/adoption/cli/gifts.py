"""``adoption gifts LOG``: the lucky split as a natural experiment (gift contagion, the amount's effect)."""

from __future__ import annotations

import argparse

from adoption.cli.options import add_log_options, positive, print_json, read_for_analysis

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.analysis.gifts import GiftContagion

    log = read_for_analysis(args)
    gifts = GiftContagion(window_hours=args.window_hours, horizon=args.horizon, definition=args.definition,
                          interference=args.interference).fit(log)
    if args.json:
        print_json(gifts.to_dict())
        return 0
    result = gifts.to_dict()
    print(f"lucky packets: {result['receivers']:,} receivers able to send, {result['packets']:,} packets, "
          f"{result['groups']:,} groups (clusters)")
    print(f"  units sent back per unit received   {result['units_back_per_unit']:.3f}  "
          f"[{result['units_back_ci_low']:.3f}, {result['units_back_ci_high']:.3f}]")
    print(f"  the luckiest draw, extra per unit   {result['luckiest_extra_per_unit']:+.3f}  "
          f"[{result['luckiest_extra_ci_low']:+.3f}, {result['luckiest_extra_ci_high']:+.3f}]")
    if args.interference == "correct":
        print(f"  within-packet slope (at the co-receivers' expense)  {result['units_back_total_per_unit']:.3f}  "
              f"[{result['units_back_total_ci_low']:.3f}, {result['units_back_total_ci_high']:.3f}]")
    if result["activation_per_yuan"] is not None:
        print(f"  activation within {args.horizon:g} days, per yuan  {result['activation_per_yuan']:+.4f}  "
              f"[{result['activation_per_yuan_ci_low']:+.4f}, {result['activation_per_yuan_ci_high']:+.4f}] "
              f"({result['activation_receivers']:,} receivers not yet active)")
    print(gifts.verdict())
    print(f"assumes: {result['assumption']}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from adoption.log.contract import DEFINITIONS

    q = sub.add_parser("gifts", help="the lucky split as a natural experiment: money received, money sent back",
                       description="Within a group red packet the lucky-money rule splits the amount at random, so "
                                   "receivers of the same packet differ only by chance: the units each sends back "
                                   "into the group per unit received (gift contagion, packet fixed effects, errors "
                                   "clustered by group), and the amount's effect on activating.")
    q.add_argument("log", help="event-log folder (needs red_packets with group_id and red_packet_claims)")
    q.add_argument("--window-hours", type=positive, default=24.0, help="hours after a claim that count (24)")
    q.add_argument("--horizon", type=positive, default=90.0, help="days for the activation outcome (90)")
    q.add_argument("--definition", choices=DEFINITIONS, default="first_action",
                   help="activation: who is able to send, and the outcome")
    q.add_argument("--interference", choices=("correct", "ignore"), default="correct",
                   help="correct for what a larger share takes from the co-receivers' returns (default), or "
                        "report the within-packet slope itself")
    add_log_options(q)
    q.set_defaults(handler=run)
