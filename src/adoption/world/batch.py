"""A batch of worlds run as one: independent small worlds stepped through their days together.

A small world's day costs about as much as a large one's (a day is ~1,500 array operations whatever the
size: 4,000 users to April 2015 take 1.3 CPU s, 96,000 users 6.5 s), so a simulate-and-recover study of
two dozen small worlds spends most of its time on that fixed cost. Here each world is built as
:func:`~adoption.world.engine.run_world` builds it (its graph and its initial state from its own seed),
then the worlds are joined into one world whose graph is their disjoint union, with cities and merchants
kept apart (a city of one world is not a city of another, so the per-city shares that drive merchants and
activation are each world's own), run through the same days, and split back into one state per world.

No mechanism couples users who are not friends, in a group or in the same city, so each world of a batch
follows its own scenario exactly as it would alone; only the random stream of the days is shared (the
first world's generator, after the worlds are built): world ``k`` of a batch is a draw of the same
distribution as ``run_world(scenario, None, seeds[k])``, not the same draw, except for a batch of one,
which is the same run.

The worlds may differ in what is drawn when a world is built (:data:`BUILD_PARAMETERS`: size, costs,
holdout, push, ...) and in the value of money, the sending rate and the red-packet calendar
(:data:`DAY_PARAMETERS`: the joined world then reads them per user, from the user's world), not in the
rest of what the days read. The QR campaign runs in each world's first city, at its merchant, at a rate
per user of that world.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields

import numpy as np
from tqdm.auto import tqdm

from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator
from adoption.world.campaigns import start_campaign
from adoption.world.engine import run
from adoption.world.graph import SocialGraph, generate_graph
from adoption.world.recorder import EventRecorder
from adoption.world.scenario import Scenario
from adoption.world.state import BatchDays, CampaignWorld, WorldState

__all__ = ["BATCH_USERS", "BUILD_PARAMETERS", "DAY_PARAMETERS", "batch_slices", "run_worlds"]

#: Users a batch of worlds holds at most, by the convention of the experiments that run batches (tipping,
#: calibration): past a few tens of thousands of users a day's fixed cost is spread thin already, and a
#: batch is one task for one worker.
BATCH_USERS = 200_000


def batch_slices(count: int, users: int, limit: int = BATCH_USERS) -> list[np.ndarray]:
    """``count`` worlds of ``users`` users each, in order, as the indices of the fewest batches of at most
    ``limit`` users (one world a batch when a world alone is larger), their sizes as even as can be.

    Examples
    --------
    >>> [b.tolist() for b in batch_slices(5, 500, limit=1_000)]
    [[0, 1], [2, 3], [4]]
    >>> [len(b) for b in batch_slices(48, 10_000)]
    [16, 16, 16]
    """
    per_batch = max(1, limit // max(users, 1))
    return np.array_split(np.arange(count), -(-count // per_batch)) if count > 0 else []


#: The scenario parameters read only when a world is built (its graph, users, merchants, holdout and push);
#: the worlds of a batch may differ in these and must agree on every other parameter.
BUILD_PARAMETERS = frozenset({
    "n_users", "mean_degree", "n_cities", "joined_before_share", "initial_active_share", "open_prob",
    "engagement_open_effect", "cost_mean", "cost_sd", "cost_degree_effect", "cost_rural", "engagement_cost_effect",
    "holdout_share", "merchants_per_1000_users", "initial_merchant_share", "merchant_cost_mean", "merchant_cost_sd",
    "leave_hazard", "push_share", "push_yuan", "push_target",
})
#: The parameters the days read that the worlds of a batch may still differ in: each user's value of money
#: and festival context and each sender's rate come from the user's world (:class:`~adoption.world.state.BatchDays`).
DAY_PARAMETERS = frozenset({
    "value_money", "send_rate", "eve_multiplier", "spring_festival_multiplier", "festival_week_multiplier",
    "qixi_multiplier", "mid_autumn_multiplier",
})

# How each attribute of a WorldState is joined and split (a test checks that every attribute is here).
_PER_USER = ("degree", "sociability", "joined", "left", "active", "reached", "withdraw_bind", "habit_level",
             "send_weight", "urban", "engagement", "cost", "open_logit", "waiting_cents", "paying_friends", "holdout",
             "attempted", "next_candidate", "candidate_rate", "realized", "first_day", "end_day")
_PER_MERCHANT = ("m_accept", "m_threshold", "m_H", "m_cost", "m_category", "m_campaign")
_PER_CITY = ("active_count", "merchant_share")
_PER_DAY_AND_CITY = ("present_count", "active_delta")
_USER_LISTS = ("initial_active", "pushed")
_SAME = ("start", "n_days", "habit_factor", "days", "festival", "festival_max", "launch_day")
_OWN = ("s", "g", "rng", "out", "n", "city", "n_cities", "ug_indptr", "ug_groups", "g_size", "m_city", "candidates",
        "active_ids", "n_active", "n_active_before", "sociability_max", "campaign_merchant", "campaign_buys", "campaign_worlds",
        "next_packet", "next_transfer", "next_payment", "next_scan", "pending", "today", "batch_days")
WORLD_STATE_ATTRIBUTES = frozenset(_PER_USER + _PER_MERCHANT + _PER_CITY + _PER_DAY_AND_CITY + _USER_LISTS + _SAME + _OWN)

# The recorded tables' columns: the user column that says whose event a row is, and how each column moves
# from the joined world to its own: user, group and merchant indices shift by the world's offset in their
# space ("users", "groups", "merchants"); ids are numbered again ("own id"), and references to them follow
# (the name of the table referred to). (A scan may have no user: the campaign marks each scan with its world.)
_RECORDED = {
    "red_packets": ("sender", {"packet_id": "own id", "sender": "users", "recipient": "users", "group": "groups"}),
    "red_packet_claims": ("receiver", {"packet_id": "red_packets", "receiver": "users"}),
    "transfers": ("sender", {"transfer_id": "own id", "sender": "users", "receiver": "users"}),
    "scans": ("world", {"scan_id": "own id", "user": "users", "referrer": "users"}),
    "payments": ("user", {"payment_id": "own id", "user": "users", "merchant": "merchants", "scan": "scans"}),
    "messages": ("user", {"message_id": "own id", "user": "users"}),
}
_SPACES = ("users", "groups", "merchants")
_COUNTERS = {"red_packets": "next_packet", "transfers": "next_transfer", "payments": "next_payment",
             "scans": "next_scan"}


def run_worlds(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[SeedLike], *,
               graphs: Sequence[SocialGraph] | None = None, progress: bool = False) -> list[WorldState]:
    """Build one world per seed and run them together (see the module docstring); their finished states.

    Parameters
    ----------
    scenarios : Scenario or sequence of Scenario
        One scenario for every world, or one per world; they may differ only in :data:`BUILD_PARAMETERS`
        and :data:`DAY_PARAMETERS`.
    seeds : sequence of seeds
        One per world: the source of its graph and its initial state. The days draw from the first
        world's generator.
    graphs : sequence of SocialGraph, optional
        One per world; by default each is generated from its world's seed, as :func:`run_world` does.
    progress : bool, default False
        Show a progress bar over the days.

    Returns
    -------
    list of WorldState
        One finished state per world, in the order of ``seeds``: what :func:`run_world` returns for one.

    Raises
    ------
    ParameterError
        Naming the parameter when the worlds' scenarios differ in what the days read.

    Examples
    --------
    >>> from adoption.world.engine import run_world
    >>> s = Scenario(n_users=300, end="2014-03-31", campaigns=False)
    >>> worlds = run_worlds(s, [1, 2, 3])
    >>> [w.n for w in worlds], len({float(w.active[np.isfinite(w.active)].sum()) for w in worlds})
    ([300, 300, 300], 3)
    >>> alone, (batch_of_one,) = run_world(s, None, 7), run_worlds(s, [7])
    >>> bool(np.array_equal(alone.active, batch_of_one.active))
    True
    """
    seeds = list(seeds)
    if not seeds:
        raise ParameterError("seeds: expected at least one seed")
    scenarios = [scenarios] * len(seeds) if isinstance(scenarios, Scenario) else list(scenarios)
    if len(scenarios) != len(seeds):
        raise ParameterError(f"scenarios: expected one scenario or one per seed ({len(seeds)}), got {len(scenarios)}")
    if graphs is not None and len(graphs) != len(seeds):
        raise ParameterError(f"graphs: expected one graph per seed ({len(seeds)}), got {len(graphs)}")
    _check_joinable(scenarios)
    worlds = []
    for k, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        rng = as_generator(seed)
        graph = graphs[k] if graphs is not None else generate_graph(
            scenario.n_users, mean_degree=scenario.mean_degree, n_cities=scenario.n_cities, seed=rng)
        world = WorldState(scenario, graph, rng)
        start_campaign(world)  # (as the day loop starts it in a world alone)
        worlds.append(world)
    joined, offsets = _join(worlds)
    with tqdm(total=joined.n_days, desc=f"simulating days of {len(worlds)} worlds", unit="day",
              disable=not progress, leave=False) as bar:
        run(joined, bar)
    _split(joined, worlds, offsets)
    return worlds


def _check_joinable(scenarios: list[Scenario]) -> None:
    first = scenarios[0]
    for scenario in scenarios:
        for f in fields(Scenario):
            if f.name not in BUILD_PARAMETERS | DAY_PARAMETERS and getattr(scenario, f.name) != getattr(first, f.name):
                raise ParameterError(f"{f.name}: the worlds of a batch may differ only in what is drawn when a world "
                                     "is built and in the value of money, the sending rate and the calendar; found "
                                     f"{getattr(first, f.name)!r} and {getattr(scenario, f.name)!r}")


def _batch_days(worlds: list[WorldState], users: np.ndarray) -> BatchDays | None:
    """Each world's value of money, sending rate and calendar, when the worlds differ in them."""
    first = worlds[0].s
    if all(getattr(w.s, name) == getattr(first, name) for w in worlds for name in DAY_PARAMETERS):
        return None  # (one value for all: the joined world reads its scenario's, as a world alone does)
    packets = np.stack([w.days["packets"].to_numpy(dtype=float) for w in worlds])
    return BatchDays(world=np.repeat(np.arange(len(worlds)), np.diff(users)),
                     value_money=np.array([w.s.value_money for w in worlds], dtype=float),
                     send_rate=np.array([w.s.send_rate for w in worlds], dtype=float), packets=packets,
                     festival=np.stack([w.festival for w in worlds]),
                     festival_max=np.array([w.festival_max for w in worlds], dtype=float))


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _join(worlds: list[WorldState]) -> tuple[WorldState, dict[str, np.ndarray]]:
    """One world of all ``worlds`` (users, cities, groups and merchants side by side, none shared), and
    where each world's users, cities, groups and merchants start in it."""
    for w in worlds:
        unknown = set(vars(w)) - WORLD_STATE_ATTRIBUTES
        if unknown:  # a new attribute of the state must say how it is joined
            raise RuntimeError(f"run_worlds: WorldState attributes not joined: {sorted(unknown)}")
        if w.out.cols or w.pending or w.campaign_buys or w.batch_days is not None:
            raise RuntimeError("run_worlds: a world to join has run already")
    users = _offsets([w.n for w in worlds])
    cities = _offsets([w.n_cities for w in worlds])
    groups = _offsets([w.g.n_groups for w in worlds])
    edges = _offsets([len(w.g.indices) for w in worlds])
    members = _offsets([len(w.g.group_members) for w in worlds])
    first = worlds[0]
    j = object.__new__(WorldState)
    j.s, j.rng, j.out, j.today = first.s, first.rng, EventRecorder(), first.today
    for name in _SAME:
        setattr(j, name, getattr(first, name))
    for name in _PER_USER + _PER_MERCHANT + _PER_CITY:
        setattr(j, name, np.concatenate([getattr(w, name) for w in worlds]))
    for name in _PER_DAY_AND_CITY:
        setattr(j, name, np.hstack([getattr(w, name) for w in worlds]))
    for name in _USER_LISTS:
        setattr(j, name, np.concatenate([getattr(w, name) + users[k] for k, w in enumerate(worlds)]))
    j.n, j.n_cities = int(users[-1]), int(cities[-1])
    j.city = np.concatenate([w.city + cities[k] for k, w in enumerate(worlds)])
    j.m_city = np.concatenate([w.m_city + cities[k] for k, w in enumerate(worlds)])
    if j.n_cities > np.iinfo(np.int16).max:
        raise ParameterError(f"seeds: a batch holds at most {np.iinfo(np.int16).max:,} cities; these worlds have "
                             f"{j.n_cities:,}: run fewer worlds together")
    j.g = SocialGraph(
        np.concatenate([worlds[0].g.indptr[:1]] + [w.g.indptr[1:] + edges[k] for k, w in enumerate(worlds)]),
        np.concatenate([w.g.indices.astype(np.int64) + users[k] for k, w in enumerate(worlds)]),
        j.city, tuple(name for w in worlds for name in w.g.city_names),
        np.concatenate([worlds[0].g.group_indptr[:1]]
                       + [w.g.group_indptr[1:] + members[k] for k, w in enumerate(worlds)]),
        np.concatenate([(w.g.group_members + users[k]).astype(w.g.group_members.dtype) for k, w in enumerate(worlds)]),
        np.concatenate([w.g.group_kind for w in worlds]),
        np.concatenate([w.g.urban for w in worlds]))
    j.ug_indptr, j.ug_groups = j.g.user_groups()
    j.g_size = j.g.group_size
    j.active_ids = np.zeros(j.n, dtype=np.int64)
    actives = np.concatenate([w.active_ids[:w.n_active] + users[k] for k, w in enumerate(worlds)])
    j.active_ids[:len(actives)] = actives
    j.n_active = j.n_active_before = len(actives)
    j.sociability_max = max(w.sociability_max for w in worlds)  # a bound for thinning: the largest is exact
    j.candidates = defaultdict(list)
    for k, w in enumerate(worlds):
        for day, batches in sorted(w.candidates.items()):
            j.candidates[day].extend((u + users[k], t) for u, t in batches)
    merchants = _offsets([len(w.m_accept) for w in worlds])
    j.campaign_worlds = [CampaignWorld(c.city_users + users[k], c.n_users, c.merchant + int(merchants[k]), int(users[k]),
                                       int(users[k + 1])) for k, w in enumerate(worlds) for c in w.campaign_worlds]
    j.campaign_merchant, j.campaign_buys, j.pending = -1, [], []
    j.batch_days = _batch_days(worlds, users)
    j.next_packet = j.next_transfer = j.next_payment = j.next_scan = 1
    return j, {"users": users, "cities": cities, "groups": groups, "merchants": merchants}


