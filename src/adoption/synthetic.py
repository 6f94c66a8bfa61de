"""Event logs whose truth is known, for simulate-and-recover checks of the estimators.

Unlike :func:`adoption.simulate.simulate`, which models the whole red-packet world, these generators
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
from adoption.eventlog import EventLog
from adoption.random import SeedLike, as_generator

__all__ = ["Truth", "selection_log", "weibull_activation_log", "weibull_scale"]

_START = pd.Timestamp("2015-01-01")


@dataclass(frozen=True)
class Truth:
    """What a synthetic log was generated with."""

    cumulative_incidence_90d: float | None = None
    shape: float | None = None
    scale_days: float | None = None
    hazard_ratio: float | None = None


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
    >>> log.validate().ok, truth.cumulative_incidence_90d
    (True, 0.8)
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
    return log, Truth(cumulative_incidence_90d=p90, shape=shape, scale_days=scale)


def selection_log(n_users: int = 20_000, *, effect: float = 1.0, homophily: float = 1.0,
                  receipt_rate: float = 1 / 120, base_hazard: float = 1 / 500, window_days: float = 365.0,
                  mean_degree: float = 8.0, seed: SeedLike = None) -> tuple[EventLog, Truth]:
    """A log with selection into receiving: who receives is not random, and receiving has ``effect``.

    Each user has ``degree`` friends (heavy-tailed). Their first receipt arrives at rate
    ``receipt_rate * ((1 + degree) / (1 + mean_degree)) ** homophily`` per day, from a random friend; their
    activation hazard is ``base_hazard * ((1 + degree) / (1 + mean_degree)) ** homophily``, multiplied by
    ``effect`` from the first receipt on. So well-connected users both receive sooner and activate more on
    their own. With ``effect=1`` receiving does nothing, yet receivers activate far more often. The money
    comes from a pool of accounts that were already paying before the window.

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
