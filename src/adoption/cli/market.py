"""``adoption market frontier``: equilibria, stability and the critical mass of the two-sided market."""

from __future__ import annotations

import argparse
import sys

from adoption.cli.options import (
    Parser,
    print_json,
)

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.market import TwoSidedMarket

    market = TwoSidedMarket(b_users=args.b_users, b_merchants=args.b_merchants, p_users=args.p_users,
                            p_merchants=args.p_merchants, l_users=args.l_users, l_merchants=args.l_merchants,
                            tastes=args.tastes, taste_spread=args.taste_spread)
    result = market.to_dict(frontier_points=args.points)
    reason = result["no_saddle_reason"]
    saddle = None if reason is not None else (result["saddle_users"], result["saddle_merchants"])
    if args.json:
        print_json(result)
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("market", help="the two-sided cold start (mean-field critical mass)",
                       description="Mean-field two-sided adoption (Evans & Schmalensee): equilibria, the "
                                   "critical-mass saddle and its frontier.")
    msub = p.add_subparsers(dest="market_command", metavar="WHAT", parser_class=Parser)
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
    f.set_defaults(handler=run)