def _split(j: WorldState, worlds: list[WorldState], off: dict[str, np.ndarray]) -> None:
    """Each world's state and events back from the joined world (in place)."""
    users, cities, merchants = off["users"], off["cities"], off["merchants"]
    actives = j.active_ids[:j.n_active]
    for k, w in enumerate(worlds):
        u, c, m = slice(users[k], users[k + 1]), slice(cities[k], cities[k + 1]), slice(merchants[k], merchants[k + 1])
        for name in _PER_USER:
            setattr(w, name, getattr(j, name)[u])
        for name in _PER_MERCHANT:
            setattr(w, name, getattr(j, name)[m])
        for name in _PER_CITY:
            setattr(w, name, getattr(j, name)[c])
        for name in _PER_DAY_AND_CITY:
            setattr(w, name, getattr(j, name)[:, c])
        mine = actives[(actives >= users[k]) & (actives < users[k + 1])] - users[k]
        w.active_ids = np.zeros(w.n, dtype=np.int64)
        w.active_ids[:len(mine)] = mine
        w.n_active = w.n_active_before = len(mine)
        w.today = j.today
        w.candidates = defaultdict(list)
    _split_events(j, worlds, off)


def _split_events(j: WorldState, worlds: list[WorldState], off: dict[str, np.ndarray]) -> None:
    if set(j.out.cols) - set(_RECORDED):
        raise RuntimeError(f"run_worlds: recorded tables not split: {sorted(set(j.out.cols) - set(_RECORDED))}")
    # a packet's and a scan's id in its own world, by its id in the joined one (ids start at 1)
    local = {"red_packets": np.zeros(j.next_packet, dtype=np.int64), "scans": np.zeros(j.next_scan, dtype=np.int64)}
    for table, (key, moves) in _RECORDED.items():
        columns = {name: j.out.get(table, name, np.int64 if name != "time" else np.float64)
                   for name in list(j.out.cols.get(table, {}))}
        if not columns:
            continue
        if key == "world":  # (a world running the campaign alone leaves its scans unmarked)
            world_of = columns.pop("world") if "world" in columns else np.zeros(len(columns["scan_id"]), dtype=np.int64)
        else:
            world_of = np.searchsorted(off["users"], columns[key], side="right") - 1
        _check_within_worlds(table, columns, key, world_of, off)
        for k, w in enumerate(worlds):
            rows = np.flatnonzero(world_of == k)
            mine = {}
            for name, values in columns.items():
                v = values[rows]
                move = moves.get(name)
                if move == "own id":
                    if table in local:
                        local[table][v] = np.arange(1, len(v) + 1)
                    v = np.arange(1, len(v) + 1, dtype=np.int64)
                elif move in local:  # a reference (a payment without a scan: -1)
                    v = np.where(v >= 1, local[move][np.maximum(v, 0)], v)
                elif move in _SPACES:
                    v = np.where(v >= 0, v - off[move][k], v)
                mine[name] = v
            w.out.add(table, **mine)
            if table in _COUNTERS:
                setattr(w, _COUNTERS[table], len(rows) + 1)


def _check_within_worlds(table: str, columns: dict[str, np.ndarray], key: str, world_of: np.ndarray,
                         off: dict[str, np.ndarray]) -> None:
    """Every event stays inside one world (its other user, its group or merchant): a joined world that
    let money cross between worlds would be a bug here, not a property of the worlds."""
    for name, space in _RECORDED[table][1].items():
        if space not in _SPACES or name == key:
            continue
        values = columns[name]
        has = values >= 0
        if np.any(np.searchsorted(off[space], values[has], side="right") - 1 != world_of[has]):
            raise RuntimeError(f"run_worlds: {table}.{name} crosses between worlds")
