"""The two-sided cold start: critical mass, subsidies, red packets as seeding and the platform race.

A mean-field model to reason with, in the form of Evans & Schmalensee's critical-mass analysis ("Failure
to Launch", Review of Network Economics 9(4), 2010). ``u`` and ``m`` are the adopting shares of users and
merchants::

    du/dt = l_u [F_u(b_u m - p_u) - u]
    dm/dt = l_m [F_m(b_m u - p_m) - m]

``b`` are the cross-side benefits, ``p`` the effective prices (a subsidy or red-packet cash is a negative
price), ``l`` the adjustment speeds and ``F`` the distribution of tastes (the cost of adopting): a user
adopts when the benefit net of price exceeds their taste. With uniform tastes on [0, 1] and
``b_u b_m > 1`` the interior equilibrium is a saddle,

    u* = (p_u + b_u p_m) / (b_u b_m - 1),    m* = b_m u* - p_m,

and its stable manifold is the critical-mass frontier: starts above it tip to the high equilibrium, starts
below it stall at zero.

Time is in the unit of ``1 / l`` (by default one unit; read it as months when l is "per month").

See :mod:`adoption.analysis.diffusion` for Bass fits and :mod:`adoption.world.meanfield` for the comparison with the
network simulator.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy.integrate import odeint, solve_ivp

from adoption.errors import ParameterError

__all__ = ["TASTES", "NoCriticalMass", "Side", "Tastes", "TwoSidedMarket", "check_share", "phase_diagram",
           "uniform_saddle"]

@dataclass(frozen=True)
class Tastes:
    """A distribution of adoption costs: its CDF ``F`` and density ``f`` (vectorized)."""

    cdf: Callable[[np.ndarray], np.ndarray]
    pdf: Callable[[np.ndarray], np.ndarray]


def _uniform(_spread: float) -> Tastes:
    return Tastes(lambda x: np.clip(x, 0.0, 1.0), lambda x: np.where((np.asarray(x) > 0.0) & (np.asarray(x) < 1.0), 1.0, 0.0))


def _normal(spread: float) -> Tastes:
    return Tastes(lambda x: special.ndtr((x - 0.5) / spread),
                  lambda x: np.exp(-0.5 * ((x - 0.5) / spread) ** 2) / (spread * np.sqrt(2 * np.pi)))


def _logistic(spread: float) -> Tastes:
    def pdf(x: np.ndarray) -> np.ndarray:
        e = special.expit((x - 0.5) / spread)
        return e * (1.0 - e) / spread

    return Tastes(lambda x: special.expit((x - 0.5) / spread), pdf)


#: Taste distributions by name: uniform on [0, 1], or normal/logistic centred on 0.5 with a spread.
TASTES: dict[str, Callable[[float], Tastes]] = {"uniform": _uniform, "normal": _normal, "logistic": _logistic}

Side = Literal["users", "merchants"]


class NoCriticalMass(ParameterError):
    """The market has no interior saddle, so there is no critical-mass frontier; the message says why."""


def uniform_saddle(b_users: float, b_merchants: float, p_users: float, p_merchants: float) -> tuple[float, float]:
    """The closed-form interior equilibrium with uniform tastes (Evans & Schmalensee).

    Examples
    --------
    >>> uniform_saddle(2.0, 1.5, 0.3, 0.2)
    (0.35, 0.325)
    """
    u = (p_users + b_users * p_merchants) / (b_users * b_merchants - 1.0)
    return u, b_merchants * u - p_merchants


@dataclass(frozen=True)
class TwoSidedMarket:
    """Two-sided adoption with cross-side network effects (mean field).

    Parameters
    ----------
    b_users, b_merchants : float
        Cross-side benefits: what a user gains from all merchants accepting (b_users), what a merchant gains
        from all users paying (b_merchants), in units of the taste range.
    p_users, p_merchants : float
        Effective prices; negative for a subsidy or red-packet cash.
    l_users, l_merchants : float, default 1
        Adjustment speeds (per unit of time).
    tastes : {"uniform", "normal", "logistic"}, default "uniform"
        Distribution of adoption costs on both sides.
    taste_spread : float, default 0.2
        Scale of the normal or logistic tastes (centred on 0.5).

    Examples
    --------
    >>> market = TwoSidedMarket(b_users=2.0, b_merchants=1.5, p_users=0.3, p_merchants=0.2)
    >>> [round(x, 3) for x in market.saddle()]
    [0.35, 0.325]
    >>> bool(market.tips(0.5, 0.5)), bool(market.tips(0.2, 0.2))
    (True, False)
    """

    b_users: float
    b_merchants: float
    p_users: float
    p_merchants: float
    l_users: float = 1.0
    l_merchants: float = 1.0
    tastes: str = "uniform"
    taste_spread: float = 0.2

    def __post_init__(self) -> None:
        for name in ("b_users", "b_merchants", "p_users", "p_merchants", "l_users", "l_merchants", "taste_spread"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.floating | np.integer) or not np.isfinite(value):
                raise ParameterError(f"{name}: expected a finite number, got {value!r}")
        for name in ("b_users", "b_merchants"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name}: expected a cross-side benefit >= 0, got {getattr(self, name)}")
        for name in ("l_users", "l_merchants", "taste_spread"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"{name}: expected a positive number, got {getattr(self, name)}")
        if self.tastes not in TASTES:
            raise ParameterError(f"tastes: expected one of {sorted(TASTES)}, got {self.tastes!r}")

    # ------------------------------------------------------------------ dynamics
    @functools.cached_property
    def _taste(self) -> Tastes:
        """The tastes' functions, made once per market (the flow is evaluated a few hundred thousand times by
        the ODE solver for one policy search)."""
        return TASTES[self.tastes](self.taste_spread)

    def replace(self, **changes: float | str) -> TwoSidedMarket:
        """A copy with some parameters changed (e.g. a subsidy: ``market.replace(p_users=-0.1)``)."""
        return dataclasses.replace(self, **changes)

    def flow(self, u: np.ndarray | float, m: np.ndarray | float, shift_users: float = 0.0,
             shift_merchants: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The vector field (du/dt, dm/dt); the shifts lower the prices (a temporary subsidy).

        Examples
        --------
        >>> market = TwoSidedMarket(b_users=2.0, b_merchants=2.0, p_users=1.0, p_merchants=1.0)
        >>> du, dm = market.flow(np.array([0.0, 1.0]), 0.5)
        >>> du.round(3).tolist(), dm.round(3).tolist()
        ([0.0, -1.0], [-0.5, 0.5])
        """
        du, dm = self.velocity(np.array(np.broadcast_arrays(u, m), dtype=float), shift_users, shift_merchants)
        return du, dm

    def velocity(self, y: np.ndarray, shift_users: float = 0.0, shift_merchants: float = 0.0) -> np.ndarray:
        """:meth:`flow` with the state as one array ``y = (u, m)`` along its first axis, and the velocity
        ``(du/dt, dm/dt)`` returned alike: the form an ODE solver's right-hand side takes (one evaluation of
        the tastes for both sides).

        Examples
        --------
        >>> TwoSidedMarket(b_users=2.0, b_merchants=2.0, p_users=1.0, p_merchants=1.0).velocity(np.array([1.0, 0.5]))
        array([-1. ,  0.5])
        """
        y = np.asarray(y, dtype=float)
        pull = np.array([self.b_users * y[1] - self.p_users + shift_users,
                         self.b_merchants * y[0] - self.p_merchants + shift_merchants])
        rates = self._rates.reshape((2,) + (1,) * (y.ndim - 1))
        return rates * (self._taste.cdf(pull) - y)

    def _velocity(self, _t: float, y: np.ndarray, shift_users: float = 0.0, shift_merchants: float = 0.0
                  ) -> np.ndarray:
        """:meth:`velocity` as the ODE solvers call it (time first: ``solve_ivp``, ``odeint(..., tfirst=True)``)."""
        return self.velocity(y, shift_users, shift_merchants)

    @functools.cached_property
    def _rates(self) -> np.ndarray:
        return np.array([self.l_users, self.l_merchants])

    def jacobian(self, u: float, m: float) -> np.ndarray:
        """Jacobian of the flow at (u, m)."""
        f = self._taste.pdf
        return np.array([
            [-self.l_users, self.l_users * self.b_users * f(self.b_users * m - self.p_users)],
            [self.l_merchants * self.b_merchants * f(self.b_merchants * u - self.p_merchants), -self.l_merchants],
        ])

    # -------------------------------------------------------------- equilibria
    def equilibria(self) -> pd.DataFrame:
        """Every equilibrium in the unit square with its stability.

        Equilibria solve u = F_u(b_u F_m(b_m u - p_m) - p_u), a one-dimensional root search on [0, 1]
        (grid sign changes refined by Brent's method). Stability comes from the Jacobian's eigenvalues:
        ``stable`` (both negative), ``saddle`` (one of each sign) or ``unstable``.

        Returns
        -------
        DataFrame with columns users, merchants, kind, eigenvalue_1, eigenvalue_2 (sorted by users).
        """
        return self._equilibria.copy()

    @functools.cached_property
    def _equilibria(self) -> pd.DataFrame:
        """The equilibria, found once per market (the parameters are frozen); read-only inside the class."""
        F = self._taste.cdf

        def gap(u: float | np.ndarray) -> float | np.ndarray:
            return F(self.b_users * F(self.b_merchants * u - self.p_merchants) - self.p_users) - u

        grid = np.linspace(0.0, 1.0, 2001)
        values = gap(grid)
        roots = [float(x) for x, v in zip(grid[[0, -1]], values[[0, -1]], strict=True) if abs(v) < 1e-13]
        for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
            roots.append(optimize.brentq(gap, grid[i], grid[i + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps))
        roots += [float(x) for x in grid[1:-1][values[1:-1] == 0.0]]
        roots = sorted(set(np.round(roots, 15)))
        rows = []
        for u in roots:
            m = float(F(self.b_merchants * u - self.p_merchants))
            eig = np.sort(np.linalg.eigvals(self.jacobian(u, m)).real)
            kind = "stable" if eig[1] < 0 else ("saddle" if eig[0] < 0 < eig[1] else "unstable")
            rows.append({"users": float(u), "merchants": m, "kind": kind,
                         "eigenvalue_1": float(eig[0]), "eigenvalue_2": float(eig[1])})
        return pd.DataFrame(rows, columns=["users", "merchants", "kind", "eigenvalue_1", "eigenvalue_2"])

    def is_stable(self, u: float, m: float, tol: float = 1e-9) -> bool:
        """Whether (u, m) is a stable equilibrium."""
        eq = self._equilibria
        near = (eq["users"] - u).abs().lt(tol) & (eq["merchants"] - m).abs().lt(tol)
        return bool((near & eq["kind"].eq("stable")).any())

    def saddle(self) -> tuple[float, float]:
        """The interior saddle (the critical mass), or :class:`NoCriticalMass` saying why there is none.

        Examples
        --------
        >>> TwoSidedMarket(2.0, 1.5, 0.3, 0.2).saddle()[0]
        0.35
        """
        eq = self._equilibria
        interior = eq[(eq["kind"] == "saddle") & eq["users"].between(0, 1, inclusive="neither")
                      & eq["merchants"].between(0, 1, inclusive="neither")]
        if len(interior):
            row = interior.iloc[0]
            return float(row["users"]), float(row["merchants"])
        raise NoCriticalMass(self._why_no_saddle(eq))

    def _why_no_saddle(self, eq: pd.DataFrame) -> str:
        stable = eq[eq["kind"] == "stable"]
        product = self.b_users * self.b_merchants
        if self.tastes == "uniform" and product <= 1:
            return (f"no interior saddle: cross-side benefits too weak (b_users * b_merchants = {product:g} <= 1), "
                    "so adoption settles at one equilibrium without a tipping point")
        if len(stable) and stable["users"].min() > 1e-9:
            return ("no interior saddle: zero adoption is not an equilibrium at these prices (a subsidy or "
                    "negative price makes some adopt at once), so the market takes off from any start")
        if len(stable) and stable["users"].max() < 1e-9:
            return ("no interior saddle: prices too high for the cross-side benefits (b - p), so even full "
                    "adoption on the other side does not keep this side; the market never takes off")
        return "no interior saddle: the equilibria are " + ", ".join(
            f"({r.users:.3g}, {r.merchants:.3g}) {r.kind}" for r in eq.itertuples())

    def stable_equilibria(self) -> pd.DataFrame:
        """The stable equilibria (low to high)."""
        eq = self._equilibria
        return eq[eq["kind"] == "stable"].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        """Equilibria, the saddle (or why there is none) and the stability of (0, 0) and (1, 1), as plain data.

        Examples
        --------
        >>> TwoSidedMarket(2.0, 1.5, 0.3, 0.2).summary()["saddle_users"]
        0.35
        """
        eq = self._equilibria
        try:
            saddle: tuple[float, float] | None = self.saddle()
            reason = None
        except NoCriticalMass as err:
            saddle, reason = None, str(err)
        return {
            "equilibria": [{"users": float(r.users), "merchants": float(r.merchants), "kind": r.kind,
                            "eigenvalues": [float(r.eigenvalue_1), float(r.eigenvalue_2)]} for r in eq.itertuples()],
            "saddle_users": None if saddle is None else saddle[0],
            "saddle_merchants": None if saddle is None else saddle[1],
            "zero_stable": self.is_stable(0.0, 0.0),
            "full_stable": self.is_stable(1.0, 1.0),
            "no_saddle_reason": reason,
        }

    def to_dict(self, frontier_points: int = 0) -> dict[str, object]:
        """The parameters and :meth:`summary` as JSON-ready data, with ``frontier_points`` points of the
        critical-mass frontier when there is a saddle.

        Examples
        --------
        >>> out = TwoSidedMarket(2.0, 1.5, 0.3, 0.2).to_dict(frontier_points=3)
        >>> out["parameters"]["b_users"], len(out["frontier"])
        (2.0, 3)
        """
        out: dict[str, object] = {
            "parameters": {f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
            **self.summary(),
        }
        if out["no_saddle_reason"] is None and frontier_points:
            out["frontier"] = self.frontier(frontier_points).round(6).to_dict(orient="records")
        return out

    # ---------------------------------------------------------- trajectories
    def trajectory(self, u0: float, m0: float, t_max: float = 50.0, n_points: int = 201,
                   subsidy_users: float = 0.0, subsidy_merchants: float = 0.0,
                   subsidy_until: float = 0.0) -> pd.DataFrame:
        """Adoption over time from (u0, m0), optionally with a temporary subsidy (a price cut until a time).

        Returns
        -------
        DataFrame with columns t, users, merchants.

        Examples
        --------
        >>> path = TwoSidedMarket(2.0, 1.5, 0.3, 0.2).trajectory(0.6, 0.6, t_max=20)
        >>> round(float(path["users"].iloc[-1]), 3)
        1.0
        """
        check_share("u0", u0)
        check_share("m0", m0)
        t_eval = np.linspace(0.0, t_max, n_points)
        pieces = [(0.0, min(subsidy_until, t_max), subsidy_users, subsidy_merchants),
                  (min(subsidy_until, t_max), t_max, 0.0, 0.0)]
        ts, ys, y = [], [], np.array([u0, m0], dtype=float)
        for t0, t1, su, sm in pieces:
            if t1 <= t0:
                continue
            # the piece's points with its two ends (LSODA, stepping in compiled code: the explicit Runge-Kutta
            # steps of solve_ivp, each a Python call, took most of a policy comparison's time)
            at = np.unique(np.r_[t0, t_eval[(t_eval >= t0) & (t_eval <= t1)], t1])
            path = odeint(self._velocity, y, at, args=(su, sm), rtol=1e-9, atol=1e-12, tfirst=True, mxstep=100_000)
            inside = np.isin(at, t_eval)
            ts.append(at[inside])
            ys.append(path[inside].T)
            y = path[-1]
        t = np.concatenate(ts)
        yy = np.concatenate(ys, axis=1)
        _, keep = np.unique(t, return_index=True)
        return pd.DataFrame({"t": t[keep], "users": yy[0, keep], "merchants": yy[1, keep]})

    def tips(self, u0: float, m0: float, t_max: float = 200.0, subsidy_users: float = 0.0,
             subsidy_merchants: float = 0.0, subsidy_until: float = 0.0) -> bool:
        """Whether the path from (u0, m0) ends at the highest stable equilibrium (not the lowest).

        The path is followed (after any subsidy ends) to ``t_max``; it tips when it ends nearer the highest
        stable equilibrium than the lowest. (It was stopped once it came within a quarter of the distance
        between equilibria of a stable one: on a knife-edge market, whose stable points only the square's
        edges hold, a path leaving the top corner's neighbourhood for the bottom one was stopped on its way
        out and counted as tipping.)
        """
        eq = self._equilibria
        stable = eq[eq["kind"] == "stable"]
        if len(stable) <= 1:
            return bool(len(stable) == 1 and stable["users"].iloc[0] > 0.5)
        y = np.array([u0, m0], dtype=float)
        if subsidy_until > 0:
            path = self.trajectory(u0, m0, min(subsidy_until, t_max), n_points=2, subsidy_users=subsidy_users,
                                   subsidy_merchants=subsidy_merchants, subsidy_until=subsidy_until)
            y = path[["users", "merchants"]].to_numpy()[-1]
        # (LSODA, stepping in compiled code; solve_ivp's Runge-Kutta steps, each a Python call, took most of the
        # time of a policy's bisections)
        end = odeint(self._velocity, y, [0.0, t_max], rtol=1e-9, atol=1e-12, tfirst=True, mxstep=100_000)[-1]
        hi, lo = eq.loc[eq["kind"] == "stable", ["users", "merchants"]].to_numpy()[[-1, 0]]
        return bool(np.hypot(*(end - hi)) < np.hypot(*(end - lo)))

    def time_to_tip(self, u0: float, m0: float, level: float = 0.5, t_max: float = 200.0, **subsidy: float) -> float:
        """Time until both shares first reach ``level`` (inf if they never do within ``t_max``)."""
        path = self.trajectory(u0, m0, t_max, n_points=4001, **subsidy)
        reached = np.flatnonzero((path["users"] >= level) & (path["merchants"] >= level))
        return float(path["t"].iloc[reached[0]]) if len(reached) else float("inf")

    def frontier(self, n_points: int = 200) -> pd.DataFrame:
        """The critical-mass frontier: the saddle's stable manifold inside the unit square.

        Computed by integrating the reversed flow from just off the saddle along its stable eigenvector,
        in both directions, until the curve leaves the square.

        Returns
        -------
        DataFrame with columns users, merchants, ordered by merchants.
        """
        u_s, m_s = self.saddle()
        w, v = np.linalg.eig(self.jacobian(u_s, m_s))
        direction = np.real(v[:, int(np.argmin(w.real))])
        direction /= np.hypot(*direction)
        halves = []
        scale = 1.0 / min(self.l_users, self.l_merchants)

        def leave(_t: float, y: np.ndarray) -> float:
            return min(y[0], y[1], 1.0 - y[0], 1.0 - y[1]) + 1e-9

        leave.terminal = True  # type: ignore[attr-defined]
        for sign in (1.0, -1.0):
            start = np.array([u_s, m_s]) + sign * 1e-7 * direction
            sol = solve_ivp(lambda t, y: -self._velocity(t, y), (0.0, 60.0 * scale), start,
                            events=leave, rtol=1e-10, atol=1e-12, dense_output=True)
            t = np.linspace(0.0, sol.t[-1], 400)
            halves.append(np.clip(sol.sol(t), 0.0, 1.0))
        pts = np.concatenate([halves[0][:, ::-1], halves[1][:, 1:]], axis=1)
        # resample evenly along the curve's length
        arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=1)))]
        at = np.linspace(0.0, arc[-1], max(n_points, 2))
        out = pd.DataFrame({"users": np.interp(at, arc, pts[0]), "merchants": np.interp(at, arc, pts[1])})
        return out.sort_values("merchants", kind="stable").reset_index(drop=True)


