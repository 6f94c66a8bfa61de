"""What the simulator knows and an analysis of its log can only estimate: the effect of receiving.

The world runs a randomized holdout, as a platform would: ``holdout_share`` of users, drawn at random,
cannot receive; money sent to them is refused and the attempt is recorded here, never in the log. So the
effect of receiving on activation among would-be receivers is known by experiment:

``att_90d``
    the share of actual receivers active within 90 days of their first receipt minus the share of held-out
    would-be receivers active within 90 days of their first *attempted* receipt (users not yet active then,
    with 90 days left in the period; leaving before activating counts as not activating), with a Wald 95%
    interval;
``hazard_ratio``
    of activation for receivers against held-out would-be receivers, from the first (attempted) receipt,
    censored at leaving and at the end (a Cox model on the experiment's two arms, :func:`binary_cox`), with
    its 95% interval.

Both compare randomized arms, so they are what an analysis of the log should recover. They are the effect
of receiving *when money is sent*: the held-out were chosen to receive by the same process as the
receivers, before the coin decided.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adoption.intervals import normal_interval
from adoption.world.state import NEVER, WorldState

__all__ = ["MIN_EVENTS_PER_ARM", "TRUTH_HORIZON_DAYS", "binary_cox", "effect_truth"]

#: The horizon of ``att_90d`` (days).
TRUTH_HORIZON_DAYS = 90.0
#: The hazard ratio needs at least this many activations in each arm (else it is reported as not estimated).
MIN_EVENTS_PER_ARM = 10


def effect_truth(w: WorldState, horizon: float = TRUTH_HORIZON_DAYS) -> dict[str, Any]:
    """The experiment's truth for a finished run (see the module docstring), as JSON-ready values.

    Examples
    --------
    >>> from adoption.world.engine import run_world
    >>> from adoption.world.scenario import Scenario
    >>> w = run_world(Scenario(n_users=3000, end="2014-09-30", campaigns=False, holdout_share=0.2), None, seed=2)
    >>> truth = effect_truth(w)
    >>> truth["att_90d_ci_low"] < truth["att_90d"] < truth["att_90d_ci_high"]
    True
    """
    first = np.where(w.holdout, w.attempted, w.reached)
    at_risk = np.isfinite(first) & (w.active > first)
    followed = at_risk & (first <= w.n_days - horizon)
    with np.errstate(invalid="ignore"):  # never reached and never active: inf - inf
        activated = (w.active - first) <= horizon
    arms = {}
    for arm, members in (("receivers", followed & ~w.holdout), ("held_out", followed & w.holdout)):
        n = int(members.sum())
        arms[arm] = (n, float(activated[members].mean()) if n else float("nan"))
    (n1, p1), (n0, p0) = arms["receivers"], arms["held_out"]
    att = p1 - p0
    se = float(np.sqrt(p1 * (1 - p1) / max(n1, 1) + p0 * (1 - p0) / max(n0, 1))) if n1 and n0 else float("nan")
    hr, hr_low, hr_high, hr_note = _hazard_ratio(w, first, at_risk)
    att_low, att_high = normal_interval(att, se)
    s = w.s
    return {
        "source": "adoption.simulate",
        "horizon_days": horizon,
        "holdout_share": s.holdout_share,
        "att_90d": att, "att_90d_ci_low": att_low, "att_90d_ci_high": att_high,
        "activated_90d_receivers": p1, "activated_90d_held_out": p0,
        "n_receivers_followed": n1, "n_held_out_followed": n0,
        "hazard_ratio": hr, "hazard_ratio_ci_low": hr_low, "hazard_ratio_ci_high": hr_high,
        "n_held_out": int(w.holdout.sum()),
        "contagion_units_back": s.contagion_units_back,
        "value_weights": {"money_per_log_yuan": s.value_money, "paying_friends_per_log": s.value_paying_friends,
                          "merchant_share": s.value_merchants, "festival_per_log_multiplier": s.value_festival},
        "note": "held-out users cannot receive (randomized); their attempted receipts are not in the log",
        "hazard_ratio_note": hr_note,
    }


def _hazard_ratio(w: WorldState, first: np.ndarray, at_risk: np.ndarray) -> tuple[float, float, float, str | None]:
    """Cox hazard ratio (receivers vs held-out would-be receivers) with its 95% interval, and a note when it
    cannot be estimated (too few activations in an arm)."""
    nan = float("nan")
    users = np.flatnonzero(at_risk & (first < w.n_days))
    treated = ~w.holdout[users]
    end = np.minimum(np.minimum(w.left[users], float(w.n_days)), w.active[users])
    event = (w.active[users] != NEVER) & (w.active[users] <= np.minimum(w.left[users], float(w.n_days)))
    fewest = min(int((event & treated).sum()), int((event & ~treated).sum()))
    if fewest < MIN_EVENTS_PER_ARM:
        return nan, nan, nan, f"not estimated: {fewest} activations in an arm (needs {MIN_EVENTS_PER_ARM})"
    beta, se = binary_cox(np.maximum(end - first[users], 1e-9), event, treated)
    low, high = normal_interval(beta, se)  # on the log scale
    return float(np.exp(beta)), float(np.exp(low)), float(np.exp(high)), None


def binary_cox(durations: np.ndarray, events: np.ndarray, exposed: np.ndarray, iterations: int = 50
               ) -> tuple[float, float]:
    """The Cox log hazard ratio of a binary exposure and its standard error (Breslow's ties).

    With one binary covariate the partial likelihood needs only how many exposed and unexposed are at risk at
    each event time, so it is computed exactly in O(n log n) and maximised by Newton's method. (Kept here
    instead of lifelines, which is tested to give the same answer, because it takes milliseconds at a
    million users where lifelines takes minutes.)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random(20_000) < 0.5
    >>> t = rng.exponential(1.0, 20_000) / np.where(x, 2.0, 1.0)
    >>> beta, se = binary_cox(t, np.ones(20_000, dtype=bool), x)
    >>> round(float(np.exp(beta)), 1), se < 0.02
    (2.0, True)
    """
    order = np.argsort(-durations, kind="stable")  # latest first: the risk set grows as time goes back
    t, d, x = durations[order], events[order].astype(bool), exposed[order].astype(float)
    at_risk_1 = np.cumsum(x)
    at_risk_0 = np.cumsum(1.0 - x)
    # ties: everyone with the same time is at risk at it (use the counts at the last of each tie)
    last_of_tie = np.r_[t[1:] != t[:-1], True]
    idx = np.flatnonzero(last_of_tie)
    group = np.r_[0, np.cumsum(last_of_tie[:-1])]
    r1, r0 = at_risk_1[idx][group], at_risk_0[idx][group]
    r1, r0, xe = r1[d], r0[d], x[d]
    beta = 0.0
    for _ in range(iterations):
        e = np.exp(beta)
        share = r1 * e / (r1 * e + r0)
        score = float(np.sum(xe - share))
        info = float(np.sum(share * (1.0 - share)))
        step = float(np.clip(score / max(info, 1e-300), -2.0, 2.0))  # a damped Newton step
        beta += step
        if abs(step) < 1e-10:
            break
    e = np.exp(beta)
    share = r1 * e / (r1 * e + r0)
    return float(beta), float(1.0 / np.sqrt(max(float(np.sum(share * (1.0 - share))), 1e-300)))
