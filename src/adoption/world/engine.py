"""The engine: one day at a time, the mechanisms in a fixed order over the world's state.

Each day: per-city counts move on; merchants adopt; users whose activation candidates are due act on the
value of the wallet against their cost (:mod:`adoption.world.value`); active users send red packets, transfer and pay; the day's packets are sent in rounds
(gift contagion's packets back included); the campaign runs. After the last day, the campaign's follow-up.
Every mechanism works on whole arrays; the day's cost is O(cities + events), not O(users).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from adoption.random import SeedLike, as_generator
from adoption.world.campaigns import campaign_day, follow_up, start_campaign
from adoption.world.draws import sample_active, times_in_day
from adoption.world.graph import SocialGraph, generate_graph
from adoption.world.mechanisms import activate, merchants_step, pay, send_pending, transfer
from adoption.world.scenario import Scenario
from adoption.world.state import PacketBatch, WorldState
from adoption.world.value import activations_due, start_values

__all__ = ["MonthEnd", "month_ends", "run", "run_world"]


#: Called after the last day of each simulated month with the world and the month ("2014-01").
MonthEnd = Callable[[WorldState, str], None]


def run_world(scenario: Scenario, graph: SocialGraph | None, seed: SeedLike, progress: bool | tqdm = False,
              on_month_end: MonthEnd | None = None) -> WorldState:
    """A new world for ``scenario`` (on ``graph``, or one generated from the same seed), run to its end.

    ``progress`` is a bool (show a bar over the days) or a tqdm bar to advance by one per day;
    ``on_month_end`` is called after each month's last day (see :func:`run`).

    Examples
    --------
    >>> w = run_world(Scenario(n_users=300, end="2014-02-28", campaigns=False), None, seed=1)
    >>> w.n, bool(np.isfinite(w.active).any())
    (300, True)
    """
    rng = as_generator(seed)
    if graph is None:
        graph = generate_graph(scenario.n_users, mean_degree=scenario.mean_degree, n_cities=scenario.n_cities,
                               seed=rng)
    world = WorldState(scenario, graph, rng)
    run(world, progress, on_month_end)
    return world


def month_ends(w: WorldState) -> dict[int, str]:
    """The last simulated day of each month (the period's last day included), with the month's name.

    Examples
    --------
    >>> w = WorldState(Scenario(n_users=50, end="2014-03-10"), generate_graph(50, seed=1), np.random.default_rng(1))
    >>> month_ends(w)
    {30: '2014-01', 58: '2014-02', 68: '2014-03'}
    """
    months = (w.start + pd.to_timedelta(np.arange(w.n_days), unit="D")).strftime("%Y-%m")
    last = np.flatnonzero(np.r_[months[1:] != months[:-1], True]) if w.n_days else np.zeros(0, dtype=np.int64)
    return {int(day): str(months[day]) for day in last}


def run(w: WorldState, progress: bool | tqdm = False, on_month_end: MonthEnd | None = None) -> None:
    """Run the world's days, with a progress bar when ``progress`` (or advancing the bar passed), calling
    ``on_month_end(w, "2014-01")`` after each month's last day: the events recorded so far can be taken out
    of the recorder then (:func:`adoption.world.tables.recorded_tables`), so that a long run keeps only
    a month of its log in memory. Nothing in the days ahead reads the events already recorded."""
    s = w.s
    # (the campaign's own merchant not counted, as before it is added: worlds joined have theirs already)
    merchants_per_city = np.maximum(np.bincount(w.m_city[~w.m_campaign], minlength=w.n_cities), 1)
    subsidy = (s.day_of(s.subsidy_start), s.day_of(s.subsidy_end) + 1)
    campaign_from = s.day_of(s.campaign_start)
    campaign_to = campaign_from + s.campaign_days
    start_campaign(w)
    packets_mult = w.days["packets"].to_numpy()
    transfers_mult = w.days["transfers"].to_numpy()
    evening = w.days["evening"].to_numpy()
    habit_max = 1.0 + s.habit_gain * s.habit_cap
    start_values(w)
    bar = progress if isinstance(progress, tqdm) else tqdm(total=w.n_days, desc="simulating days", unit="day",
                                                            disable=not progress, leave=False)
    last_days = month_ends(w) if on_month_end is not None else {}
    for day in range(w.n_days):
        w.today = day
        w.n_active_before = w.n_active
        w.active_count += w.active_delta[day]
        user_share = w.active_count / np.maximum(w.present_count[day], 1.0)
        # merchants: cross-side adoption
        merchants = merchants_step(w, day, user_share, merchants_per_city, subsidy[0] <= day < subsidy[1])
        # users: activation candidates due today, accepted with the hazard of their value against their cost
        act_users, act_times = activations_due(w, day)
        activate(w, act_users, act_times, day, merchants)

        # routine activity of users active before today
        if s.red_packets and day >= w.launch_day:
            if w.batch_days is None:
                base = s.send_rate * packets_mult[day]
                rate, rate_max = (lambda u, base=base: base * w.send_weight[u]), base
            else:  # worlds of a batch, each with its own sending rate and calendar
                base, world = w.batch_days.send_rate * w.batch_days.packets[:, day], w.batch_days.world
                rate, rate_max = (lambda u, base=base, world=world: base[world[u]] * w.send_weight[u]), float(base.max())
            who = sample_active(w, rate, rate_max * w.sociability_max * habit_max, day)
            w.pending.append(PacketBatch(who, times_in_day(w, day, len(who), bool(evening[day])),
                                         np.full(len(who), -1), np.zeros(len(who), dtype=np.int64)))
        if s.transfer_rate > 0:
            base = s.transfer_rate * transfers_mult[day]
            who = sample_active(w, lambda u, base=base: base * w.sociability[u], base * w.sociability_max, day)
            transfer(w, who, times_in_day(w, day, len(who)), day)
        m_start, m_count, m_list = merchants
        if s.payment_rate > 0:
            who = sample_active(w, s.payment_rate, s.payment_rate, day)
            who = who[m_count[w.city[who]] > 0]
            pay(w, who, times_in_day(w, day, len(who)), merchants)
        # packets: routine, first actions and gift contagion (rounds until today's are done)
        send_pending(w, day)
        if s.campaigns and campaign_from <= day < campaign_to:
            campaign_day(w, day, merchants)
        bar.update(1)
        if day in last_days:
            on_month_end(w, last_days[day])  # type: ignore[misc]
    if bar is not progress:
        bar.close()
    if s.campaigns and campaign_from < w.n_days:
        follow_up(w)
