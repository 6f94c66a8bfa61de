"""Policies for the cold start: the smallest push of users, the smallest temporary subsidy, and their costs.

Each policy is judged on a :class:`~adoption.market.model.TwoSidedMarket`: does the market, started from
``start`` and changed by the policy, reach the high equilibrium?
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from adoption.errors import ParameterError
from adoption.market.model import Side, TwoSidedMarket

__all__ = ["seeding_comparison", "smallest_push", "smallest_subsidy", "subsidy_cost"]


def _bisect(works: Callable[[float], bool], high: float, tol: float) -> float:
    """The smallest x in [0, high] with works(x) (assumes monotone); nan when even ``high`` fails."""
    if works(0.0):
        return 0.0
    if not works(high):
        return float("nan")
    lo, hi = 0.0, high
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    return hi


def smallest_push(market: TwoSidedMarket, start: tuple[float, float] = (0.0, 0.0), tol: float = 1e-4) -> float:
    """The smallest share of users to put into wallets at once (red packets through friends) that tips.

    The push moves the start from (u0, m0) to (u0 + push, m0); merchants come by themselves.

    Examples
    --------
    >>> round(smallest_push(TwoSidedMarket(2.0, 1.5, 0.3, 0.2), (0.0, 0.0)), 2)
    0.7
    """
    u0, m0 = start
    return _bisect(lambda s: market.tips(min(u0 + s, 1.0), m0), 1.0 - u0, tol)


def smallest_subsidy(market: TwoSidedMarket, side: Side = "merchants", duration: float = 10.0,
                     start: tuple[float, float] = (0.0, 0.0), tol: float = 1e-4, high: float = 2.0) -> float:
    """The smallest temporary price cut on one side, held for ``duration``, that tips the market."""
    if side not in ("users", "merchants"):
        raise ParameterError(f"side: expected 'users' or 'merchants', got {side!r}")
    key = f"subsidy_{side}"
    return _bisect(lambda s: market.tips(*start, **{key: s, "subsidy_until": duration}), high, tol)


def subsidy_cost(market: TwoSidedMarket, side: Side, amount: float, duration: float,
                 start: tuple[float, float] = (0.0, 0.0)) -> float:
    """What a temporary subsidy pays out: amount x the subsidised side's adopting share, integrated over time."""
    path = market.trajectory(*start, t_max=duration, n_points=401,
                             **{f"subsidy_{side}": amount, "subsidy_until": duration})
    return float(amount * np.trapezoid(path[side], path["t"]))


def seeding_comparison(market: TwoSidedMarket, start: tuple[float, float] = (0.0, 0.0), duration: float = 10.0,
                       cash_per_user: float = 1.0, horizon: float = 200.0) -> pd.DataFrame:
    """Red packets as seeding against subsidies: the smallest dose of each that tips, its cost and speed.

    Costs are in the model's money (the taste range) per head of the subsidised side: a red-packet push of
    share s costs ``s * cash_per_user``; a temporary subsidy pays the price cut to every adopter while it
    lasts. Rows: red-packet push (users), user subsidy, merchant subsidy.

    Examples
    --------
    >>> table = seeding_comparison(TwoSidedMarket(2.0, 1.5, 0.3, 0.2))
    >>> table["strategy"].tolist()
    ['red-packet push', 'user subsidy', 'merchant subsidy']
    """
    rows = []
    push = smallest_push(market, start)
    if np.isfinite(push):
        at = (min(start[0] + push, 1.0), start[1])
        rows.append({"strategy": "red-packet push", "dose": push, "cost": push * cash_per_user,
                     "time_to_tip": market.time_to_tip(*at, t_max=horizon)})
    else:
        rows.append({"strategy": "red-packet push", "dose": np.nan, "cost": np.nan, "time_to_tip": np.inf})
    for side in ("users", "merchants"):
        dose = smallest_subsidy(market, side, duration, start)
        if np.isfinite(dose):
            cost = subsidy_cost(market, side, dose, duration, start)
            t = market.time_to_tip(*start, t_max=horizon, **{f"subsidy_{side}": dose, "subsidy_until": duration})
        else:
            cost, t = np.nan, np.inf
        rows.append({"strategy": f"{side[:-1]} subsidy", "dose": dose, "cost": cost, "time_to_tip": t})
    return pd.DataFrame(rows)
