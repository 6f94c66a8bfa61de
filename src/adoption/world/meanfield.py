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

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import expit, pdtrc
from scipy.stats import norm

from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator
from adoption.world.calendar import daily_multipliers
from adoption.world.graph import SocialGraph
from adoption.world.mechanisms import (
    FIRST_ACTION_PACKET_SHARE,
    FIRST_ACTION_PAYMENT_SHARE,
    MAX_TRANSFER_MEDIANS,
)
from adoption.world.scenario import Scenario

__all__ = ["MEAN_FIELD_SETTINGS", "TIP_SHARE", "WorldMeanField", "compare_paths", "mean_field_path", "mean_field_scenario",
           "well_mixed_graph"]

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
    amount = _amount_points(s.transfer_amount_median_cents, s.amount_sigma,
                            min(MAX_TRANSFER_MEDIANS * s.transfer_amount_median_cents, 2**31 - 1))
    grid = MONEY_GRID
    first_bin = np.bincount(_bin(amount), minlength=len(grid)) / AMOUNT_POINTS
    moved = _move_matrix(amount, grid, _bin)  # row: from, column: to, after one more receipt
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


def _nearest(cents: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The index of the point of ``points`` (positive, increasing) nearest in log to each amount."""
    logs = np.log(np.maximum(cents, 1.0))
    edges = np.log(points)
    idx = np.clip(np.searchsorted(edges, logs), 1, len(edges) - 1)
    nearer_low = logs - edges[idx - 1] < edges[idx] - logs
    return np.where(nearer_low, idx - 1, idx)


def _bin(cents: np.ndarray) -> np.ndarray:
    """The index of the :data:`MONEY_GRID` point nearest (in log) to each amount."""
    return _nearest(cents, MONEY_GRID)


def _move_matrix(amount: np.ndarray, grid: np.ndarray, to_bin: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Row: money before one receipt (a point of ``grid``); column: the bin after it, for amounts drawn from
    ``amount`` (equally likely quantile points)."""
    moved = np.zeros((len(grid), len(grid)))
    for b, x in enumerate(grid):
        moved[b] = np.bincount(to_bin(x + amount), minlength=len(grid)) / len(amount)
    return moved


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


# --------------------------------------------------------------------------------------------------------
# The mean field of any scenario: the same value, cost and money flows, without the graph
# --------------------------------------------------------------------------------------------------------

#: Money grid of :class:`WorldMeanField` (cents; bin 0 is an empty wallet), log-spaced above a cent.
WORLD_MONEY_GRID = np.r_[0.0, np.geomspace(1.0, 1e8, 96)]
#: Extra log-spread of one share of a lucky-money split beyond the packet's amount (an approximation of
#: :func:`adoption.world.redpacket.split_lucky`'s spread).
LUCKY_SHARE_SIGMA = 0.6
#: Share of all users active at the end that counts as having tipped (half the users pay).
TIP_SHARE = 0.5
#: The money waiting, by class and grid point, is held in single precision: its shares need far fewer than
#: seven digits, and a day's products over it run about twice as fast (the ends, paths and frontiers move by
#: under 1e-6; benchmarks/README.md).
MONEY_DTYPE = np.float32


class WorldMeanField:
    """The two-sided mean field of a scenario: users and merchants adopting as in the simulator, without the graph.

    Built from the scenario's own parameters and from one draw of its users (a world of up to
    ``sample_users`` users: their costs, friends, groups, holdout and joining days), so the phase portrait,
    the frontier and the smallest push describe the world that is simulated. Users are grouped into classes
    by cost; each class carries a distribution of money waiting in the wallet (a log grid). Each day, as in
    :mod:`adoption.world.engine`:

    - merchants adopt at ``merchant_rate * sigmoid(merchant_benefit * u + subsidy - cost)`` over their cost
      distribution (``u``: share of present users active);
    - a user of cost ``c`` with ``x`` cents waiting activates at ``adoption_rate * sigmoid(value_money *
      log(1 + x/100) + value_paying_friends * E log(1 + paying friends) + value_merchants * m +
      value_festival * log(festival) - c)`` (paying friends binomial: each of the user's friends has been
      active with the share of all users who have);
    - users leave at ``leave_hazard`` (those who left stay counted as having been active, as in
      :func:`~adoption.world.simulate.simulate_states`, but no longer send, receive or count for merchants);
    - money flows in: transfers (``transfer_rate``), red packets sent by active users (``send_rate`` times the
      festival multiplier, the sender's friends and their habit; group packets split into about
      ``mean_shares`` claims among members who open them, one-to-one packets to a friend; gift contagion's
      packets back), and the first actions of new users; each user receives in proportion to their friends
      (transfers, one-to-one packets) and to their group memberships times their chance of opening (group
      packets). The held-out users receive nothing.

    What it cannot see: who is friends with whom. Money and paying friends land on a class at its average
    rate, not on the friends of the users who already have them, and merchant shares are national, not per
    city; on a clustered graph the simulator is slower than this mean field.

    Parameters
    ----------
    scenario : Scenario
    seed : int
        Seed of the draw of users the classes come from.
    sample_users : int
        At most this many users are drawn (the classes need shares, not every user).
    classes : int
        Cost classes of users (quantiles of the drawn costs).
    graph : SocialGraph, optional
        The users to draw (default: a graph generated as the simulator generates it); pass the graph a
        simulation runs on, e.g. :func:`well_mixed_graph`, to compare them.

    Examples
    --------
    >>> mf = WorldMeanField(Scenario.named("no_red_packets", n_users=2000, end="2014-06-30"), seed=1)
    >>> path = mf.path()
    >>> bool(path["users_active"].is_monotonic_increasing), mf.tips() in (True, False)
    (True, True)
    """

    def __init__(self, scenario: Scenario, seed: SeedLike = 0, sample_users: int = 20_000, classes: int = 12,
                 graph: SocialGraph | None = None) -> None:
        from adoption.world.graph import generate_graph
        from adoption.world.state import WorldState

        self.scenario = s = scenario
        rng = as_generator(seed)
        if graph is None:
            n = min(s.n_users, sample_users)
            graph = generate_graph(n, mean_degree=s.mean_degree, n_cities=s.n_cities, seed=rng)
        n = graph.n_users
        w = WorldState(s.replace(n_users=n, push_share=0.0), graph, rng)
        mean_degree = max(float(w.degree.mean()), 1e-9)
        groups = np.diff(w.ug_indptr).astype(float)
        open_prob = expit(w.open_logit)
        group_exposure = groups * open_prob
        self.mean_group_size = float(np.mean(w.g_size)) if len(w.g_size) else 0.0
        # classes: cost quantiles among users who can receive, and among the held out
        label = np.zeros(n, dtype=np.int64)
        parts = []
        for held, k in ((False, classes), (True, max(2, classes // 4))):
            members = np.flatnonzero(w.holdout == held)
            if len(members) == 0:
                continue
            order = members[np.argsort(w.cost[members], kind="stable")]
            for chunk in np.array_split(order, min(k, len(order))):
                label[chunk] = len(parts)
                parts.append(chunk)
        self.n_classes = len(parts)
        self.weight = np.array([len(c) / n for c in parts])
        self.cost = np.array([w.cost[c].mean() for c in parts])
        self.degree = np.array([w.degree[c].mean() for c in parts])
        self.held_out = np.array([bool(w.holdout[c[0]]) for c in parts])
        receives = ~self.held_out
        # who money sent to friends (transfers, one-to-one packets) or into groups lands on: in proportion to
        # friends, and to groups times the chance of opening; the held out absorb their share (refused)
        self.friend_weight = self.degree / mean_degree
        mean_group = max(float(group_exposure.mean()), 1e-12)
        self.group_weight = np.array([group_exposure[c].mean() / mean_group for c in parts])
        self.receives = receives
        self.sociability = np.array([w.sociability[c].mean() for c in parts])
        # paying friends: E log(1 + Binomial(degree, u)) over each class's own degrees, tabulated in u
        self.friends_table = _paying_friends_table([w.degree[c] for c in parts])
        # joining: share of each class present by day
        days = np.arange(s.n_days + 1)
        self.present = np.stack([np.searchsorted(np.sort(w.first_day[c]), days, side="right") / len(c) for c in parts], axis=1)
        self.initial_active = np.array([np.isin(c, w.initial_active).mean() for c in parts])
        self.merchants_per_city = n * s.merchants_per_1000_users / 1000.0 / max(w.n_cities, 1)
        # merchants' costs: quantile points of their normal distribution
        q = (np.arange(15) + 0.5) / 15
        self.merchant_cost = s.merchant_cost_mean + s.merchant_cost_sd * norm.ppf(q)
        # one receipt's amount, by channel: a matrix moving the money grid up by it
        transfer = _amount_points(s.transfer_amount_median_cents, s.amount_sigma,
                                  min(MAX_TRANSFER_MEDIANS * s.transfer_amount_median_cents, 2**31 - 1))
        direct = _amount_points(s.direct_amount_median_cents, s.amount_sigma, 20_000)
        self.claims_per_group_packet = max(min(s.mean_shares, (self.mean_group_size - 1.0) * float(open_prob.mean())), 1.0)
        group = _amount_points(s.group_amount_median_cents / self.claims_per_group_packet,
                               float(np.hypot(s.amount_sigma, LUCKY_SHARE_SIGMA)), 20_000)
        self.moves = np.stack([_move_matrix(a, WORLD_MONEY_GRID, _grid_bin) for a in (transfer, direct, group)])
        self._money_moves = _MoneyMoves(self.moves.astype(MONEY_DTYPE))
        self.money_value = s.value_money * np.log1p(WORLD_MONEY_GRID / 100.0)
        #: the classes that receive money come first (the held out last): ``[:receiving]`` are the ones that move
        self.receiving = int(receives.sum())

    # ---------------------------------------------------------------------------------------- dynamics
    def path(self, start: tuple[float, float] | None = None, push: float | None = None) -> pd.DataFrame:
        """Shares of users active and reached and of merchants accepting at the start of each day.

        Parameters
        ----------
        start : (float, float), optional
            Shares of users active and merchants accepting at day 0 (default: the scenario's).
        push : float, optional
            Share of users given ``push_yuan`` at random before the first day (default: the scenario's
            ``push_share``; a targeted push is treated as random: the mean field has no degree or city).

        Returns
        -------
        DataFrame indexed by day with ``users_active``, ``users_reached``, ``merchants_accepting``, like
        :func:`adoption.world.simulate.simulate_states`.
        """
        u0, m0 = (np.nan, np.nan) if start is None else start
        out = self._run(np.array([u0]), np.array([m0]), np.array([self._push(push)]))[0]
        return pd.DataFrame(out, columns=["users_active", "users_reached", "merchants_accepting"],
                            index=pd.Index(np.arange(self.scenario.n_days + 1), name="day"))

    def _push(self, push: float | None) -> float:
        return self.scenario.push_share if push is None else float(push)

    def final_shares(self, users: np.ndarray, merchants: np.ndarray, pushes: np.ndarray | float = 0.0) -> np.ndarray:
        """Share of users active at the end from each start (``nan``: the scenario's start) and push, in one pass."""
        users, merchants = np.asarray(users, float), np.asarray(merchants, float)
        pushes = np.broadcast_to(np.asarray(pushes, float), users.shape)
        if users.size == 0:  # (a frontier whose grid decided every end)
            return np.zeros(0)
        return self._run(users, merchants, pushes)[:, -1, 0]

    def _run(self, u0: np.ndarray, m0: np.ndarray, pushes: np.ndarray) -> np.ndarray:
        """The dynamics for a batch of starts: array (batch, day, [users active, reached, merchants])."""
        s = self.scenario
        n_days = s.n_days
        table = daily_multipliers(s)
        packets_mult = table["packets"].to_numpy(dtype=float)
        transfers_mult = table["transfers"].to_numpy(dtype=float)
        festival = np.log(np.maximum(packets_mult, 1.0))
        subsidy = (s.day_of(s.subsidy_start), s.day_of(s.subsidy_end) + 1)
        launch = s.day_of(s.red_packet_launch)
        weight = self.weight
        batch = len(u0)
        # per start and class: the active share of the class, and the money waiting of those present, not active
        given = np.isfinite(u0)
        present0 = float(self.present[0] @ weight)
        active = np.where(given[:, None], np.minimum(np.nan_to_num(u0)[:, None] / max(present0, 1e-12), self.present[0]),
                          self.initial_active[None, :])
        merchants_start = np.where(np.isfinite(m0), np.nan_to_num(m0), s.initial_merchant_share)
        money = np.zeros((batch, self.n_classes, len(WORLD_MONEY_GRID)), dtype=MONEY_DTYPE)
        money[:, :, 0] = self.present[0] - active
        if np.any(pushes > 0):
            free = money[:, :, 0] * ~self.held_out
            share = np.minimum(pushes / np.maximum(free @ weight, 1e-12), 1.0)
            moved = free * share[:, None]
            money[:, :, 0] -= moved
            money[:, :, _grid_bin(np.array([s.push_yuan * 100.0]))[0]] += moved
        merchant_waiting = np.repeat((1.0 - merchants_start)[:, None], len(self.merchant_cost), axis=1)
        staying = np.exp(-s.leave_hazard)  # users leave at this daily rate; the active still count as active
        active_present = active.copy()
        sent_per_active = np.zeros(batch)
        out = np.zeros((batch, n_days + 1, 3))
        exp_minus_money = np.exp(-self.money_value).astype(MONEY_DTYPE)
        receiving = self.receiving
        # (what does not change from day to day, computed once: a single start's day is mostly the fixed cost
        # of its array operations)
        joined_by_day = np.diff(self.present, axis=0)
        n_merchant_costs = len(self.merchant_cost)
        any_friend = self.friend_weight * self.receives
        group_receiving = self.group_weight * self.receives
        no_packets = np.zeros(batch)
        rates = np.empty((batch, self.n_classes, 3))
        for day in range(n_days):
            present_mass = money.sum(axis=2) + active_present  # per start and class: share of the class present
            present_share = present_mass @ weight
            u_all = active @ weight
            u = (active_present @ weight) / np.maximum(present_share, 1e-12)
            merchants = 1.0 - merchant_waiting.sum(axis=1) / n_merchant_costs  # (the mean, without its wrapper)
            out[:, day, 0] = u_all
            out[:, day, 1] = u_all + money[:, :, 1:].sum(axis=2) @ weight
            out[:, day, 2] = merchants
            # merchants, on the share of present users active
            m_value = s.merchant_benefit * u + (s.merchant_subsidy if subsidy[0] <= day < subsidy[1] else 0.0)
            merchant_waiting *= np.exp(-s.merchant_rate * expit(m_value[:, None] - self.merchant_cost[None, :]))
            joined = joined_by_day[day] if day < len(joined_by_day) else 0.0
            # activations: value against cost, by class and money waiting
            friends_value = (s.value_paying_friends * _interp_rows(u_all, self.friends_table)
                             if s.value_paying_friends else 0.0)
            context = (friends_value + s.value_merchants * merchants[:, None] + s.value_festival * festival[day]
                       - self.cost[None, :])
            q = _activation_chance(s.adoption_rate, exp_minus_money, context.astype(MONEY_DTYPE))
            new = (money * q).sum(axis=2)
            money *= 1.0 - q
            activated = new @ weight
            # money sent today by users active before today (per user, in units of the population)
            senders = (active_present * self.sociability) @ weight
            can_pay = -np.expm1(-self.merchants_per_city * merchants)
            packets_on = s.red_packets and day >= launch
            first_pay = can_pay * FIRST_ACTION_PAYMENT_SHARE
            first_packet = (1.0 - first_pay) * FIRST_ACTION_PACKET_SHARE if packets_on else 0.0
            first_transfer = 1.0 - first_pay - first_packet
            routine_transfers = s.transfer_rate * transfers_mult[day] * senders
            first_transfers = first_transfer * activated
            group_mass = max_present(present_mass, self.group_weight, weight)
            if packets_on:
                habit = 1.0 + s.habit_gain * np.minimum(sent_per_active, s.habit_cap)
                packets = s.send_rate * packets_mult[day] * habit * senders + first_packet * activated
                sent_per_active += packets / np.maximum(active_present @ weight + activated, 1e-12)
                active_receivers = (active_present * self.group_weight) @ weight / group_mass
                contagion = 1.0 / np.maximum(1.0 - s.contagion_units_back * active_receivers, 0.05)
                group_packets = packets * s.group_packet_share * contagion
                direct_packets = packets * (1.0 - s.group_packet_share) * s.direct_claim_prob
            else:
                group_packets = direct_packets = no_packets
            # who receives, per user present: routine transfers and one-to-one packets go to a random friend and
            # are lost when that friend is away (not joined, left) or held out; a first action looks for a friend
            # present, and a group packet's shares go to the members present who open it (normalized to those)
            friend_present = any_friend / max_present(present_mass, self.friend_weight, weight)[:, None]
            group_present = group_receiving / group_mass[:, None]
            rates[:, :, 0] = routine_transfers[:, None] * any_friend + first_transfers[:, None] * friend_present
            rates[:, :, 1] = direct_packets[:, None] * any_friend
            rates[:, :, 2] = (group_packets * self.claims_per_group_packet)[:, None] * group_present
            money[:, :receiving] = _receive(money[:, :receiving], rates[:, :receiving], self._money_moves)
            active = active + new
            active_present = (active_present + new) * staying
            money *= MONEY_DTYPE(staying)
            money[:, :, 0] += joined
        u_all = active @ weight
        out[:, n_days] = np.column_stack([u_all, u_all + money[:, :, 1:].sum(axis=2) @ weight,
                                          1.0 - merchant_waiting.mean(axis=1)])
        return out

    def final_share(self, start: tuple[float, float] | None = None, push: float | None = None) -> float:
        """Share of users active at the end of the period."""
        u0, m0 = (np.nan, np.nan) if start is None else start
        return float(self.final_shares(np.array([u0]), np.array([m0]), self._push(push))[0])

    def tips(self, start: tuple[float, float] | None = None, push: float | None = None,
             tip_share: float = TIP_SHARE) -> bool:
        """Whether at least ``tip_share`` of users are active at the end (the market tipped)."""
        return self.final_share(start, push) >= tip_share

    def smallest_push(self, tip_share: float = TIP_SHARE, tol: float = 0.001) -> float:
        """The smallest random push (share of users given ``push_yuan``) after which the market tips.

        0 when it tips without a push; ``nan`` when even a push of every user does not.
        """
        ends = self.final_shares(np.array([np.nan, np.nan]), np.array([np.nan, np.nan]), np.array([0.0, 1.0]))
        if ends[0] >= tip_share:
            return 0.0
        if ends[1] < tip_share:
            return float("nan")
        # a single start: two steps of the bisection per run of the dynamics (three pushes side by side)
        return float(_bisect_batch(lambda x: self.final_shares(np.full(len(x), np.nan), np.full(len(x), np.nan), x)
                                   >= tip_share, np.array([0.0]), np.array([1.0]), tol, levels=2)[0])

    def frontier(self, merchant_starts: np.ndarray | None = None, tip_share: float = TIP_SHARE,
                 tol: float = 0.002, known: pd.DataFrame | None = None) -> pd.DataFrame:
        """The critical-mass frontier: for each starting share of accepting merchants, the smallest share of
        paying users from which the market tips by the end of the period.

        ``known``: ends already computed (an :meth:`outcome_grid` over the same merchant starts); each
        search then starts between the grid's last start that stalls and its first that tips, instead of
        between no users and 95% (a third of the runs of a phase portrait's frontier).

        Returns a DataFrame with ``merchants_start`` and ``users_start`` (``nan`` where no start tips,
        0 where every start does).
        """
        m = np.linspace(0.0, 0.6, 13) if merchant_starts is None else np.asarray(merchant_starts, float)
        low, high = np.zeros(len(m)), np.full(len(m), 0.95)
        low_stalls, high_tips = np.zeros(len(m), dtype=bool), np.zeros(len(m), dtype=bool)
        if known is not None:  # the grid's starts bracket the frontier (ends rise with the users' start)
            for i, merchants in enumerate(m):
                rows = known[np.isclose(known["merchants_start"].to_numpy(), merchants)]
                starts, tipped = rows["users_start"].to_numpy(), rows["users_active_end"].to_numpy() >= tip_share
                if tipped.any():
                    low[i] = high[i] = starts[tipped].min()
                    high_tips[i] = True
                stalled = starts[~tipped & (starts < high[i])]
                if len(stalled):
                    low[i], low_stalls[i] = stalled.max(), True
        # the ends not known yet: every start stalls or every start tips, or the search starts between them
        ask_low = np.flatnonzero(~low_stalls & ~(high_tips & (high == 0.0)))
        ask_high = np.flatnonzero(~high_tips)
        ends = self.final_shares(np.r_[low[ask_low], high[ask_high]], np.r_[m[ask_low], m[ask_high]])
        tips_low = np.zeros(len(m), dtype=bool)
        tips_low[ask_low] = ends[: len(ask_low)] >= tip_share
        high_tips[ask_high] = ends[len(ask_low):] >= tip_share
        u_star = np.full(len(m), np.nan)
        u_star[tips_low | (high_tips & (high == 0.0))] = 0.0
        todo = ~tips_low & high_tips & (high > 0.0)
        if todo.any():
            m_todo = m[todo]
            u_star[todo] = _bisect_batch(lambda x: self.final_shares(x, m_todo) >= tip_share,
                                         low[todo], high[todo], tol)
        return pd.DataFrame({"merchants_start": m, "users_start": u_star})

    def outcome_grid(self, users: np.ndarray, merchants: np.ndarray) -> pd.DataFrame:
        """Share of users active at the end from each start on a grid (for the phase portrait)."""
        uu, mm = np.meshgrid(np.asarray(users, float), np.asarray(merchants, float))
        ends = self.final_shares(uu.ravel(), mm.ravel())
        return pd.DataFrame({"users_start": uu.ravel(), "merchants_start": mm.ravel(), "users_active_end": ends})


#: Shares of friends paying at which the paying-friends value is tabulated.
_SHARE_GRID = np.linspace(0.0, 1.0, 201)


def _paying_friends_table(degrees: list[np.ndarray]) -> np.ndarray:
    """Per class (row) and share of friends paying (column): ``E log(1 + Binomial(degree, share))`` averaged
    over the class's degrees."""
    from scipy.stats import binom

    all_degrees = np.concatenate(degrees).astype(np.int64) if degrees else np.zeros(0, dtype=np.int64)
    distinct = np.unique(all_degrees)
    by_degree = np.zeros((len(distinct), len(_SHARE_GRID)))
    for i, d in enumerate(distinct):
        x = np.arange(d + 1)
        by_degree[i] = binom.pmf(x[None, :], d, _SHARE_GRID[:, None]) @ np.log1p(x)
    table = np.zeros((len(degrees), len(_SHARE_GRID)))
    for j, deg in enumerate(degrees):
        idx, counts = np.unique(np.searchsorted(distinct, deg.astype(np.int64)), return_counts=True)
        table[j] = counts @ by_degree[idx] / max(counts.sum(), 1)
    return table


def _interp_rows(share: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table`` (class x share grid) interpolated at each ``share`` of the batch: (batch, class)."""
    position = np.minimum(np.maximum(share, 0.0), 1.0) * (len(_SHARE_GRID) - 1)  # (np.clip's checks cost more)
    low = np.minimum(position.astype(np.int64), len(_SHARE_GRID) - 2)
    frac = (position - low)[:, None]
    return table[:, low].T * (1.0 - frac) + table[:, low + 1].T * frac


def _activation_chance(rate: float, exp_minus_money: np.ndarray, context: np.ndarray) -> np.ndarray:
    """A day's chance of activating by start, class and money waiting: ``1 - exp(-rate * sigmoid(money_value
    + context))`` with ``exp_minus_money = exp(-money_value)`` (grid) and ``context`` (start x class).

    The sigmoid's exponential is the product of the two sides' exponentials, so the only exponential over
    every start, class and grid point is the last one (a quarter of the time of ``expit`` on the sum)."""
    with np.errstate(over="ignore"):  # exp(-context) = inf: a sigmoid of 0, as 1 / (1 + inf) gives
        chance = np.exp(-context)[:, :, None] * exp_minus_money  # exp(-(money_value + context))
    chance += 1.0
    np.divide(-rate, chance, out=chance)
    np.expm1(chance, out=chance)
    return np.negative(chance, out=chance)


def _amount_points(median: float, sigma: float, high: float) -> np.ndarray:
    q = (np.arange(AMOUNT_POINTS) + 0.5) / AMOUNT_POINTS
    return np.clip(np.round(np.exp(np.log(max(median, 1.0)) + sigma * norm.ppf(q))), 1, high)


def _grid_bin(cents: np.ndarray) -> np.ndarray:
    """Index of the grid point of :data:`WORLD_MONEY_GRID` nearest (in log) to each positive amount."""
    return _nearest(cents, WORLD_MONEY_GRID[1:]) + 1


def max_present(present_mass: np.ndarray, class_weight: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per start: the present users' total weight (friends or group openings) that money sent lands on."""
    return np.maximum((present_mass * class_weight) @ weight, 1e-12)


class _MoneyMoves:
    """The channels' move matrices (channel x grid x grid) in the form a day's receipts use them.

    A receipt moves money up the grid, and far enough up it moves it nowhere: above a few thousand yuan one
    receipt stays in its bin, so those rows of every matrix are the identity. Only the rows below (the
    first ``rows``) and the columns they reach (from the lowest any of the channels reaches to the highest)
    are multiplied; the rest is copied. On the default scenario's grid of 97 bins that is 71 rows and 55
    columns (:meth:`move`).
    """

    def __init__(self, moves: np.ndarray) -> None:
        n_channels, grid, _ = moves.shape
        identity = np.all(moves == np.eye(grid)[None, :, :], axis=2).all(axis=0)  # (row,) for every channel
        moving = np.flatnonzero(~identity)
        self.rows = rows = int(moving.max()) + 1 if len(moving) else 0
        #: for each set of channels: those rows of their matrices side by side, each cut to the columns
        #: any of them reaches, and those columns' (low, high)
        self.blocks: dict[tuple[int, ...], tuple[np.ndarray, tuple[int, int]]] = {}
        for size in range(1, n_channels + 1):
            for subset in itertools.combinations(range(n_channels), size):
                reached = np.flatnonzero(moves[list(subset), :rows].any(axis=(0, 1)))
                low, high = (int(reached.min()), int(reached.max()) + 1) if len(reached) else (0, 0)
                block = np.concatenate([moves[c, :rows, low:high] for c in subset], axis=1)
                self.blocks[subset] = (np.ascontiguousarray(block), (low, high))

    def move(self, current: np.ndarray, mix: np.ndarray, channels: tuple[int, ...],
             receiving: np.ndarray | None = None) -> np.ndarray:
        """The money after one more receipt: ``current`` (start x class x grid) moved by each channel in
        ``channels``, mixed by ``mix`` (start x class x channel of ``channels``); as
        ``sum_c mix[..., c] * (current @ moves[c])``, to rounding (one product for every channel at once,
        then one small product per start and class to mix them).

        ``receiving``: ``mix`` summed over its channels (start x class x 1), from a caller that moves by the
        same mix receipt after receipt; computed here if not given."""
        if receiving is None:
            receiving = mix.sum(axis=2)[:, :, None]
        block, (low, high) = self.blocks[channels]
        batch, classes, grid = current.shape
        rows, width, n = self.rows, high - low, len(channels)
        moved = (current.reshape(-1, grid)[:, :rows] @ block).reshape(-1, n, width)
        out = np.empty_like(current)
        out[:, :, :low] = 0.0
        if n == 1:  # (one channel: the mix is a product, 20% quicker than a stack of 1 x 1 matrix products)
            np.multiply(moved.reshape(batch, classes, width), mix, out=out[:, :, low:high])
        else:
            out[:, :, low:high] = np.matmul(mix.reshape(-1, 1, n), moved).reshape(batch, classes, width)
        out[:, :, high:] = 0.0
        out[:, :, rows:] += receiving * current[:, :, rows:]  # the rows that stay where they are
        return out


def _receive(money: np.ndarray, rates: np.ndarray, moves: _MoneyMoves) -> np.ndarray:
    """Money after a day's receipts: Poisson numbers of receipts per start and class, each receipt of a
    channel drawn by its rate (``money``: start x class x grid; ``rates``: start x class x channel)."""
    used = (rates > 0).any(axis=(0, 1))  # (rates are never negative)
    if not used.any():
        return money
    total = rates.sum(axis=2)
    channels = tuple(c for c, on in enumerate(used.tolist()) if on)
    mix = (rates[:, :, channels] / np.maximum(total, 1e-300)[:, :, None]).astype(money.dtype)
    k_max = max(1, _poisson_bound(float(total.max())))  # more receipts in a day: below 1e-10, counted as k_max
    prob = np.empty(total.shape + (k_max + 1,))
    prob[..., 0] = np.exp(-total)
    for k in range(1, k_max + 1):
        prob[..., k] = prob[..., k - 1] * total / k
    prob[..., -1] += np.maximum(1.0 - prob.sum(axis=2), 0.0)  # the tail as the largest count
    prob = prob.astype(money.dtype)  # (the money's precision: see MONEY_DTYPE)
    out = money * prob[..., 0, None]
    current = money
    receiving = mix.sum(axis=2)[:, :, None]  # (the same for every further receipt)
    for k in range(1, k_max + 1):
        current = moves.move(current, mix, channels, receiving)
        out += current * prob[..., k, None]
    return out


def _poisson_bound(mean: float, tail: float = 1e-10) -> int:
    """The smallest ``k`` with ``P(Poisson(mean) > k) <= tail`` (``scipy.stats.poisson.isf(tail, mean)``
    without the distribution object's overhead, which is most of a small batch's day step)."""
    counts = np.arange(int(mean + 10.0 * np.sqrt(mean)) + 40)
    return int(np.argmax(pdtrc(counts, mean) <= tail))


def _bisect_batch(predicate: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray,
                  tol: float, levels: int = 1) -> np.ndarray:
    """For each element, the point in (low, high] where a monotone ``predicate`` turns true (false at
    ``low``, true at ``high``), all elements bisected together (one batched call per step).

    ``levels`` > 1 takes that many steps of the bisection per call: the predicate is asked at every midpoint
    those steps could visit (``2 ** levels - 1`` per element, computed as the bisection computes them), and
    the first that is true bounds the interval. For a monotone predicate the answer is the bisection's, from
    fewer, bigger calls: where a call's cost is mostly its fixed part (a single start of the mean field, a
    730-day loop), three points per call answer in half the calls for under half again the time per call.
    """
    low, high = low.astype(float).copy(), high.astype(float).copy()
    while (width := float(np.max(high - low))) > tol:
        steps = 1  # as many as the plain bisection would still take, up to ``levels``
        while steps < levels and width / 2.0 ** steps > tol:
            steps += 1
        points = _midpoints(low, high, steps)  # (element, point), increasing along each row
        ok = predicate(points.ravel()).reshape(points.shape)
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), points.shape[1])
        rows = np.arange(len(low))
        high = np.where(first < points.shape[1], points[rows, np.minimum(first, points.shape[1] - 1)], high)
        low = np.where(first > 0, points[rows, np.maximum(first - 1, 0)], low)
    return high


def _midpoints(low: np.ndarray, high: np.ndarray, levels: int) -> np.ndarray:
    """Every midpoint ``levels`` steps of bisection between ``low`` and ``high`` can visit, in order:
    (element, ``2 ** levels - 1``)."""
    if levels == 0:
        return np.zeros((len(low), 0))
    mid = 0.5 * (low + high)
    return np.concatenate([_midpoints(low, mid, levels - 1), mid[:, None], _midpoints(mid, high, levels - 1)], axis=1)
