"""Channel conversion and the O2O loop: from a QR poster to a returning customer.

Reads any log with ``scans`` (and ``payments`` for conversions). A scan *converts* when at least one payment
carries its ``scan_id``; the conversion rate of a channel is converted scans over scans, with a Wilson or
Jeffreys 95% interval. Anonymous scans (no ``user_id``) count as scans but not as scanners; payments
without a ``scan_id`` are not conversions (they are counted apart, and they are the return visits of the
O2O loop). Scans that came from a share carry ``referrer_id``: referred conversions per conversion is the
campaign's viral coefficient.

Examples
--------
>>> from adoption import load_example
>>> funnel = channel_funnel(load_example())
>>> sorted(funnel["channel"].unique())
['moments', 'official_account', 'poster']
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from adoption.errors import InputError, ParameterError
from adoption.log.eventlog import EventLog
from adoption.random import SeedLike, as_generator

__all__ = [
    "CampaignReport",
    "ReturnVisits",
    "Sharing",
    "campaign_report",
    "channel_funnel",
    "compare_channels",
    "follow_up_lift",
    "proportion_interval",
    "rank_channels",
    "return_curves",
    "return_visits",
    "scan_table",
    "sharing",
]

Interval = Literal["wilson", "jeffreys"]
GROUP = ["campaign", "channel", "placement"]
#: The one-line error for a log that has no scans.
NO_SCANS = ("scans: the log has no scans table (or it is empty); the funnel needs QR-code scans "
            "(scan_id, campaign, channel, scanned_at)")


def proportion_interval(successes: np.ndarray | int, trials: np.ndarray | int, method: Interval = "wilson",
                        level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of a binomial proportion, vectorized: Wilson score or Jeffreys (Beta(1/2, 1/2)).

    Zero trials give (nan, nan).

    Examples
    --------
    >>> low, high = proportion_interval(8, 100)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0411, 0.15)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise ParameterError("successes: expected 0 <= successes <= trials")
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = stats.norm.ppf(0.5 + level / 2)
            p = k / n
            centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
            half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
            low, high = centre - half, centre + half
        elif method == "jeffreys":
            a = (1 - level) / 2
            low = np.where(k > 0, stats.beta.ppf(a, k + 0.5, n - k + 0.5), 0.0)
            high = np.where(k < n, stats.beta.ppf(1 - a, k + 0.5, n - k + 0.5), 1.0)
        else:
            raise ParameterError(f"method: expected 'wilson' or 'jeffreys', got {method!r}")
    empty = n == 0
    return np.where(empty, np.nan, np.clip(low, 0, 1)), np.where(empty, np.nan, np.clip(high, 0, 1))


# --------------------------------------------------------------------------- scans and conversions
def scan_table(log: EventLog, campaign: str | None = None) -> pd.DataFrame:
    """One row per scan, with whether it converted, when, how much, and whether it came from a share.

    Columns: the scan's own (scan_id, campaign, channel, placement, scanned_at, user_id, referrer_id) plus
    ``converted``, ``paid_at`` (first payment tied to the scan), ``payments``, ``amount_cents``,
    ``minutes_to_pay``, ``referred`` and ``anonymous``.
    """
    if log.scans is None or len(log.scans) == 0:
        raise InputError(NO_SCANS)
    scans = log.scans.copy()
    for col in ("user_id", "placement", "referrer_id"):
        if col not in scans:
            scans[col] = pd.NA
    if campaign is not None:
        known = sorted(scans["campaign"].dropna().unique())
        if campaign not in known:
            raise ParameterError(f"campaign: {campaign!r} is not in the log's scans; campaigns: {', '.join(known)}")
        scans = scans[scans["campaign"] == campaign]
    pay = log.payments
    if pay is not None and "scan_id" in pay and pay["scan_id"].notna().any():
        tied = pay[pay["scan_id"].notna()]
        by_scan = tied.groupby("scan_id").agg(paid_at=("paid_at", "min"), payments=("payment_id", "size"),
                                              amount_cents=("amount_cents", "sum"))
        scans = scans.join(by_scan, on="scan_id")
    else:
        scans["paid_at"] = pd.NaT
        scans["payments"] = np.nan
        scans["amount_cents"] = np.nan
    scans["payments"] = scans["payments"].fillna(0).astype("int64")
    scans["amount_cents"] = scans["amount_cents"].fillna(0).astype("int64")
    scans["converted"] = scans["payments"] > 0
    scans["minutes_to_pay"] = (scans["paid_at"] - scans["scanned_at"]).dt.total_seconds() / 60.0
    scans["referred"] = scans["referrer_id"].notna()
    scans["anonymous"] = scans["user_id"].isna()
    scans["placement"] = scans["placement"].astype("string").fillna("")
    return scans.reset_index(drop=True)


def _summarise(scans: pd.DataFrame, by: list[str], method: Interval) -> pd.DataFrame:
    g = scans.groupby(by, sort=True, observed=True, dropna=False)
    out = g.agg(scans=("scan_id", "size"), unique_scanners=("user_id", "nunique"),
                anonymous_scans=("anonymous", "sum"), conversions=("converted", "sum"),
                revenue_cents=("amount_cents", "sum"),
                median_minutes_to_pay=("minutes_to_pay", "median")).reset_index()
    buyers = scans[scans["converted"]].groupby(by, dropna=False)["user_id"].nunique().rename("buyers")
    out = out.join(buyers, on=by).fillna({"buyers": 0})
    out["buyers"] = out["buyers"].astype("int64")
    out["rate"] = out["conversions"] / out["scans"]
    out["ci_low"], out["ci_high"] = proportion_interval(out["conversions"].to_numpy(), out["scans"].to_numpy(), method)
    return out


def channel_funnel(log: EventLog, campaign: str | None = None, method: Interval = "wilson") -> pd.DataFrame:
    """Per campaign, channel and placement: scans, unique scanners, conversions, rate with its interval.

    Parameters
    ----------
    log : EventLog
        Needs ``scans``; conversions come from ``payments.scan_id``.
    campaign : str, optional
        Only this campaign.
    method : {"wilson", "jeffreys"}
        The 95% interval of the conversion rate.

    Returns
    -------
    DataFrame with campaign, channel, placement ("" when none), scans, unique_scanners, anonymous_scans,
    conversions, buyers, revenue_cents, median_minutes_to_pay, rate, ci_low, ci_high.
    """
    return _summarise(scan_table(log, campaign), GROUP, method)


def compare_channels(funnel: pd.DataFrame, correction: Literal["holm", "bh"] = "holm") -> pd.DataFrame:
    """Every pair of channels within a campaign: difference in rates, a two-proportion z-test, corrected p.

    ``holm`` controls the family-wise error rate (Holm-Bonferroni); ``bh`` the false discovery rate
    (Benjamini-Hochberg). Pairs are compared within each campaign.

    Examples
    --------
    >>> f = pd.DataFrame({"campaign": "c", "channel": ["a", "b", "c"], "placement": "",
    ...                   "scans": [1000, 1000, 1000], "conversions": [100, 50, 98]})
    >>> table = compare_channels(f)
    >>> table[["first", "second", "significant"]].values.tolist()
    [['a', 'b', True], ['a', 'c', False], ['b', 'c', True]]
    """
    if correction not in ("holm", "bh"):
        raise ParameterError(f"correction: expected 'holm' or 'bh', got {correction!r}")
    rows = []
    label = funnel["channel"].astype(str) + np.where(funnel["placement"].astype(str) != "",
                                                     ":" + funnel["placement"].astype(str), "")
    funnel = funnel.assign(label=label)
    for campaign, part in funnel.groupby("campaign", sort=True):
        for (_, a), (_, b) in combinations(part.iterrows(), 2):
            n1, n2, k1, k2 = a["scans"], b["scans"], a["conversions"], b["conversions"]
            p1, p2, pooled = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
            se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            z = (p1 - p2) / se if se > 0 else 0.0
            rows.append({"campaign": campaign, "first": a["label"], "second": b["label"], "difference": p1 - p2,
                         "z": z, "p_value": float(2 * stats.norm.sf(abs(z)))})
    table = pd.DataFrame(rows, columns=["campaign", "first", "second", "difference", "z", "p_value"])
    if len(table) == 0:
        return table.assign(p_adjusted=[], significant=[])
    table["p_adjusted"] = table.groupby("campaign")["p_value"].transform(
        lambda p: _holm(p.to_numpy()) if correction == "holm" else stats.false_discovery_control(p.to_numpy()))
    table["significant"] = table["p_adjusted"] < 0.05
    return table


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values."""
    m = len(p)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def rank_channels(funnel: pd.DataFrame, draws: int = 20_000, seed: SeedLike = 0) -> pd.DataFrame:
    """Rank channels by conversion rate with their uncertainty: Jeffreys posteriors, simulated ranks.

    For each campaign, draws rates from Beta(conversions + 1/2, scans - conversions + 1/2) and reports the
    probability that each channel is the best, its expected rank and a 95% interval of its rank. A channel
    with few scans gets a wide rank interval instead of a sure first place (below: 1 of 5 beats 200 of
    2,000 on the point estimate, but either could be first).

    Examples
    --------
    >>> f = pd.DataFrame({"campaign": "c", "channel": ["a", "b"], "placement": "", "scans": [2000, 5],
    ...                   "conversions": [200, 1]})
    >>> ranked = rank_channels(f)
    >>> ranked[["channel", "prob_best", "rank_low", "rank_high"]].round(2).values.tolist()
    [['b', 0.81, 1.0, 2.0], ['a', 0.19, 1.0, 2.0]]
    """
    rng = as_generator(seed)
    out = []
    for _, part in funnel.groupby("campaign", sort=True):
        k, n = part["conversions"].to_numpy(float), part["scans"].to_numpy(float)
        rates = rng.beta(k + 0.5, n - k + 0.5, size=(draws, len(part)))
        ranks = (-rates).argsort(axis=1).argsort(axis=1) + 1
        out.append(part.assign(
            prob_best=(ranks == 1).mean(axis=0), expected_rank=ranks.mean(axis=0),
            rank_low=np.percentile(ranks, 2.5, axis=0), rank_high=np.percentile(ranks, 97.5, axis=0)))
    return pd.concat(out).sort_values(["campaign", "expected_rank"]).reset_index(drop=True)


