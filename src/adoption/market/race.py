"""The platform race: an entrant against an incumbent with social benefits, and the public WeChat Pay/Alipay race.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from adoption.datasets.reference import public_figures
from adoption.errors import ParameterError
from adoption.market.model import TwoSidedMarket

__all__ = ["catch_up_time", "public_race", "race"]


def race(entrant: TwoSidedMarket, incumbent: TwoSidedMarket, social_benefit: float = 1.0,
         multihoming_cost: float = 0.0, entrant_start: tuple[float, float] = (0.01, 0.0),
         incumbent_start: tuple[float, float] = (0.5, 0.5), t_max: float = 60.0, n_points: int = 601) -> pd.DataFrame:
    """An entrant with a social channel against an incumbent with merchants; users and merchants multi-home.

    The entrant's users value the wallet for the merchants on it and for the friends on it (red packets and
    transfers: ``social_benefit`` times its own user share); a user already on the incumbent values a second
    wallet ``multihoming_cost`` times less::

        du_E/dt = l_u [F(b_u m_E + s u_E - p_u - c u_I) - u_E],   dm_E/dt = l_m [F(b_m u_E - p_m) - m_E]

    and the incumbent follows its own two-sided dynamics. Returns t and the four shares.

    Examples
    --------
    >>> incumbent = TwoSidedMarket(2.0, 1.5, 0.3, 0.2)
    >>> entrant = incumbent.replace(p_users=-0.05)  # red-packet cash: a negative price
    >>> path = race(entrant, incumbent, social_benefit=1.0, entrant_start=(0.001, 0.0))
    >>> bool(path["entrant_users"].iloc[-1] > 0.9), round(catch_up_time(path, 0.1), 1)
    (True, 1.7)
    """
    for name, value in (("social_benefit", social_benefit), ("multihoming_cost", multihoming_cost)):
        if value < 0:
            raise ParameterError(f"{name}: expected a number >= 0, got {value}")

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        # the entrant's users also value each other (social benefit) and pay to multihome with the incumbent's
        entrant_pull = social_benefit * y[0] - multihoming_cost * y[2]
        return np.concatenate([entrant.velocity(y[:2], shift_users=entrant_pull), incumbent.velocity(y[2:])])

    t = np.linspace(0.0, t_max, n_points)
    sol = solve_ivp(rhs, (0.0, t_max), [*entrant_start, *incumbent_start], t_eval=t, rtol=1e-8, atol=1e-11)
    return pd.DataFrame({"t": sol.t, "entrant_users": sol.y[0], "entrant_merchants": sol.y[1],
                         "incumbent_users": sol.y[2], "incumbent_merchants": sol.y[3]})


def catch_up_time(path: pd.DataFrame, ratio: float = 0.1) -> float:
    """First time the entrant's users reach ``ratio`` times the incumbent's (inf if never).

    ``ratio=0.1`` is "the same order of magnitude".
    """
    ok = np.flatnonzero(path["entrant_users"].to_numpy() >= ratio * path["incumbent_users"].to_numpy())
    return float(path["t"].iloc[ok[0]]) if len(ok) else float("inf")


def public_race(launch: str = "2013-08-05") -> pd.DataFrame:
    """The public user counts of WeChat Pay and Alipay, months after WeChat Pay's launch, with definitions.

    The definitions differ (WeChat Pay: bound cards, later payment MAU; Alipay: annual active, registered),
    so each row keeps its ``metric_definition`` and the ratio to Alipay's figure nearest in time says which
    Alipay figure it used.

    Examples
    --------
    >>> table = public_race()
    >>> bool((table["wallet"] == "WeChat Pay").any())
    True
    """


    fig = public_figures()
    fig = fig[fig["series"].isin(["wechat_pay_users", "alipay_users"])].copy()
    fig["wallet"] = np.where(fig["series"] == "wechat_pay_users", "WeChat Pay", "Alipay")
    fig["months_since_launch"] = (pd.to_datetime(fig["date"]) - pd.Timestamp(launch)).dt.days / 30.44
    alipay = fig[fig["wallet"] == "Alipay"].sort_values("date")
    ratio, against = [], []
    for row in fig.itertuples():
        if row.wallet != "WeChat Pay":
            ratio.append(np.nan)
            against.append(None)
            continue
        gap = (pd.to_datetime(alipay["date"]) - pd.to_datetime(row.date)).abs()
        near = alipay.loc[gap.idxmin()]
        ratio.append(row.value / near["value"])
        against.append(f"{near['metric_definition']} ({pd.to_datetime(near['date']).date()})")
    fig["ratio_to_alipay"] = ratio
    fig["alipay_figure_used"] = against
    cols = ["wallet", "date", "months_since_launch", "value", "metric_definition", "ratio_to_alipay",
            "alipay_figure_used", "source"]
    return fig[cols].sort_values(["date", "wallet"]).reset_index(drop=True)
