"""Diffusion fits: the Bass model and a two-sided variant, with standard errors.

Bass (1969): the adoption hazard of those who have not adopted is ``p + q F`` (innovation plus imitation),
so ``F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})``. The fit is the nonlinear least squares of
Srinivasan & Mason (1986) on the adoptions per period, with the market size estimated or given; standard
errors come from the fit's covariance, intervals are Wald intervals.

The two-sided variant lets each side imitate its own side and the other::

    du/dt = (p_u + q_u u + r_u m) (1 - u),    dm/dt = (p_m + r_m u) (1 - m)

It is the mean field of the network simulator's cross-side mechanics (organic adoption that grows with the
local merchant share, merchant acceptance that grows with the local user share) with the social channel
folded into ``q_u``, so fitting it to the simulator's output compares the mean-field and network views.

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 30.0)
>>> series = 1000 * bass_cdf(t, 0.03, 0.4)
>>> fit = BassModel().fit(t, series)
>>> round(fit.p_, 3), round(fit.q_, 3), round(fit.market_size_)
(0.03, 0.4, 1000)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.integrate import solve_ivp

from adoption.errors import ParameterError

__all__ = ["BassModel", "TwoSidedBass", "bass_cdf"]


def bass_cdf(t: np.ndarray | float, p: float, q: float, start_share: float = 0.0) -> np.ndarray:
    """Share of the market that has adopted by ``t`` under the Bass model (from ``start_share`` at t = 0).

    Examples
    --------
    >>> float(bass_cdf(0.0, 0.03, 0.4))
    0.0
    >>> bool(bass_cdf(100.0, 0.03, 0.4) > 0.999)
    True
    """
    t = np.asarray(t, dtype=float)
    c = (1.0 - start_share) / (1.0 + (q / p) * start_share)
    e = c * np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def _series(t: Sequence[float] | np.ndarray | pd.Series | None, values: object, name: str
            ) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, pd.Series) and t is None:
        index = values.index
        t = (index - index[0]).days.to_numpy(float) if isinstance(index, pd.DatetimeIndex) else index.to_numpy(float)
    y = np.asarray(values, dtype=float)
    x = np.asarray(t, dtype=float)
    if x.shape != y.shape or y.ndim != 1:
        raise ParameterError(f"{name}: expected a 1-d series with one value per time, got shapes {x.shape} and {y.shape}")
    if len(y) < 5:
        raise ParameterError(f"{name}: expected at least 5 observations to fit, got {len(y)}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise ParameterError(f"{name}: contains missing or infinite values")
    if np.any(np.diff(x) <= 0):
        raise ParameterError(f"{name}: times must be strictly increasing")
    return x, y


def _summary(names: list[str], est: np.ndarray, cov: np.ndarray, alpha: float, dof: int) -> pd.DataFrame:
    """Wald intervals with Student-t quantiles (nonlinear least squares)."""
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    z = stats.t.ppf(1 - alpha / 2, max(dof, 1))
    return pd.DataFrame({"estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se},
                        index=pd.Index(names, name="parameter"))


class BassModel:
    """The Bass diffusion model fitted to a cumulative adoption series.

    Parameters
    ----------
    market_size : float, optional
        The number (or share) who eventually adopt; estimated when not given.
    alpha : float, default 0.05
        For (1 - alpha) intervals.

    Attributes
    ----------
    p_, q_, market_size_ : float
        Innovation and imitation coefficients (per unit of the series' time) and the market size.
    summary_ : DataFrame
        estimate, se, ci_low, ci_high per parameter.

    Examples
    --------
    >>> t = np.arange(0, 25.0)
    >>> BassModel(market_size=1.0).fit(t, bass_cdf(t, 0.05, 0.5)).summary_.shape
    (2, 4)
    """

    def __init__(self, market_size: float | None = None, alpha: float = 0.05) -> None:
        self.market_size = market_size
        self.alpha = alpha

    def fit(self, t: Sequence[float] | np.ndarray | None, adopters: Sequence[float] | np.ndarray | pd.Series
            ) -> BassModel:
        """Fit to cumulative adopters at times ``t`` (``t=None`` with a Series uses its index, in days)."""
        x, y = _series(t, adopters, "adopters")
        if self.market_size is not None and not self.market_size > 0:
            raise ParameterError(f"market_size: expected a positive number, got {self.market_size}")
        t0, y0 = x[0], y[0]
        incr = np.diff(y)

        def model(_x: np.ndarray, *theta: float) -> np.ndarray:
            p, q = theta[0], theta[1]
            size = self.market_size if self.market_size is not None else theta[2]
            cum = size * bass_cdf(x - t0, p, q, min(y0 / size, 0.999))
            return np.diff(cum)

        top = y[-1] if self.market_size is None else self.market_size
        start = [0.01 / max(np.median(np.diff(x)), 1e-9), 0.3 / max(np.median(np.diff(x)), 1e-9)]
        lower, upper = [1e-9, 0.0], [np.inf, np.inf]
        if self.market_size is None:
            start.append(top * 1.2)
            lower.append(max(y[-1], 1e-12))
            upper.append(np.inf)
        best = None
        for scale in (1.0, 0.1, 10.0):
            guess = [start[0] * scale, start[1], *start[2:]]
            try:
                est, cov = optimize.curve_fit(model, x[1:], incr, p0=guess, bounds=(lower, upper), maxfev=20000)
            except (RuntimeError, ValueError):
                continue
            rss = float(np.sum((model(x[1:], *est) - incr) ** 2))
            if best is None or rss < best[2]:
                best = (est, cov, rss)
        if best is None:
            raise ParameterError("adopters: the Bass model could not be fitted to this series")
        est, cov, _ = best
        names = ["p", "q"] + (["market_size"] if self.market_size is None else [])
        self.summary_ = _summary(names, est, cov, self.alpha, len(x) - 1 - len(est))
        self.p_, self.q_ = float(est[0]), float(est[1])
        self.market_size_ = float(est[2]) if self.market_size is None else float(self.market_size)
        self.start_ = (float(t0), float(y0))
        self.peak_time_ = float(np.log(self.q_ / self.p_) / (self.p_ + self.q_)) if self.q_ > self.p_ else 0.0
        return self

    def predict(self, t: Sequence[float] | np.ndarray) -> np.ndarray:
        """Cumulative adopters at ``t`` (same time origin as the fitted series)."""
        t0, y0 = self.start_
        size = self.market_size_
        return size * bass_cdf(np.asarray(t, dtype=float) - t0, self.p_, self.q_, min(y0 / size, 0.999))


class TwoSidedBass:
    """A two-sided Bass model fitted jointly to user and merchant adoption shares.

    Parameters
    ----------
    alpha : float, default 0.05
        For (1 - alpha) intervals.

    Attributes
    ----------
    params_ : Series
        p_users, q_users, r_users (users' response to merchants), p_merchants, r_merchants (merchants'
        response to users).
    summary_ : DataFrame
        estimate, se, ci_low, ci_high per parameter (each series weighted by its own residual spread).

    Examples
    --------
    >>> t = np.arange(0, 60.0)
    >>> truth = TwoSidedBass.path(t, 0.01, 0.2, 0.1, 0.005, 0.15, start=(0.01, 0.02))
    >>> fit = TwoSidedBass().fit(t, truth["users"], truth["merchants"])
    >>> round(float(fit.params_["r_merchants"]), 2)
    0.15
    """

    NAMES = ("p_users", "q_users", "r_users", "p_merchants", "r_merchants")

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha

    @staticmethod
    def path(t: np.ndarray, p_users: float, q_users: float, r_users: float, p_merchants: float,
             r_merchants: float, start: tuple[float, float] = (0.0, 0.0)) -> pd.DataFrame:
        """Users' and merchants' shares over ``t`` (t[0] is the start)."""
        t = np.asarray(t, dtype=float)

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            u, m = y
            return np.array([(p_users + q_users * u + r_users * m) * (1 - u), (p_merchants + r_merchants * u) * (1 - m)])

        sol = solve_ivp(rhs, (t[0], t[-1]), list(start), t_eval=t, rtol=1e-8, atol=1e-10)
        return pd.DataFrame({"t": t, "users": sol.y[0], "merchants": sol.y[1]})

    def fit(self, t: Sequence[float] | np.ndarray, users: Sequence[float] | np.ndarray,
            merchants: Sequence[float] | np.ndarray) -> TwoSidedBass:
        """Fit to cumulative adoption shares (between 0 and 1) of users and merchants at times ``t``."""
        x, u = _series(t, users, "users")
        _, m = _series(t, merchants, "merchants")
        for name, series in (("users", u), ("merchants", m)):
            if series.min() < 0 or series.max() > 1:
                raise ParameterError(f"{name}: expected shares between 0 and 1")
        start = (float(u[0]), float(m[0]))
        weights = np.ones(2)

        def residuals(theta: np.ndarray) -> np.ndarray:
            path = self.path(x, *theta, start=start)
            du = np.diff(path["users"].to_numpy()) - np.diff(u)
            dm = np.diff(path["merchants"].to_numpy()) - np.diff(m)
            return np.concatenate([du * weights[0], dm * weights[1]])

        step = max(float(np.median(np.diff(x))), 1e-9)
        theta0 = np.array([0.001, 0.05, 0.05, 0.001, 0.05]) / step
        fit = None
        for _ in range(2):  # refit with each series weighted by its residual spread
            fit = optimize.least_squares(residuals, theta0, bounds=(0.0, np.inf), x_scale="jac")
            n = len(x) - 1
            spread = np.array([np.std(fit.fun[:n] / weights[0]), np.std(fit.fun[n:] / weights[1])])
            weights = 1.0 / np.maximum(spread, 1e-12)
            theta0 = fit.x
        assert fit is not None
        jac = fit.jac
        dof = max(len(fit.fun) - len(theta0), 1)
        s2 = float(np.sum(fit.fun**2) / dof)
        cov = np.linalg.pinv(jac.T @ jac) * s2
        self.params_ = pd.Series(fit.x, index=list(self.NAMES), name="estimate")
        self.summary_ = _summary(list(self.NAMES), fit.x, cov, self.alpha, dof)
        self.start_ = (float(x[0]), *start)
        return self

    def predict(self, t: Sequence[float] | np.ndarray) -> pd.DataFrame:
        """Fitted shares at ``t`` (t starting at the fitted series' first time)."""
        t0, u0, m0 = self.start_
        return self.path(np.asarray(t, dtype=float), *self.params_.to_numpy(), start=(u0, m0))
