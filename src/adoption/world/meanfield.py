"""Mean field versus network: the simulator's dynamics without the graph, and where the graph matters.

For scenarios whose only social channel is transfers between friends (no red packets), with homogeneous
users and merchants (one cost each, no paying-friend value, one city, nobody joins or leaves, no holdout),
the simulator's expected dynamics can be written without the graph. Money reaches a uniformly random
user, and the state is the share of users by *money waiting in their wallet* (a grid of amounts, 0 for
users never reached) plus the shares of active users and accepting merchants:

- merchants adopt at ``merchant_rate * sigmoid(merchant_benefit * u + subsidy - merchant_cost_mean)``;
- a user with ``x`` cents waiting activates at ``adoption_rate * sigmoid(value_money * log(1 + x / 100)
  + value_merchants * m + value_festival * log(festival multiplier) - cost_mean)`` (as in
  :mod:`adoption.world.value`);
- receipts: active users transfer at ``transfer_rate`` per day (festival multipliers included), and half of
  new activations make a transfer as their first action (all of them while no merchant accepts); a
  receipt adds a lognormal amount to the receiver's money, moving them up the grid.

:func:`mean_field_path` steps those equations by day. On a well-mixed graph (:func:`well_mixed_graph`) the
simulator follows it; on a clustered graph money keeps landing on friends who already have it, so the
network is slower than the mean field.

Examples
--------
>>> path = mean_field_path(mean_field_scenario(end="2014-06-30"))
>>> bool(path["users_active"].is_monotonic_increasing)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator
from adoption.world.calendar import daily_multipliers
from adoption.world.graph import SocialGraph
from adoption.world.mechanisms import FIRST_ACTION_PAYMENT_SHARE, MAX_TRANSFER_MEDIANS
from adoption.world.scenario import Scenario

__all__ = ["MEAN_FIELD_SETTINGS", "compare_paths", "mean_field_path", "mean_field_scenario", "well_mixed_graph"]

#: The settings under which the simulator has a mean field (checked by :func:`mean_field_path`).
MEAN_FIELD_SETTINGS: dict[str, object] = {
    "red_packets": False,
    "campaigns": False,
    "cost_sd": 0.0,
    "cost_degree_effect": 0.0,
    "cost_rural": 0.0,
    "engagement_cost_effect": 0.0,
    "value_paying_friends": 0.0,
    "merchant_cost_sd": 0.0,
    "holdout_share": 0.0,
    "joined_before_share": 1.0,
    "leave_hazard": 0.0,
    "n_cities": 1,
}
#: The grid of money waiting (cents), log-spaced, for the mean field's state; 0 (never reached) is apart.
MONEY_GRID = np.geomspace(1.0, 1e9, 181)
#: Quantile points of one transfer's amount used to move mass up the grid.
AMOUNT_POINTS = 101


def mean_field_scenario(**overrides: object) -> Scenario:
    """A scenario with a mean field: transfers as the social channel, homogeneous users, one city.

    Defaults: 2014 only, transfers at 0.03 per active user per day, 1% paying at the start, and the
    homogeneous settings of :data:`MEAN_FIELD_SETTINGS`; every other parameter as in the default scenario. ``overrides`` change any parameter (within
    :data:`MEAN_FIELD_SETTINGS` the mean field stays valid only with the listed values).

    Examples
    --------
    >>> mean_field_scenario(transfer_rate=0.05).transfer_rate
    0.05
    """
    base: dict[str, object] = {**MEAN_FIELD_SETTINGS, "end": "2014-12-31", "transfer_rate": 0.03,
                               "initial_active_share": 0.01}
    return Scenario(**{**base, **overrides})


def well_mixed_graph(n_users: int, degree: int = 100, seed: SeedLike = None) -> SocialGraph:
    """A graph with no structure: every user has about ``degree`` friends drawn uniformly from everyone.

    Stubs are paired at random (a configuration model with equal degrees; the rare self-loops and
    repeated pairs are dropped), so there are no communities, no clustering and no degree heterogeneity.

    Examples
    --------
    >>> g = well_mixed_graph(1000, degree=20, seed=1)
    >>> bool(abs(g.degree.mean() - 20) < 0.5), bool(g.clustering() < 0.05)
    (True, True)
    """
    if n_users < 2:
        raise ParameterError(f"n_users: expected at least 2 users, got {n_users}")
    if not 1 <= degree < n_users:
        raise ParameterError(f"degree: expected 1 <= degree < n_users, got {degree}")
    rng = as_generator(seed)
    stubs = rng.permutation(np.repeat(np.arange(n_users, dtype=np.int64), degree))
    if len(stubs) % 2:
        stubs = stubs[:-1]
    return SocialGraph.from_edges(stubs.reshape(-1, 2), n_users)


def _check_mean_field(s: Scenario) -> None:
    for name, value in MEAN_FIELD_SETTINGS.items():
        if getattr(s, name) != value:
            raise ParameterError(f"scenario.{name}: the mean field needs {name}={value!r} "
                                 f"(got {getattr(s, name)!r}); see adoption.world.meanfield.MEAN_FIELD_SETTINGS")


def mean_field_path(scenario: Scenario, start: tuple[float, float] | None = None) -> pd.DataFrame:
    """The simulator's mean field, stepped by day (see the module docstring for the equations).

    Parameters
    ----------
    scenario : Scenario
        A scenario within :data:`MEAN_FIELD_SETTINGS`.
    start : (float, float), optional
        Shares of users active and merchants accepting at day 0 (default: the scenario's initial shares;
        pass a simulation's realized start to compare paths without the noise of the initial draw).

    Returns
    -------
    DataFrame indexed by day number with ``users_active``, ``users_reached`` and ``merchants_accepting``
    at the start of each day, like :func:`adoption.world.simulate.simulate_states`.
    """
    s = scenario
    _check_mean_field(s)
    n_days = s.n_days
    days_table = daily_multipliers(s)
    mult = days_table["transfers"].to_numpy()
    festival = np.log(np.maximum(days_table["packets"].to_numpy(dtype=float), 1.0))
    subsidy = (s.day_of(s.subsidy_start), s.day_of(s.subsidy_end) + 1)
    # one transfer's amount at quantile points (lognormal, whole cents, capped as the simulator caps it)
    q = (np.arange(AMOUNT_POINTS) + 0.5) / AMOUNT_POINTS
    high = min(MAX_TRANSFER_MEDIANS * s.transfer_amount_median_cents, 2**31 - 1)
    amount = np.clip(np.round(np.exp(np.log(s.transfer_amount_median_cents) + s.amount_sigma * norm.ppf(q))), 1, high)
    grid = MONEY_GRID
    first_bin = np.bincount(_bin(amount), minlength=len(grid)) / AMOUNT_POINTS
    moved = np.zeros((len(grid), len(grid)))  # row: from, column: to, after one more receipt
    for b, x in enumerate(grid):
        moved[b] = np.bincount(_bin(x + amount), minlength=len(grid)) / AMOUNT_POINTS
    money_value = s.value_money * np.log1p(grid / 100.0)

    active, merchants = (s.initial_active_share, s.initial_merchant_share) if start is None else start
    unreached = 1.0 - active  # never reached and not active
    waiting = np.zeros(len(grid))  # reached, not active, by money waiting
    out = np.zeros((n_days + 1, 3))
    for day in range(n_days):
        out[day] = (active, 1.0 - unreached, merchants)
        # merchants (value from today's active share)
        m_value = s.merchant_benefit * active + (s.merchant_subsidy if subsidy[0] <= day < subsidy[1] else 0.0)
        new_merchants = (1.0 - merchants) * -np.expm1(-s.merchant_rate * expit(m_value - s.merchant_cost_mean))
        # users: the hazard of value against cost, for the unreached and for each amount waiting
        context = s.value_merchants * merchants + s.value_festival * festival[day] - s.cost_mean
        q0 = -np.expm1(-s.adoption_rate * expit(context))
        qb = -np.expm1(-s.adoption_rate * expit(money_value + context))
        activated = unreached * q0 + float(waiting @ qb)
        unreached *= 1.0 - q0
        waiting *= 1.0 - qb
        # receipts today: routine transfers by yesterday's active users, first-action transfers
        first_action_transfer = 1.0 - FIRST_ACTION_PAYMENT_SHARE if merchants > 0 else 1.0
        per_user = s.transfer_rate * mult[day] * active + first_action_transfer * activated
        p_receive = -np.expm1(-per_user)
        newly = unreached * p_receive
        unreached -= newly
        # money received today raises the hazard from tomorrow (as in the simulator)
        waiting = waiting * (1.0 - p_receive) + p_receive * (waiting @ moved) + newly * first_bin
        active += activated
        merchants += new_merchants
    out[n_days] = (active, 1.0 - unreached, merchants)
    return pd.DataFrame(out, columns=["users_active", "users_reached", "merchants_accepting"],
                        index=pd.Index(np.arange(n_days + 1), name="day"))


def _bin(cents: np.ndarray) -> np.ndarray:
    """The index of the money-grid point nearest (in log) to each amount."""
    logs = np.log(np.maximum(cents, 1.0))
    edges = np.log(MONEY_GRID)
    idx = np.searchsorted(edges, logs)
    idx = np.clip(idx, 1, len(edges) - 1)
    nearer_low = logs - edges[idx - 1] < edges[idx] - logs
    return np.where(nearer_low, idx - 1, idx)


def compare_paths(paths: dict[str, pd.DataFrame], reference: str,
                  columns: tuple[str, ...] = ("users_active", "merchants_accepting")) -> pd.DataFrame:
    """Largest and mean absolute gaps of each path from the ``reference`` path, per column.

    Examples
    --------
    >>> a = pd.DataFrame({"users_active": [0.0, 0.5], "merchants_accepting": [0.0, 0.2]})
    >>> compare_paths({"mf": a, "sim": a + 0.1}, "mf")["max_gap"].round(3).tolist()
    [0.1, 0.1]
    """
    if reference not in paths:
        raise ParameterError(f"reference: {reference!r} is not one of the paths {sorted(paths)}")
    ref = paths[reference]
    rows = []
    for name, path in paths.items():
        if name == reference:
            continue
        n = min(len(path), len(ref))
        for col in columns:
            gap = np.abs(path[col].to_numpy()[:n] - ref[col].to_numpy()[:n])
            rows.append({"path": name, "column": col, "max_gap": float(gap.max()), "mean_gap": float(gap.mean()),
                         "final": float(path[col].to_numpy()[n - 1]), "reference_final": float(ref[col].to_numpy()[n - 1])})
    return pd.DataFrame(rows)
