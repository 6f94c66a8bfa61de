"""Survival analysis of activation after the first receipt (lifelines underneath).

Every estimator takes an activation table (:func:`adoption.analysis.activation.activation_table`) and follows the
scikit-learn convention: parameters in the constructor, ``fit()`` returns ``self``, fitted values end in
``_``.

* :class:`ActivationCurve` — Kaplan–Meier with delayed entry, per group; the headline: cumulative
  incidence of activation at the horizon with its 95% CI, median time to activation, restricted mean
  time to activation within the horizon.
* :class:`CompetingRisks` — Aalen–Johansen cumulative incidence of activation with leaving as a competing
  risk.
* :class:`ParametricActivation` — a Weibull or log-logistic fit (AFT with covariates, or univariate).
* :class:`CureModel` — a mixture cure model: the share of receivers who never activate.
* :class:`ActivationCox` — Cox proportional hazards on the covariates, with the proportional-hazards test.

Big cohorts are fitted in aggregate: durations are put on a fine grid (``resolution`` days, one minute by
default above 200,000 rows) and identical rows are fitted once with their count as a weight, which keeps a
ten-million-user headline to seconds and changes the estimate by less than the grid. A table may come counted
on that grid already, one row per cell with its number of receivers in a ``weight`` column (:data:`WEIGHT`;
:func:`adoption.analysis.activation_sql.headline_tables_duckdb` counts a big log's receivers in DuckDB): its
rows are fitted as they are, weighted, and give the same figures as the receivers themselves.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import numpy as np
import pandas as pd
from lifelines import (
    AalenJohansenFitter,
    CoxPHFitter,
    KaplanMeierFitter,
    LogLogisticAFTFitter,
    LogLogisticFitter,
    MixtureCureFitter,
    WeibullAFTFitter,
    WeibullFitter,
)
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import restricted_mean_survival_time
from scipy import stats

from adoption.errors import InputError, ParameterError

__all__ = [
    "AGGREGATE_ABOVE",
    "DEFAULT_COVARIATES",
    "GRID_DAYS",
    "WEIGHT",
    "ActivationCox",
    "ActivationCurve",
    "CompetingRisks",
    "CureModel",
    "ParametricActivation",
    "aalen_johansen",
    "aalen_johansen_interval",
    "design_matrix",
    "follow_up_until",
    "receipt_cohort",
    "represented",
]

#: Covariates used by default in the regression models (all known at time zero).
DEFAULT_COVARIATES: tuple[str, ...] = ("first_red_packet", "first_group", "log_amount", "log_friends",
                                       "log_paying_friends", "log_groups", "log_merchants", "log_tenure")
#: Above this many receivers, fits are aggregated on a one-minute grid unless told otherwise.
AGGREGATE_ABOVE = 200_000
#: The grid of aggregated fits: one minute, in days.
GRID_DAYS = 1.0 / 1440.0
#: The column of a table counted on the grid: how many receivers each row stands for.
WEIGHT = "weight"


#: Cohorts followed from an exposure: a money receipt (the activation table), or the first contact's adoption
#: (:func:`adoption.analysis.network_exposure.first_contact_table`).
EXPOSED_COHORTS: tuple[str, ...] = ("receipt", "first_contact_active")
#: The name of the whole of each exposed cohort, as a headline's first row says it.
WHOLE_COHORT: dict[str, str] = {"receipt": "all receivers", "first_contact_active": "all whose first contact adopted"}


def receipt_cohort(table: pd.DataFrame) -> pd.DataFrame:
    """The rows at risk after their exposure (a receipt, or a contact's adoption: :data:`EXPOSED_COHORTS`); a
    clear error when there are none. When every row is at risk, the table itself (not a copy)."""
    needed = {"cohort", "entry", "duration", "event", "event_type"}
    missing = needed - set(table.columns)
    if missing:
        raise InputError(f"activation table: missing columns {sorted(missing)} (make it with activation_table())")
    exposed = table["cohort"].isin(EXPOSED_COHORTS).to_numpy()
    cohort = table if exposed.all() else table[exposed]
    if cohort.empty:
        raise InputError("activation table: no receivers at risk (the log has no receipts before activation)")
    return cohort


def _check_follow_up(follow_up: str) -> None:
    if follow_up not in ("all", "horizon"):
        raise ParameterError(f"follow_up: expected 'all' or 'horizon', got {follow_up!r}")


def follow_up_until(table: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """The activation table with its follow-up ended at ``horizon`` days after time zero.

    Who is at risk, and who activates or leaves, at any time up to the horizon is unchanged, so every
    Kaplan–Meier and Aalen–Johansen estimate (and interval) at or before the horizon is the same; what is
    gone is the curve after it. A receiver still waiting at the horizon is censored there. On a two-year
    log this leaves an eighth of the distinct times to fit: use it where only the horizon is read.

    Examples
    --------
    >>> t = pd.DataFrame({"cohort": "receipt", "entry": 0.0, "duration": [3.0, 200.0], "event": True,
    ...                   "event_type": 1})
    >>> follow_up_until(t, 90)[["duration", "event", "event_type"]].values.tolist()
    [[3.0, True, 1], [90.0, False, 0]]
    """
    later = (table["duration"] > horizon) & (table["entry"].fillna(0.0) < horizon)
    if not later.any():
        return table
    out = table.copy()
    out.loc[later, "duration"] = float(horizon)
    out.loc[later, "event"] = False
    out.loc[later, "event_type"] = 0
    return out


@contextmanager
def fit_warnings(sink: list[str]) -> Iterator[None]:
    """Pass every warning raised inside on to the user, and record their first lines in ``sink`` (a
    fitter's ``warnings_``), so a report can show them as notes.

    Examples
    --------
    >>> notes: list[str] = []
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     with fit_warnings(notes):
    ...         warnings.warn("the fit did not converge")
    >>> notes, len(seen)
    (['the fit did not converge'], 1)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        sink.append(" ".join(str(w.message).split()))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def represented(table: pd.DataFrame) -> int:
    """How many people the rows of ``table`` stand for: their :data:`WEIGHT` summed, or one each.

    Examples
    --------
    >>> represented(pd.DataFrame({"duration": [1.0, 2.0], "weight": [3, 4]})), represented(pd.DataFrame({"duration": [1.0]}))
    (7, 1)
    """
    return int(table[WEIGHT].sum()) if WEIGHT in table.columns else len(table)


def _events(table: pd.DataFrame) -> int:
    """How many of the receivers ``table`` stands for had the event (over their whole follow-up)."""
    event = table["event"].to_numpy(dtype=bool)
    return int(table[WEIGHT].to_numpy()[event].sum()) if WEIGHT in table.columns else int(event.sum())


def _aggregate(df: pd.DataFrame, resolution: float | None, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Collapse identical (entry, duration, event, ...) rows into weighted rows on a time grid.

    A table counted on a grid already (a :data:`WEIGHT` column) keeps its grid: its identical rows are
    summed, in the order the grid's cells would have (entry, duration, event type)."""
    if WEIGHT in df.columns:
        return _fit_ready(df.groupby(["entry", "duration", "event_type", *extra], observed=True, dropna=False,
                                     sort=True)[WEIGHT].sum().reset_index())
    if resolution is None:
        resolution = GRID_DAYS if len(df) > AGGREGATE_ABOVE else 0.0
    if resolution > 0 and not extra:
        packed = _aggregate_on_grid(df, resolution)
        if packed is not None:
            return packed
    out = df[["entry", "duration", "event_type", *extra]].copy()
    if resolution > 0:
        out["duration"] = np.ceil(out["duration"] / resolution) * resolution
        out["entry"] = np.floor(out["entry"] / resolution) * resolution
        out = out.groupby(["entry", "duration", "event_type", *extra], observed=True, dropna=False).size()
        out = out.rename(WEIGHT).reset_index()
    else:
        out[WEIGHT] = 1.0
    return _fit_ready(out)


def _fit_ready(out: pd.DataFrame) -> pd.DataFrame:
    """Aggregated rows as lifelines takes them: entry < duration in every row (it needs that), and the
    ``event`` flag of an activation (event type 1)."""
    out["duration"] = np.maximum(out["duration"], out["entry"] + 1e-9)
    out["event"] = out["event_type"] == 1
    return out


def _aggregate_on_grid(df: pd.DataFrame, resolution: float) -> pd.DataFrame | None:
    """What :func:`_aggregate` gives on a grid, by counting one integer per (entry, duration, event type)
    cell instead of grouping three float columns (several times faster on millions of rows); None where the
    cells do not fit one integer or a value is missing."""
    entry = np.floor(df["entry"].to_numpy(dtype=float) / resolution)
    duration = np.ceil(df["duration"].to_numpy(dtype=float) / resolution)
    kind = df["event_type"].to_numpy()
    if not len(df) or not (np.isfinite(entry).all() and np.isfinite(duration).all()) or kind.min() < 0:
        return None
    low_e, low_d, kinds = entry.min(), duration.min(), int(kind.max()) + 1
    span_e, span_d = entry.max() - low_e + 1, duration.max() - low_d + 1
    if span_e * span_d * kinds >= 2**62:
        return None
    key = ((entry - low_e).astype(np.int64) * int(span_d) + (duration - low_d).astype(np.int64)) * kinds + kind
    cells_in_span = span_e * span_d * kinds
    if cells_in_span <= max(4 * len(key), 2**20):  # a count per cell of the span: no sort
        counts = np.bincount(key, minlength=int(cells_in_span))
        cells = np.flatnonzero(counts)
        weight = counts[cells]
    else:
        cells, weight = np.unique(key, return_counts=True)  # in the order of (entry, duration, event type)
    kind_of = cells % kinds
    rest = cells // kinds
    out = pd.DataFrame({"entry": (rest // int(span_d) + low_e) * resolution,
                        "duration": (rest % int(span_d) + low_d) * resolution,
                        "event_type": kind_of.astype(df["event_type"].dtype), WEIGHT: weight})
    return _fit_ready(out)


def _groups(cohort: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    if by is None:  # the whole cohort, named by what exposed it
        kinds = pd.unique(cohort["cohort"].astype(str))
        return [(WHOLE_COHORT.get(kinds[0], "all exposed") if len(kinds) == 1 else "all exposed", cohort)]
    if by not in cohort.columns:
        raise ParameterError(f"by: no column {by!r} in the activation table; expected one of {list(cohort.columns)}")
    # each distinct value labelled once (as text, "unknown" when missing), not each row
    codes, values = pd.factorize(cohort[by], sort=False)
    labels = pd.Series(values).astype("string").fillna("unknown").tolist() + ["unknown"]  # code -1: missing
    label_codes, names = pd.factorize(pd.Series(labels, dtype=object))
    groups = label_codes[codes]  # code -1 reads the last label
    return [(str(names[g]), part) for g, part in sorted(cohort.groupby(groups, sort=False),
                                                        key=lambda item: str(names[item[0]]))]


class ActivationCurve:
    """Kaplan–Meier estimate of time to activation after the first receipt, with delayed entry.

    Parameters
    ----------
    horizon : float, default 90
        Days after the first receipt at which the headline is read.
    alpha : float, default 0.05
        1 - confidence level.
    resolution : float, optional
        Grid (days) for aggregated fitting; default one minute above 200,000 rows, exact below.
    follow_up : {"all", "horizon"}, default "all"
        ``"horizon"`` fits only the follow-up up to the horizon (:func:`follow_up_until`): the same headline
        from a fraction of the rows, but each curve ends at the horizon (a median beyond it is read from
        the whole follow-up).

    Attributes
    ----------
    fitters_ : dict of str to lifelines.KaplanMeierFitter
        One fitted curve per group.
    headline_ : DataFrame
        Per group: ``n``, ``events``, ``cumulative_incidence``, ``ci_low``, ``ci_high`` at the horizon,
        ``median_days`` (inf if fewer than half activate), ``restricted_mean_days`` (mean days to activation
        within the horizon).

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> curve = ActivationCurve(horizon=90).fit(activation_table(load_example()))
    >>> row = curve.headline_.iloc[0]
    >>> bool(0.7 < row["cumulative_incidence"] < 0.9), bool(row["ci_low"] < row["cumulative_incidence"] < row["ci_high"])
    (True, True)
    """

    def __init__(self, horizon: float = 90.0, alpha: float = 0.05, resolution: float | None = None,
                 follow_up: str = "all") -> None:
        self.horizon = horizon
        self.alpha = alpha
        self.resolution = resolution
        self.follow_up = follow_up

    def fit(self, table: pd.DataFrame, by: str | None = None) -> ActivationCurve:
        """Fit one curve per value of column ``by`` (or one for the whole cohort, named as in
        :data:`WHOLE_COHORT`)."""
        self.warnings_: list[str] = []
        if not self.horizon > 0:
            raise ParameterError(f"horizon: expected a number of days > 0, got {self.horizon}")
        _check_follow_up(self.follow_up)
        cohort = receipt_cohort(table)
        self.by_ = by
        self.fitters_: dict[str, KaplanMeierFitter] = {}
        rows = []
        for name, part in _groups(cohort, by):
            short = follow_up_until(part, self.horizon) if self.follow_up == "horizon" else part
            kmf = self._fit_curve(short, name)
            self.fitters_[name] = kmf
            read = self._read(kmf)
            if short is not part and not np.isfinite(read["median_days"]):  # the median lies past the horizon
                read["median_days"] = float(self._fit_curve(part, name).median_survival_time_)
            rows.append({"group": name, "n": represented(part), "events": _events(part), **read})
        self.headline_ = pd.DataFrame(rows)
        return self

    def _fit_curve(self, part: pd.DataFrame, name: str) -> KaplanMeierFitter:
        agg = _aggregate(part, self.resolution)
        kmf = KaplanMeierFitter(alpha=self.alpha, label=name)
        with fit_warnings(self.warnings_):
            kmf.fit(agg["duration"], agg["event"], entry=agg["entry"], weights=agg["weight"])
        return kmf

    def _read(self, kmf: KaplanMeierFitter) -> dict[str, float]:
        h = self.horizon
        surv = float(kmf.survival_function_at_times(h).iloc[0])
        ci = kmf.confidence_interval_survival_function_
        at = ci[ci.index <= h]
        low_s, high_s = (at.iloc[-1, 0], at.iloc[-1, 1]) if len(at) else (1.0, 1.0)
        return {"horizon_days": h, "cumulative_incidence": 1.0 - surv, "ci_low": 1.0 - float(high_s),
                "ci_high": 1.0 - float(low_s), "median_days": float(kmf.median_survival_time_),
                "restricted_mean_days": float(restricted_mean_survival_time(kmf, t=h))}

    def cumulative_incidence(self, days: float | Sequence[float], group: str | None = None) -> np.ndarray:
        """1 - S(t) at the given days for one group (the first by default)."""
        kmf = self.fitters_[group or next(iter(self.fitters_))]
        return 1.0 - kmf.survival_function_at_times(np.atleast_1d(days)).to_numpy()


def aalen_johansen(entry: Sequence[float] | np.ndarray, duration: Sequence[float] | np.ndarray,
                   event_type: Sequence[int] | np.ndarray, weight: Sequence[float] | np.ndarray | None = None,
                   causes: Sequence[int] = (1, 2)) -> pd.DataFrame:
    """The Aalen–Johansen cumulative incidence of each cause, with delayed entry and weights, in one pass.

    At each time :math:`t` with :math:`n` at risk and :math:`d_c` events of cause :math:`c`,
    :math:`F_c(t) = F_c(t^-) + S(t^-) \\, d_c / n`, where :math:`S` is the all-cause Kaplan–Meier curve.
    Events of two causes at the same time are handled as the estimator defines it: each cause takes its
    share of :math:`S(t^-)`. Those at risk at :math:`t` entered before it and had not left before it (a
    row entering at :math:`t` is at risk after :math:`t`, as in lifelines' Kaplan–Meier), so the
    incidences of all causes add up to 1 - Kaplan–Meier at every time.

    Why our own: lifelines' ``AalenJohansenFitter`` fits one cause at a time, with a Kaplan–Meier fit and an
    event table of its own inside each, and where two causes share an event time it moves every event time
    by a random jitter (on the one-minute grid of a big cohort, that is every fit). Here both causes come
    from one event table, ties stay ties, and the same answer comes back for the same data. Where no two
    causes share a time and nobody enters at an event time, the curves equal lifelines' (``tests/test_survival.py``,
    to 1e-12); lifelines' own Aalen–Johansen counts a row entering at an event time as at risk for it, unlike
    its Kaplan–Meier.

    Parameters
    ----------
    entry, duration : array-like
        Days at which each row enters (delayed entry; 0 for none) and leaves observation; ``entry < duration``.
    event_type : array-like of int
        0 for censored, otherwise the cause.
    weight : array-like, optional
        How many people each row stands for (default one each).
    causes : sequence of int
        The causes whose incidence is returned.

    Returns
    -------
    DataFrame
        Indexed by every entry and exit time (ascending, like lifelines' event table): ``at_risk`` (at that time),
        ``observed`` (events of any cause), and for each cause ``c``: ``observed_c`` and ``cif_c``.

    Examples
    --------
    Five people; at day 2 one activates (cause 1) and one leaves (cause 2) at the same time:

    >>> aj = aalen_johansen([0, 0, 0, 0, 0], [1, 2, 2, 3, 4], [1, 1, 2, 0, 1])
    >>> aj[["at_risk", "cif_1", "cif_2"]].round(3).values.tolist()
    [[0.0, 0.0, 0.0], [5.0, 0.2, 0.0], [4.0, 0.4, 0.2], [2.0, 0.4, 0.2], [1.0, 0.8, 0.2]]
    """
    entry, duration = np.asarray(entry, dtype=float), np.asarray(duration, dtype=float)
    kind = np.asarray(event_type)
    w = np.ones(len(entry)) if weight is None else np.asarray(weight, dtype=float)
    if not len(entry) == len(duration) == len(kind) == len(w):
        raise ParameterError("aalen_johansen: entry, duration, event_type and weight must have one value per row")
    if not (np.isfinite(entry).all() and np.isfinite(duration).all() and np.all(duration > entry)):
        raise ParameterError("aalen_johansen: expected finite times with every duration after its entry")
    times, where = np.unique(np.concatenate([entry, duration]), return_inverse=True)
    entered, left = where[: len(entry)], where[len(entry):]
    count = len(times)
    entering = np.bincount(entered, w, count)
    at_risk = np.cumsum(entering) - entering  # at risk at t: entered before t, not left before t
    at_risk[1:] -= np.cumsum(np.bincount(left, w, count))[:-1]
    event = kind != 0
    observed = np.bincount(left[event], w[event], count)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(at_risk > 0, 1.0 / at_risk, 0.0)
    survival_before = np.r_[1.0, np.cumprod(1.0 - observed * share)[:-1]]
    out = {"at_risk": at_risk, "observed": observed}
    for cause in causes:
        mine = kind == cause
        observed_c = np.bincount(left[mine], w[mine], count)
        out[f"observed_{cause}"] = observed_c
        out[f"cif_{cause}"] = np.cumsum(survival_before * observed_c * share)
    return pd.DataFrame(out, index=pd.Index(times, name="event_at"))


def _incidence_interval(at_risk: np.ndarray, events: np.ndarray, of_interest: np.ndarray, cif: np.ndarray,
                        alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bounds of a cumulative incidence (Collett p. 411, on the log(-log) scale), every sum over
    earlier event times a cumulative sum."""
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - events / at_risk)  # all-cause Kaplan–Meier
        lag = np.r_[1.0, survival[:-1]]
        a = events / at_risk / (at_risk - events)
        first = np.cumsum(a) * cif**2 - 2 * cif * np.cumsum(a * cif) + np.cumsum(a * cif**2)
        second = np.cumsum(lag**2 * of_interest * (at_risk - of_interest) / at_risk**3)
        c = lag * of_interest / at_risk**2
        third = cif * np.cumsum(c) - np.cumsum(c * cif)
        variance = first + second - 2 * third
        transformed = np.log(-np.log(cif))
        se = np.sqrt(variance) / (cif * np.abs(np.log(cif)))
        z = float(stats.norm.ppf(1 - alpha / 2))
        return np.exp(-np.exp(transformed + z * se)), np.exp(-np.exp(transformed - z * se))


def aalen_johansen_interval(fitter: AalenJohansenFitter, alpha: float = 0.05) -> pd.DataFrame:
    """The pointwise confidence interval of a fitted Aalen–Johansen cumulative incidence, vectorized.

    The same interval as lifelines' ``AalenJohansenFitter(calculate_variance=True)`` (Greenwood-type variance,
    Collett p. 411, on the log(-log) scale), which loops over the event table's rows in Python; here every
    sum over earlier event times is a cumulative sum. Fit the fitter with ``calculate_variance=False``.
    ``tests/test_survival.py`` checks it against lifelines to 1e-9. (:class:`CompetingRisks` computes the
    same interval from :func:`aalen_johansen`'s table.)

    Returns
    -------
    DataFrame
        ``lower`` and ``upper``, indexed by the fitter's event times.

    Examples
    --------
    >>> ajf = AalenJohansenFitter(calculate_variance=False).fit([1, 2, 3, 4, 5], [1, 2, 1, 0, 1],
    ...                                                         event_of_interest=1)
    >>> aalen_johansen_interval(ajf).round(3).loc[3.0].tolist()
    [0.052, 0.753]
    """
    table = fitter.event_table
    lower, upper = _incidence_interval(table["at_risk"].to_numpy(dtype=float),
                                       table["observed"].to_numpy(dtype=float),  # of any kind
                                       table[fitter.label_cmprisk].to_numpy(dtype=float),
                                       fitter.cumulative_density_.iloc[:, 0].to_numpy(dtype=float), alpha)
    return pd.DataFrame({"lower": lower, "upper": upper}, index=table.index)


class CompetingRisks:
    """Aalen–Johansen cumulative incidence of activation, with leaving as a competing event.

    The share of receivers who activate *before leaving* within the horizon — what "of those who received,
    80% became active" measures. 1 − Kaplan–Meier (:class:`ActivationCurve`) treats leaving as censoring and
    answers another question: the share who would activate if nobody left.

    Parameters
    ----------
    horizon : float, default 90
    alpha : float, default 0.05
    resolution : float, optional
        Grid (days) for aggregated fitting (default one minute).
    follow_up : {"all", "horizon"}, default "all"
        ``"horizon"`` fits only the follow-up up to the horizon (:func:`follow_up_until`): the same
        headline from a fraction of the rows, but ``cumulative_incidence_`` ends at the horizon.

    Attributes
    ----------
    cumulative_incidence_ : DataFrame
        Columns ``activation`` and ``leaving``: the cumulative incidence of each event over time (all receivers).
    at_horizon_ : dict
        Both incidences at the horizon (with a 95% CI for activation), all receivers.
    event_table_ : DataFrame
        The fit of all receivers, from :func:`aalen_johansen`: at risk, events of each kind and both
        incidences at every time.
    headline_ : DataFrame
        Per group: ``n``, ``events``, ``cumulative_incidence`` (activation before leaving) with ``ci_low`` and
        ``ci_high``, and ``leaving`` (the share who left first), at the horizon.

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> cr = CompetingRisks(horizon=90).fit(activation_table(load_example()))
    >>> bool(cr.at_horizon_["leaving"] < 0.05)
    True
    """

    def __init__(self, horizon: float = 90.0, alpha: float = 0.05, resolution: float | None = None,
                 follow_up: str = "all") -> None:
        self.horizon = horizon
        self.alpha = alpha
        self.resolution = resolution
        self.follow_up = follow_up

    def fit(self, table: pd.DataFrame, by: str | None = None) -> CompetingRisks:
        """Fit the incidences for all receivers, and the headline per value of column ``by``."""
        self.warnings_: list[str] = []
        if not self.horizon > 0:
            raise ParameterError(f"horizon: expected a number of days > 0, got {self.horizon}")
        _check_follow_up(self.follow_up)
        cohort = receipt_cohort(table)
        if self.follow_up == "horizon":
            full, cohort = cohort, follow_up_until(cohort, self.horizon)
            cohort = cohort.assign(event=full["event"])  # (the counts of events stay the whole follow-up's)
        resolution = self.resolution if self.resolution is not None else GRID_DAYS
        self.cumulative_incidence_, ci, self.event_table_ = self._fit_one(_aggregate(cohort, resolution))
        at = self._at_horizon(self.cumulative_incidence_)
        self.at_horizon_ = {"horizon_days": self.horizon, "activation": float(at["activation"]),
                            "activation_ci_low": ci[0], "activation_ci_high": ci[1], "leaving": float(at["leaving"])}
        rows = []
        for name, part in _groups(cohort, by):
            curves, ci = ((self.cumulative_incidence_, ci) if by is None
                          else self._fit_one(_aggregate(part, resolution))[:2])
            at = self._at_horizon(curves)
            rows.append({"group": name, "n": represented(part), "events": _events(part),
                         "horizon_days": self.horizon, "cumulative_incidence": float(at["activation"]),
                         "ci_low": ci[0], "ci_high": ci[1], "leaving": float(at["leaving"])})
        self.headline_ = pd.DataFrame(rows)
        return self

    def _at_horizon(self, curves: pd.DataFrame) -> pd.Series:
        before = curves[curves.index <= self.horizon]
        return before.iloc[-1] if len(before) else pd.Series({"activation": 0.0, "leaving": 0.0})

    def _fit_one(self, agg: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, float], pd.DataFrame]:
        table = aalen_johansen(agg["entry"], agg["duration"], agg["event_type"], agg["weight"], causes=(1, 2))
        curves = pd.DataFrame({"activation": table["cif_1"], "leaving": table["cif_2"]})
        before = (table.index <= self.horizon) & (table["at_risk"].to_numpy() > 0)  # (nobody at risk: no event)
        if not before.any():
            return curves, (0.0, 0.0), table
        lower, upper = _incidence_interval(*(table[c].to_numpy()[before] for c in ("at_risk", "observed", "observed_1",
                                                                                    "cif_1")), self.alpha)
        return curves, (float(lower[-1]), float(upper[-1])), table


def design_matrix(table: pd.DataFrame, covariates: Sequence[str] = DEFAULT_COVARIATES) -> pd.DataFrame:
    """Numeric covariates known at time zero, from the activation table's columns.

    ``first_red_packet`` and ``first_group`` are 0/1; counts enter as log(1 + x). Covariates whose source
    column is all missing in this log are dropped; remaining missing values get the column median.

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> X = design_matrix(activation_table(load_example()))
    >>> list(X.columns)[:3]
    ['first_red_packet', 'first_group', 'log_amount']
    """
    source = {
        "first_red_packet": lambda t: (t["first_kind"] == "red_packet").astype("float64"),
        "first_group": lambda t: t["first_group"].astype("Float64"),
        "log_amount": lambda t: np.log1p(t["first_amount_cents"].astype("Float64")),
        "log_friends": lambda t: np.log1p(t["n_friends"].astype("Float64")),
        "log_paying_friends": lambda t: np.log1p(t["paying_friends"].astype("Float64")),
        "log_groups": lambda t: np.log1p(t["n_groups"].astype("Float64")),
        "log_merchants": lambda t: np.log1p(t["merchants_nearby"].astype("Float64")),
        "log_tenure": lambda t: np.log1p(t["tenure_days"].clip(lower=0).astype("Float64")),
        "log_senders_7d": lambda t: np.log1p(t["senders_7d"].astype("Float64")),
    }
    out = {}
    for name in covariates:
        if name in source:
            col = pd.Series(source[name](table), index=table.index).astype("Float64")
        elif name in table.columns:
            col = pd.to_numeric(table[name], errors="coerce").astype("Float64")
        else:
            raise ParameterError(f"covariates: unknown covariate {name!r}; expected some of {sorted(source)}")
        if col.notna().sum() == 0 or col.dropna().nunique() < 2:
            continue
        out[name] = col.fillna(col.median()).astype("float64")
    return pd.DataFrame(out, index=table.index)


def _regression_frame(table: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    if WEIGHT in table.columns:
        raise InputError("activation table: counted on a grid (it has a 'weight' column), it has no covariates "
                         "to regress on; use the rows of activation_table()")
    cohort = receipt_cohort(table)
    X = design_matrix(cohort, covariates)
    frame = X.assign(duration=np.maximum(cohort["duration"], cohort["entry"] + 1e-6),
                     event=cohort["event"].astype(int), entry=cohort["entry"])
    return frame


class ParametricActivation:
    """A Weibull or log-logistic model of time to activation.

    Without covariates a univariate fitter; with covariates an accelerated-failure-time regression.

    Parameters
    ----------
    model : {"weibull", "loglogistic"}
    covariates : sequence of str, optional
        Covariates for the AFT model (see :func:`design_matrix`); None for the univariate fit.

    Attributes
    ----------
    fitter_ : lifelines fitter
    cumulative_incidence_at_horizon_ : float
        1 - S(horizon) of the fitted model (univariate) or averaged over receivers (AFT).

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> fit = ParametricActivation("weibull").fit(activation_table(load_example()))
    >>> bool(0.6 < fit.cumulative_incidence_at_horizon_ < 0.95)
    True
    """

    def __init__(self, model: Literal["weibull", "loglogistic"] = "weibull", covariates: Sequence[str] | None = None,
                 horizon: float = 90.0, penalizer: float = 0.0) -> None:
        self.model = model
        self.covariates = covariates
        self.horizon = horizon
        self.penalizer = penalizer

    def fit(self, table: pd.DataFrame) -> ParametricActivation:
        self.warnings_: list[str] = []
        if self.model not in ("weibull", "loglogistic"):
            raise ParameterError(f"model: expected 'weibull' or 'loglogistic', got {self.model!r}")
        if self.covariates is None:
            agg = _aggregate(receipt_cohort(table), None)
            fitter = WeibullFitter() if self.model == "weibull" else LogLogisticFitter()
            with fit_warnings(self.warnings_):
                fitter.fit(agg["duration"], agg["event"], entry=agg["entry"], weights=agg["weight"])
            self.cumulative_incidence_at_horizon_ = float(1 - fitter.survival_function_at_times(self.horizon).iloc[0])
        else:
            frame = _regression_frame(table, self.covariates)
            cls = WeibullAFTFitter if self.model == "weibull" else LogLogisticAFTFitter
            fitter = cls(penalizer=self.penalizer)
            with fit_warnings(self.warnings_):
                fitter.fit(frame, "duration", "event", entry_col="entry")
            surv = fitter.predict_survival_function(frame.drop(columns=["duration", "event", "entry"]),
                                                    times=[self.horizon])
            self.cumulative_incidence_at_horizon_ = float(1 - surv.to_numpy().mean())
        self.fitter_ = fitter
        return self


class CureModel:
    """Mixture cure model: S(t) = c + (1 - c) S_Weibull(t); ``c`` is the share who never activate.

    Attributes
    ----------
    cured_fraction_ : float
    ci_ : tuple of float
        95% CI of the cured fraction.

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> cure = CureModel().fit(activation_table(load_example()))
    >>> bool(0.0 <= cure.cured_fraction_ < 0.3)
    True
    """

    def __init__(self, resolution: float | None = None) -> None:
        self.resolution = resolution

    def fit(self, table: pd.DataFrame) -> CureModel:
        self.warnings_: list[str] = []
        agg = _aggregate(receipt_cohort(table), self.resolution if self.resolution is not None else GRID_DAYS)
        fitter = MixtureCureFitter(base_fitter=WeibullFitter())
        with fit_warnings(self.warnings_):
            fitter.fit(agg["duration"], agg["event"], entry=agg["entry"], weights=agg["weight"])
        self.fitter_ = fitter
        self.cured_fraction_ = float(fitter.cured_fraction_)
        row = fitter.summary.loc["cured_fraction_"]
        self.ci_ = (max(0.0, float(row["coef lower 95%"])), min(1.0, float(row["coef upper 95%"])))
        return self


class ActivationCox:
    """Cox proportional hazards of activation on covariates known at time zero, with delayed entry.

    Parameters
    ----------
    covariates : sequence of str
        See :func:`design_matrix`.
    penalizer : float, default 0.01
        Small ridge penalty for stability.

    Attributes
    ----------
    fitter_ : lifelines.CoxPHFitter
    summary_ : DataFrame
        Hazard ratios with 95% CIs and p-values, one row per covariate.
    ph_test_ : DataFrame
        The proportional-hazards test (Schoenfeld residuals, rank transform) per covariate.
    n_rows_, n_used_ : int
        Receivers in the table, and how many the fit used (a random ``max_rows`` of them on bigger tables:
        lifelines' fitter, which also tests proportional hazards, takes minutes on millions).

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> cox = ActivationCox().fit(activation_table(load_example()))
    >>> {"hazard_ratio", "ci_low", "ci_high", "p"} <= set(cox.summary_.columns)
    True
    """

    def __init__(self, covariates: Sequence[str] = DEFAULT_COVARIATES, penalizer: float = 0.01,
                 max_rows: int = 200_000, seed: int = 0) -> None:
        self.covariates = covariates
        self.penalizer = penalizer
        self.max_rows = max_rows
        self.seed = seed

    def fit(self, table: pd.DataFrame) -> ActivationCox:
        self.warnings_: list[str] = []
        frame = _regression_frame(table, self.covariates)
        self.n_rows_ = len(frame)
        if len(frame) > self.max_rows:  # a random subsample keeps lifelines' fit to seconds on huge cohorts
            frame = frame.sample(self.max_rows, random_state=self.seed)
        self.n_used_ = len(frame)
        delayed = bool((frame["entry"] > 0).any())
        fitter = CoxPHFitter(penalizer=self.penalizer)
        with fit_warnings(self.warnings_):
            if delayed:
                fitter.fit(frame, "duration", "event", entry_col="entry")
                # lifelines has no Schoenfeld residuals with delayed entry: test on the rows entering at zero
                plain = frame[frame["entry"] == 0].drop(columns=["entry"])
                check = CoxPHFitter(penalizer=self.penalizer).fit(plain, "duration", "event")
            else:
                plain = frame.drop(columns=["entry"])
                check = fitter.fit(plain, "duration", "event")
            test = proportional_hazard_test(check, plain, time_transform="rank")
        s = fitter.summary
        self.fitter_ = fitter
        self.summary_ = pd.DataFrame({"hazard_ratio": s["exp(coef)"], "ci_low": s["exp(coef) lower 95%"],
                                      "ci_high": s["exp(coef) upper 95%"], "p": s["p"]})
        self.summary_.index.name = "covariate"
        self.ph_test_ = test.summary[["test_statistic", "p"]].rename(columns={"p": "ph_p"})
        return self
