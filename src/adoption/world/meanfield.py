"""Mean field versus network: the simulator's dynamics without the graph, and where the graph matters.

For scenarios whose only social channel is transfers between friends (no red packets), with homogeneous
users (no homophily, one city, nobody joins or leaves during the period), the simulator's expected
dynamics can be written without the graph: money reaches a uniformly random user, and the shares evolve as

- merchants: hazard ``merchant_base_hazard + merchant_user_effect * u`` (plus any subsidy);
- organic activation: hazard ``organic_hazard * (1 + user_merchant_effect * m)``;
- receipts: active users transfer at ``transfer_rate`` per day (festival multipliers included), and half of
  new activations make a transfer as their first action; a transfer reaches a user never reached before
  with probability equal to that share;
- receipt-driven activation: at the first receipt a delay is drawn from the Weibull the simulator
  calibrates to ``target_activation_90d``, competing with the organic hazard.

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

from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator
from adoption.world.calendar import daily_multipliers
from adoption.world.graph import SocialGraph
from adoption.world.scenario import Scenario

__all__ = ["MEAN_FIELD_SETTINGS", "compare_paths", "mean_field_path", "mean_field_scenario", "well_mixed_graph"]

#: The settings under which the simulator has a mean field (checked by :func:`mean_field_path`).
MEAN_FIELD_SETTINGS: dict[str, object] = {
    "red_packets": False,
    "campaigns": False,
    "homophily": 0.0,
    "urban_factor": 1.0,
    "joined_before_share": 1.0,
    "leave_hazard": 0.0,
    "n_cities": 1,
}


def mean_field_scenario(**overrides: object) -> Scenario:
    """A scenario with a mean field: transfers as the social channel, homogeneous users, one city.

    Defaults: 2014 only, transfers at 0.03 per active user per day, 1% paying at the start; every other
    parameter as in the default scenario. ``overrides`` change any parameter (within
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
    mult = daily_multipliers(s)["transfers"].to_numpy()
    subsidy = (s.day_of(s.subsidy_start), s.day_of(s.subsidy_end) + 1)
    k = s.activation_shape
    active, merchants = (s.initial_active_share, s.initial_merchant_share) if start is None else start
    unreached = 1.0 - active  # never reached and not active
    cohorts = np.zeros(n_days + 1)  # mass reached on day d while not active, still not active
    scales = np.ones(n_days + 1)  # the Weibull scale drawn for each cohort
    out = np.zeros((n_days + 1, 3))
    days = np.arange(n_days + 1)
    for day in range(n_days):
        out[day] = (active, 1.0 - unreached, merchants)
        # merchants (hazard from today's active share)
        h_m = s.merchant_base_hazard + s.merchant_user_effect * active
        if subsidy[0] <= day < subsidy[1]:
            h_m += s.merchant_subsidy_hazard
        new_merchants = (1.0 - merchants) * -np.expm1(-h_m)
        # organic hazard today, for everyone not active
        h_org = s.organic_hazard * (1.0 + s.user_merchant_effect * merchants)
        q_org = -np.expm1(-h_org)
        # receipt-driven activations due today, by cohort (receipts taken at mid-day)
        past = slice(0, day)
        age = day - days[past] - 0.5
        surv_now = np.exp(-((age / scales[past]) ** k))
        surv_next = np.exp(-(((age + 1.0) / scales[past]) ** k))
        due_share = 1.0 - surv_next / np.maximum(surv_now, 1e-300)
        if day >= 1:  # yesterday's cohort: every delay ending before tomorrow's start lands today
            due_share[-1] = 1.0 - surv_next[-1]
        stay = (1.0 - q_org) * (1.0 - due_share)
        activated = float(np.sum(cohorts[past] * (1.0 - stay))) + unreached * q_org
        cohorts[past] *= stay
        unreached *= 1.0 - q_org
        # receipts today: routine transfers by yesterday's active users, first-action transfers
        first_action_transfer = 0.5 if merchants > 0 else 1.0
        per_user = s.transfer_rate * mult[day] * active + first_action_transfer * activated
        newly = unreached * -np.expm1(-per_user)
        unreached -= newly
        cohorts[day] = newly
        org_90 = np.exp(-90.0 * s.organic_hazard * (1.0 + s.user_merchant_effect * merchants))
        f = np.clip(1.0 - (1.0 - s.target_activation_90d) / org_90, 1e-6, 1 - 1e-9)
        scales[day] = 90.0 / (-np.log1p(-f)) ** (1.0 / k)
        active += activated
        merchants += new_merchants
    out[n_days] = (active, 1.0 - unreached, merchants)
    return pd.DataFrame(out, columns=["users_active", "users_reached", "merchants_accepting"],
                        index=pd.Index(days, name="day"))


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
