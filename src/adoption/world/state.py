"""The state of one simulation run: who is on WeChat, reached, active or gone; which merchants accept.

:class:`WorldState` holds the arrays (one entry per user or merchant), the random generator, the per-city
counts kept from daily deltas, the lazy schedule of organic-adoption checks and the output recorder. The
mechanisms (:mod:`adoption.world.mechanisms`, :mod:`adoption.world.campaigns`) are functions over it;
:mod:`adoption.world.engine` runs them day by day.

Times are in days since the scenario's start (fractions of a day are times of day); ``inf`` means never.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adoption.world.calendar import daily_multipliers
from adoption.world.graph import SocialGraph
from adoption.world.recorder import EventRecorder
from adoption.world.scenario import Scenario

__all__ = ["MERCHANT_CATEGORIES", "NEVER", "PRE_PERIOD_ACTIVE_DAYS", "PRE_PERIOD_MERCHANT_DAYS", "WECHAT_LAUNCH",
           "PacketBatch", "WorldState"]

#: A time that never comes (not yet reached, not active, never leaves).
NEVER = np.inf
#: WeChat launched on 2011-01-21; users who joined before the period joined after this.
WECHAT_LAUNCH = pd.Timestamp("2011-01-21")
#: Users already paying at the start activated up to this many days before it (uniformly; an assumption:
#: no public figure says how long early wallet users had been paying).
PRE_PERIOD_ACTIVE_DAYS = 150.0
#: Merchants already accepting at the start began up to this many days before it (uniformly; an assumption).
PRE_PERIOD_MERCHANT_DAYS = 100.0
#: Merchant categories, drawn uniformly (labels for the log; no mechanism depends on them).
MERCHANT_CATEGORIES: tuple[str, ...] = ("restaurant", "retail", "taxi", "convenience", "services")


@dataclass
class PacketBatch:
    """Red packets waiting to be sent: routine packets, first actions and gift contagion's packets back."""

    sender: np.ndarray
    time: np.ndarray
    group: np.ndarray       # -1 for a one-to-one packet chosen by the engine
    amount: np.ndarray      # 0: draw an amount

    def take(self, mask: np.ndarray) -> PacketBatch:
        """The packets where ``mask`` is true."""
        return PacketBatch(self.sender[mask], self.time[mask], self.group[mask], self.amount[mask])

    @staticmethod
    def concat(batches: list[PacketBatch]) -> PacketBatch:
        """One batch of all ``batches``, in order."""
        return PacketBatch(*(np.concatenate([getattr(b, f) for b in batches])
                              for f in ("sender", "time", "group", "amount")))


