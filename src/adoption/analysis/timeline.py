"""Adoption over calendar time: users and merchants adopting, red packets per day, festival growth.

Everything here reads an :class:`~adoption.log.eventlog.EventLog`, so the cold-start report runs the same on
simulated and on real logs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.analysis.events import activation_times
from adoption.datasets.reference import festival_calendar, public_figures
from adoption.errors import InputError
from adoption.log.eventlog import EventLog

__all__ = ["adoption_curves", "days_to_share", "eve_growth", "packets_per_day", "scenario_summary"]


def adoption_curves(log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0
                    ) -> pd.DataFrame:
    """Daily shares of users active and of merchants accepting, over the observation window.

    Returns a DataFrame indexed by day with ``users_active`` (share of users who have made their first
    payment action) and ``merchants_accepting`` (share of merchants accepting; the denominator is
    ``meta["n_merchants"]`` when the log knows how many merchants there are in all, else the merchants
    table).

    Examples
    --------
    >>> from adoption import load_example
    >>> curves = adoption_curves(load_example())
    >>> bool(curves["users_active"].is_monotonic_increasing)
    True
    """
    start, end = log.window
    days = pd.date_range(start.normalize(), end.normalize(), freq="D", inclusive="left")
    act = activation_times(log, definition, k, d)
    n_users = len(log.users)
    active = np.searchsorted(np.sort(act.to_numpy()), (days + pd.Timedelta(days=1)).to_numpy(), side="left")
    out = pd.DataFrame({"users_active": active / max(n_users, 1)}, index=days)
    if log.merchants is not None:
        total = int(log.meta.get("n_merchants", len(log.merchants))) or 1
        acc = np.sort(log.merchants["accepts_from"].to_numpy())
        out["merchants_accepting"] = np.searchsorted(acc, (days + pd.Timedelta(days=1)).to_numpy()) / total
    out.index.name = "day"
    return out


def days_to_share(curves: pd.DataFrame, column: str, share: float) -> float:
    """Days from the start of the window until ``column`` first reaches ``share`` (inf if never).

    Examples
    --------
    >>> c = pd.DataFrame({"x": [0.1, 0.4, 0.6]}, index=pd.date_range("2014-01-01", periods=3))
    >>> days_to_share(c, "x", 0.5)
    2.0
    """
    reached = np.flatnonzero(curves[column].to_numpy() >= share)
    return float(reached[0]) if len(reached) else float("inf")


def packets_per_day(log: EventLog) -> pd.Series:
    """Red packets sent per day (0 on days without any).

    Examples
    --------
    >>> from adoption import load_example
    >>> per_day = packets_per_day(load_example())
    >>> int(per_day["2015-02-18"]) > 10 * int(per_day["2015-03-18"])
    True
    """
    if log.red_packets is None or log.red_packets.empty:
        raise InputError("timeline: the log has no red_packets to count")
    start, end = log.window
    days = pd.date_range(start.normalize(), end.normalize(), freq="D", inclusive="left")
    counts = log.red_packets["sent_at"].dt.normalize().value_counts()
    return counts.reindex(days, fill_value=0).rename("red_packets")


def eve_growth(log: EventLog) -> pd.DataFrame:
    """Red packets on each Chinese New Year's Eve in the log, and growth over the previous Eve, next to
    the public figures (``data/reference``) for the same Eves.

    Examples
    --------
    >>> from adoption import load_example
    >>> g = eve_growth(load_example())
    >>> list(g["year"])
    [2014, 2015]
    """
    per_day = packets_per_day(log)
    cal = festival_calendar()
    eves = cal.loc[cal["festival"] == "chinese_new_years_eve", "date"]
    eves = eves[(eves >= per_day.index[0]) & (eves <= per_day.index[-1])]
    figs = public_figures()
    public = figs[figs["series"] == "red_packets_eve"].set_index("date")["value"]
    rows = []
    for eve in eves:
        rows.append({"year": eve.year, "eve": eve.date(), "simulated_packets": int(per_day.get(eve, 0)),
                     "public_packets": float(public.get(eve, np.nan))})
    out = pd.DataFrame(rows)
    out["simulated_growth"] = out["simulated_packets"] / out["simulated_packets"].shift(1)
    out["public_growth"] = out["public_packets"] / out["public_packets"].shift(1)
    return out


def scenario_summary(logs: dict[str, EventLog], critical_share: float = 0.5, horizon: float = 90.0) -> pd.DataFrame:
    """One row per scenario: final shares of active users and accepting merchants, days until merchants
    reach ``critical_share``, and the share of receivers active within ``horizon`` days (before leaving:
    Aalen–Johansen).

    Examples
    --------
    >>> from adoption import Scenario, simulate
    >>> logs = {"default": simulate(Scenario(n_users=1_000, end="2014-06-30"), seed=1)}
    >>> list(scenario_summary(logs).columns)[:2]
    ['scenario', 'users_active_end']
    """
    from adoption.analysis.activation import activation_table
    from adoption.analysis.survival import CompetingRisks

    rows = []
    for name, log in logs.items():
        curves = adoption_curves(log)
        try:
            headline = CompetingRisks(horizon=horizon).fit(activation_table(log)).headline_.iloc[0]
            incidence = float(headline["cumulative_incidence"])
        except InputError:
            incidence = float("nan")
        rows.append({"scenario": name, "users_active_end": float(curves["users_active"].iloc[-1]),
                     "merchants_accepting_end": float(curves.get("merchants_accepting", pd.Series([np.nan])).iloc[-1]),
                     f"days_to_{int(critical_share * 100)}pct_merchants": days_to_share(curves, "merchants_accepting",
                                                                                       critical_share)
                     if "merchants_accepting" in curves else float("nan"),
                     "days_to_half_users_active": days_to_share(curves, "users_active", 0.5),
                     f"activated_within_{int(horizon)}d": incidence,
                     "red_packets": 0 if log.red_packets is None else len(log.red_packets)})
    return pd.DataFrame(rows)
