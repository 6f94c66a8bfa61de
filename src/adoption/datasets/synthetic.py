"""Event logs whose truth is known, for simulate-and-recover checks of the estimators.

Unlike :func:`adoption.world.simulate.simulate`, which models the whole red-packet world, these generators
draw the one quantity under test from a known distribution and write a minimal real-world-shaped log
(``users``, ``friendships``, ``transfers``, ``payments``), so an estimator's answer can be compared
with the truth:

* :func:`weibull_activation_log` — time from first receipt to activation is Weibull with a chosen
  cumulative incidence at 90 days; independent censoring by leaving; optional delayed entry (users first
  exposed before the observation window).
* :func:`selection_log` — sociable users both receive sooner and activate more on their own; receiving
  multiplies the activation hazard by a chosen ``effect`` (1 = no effect). The naive comparison is then
  biased; an analysis that treats receipt as time-varying and adjusts for degree should recover ``effect``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adoption.errors import ParameterError
from adoption.log.eventlog import EventLog
from adoption.log.survey import friendships_from_nominations
from adoption.random import SeedLike, as_generator, stepped_poisson

__all__ = ["Truth", "campaign_log", "diffusion_log", "selection_log", "weibull_activation_log", "weibull_scale"]

_START = pd.Timestamp("2015-01-01")


@dataclass(frozen=True)
class Truth:
    """What a synthetic log was generated with."""

    cumulative_incidence_90d: float | None = None
    activated_before_leaving_90d: float | None = None
    shape: float | None = None
    scale_days: float | None = None
    hazard_ratio: float | None = None
    contagion: float | None = None


def weibull_scale(p90: float, shape: float, horizon: float = 90.0) -> float:
    """Weibull scale (days) such that P(T <= horizon) = p90.

    Examples
    --------
    >>> lam = weibull_scale(0.8, 1.0)
    >>> round(float(1 - np.exp(-(90 / lam))), 6)
    0.8
    """
    if not 0 < p90 < 1:
        raise ParameterError(f"p90: expected a share in (0, 1), got {p90}")
    return horizon / (-np.log1p(-p90)) ** (1.0 / shape)


def _before_leaving(shape: float, scale: float, leave_rate: float, horizon: float = 90.0) -> float:
    """P(T <= horizon and T < L) for T ~ Weibull(shape, scale) and L ~ Exp(leave_rate) independent.

    Examples
    --------
    >>> bool(round(_before_leaving(1.0, 100.0, 0.0), 6) == round(1 - np.exp(-0.9), 6))
    True
    """
    from scipy.integrate import quad
    from scipy.stats import weibull_min

    density = weibull_min(shape, scale=scale).pdf
    return float(quad(lambda t: density(t) * np.exp(-leave_rate * t), 0.0, horizon)[0])


def _timestamps(days: np.ndarray) -> pd.Series:
    return pd.Series(_START + pd.to_timedelta(np.round(np.asarray(days) * 86400), unit="s"))


def weibull_activation_log(n_receivers: int = 10_000, *, p90: float = 0.8, shape: float = 1.2,
                           window_days: float = 365.0, leave_rate: float = 1 / 400,
                           delayed_entry_share: float = 0.0, seed: SeedLike = None) -> tuple[EventLog, Truth]:
    """A log where time from first receipt to activation is Weibull, with independent censoring.

    Receivers are exposed (a transfer received) uniformly over the window, or — for
    ``delayed_entry_share`` of them — during the year before it (their receipts are in the log as history;
    the observation window in ``meta`` starts later). Activation is a payment; leaving is exponential
    with rate ``leave_rate`` per day from exposure; the window end censors the rest.

    Examples
    --------
    >>> log, truth = weibull_activation_log(2_000, seed=1)
    >>> log.validate().ok, truth.cumulative_incidence_90d, round(truth.activated_before_leaving_90d, 3)
    (True, 0.8, 0.729)
    """
    if n_receivers < 1:
        raise ParameterError(f"n_receivers: expected >= 1, got {n_receivers}")
    if not 0 <= delayed_entry_share < 1:
        raise ParameterError(f"delayed_entry_share: expected a share in [0, 1), got {delayed_entry_share}")
    rng = as_generator(seed)
    n_senders = max(2, n_receivers // 100)
    n = n_receivers
    scale = weibull_scale(p90, shape)
    before = rng.random(n) < delayed_entry_share
    exposed = np.where(before, -rng.random(n) * 365.0, rng.random(n) * window_days)
    activation = exposed + scale * rng.weibull(shape, n)
    leave = exposed + rng.exponential(1.0 / leave_rate, n) if leave_rate > 0 else np.full(n, np.inf)
    end = window_days
    receiver_ids = np.arange(n_senders + 1, n_senders + n + 1)
    sender_ids = np.arange(1, n_senders + 1)
    joined = np.r_[np.full(n_senders, -800.0), np.minimum(exposed, 0) - 400.0 - rng.random(n) * 100]
    left_days = np.r_[np.full(n_senders, np.nan), np.where(leave < end, leave, np.nan)]
    users = pd.DataFrame({"user_id": np.r_[sender_ids, receiver_ids], "joined_at": _timestamps(joined)})
    users["left_at"] = _timestamps(np.nan_to_num(left_days)).where(~np.isnan(left_days))
    transfers = pd.DataFrame({"transfer_id": np.arange(1, n + 1), "sender_id": rng.choice(sender_ids, n),
                              "receiver_id": receiver_ids, "sent_at": _timestamps(exposed),
                              "amount_cents": rng.integers(100, 50_000, n)})
    pays = (activation < np.minimum(leave, end))
    payments = pd.DataFrame({"payment_id": np.arange(1, int(pays.sum()) + 1), "user_id": receiver_ids[pays],
                             "merchant_id": rng.integers(1, 50, int(pays.sum())),
                             "paid_at": _timestamps(activation[pays]),
                             "amount_cents": rng.integers(100, 10_000, int(pays.sum()))})
    meta = {"window_start": str(_START), "window_end": str(_START + pd.Timedelta(days=window_days)),
            "source": "adoption.synthetic.weibull_activation_log"}
    log = EventLog(users=users, transfers=transfers, payments=payments, meta=meta)
    return log, Truth(cumulative_incidence_90d=p90, shape=shape, scale_days=scale,
                      activated_before_leaving_90d=_before_leaving(shape, scale, leave_rate))


def selection_log(n_users: int = 20_000, *, effect: float = 1.0, homophily: float = 1.0,
                  receipt_rate: float = 1 / 120, base_hazard: float = 1 / 500, window_days: float = 365.0,
                  mean_degree: float = 8.0, hidden: float = 0.0, seed: SeedLike = None) -> tuple[EventLog, Truth]:
    """A log with selection into receiving: who receives is not random, and receiving has ``effect``.

    Each user has ``degree`` friends (heavy-tailed). Their first receipt arrives at rate
    ``receipt_rate * ((1 + degree) / (1 + mean_degree)) ** homophily`` per day, from a random friend; their
    activation hazard is ``base_hazard * ((1 + degree) / (1 + mean_degree)) ** homophily``, multiplied by
    ``effect`` from the first receipt on. So well-connected users both receive sooner and activate more on
    their own. With ``effect=1`` receiving does nothing, yet receivers activate far more often. The money
    comes from a pool of accounts that were already paying before the window.

    ``hidden`` adds a trait the log does not record (standard normal ``z``): both rates are multiplied by
    ``exp(hidden * z)``, so that adjusting for what the log shows (friends) cannot remove all of the
    selection.

    Examples
    --------
    >>> log, truth = selection_log(2_000, effect=1.0, seed=3)
    >>> log.validate().ok, truth.hazard_ratio
    (True, 1.0)
    """
    if effect <= 0:
        raise ParameterError(f"effect: expected a hazard ratio > 0, got {effect}")
    rng = as_generator(seed)
    n = n_users
    degree = np.minimum(np.round(rng.lognormal(np.log(mean_degree) - 0.5, 1.0, n)).astype(int) + 1, n - 1)
    # friendships: random stub matching (self-loops and duplicates dropped)
    stubs = np.repeat(np.arange(n), degree)
    rng.shuffle(stubs)
    half = len(stubs) // 2
    a, b = stubs[:half], stubs[half:2 * half]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(lo[lo != hi].astype(np.int64) * n + hi[lo != hi])
    lo, hi = pairs // n, pairs % n
    real_degree = np.bincount(np.r_[lo, hi], minlength=n)
    weight = ((1 + real_degree) / (1 + mean_degree)) ** homophily
    if hidden:
        weight = weight * np.exp(hidden * rng.standard_normal(n))
    receipt = rng.exponential(1.0 / (receipt_rate * weight))
    base = base_hazard * weight
    # piecewise-constant hazard: base before the receipt, base * effect after it
    e = rng.exponential(1.0, n)
    before = e / base
    activation = np.where(before < receipt, before, receipt + (e - base * receipt) / (base * effect))
    has_friend = real_degree > 0
    receipt = np.where(has_friend, receipt, np.inf)
    activation = np.where(has_friend, activation, before)
    ids = np.arange(1, n + 1)
    # the money comes from a pool of accounts that were paying before the window (so that sending it is
    # nobody's activation inside the window)
    n_senders = max(2, n // 50)
    sender_ids = np.arange(n + 1, n + n_senders + 1)
    users = pd.DataFrame({"user_id": np.r_[ids, sender_ids],
                          "joined_at": _timestamps(np.r_[-rng.random(n) * 700 - 10, np.full(n_senders, -800.0)])})
    friendships = pd.DataFrame({"user_a": lo + 1, "user_b": hi + 1})
    got = receipt < window_days
    transfers = pd.DataFrame({"transfer_id": np.arange(1, int(got.sum()) + 1),
                              "sender_id": rng.choice(sender_ids, int(got.sum())),
                              "receiver_id": ids[got], "sent_at": _timestamps(receipt[got]),
                              "amount_cents": rng.integers(100, 20_000, int(got.sum()))})
    act = activation < window_days
    payer = np.r_[ids[act], sender_ids]
    paid = np.r_[activation[act], np.full(n_senders, -30.0)]
    payments = pd.DataFrame({"payment_id": np.arange(1, len(payer) + 1), "user_id": payer,
                             "merchant_id": rng.integers(1, 50, len(payer)), "paid_at": _timestamps(paid),
                             "amount_cents": rng.integers(100, 10_000, len(payer))})
    meta = {"window_start": str(_START), "window_end": str(_START + pd.Timedelta(days=window_days)),
            "source": "adoption.synthetic.selection_log"}
    log = EventLog(users=users, friendships=friendships, transfers=transfers, payments=payments, meta=meta)
    return log, Truth(hazard_ratio=effect)


def campaign_log(rates: dict[tuple[str, str], float] | None = None, scans_per_channel: int = 2000, *,
                 anonymous_share: float = 0.1, share_prob: float = 0.3, referred_per_share: float = 2.0,
                 referred_rate: float = 0.12, return_rate: float = 0.02, follow_up_share: float = 0.5,
                 follow_up_lift: float = 1.5, days: float = 120.0, seed: SeedLike = None) -> EventLog:
    """A QR-code campaign with known per-channel conversion rates, sharing and follow-up lift.

    Each (channel, placement) gets ``scans_per_channel`` direct scans in the first 30 days; a logged-in
    scan converts with the channel's rate (anonymous scans never do); a buyer shares to Moments with
    ``share_prob``, bringing Poisson(``referred_per_share``) referred scans that convert at
    ``referred_rate`` and share in turn, so the viral coefficient (referred conversions per conversion) is
    ``share_prob * referred_per_share * referred_rate * (1 - anonymous_share)``. Buyers come back to the
    merchant at ``return_rate`` per day, ``follow_up_lift`` times faster after a follow-up message sent one
    day after buying to a random ``follow_up_share`` of them. The log ends ``days`` after the start.

    Rates are per scan, anonymous scans included in the denominator: the truth of a channel's observed
    rate is ``rate * (1 - anonymous_share)``.

    Examples
    --------
    >>> log = campaign_log(seed=1)
    >>> sorted(log.scans["channel"].unique())
    ['moments', 'official_account', 'poster']
    """
    rng = as_generator(seed)
    if rates is None:
        rates = {("poster", "metro"): 0.06, ("poster", "campus"): 0.10, ("poster", "mall"): 0.04,
                 ("official_account", ""): 0.15}
    for key, rate in rates.items():
        if not 0 <= rate <= 1:
            raise ParameterError(f"rates[{key}]: expected a probability, got {rate}")
    n_users = max(10 * scans_per_channel * len(rates), 1000)
    channel, placement, user, time, referrer, conv = [], [], [], [], [], []
    for (ch, pl), rate in rates.items():
        channel += [ch] * scans_per_channel
        placement += [pl] * scans_per_channel
        user.append(rng.integers(1, n_users + 1, scans_per_channel))
        time.append(rng.uniform(0, 30, scans_per_channel))
        referrer.append(np.zeros(scans_per_channel, dtype=np.int64))
        conv.append(np.full(scans_per_channel, rate))
    g_user, g_time, g_ref, g_conv = (np.concatenate(x) for x in (user, time, referrer, conv))
    g_channel, g_place = np.array(channel, dtype=object), np.array(placement, dtype=object)
    scans, pays = [], []
    next_id = 1
    for _generation in range(100):
        n = len(g_user)
        if n == 0:
            break
        anonymous = rng.random(n) < anonymous_share
        ids = np.arange(next_id, next_id + n)
        next_id += n
        buys = ~anonymous & (rng.random(n) < g_conv)
        scans.append(pd.DataFrame({"scan_id": ids, "channel": g_channel, "placement": g_place,
                                   "scanned_at": g_time, "user_id": np.where(anonymous, 0, g_user),
                                   "referrer_id": g_ref}))
        paid = g_time[buys] + rng.exponential(10 / 1440, int(buys.sum()))
        pays.append(pd.DataFrame({"user_id": g_user[buys], "paid_at": paid, "scan_id": ids[buys]}))
        sharer = rng.random(int(buys.sum())) < share_prob
        counts = rng.poisson(referred_per_share, int(sharer.sum()))
        g_ref = np.repeat(g_user[buys][sharer], counts)
        g_user = rng.integers(1, n_users + 1, len(g_ref))
        g_time = np.repeat(paid[sharer], counts) + rng.exponential(0.3, len(g_ref))
        g_conv = np.full(len(g_ref), referred_rate)
        g_channel = np.full(len(g_ref), "moments", dtype=object)
        g_place = np.full(len(g_ref), "", dtype=object)
    scan = pd.concat(scans, ignore_index=True)
    pay = pd.concat(pays, ignore_index=True)
    # the O2O loop: follow-up messages and return visits, as a piecewise-constant hazard
    buyers = pay.sort_values("paid_at").drop_duplicates("user_id")
    first = buyers["paid_at"].to_numpy()
    msg_at = first + 1.0
    messaged = rng.random(len(first)) < follow_up_share
    sent = messaged & (msg_at < days)
    buyer_ids = buyers["user_id"].to_numpy()
    rounds = list(stepped_poisson(first, np.where(messaged, msg_at, np.inf), return_rate, follow_up_lift, days, rng))
    ret = pd.DataFrame({"user_id": np.concatenate([buyer_ids[u] for u, _ in rounds] or [np.zeros(0, np.int64)]),
                        "paid_at": np.concatenate([t for _, t in rounds] or [np.zeros(0)])}).assign(scan_id=pd.NA)
    payments = pd.concat([pay, ret], ignore_index=True)
    payments = payments[payments["paid_at"] < days].reset_index(drop=True)
    keep = scan["scanned_at"] < days
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1), "joined_at": _START - pd.Timedelta(days=365)})
    return EventLog(
        users=users,
        merchants=pd.DataFrame({"merchant_id": [1], "accepts_from": [_START - pd.Timedelta(days=1)]}),
        payments=pd.DataFrame({"payment_id": np.arange(1, len(payments) + 1), "user_id": payments["user_id"],
                               "merchant_id": 1, "paid_at": _timestamps(payments["paid_at"].to_numpy(float)),
                               "amount_cents": 5000, "scan_id": pd.array(payments["scan_id"], dtype="Int64")}),
        scans=pd.DataFrame({"scan_id": scan["scan_id"][keep], "campaign": "concert",
                            "channel": scan["channel"][keep], "scanned_at": _timestamps(scan["scanned_at"][keep].to_numpy()),
                            "user_id": pd.array(scan["user_id"][keep].where(scan["user_id"][keep] > 0), dtype="Int64"),
                            "placement": scan["placement"][keep].replace("", None),
                            "referrer_id": pd.array(scan["referrer_id"][keep].where(scan["referrer_id"][keep] > 0),
                                                    dtype="Int64")}),
        messages=pd.DataFrame({"message_id": np.arange(1, int(sent.sum()) + 1),
                               "user_id": buyers["user_id"].to_numpy()[sent], "merchant_id": 1,
                               "sent_at": _timestamps(msg_at[sent])}),
        meta={"window_start": str(_START), "window_end": str(_START + pd.Timedelta(days=days)), "source": "campaign_log"},
    )


def diffusion_log(communities: int = 10, size: int = 60, *, contagion: float = 0.0, base: float = 0.04,
                  periods: int = 20, mean_degree: float = 4.0, seed: SeedLike = None) -> tuple[EventLog, Truth]:
    """A survey-like log of adoption in communities, with or without contagion through nominations.

    Each person names ``mean_degree`` others of their community on average (random, so the network carries
    no homophily). In each month a person who has not adopted does so with probability
    ``1 - exp(-(base + contagion * exposure))``, where exposure is the share of the people they named who
    adopted in an earlier month. With ``contagion=0`` adoption ignores the network: a contagion test should
    reject at its nominal rate; with ``contagion > 0`` it should find it.

    Examples
    --------
    >>> log, truth = diffusion_log(4, 30, contagion=1.0, seed=1)
    >>> log.validate().ok, truth.contagion
    (True, 1.0)
    """
    if contagion < 0 or base <= 0 or periods < 2 or size < 3 or communities < 1:
        raise ParameterError("diffusion_log: expected contagion >= 0, base > 0, periods >= 2, size >= 3, communities >= 1")
    rng = as_generator(seed)
    n = communities * size
    community = np.repeat(np.arange(communities), size)
    named = rng.poisson(mean_degree, n)
    ego = np.repeat(np.arange(n), named)
    alter = community[ego] * size + rng.integers(0, size - 1, len(ego))
    alter = np.where(alter >= ego, alter + 1, alter)  # nobody names themselves
    alter = np.where(community[alter] != community[ego], community[ego] * size + (alter % size), alter)
    pairs = np.unique(np.c_[ego, alter], axis=0)
    ego, alter = pairs[:, 0], pairs[:, 1]
    degree = np.bincount(ego, minlength=n)
    period = np.full(n, 0)
    for month in range(1, periods + 1):
        adopted_before = (period > 0) & (period < month)
        exposure = np.divide(np.bincount(ego, weights=adopted_before[alter], minlength=n), degree,
                             out=np.zeros(n), where=degree > 0)
        chance = 1 - np.exp(-(base + contagion * exposure))
        new = (period == 0) & (rng.random(n) < chance)
        period[new] = month
    ids = [f"{c + 1}/{i + 1}" for c, i in zip(community, np.arange(n) % size, strict=True)]
    start = pd.Timestamp("2000-01-01")
    users = pd.DataFrame({"user_id": ids, "joined_at": start, "city": (community + 1).astype(str)})
    adopters = np.flatnonzero(period > 0)
    adoptions = pd.DataFrame({"user_id": [ids[i] for i in adopters],
                              "adopted_at": [start + pd.DateOffset(months=int(period[i]) - 1) for i in adopters]})
    friendships = friendships_from_nominations(ego, alter)  # ordered by position, then named
    names = np.asarray(ids)
    friendships["user_a"], friendships["user_b"] = names[friendships["user_a"]], names[friendships["user_b"]]
    meta = {"source": "adoption.synthetic.diffusion_log", "window_start": str(start),
            "window_end": str(start + pd.DateOffset(months=periods)), "time_unit": "month"}
    return EventLog(users=users, friendships=friendships, adoptions=adoptions, meta=meta), Truth(contagion=contagion)
