"""Who is at risk of activating, from when, and split where their exposure to money begins.

Every estimate of the effect of receiving starts from the same risk sets: users followed from the moment
receiving became possible (:func:`exposure_origin`: the first receipt in the log, or a moment the user
states, with a check of what the log cannot show about the time before it) or from their joining, until they
activate, leave or the window ends, split at their first receipt (:func:`exposure_episodes`). The naive,
adjusted and placebo hazard ratios (:mod:`adoption.analysis.causal`), the marginal structural model
(:mod:`adoption.analysis.msm`) and the receipt history (:mod:`adoption.analysis.receipt_history`) all read
them, so they compare the same people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adoption.analysis.covariates import pre_exposure_covariates
from adoption.analysis.events import activation_times, as_days, receipts
from adoption.errors import InputError
from adoption.log.contract import CST_OFFSET
from adoption.log.eventlog import EventLog

__all__ = ["ADJUSTMENT", "ExposureOrigin", "RiskSets", "exposure_episodes", "exposure_origin", "impute_missing",
           "risk_sets", "user_times"]

#: Pre-exposure covariates used for adjustment (measured at the start of the window).
ADJUSTMENT = ("log_friends", "log_groups", "log_tenure")


@dataclass(frozen=True)
class ExposureOrigin:
    """When risk sets open: the moment receiving became possible, and what the log cannot show about before it.

    Attributes
    ----------
    at : Timestamp
        Users are followed from the later of this moment and their joining.
    stated : bool
        Whether the moment was stated (``exposure_start``) rather than read from the log's first receipt.
    warning : str or None
        Set when receipts before the window are unknown (:func:`exposure_origin`).
    """

    at: pd.Timestamp
    stated: bool
    warning: str | None


def _local(moment: pd.Timestamp | str) -> pd.Timestamp:
    """A moment as the log's times are kept: China Standard Time without a zone (an offset is converted)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_convert(CST_OFFSET).tz_localize(None) if stamp.tzinfo is not None else stamp


def exposure_origin(log: EventLog, exposure_start: pd.Timestamp | str | None = None, *,
                    first_receipt: pd.Timestamp | None = None) -> ExposureOrigin:
    """When exposure becomes possible, and a look-back check.

    ``first_receipt``, the log's first receipt, is read from the log when not given.

    Risk sets open at ``exposure_start`` when given (the user says when receipts became possible), else at the
    first receipt in the log: before it nobody could be exposed, and users who activated earlier (pre-launch
    adopters) are no comparison for receivers. The look-back check warns when the log starts with receipts
    already flowing (its first receipt within a day of the window start), users joined before the window, and
    nothing says the receipts are complete (neither ``exposure_start`` nor ``meta['receipts_complete_from']``
    at or before the window start): a user who received before the window then looks newly exposed.

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> log, _ = selection_log(1_000, seed=0)
    >>> exposure_origin(log).warning.startswith("receipts before 2015-01-01 are not in the log")
    True
    >>> exposure_origin(log, "2015-01-01").warning is None
    True
    >>> exposure_origin(log, "2015-01-02T00:00+00:00").at  # an offset is converted to the log's time (CST)
    Timestamp('2015-01-02 08:00:00')
    """
    w0, _ = log.window
    first = receipts(log)["t"].min() if first_receipt is None else first_receipt
    if exposure_start is not None:
        return ExposureOrigin(max(_local(exposure_start), w0), True, None)
    origin = max(first, w0)
    complete = log.meta.get("receipts_complete_from")
    known = complete is not None and _local(str(complete)) <= w0
    earlier = int((log.users["joined_at"] < w0).sum())
    warning = None
    if not known and earlier and first - w0 < pd.Timedelta(days=1):
        warning = (f"receipts before {w0:%Y-%m-%d} are not in the log: {earlier:,} users joined earlier and may have "
                   "received before the window, so they look newly exposed; state when receipts became possible "
                   "(--exposure-start) or use a log that begins before its first receipt")
    return ExposureOrigin(origin, False, warning)


@dataclass(frozen=True)
class RiskSets:
    """Who is at risk of activating, and from when to when (see :func:`risk_sets`).

    Attributes
    ----------
    users : DataFrame
        The users table indexed by ``user_id``.
    first, act : Series
        First receipt and activation time per user (NaT: none).
    begin, end : Series
        When each user's follow-up opens (the later of joining and the origin) and closes (leaving or the
        window's end).
    at_risk : ndarray of bool
        Users neither active nor exposed when their follow-up opens, with time left to follow.
    origin : ExposureOrigin
    """

    users: pd.DataFrame
    first: pd.Series
    act: pd.Series
    begin: pd.Series
    end: pd.Series
    at_risk: np.ndarray
    origin: ExposureOrigin


def risk_sets(log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0,
              exposure_start: pd.Timestamp | str | None = None, received: pd.DataFrame | None = None) -> RiskSets:
    """The follow-up of every user from the :func:`exposure_origin` (or their joining) to activation, leaving
    or the window's end, read with one pass over the receipts.

    ``received``: the log's :func:`~adoption.analysis.events.receipts`, when the caller has them already.

    Examples
    --------
    >>> from adoption import load_example
    >>> at = risk_sets(load_example())
    >>> int(at.at_risk.sum()) <= len(at.users), at.origin.warning is None
    (True, True)
    """
    received = receipts(log) if received is None else received
    users, first, act, left = user_times(log, definition, k, d, received=received)
    origin = exposure_origin(log, exposure_start, first_receipt=received["t"].min())
    w1 = log.window[1]
    begin = users["joined_at"].where(users["joined_at"] > origin.at, origin.at)
    end = left.where(left < w1, w1)
    # users exposed before they could be followed are not at risk (they have no unexposed time)
    at_risk = (~(act <= begin) & ~(first <= begin) & (end > begin)).to_numpy(dtype=bool)
    return RiskSets(users, first, act, begin, end, at_risk, origin)


