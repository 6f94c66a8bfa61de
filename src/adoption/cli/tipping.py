"""``adoption tipping``: the network's critical push against the mean field's, from many seeded runs."""

from __future__ import annotations

import argparse

from adoption.cli.options import add_executor, count, print_json, wide_pandas

__all__ = ["add_parser", "run"]


def _shares(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated shares like 0,0.05,0.1, got {text!r}") from None
    if not values or any(not 0 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected shares in [0, 1], got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    from adoption.tipping import TippingSpec, run_tipping

    base = {"n_users": args.users} if args.users else {}
    kwargs = {k: v for k, v in {"pushes": args.pushes, "replicates": args.replicates, "seed": args.seed,
                                "tip_share": args.tip_share}.items() if v is not None}
    spec = TippingSpec(scenario=args.scenario, base=base, target=args.target, graph=args.graph, **kwargs)
    result = run_tipping(spec, args.out, workers=args.workers, scheduler=args.scheduler,
                         progress=not args.quiet and not args.json, mean_field_draws=args.mean_field_draws)
    if args.json:
        print_json(result.to_dict())
        return 0
    with wide_pandas():
        print(result.curve.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    c, (low, high) = result.critical_push, result.critical_push_ci
    mf = result.mean_field_critical_push
    print(f"\ncritical push (P(tip) = 0.5): {c:.3f} [{low:.3f}, {high:.3f}] of users given "
          f"{spec.scenario_for(0).push_yuan:g} yuan ({spec.target}, {spec.graph} graph)")
    print(f"mean field of the same world (random push): {mf:.3f}; the network "
          f"{'agrees with it' if result.agrees_with_mean_field else 'differs from it'} "
          f"(difference {result.difference['estimate']:+.3f} [{result.difference['ci_low']:+.3f}, "
          f"{result.difference['ci_high']:+.3f}])")
    if result.note:
        print(f"note: {result.note}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tipping", help="the network's critical push (a tipping experiment) beside the mean field's",
                       description="Start a world that stalls with a push (a share of users given wallet money), "
                                   "over a range of pushes and many seeded runs each; fit the probability of "
                                   "tipping (Firth's logistic regression), the critical push with its interval, "
                                   "and compare it with the mean field of the same world.")
    p.add_argument("--scenario", default="no_red_packets", help="named scenario (default no_red_packets)")
    p.add_argument("--pushes", type=_shares, help="comma-separated push shares (default 0 to 0.2)")
    p.add_argument("--replicates", type=count(1), help="seeded runs per push (default 8)")
    p.add_argument("--target", choices=["random", "degree", "city"], default="random",
                   help="who is pushed: at random, the most connected first, or whole cities")
    p.add_argument("--graph", choices=["clustered", "well_mixed"], default="clustered",
                   help="the simulator's clustered graph, or a well-mixed one (where the mean field should hold)")
    p.add_argument("--tip-share", type=float, help="share of users active at the end that counts as tipped (0.5)")
    p.add_argument("--users", type=count(100), help="users per run (default: the scenario's)")
    p.add_argument("--seed", type=count(0), help="seed (default 0)")
    p.add_argument("--mean-field-draws", type=count(1), default=4,
                   help="draws of the world's users whose mean fields' critical pushes are averaged (default 4; "
                        "each is a search over runs of the mean field, a few seconds)")
    add_executor(p)
    p.add_argument("--out", required=True, help="folder for the results (a folder of the same experiment resumes)")
    p.add_argument("--json", action="store_true", help="print the critical push with its interval and the curve as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)
