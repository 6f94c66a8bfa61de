"""The state of one simulation run: who is on WeChat, reached, active or gone; which merchants accept.

:class:`WorldState` holds the arrays (one entry per user or merchant), the random generator, the per-city
counts kept from daily deltas, the activation candidates (see :mod:`adoption.world.value`) and the output recorder. The
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
           "BatchDays", "CampaignWorld", "PacketBatch", "WorldState"]

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


@dataclass(frozen=True)
class CampaignWorld:
    """Where the QR campaign runs in one world: the users of its first city, its number of users (the scan
    rate is per user of the world), its merchant, and its users' index range (``first`` to ``end``)."""

    city_users: np.ndarray
    n_users: int
    merchant: int
    first: int
    end: int


@dataclass(frozen=True)
class BatchDays:
    """What the days read that differs between the worlds of a batch (:mod:`adoption.world.batch`): each
    world's value of money, sending rate and red-packet calendar, and each user's world.

    A world alone has none (``WorldState.batch_days`` is ``None``) and reads its scenario's values.
    """

    world: np.ndarray         # per user: the index of the user's world
    value_money: np.ndarray   # per world
    send_rate: np.ndarray     # per world
    packets: np.ndarray       # per world and day: the red-packet multiplier
    festival: np.ndarray      # per world and day: the festival context, log(max(multiplier, 1))
    festival_max: np.ndarray  # per world: the largest festival context of the period


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
        self.today = -1  # the day being simulated (-1 before the first)
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
        # the habit: packets sent, counted up to habit_cap (gathered every day), and the send-rate factor of
        # each level
        self.habit_level = np.zeros(n, dtype=np.int32)
        self.habit_factor = 1.0 + s.habit_gain * np.arange(s.habit_cap + 1)
        # each user's send rate per unit of the day's base rate: sociability times the habit's factor, kept up
        # to date as packets are sent (one lookup per proposal of the daily sampler instead of three)
        self.send_weight = self.sociability * self.habit_factor[0]
        urban = graph.urban if graph.urban is not None else np.zeros(n, dtype=bool)
        self.urban = urban.astype(bool)
        # the latent cost of adopting: observable parts (friends, city) and unobservable ones (engagement,
        # which also makes a user open more group packets, and the rest)
        self.engagement = rng.standard_normal(n)
        self.cost = (s.cost_mean - s.cost_degree_effect * np.log(self.sociability) + s.cost_rural * ~self.urban
                     - s.engagement_cost_effect * self.engagement + s.cost_sd * rng.standard_normal(n))
        self.open_logit = np.log(s.open_prob / max(1.0 - s.open_prob, 1e-12)) + s.engagement_open_effect * self.engagement
        # what the wallet is worth to each user: money waiting (received, not yet spendable) and paying friends
        self.waiting_cents = np.zeros(n)
        self.paying_friends = np.zeros(n, dtype=np.int32)
        # the randomized holdout: cannot receive; attempted receipts are kept for the truth
        self.holdout = rng.random(n) < s.holdout_share
        self.attempted = np.full(n, NEVER)
        # activation candidates (thinning): each user's next candidate time and the rate it was drawn at
        self.next_candidate = np.full(n, NEVER)
        self.candidate_rate = np.zeros(n)
        self.realized = np.full(n, -NEVER)  # each user's candidates up to here have been looked at
        self.candidates: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)

        # per-city counts by day, kept from deltas so a day costs O(cities), not O(users)
        self.first_day = np.clip(np.ceil(self.joined), 0, self.n_days).astype(np.int64)
        self.end_day = np.clip(np.ceil(self.left), 0, self.n_days + 1).astype(np.int32)  # gathered daily
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

        initial = before & (rng.random(n) < s.initial_active_share)
        self.initial_active = np.flatnonzero(initial)
        self.mark_active(self.initial_active, -rng.random(len(self.initial_active)) * PRE_PERIOD_ACTIVE_DAYS)
        self.pushed = self._push(rng) if s.push_share > 0 else np.zeros(0, dtype=np.int64)

        # merchants
        n_merch = max(1, int(round(n * s.merchants_per_1000_users / 1000)))
        city_pop = np.bincount(self.city, minlength=self.n_cities).astype(float)
        self.m_city = rng.choice(self.n_cities, size=n_merch, p=city_pop / city_pop.sum())
        self.m_accept = np.full(n_merch, NEVER)
        first = rng.random(n_merch) < s.initial_merchant_share
        self.m_accept[first] = -rng.random(int(first.sum())) * PRE_PERIOD_MERCHANT_DAYS
        self.m_threshold = rng.exponential(1.0, n_merch)
        self.m_H = np.zeros(n_merch)
        self.m_cost = s.merchant_cost_mean + s.merchant_cost_sd * rng.standard_normal(n_merch)
        self.m_category = rng.choice(np.array(MERCHANT_CATEGORIES), size=n_merch)
        self.m_campaign = np.zeros(n_merch, dtype=bool)  # the campaign's own merchant (see campaigns)
        self.campaign_merchant = -1
        self.campaign_buys: list[tuple[np.ndarray, np.ndarray]] = []  # (users, times) of the campaign's sales
        # where the campaign runs: one per world (several when worlds run as one: adoption.world.batch)
        self.campaign_worlds: list[CampaignWorld] = []

        self.days = daily_multipliers(s)
        # festival context: the log of the day's red-packet multiplier (0 on an ordinary day)
        self.festival = np.log(np.maximum(self.days["packets"].to_numpy(dtype=float), 1.0))
        self.festival_max = float(self.festival.max()) if len(self.festival) else 0.0
        self.batch_days: BatchDays | None = None  # (set when worlds that differ in these run as one)
        self.launch_day = s.day_of(s.red_packet_launch)
        self.next_packet = 1
        self.next_transfer = 1
        self.next_payment = 1
        self.next_scan = 1
        self.pending: list[PacketBatch] = []

    def _push(self, rng: np.random.Generator) -> np.ndarray:
        """The initial push: ``push_yuan`` into the wallets of ``push_share`` of users (present at the start,
        not active, not held out), chosen at random, by degree (most friends first) or by city (largest
        cities first, at random within a city)."""
        s = self.s
        eligible = np.flatnonzero((self.joined <= 0) & (self.active == NEVER) & ~self.holdout)
        k = min(int(round(s.push_share * self.n)), len(eligible))
        if s.push_target == "degree":
            order = eligible[np.lexsort((rng.random(len(eligible)), -self.degree[eligible]))]
        elif s.push_target == "city":
            size = np.bincount(self.city, minlength=self.n_cities)
            order = eligible[np.lexsort((rng.random(len(eligible)), -size[self.city[eligible]], self.city[eligible]))]
            order = order[np.argsort(-size[self.city[order]], kind="stable")]
        else:
            order = rng.permutation(eligible)
        chosen = np.sort(order[:k])
        self.waiting_cents[chosen] += s.push_yuan * 100.0
        self.reached[chosen] = 0.0
        return chosen

    def mark_active(self, users: np.ndarray, times: np.ndarray) -> None:
        """Set users active at ``times`` and keep the per-city counts and the active list."""
        self.active[users] = times
        # counted from the next day not yet simulated (an activation processed late still counts)
        from_day = np.clip(np.maximum(np.floor(times).astype(np.int64) + 1, self.today + 1), 0, self.n_days + 1)
        np.add.at(self.active_delta, (from_day, self.city[users]), 1.0)
        leaves = self.end_day[users] > from_day
        np.add.at(self.active_delta, (self.end_day[users][leaves], self.city[users][leaves]), -1.0)
        self.active_ids[self.n_active:self.n_active + len(users)] = users
        self.n_active += len(users)
