"""``adoption effect LOG``: the effect of receiving on activation, naive and adjusted, as hazard ratios."""

from __future__ import annotations

import argparse

from adoption.cli.options import add_log_options, count, date, positive, print_json, read_for_analysis

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from adoption.analysis.causal import ReceiptEffect
    from adoption.analysis.msm import MarginalStructuralCox
    from adoption.analysis.receipt_history import ReceiptDose

    log = read_for_analysis(args)
    fx = ReceiptEffect(seed=args.seed, exposure_start=args.exposure_start).fit(log, args.definition, k=args.k,
                                                                              d=args.d)
    msm = MarginalStructuralCox(exposure_start=args.exposure_start).fit(log, args.definition, k=args.k, d=args.d)
    dose = ReceiptDose(exposure_start=args.exposure_start).fit(log, args.definition, k=args.k, d=args.d)
    result = fx.to_dict() | msm.to_dict() | dose.to_dict()
    if args.json:
        print_json(result)
        return 0
    print(f"effect of receiving on activation ({fx.n_users_:,} users at risk from "
          f"{fx.exposure_origin_.at:%Y-%m-%d %H:%M}, {fx.n_receivers_:,} exposed)")
    if fx.exposure_origin_.warning:
        print(f"  warning: {fx.exposure_origin_.warning}")
    if fx.imputed_:
        print(f"  missing values filled with the median plus an indicator: {', '.join(fx.imputed_)}")
    for name, row in [*fx.effects_.iterrows(), ("marginal_structural", msm.effect_)]:
        print(f"  {name:<20} HR {row['hazard_ratio']:7.3f}  [{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    print(f"  {msm.summary()}")
    print("  exposure over time (hazard ratios, adjusted):")
    labels = {"received": "has received", "log2_receipts": "per doubling of receipts",
              "log2_yuan": "per doubling of 1 + yuan received", "recent_7d": "a receipt in the past 7 days"}
    for term, row in dose.history_.iterrows():
        print(f"    {labels[term]:<36} HR {row['hazard_ratio']:7.3f}  [{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    print("  dose-response by yuan received so far (against none):")
    for row in dose.dose_response_.itertuples():
        print(f"    {row.band:<16} HR {row.hazard_ratio:8.2f}  [{row.ci_low:.2f}, {row.ci_high:.2f}]  "
              f"{row.events:,} activations in {row.person_days:,.0f} person-days")
    if result["e_value"] is not None:
        print(f"  E-value of the adjusted HR: {result['e_value']:.2f} (its interval's limit: {result['e_value_ci']:.2f}): "
              "a confounder this strongly tied to both receiving and activating could explain it away")
    placebo = (f"  placebo (will receive within {fx.placebo_lead:g} days): HR {result['placebo_hazard_ratio']:.3f} "
               f"[{result['placebo_ci_low']:.3f}, {result['placebo_ci_high']:.3f}]")
    print(placebo + (" -- excludes 1: residual confounding, the adjusted HR is biased" if result["residual_confounding"]
                     else " -- covers 1: no sign of residual confounding"))
    print(f"  assumes {result['assumption']}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from adoption.log.contract import DEFINITIONS

    q = sub.add_parser("effect", help="naive vs adjusted effect of receiving, as hazard ratios",
                       description="Hazard ratios of activation for receiving money: naive, receipt as a "
                                   "time-varying exposure, adjusted for pre-exposure covariates, a marginal "
                                   "structural Cox model weighted for time-updated covariates; the history of "
                                   "receipts (count, yuan, recency) and the dose-response by yuan received.")
    q.add_argument("log", help="event-log folder")
    q.add_argument("--definition", choices=DEFINITIONS, default="first_action")
    q.add_argument("--k", type=count(1), default=3, help="for k_payments: payments needed")
    q.add_argument("--d", type=positive, default=30.0, help="for k_payments: within this many days")
    q.add_argument("--exposure-start", type=date, default=None, metavar="DATE",
                   help="when receipts became possible: risk sets open then (default: the log's first receipt)")
    q.add_argument("--seed", type=count(0), default=0)
    add_log_options(q)
    q.set_defaults(handler=run)