class WorldState:
    """The state of one simulation run (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        The parameters.
    graph : SocialGraph
        Users, friendships, cities and chat groups.
    rng : numpy.random.Generator
        The one source of randomness of the run.
    """

    def __init__(self, scenario: Scenario, graph: SocialGraph, rng: np.random.Generator) -> None:
        s = self.s = scenario
        self.g = graph
        self.rng = rng
        self.start = pd.Timestamp(s.start)
        self.n_days = s.n_days
        self.out = EventRecorder()
        n = self.n = graph.n_users
        self.degree = graph.degree.astype(np.float64)
        mean_deg = max(self.degree.mean(), 1e-9)
        self.sociability = (self.degree + 1.0) / (mean_deg + 1.0)
        self.city = graph.city.astype(np.int64)
        self.n_cities = int(self.city.max()) + 1 if n else 1
        self.ug_indptr, self.ug_groups = graph.user_groups()
        self.g_size = graph.group_size

        # joining and leaving
        before = rng.random(n) < s.joined_before_share
        span_before = (self.start - WECHAT_LAUNCH).days
        self.joined = np.where(before, -rng.random(n) * span_before, rng.random(n) * self.n_days)
        leave_draw = rng.exponential(1.0 / s.leave_hazard, n) if s.leave_hazard > 0 else np.full(n, NEVER)
        self.left = np.maximum(self.joined, 0.0) + leave_draw

        # adoption state
        self.active = np.full(n, NEVER)
        self.reached = np.full(n, NEVER)
        self.withdraw_bind = np.full(n, NEVER)
        self.n_sent = np.zeros(n, dtype=np.int32)
        urban = graph.urban if graph.urban is not None else np.zeros(n, dtype=bool)
        self.org_base = (s.organic_hazard * (np.maximum(self.degree, 0.5) / mean_deg) ** s.homophily
                         * np.where(urban, s.urban_factor, 1.0))
        self.org_threshold = rng.exponential(1.0, n)
        self.scheduled: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        self.checks: dict[int, list[np.ndarray]] = defaultdict(list)

        # per-city counts by day, kept from deltas so a day costs O(cities), not O(users)
        self.first_day = np.clip(np.ceil(self.joined), 0, self.n_days).astype(np.int64)
        self.end_day = np.clip(np.ceil(self.left), 0, self.n_days + 1).astype(np.int64)
        present_delta = np.zeros((self.n_days + 2, self.n_cities))
        np.add.at(present_delta, (self.first_day, self.city), 1.0)
        np.add.at(present_delta, (self.end_day, self.city), -1.0)
        self.present_count = np.cumsum(present_delta, axis=0)
        self.active_delta = np.zeros((self.n_days + 2, self.n_cities))
        self.active_count = np.zeros(self.n_cities)
        # active users, in order of activation (append-only; leavers are rejected when sampled)
        self.active_ids = np.zeros(n, dtype=np.int64)
        self.n_active = 0
        self.sociability_max = float(self.sociability.max()) if n else 1.0
        self.merchant_share = np.zeros(self.n_cities)
        # organic activation: the city's cumulated hazard factor, checked lazily per user
        self.city_factor = np.zeros((self.n_days + 2, self.n_cities))
        self.max_factor = 1.0 + s.user_merchant_effect
        self.schedule_checks(np.arange(n), self.first_day, np.zeros(n))

        initial = before & (rng.random(n) < s.initial_active_share)
        pre = np.flatnonzero(initial)
        self.mark_active(pre, -rng.random(len(pre)) * PRE_PERIOD_ACTIVE_DAYS)  # wallet users before the period

        # merchants
        n_merch = max(1, int(round(n * s.merchants_per_1000_users / 1000)))
        city_pop = np.bincount(self.city, minlength=self.n_cities).astype(float)
        self.m_city = rng.choice(self.n_cities, size=n_merch, p=city_pop / city_pop.sum())
        self.m_accept = np.full(n_merch, NEVER)
        first = rng.random(n_merch) < s.initial_merchant_share
        self.m_accept[first] = -rng.random(int(first.sum())) * PRE_PERIOD_MERCHANT_DAYS
        self.m_threshold = rng.exponential(1.0, n_merch)
        self.m_H = np.zeros(n_merch)
        self.m_category = rng.choice(np.array(MERCHANT_CATEGORIES), size=n_merch)
        self.campaign_merchant = -1

        self.days = daily_multipliers(s)
        self.launch_day = s.day_of(s.red_packet_launch)
        self.next_packet = 1
        self.next_transfer = 1
        self.next_payment = 1
        self.next_scan = 1
        self.pending: list[PacketBatch] = []

    def mark_active(self, users: np.ndarray, times: np.ndarray) -> None:
        """Set users active at ``times`` and keep the per-city counts and the active list."""
        self.active[users] = times
        from_day = np.clip(np.floor(times).astype(np.int64) + 1, 0, self.n_days + 1)
        np.add.at(self.active_delta, (from_day, self.city[users]), 1.0)
        leaves = self.end_day[users] > from_day
        np.add.at(self.active_delta, (self.end_day[users][leaves], self.city[users][leaves]), -1.0)
        self.active_ids[self.n_active:self.n_active + len(users)] = users
        self.n_active += len(users)

    def schedule_checks(self, users: np.ndarray, from_day: np.ndarray, hazard_so_far: np.ndarray) -> None:
        """Schedule the next day on which a user's organic hazard could first reach their threshold."""
        left_over = self.org_threshold[users] - hazard_so_far
        per_day = self.org_base[users] * self.max_factor
        wait = np.ceil(left_over / np.maximum(per_day, 1e-300)) - 1
        day = from_day + np.maximum(wait, 0)
        ok = (day < self.n_days) & np.isfinite(day)
        users, day = users[ok], day[ok].astype(np.int64)
        order = np.argsort(day, kind="stable")
        users, day = users[order], day[order]
        cuts = np.flatnonzero(np.diff(day)) + 1
        for chunk_users, chunk_day in zip(np.split(users, cuts), np.split(day, cuts), strict=True):
            if len(chunk_users):
                self.checks[int(chunk_day[0])].append(chunk_users)

    def organic_today(self, day: int) -> np.ndarray:
        """Users whose organic hazard reaches their threshold today (checks scheduled lazily)."""
        due = self.checks.pop(day, [])
        if not due:
            return np.zeros(0, dtype=np.int64)
        users = np.concatenate(due)
        users = users[(self.active[users] == NEVER) & (self.end_day[users] > day)]
        c = self.city[users]
        hazard = self.org_base[users] * (self.city_factor[day + 1, c] - self.city_factor[self.first_day[users], c])
        crossed = hazard >= self.org_threshold[users]
        self.schedule_checks(users[~crossed], np.full(int((~crossed).sum()), day + 1), hazard[~crossed])
        return users[crossed]

