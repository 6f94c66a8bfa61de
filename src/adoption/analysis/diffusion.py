"""Diffusion fits: the Bass model and a two-sided variant, with standard errors.

Bass (1969): the adoption hazard of those who have not adopted is ``p + q F`` (innovation plus imitation),
so ``F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})``. Counts of adopters are fitted by the likelihood of
the stochastic process itself (each non-adopter adopts in a period with the hazard ``p + q F`` of the adopters
so far: a binomial chain); shares by the nonlinear least squares of Srinivasan & Mason (1986). The market
size is estimated (never below the adopters seen) or given; intervals are profile-likelihood intervals.

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

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.integrate import odeint
from scipy.special import betaln

from adoption.arrays import clip
from adoption.errors import ParameterError

__all__ = ["BassModel", "TwoSidedBass", "bass_cdf"]

#: The largest argument whose exponential is a finite double.
_LOG_MAX = math.log(np.finfo(float).max)


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
    """Wald intervals with Student-t quantiles (nonlinear least squares), of rates that cannot be negative:
    an interval reaching below 0 is cut there."""
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    z = stats.t.ppf(1 - alpha / 2, max(dof, 1))
    return pd.DataFrame({"estimate": est, "se": se, "ci_low": np.maximum(est - z * se, 0.0), "ci_high": est + z * se},
                        index=pd.Index(names, name="parameter"))


class BassModel:
    """The Bass diffusion model fitted to a cumulative adoption series, with profile-likelihood intervals.

    Parameters
    ----------
    market_size : float, optional
        The number (or share) who eventually adopt; estimated when not given, and then never below the
        adopters already seen.
    alpha : float, default 0.05
        For (1 - alpha) intervals.
    likelihood : {"binomial", "least_squares"}, default "binomial"
        ``"binomial"``: the stochastic Bass process for counts of adopters — in each period, each of the
        ``market_size - A`` who have not adopted does so with the probability that the Bass curve started from
        the share ``A / market_size`` adopted before it gives for the period (Bass's hazard ``p + q F``), so an early
        chance fluctuation carries into every later period as it does in a real diffusion. Overdispersion
        beyond the binomial widens the intervals (quasi-likelihood). ``"least_squares"``: the deterministic
        curve fitted to the adoptions per period by nonlinear least squares (Srinivasan & Mason 1986), for
        shares or series that fall somewhere.

    Attributes
    ----------
    p_, q_, market_size_ : float
        Innovation and imitation coefficients (per unit of the series' time) and the market size.
    summary_ : DataFrame
        estimate, se (from the curvature), ci_low, ci_high per parameter. The intervals are profile
        likelihood intervals: the values at which the fit, re-optimised over the other parameters, is worse
        by the F(1, dof) quantile in units of the estimated dispersion. Unlike Wald intervals they follow the
        likelihood's skew (the market size is poorly bounded above before the peak) and respect the bounds:
        ``ci_low`` of the market size is at least the adopters seen, and an interval may be open above
        (``inf``) when the series cannot bound it.
    dispersion_ : float
        Pearson chi-square over the degrees of freedom for ``"binomial"`` (about 1 when the process is
        binomial; larger: overdispersed), the residual variance for ``"least_squares"``.

    Examples
    --------
    >>> t = np.arange(0, 25.0)
    >>> BassModel(market_size=1.0, likelihood="least_squares").fit(t, bass_cdf(t, 0.05, 0.5)).summary_.shape
    (2, 4)
    """

    def __init__(self, market_size: float | None = None, alpha: float = 0.05,
                 likelihood: str = "binomial") -> None:
        self.market_size = market_size
        self.alpha = alpha
        self.likelihood = likelihood

    def fit(self, t: Sequence[float] | np.ndarray | None, adopters: Sequence[float] | np.ndarray | pd.Series
            ) -> BassModel:
        """Fit to cumulative adopters at times ``t`` (``t=None`` with a Series uses its index, in days)."""
        x, y = _series(t, adopters, "adopters")
        if self.market_size is not None and not self.market_size > 0:
            raise ParameterError(f"market_size: expected a positive number, got {self.market_size}")
        if self.likelihood not in ("binomial", "least_squares"):
            raise ParameterError(f"likelihood: expected 'binomial' or 'least_squares', got {self.likelihood!r}")
        if not 0 < self.alpha < 1:
            raise ParameterError(f"alpha: expected a number between 0 and 1, got {self.alpha}")
        binomial = self.likelihood == "binomial"
        t0, y0 = x[0], y[0]
        incr, dt, before = np.diff(y), np.diff(x), y[:-1]
        if binomial and ((incr < 0).any() or y0 < 0):
            raise ParameterError("adopters: counts of adopters cannot fall, but this series does; "
                                 "fit it with likelihood='least_squares'")
        if self.market_size is not None and self.market_size < y[-1]:
            raise ParameterError(f"market_size: expected at least the {y[-1]:g} adopters seen, got {self.market_size}")
        seen = max(y[-1], 1e-12)
        step = max(float(np.median(dt)), 1e-9)
        free_size = self.market_size is None
        k = 3 if free_size else 2

        def natural(theta: np.ndarray) -> tuple[float, float, float]:
            # log scale keeps p, q > 0 and the market size above the adopters seen; a search far out gets the
            # largest finite exponential, not an overflow
            size = seen * (1.0 + math.exp(min(theta[2], _LOG_MAX))) if free_size else float(self.market_size)
            return math.exp(min(theta[0], _LOG_MAX)), math.exp(min(theta[1], _LOG_MAX)), size

        def chance(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Per period: those who had not adopted, and each one's probability of adopting in it."""
            p, q, size = natural(theta)
            left = np.maximum(size - before, 0.0)
            share = np.minimum(before / size, 1 - 1e-12)
            # the Bass curve run through the period from the share adopted at its start: within-period growth
            return left, (bass_cdf(dt, p, q, share) - share) / (1 - share)

        def loss(theta: np.ndarray) -> float:
            # (called tens of thousands of times on a dozen periods: array methods and ufuncs, not numpy's
            # wrapper functions, whose checks cost as much as the arithmetic here)
            if not binomial:
                p, q, size = natural(theta)
                expected = np.diff(size * bass_cdf(x - t0, p, q, min(y0 / size, 0.999)))
                return float(((incr - expected) ** 2).sum())
            left, prob = chance(theta)
            prob = clip(prob, 1e-300, 1 - 1e-16)
            stay = np.maximum(left - incr, 0.0)
            # log C(left, incr) through the beta function: as a difference of log-gammas it loses every digit
            # once the market size is in the trillions (the profile of an unbounded size goes there)
            log_choose = -np.log(left + 1) - betaln(stay + 1, incr + 1)
            return float(-2.0 * (log_choose + incr * np.log(prob) + stay * np.log1p(-prob)).sum())

        def minimise(objective: Callable[[np.ndarray], float], starts: list[np.ndarray],
                     tolerance: float | None = None) -> optimize.OptimizeResult:
            # (the fit to 1e-8 in the parameters, 1e-10 in the loss; a profile's re-optimisation to a
            # millionth of the threshold it is compared with, in at most 2,000 steps: a series the curve fits
            # exactly has a threshold below the loss's rounding, which no simplex reaches; its best is kept)
            xatol, fatol, most = (1e-8, 1e-10, 20_000) if tolerance is None else (1e-6, tolerance * 1e-6, 2_000)
            best = None
            for guess in starts:
                res = optimize.minimize(objective, guess, method="Nelder-Mead",
                                        options={"xatol": xatol, "fatol": fatol, "maxiter": most, "maxfev": most})
                if best is None or res.fun < best.fun:
                    best = res
            return best

        starts = [np.array([np.log(0.01 / step * scale), np.log(0.3 / step), np.log(0.2)][:k])
                  for scale in (1.0, 0.1, 10.0)]
        best = minimise(loss, starts)
        best = minimise(loss, [best.x])  # restart from the optimum (Nelder-Mead can stall)
        if not np.isfinite(best.fun):
            raise ParameterError("adopters: the Bass model could not be fitted to this series")
        theta = best.x
        dof = max(len(incr) - k, 1)
        if binomial:
            left, prob = chance(theta)
            var = left * prob * (1 - prob)
            keep = var > 0
            self.dispersion_ = float(np.sum((incr[keep] - left[keep] * prob[keep]) ** 2 / var[keep]) / dof)
            scale = max(self.dispersion_, 1.0)
        else:
            self.dispersion_ = float(best.fun / dof)
            scale = max(self.dispersion_, 1e-300)
        limit = float(stats.f.ppf(1 - self.alpha, 1, dof))
        est = np.array(natural(theta)[:k])
        inverse = np.linalg.pinv(self._hessian(loss, theta))  # (the quadratic approximation of the loss)
        bounds = np.array([self._profile(loss, minimise, natural, theta, j, best.fun, scale * limit, inverse)
                           for j in range(k)])
        se = np.sqrt(np.clip(np.diag(self._covariance(inverse, natural, theta, scale)), 0.0, None))
        self.summary_ = pd.DataFrame({"estimate": est, "se": se, "ci_low": bounds[:, 0], "ci_high": bounds[:, 1]},
                                     index=pd.Index(["p", "q", "market_size"][:k], name="parameter"))
        self.p_, self.q_ = float(est[0]), float(est[1])
        self.market_size_ = float(est[2]) if free_size else float(self.market_size)
        self.start_ = (float(t0), float(y0))
        self.peak_time_ = float(np.log(self.q_ / self.p_) / (self.p_ + self.q_)) if self.q_ > self.p_ else 0.0
        return self

    @staticmethod
    def _hessian(loss: Callable, theta: np.ndarray) -> np.ndarray:
        """The loss's Hessian at ``theta`` by central differences."""
        h, k = 1e-4, len(theta)
        hess = np.empty((k, k))

        def at(i: int, j: int, di: float, dj: float) -> float:
            v = theta.copy()
            v[i] += di
            v[j] += dj
            return loss(v)
        for i in range(k):
            for j in range(k):
                hess[i, j] = (at(i, j, h, h) - at(i, j, h, -h) - at(i, j, -h, h) + at(i, j, -h, -h)) / (4 * h * h)
        return hess

    @staticmethod
    def _covariance(inverse: np.ndarray, natural: Callable, theta: np.ndarray, scale: float) -> np.ndarray:
        """``2 * scale`` times the inverse Hessian of the loss (``inverse``), carried to the natural parameters."""
        k = len(theta)
        cov_theta = 2.0 * scale * inverse
        grad = np.empty(k)
        for j in range(k):
            up, down = theta.copy(), theta.copy()
            up[j] += 1e-6
            down[j] -= 1e-6
            grad[j] = (natural(up)[j] - natural(down)[j]) / 2e-6
        return cov_theta * np.outer(grad, grad)

    @staticmethod
    def _profile(loss: Callable, minimise: Callable, natural: Callable, theta: np.ndarray, j: int, best: float,
                 threshold: float, inverse: np.ndarray) -> tuple[float, float]:
        """The interval of parameter ``j``: where the loss, re-optimised over the others, exceeds its minimum by
        ``threshold``. A side that never gets that much worse is open: down to the parameter's bound (0, or
        the adopters seen for the market size) or up to infinity. (Above ``1 / eps`` times the estimate, the
        model's arithmetic no longer tells values apart: a side not closed by then is open.)

        The loss's quadratic approximation at the optimum (``inverse``: its Hessian's inverse) guides the
        search: the first step goes to where it puts the bound, and each re-optimisation of the others starts
        from where it puts them, moved from the nearest value already profiled. The bound itself is the
        profile's, to ``1e-6``."""
        others = [i for i in range(len(theta)) if i != j]
        curvature = inverse[j, j]
        # the quadratic's distance to the bound, and how the others follow parameter j along the profile
        wald = float(np.sqrt(2.0 * threshold * curvature)) if curvature > 0 else np.nan
        first = wald if np.isfinite(wald) and 1e-3 < wald < 10.0 else 0.05
        follow = inverse[others, j] / curvature if curvature > 0 else np.zeros(len(others))
        profiled = {float(theta[j]): (-threshold, theta[others])}  # value -> (excess, the others' optimum)

        def excess(value: float) -> float:
            if value in profiled:
                return profiled[value][0]
            full = theta.copy()
            full[j] = value
            if others:
                def constrained(rest: np.ndarray) -> float:
                    full[others] = rest
                    return loss(full)
                # from the prediction, or from the optimum's others where those are better (far out on a flat
                # side, a prediction can sit in a worse valley)
                near = min(profiled, key=lambda v: abs(v - value))
                starts = [profiled[near][1] + follow * (value - near), theta[others]]
                start = min(starts, key=constrained)
                fit = minimise(constrained, [start], tolerance=threshold)
                worse, rest = fit.fun, fit.x
            else:
                worse, rest = loss(full), theta[others]
            profiled[value] = (worse - best - threshold, rest)
            return profiled[value][0]

        def at(value: float) -> float:
            full = theta.copy()
            full[j] = value
            return natural(full)[j]

        ceiling = at(theta[j]) / np.finfo(float).eps
        limits = []
        for direction in (-1.0, 1.0):
            step, inside, edge = first, float(theta[j]), -np.inf if direction < 0 else np.inf
            for _ in range(40):
                candidate = inside + direction * step
                if direction > 0 and not at(candidate) < ceiling:
                    break  # open above: past the ceiling, double precision cannot tell the values apart
                if excess(candidate) > 0:
                    edge = optimize.brentq(excess, min(inside, candidate), max(inside, candidate), xtol=1e-6)
                    break
                if direction < 0 and at(candidate) == at(inside):
                    break  # the parameter has reached its bound (0, or the adopters seen) in floating point
                inside, step = candidate, step * 1.6
            limits.append(np.inf if edge == np.inf else at(edge))
        return limits[0], limits[1]

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
        estimate, se, ci_low, ci_high per parameter (each series weighted by its own residual spread). Wald
        intervals from the curvature: symmetric about the estimate, cut at 0 (the rates cannot be negative).
        A rate whose estimate sits at 0 has an interval that only says how far up the data allow it.

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

        def rhs(y: np.ndarray, _t: float) -> list[float]:
            u, m = y
            return [(p_users + q_users * u + r_users * m) * (1 - u), (p_merchants + r_merchants * u) * (1 - m)]

        # (LSODA through odeint steps in compiled code: the fit solves this path hundreds of times, and
        # solve_ivp's steps in Python took ten times as long)
        y = odeint(rhs, list(start), t, rtol=1e-8, atol=1e-10)
        return pd.DataFrame({"t": t, "users": y[:, 0], "merchants": y[:, 1]})

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
