"""What the log knew about a user at a given moment: covariates measured in time, never after it.

An adjustment for who receives money may use only what was true before the receipt. Friendships carry
``since``, group memberships ``joined_at`` and users ``joined_at``; from those, :func:`covariates_at` gives
each user's friends, groups, tenure and friends already active at any moment, for many (user, moment) pairs
at once (the person-periods of a marginal structural model). A count whose rows carry no time stamp cannot
be placed in time: group memberships without ``joined_at`` are left out rather than counted as of the end
of the log (:func:`untimed_covariates` says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.analysis.events import as_days
from adoption.arrays import searchsorted_in_order
from adoption.log.eventlog import EventLog

__all__ = ["count_before", "covariates_at", "pre_exposure_covariates", "untimed_covariates"]

_NEVER = np.iinfo(np.int64).max


def _ns(values: object, missing: int) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch (UTC), ``missing`` where unknown."""
    index = pd.DatetimeIndex(pd.Series(values) if not isinstance(values, pd.DatetimeIndex) else values)
    out = index.asi8.copy()
    out[index.isna()] = missing
    return out


def count_before(owner: np.ndarray, stamp: np.ndarray, query_owner: np.ndarray, query_time: np.ndarray,
                 weights: np.ndarray | None = None) -> np.ndarray:
    """For each query, how many rows belong to its owner with a stamp at or before its time (or the sum of
    their ``weights``).

    Owners are integer codes and times int64; vectorised with two sorts and binary searches, so a million
    queries over ten million rows take seconds.

    Examples
    --------
    >>> count_before(np.array([0, 0, 1]), np.array([5, 9, 1]), np.array([0, 0, 1, 2]), np.array([5, 10, 0, 3]))
    array([1, 2, 0, 0])
    >>> count_before(np.array([0, 0]), np.array([5, 9]), np.array([0]), np.array([9]), weights=np.array([2.0, 3.0]))
    array([5.])
    """
    owner, stamp = np.asarray(owner, dtype=np.int64), np.asarray(stamp, dtype=np.int64)
    query_owner, query_time = np.asarray(query_owner, dtype=np.int64), np.asarray(query_time, dtype=np.int64)
    if len(owner) == 0:
        return np.zeros(len(query_owner), dtype=np.int64 if weights is None else np.float64)
    stamps = np.sort(stamp)
    rank = searchsorted_in_order(stamps, stamp, side="left")
    span = len(stamps) + 1
    keys = owner * span + rank
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    query_rank = searchsorted_in_order(stamps, query_time, side="right")
    upper = searchsorted_in_order(keys, query_owner * span + query_rank, side="left")
    lower = searchsorted_in_order(keys, query_owner * span, side="left")
    if weights is None:
        return (upper - lower).astype(np.int64)
    total = np.r_[0.0, np.cumsum(np.asarray(weights, dtype=np.float64)[order])]
    return total[upper] - total[lower]


def untimed_covariates(log: EventLog) -> list[str]:
    """Covariates left out of a time-respecting adjustment because the log does not say when they began.

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> untimed_covariates(selection_log(500, seed=0)[0])
    []
    """
    if log.group_members is not None and "joined_at" not in log.group_members:
        return ["log_groups (group_members has no joined_at)"]
    return []


def covariates_at(log: EventLog, users: np.ndarray, at: np.ndarray | pd.Series, *,
                  active_since: pd.Series | None = None, top_cities: int = 5) -> pd.DataFrame:
    """Each (user, moment) pair's covariates as the log knew them at that moment.

    Parameters
    ----------
    log : EventLog
    users : array
        User ids, one per query (repeats allowed).
    at : array of timestamps
        The moment of each query.
    active_since : Series, optional
        Activation time per user id; adds ``log_paying_friends``, friends already active at the moment.
    top_cities : int, default 5
        Dummies for this many of the largest cities (constant in time).

    Returns
    -------
    DataFrame
        One row per query, in order: ``log_friends`` (friendships begun by then), ``log_groups``
        (memberships begun by then; only when ``group_members`` has ``joined_at``), ``log_tenure`` (days
        since joining), ``log_paying_friends`` and ``city_<name>``, all ``log1p`` of counts or days.

    Examples
    --------
    >>> from adoption import load_example
    >>> log = load_example()
    >>> ids = log.users["user_id"].to_numpy()[:3]
    >>> X = covariates_at(log, ids, [log.window[0]] * 3)
    >>> list(X.columns)[:3], len(X)
    (['log_friends', 'log_groups', 'log_tenure'], 3)
    """
    users = np.asarray(users)
    table = log.users
    codes = pd.Index(table["user_id"]).get_indexer(users)
    t = _ns(at, _NEVER)
    out = pd.DataFrame(index=pd.RangeIndex(len(users)))

    def code(ids: pd.Series) -> np.ndarray:
        return pd.Index(table["user_id"]).get_indexer(ids)

    if log.friendships is not None:
        f = log.friendships
        ends = np.r_[code(f["user_a"]), code(f["user_b"])]
        since = _ns(f["since"], np.iinfo(np.int64).min) if "since" in f else np.full(len(f), np.iinfo(np.int64).min)
        since2 = np.r_[since, since]
        out["log_friends"] = np.log1p(count_before(ends, since2, codes, t))
        if active_since is not None:
            act = _ns(active_since.reindex(table["user_id"]).to_numpy(), _NEVER)
            other = np.r_[code(f["user_b"]), code(f["user_a"])]
            stamp = np.maximum(since2, act[other])
            known = stamp != _NEVER
            out["log_paying_friends"] = np.log1p(count_before(ends[known], stamp[known], codes, t))
    if log.group_members is not None and "joined_at" in log.group_members:
        g = log.group_members
        out["log_groups"] = np.log1p(count_before(code(g["user_id"]), _ns(g["joined_at"], np.iinfo(np.int64).min),
                                                  codes, t))
    joined = table["joined_at"].to_numpy()[codes]
    at_series = pd.Series(pd.DatetimeIndex(pd.Series(at)))
    out["log_tenure"] = np.log1p(np.clip(as_days(at_series - pd.Series(joined)), 0, None))
    if "city" in table and table["city"].notna().any():
        city = table["city"].astype("string").fillna("").to_numpy(dtype=object)[codes]
        for name in table["city"].value_counts().index[:top_cities]:
            out[f"city_{name}"] = (city == name).astype(float)
    order = [c for c in ("log_friends", "log_groups", "log_tenure", "log_paying_friends") if c in out]
    return out[order + [c for c in out.columns if c not in order]].astype(float)


def pre_exposure_covariates(log: EventLog, at: pd.Timestamp | pd.Series, users: pd.Index,
                            top_cities: int = 5) -> pd.DataFrame:
    """Friends, groups and tenure at time ``at`` (log scale), and dummies for the largest cities, indexed by user.

    ``at`` is one moment for all users or a Series per user. Groups are counted only when memberships are
    time-stamped (:func:`untimed_covariates`).

    Examples
    --------
    >>> from adoption import load_example
    >>> log = load_example()
    >>> X = pre_exposure_covariates(log, log.window[0], log.users.set_index("user_id").index[:100])
    >>> list(X.columns)[:3]
    ['log_friends', 'log_groups', 'log_tenure']
    """
    moments = (at.reindex(users) if isinstance(at, pd.Series) else pd.Series(at, index=users)).to_numpy()
    out = covariates_at(log, users.to_numpy(), moments, top_cities=top_cities)
    out.index = users
    return out
