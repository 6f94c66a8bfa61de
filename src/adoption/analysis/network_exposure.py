"""Network exposure: do people adopt when their contacts have, or would they anyway?

A log with friendships and adoption times (a survey's ``adoptions``, or a payment log's first payments) is
cut into periods (the survey's month or year, else ``period_days``). For each person and period,
**exposure** is the share of the people they named (their contacts; both ways when the log keeps no
direction) who had adopted in an earlier period. From it:

* :class:`DiffusionNetwork` — adoption periods, communities and the contact lists as arrays;
* :func:`community_curves` — per community, cumulative adoption by period, saturation, time to 50%, the
  hazard per period;
* :func:`exposure_at_adoption` — exposure when each adopter adopted, and Valente's (1996) threshold
  (exposure counting contacts who adopted in the same period too);
* :func:`first_contact_active` — the period in which a person's first contact adopted, and
  :func:`first_contact_table` — an activation table whose time zero is that moment (cohort
  ``first_contact_active``), beside the money receipt, so that the survival analyses run on it;
* :class:`ExposureHazard` — the field's classic discrete-time hazard model of these data: a logistic
  regression over the person-periods at risk on period effects, community effects and exposure in the
  period before (Valente 2005; Van den Bulte & Lilien 2001).

The contagion test is in :mod:`adoption.analysis.contagion_test`. What exposure cannot separate: people
whose contacts adopt early are often like them (homophily) or reached by the same outside influence
(marketing, an agent visiting a town); the models condition on the period and the community, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from adoption.analysis.events import activation_times
from adoption.errors import InputError, ParameterError
from adoption.intervals import normal_interval
from adoption.log.eventlog import EventLog
from adoption.random import SeedLike, as_generator

__all__ = ["NEVER", "DiffusionNetwork", "ExposureHazard", "clustered_logit", "community_curves",
           "contacts_adopted_before", "exposure_at_adoption", "first_contact_active", "first_contact_table",
           "named_contacts"]

#: The period of people who never adopted in the log.
NEVER = np.iinfo(np.int64).max


def named_contacts(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """Directed contact pairs ``(ego, alter)`` as user ids: ego named alter, as the friendships' ``direction``
    says (``a_to_b``, ``b_to_a``, ``both``); both ways when the log keeps no direction.

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> ego, alter = named_contacts(load_real("medical_innovation"))
    >>> len(ego) == len(alter) > 0
    True
    """
    f = log.friendships
    if f is None or f.empty:
        raise InputError("diffusion: the log has no friendships (needed for exposure)")
    direction = (f["direction"].astype("string").fillna("both").to_numpy() if "direction" in f
                 else np.full(len(f), "both"))
    forward, backward = direction != "b_to_a", direction != "a_to_b"
    a, b = f["user_a"].to_numpy(), f["user_b"].to_numpy()
    return np.r_[a[forward], b[backward]], np.r_[b[forward], a[backward]]


def contacts_adopted_before(period: np.ndarray, ego: np.ndarray, alter: np.ndarray) -> np.ndarray:
    """Per user (code), how many of the contacts they named adopted in a period before their own.

    Examples
    --------
    >>> contacts_adopted_before(np.array([1, 2, 3]), np.array([2, 2, 0]), np.array([0, 1, 2]))
    array([0., 0., 2.])
    """
    return np.bincount(ego, weights=period[alter] < period[ego], minlength=len(period))


@dataclass
class DiffusionNetwork:
    """Who adopted in which period, in which community, and whom each person named.

    Attributes
    ----------
    users : Index
        User ids (position = code).
    community : ndarray of int
        Community code per user; ``communities`` holds their names.
    period : ndarray of int
        Adoption period per user (1 = the first), :data:`NEVER` for non-adopters.
    n_periods : int
        Periods observed.
    ego, alter : ndarray of int
        Directed contact pairs (ego named alter).
    unit : str
        What a period is (``"month"``, ``"year"`` or ``"7 days"``).
    """

    users: pd.Index
    community: np.ndarray
    communities: pd.Index
    period: np.ndarray
    n_periods: int
    ego: np.ndarray
    alter: np.ndarray
    unit: str

    @classmethod
    def from_log(cls, log: EventLog, definition: str = "first_payment", *, period_days: float = 7.0,
                 k: int = 3, d: float = 30.0) -> DiffusionNetwork:
        """Read the network and the adoption periods of an event log.

        Adoption is the ``adoptions`` table when the log has one, else the activation ``definition``
        (default: the first merchant payment, so that exposure is "contacts already paying"). Periods are
        the log's ``meta["time_unit"]`` (month or year, for imported surveys), else ``period_days`` days from
        the window start.

        Examples
        --------
        >>> from adoption.datasets.real import load_real
        >>> net = DiffusionNetwork.from_log(load_real("medical_innovation"))
        >>> net.n_periods, int((net.period != NEVER).sum()), net.unit
        (17, 109, 'month')
        """
        named_by, named = named_contacts(log)
        if not period_days > 0:
            raise ParameterError(f"period_days: expected a number of days > 0, got {period_days}")
        users = pd.Index(log.users["user_id"])
        w0, w1 = log.window
        times = activation_times(log, definition, k, d).reindex(users)
        unit = log.meta.get("time_unit")
        if unit in ("month", "year"):
            def index(t: pd.Series) -> np.ndarray:
                per = (t.dt.year - w0.year) * 12 + (t.dt.month - w0.month) if unit == "month" else t.dt.year - w0.year
                return per.to_numpy(dtype=float)
            periods = index(pd.Series(times.to_numpy()))
            n_periods = int(index(pd.Series([w1 - pd.Timedelta(microseconds=1)]))[0]) + 1
        else:
            unit = f"{period_days:g} days"
            periods = np.floor((pd.Series(times.to_numpy()) - w0).dt.total_seconds().to_numpy() / 86_400 / period_days)
            n_periods = int(np.ceil((w1 - w0).total_seconds() / 86_400 / period_days))
        seen = np.isfinite(periods) & (periods >= 0)
        period = np.where(seen, np.nan_to_num(periods, nan=0).astype(np.int64) + 1, NEVER)
        # adopters before the window start count as adopted in period 0 (already there)
        period = np.where(np.isfinite(periods) & (periods < 0), 0, period)
        city = log.users["city"] if "city" in log.users else pd.Series("all", index=log.users.index)
        codes, names = pd.factorize(city.fillna("(none)").astype(str), sort=True)
        ego, alter = users.get_indexer(named_by), users.get_indexer(named)
        return cls(users, codes.astype(np.int64), pd.Index(names), period, n_periods, ego.astype(np.int64),
                   alter.astype(np.int64), unit)

    @property
    def out_degree(self) -> np.ndarray:
        """Contacts named per user."""
        return np.bincount(self.ego, minlength=len(self.users))


def exposure_at_adoption(net: DiffusionNetwork, period: np.ndarray | None = None) -> pd.DataFrame:
    """Each adopter's exposure when they adopted.

    Returns
    -------
    DataFrame
        Per adopter with contacts: ``user_id``, ``community``, ``period``, ``contacts``, ``exposure`` (share of
        contacts who adopted in an earlier period) and ``threshold`` (Valente: the share who had adopted by the
        end of the adopter's own period).

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> ex = exposure_at_adoption(DiffusionNetwork.from_log(load_real("medical_innovation")))
    >>> bool((ex["threshold"] >= ex["exposure"]).all())
    True
    """
    t = net.period if period is None else period
    deg = net.out_degree
    before = contacts_adopted_before(t, net.ego, net.alter)
    by_end = np.bincount(net.ego, weights=(t[net.alter] <= t[net.ego]) & (t[net.alter] != NEVER), minlength=len(t))
    who = (t != NEVER) & (deg > 0)
    return pd.DataFrame({"user_id": net.users[who], "community": net.communities[net.community[who]],
                         "period": t[who], "contacts": deg[who], "exposure": before[who] / deg[who],
                         "threshold": by_end[who] / deg[who]})


def first_contact_active(net: DiffusionNetwork) -> pd.Series:
    """The period in which each person's first contact adopted (NaN: none did), indexed by user id.

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> zero = first_contact_active(DiffusionNetwork.from_log(load_real("medical_innovation")))
    >>> int(zero.min())
    1
    """
    first = np.full(len(net.users), np.inf)
    np.minimum.at(first, net.ego, np.where(net.period[net.alter] == NEVER, np.inf, net.period[net.alter]))
    return pd.Series(np.where(np.isfinite(first), first, np.nan), index=net.users, name="first_contact_active")


def first_contact_table(log: EventLog, definition: str = "first_payment", *, k: int = 3, d: float = 30.0
                        ) -> pd.DataFrame:
    """An activation table whose time zero is the moment a user's first contact adopted.

    One row per user who had not adopted by then (cohort ``first_contact_active``), in the columns of
    :func:`~adoption.analysis.activation.activation_table`: ``duration`` in days from that moment to the user's
    adoption (``event``), leaving (``event_type`` 2) or the window's end. Contacts are whom the user named
    (both ways when the log keeps no direction); adoption is the ``adoptions`` table or ``definition``.
    :class:`~adoption.analysis.survival.ActivationCurve` and
    :class:`~adoption.analysis.survival.CompetingRisks` read it as they read the receipt cohort.

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> from adoption.analysis.survival import ActivationCurve
    >>> table = first_contact_table(load_real("brazil_farmers"))
    >>> curve = ActivationCurve(horizon=3 * 365).fit(table)
    >>> 0 < float(curve.headline_["cumulative_incidence"].iloc[0]) < 1
    True
    """
    from adoption.analysis.activation_columns import COLUMNS, typed_table

    ego, alter = named_contacts(log)
    users = pd.Index(log.users["user_id"])
    w1 = log.window[1]
    adopted = activation_times(log, definition, k, d).reindex(users)
    contact_time = pd.Series(adopted.reindex(alter).to_numpy(), index=ego).dropna()
    exposed = contact_time.groupby(level=0).min().reindex(users)
    left = log.users.set_index("user_id")["left_at"] if "left_at" in log.users else pd.Series(pd.NaT, index=users)
    at_risk = exposed.notna() & ~(adopted <= exposed) & ~(left <= exposed) & (exposed < w1)
    idx = users[at_risk.to_numpy()]
    start = exposed[idx]
    end = pd.Series(np.minimum(left.reindex(idx).fillna(w1).to_numpy(), np.datetime64(w1)), index=idx)
    event = (adopted[idx] <= end).to_numpy()
    stop = adopted[idx].where(event, end)
    left_first = ~event & left.reindex(idx).notna().to_numpy() & (left.reindex(idx) < w1).to_numpy()
    table = pd.DataFrame({"user_id": idx.to_numpy(), "cohort": "first_contact_active", "exposed_at": start.to_numpy(),
                          "entry": 0.0, "duration": (stop - start).dt.total_seconds().to_numpy() / 86_400,
                          "event": event, "event_type": np.where(event, 1, np.where(left_first, 2, 0)),
                          "activated_at": adopted[idx].where(event).to_numpy()})
    for column in COLUMNS:
        if column not in table:
            table[column] = None
    table = table[table["duration"] > 0]
    return typed_table(table[list(COLUMNS)].reset_index(drop=True))


def community_curves(net: DiffusionNetwork) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per community: the cumulative adoption by period, and the summary.

    Returns
    -------
    curves : DataFrame
        One row per community and period: ``community``, ``period``, ``adopters`` (in the period),
        ``cumulative``, ``share`` (cumulative / size), ``hazard`` (adopters over those not yet adopted at
        the period's start).
    summary : DataFrame
        One row per community: ``community``, ``size``, ``adopters``, ``saturation`` (adopters / size),
        ``time_to_half`` (the first period in which half the community had adopted; NaN if never).

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> _, summary = community_curves(DiffusionNetwork.from_log(load_real("medical_innovation")))
    >>> summary["saturation"].round(3).tolist(), summary["time_to_half"].tolist()
    ([0.887, 0.875, 0.81, 0.889], [6.0, 6.0, 7.0, 7.0])
    """
    rows, summary = [], []
    periods = np.arange(1, net.n_periods + 1)
    for code, name in enumerate(net.communities):
        member = net.community == code
        size = int(member.sum())
        t = net.period[member]
        already = int((t == 0).sum())
        counts = np.bincount(np.where((t >= 1) & (t <= net.n_periods), t, 0), minlength=net.n_periods + 1)[1:]
        cumulative = already + np.cumsum(counts)
        at_risk = size - np.r_[already, cumulative[:-1]]
        share = cumulative / size
        rows.append(pd.DataFrame({"community": name, "period": periods, "adopters": counts, "cumulative": cumulative,
                                  "share": share, "hazard": np.divide(counts, at_risk, out=np.zeros(len(counts)),
                                                                      where=at_risk > 0)}))
        half = periods[share >= 0.5]
        summary.append({"community": name, "size": size, "adopters": int(cumulative[-1]),
                        "saturation": cumulative[-1] / size, "time_to_half": float(half[0]) if len(half) else np.nan})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(summary)


def clustered_logit(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, max_iter: int = 50,
                    tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression by Newton's method, with the cluster-robust (sandwich) covariance.

    Hand-written because statsmodels' GLM solves each step by least squares on the whole design (30 s for
    the two million person-periods of the bundled example, against 3 s here); the test suite checks it
    against statsmodels on smaller data.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 + x)))).astype(float)
    >>> coef, cov = clustered_logit(np.c_[np.ones(4000), x], y, np.arange(4000))
    >>> bool(abs(coef[1] - 1) < 0.1)
    True
    """
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-(X @ beta)))
        w = p * (1 - p)
        info = X.T @ (X * w[:, None])
        step = np.linalg.solve(info + 1e-9 * np.eye(len(beta)), X.T @ (y - p))
        beta = beta + step
        if np.abs(step).max() < tol ** 0.5:
            break
    p = 1 / (1 + np.exp(-(X @ beta)))
    info = X.T @ (X * (p * (1 - p))[:, None])
    bread = np.linalg.pinv(info)
    groups = pd.factorize(cluster)[0]
    scores = np.zeros((groups.max() + 1, X.shape[1]))
    np.add.at(scores, groups, X * (y - p)[:, None])
    g = len(scores)
    correction = g / (g - 1) if g > 1 else 1.0
    return beta, correction * bread @ (scores.T @ scores) @ bread


class ExposureHazard:
    """Discrete-time hazard of adopting on exposure, with period and community effects.

    Every person-period at risk (from the first period until adoption or the end) is a row; the outcome is
    adopting in the period; the covariates are a dummy per period (periods grouped into at most
    ``max_period_bins`` bins of about equal adoptions on long logs), a dummy per community and the exposure at
    the end of the previous period. Fitted by :func:`clustered_logit` (standard errors clustered by person).

    Parameters
    ----------
    max_period_bins : int, default 24
    max_rows : int or None, default 2_000_000
        On bigger logs a random sample of people whose person-periods fit (a weekly period over two years gives
        a hundred rows per person); ``None``: all. ``n_users_`` and ``users_at_risk_`` say how many were used.
    seed : int or Generator, optional

    Attributes
    ----------
    odds_ratio_, ci_low_, ci_high_, p_ : float
        The odds ratio of adopting for full exposure (all contacts adopted) against none, its 95% CI and p.
    n_rows_, n_events_, n_users_, users_at_risk_ : int

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> fit = ExposureHazard().fit(DiffusionNetwork.from_log(load_real("brazil_farmers")))
    >>> fit.n_events_ > 400
    True
    """

    def __init__(self, max_period_bins: int = 24, max_rows: int | None = 2_000_000, seed: SeedLike = None) -> None:
        self.max_period_bins = max_period_bins
        self.max_rows = max_rows
        self.seed = seed

    def fit(self, net: DiffusionNetwork) -> ExposureHazard:
        """Fit the model to the person-periods of ``net``."""
        deg = net.out_degree
        who = np.flatnonzero((deg > 0) & (net.period >= 1))
        self.users_at_risk_ = len(who)
        if self.max_rows is not None and np.minimum(net.period[who], net.n_periods).sum() > self.max_rows:
            shuffled = as_generator(self.seed).permutation(who)
            fits = np.cumsum(np.minimum(net.period[shuffled], net.n_periods)) <= self.max_rows
            who = np.sort(shuffled[fits])
        self.n_users_ = len(who)
        last = np.minimum(net.period[who], net.n_periods)
        n = last.astype(np.int64)
        user = np.repeat(who, n)
        period = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1
        event = (period == net.period[user]).astype(float)
        # exposure at the end of the previous period: contacts adopted in periods < this one
        order = np.argsort(net.ego, kind="stable")
        ego_sorted, alter_period = net.ego[order], net.period[net.alter[order]]
        start = np.searchsorted(ego_sorted, user, side="left")
        stop = np.searchsorted(ego_sorted, user, side="right")
        # count alters adopted before each row's period: sort alter periods within each ego, binary search
        key = ego_sorted.astype(np.float64) * (net.n_periods + 2) + np.minimum(alter_period, net.n_periods + 1)
        sorted_key = np.sort(key)
        adopted_before = np.searchsorted(sorted_key, user * (net.n_periods + 2.0) + period - 0.5) - start
        exposure = adopted_before / (stop - start)
        bins = period
        if net.n_periods > self.max_period_bins and event.any():
            cuts = np.unique(np.quantile(period[event == 1], np.linspace(0, 1, self.max_period_bins + 1)[1:-1]))
            bins = np.searchsorted(cuts, period, side="right")
        X = pd.get_dummies(pd.Series(bins, dtype="category"), prefix="period", drop_first=True, dtype=float)
        if len(net.communities) > 1:
            X = X.join(pd.get_dummies(pd.Series(net.community[user], dtype="category"), prefix="community",
                                      drop_first=True, dtype=float))
        X = X.loc[:, X.sum() > 0]
        X.insert(0, "exposure", exposure)
        X.insert(0, "const", 1.0)
        if event.sum() == 0:
            raise InputError("diffusion: nobody with contacts adopted during the observed periods")
        coef, cov = clustered_logit(X.to_numpy(), event, user)
        beta, se = float(coef[1]), float(np.sqrt(cov[1, 1]))
        self.odds_ratio_ = float(np.exp(beta))
        low, high = normal_interval(beta, se)  # on the log-odds scale
        self.ci_low_, self.ci_high_ = float(np.exp(low)), float(np.exp(high))
        self.p_ = float(2 * stats.norm.sf(abs(beta / se)))
        self.n_rows_, self.n_events_ = len(event), int(event.sum())
        return self