# --------------------------------------------------------------------------- sharing
@dataclass
class Sharing:
    """What sharing to Moments added to a campaign (see :func:`sharing`)."""

    viral_coefficient: float
    ci_low: float
    ci_high: float
    conversions: int
    referred_conversions: int
    generations: pd.DataFrame
    reach: pd.DataFrame


def _generations(scans: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Referral generation of each scan (0 = direct) and the root scan of its referral tree.

    A referred scan's parent is the referrer's first converting scan before it (in the same campaign);
    a referrer with no such scan makes the scan a root of its own (its generation is still 1).
    """
    scans = scans.reset_index(drop=True)
    gen = np.where(scans["referred"], 1, 0).astype(np.int64)
    root = np.arange(len(scans))
    buyers = scans[scans["converted"] & scans["user_id"].notna()].sort_values("scanned_at")
    first_buy = buyers.drop_duplicates(["campaign", "user_id"])
    parent_index = pd.Series(first_buy.index.to_numpy(), index=pd.MultiIndex.from_frame(
        first_buy[["campaign", "user_id"]].astype({"user_id": "int64"})))
    referred = np.flatnonzero(scans["referred"].to_numpy())
    keys = pd.MultiIndex.from_arrays([scans["campaign"].to_numpy()[referred],
                                      scans["referrer_id"].to_numpy()[referred].astype("int64")])
    parent = parent_index.reindex(keys).to_numpy()
    has_parent = ~pd.isna(parent)
    parent = np.where(has_parent, parent, -1).astype(np.int64)
    child, parent = referred[has_parent], parent[has_parent]
    for _ in range(100):  # walk up the tree, one generation per pass
        new_gen = gen.copy()
        new_gen[child] = gen[parent] + 1
        new_root = root.copy()
        new_root[child] = root[parent]
        if np.array_equal(new_gen, gen) and np.array_equal(new_root, root):
            break
        gen, root = new_gen, new_root
    return gen, root


def sharing(log: EventLog, campaign: str | None = None, n_boot: int = 1000, seed: SeedLike = 0) -> Sharing:
    """The viral coefficient, generations of referral and reach with and without sharing.

    The viral coefficient is referred conversions per conversion: if each conversion brings K referred
    conversions, all conversions are C0 (1 + K + K^2 + ...) and the referred share of them is K. Its
    interval is a bootstrap over referral trees (a direct scan and everything its sharing brought).

    Examples
    --------
    >>> from adoption import load_example
    >>> s = sharing(load_example())
    >>> bool(0 <= s.viral_coefficient < 1), list(s.reach["reach"])
    (True, ['direct only', 'with sharing'])
    """
    return _sharing(scan_table(log, campaign), n_boot, seed)


def _sharing(scans: pd.DataFrame, n_boot: int, seed: SeedLike) -> Sharing:
    gen, root = _generations(scans)
    scans = scans.assign(generation=gen, root=root, referred_conversion=scans["converted"] & scans["referred"])
    conversions = int(scans["converted"].sum())
    referred_conv = int(scans["referred_conversion"].sum())
    k = referred_conv / conversions if conversions else float("nan")
    trees = scans.groupby("root").agg(c=("converted", "sum"), r=("referred_conversion", "sum"))
    trees = trees[trees["c"] > 0]
    low = high = float("nan")
    if len(trees) > 1:
        rng = as_generator(seed)
        pick = rng.integers(0, len(trees), size=(n_boot, len(trees)))
        c, r = trees["c"].to_numpy()[pick].sum(axis=1), trees["r"].to_numpy()[pick].sum(axis=1)
        low, high = (float(x) for x in np.percentile(r / np.maximum(c, 1), [2.5, 97.5]))
    generations = scans.groupby("generation").agg(scans=("scan_id", "size"), conversions=("converted", "sum"))
    generations["rate"] = generations["conversions"] / generations["scans"]
    direct = scans[~scans["referred"]]

    def reach(part: pd.DataFrame, name: str) -> dict[str, object]:
        return {"reach": name, "scans": len(part), "people": int(part["user_id"].nunique() + part["anonymous"].sum()),
                "conversions": int(part["converted"].sum()), "revenue_cents": int(part["amount_cents"].sum())}

    reach_table = pd.DataFrame([reach(direct, "direct only"), reach(scans, "with sharing")])
    return Sharing(k, low, high, conversions, referred_conv, generations.reset_index(), reach_table)


# --------------------------------------------------------------------------- the O2O loop
def return_visits(log: EventLog, campaign: str | None = None, scan_only: bool = True) -> pd.DataFrame:
    """For each payer and merchant: the first visit, the time to the next payment there, censored.

    Parameters
    ----------
    log : EventLog
        Needs ``payments``; ``messages`` (follow-ups) when present.
    campaign : str, optional
        Only customers whose first visit was a payment tied to a scan of this campaign.
    scan_only : bool, default True
        Only customers whose first visit to the merchant was a payment tied to a scan (campaign customers);
        False takes every payer and merchant.

    A return is a later payment at the same merchant; more payments tied to the first visit's scan are the
    same visit.

    Returns
    -------
    DataFrame: user_id, merchant_id, first_visit_at, cohort (week of the first visit), returned, days
    (to the return, or to censoring at the end of the log or when the user left), visits (payments after
    the first), messaged (a follow-up message from that merchant reached the user after the first visit),
    messaged_at.
    """
    campaign_scans = scan_table(log, campaign)["scan_id"] if campaign is not None else None
    return _return_visits(log, campaign_scans, scan_only)


def _return_visits(log: EventLog, campaign_scans: pd.Series | None, scan_only: bool) -> pd.DataFrame:
    pay = log.payments
    if pay is None or len(pay) == 0:
        raise InputError("payments: the log has no payments; return visits need payments")
    pay = pay.sort_values(["user_id", "merchant_id", "paid_at", "payment_id"])
    first = pay.drop_duplicates(["user_id", "merchant_id"])
    if scan_only or campaign_scans is not None:
        if "scan_id" not in first:
            raise InputError("payments.scan_id: missing; campaign customers are payments tied to a scan")
        first = first[first["scan_id"].notna()]
        if campaign_scans is not None:
            first = first[first["scan_id"].isin(campaign_scans)]
    keys = ["user_id", "merchant_id"]
    has_scan = "scan_id" in pay
    firsts = first[keys + ["paid_at"] + (["scan_id"] if has_scan else [])].rename(
        columns={"paid_at": "first_visit_at", "scan_id": "first_scan_id"})
    pay = pay.merge(firsts, on=keys)
    later = pay["paid_at"] > pay["first_visit_at"]
    if has_scan:  # more payments on the first visit's scan are the same visit (two tickets), not a return
        later &= ~(pay["scan_id"] == pay["first_scan_id"]).fillna(False).astype(bool)
    later = pay[later]
    nxt = later.groupby(keys).agg(return_at=("paid_at", "min"), visits=("payment_id", "size"))
    out = first[keys + ["paid_at"]].rename(columns={"paid_at": "first_visit_at"}).join(nxt, on=keys)
    _, end = log.window
    left = log.users.set_index("user_id")["left_at"] if "left_at" in log.users else None
    censor = pd.Series(end, index=out.index)
    if left is not None:
        censor = pd.concat([censor, out["user_id"].map(left)], axis=1).min(axis=1)
    out["returned"] = out["return_at"].notna()
    until = out["return_at"].where(out["returned"], censor)
    out["days"] = (until - out["first_visit_at"]).dt.total_seconds() / 86400.0
    out["visits"] = out["visits"].fillna(0).astype("int64")
    out["cohort"] = out["first_visit_at"].dt.to_period("W-SUN").dt.start_time
    out["messaged_at"] = pd.NaT
    if log.messages is not None and len(log.messages):
        msg = log.messages.merge(out[keys + ["first_visit_at"]], on=keys)
        msg = msg[msg["sent_at"] >= msg["first_visit_at"]].groupby(keys)["sent_at"].min()
        out["messaged_at"] = out.set_index(keys).index.map(msg)
    out["messaged"] = out["messaged_at"].notna()
    out = out[out["days"] > 0]
    return out.drop(columns="return_at").reset_index(drop=True)


def _group_name(key: object) -> str:
    return str(key.date()) if isinstance(key, pd.Timestamp) else str(key)


@dataclass
class ReturnVisits:
    """Kaplan-Meier curves of time to return, overall and by first-visit cohort (see :func:`return_curves`)."""

    curves: pd.DataFrame
    at: pd.DataFrame


def return_curves(visits: pd.DataFrame, by: str | None = "cohort", horizons: tuple[float, ...] = (7, 30, 60)
                  ) -> ReturnVisits:
    """Share returned over time since the first visit (1 - Kaplan-Meier), per group of ``by``.

    Returns curves (index days, a column per group) and ``at``: returned share at each horizon with its
    95% interval, per group.
    """
    from lifelines import KaplanMeierFitter  # (here, not at the top: the tipping experiments' workers import
    # this module for its intervals, and lifelines takes 0.8 s to import)

    groups = [("all", visits)] if by is None else [(_group_name(k), g) for k, g in visits.groupby(by, sort=True)]
    curves, rows = {}, []
    for name, g in groups:
        km = KaplanMeierFitter().fit(g["days"], g["returned"])
        curves[name] = 1 - km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_survival_function_
        for h in horizons:
            s = float(km.predict(h))
            idx = ci.index.searchsorted(h, side="right") - 1
            lo_s, hi_s = ci.iloc[max(idx, 0)]
            rows.append({"group": name, "days": h, "n": len(g), "returned": 1 - s,
                         "ci_low": 1 - float(hi_s), "ci_high": 1 - float(lo_s)})
    return ReturnVisits(pd.DataFrame(curves).ffill().fillna(0.0), pd.DataFrame(rows))


def follow_up_lift(visits: pd.DataFrame) -> pd.DataFrame:
    """Returns with and without a follow-up message: a Cox hazard ratio with the message as a time-varying
    exposure (a customer counts as messaged only from the message on), and the 60-day returned shares.

    Returns an empty frame when nobody (or everybody) was messaged.
    """
    from adoption.analysis.coxph import fit_cox

    if visits["messaged"].all() or not visits["messaged"].any():
        return pd.DataFrame()
    # counting-process rows: (start, stop] in days since the first visit, split at the message
    msg_day = (visits["messaged_at"] - visits["first_visit_at"]).dt.total_seconds() / 86400.0
    split = visits["messaged"] & (msg_day < visits["days"])
    before = pd.DataFrame({"start": 0.0, "stop": np.where(split, msg_day, visits["days"]),
                           "event": np.where(split, False, visits["returned"]), "message": 0.0})
    after = pd.DataFrame({"start": msg_day[split], "stop": visits["days"][split],
                          "event": visits["returned"][split], "message": 1.0})
    rows = pd.concat([before, after], ignore_index=True)
    rows = rows[rows["stop"] > rows["start"]]
    fit = fit_cox(rows["start"].to_numpy(), rows["stop"].to_numpy(), rows["event"].to_numpy(bool), rows[["message"]])
    message = fit.summary.loc["message"]  # the hazard ratio with its 95% interval and p-value
    curves = return_curves(visits, by="messaged", horizons=(60,)).at
    return pd.DataFrame([{
        "hazard_ratio": message["hazard_ratio"], "ci_low": message["ci_low"], "ci_high": message["ci_high"],
        "p_value": float(message["p"]), "messaged": int(visits["messaged"].sum()),
        "not_messaged": int((~visits["messaged"]).sum()),
        "returned_60d_messaged": float(curves.loc[curves["group"] == "True", "returned"].iloc[0]),
        "returned_60d_not_messaged": float(curves.loc[curves["group"] == "False", "returned"].iloc[0]),
    }])


@dataclass
class CampaignReport:
    """Everything the conversion report shows about a log's campaigns (see :func:`campaign_report`)."""

    funnel: pd.DataFrame
    comparisons: pd.DataFrame
    sharing: Sharing
    visits: pd.DataFrame
    returns: ReturnVisits | None
    follow_up: pd.DataFrame
    campaign: str | None = None
    interval: str = "wilson"
    correction: str = "holm"
    payments_without_scan: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (missing numbers as None): channels, sharing, comparisons, returns.

        Examples
        --------
        >>> from adoption import load_example
        >>> sorted(campaign_report(load_example()).to_dict())[:3]
        ['campaign', 'channels', 'comparisons']
        """
        shares = self.sharing
        channels = [{"campaign": r.campaign, "channel": r.channel, "placement": r.placement or None,
                     "scans": int(r.scans), "unique_scanners": int(r.unique_scanners),
                     "anonymous_scans": int(r.anonymous_scans), "conversions": int(r.conversions),
                     "rate": float(r.rate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                     "median_minutes_to_pay": _number(float(r.median_minutes_to_pay)),
                     "prob_best": float(r.prob_best), "expected_rank": float(r.expected_rank)}
                    for r in self.funnel.itertuples()]
        out: dict[str, Any] = {
            "campaign": self.campaign, "interval": self.interval, "correction": self.correction,
            "channels": channels,
            "referred_conversions_per_conversion": _number(shares.viral_coefficient),
            "viral_ci": [_number(shares.ci_low), _number(shares.ci_high)],
            "conversions": shares.conversions, "referred_conversions": shares.referred_conversions,
            "reach": shares.reach.to_dict(orient="records"),
            "generations": shares.generations.to_dict(orient="records"),
            "comparisons": self.comparisons.to_dict(orient="records"),
            "payments_without_scan": self.payments_without_scan,
        }
        if len(self.visits):
            out["returned_share"] = float(self.visits["returned"].mean())
            out["follow_up"] = (None if self.follow_up.empty else
                                {k: _number(float(v)) for k, v in self.follow_up.iloc[0].items()})
        return out

    def metrics(self) -> dict[str, object]:
        """Headline numbers: the best channel, its rate, the viral coefficient, returns and the lift."""
        best = self.funnel.iloc[0]
        lift = self.follow_up.iloc[0] if len(self.follow_up) else None
        return {
            "best_channel": best["channel"] + (f":{best['placement']}" if best["placement"] else ""),
            "best_channel_rate": float(best["rate"]), "best_channel_prob_best": float(best["prob_best"]),
            "scans": int(self.funnel["scans"].sum()), "conversions": int(self.funnel["conversions"].sum()),
            "referred_conversions_per_conversion": self.sharing.viral_coefficient,
            "returned_share": float(self.visits["returned"].mean()) if len(self.visits) else None,
            "follow_up_hazard_ratio": None if lift is None else float(lift["hazard_ratio"]),
        }


def campaign_report(log: EventLog, campaign: str | None = None, method: Interval = "wilson",
                    correction: Literal["holm", "bh"] = "holm", seed: SeedLike = 0) -> CampaignReport | None:
    """Funnel, comparisons, ranking, sharing, return visits and follow-up lift; None when the log has no scans.

    Examples
    --------
    >>> from adoption import load_example
    >>> report = campaign_report(load_example())
    >>> report.metrics()["best_channel"]
    'official_account'
    """
    if log.scans is None or len(log.scans) == 0:
        return None
    scans = scan_table(log, campaign)
    funnel = rank_channels(_summarise(scans, GROUP, method), seed=seed)
    campaign_scans = scans["scan_id"] if campaign is not None else None
    visits = _return_visits(log, campaign_scans, True) if log.payments is not None else pd.DataFrame()
    has_visits = len(visits) > 1
    without_scan = (int(log.payments["scan_id"].isna().sum())
                    if log.payments is not None and "scan_id" in log.payments else None)
    return CampaignReport(funnel, compare_channels(funnel, correction), _sharing(scans, 1000, seed), visits,
                          return_curves(visits) if has_visits else None,
                          follow_up_lift(visits) if has_visits else pd.DataFrame(),
                          campaign=campaign, interval=method, correction=correction,
                          payments_without_scan=without_scan)


def _number(x: Any) -> Any:
    """None for a missing or infinite number (JSON has neither)."""
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else x