def check_share(name: str, value: float) -> None:
    """Refuse a share outside [0, 1], naming the parameter."""
    if not (0.0 <= float(value) <= 1.0):
        raise ParameterError(f"{name}: expected a share between 0 and 1, got {value}")


# --------------------------------------------------------------------------- phase diagram
def phase_diagram(market: TwoSidedMarket, x: str, x_values: Sequence[float], y: str,
                  y_values: Sequence[float]) -> pd.DataFrame:
    """Classify the market over a grid of two parameters.

    ``regime`` is ``takes off`` (one stable equilibrium, with at least half the users adopting),
    ``critical mass`` (a low and a high equilibrium are both stable: a tipping point in between), or
    ``stalls`` (one stable equilibrium with less than half the users, often none). ``saddle_users``/``saddle_merchants`` locate the critical mass where there is one.

    Examples
    --------
    >>> m = TwoSidedMarket(2.0, 1.5, 0.3, 0.2)
    >>> grid = phase_diagram(m, "p_users", [-0.2, 0.3, 1.5], "b_users", [2.0])
    >>> grid["regime"].tolist()
    ['takes off', 'critical mass', 'stalls']
    """
    for name in (x, y):
        if name not in {f.name for f in dataclasses.fields(TwoSidedMarket)} or name == "tastes":
            raise ParameterError(f"phase_diagram: {name!r} is not a numeric TwoSidedMarket parameter")
    rows = []
    for yv in y_values:
        for xv in x_values:
            m = market.replace(**{x: float(xv), y: float(yv)})
            stable = m.stable_equilibria()
            high = stable["users"].max() if len(stable) else np.nan
            if len(stable) >= 2:
                regime = "critical mass"
            elif len(stable) == 1 and high >= 0.5:
                regime = "takes off"
            else:
                regime = "stalls"
            try:
                su, sm = m.saddle()
            except NoCriticalMass:
                su = sm = np.nan
            rows.append({x: float(xv), y: float(yv), "regime": regime, "high_users": high,
                         "saddle_users": su, "saddle_merchants": sm})
    return pd.DataFrame(rows)
