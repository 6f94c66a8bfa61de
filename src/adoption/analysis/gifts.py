"""The lucky split as a natural experiment: the causal effect of money received (gift contagion).

Within one group red packet, WeChat's lucky-money rule hands out random amounts: receivers of the same packet
differ in what they got by chance, not by who they are. Comparing them (packet fixed effects) identifies the
effect of the amount itself, with no assumption about unmeasured confounding — the design of Yuan et al.
(2024), who found that one more unit received makes a receiver send about 0.18 units back into the group
within 24 hours.

:class:`GiftContagion` estimates, from any log with group packets and their claims:

(a) **units sent back per unit received**: the amount a receiver sends into the same group within 24 hours
    of their claim, regressed on the amount they claimed, within packet (fixed effects), among receivers able
    to send (already active when they claimed), with a separate slope for the packet's luckiest draw; standard
    errors clustered by group;
(b) **the amount's effect on activation**: whether a receiver not yet active becomes active within 90 days,
    regressed on the amount claimed (in yuan) within packet (a linear probability model), clustered by group.

What it assumes: the split is random given the packet (true of the lucky-money rule; fixed splits carry no
variation and drop out), and a receiver's response depends on their own amount, not on the others' (no
interference within a packet). What it cannot see: the effect of *receiving at all* (every row received),
which only the adjusted comparisons of :mod:`adoption.analysis.causal` address, under stronger assumptions.

Examples
--------
>>> from adoption import load_example
>>> gifts = GiftContagion().fit(load_example())
>>> low, high = gifts.units_back_ci_
>>> bool(low < 0.18 < high)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from adoption.analysis.events import activation_times
from adoption.errors import InputError
from adoption.log.eventlog import EventLog

__all__ = ["GiftContagion"]

_Z95 = 1.959963984540054


def _within(frame: pd.DataFrame, columns: list[str], by: str) -> pd.DataFrame:
    """Each column minus its mean within ``by`` (the fixed-effects transformation)."""
    return frame[columns] - frame.groupby(by)[columns].transform("mean")


def _clustered_ols(y: np.ndarray, X: pd.DataFrame, clusters: np.ndarray) -> tuple[pd.Series, pd.DataFrame]:
    import statsmodels.api as sm

    fit = sm.OLS(y, X.to_numpy(dtype=float)).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    names = list(X.columns)
    return pd.Series(fit.params, index=names), pd.DataFrame(fit.cov_params(), index=names, columns=names)


class GiftContagion:
    """Units sent back per unit received, and the amount's effect on activation, from the lucky split.

    Parameters
    ----------
    window_hours : float, default 24
        How long after a claim a packet sent into the same group counts as sent back.
    horizon : float, default 90
        Days after the claim for the activation outcome.
    definition : str, default "first_action"
        Activation definition (who is "able to send", and the activation outcome).

    Attributes
    ----------
    units_back_, units_back_ci_ : float, (float, float)
        Units sent back within the window per unit received, for receivers other than the luckiest draw.
    luckiest_extra_, luckiest_extra_ci_ : float, (float, float)
        The luckiest draw's extra units back per unit received (its slope minus the others').
    activation_per_yuan_, activation_per_yuan_ci_ : float, (float, float)
        Change in the probability of activating within ``horizon`` days per yuan received, among receivers
        not yet active.
    binned_ : DataFrame
        Receivers other than the luckiest by decile of their amount's deviation from their packet's mean:
        mean deviation of the amount and of the money sent back (the figure's dots).
    n_receivers_, n_packets_, n_groups_ : int
        Receivers able to send, packets with at least two of them, groups (clusters) in the first analysis.
    n_activation_receivers_ : int
        Not-yet-active receivers followed ``horizon`` days in the second analysis.
    """

    def __init__(self, window_hours: float = 24.0, horizon: float = 90.0, definition: str = "first_action") -> None:
        self.window_hours = window_hours
        self.horizon = horizon
        self.definition = definition

    def fit(self, log: EventLog) -> GiftContagion:
        """Estimate both effects from the log's group packets (needs ``red_packets`` with ``group_id`` and
        ``red_packet_claims``)."""
        packets, claims = log.red_packets, log.red_packet_claims
        if packets is None or claims is None or "group_id" not in packets or packets["group_id"].notna().sum() == 0:
            raise InputError("gifts: needs red_packets with group_id (group packets) and red_packet_claims")
        group_packets = packets.loc[packets["group_id"].notna(), ["packet_id", "group_id", "sender_id", "sent_at"]]
        c = claims.merge(group_packets[["packet_id", "group_id"]], on="packet_id")
        c = c[["packet_id", "group_id", "receiver_id", "claimed_at", "amount_cents"]].rename(
            columns={"receiver_id": "user_id", "amount_cents": "amount"})
        if c.empty:
            raise InputError("gifts: no claims of group red packets in the log")
        c["amount"] = c["amount"].astype(float) / 100.0  # yuan
        c["luckiest"] = (c["amount"] == c.groupby("packet_id")["amount"].transform("max")).astype(float)
        active = activation_times(log, self.definition, 3, 30.0)
        c["active_at"] = c["user_id"].map(active)
        able = c["active_at"].notna() & (c["active_at"] <= c["claimed_at"])
        self._fit_units_back(c[able].copy(), group_packets, packets)
        self._fit_activation(c[~able].copy(), log)
        return self

    def _fit_units_back(self, c: pd.DataFrame, group_packets: pd.DataFrame, packets: pd.DataFrame) -> None:
        # money each receiver sent into the same group within the window after their claim
        sent = packets.loc[packets["group_id"].notna(), ["sender_id", "group_id", "sent_at", "amount_cents"]]
        pairs = c[["packet_id", "user_id", "group_id", "claimed_at"]].reset_index().merge(
            sent, left_on=["user_id", "group_id"], right_on=["sender_id", "group_id"])
        window = pd.Timedelta(hours=self.window_hours)
        inside = (pairs["sent_at"] > pairs["claimed_at"]) & (pairs["sent_at"] <= pairs["claimed_at"] + window)
        back = pairs[inside].groupby("index")["amount_cents"].sum() / 100.0
        c["back"] = back.reindex(c.index).fillna(0.0).to_numpy()
        sizes = c.groupby("packet_id")["amount"].transform("size")
        varies = c.groupby("packet_id")["amount"].transform("nunique") > 1
        c = c[(sizes >= 2) & varies].copy()
        if len(c) < 20:
            raise InputError(f"gifts: only {len(c)} receivers able to send share a lucky packet with others; "
                             "the within-packet comparison needs more")
        c["luckiest_amount"] = c["luckiest"] * c["amount"]
        X = _within(c, ["amount", "luckiest", "luckiest_amount"], "packet_id")
        y = _within(c, ["back"], "packet_id")["back"].to_numpy()
        params, cov = _clustered_ols(y, X, c["group_id"].astype(str).to_numpy())
        self.units_back_ = float(params["amount"])
        se = math.sqrt(cov.loc["amount", "amount"])
        self.units_back_ci_ = (self.units_back_ - _Z95 * se, self.units_back_ + _Z95 * se)
        self.luckiest_extra_ = float(params["luckiest_amount"])
        se = math.sqrt(cov.loc["luckiest_amount", "luckiest_amount"])
        self.luckiest_extra_ci_ = (self.luckiest_extra_ - _Z95 * se, self.luckiest_extra_ + _Z95 * se)
        self.mean_units_back_ = float(c["back"].sum() / c["amount"].sum())
        # for the figure: within-packet deviations of amount and money sent back, by decile of the amount's
        dev = pd.DataFrame({"amount": X["amount"].to_numpy(), "back": y, "luckiest": c["luckiest"].to_numpy()})
        others = dev[dev["luckiest"] == 0]
        bins = pd.qcut(others["amount"], 10, labels=False, duplicates="drop")
        self.binned_ = others.groupby(bins).agg(amount=("amount", "mean"), back=("back", "mean"),
                                                receivers=("back", "size")).reset_index(drop=True)
        self.n_receivers_ = len(c)
        self.n_packets_ = int(c["packet_id"].nunique())
        self.n_groups_ = int(c["group_id"].nunique())

    def _fit_activation(self, c: pd.DataFrame, log: EventLog) -> None:
        nan = float("nan")
        self.activation_per_yuan_, self.activation_per_yuan_ci_, self.n_activation_receivers_ = nan, (nan, nan), 0
        end = log.window[1]
        c = c[c["claimed_at"] + pd.Timedelta(days=self.horizon) <= end]
        c = c.sort_values("claimed_at").drop_duplicates("user_id")  # each user's first group claim
        sizes = c.groupby("packet_id")["amount"].transform("size")
        varies = c.groupby("packet_id")["amount"].transform("nunique") > 1
        c = c[(sizes >= 2) & varies].copy()
        if len(c) < 20:
            return
        c["activated"] = ((c["active_at"] - c["claimed_at"]) <= pd.Timedelta(days=self.horizon)).astype(float)
        X = _within(c, ["amount"], "packet_id")
        y = _within(c, ["activated"], "packet_id")["activated"].to_numpy()
        params, cov = _clustered_ols(y, X, c["group_id"].astype(str).to_numpy())
        self.activation_per_yuan_ = float(params["amount"])
        se = math.sqrt(cov.loc["amount", "amount"])
        self.activation_per_yuan_ci_ = (self.activation_per_yuan_ - _Z95 * se, self.activation_per_yuan_ + _Z95 * se)
        self.n_activation_receivers_ = len(c)

    def verdict(self) -> str:
        """What the estimates say, in one sentence each, and no more."""
        low, high = self.units_back_ci_
        text = (f"Each yuan received in a lucky packet made a receiver send {self.units_back_:.3f} yuan back into the "
                f"group within {self.window_hours:g} hours [{low:.3f}, {high:.3f}] (receivers other than the luckiest, "
                f"within packet: the split is random, so this is causal).")
        a, (alo, ahi) = self.activation_per_yuan_, self.activation_per_yuan_ci_
        if np.isfinite(a):
            if alo <= 0 <= ahi:
                text += (f" Among receivers not yet active, the amount's effect on activating within {self.horizon:g} "
                         f"days is not distinguishable from zero ({a * 100:+.2f} points per yuan [{alo * 100:+.2f}, "
                         f"{ahi * 100:+.2f}]).")
            else:
                text += (f" Among receivers not yet active, each yuan changed the chance of activating within "
                         f"{self.horizon:g} days by {a * 100:+.2f} points [{alo * 100:+.2f}, {ahi * 100:+.2f}].")
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``units_back_per_unit`` with ``units_back_ci_low``/``_high``, the luckiest draw's extra,
        the activation effect per yuan, the sizes and the assumption."""
        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None
        return {"units_back_per_unit": num(self.units_back_), "units_back_ci_low": num(self.units_back_ci_[0]),
                "units_back_ci_high": num(self.units_back_ci_[1]),
                "luckiest_extra_per_unit": num(self.luckiest_extra_),
                "luckiest_extra_ci_low": num(self.luckiest_extra_ci_[0]),
                "luckiest_extra_ci_high": num(self.luckiest_extra_ci_[1]),
                "mean_units_back_per_unit": num(self.mean_units_back_),
                "activation_per_yuan": num(self.activation_per_yuan_),
                "activation_per_yuan_ci_low": num(self.activation_per_yuan_ci_[0]),
                "activation_per_yuan_ci_high": num(self.activation_per_yuan_ci_[1]),
                "receivers": self.n_receivers_, "packets": self.n_packets_, "groups": self.n_groups_,
                "activation_receivers": self.n_activation_receivers_,
                "window_hours": self.window_hours, "horizon_days": self.horizon,
                "assumption": ("the lucky split is random within a packet, and a receiver's response depends on "
                               "their own amount only"),
                "verdict": self.verdict()}