def exposure_episodes(log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0,
                      exposure_start: pd.Timestamp | str | None = None,
                      received: pd.DataFrame | None = None) -> pd.DataFrame:
    """Users at risk when exposure becomes possible, split at their first receipt (receipt as a time-varying exposure).

    Returns one or two rows per user: ``user_id``, ``start``, ``stop`` (days since the window start),
    ``received`` (0 before the first receipt, 1 from it on), ``event`` (activation at ``stop``),
    ``ever_received`` (exposed before activating), ``received_in_log`` (any receipt in the window, before or
    after activating: what a naive comparison splits on), and the pre-exposure covariates of
    :func:`pre_exposure_covariates` measured at the user's start: the later of their joining and the
    :func:`exposure_origin` (the first receipt in the log, or ``exposure_start``). Users active before their
    start are not at risk. ``attrs["exposure_origin"]`` holds the :class:`ExposureOrigin`. ``received``: the
    log's :func:`~adoption.analysis.events.receipts`, when the caller has them already.

    Examples
    --------
    >>> from adoption import load_example
    >>> ep = exposure_episodes(load_example())
    >>> set(ep["received"].unique()) <= {0, 1}
    True
    """
    w0 = log.window[0]
    at = risk_sets(log, definition, k=k, d=d, exposure_start=exposure_start, received=received)
    first, act, begin, end = at.first, at.act, at.begin, at.end
    idx = at.users.index[at.at_risk]
    b = begin[idx]
    t_end = np.minimum(as_days(end[idx] - w0), np.where(act[idx].notna(), as_days(act[idx] - w0), np.inf))
    t_begin = as_days(b - w0)
    t_exp = np.where(first[idx].notna(), as_days(first[idx] - w0), np.inf)
    event = act[idx].notna().to_numpy() & (act[idx] <= end[idx]).to_numpy()
    exposed = t_exp < t_end
    X = pre_exposure_covariates(log, b, idx)
    in_log = first[idx].notna().to_numpy() & (first[idx] < end[idx]).to_numpy()
    rows_pre = pd.DataFrame({"user_id": idx, "start": t_begin, "stop": np.where(exposed, t_exp, t_end),
                             "received": 0, "event": event & ~exposed, "ever_received": exposed,
                             "received_in_log": in_log, "receipt_day": t_exp})
    rows_post = pd.DataFrame({"user_id": idx[exposed], "start": t_exp[exposed], "stop": t_end[exposed],
                              "received": 1, "event": event[exposed], "ever_received": True,
                              "received_in_log": True, "receipt_day": t_exp[exposed]})
    episodes = pd.concat([rows_pre, rows_post], ignore_index=True)
    episodes = episodes[episodes["stop"] > episodes["start"]]
    episodes = episodes.merge(X, left_on="user_id", right_index=True)
    episodes["event"] = episodes["event"].astype(int)
    if episodes.empty:
        raise InputError("effect: no users at risk at the start of the window")
    episodes = episodes.sort_values(["user_id", "start"], ignore_index=True)
    episodes.attrs["exposure_origin"] = at.origin
    return episodes


def impute_missing(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Covariates with missing values: the median filled in, plus a ``<name>_missing`` indicator.

    Returns the frame, the covariates to use (indicators added) and the names that were imputed, so
    that the output can say which.

    Examples
    --------
    >>> frame, used, imputed = impute_missing(pd.DataFrame({"x": [1.0, None, 3.0]}), ["x"])
    >>> frame["x"].tolist(), used, imputed
    ([1.0, 2.0, 3.0], ['x', 'x_missing'], ['x'])
    """
    imputed = [c for c in covariates if frame[c].isna().any()]
    if not imputed:
        return frame, covariates, []
    frame = frame.copy()
    used = list(covariates)
    for c in imputed:
        values = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        missing = values.isna()
        frame[c] = values.fillna(values.median() if missing.sum() < len(values) else 0.0)
        if 0 < missing.sum() < len(values):
            frame[f"{c}_missing"] = missing.astype(float)
            used.append(f"{c}_missing")
    return frame, used, imputed


def user_times(log: EventLog, definition: str, k: int = 3, d: float = 30.0, *,
               received: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Users (indexed by user_id) with each one's first receipt, activation and leaving time (NaT: none).

    ``received``: the log's :func:`~adoption.analysis.events.receipts`, when the caller has them already.

    Examples
    --------
    >>> from adoption import load_example
    >>> users, first, act, left = user_times(load_example(), "first_action")
    >>> len(users) == len(first) == len(act) == len(left)
    True
    """
    users = log.users.set_index("user_id")
    received = receipts(log) if received is None else received
    first = received.groupby("user_id")["t"].min().reindex(users.index)
    act = activation_times(log, definition, k, d).reindex(users.index)
    left = users["left_at"] if "left_at" in users else pd.Series(pd.NaT, index=users.index)
    return users, first, act, left
