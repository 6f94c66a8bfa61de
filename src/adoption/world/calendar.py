"""Festival calendar: how much more people send on each day of the simulated period.

Chinese New Year's Eve is the peak (the Spring Festival Gala evening), the first day of the new year
follows, the rest of the festival week decays; Qixi and Mid-Autumn are smaller peaks. Dates come from
``data/reference/calendar.csv``; multipliers from the :class:`~adoption.world.scenario.Scenario`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.datasets.reference import festival_calendar
from adoption.world.scenario import Scenario

__all__ = ["DIURNAL", "EVE_DIURNAL", "daily_multipliers"]

#: Relative activity by hour of day (CST) on an ordinary day: lunch and evening peaks.
DIURNAL = np.array([0.5, 0.3, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 1.8, 2.0, 2.0, 2.2,
                    2.6, 2.2, 1.8, 1.8, 1.9, 2.1, 2.4, 2.8, 3.0, 2.8, 2.2, 1.2])
#: On festival evenings activity piles up from 19:00 to midnight (the Gala).
EVE_DIURNAL = DIURNAL * np.r_[np.ones(19), [4.0, 6.0, 7.0, 8.0, 9.0]]


def daily_multipliers(scenario: Scenario, calendar: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per simulated day: the red-packet sending multiplier, the transfer multiplier and whether it is a festival evening.

    Parameters
    ----------
    scenario : Scenario
        Gives the period and the multipliers.
    calendar : DataFrame, optional
        Festival dates (default: :func:`adoption.datasets.reference.festival_calendar`).

    Returns
    -------
    DataFrame
        Indexed by date, columns ``packets``, ``transfers`` (multipliers, 1 on an ordinary day),
        ``evening`` (bool) and ``festival`` (name or empty).

    Examples
    --------
    >>> m = daily_multipliers(Scenario())
    >>> float(m.loc["2015-02-18", "packets"]), float(m.loc["2015-03-18", "packets"])
    (30.0, 1.0)
    """
    cal = festival_calendar() if calendar is None else calendar
    days = pd.date_range(scenario.start, scenario.end, freq="D")
    week = scenario.festival_week_multiplier
    marks: list[tuple[pd.Timestamp, float, str, bool]] = []  # (day, multiplier, festival, the festival's own day)
    for festival, date in zip(cal["festival"], cal["date"], strict=True):
        date = pd.Timestamp(date).normalize()
        if festival == "chinese_new_years_eve":
            marks.append((date, scenario.eve_multiplier, festival, True))
        elif festival == "spring_festival":
            marks.append((date, scenario.spring_festival_multiplier, festival, True))
            # days 2..6 of the new year, decaying towards 1
            marks += [(date + pd.Timedelta(days=k), 1 + (week - 1) * (1 - (k - 1) / 5), festival, False)
                      for k in range(1, 6)]
        elif festival == "qixi":
            marks.append((date, scenario.qixi_multiplier, festival, True))
        else:
            marks.append((date, scenario.mid_autumn_multiplier, festival, True))
    packets, transfers = np.ones(len(days)), np.ones(len(days))
    evening, names = np.zeros(len(days), dtype=bool), np.full(len(days), "", dtype=object)
    where = days.get_indexer([day for day, _, _, _ in marks]) if marks else np.empty(0, dtype=np.int64)
    for i, (_, mult, festival, own_day) in zip(where.tolist(), marks, strict=True):
        if i < 0:  # outside the simulated period
            continue
        packets[i] = max(packets[i], mult)
        names[i] = names[i] or festival
        if own_day:
            evening[i] = True
            if festival in ("chinese_new_years_eve", "spring_festival"):
                transfers[i] = scenario.transfer_festival_multiplier
    return pd.DataFrame({"packets": packets, "transfers": transfers, "evening": evening, "festival": names},
                        index=days)
