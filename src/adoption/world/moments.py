"""What a simulated world shows of the public figures: the moments a calibration compares with them.

Each moment is read from a finished run (:class:`~adoption.world.state.WorldState`), not from its
parameters; :data:`MOMENTS` says what each one is and which public figures it stands beside
(``data/reference/public_figures.csv``; :mod:`adoption.calibrate` holds the targets and tolerances).

Examples
--------
>>> from adoption.world.engine import run_world
>>> from adoption.world.scenario import Scenario
>>> w = run_world(Scenario(n_users=2000, campaigns=False), None, seed=1)
>>> m = world_moments(w)
>>> sorted(m) == sorted(MOMENTS)
True
>>> 0 < m["activated_90d_receivers"] < 1
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.world.state import WorldState
from adoption.world.truth import effect_truth

__all__ = ["MOMENTS", "world_moments"]

#: Every moment: what it measures in the simulated world.
MOMENTS: dict[str, str] = {
    "activated_90d_receivers": "share of receivers (not held out, not yet active) active within 90 days of their first receipt",
    "eve_growth_2015_over_2014": "red packets sent on the 2015 Eve over those sent on the 2014 Eve",
    "eve_over_ordinary_days_2015": "red packets on the 2015 Eve over the mean of 20 May and 1 June 2015 (no festival in the calendar)",
    "ordinary_days_over_festival_week_2015": "red packets per day on 20 May and 1 June 2015 over the mean day from the 2015 Eve to the fifth day of the new year",
    "wechat_over_alipay_users": "users with a bound card on 10 Nov 2015 (as a share, times WeChat's 650M monthly users) over Alipay's 190M annual active users of 2014",
}
#: WeChat's monthly active users in 2015Q3 and Alipay's annual active users of 2014 (public_figures.csv).
WECHAT_MAU_2015Q3 = 650e6
ALIPAY_ACTIVE_2014 = 190e6


def world_moments(w: WorldState) -> dict[str, float]:
    """The moments of :data:`MOMENTS` for a finished run (``nan`` where the period does not cover a date)."""
    times = w.out.peek("red_packets", "time", np.float64)
    per_day = np.bincount(np.floor(times[times >= 0]).astype(np.int64), minlength=w.n_days)[: w.n_days].astype(float)

    def packets(date: str) -> float:
        day = w.s.day_of(date)
        return float(per_day[int(day)]) if 0 <= day < w.n_days else float("nan")

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else (float("nan") if not np.isfinite(a) or a == 0 else float("inf"))

    eve_2014, eve_2015 = packets("2014-01-30"), packets("2015-02-18")
    ordinary = np.mean([packets("2015-05-20"), packets("2015-06-01")])
    week = np.mean([packets(str(d.date())) for d in pd.date_range("2015-02-18", "2015-02-23")])
    bound_day = w.s.day_of("2015-11-10")
    if 0 <= bound_day <= w.n_days:
        bound = np.minimum(w.active, w.withdraw_bind)
        present = (w.joined <= bound_day) & (w.left > bound_day)
        bound_share = float(np.mean(bound[present] <= bound_day)) if present.any() else float("nan")
    else:
        bound_share = float("nan")
    return {
        "activated_90d_receivers": float(effect_truth(w)["activated_90d_receivers"]),
        "eve_growth_2015_over_2014": ratio(eve_2015, eve_2014),
        "eve_over_ordinary_days_2015": ratio(eve_2015, ordinary),
        "ordinary_days_over_festival_week_2015": ratio(ordinary, week),
        "wechat_over_alipay_users": bound_share * WECHAT_MAU_2015Q3 / ALIPAY_ACTIVE_2014,
    }
