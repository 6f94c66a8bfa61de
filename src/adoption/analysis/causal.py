"""Selection versus influence: how much of the activation after a receipt is the receipt?

Receiving is not randomly assigned: well-connected, urban users both receive more and adopt more on their
own (homophily; Aral, Muchnik & Sundararajan 2009 found naive methods overstate influence by 300-700%).
This module puts the naive number next to the careful ones:

* :func:`exposure_episodes` — every user at risk at the start of the window, split at their first
  receipt into an unexposed and an exposed episode (receipt as a time-varying exposure), with
  pre-exposure covariates (friends, groups, city, tenure) measured at the window start.
* :class:`ReceiptEffect` — hazard ratios of activation for receiving: the naive one (users with any
  receipt vs users with none, followed from the window start: selection plus immortal-time bias), a Cox
  model with receipt as a time-varying exposure, the adjusted one (time-varying Cox with the pre-exposure
  covariates), and a propensity-score-adjusted one (the logit of a scikit-learn logistic propensity of
  receiving as the covariate), with balance diagnostics (standardized mean differences before and after
  inverse-propensity weighting). It says what adjustment cannot see: the no-unmeasured-confounding
  assumption in one line, the E-value of the adjusted hazard ratio (:func:`e_value`), and a negative-control
  exposure — "will receive within the next 30 days", whose hazard ratio is 1 when the adjustment suffices
  (a future receipt cannot cause an earlier activation) and flags residual confounding when its interval
  excludes 1.
* :class:`ActivationPredictor` — a calibrated classifier of activation within the horizon after receipt
  (AUC, Brier score, calibration curve).
* :class:`ReceiptUplift` — who gains most from a red packet: a two-model (T-) learner at a landmark date
  with a Qini curve, for targeting subsidy red packets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from adoption.analysis.covariates import pre_exposure_covariates
from adoption.analysis.coxph import fit_cox
from adoption.analysis.episodes import (
    ADJUSTMENT,
    exposure_episodes,
    impute_missing,
    user_times,
)
from adoption.analysis.survival import design_matrix
from adoption.errors import InputError, ParameterError
from adoption.intervals import Z95
from adoption.log.eventlog import EventLog
from adoption.random import SeedLike, as_generator

__all__ = ["ASSUMPTION", "ActivationPredictor", "PLACEBO_LEAD_DAYS", "ReceiptEffect", "ReceiptUplift", "auc_interval", "e_value",
           "effects_against_truth", "with_placebo"]

#: The negative-control exposure: the days before a user's first receipt during which "will receive soon" is 1.
PLACEBO_LEAD_DAYS = 30.0
#: What the adjusted estimates assume, in one line (printed with every estimate).
ASSUMPTION = ("no unmeasured confounding: nothing that drives both receiving and activating is missing from the "
              "covariates; the log cannot show this (the E-value says how strong a missing confounder would have "
              "to be, the placebo checks one consequence)")


def e_value(estimate: float, ci_low: float, ci_high: float, common_outcome: bool = True) -> tuple[float, float]:
    """The E-value of a hazard ratio and of its confidence limit nearest 1 (VanderWeele & Ding 2017).

    The minimum strength of association (risk-ratio scale) that an unmeasured confounder would need with both
    the exposure and the outcome to explain the estimate away. For a common outcome (activation is: more than
    15% activate) the hazard ratio is first converted to a risk ratio,
    ``RR = (1 - 0.5 ** sqrt(HR)) / (1 - 0.5 ** sqrt(1 / HR))``. Returns ``(for the estimate, for the limit)``;
    the second is 1 when the interval contains 1.

    Examples
    --------
    >>> [round(v, 3) for v in e_value(2.0, 1.5, 2.5, common_outcome=False)]  # 2 + sqrt(2); 1.5 + sqrt(0.75)
    [3.414, 2.366]
    >>> round(e_value(2.0, 1.5, 2.5)[0], 3)  # RR = 1.612 for a common outcome
    2.606
    >>> e_value(1.2, 0.9, 1.6)[1]
    1.0
    """
    def rr(hr: float) -> float:
        if not common_outcome:
            return hr
        return (1.0 - 0.5 ** np.sqrt(hr)) / (1.0 - 0.5 ** np.sqrt(1.0 / hr))

    def ev(r: float) -> float:
        r = 1.0 / r if r < 1 else r
        return float(r + np.sqrt(r * (r - 1.0)))

    if not all(np.isfinite([estimate, ci_low, ci_high])) or min(estimate, ci_low, ci_high) <= 0:
        return float("nan"), float("nan")
    limit = 1.0 if ci_low <= 1.0 <= ci_high else (ci_low if estimate > 1 else ci_high)
    return ev(rr(estimate)), ev(rr(limit))


def with_placebo(episodes: pd.DataFrame, lead: float = PLACEBO_LEAD_DAYS) -> pd.DataFrame:
    """The episodes with a negative-control exposure ``placebo``: 1 in the ``lead`` days before a user's first
    receipt (while not yet exposed), 0 otherwise; unexposed episodes are split where it starts.

    Examples
    --------
    >>> ep = pd.DataFrame({"user_id": [1, 1], "start": [0.0, 50.0], "stop": [50.0, 80.0], "received": [0, 1],
    ...                    "event": [0, 1], "receipt_day": [50.0, 50.0]})
    >>> with_placebo(ep)[["start", "stop", "received", "placebo", "event"]].values.tolist()
    [[0.0, 20.0, 0.0, 0.0, 0.0], [20.0, 50.0, 0.0, 1.0, 0.0], [50.0, 80.0, 1.0, 0.0, 1.0]]
    """
    pre = episodes["received"].to_numpy() == 0
    onset = episodes["receipt_day"].to_numpy(dtype=float) - lead
    start, stop = episodes["start"].to_numpy(dtype=float), episodes["stop"].to_numpy(dtype=float)
    split = pre & (onset > start) & (onset < stop)
    inside = pre & (onset <= start)
    before = episodes[split].assign(stop=onset[split], event=0, placebo=0.0)
    after = episodes[split].assign(start=onset[split], placebo=1.0)
    rest = episodes[~split].assign(placebo=np.where(inside[~split], 1.0, 0.0))
    out = pd.concat([rest, before, after], ignore_index=True)
    out["received"] = out["received"].astype(float)
    out["event"] = out["event"].astype(int)
    return out.sort_values(["user_id", "start"], ignore_index=True)


def _smd(x: pd.DataFrame, treated: np.ndarray, weights: np.ndarray | None = None) -> pd.Series:
    w = np.ones(len(x)) if weights is None else weights
    out = {}
    for col in x.columns:
        v = x[col].to_numpy(dtype=float)
        m1 = np.average(v[treated], weights=w[treated])
        m0 = np.average(v[~treated], weights=w[~treated])
        s = np.sqrt((v[treated].var() + v[~treated].var()) / 2) or 1.0
        out[col] = (m1 - m0) / s
    return pd.Series(out)


def _cox_tv(episodes: pd.DataFrame, covariates: Sequence[str], weights: str | None = None,
            term: str = "received") -> pd.Series:
    """Cox model with receipt as a time-varying exposure, in counting-process form.

    Each episode is at risk on (start, stop]. With weights, the standard errors are robust (sandwich),
    clustered by user. Fitted by :func:`adoption.analysis.coxph.fit_cox` (lifelines' time-varying fitter gives the
    same estimates but takes minutes on this many episodes).
    """
    X = episodes[["received", *covariates]].astype(float)
    result = fit_cox(episodes["start"].to_numpy(), episodes["stop"].to_numpy(),
                     episodes["event"].to_numpy(dtype=bool), X, penalizer=1e-4,
                     weights=None if weights is None else episodes[weights].to_numpy(),
                     cluster=None if weights is None else episodes["user_id"].to_numpy())
    return result.summary.loc[term, ["hazard_ratio", "ci_low", "ci_high", "p"]]


class ReceiptEffect:
    """Naive, time-varying and adjusted hazard ratios of activation for receiving money.

    Parameters
    ----------
    covariates : sequence of str, optional
        Pre-exposure covariates to adjust for (default: friends, groups, tenure and the largest cities).
    placebo_lead : float, default 30
        Days before the first receipt in which the negative-control exposure is 1.
    max_users : int, optional
        Sample this many users for the model fits (default: all; the fast Cox model fits a million users'
        episodes in seconds). The output says how many were used (``n_used``) of how many were at risk.
    exposure_start : Timestamp or str, optional
        When receipts became possible; risk sets open then (default: the first receipt in the log).
    seed : int or Generator, optional

    Attributes
    ----------
    effects_ : DataFrame
        Rows ``naive``, ``time_varying``, ``adjusted``, ``propensity_adjusted``; columns ``hazard_ratio``,
        ``ci_low``, ``ci_high``, ``p``.
    balance_ : DataFrame
        Standardized mean differences of the covariates between receivers and non-receivers, before and
        after inverse-propensity weighting.
    placebo_ : Series
        The negative control's hazard ratio (``hazard_ratio``, ``ci_low``, ``ci_high``, ``p``) in the adjusted
        model: about 1 when the covariates account for who receives.
    residual_confounding_ : bool
        Whether the placebo's interval excludes 1 (the adjustment leaves selection unexplained).
    e_value_, e_value_ci_ : float
        E-values of the adjusted hazard ratio and of its interval's limit nearest 1 (:func:`e_value`).
    exposure_origin_ : ExposureOrigin
        When the risk sets open, and the look-back warning when receipts before the window are unknown.

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> log, truth = selection_log(4_000, effect=1.0, seed=1)
    >>> fx = ReceiptEffect(seed=1).fit(log)
    >>> bool(fx.effects_.loc["naive", "hazard_ratio"] > 1.5)
    True
    """

    def __init__(self, covariates: Sequence[str] | None = None, placebo_lead: float = PLACEBO_LEAD_DAYS,
                 max_users: int | None = None, exposure_start: pd.Timestamp | str | None = None,
                 seed: SeedLike = None) -> None:
        self.covariates = covariates
        self.placebo_lead = placebo_lead
        self.max_users = max_users
        self.exposure_start = exposure_start
        self.seed = seed

    def fit(self, log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0) -> ReceiptEffect:
        """Estimate the effect of receiving on activation (``k``/``d``: of the ``k_payments`` definition)."""
        rng = as_generator(self.seed)
        episodes = exposure_episodes(log, definition, k=k, d=d, exposure_start=self.exposure_start)
        self.exposure_origin_ = episodes.attrs["exposure_origin"]
        ids = episodes["user_id"].unique()
        self.n_at_risk_ = len(ids)
        if self.max_users is not None and len(ids) > self.max_users:
            keep = rng.choice(ids, self.max_users, replace=False)
            episodes = episodes[episodes["user_id"].isin(keep)]
        covariates = [c for c in (self.covariates or [c for c in episodes.columns
                                                      if c in ADJUSTMENT or c.startswith("city_")])
                      if c in episodes.columns and episodes[c].nunique() > 1]
        episodes, covariates, self.imputed_ = impute_missing(episodes, covariates)
        per_user = episodes.groupby("user_id").agg(start=("start", "min"), stop=("stop", "max"),
                                                   event=("event", "max"), ever=("ever_received", "max"),
                                                   in_log=("received_in_log", "max"))
        per_user = per_user.join(episodes.drop_duplicates("user_id").set_index("user_id")[covariates])
        treated = per_user["ever"].to_numpy(dtype=bool)
        in_log = per_user["in_log"].to_numpy(dtype=bool)
        if treated.all() or not treated.any() or in_log.all() or not in_log.any():
            raise InputError("effect: needs both receivers and non-receivers at risk at the window start "
                             f"(found {int(treated.sum()):,} receivers of {len(treated):,} users)")
        self.n_users_ = len(per_user)
        self.n_receivers_ = int(treated.sum())
        # naive: users with any receipt in the log vs users with none, followed from the start (immortal
        # time and reverse order included, as a quick comparison would)
        naive = pd.DataFrame({"user_id": per_user.index, "start": 0.0,
                              "stop": (per_user["stop"] - per_user["start"]).to_numpy(),
                              "event": per_user["event"].to_numpy(), "received": in_log.astype(float)})
        rows = {"naive": _cox_tv(naive, [])}
        rows["time_varying"] = _cox_tv(episodes, [])
        # propensity of receiving (any receipt in the window) from pre-exposure covariates
        X = per_user[covariates].to_numpy(dtype=float)
        model = LogisticRegression(max_iter=1000).fit(X, in_log)
        ps = np.clip(model.predict_proba(X)[:, 1], 0.01, 0.99)
        p_treat = in_log.mean()
        weight = np.where(in_log, p_treat / ps, (1 - p_treat) / (1 - ps))
        episodes = episodes.merge(pd.Series(np.log(ps / (1 - ps)), index=per_user.index, name="logit_ps"),
                                  left_on="user_id", right_index=True)
        rows["adjusted"] = _cox_tv(episodes, covariates)
        rows["propensity_adjusted"] = _cox_tv(episodes, ["logit_ps"])
        self.effects_ = pd.DataFrame(rows).T
        self.effects_.index.name = "estimate"
        xc = per_user[covariates]
        self.balance_ = pd.DataFrame({"smd_before": _smd(xc, in_log), "smd_after": _smd(xc, in_log, weight)})
        self.balance_.index.name = "covariate"
        self.propensity_auc_ = float(roc_auc_score(in_log, ps)) if 0 < in_log.mean() < 1 else float("nan")
        self.covariates_ = covariates
        adjusted = self.effects_.loc["adjusted"]
        self.e_value_, self.e_value_ci_ = e_value(*(float(adjusted[c]) for c in ("hazard_ratio", "ci_low", "ci_high")))
        self.placebo_ = _cox_tv(with_placebo(episodes, self.placebo_lead), ["placebo", *covariates], term="placebo")
        low, high = float(self.placebo_["ci_low"]), float(self.placebo_["ci_high"])
        self.residual_confounding_ = bool(np.isfinite(low) and not low <= 1.0 <= high)
        return self

    def to_dict(self) -> dict[str, object]:
        """The fitted estimates as JSON-ready data: each hazard ratio with its interval, the assumption, the
        E-values, the placebo (negative control), the covariates (and which were imputed), the sizes and the
        covariate balance.

        Examples
        --------
        >>> from adoption.datasets.synthetic import selection_log
        >>> log, truth = selection_log(2_000, effect=1.0, seed=1)
        >>> sorted(ReceiptEffect(seed=1).fit(log).to_dict())[:3]
        ['adjusted_ci_high', 'adjusted_ci_low', 'adjusted_hazard_ratio']
        """
        e = self.effects_

        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None
        return {
            "naive_hazard_ratio": float(e.loc["naive", "hazard_ratio"]),
            "naive_ci_low": float(e.loc["naive", "ci_low"]), "naive_ci_high": float(e.loc["naive", "ci_high"]),
            "time_varying_hazard_ratio": float(e.loc["time_varying", "hazard_ratio"]),
            "adjusted_hazard_ratio": float(e.loc["adjusted", "hazard_ratio"]),
            "adjusted_ci_low": float(e.loc["adjusted", "ci_low"]),
            "adjusted_ci_high": float(e.loc["adjusted", "ci_high"]),
            "propensity_adjusted_hazard_ratio": float(e.loc["propensity_adjusted", "hazard_ratio"]),
            "assumption": ASSUMPTION,
            "e_value": num(self.e_value_), "e_value_ci": num(self.e_value_ci_),
            "placebo_hazard_ratio": num(float(self.placebo_["hazard_ratio"])),
            "placebo_ci_low": num(float(self.placebo_["ci_low"])), "placebo_ci_high": num(float(self.placebo_["ci_high"])),
            "residual_confounding": self.residual_confounding_,
            "covariates": list(self.covariates_), "imputed_covariates": list(self.imputed_),
            "users": self.n_users_, "receivers": self.n_receivers_, "n_used": self.n_users_,
            "users_at_risk": self.n_at_risk_, "sampled": self.n_users_ < self.n_at_risk_,
            "exposure_origin": str(self.exposure_origin_.at), "lookback_warning": self.exposure_origin_.warning,
            "balance": {k: {"smd_before": round(float(v["smd_before"]), 4), "smd_after": round(float(v["smd_after"]), 4)}
                        for k, v in self.balance_.iterrows()},
        }


class ActivationPredictor:
    """Calibrated prediction of activation within the horizon from what is known at the first receipt.

    Parameters
    ----------
    horizon : float, default 90
    seed : int, default 0
        For the train/test split and the model.

    Attributes
    ----------
    auc_, brier_ : float
        On the held-out quarter.
    auc_ci_ : tuple of float
        95% interval of the AUC (Hanley & McNeil 1982: the standard error from the numbers of each outcome).
    calibration_ : DataFrame
        ``predicted`` and ``observed`` activation share per bin (held out).

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> pred = ActivationPredictor().fit(activation_table(load_example()))
    >>> bool(0.4 < pred.auc_ <= 1.0), len(pred.calibration_) > 3
    (True, True)
    """

    def __init__(self, horizon: float = 90.0, covariates: Sequence[str] | None = None, seed: int = 0) -> None:
        self.horizon = horizon
        self.covariates = covariates
        self.seed = seed

    def fit(self, table: pd.DataFrame) -> ActivationPredictor:
        cohort = table[table["cohort"] == "receipt"]
        known = (cohort["event"] & (cohort["duration"] <= self.horizon)) | (cohort["duration"] >= self.horizon)
        cohort = cohort[known & (cohort["entry"] == 0)]
        y = (cohort["event"] & (cohort["duration"] <= self.horizon)).to_numpy(dtype=int)
        if len(np.unique(y)) < 2 or len(y) < 100:
            raise InputError("predict: needs at least 100 receivers followed to the horizon, with both outcomes")
        covs = self.covariates or ["first_red_packet", "first_group", "log_amount", "log_friends", "log_groups",
                                   "log_merchants", "log_tenure", "log_senders_7d"]
        X = design_matrix(cohort, covs)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=self.seed,
                                                            stratify=y)
        base = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=self.seed)
        with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP spin-waits badly on busy cores
            self.model_ = CalibratedClassifierCV(base, method="isotonic", cv=3).fit(X_train, y_train)
        p = self.model_.predict_proba(X_test)[:, 1]
        self.auc_ = float(roc_auc_score(y_test, p))
        self.auc_ci_ = auc_interval(self.auc_, int(y_test.sum()), int(len(y_test) - y_test.sum()))
        self.brier_ = float(brier_score_loss(y_test, p))
        observed, predicted = calibration_curve(y_test, p, n_bins=10, strategy="quantile")
        self.calibration_ = pd.DataFrame({"predicted": predicted, "observed": observed})
        self.base_rate_ = float(y.mean())
        self.features_ = list(X.columns)
        return self


class ReceiptUplift:
    """Who gains most from a red packet: a two-model learner at a landmark date, with a Qini curve.

    At the landmark, take the users not yet active and not yet reached. The treated are those whose first
    receipt comes within ``treat_days`` after the landmark; the outcome is activation within
    ``horizon`` days after the landmark. One classifier is fitted on the treated and one on the others;
    the uplift of a user is the difference of their predictions. On a held-out half, the Qini curve shows
    how many extra activations targeting the top-ranked users buys compared with random targeting.

    Attributes
    ----------
    qini_ : DataFrame
        ``share_targeted``, ``qini`` (extra activations) and ``random`` (the diagonal).
    qini_coefficient_ : float
        Area between the Qini curve and the diagonal, per targeted user.
    qini_share_, qini_share_ci_ : float, tuple of float
        The same area divided by the total gain of treating everyone (0: no better than random targeting;
        negative: worse), with a 95% percentile-bootstrap interval over the held-out users (``n_boot``
        resamples; the two models are not refitted, so the interval leaves out their own fitting noise).
    uplift_ : Series
        Predicted uplift per user (held-out half).

    Examples
    --------
    >>> from adoption.datasets.synthetic import selection_log
    >>> log, _ = selection_log(4_000, effect=3.0, seed=2)
    >>> up = ReceiptUplift(landmark_days=20, seed=0).fit(log)
    >>> bool(up.average_uplift_ > 0)
    True
    """

    def __init__(self, landmark_days: float = 30.0, treat_days: float = 30.0, horizon: float = 90.0,
                 seed: int = 0, n_boot: int = 200) -> None:
        self.landmark_days = landmark_days
        self.treat_days = treat_days
        self.horizon = horizon
        self.seed = seed
        self.n_boot = n_boot

    def fit(self, log: EventLog, definition: str = "first_action", *, k: int = 3, d: float = 30.0) -> ReceiptUplift:
        """Fit the T-learner (``k``/``d``: of the ``k_payments`` definition)."""
        if self.treat_days <= 0 or self.horizon <= self.treat_days:
            raise ParameterError("treat_days, horizon: expected 0 < treat_days < horizon")
        w0, _ = log.window
        landmark = w0 + pd.Timedelta(days=self.landmark_days)
        users, first, act, left = user_times(log, definition, k, d)
        pool = ~(act <= landmark) & ~(first <= landmark) & ~(left <= landmark) & (users["joined_at"] <= landmark)
        idx = users.index[pool.to_numpy(dtype=bool)]
        if len(idx) < 200:
            raise InputError(f"uplift: only {len(idx)} users are neither active nor reached at the landmark")
        treated = (first[idx] <= landmark + pd.Timedelta(days=self.treat_days)).to_numpy(dtype=bool)
        y = (act[idx] <= landmark + pd.Timedelta(days=self.horizon)).to_numpy(dtype=int)
        X = pre_exposure_covariates(log, landmark, idx)
        train, test = train_test_split(np.arange(len(idx)), test_size=0.5, random_state=self.seed,
                                       stratify=treated * 2 + y)
        models = {}
        for arm in (True, False):
            rows = train[treated[train] == arm]
            if len(np.unique(y[rows])) < 2:
                raise InputError("uplift: an arm has only one outcome; choose another landmark")
            with threadpool_limits(limits=1, user_api="openmp"):
                models[arm] = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05,
                                                             random_state=self.seed).fit(X.iloc[rows], y[rows])
        uplift = models[True].predict_proba(X.iloc[test])[:, 1] - models[False].predict_proba(X.iloc[test])[:, 1]
        self.models_ = models
        self.uplift_ = pd.Series(uplift, index=idx[test], name="uplift")
        self.average_uplift_ = float(uplift.mean())
        self.qini_ = _qini(uplift, treated[test], y[test])
        self.qini_coefficient_ = float(np.trapezoid(self.qini_["qini"] - self.qini_["random"],
                                                    self.qini_["share_targeted"]))
        self.qini_share_ = _qini_share(self.qini_)
        rng = np.random.default_rng(self.seed)
        boot = [_qini_share(_qini(uplift[rows], treated[test][rows], y[test][rows]))
                for rows in rng.integers(0, len(test), size=(self.n_boot, len(test)))]
        low, high = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan)
        self.qini_share_ci_ = (float(low), float(high))
        self.n_users_, self.n_treated_ = len(idx), int(treated.sum())
        return self


def _qini_share(qini: pd.DataFrame) -> float:
    total = float(qini["qini"].iloc[-1])
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(np.trapezoid(qini["qini"] - qini["random"], qini["share_targeted"])) / total


def auc_interval(auc: float, n_positive: int, n_negative: int, z: float = Z95) -> tuple[float, float]:
    """95% interval of an AUC from its standard error (Hanley & McNeil 1982), clipped to [0, 1].

    Examples
    --------
    >>> lo, hi = auc_interval(0.8, 100, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.739, 0.861)
    """
    if n_positive < 1 or n_negative < 1:
        return (float("nan"), float("nan"))
    # (not normal_interval: the Hanley-McNeil interval is clipped to [0, 1])
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2)) \
        / (n_positive * n_negative)
    se = float(np.sqrt(max(var, 0.0)))
    return (max(0.0, auc - z * se), min(1.0, auc + z * se))


def _qini(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    order = np.argsort(-uplift, kind="stable")
    t, yy = treated[order], y[order]
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    y_t, y_c = np.cumsum(yy * t), np.cumsum(yy * ~t)
    qini = y_t - y_c * np.divide(n_t, n_c, out=np.zeros(len(t)), where=n_c > 0)
    share = np.arange(1, len(t) + 1) / len(t)
    total = qini[-1]
    return pd.DataFrame({"share_targeted": np.r_[0.0, share], "qini": np.r_[0.0, qini],
                         "random": np.r_[0.0, share * total]})


def effects_against_truth(effect: ReceiptEffect, truth: dict, uplift: ReceiptUplift | None = None,
                          marginal_structural: pd.Series | None = None) -> pd.DataFrame:
    """Every estimate of the effect of receiving beside the truth the log's maker knows (``log.truth``).

    A simulated log carries the result of a randomized holdout (:mod:`adoption.world.truth`): the hazard
    ratio of activation for receivers against held-out would-be receivers, and ``att_90d``, the difference
    in the share active within 90 days. Each hazard-ratio estimate of ``effect`` is set beside the true
    hazard ratio (``covers``: the truth lies in the estimate's 95% interval); the uplift model's average
    uplift, a difference in shares, beside ``att_90d`` (a related but not identical estimand: it is the
    effect of receiving within ``treat_days`` of a landmark, among users not yet reached then).
    ``marginal_structural`` (the ``effect_`` of a fitted
    :class:`~adoption.analysis.msm.MarginalStructuralCox`) adds its hazard ratio as a row.

    Returns
    -------
    DataFrame
        One row per estimate: ``estimate``, ``scale`` (hazard ratio or risk difference), ``value``,
        ``ci_low``, ``ci_high``, ``truth``, ``truth_ci_low``, ``truth_ci_high``, ``covers``.
        Empty when ``truth`` has no effect (a real log).

    Examples
    --------
    >>> from adoption import load_example
    >>> log = load_example()
    >>> fx = ReceiptEffect(seed=0).fit(log)
    >>> table = effects_against_truth(fx, log.truth)
    >>> table["estimate"].tolist()[:2], bool(table["truth"].notna().all())
    (['naive', 'time_varying'], True)
    """
    columns = ["estimate", "scale", "value", "ci_low", "ci_high", "truth", "truth_ci_low", "truth_ci_high", "covers"]
    if not truth or "hazard_ratio" not in truth:
        return pd.DataFrame(columns=columns)
    hr = (truth["hazard_ratio"], truth.get("hazard_ratio_ci_low"), truth.get("hazard_ratio_ci_high"))
    rows = [{"estimate": name, "scale": "hazard ratio", "value": row["hazard_ratio"], "ci_low": row["ci_low"],
             "ci_high": row["ci_high"], "truth": hr[0], "truth_ci_low": hr[1], "truth_ci_high": hr[2]}
            for name, row in effect.effects_.iterrows()]
    if marginal_structural is not None:
        rows.append({"estimate": "marginal_structural", "scale": "hazard ratio",
                     "value": marginal_structural["hazard_ratio"], "ci_low": marginal_structural["ci_low"],
                     "ci_high": marginal_structural["ci_high"], "truth": hr[0], "truth_ci_low": hr[1],
                     "truth_ci_high": hr[2]})
    if uplift is not None and "att_90d" in truth:
        rows.append({"estimate": "uplift (average)", "scale": "risk difference", "value": uplift.average_uplift_,
                     "ci_low": np.nan, "ci_high": np.nan, "truth": truth["att_90d"],
                     "truth_ci_low": truth.get("att_90d_ci_low"), "truth_ci_high": truth.get("att_90d_ci_high")})
    out = pd.DataFrame(rows, columns=columns[:-1]).astype(dict.fromkeys(columns[2:-1], float))
    out["covers"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out
