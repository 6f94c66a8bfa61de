"""Exposure over time: how many receipts, how much money and how recently, not only the first receipt.

Two in five receivers get a second red packet before they act, so "received" is a dose that accumulates.
:func:`receipt_history_episodes` cuts each user's time at risk at every receipt (and seven days after it), so
that each episode carries the history so far: whether the user has received, how many receipts, how many
yuan in all, and whether the last one came within the past week. :class:`ReceiptDose` fits two Cox models in
counting-process form (the fast model of :mod:`adoption.analysis.coxph`), adjusted for the pre-exposure
covariates of :mod:`adoption.analysis.causal`:

* the history model: hazard ratios of having received, per doubling of the receipts, per doubling of the
  yuan received, and of a receipt in the past week;
* the dose-response: the hazard ratio in each band of cumulative yuan received against not having received.

The amounts of a red packet's split are random (the lucky-money rule), but how many packets a user gets is
not: the same selection that the adjusted hazard ratio of receiving faces applies here (friends, groups and
city are adjusted for; what the log does not record is not). A gradient across the bands is what an effect of
money would show, but also what more sociable users would show if sociability is not fully measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adoption.analysis.covariates import count_before
from adoption.analysis.coxph import fit_cox
from adoption.analysis.episodes import ADJUSTMENT, exposure_episodes, impute_missing
from adoption.analysis.events import as_days, receipts
from adoption.errors import InputError, ParameterError
from adoption.log.eventlog import EventLog

__all__ = ["AMOUNT_BANDS", "RECENT_DAYS", "ReceiptDose", "receipt_history_episodes"]

#: A receipt counts as recent for this many days.
RECENT_DAYS = 7.0
#: Upper limits (yuan) of the bands of cumulative money received in the dose-response.
AMOUNT_BANDS = (1.0, 5.0, 20.0, 100.0)
_TERMS = ("received", "log2_receipts", "log2_yuan", "recent_7d")


def _micro(days: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(days, dtype=np.float64) * 86_400e6).astype(np.int64)


def receipt_history_episodes(log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0,
                             exposure_start: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Each user's time at risk, cut at every receipt and :data:`RECENT_DAYS` after it, with the history so far.

    Returns
    -------
    DataFrame
        One row per episode: ``user_id``, ``start``, ``stop`` (days since the window start), ``event``,
        ``received`` (any receipt so far), ``receipts`` (how many), ``yuan`` (cumulative amount),
        ``log2_receipts``, ``log2_yuan`` (``log2(1 + yuan)``), ``recent_7d`` (a receipt in the past
        :data:`RECENT_DAYS` days), and the pre-exposure covariates of
        :func:`~adoption.analysis.episodes.exposure_episodes`.

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> ep = receipt_history_episodes(selection_log(1_000, seed=0)[0])
    >>> bool((ep.groupby("user_id")["receipts"].max() <= 1).all())  # one receipt per user in this log
    True
    """
    r = receipts(log)  # read once: the episodes' first receipts and the history below
    base = exposure_episodes(log, definition, k=k, d=d, exposure_start=exposure_start, received=r)
    per_user = base.groupby("user_id", sort=False).agg(start=("start", "min"), stop=("stop", "max"),
                                                       event=("event", "max"))
    covariates = base.drop_duplicates("user_id").set_index("user_id").drop(
        columns=["start", "stop", "received", "event", "ever_received", "received_in_log", "receipt_day"])
    w0 = log.window[0]
    r = r[r["user_id"].isin(per_user.index)]
    code = pd.Index(per_user.index).get_indexer(r["user_id"])
    t = as_days(r["t"] - w0)
    inside = (t > per_user["start"].to_numpy()[code]) & (t < per_user["stop"].to_numpy()[code])
    code, t, yuan = code[inside], t[inside], r["amount"].to_numpy(dtype=float)[inside] / 100.0
    stop = per_user["stop"].to_numpy()
    recent_end = t + RECENT_DAYS
    later = recent_end < stop[code]
    cut_user = np.r_[np.arange(len(per_user)), np.arange(len(per_user)), code, code[later]]
    cut_time = np.r_[per_user["start"].to_numpy(), stop, t, recent_end[later]]
    cuts = pd.DataFrame({"u": cut_user, "t": cut_time}).drop_duplicates().sort_values(["u", "t"], ignore_index=True)
    same = cuts["u"].to_numpy()[1:] == cuts["u"].to_numpy()[:-1]
    u = cuts["u"].to_numpy()[:-1][same]
    a, b = cuts["t"].to_numpy()[:-1][same], cuts["t"].to_numpy()[1:][same]
    at_a, at_recent = _micro(a), _micro(a - RECENT_DAYS)
    count = count_before(code, _micro(t), u, at_a)
    money = count_before(code, _micro(t), u, at_a, weights=yuan)
    recent = count - count_before(code, _micro(t), u, at_recent)
    episodes = pd.DataFrame({
        "user_id": per_user.index.to_numpy()[u], "start": a, "stop": b,
        "event": ((b == stop[u]) & (per_user["event"].to_numpy()[u] == 1)).astype(int),
        "received": (count > 0).astype(float), "receipts": count, "yuan": money,
        "log2_receipts": np.log2(np.maximum(count, 1)), "log2_yuan": np.log2(1.0 + money),
        "recent_7d": (recent > 0).astype(float)})
    return episodes.merge(covariates, left_on="user_id", right_index=True)


