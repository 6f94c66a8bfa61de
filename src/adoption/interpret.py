"""What the numbers mean, in one sentence each, and never more than they support.

Every report section ends with a reading of its numbers. Each reading is one function here that takes the
numbers (never a fitted object) and returns one or two plain sentences, so that it is tested on hand-made
values and the same judgement reads the same in every report, the CLI and the JSON:

- :func:`prediction_skill`: a classifier's AUC against chance, with its interval;
- :func:`targeting_value`: targeting by predicted uplift against random targeting (the Qini area);
- :func:`adjustment_shift`: what adjusting for covariates did to an effect estimate, and what that says
  about selection;
- :func:`hazard_ratio_reading`: which hazard ratios differ from 1 and where proportional hazards fails;
- :func:`placebo_reading`: the negative-control exposure;
- :func:`permutation_p_reading`: a permutation p-value, and whether it is only the smallest the draws allow;
- :func:`truth_reading`: estimates set beside a known truth.

Interval rules: an estimate is called different from its null value only when its 95% interval excludes it;
"no better than chance" is said when the interval includes chance, whatever the point estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["adjustment_shift", "hazard_ratio_reading", "permutation_p_reading", "placebo_reading",
           "prediction_skill", "targeting_value", "truth_reading"]

#: AUC bands (Hosmer, Lemeshow & Sturdivant, *Applied Logistic Regression*, 3rd ed., 2013, p. 177).
AUC_BANDS: tuple[tuple[float, str], ...] = ((0.9, "outstanding"), (0.8, "excellent"), (0.7, "acceptable"),
                                            (0.6, "poor"), (0.0, "barely better than chance"))


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def prediction_skill(auc: float, ci_low: float, ci_high: float) -> str:
    """How well a classifier separates the two outcomes, judged by its AUC and 95% interval.

    Examples
    --------
    >>> prediction_skill(0.51, 0.49, 0.53)
    'This model predicts no better than chance (AUC 0.51 [0.49, 0.53]): do not use it to pick users.'
    >>> prediction_skill(0.90, 0.89, 0.91)
    'This model separates who activates from who does not; discrimination is outstanding (AUC 0.90 [0.89, 0.91]).'
    """
    if not _finite(auc, ci_low, ci_high):
        return "The model's discrimination could not be measured (no AUC)."
    interval = f"AUC {auc:.2f} [{ci_low:.2f}, {ci_high:.2f}]"
    if ci_low <= 0.5 <= ci_high:
        return f"This model predicts no better than chance ({interval}): do not use it to pick users."
    if ci_high < 0.5:
        return f"This model ranks users worse than chance ({interval}): something in it is inverted or overfitted."
    band = next(name for bound, name in AUC_BANDS if auc >= bound)
    return f"This model separates who activates from who does not; discrimination is {band} ({interval})."


def targeting_value(qini_share: float, ci_low: float, ci_high: float) -> str:
    """Targeting by predicted uplift against random targeting, from the normalised Qini area and its interval.

    ``qini_share`` is the area between the Qini curve and the random-targeting diagonal divided by the
    total gain of treating everyone (0: no better than random; negative: worse).

    Examples
    --------
    >>> targeting_value(-0.12, -0.20, -0.05)
    'Targeting by predicted uplift does worse than random targeting here (Qini area -0.12 [-0.20, -0.05] of the total gain): target at random or by another rule.'
    >>> targeting_value(0.02, -0.03, 0.07)
    'Targeting by predicted uplift does no better than random targeting here (Qini area +0.02 [-0.03, +0.07] of the total gain).'
    """
    if not _finite(qini_share, ci_low, ci_high):
        return "Whether targeting by predicted uplift beats random targeting could not be measured."
    interval = f"Qini area {qini_share:+.2f} [{ci_low:+.2f}, {ci_high:+.2f}] of the total gain"
    if ci_high < 0:
        return (f"Targeting by predicted uplift does worse than random targeting here ({interval}): "
                "target at random or by another rule.")
    if ci_low <= 0:
        return f"Targeting by predicted uplift does no better than random targeting here ({interval})."
    return (f"Targeting the users with the highest predicted uplift first buys more extra activations than random "
            f"targeting ({interval}).")


def adjustment_shift(naive: tuple[float, float, float], adjusted: tuple[float, float, float], *,
                     scale: str = "hazard ratio") -> str:
    """What adjusting for covariates did to an effect estimate, each given as (estimate, ci_low, ci_high).

    On the log scale: the adjusted estimate is "larger" when it lies farther from 1 than the naive one and
    outside the naive interval. A larger adjusted effect means the measured covariates do not explain
    the naive difference as selection (receivers are not simply the users who would have adopted anyway,
    as far as the covariates see); it says nothing about unmeasured traits.

    Examples
    --------
    >>> adjustment_shift((5.8, 5.0, 6.7), (14.5, 12.0, 17.5))
    'The effect estimate is larger after adjustment (hazard ratio 5.8 to 14.5): the measured covariates do not explain the naive difference as selection; unmeasured traits still could.'
    >>> adjustment_shift((5.8, 5.0, 6.7), (2.1, 1.8, 2.4))
    'The effect estimate is smaller after adjustment (hazard ratio 5.8 to 2.1): part of the naive difference is who receives, not the receipt.'
    """
    (n, n_lo, n_hi), (a, a_lo, a_hi) = naive, adjusted
    if not _finite(n, a) or n <= 0 or a <= 0:
        return "The naive and adjusted estimates cannot be compared (one is missing)."
    change = f"{scale} {_num(n)} to {_num(a)}"
    inside = _finite(n_lo, n_hi) and n_lo <= a <= n_hi
    if inside:
        return f"Adjustment changes the estimate little ({change}, within the naive interval)."
    if abs(math.log(a)) > abs(math.log(n)) and (a - 1) * (n - 1) >= 0:
        return (f"The effect estimate is larger after adjustment ({change}): the measured covariates do not explain "
                "the naive difference as selection; unmeasured traits still could.")
    if (a - 1) * (n - 1) < 0 and not (_finite(a_lo, a_hi) and a_lo <= 1 <= a_hi):
        return f"Adjustment reverses the direction of the estimate ({change}): selection dominates the naive comparison."
    return (f"The effect estimate is smaller after adjustment ({change}): part of the naive difference is who "
            "receives, not the receipt.")


def hazard_ratio_reading(rows: Iterable[Mapping[str, Any]] | Any, *, alpha: float = 0.05) -> str:
    """Which hazard ratios differ from 1, and where the proportional-hazards test fails.

    ``rows`` holds one mapping per covariate with ``covariate``, ``hazard_ratio``, ``ci_low``, ``ci_high``
    and optionally ``ph_p`` (the Schoenfeld-residual test); a DataFrame indexed by covariate works too.

    Examples
    --------
    >>> hazard_ratio_reading([{"covariate": "a", "hazard_ratio": 1.01, "ci_low": 0.95, "ci_high": 1.08, "ph_p": 0.5},
    ...                       {"covariate": "b", "hazard_ratio": 0.99, "ci_low": 0.90, "ci_high": 1.09, "ph_p": 0.001}])
    'No covariate is associated with faster or slower activation: every hazard ratio is within noise of 1. The proportional-hazards assumption fails for b: read its hazard ratio as an average over follow-up.'
    """
    rows = _records(rows)
    if not rows:
        return "There are no hazard ratios to read."
    faster = [r["covariate"] for r in rows if _finite(r.get("ci_low")) and r["ci_low"] > 1]
    slower = [r["covariate"] for r in rows if _finite(r.get("ci_high")) and r["ci_high"] < 1]
    if not faster and not slower:
        text = "No covariate is associated with faster or slower activation: every hazard ratio is within noise of 1."
    else:
        parts = []
        if faster:
            parts.append(f"faster activation goes with {_join(faster)}")
        if slower:
            parts.append(f"slower with {_join(slower)}")
        text = "; ".join(parts).capitalize() + " (95% intervals exclude 1); these are associations, not effects."
    failing = [r["covariate"] for r in rows if _finite(r.get("ph_p")) and r["ph_p"] < alpha]
    if failing:
        its = "its hazard ratio" if len(failing) == 1 else "their hazard ratios"
        text += (f" The proportional-hazards assumption fails for {_join(failing)}: read {its} as an average over "
                 "follow-up.")
    return text


def placebo_reading(hazard_ratio: float, ci_low: float, ci_high: float, *, lead_days: float = 30) -> str:
    """The negative-control exposure ("will receive within the next ``lead_days`` days") against 1.

    Examples
    --------
    >>> placebo_reading(1.67, 1.41, 1.97)
    'Placebo check fails: users about to receive (within 30 days) already activate faster (HR 1.67 [1.41, 1.97]), which a future receipt cannot cause; the covariates miss part of the selection, and the adjusted estimate is biased by it.'
    >>> placebo_reading(1.02, 0.9, 1.15)
    'Placebo check passes: users about to receive (within 30 days) activate like the others (HR 1.02 [0.90, 1.15]); this is one consequence of no unmeasured confounding, not a proof of it.'
    """
    if not _finite(hazard_ratio, ci_low, ci_high):
        return "The placebo check could not be run on this log."
    interval = f"HR {hazard_ratio:.2f} [{ci_low:.2f}, {ci_high:.2f}]"
    if ci_low <= 1 <= ci_high:
        return (f"Placebo check passes: users about to receive (within {lead_days:g} days) activate like the others "
                f"({interval}); this is one consequence of no unmeasured confounding, not a proof of it.")
    way = "faster" if ci_low > 1 else "slower"
    return (f"Placebo check fails: users about to receive (within {lead_days:g} days) already activate {way} "
            f"({interval}), which a future receipt cannot cause; the covariates miss part of the selection, and the "
            "adjusted estimate is biased by it.")


def permutation_p_reading(p_value: float, draws: int, *, alpha: float = 0.05, what: str = "contagion") -> str:
    """A permutation p-value, said with the smallest value its number of draws allows, ``1 / (draws + 1)``.

    Examples
    --------
    >>> permutation_p_reading(0.091, 10)
    'p = 0.091 is the smallest p-value 10 shuffles can give: no shuffle was as extreme as the data, and with so few shuffles that is not evidence of contagion at the 5% level; use at least 999.'
    >>> permutation_p_reading(0.001, 999)
    'p = 0.001 from 999 shuffles (the smallest possible): none was as extreme as the data; evidence of contagion at the 5% level.'
    >>> permutation_p_reading(0.31, 999)
    'p = 0.31 from 999 shuffles: the data are no more extreme than chance arrangements; no evidence of contagion.'
    """
    if not _finite(p_value) or draws < 1:
        return "The permutation test could not be run."
    floor = 1.0 / (draws + 1)
    at_floor = p_value <= floor * 1.01  # a p-value read back rounded still counts
    if at_floor and floor >= alpha:
        return (f"p = {p_value:.2g} is the smallest p-value {draws} shuffles can give: no shuffle was as extreme as "
                f"the data, and with so few shuffles that is not evidence of {what} at the {alpha:.0%} level; "
                "use at least 999.")
    if at_floor:
        return (f"p = {p_value:.2g} from {draws} shuffles (the smallest possible): none was as extreme as the data; "
                f"evidence of {what} at the {alpha:.0%} level.")
    if p_value < alpha:
        return f"p = {p_value:.2g} from {draws} shuffles: evidence of {what} at the {alpha:.0%} level."
    return (f"p = {p_value:.2g} from {draws} shuffles: the data are no more extreme than chance arrangements; "
            f"no evidence of {what}.")


def truth_reading(rows: Iterable[Mapping[str, Any]] | Any) -> str:
    """Estimates beside a known truth: which intervals cover it, and how far the others are.

    ``rows``: mappings with ``estimate``, ``value`` and ``covers`` (an empty input means no truth).

    Examples
    --------
    >>> truth_reading([{"estimate": "naive", "value": 19.3, "covers": False, "truth": 22.4},
    ...                {"estimate": "adjusted", "value": 22.0, "covers": True, "truth": 22.4}])
    'The interval of adjusted covers the true effect; naive (19.3 against 22.4) misses it.'
    """
    rows = _records(rows)
    if not rows:
        return "This log carries no truth (a real log): no estimate here can be checked against an experiment."
    covering = [r["estimate"] for r in rows if bool(r.get("covers"))]
    missing = [r for r in rows if not bool(r.get("covers"))]
    text = (f"The interval of {_join(covering)} covers the true effect" if covering
            else "No estimate's interval covers the true effect")
    if missing:
        misses = ", ".join(f"{r['estimate']} ({_num(r['value'])} against {_num(r['truth'])})" for r in missing
                           if _finite(r.get("value"), r.get("truth")))
        verb = "misses" if len(missing) == 1 else "miss"
        text += f"; {misses} {verb} it" if covering else f": {misses}"
    return text + "."


def _records(rows: Any) -> list[dict[str, Any]]:
    if hasattr(rows, "reset_index") and hasattr(rows, "to_dict"):  # a DataFrame
        frame = rows if "covariate" in getattr(rows, "columns", ()) or rows.index.name is None else \
            rows.reset_index().rename(columns={rows.index.name: "covariate"})
        return list(frame.to_dict("records"))
    return [dict(r) for r in rows]


def _join(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