def _bands(yuan: np.ndarray, received: np.ndarray, limits: Sequence[float]) -> tuple[np.ndarray, list[str]]:
    labels = ["none"]
    edges = [0.0, *limits]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{lo:g}-{hi:g} yuan")
    labels.append(f"over {edges[-1]:g} yuan")
    band = np.where(received > 0, 1 + np.searchsorted(np.asarray(limits), yuan, side="left"), 0)
    return band, labels


class ReceiptDose:
    """Hazard ratios of activation for the history of receipts: count, money, recency, and bands of money.

    Parameters
    ----------
    covariates : sequence of str, optional
        Pre-exposure covariates to adjust for (default: friends, groups, tenure and the largest cities).
    bands : sequence of float, default :data:`AMOUNT_BANDS`
        Upper limits (yuan) of the bands of cumulative money received.
    exposure_start : Timestamp or str, optional
        When receipts became possible (default: the first receipt in the log).

    Attributes
    ----------
    history_ : DataFrame
        Per term of the history model (``received``, ``log2_receipts``: per doubling of the receipts,
        ``log2_yuan``: per doubling of 1 + yuan, ``recent_7d``): ``hazard_ratio``, ``ci_low``, ``ci_high``, ``p``.
        Terms that do not vary in the log are left out.
    dose_response_ : DataFrame
        Per band of cumulative yuan: ``band``, ``person_days``, ``events``, ``rate_per_1000_days``,
        ``hazard_ratio``, ``ci_low``, ``ci_high`` (against no receipt; 1 for ``none``).
    n_episodes_, n_users_ : int

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> log, _ = selection_log(3_000, effect=2.0, seed=1)
    >>> dose = ReceiptDose().fit(log)
    >>> bool(dose.history_.loc["received", "hazard_ratio"] > 1.3), dose.dose_response_["band"].iloc[0]
    (True, 'none')
    """

    def __init__(self, covariates: Sequence[str] | None = None, bands: Sequence[float] = AMOUNT_BANDS,
                 exposure_start: pd.Timestamp | str | None = None) -> None:
        self.covariates = covariates
        self.bands = bands
        self.exposure_start = exposure_start

    def fit(self, log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0) -> ReceiptDose:
        """Fit the history model and the dose-response (``k``/``d``: of the ``k_payments`` definition)."""
        limits = np.asarray(self.bands, dtype=float)
        if len(limits) == 0 or not (np.diff(limits) > 0).all() or limits[0] <= 0:
            raise ParameterError(f"bands: expected increasing amounts in yuan > 0, got {list(self.bands)}")
        ep = receipt_history_episodes(log, definition, k=k, d=d, exposure_start=self.exposure_start)
        covariates = [c for c in (self.covariates or [c for c in ep.columns if c in ADJUSTMENT or c.startswith("city_")])
                      if c in ep.columns and ep[c].nunique() > 1]
        ep, covariates, _ = impute_missing(ep, covariates)
        terms = [c for c in _TERMS if ep[c].nunique() > 1]
        if "received" not in terms:
            raise InputError("effect: needs users at risk both before and after a receipt")

        def cox(X: pd.DataFrame) -> pd.DataFrame:
            return fit_cox(ep["start"].to_numpy(), ep["stop"].to_numpy(), ep["event"].to_numpy(dtype=bool), X,
                           penalizer=1e-4, cluster=ep["user_id"].to_numpy()).summary
        self.history_ = cox(ep[terms + covariates]).loc[terms, ["hazard_ratio", "ci_low", "ci_high", "p"]]
        band, labels = _bands(ep["yuan"].to_numpy(), ep["received"].to_numpy(), limits)
        present = [b for b in range(1, len(labels)) if (band == b).any()]
        dummies = pd.DataFrame({labels[b]: (band == b).astype(float) for b in present}, index=ep.index)
        recency = ["recent_7d"] if "recent_7d" in terms else []
        fitted = cox(pd.concat([dummies, ep[recency + covariates]], axis=1))
        days = (ep["stop"] - ep["start"]).to_numpy()
        rows = []
        for b in [0, *present]:
            m = band == b
            hr = fitted.loc[labels[b]] if b else pd.Series({"hazard_ratio": 1.0, "ci_low": 1.0, "ci_high": 1.0})
            rows.append({"band": labels[b], "person_days": float(days[m].sum()), "events": int(ep["event"][m].sum()),
                         "rate_per_1000_days": 1000 * ep["event"][m].sum() / days[m].sum(),
                         "hazard_ratio": float(hr["hazard_ratio"]), "ci_low": float(hr["ci_low"]),
                         "ci_high": float(hr["ci_high"])})
        self.dose_response_ = pd.DataFrame(rows)
        self.covariates_ = covariates
        self.n_episodes_, self.n_users_ = len(ep), int(ep["user_id"].nunique())
        return self

    def to_dict(self) -> dict[str, object]:
        """The history model and the dose-response as JSON-ready data."""
        return {"exposure_over_time": {term: {k: float(v) for k, v in row.items()} for term, row in self.history_.iterrows()},
                "dose_response": [{k: (float(v) if not isinstance(v, str) else v) for k, v in row.items()}
                                  for row in self.dose_response_.to_dict("records")]}
