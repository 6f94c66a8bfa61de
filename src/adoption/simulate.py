"""The red-packet world: a day-stepped, vectorized simulator that writes an event log.

Users live on a :class:`~adoption.graph.SocialGraph`. Each user is *not yet reached*, then *reached*
(money received: a red-packet share or a transfer), then *active* (their first own payment action: a
payment to a merchant, a red packet sent or a transfer sent; the card is bound just before), and may
*leave*. Merchants go from *not accepting* to *accepting*. One step is one day; every mechanism works on
whole arrays (numpy), never with a Python loop over users or edges, and event times are drawn inside the
day (with lunch and evening peaks, and the festival-evening pile-up), so the log has real timestamps.

Mechanisms
----------
Red packets
    Active users send at ``send_rate`` x festival multiplier x habit (each packet sent raises the sender's
    own rate, up to a cap). A packet goes to one of the sender's chat groups (split by the lucky-money rule
    or fixed, first come first served, refunded after 24 h; see :mod:`adoption.redpacket`) or to one
    friend.
Gift contagion
    An active user who receives a share in a group sends a packet back into it within 24 h with a small
    probability (higher for the luckiest draw) and an amount that makes the expected money sent back
    ``contagion_units_back`` (0.18) per unit received (Yuan et al. 2024).
Transfers
    Active users send money to friends.
Activation
    At a user's first receipt, a time to activation is drawn from a Weibull whose scale is set so that,
    together with the user's own (organic) hazard, ``target_activation_90d`` of receivers are active
    within 90 days. Everyone also has an organic hazard that grows with degree (homophily: well-connected
    users both receive more and adopt more on their own), in big cities, and with the local share of
    accepting merchants (the cross-side effect).
Merchants
    Merchants in each city start accepting with a hazard that grows with the local share of active users
    (the other cross-side effect), plus a subsidy when the scenario has one. Active users pay at accepting
    merchants of their city.
Campaigns
    QR-code posters on channels (metro, campus, mall, official account) are scanned; active scanners buy
    (a payment tied to the scan); buyers share to Moments, which brings referred scans by their friends,
    generation after generation.

Randomness comes only from ``seed``: the same scenario, graph and seed give identical tables.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from adoption.calendar import DIURNAL, EVE_DIURNAL, daily_multipliers
from adoption.errors import InvalidEventLog, ParameterError
from adoption.eventlog import META_FILE, EventLog, coerce_table, log_writer
from adoption.graph import GROUP_KINDS, SocialGraph, gather_rows, generate_graph
from adoption.random import SeedLike, as_generator, stepped_poisson
from adoption.redpacket import MAX_PACKET_CENTS, REFUND_AFTER_HOURS, allocate_claims, split_lucky
from adoption.scenario import Scenario

__all__ = ["CAMPAIGN_CHANNELS", "simulate", "simulate_states", "simulate_to"]

#: The QR campaign's channels: (channel, placement, share of direct scans, scan-to-purchase rate).
CAMPAIGN_CHANNELS: tuple[tuple[str, str | None, float, float], ...] = (
    ("poster", "metro", 0.35, 0.06),
    ("poster", "campus", 0.25, 0.10),
    ("poster", "mall", 0.20, 0.04),
    ("official_account", None, 0.20, 0.15),
)
#: Scan-to-purchase rate of scans that come from a share to Moments.
MOMENTS_CONVERSION = 0.12
#: Share of scans made without a logged-in user (no user_id; cannot buy).
ANONYMOUS_SCAN_SHARE = 0.1
#: The most shares a group packet can have (WeChat's limit).
MAX_SHARES = 100
#: WeChat launched on 2011-01-21; users who joined before the period joined after this.
WECHAT_LAUNCH = pd.Timestamp("2011-01-21")

_INF = np.inf


def _earliest_per_user(users: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each user once, with their earliest time."""
    order = np.lexsort((times, users))
    users, times = users[order], times[order]
    first = np.r_[True, users[1:] != users[:-1]]
    return users[first], times[first]


class _Tables:
    """Append-only column buffers, one per output table."""

    def __init__(self) -> None:
        self.cols: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))

    def add(self, table: str, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            values = np.asarray(values)
            if values.dtype.kind in "iu":  # ids, counts and cents fit in int32 while buffered
                values = values.astype(np.int32)
            self.cols[table][name].append(values)

    def peek(self, table: str, name: str, dtype: type | str) -> np.ndarray:
        """The column, concatenated; its buffers are kept."""
        parts = self.cols[table].get(name, [])
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)

    def get(self, table: str, name: str, dtype: type | str) -> np.ndarray:
        """The column, concatenated; its buffers are released."""
        parts = self.cols[table].pop(name, [])
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


@dataclass
class _PacketBatch:
    sender: np.ndarray
    time: np.ndarray
    group: np.ndarray       # -1 for a one-to-one packet chosen by the engine
    amount: np.ndarray      # 0: draw an amount

    def take(self, mask: np.ndarray) -> _PacketBatch:
        return _PacketBatch(self.sender[mask], self.time[mask], self.group[mask], self.amount[mask])

    @staticmethod
    def concat(batches: list[_PacketBatch]) -> _PacketBatch:
        return _PacketBatch(*(np.concatenate([getattr(b, f) for b in batches])
                              for f in ("sender", "time", "group", "amount")))


class _World:
    """The state of one simulation run."""

    def __init__(self, scenario: Scenario, graph: SocialGraph, rng: np.random.Generator) -> None:
        s = self.s = scenario
        self.g = graph
        self.rng = rng
        self.start = pd.Timestamp(s.start)
        self.n_days = s.n_days
        self.out = _Tables()
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
        leave_draw = rng.exponential(1.0 / s.leave_hazard, n) if s.leave_hazard > 0 else np.full(n, _INF)
        self.left = np.maximum(self.joined, 0.0) + leave_draw

        # adoption state
        self.active = np.full(n, _INF)
        self.reached = np.full(n, _INF)
        self.withdraw_bind = np.full(n, _INF)
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
        self._schedule_checks(np.arange(n), self.first_day, np.zeros(n))

        initial = before & (rng.random(n) < s.initial_active_share)
        pre = np.flatnonzero(initial)
        self.mark_active(pre, -rng.random(len(pre)) * 150.0)  # wallet users before the period

        # merchants
        n_merch = max(1, int(round(n * s.merchants_per_1000_users / 1000)))
        city_pop = np.bincount(self.city, minlength=self.n_cities).astype(float)
        self.m_city = rng.choice(self.n_cities, size=n_merch, p=city_pop / city_pop.sum())
        self.m_accept = np.full(n_merch, _INF)
        first = rng.random(n_merch) < s.initial_merchant_share
        self.m_accept[first] = -rng.random(int(first.sum())) * 100.0
        self.m_threshold = rng.exponential(1.0, n_merch)
        self.m_H = np.zeros(n_merch)
        self.m_category = rng.choice(np.array(["restaurant", "retail", "taxi", "convenience", "services"]),
                                     size=n_merch)
        self.campaign_merchant = -1

        self.days = daily_multipliers(s)
        self.launch_day = s.day_of(s.red_packet_launch)
        self.next_packet = 1
        self.next_transfer = 1
        self.next_payment = 1
        self.next_scan = 1
        self.pending: list[_PacketBatch] = []

    # ------------------------------------------------------- state updates
    def mark_active(self, users: np.ndarray, times: np.ndarray) -> None:
        """Set users active at ``times`` and keep the per-city counts and the active list."""
        self.active[users] = times
        from_day = np.clip(np.floor(times).astype(np.int64) + 1, 0, self.n_days + 1)
        np.add.at(self.active_delta, (from_day, self.city[users]), 1.0)
        leaves = self.end_day[users] > from_day
        np.add.at(self.active_delta, (self.end_day[users][leaves], self.city[users][leaves]), -1.0)
        self.active_ids[self.n_active:self.n_active + len(users)] = users
        self.n_active += len(users)

    def _schedule_checks(self, users: np.ndarray, from_day: np.ndarray, hazard_so_far: np.ndarray) -> None:
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
        users = users[(self.active[users] == _INF) & (self.end_day[users] > day)]
        c = self.city[users]
        hazard = self.org_base[users] * (self.city_factor[day + 1, c] - self.city_factor[self.first_day[users], c])
        crossed = hazard >= self.org_threshold[users]
        self._schedule_checks(users[~crossed], np.full(int((~crossed).sum()), day + 1), hazard[~crossed])
        return users[crossed]

    def sample_active(self, rate: np.ndarray | float, rate_max: float, day: int) -> np.ndarray:
        """Users active before ``day`` and still present, each drawn at its own ``rate`` (thinning).

        ``rate`` is a per-user array (or a constant) and ``rate_max`` its upper bound; proposals are drawn
        uniformly from the active list and kept with probability rate / rate_max.
        """
        pool = self.n_active_before
        if pool == 0 or rate_max <= 0:
            return np.zeros(0, dtype=np.int64)
        k = self.rng.poisson(rate_max * pool)
        who = self.active_ids[self.rng.integers(0, pool, k)]
        keep = self.end_day[who] > day
        if not np.isscalar(rate):
            keep &= self.rng.random(k) * rate_max < rate[who]
        elif rate < rate_max:
            keep &= self.rng.random(k) * rate_max < rate
        return who[keep]

    # ------------------------------------------------------------- helpers
    def times_in_day(self, day: int, size: int, evening: bool = False) -> np.ndarray:
        profile = EVE_DIURNAL if evening else DIURNAL
        hours = self.rng.choice(24, size=size, p=profile / profile.sum())
        return day + (hours + self.rng.random(size)) / 24.0

    def present_at(self, users: np.ndarray, times: np.ndarray) -> np.ndarray:
        return (self.joined[users] <= times) & (self.left[users] > times)

    def random_friend(self, users: np.ndarray) -> np.ndarray:
        """A random friend of each user (-1 for users without friends)."""
        deg = self.g.degree[users]
        pick = self.g.indptr[users] + (self.rng.random(len(users)) * deg).astype(np.int64)
        return np.where(deg > 0, self.g.indices[np.minimum(pick, max(len(self.g.indices) - 1, 0))], -1)

    def present_friend(self, users: np.ndarray, times: np.ndarray, tries: int = 4) -> np.ndarray:
        """A random friend of each user who is on WeChat at ``times`` (-1 if none was found)."""
        friend = self.random_friend(users)
        for _ in range(tries):
            missing = np.flatnonzero((friend >= 0) & ~self.present_at(np.maximum(friend, 0), times))
            if len(missing) == 0:
                break
            friend[missing] = self.random_friend(users[missing])
        bad = (friend < 0) | ~self.present_at(np.maximum(friend, 0), times)
        return np.where(bad, -1, friend)

    def random_group(self, users: np.ndarray) -> np.ndarray:
        """A random chat group of each user (-1 for users in no group)."""
        n_groups = self.ug_indptr[users + 1] - self.ug_indptr[users]
        pick = self.ug_indptr[users] + (self.rng.random(len(users)) * n_groups).astype(np.int64)
        return np.where(n_groups > 0, self.ug_groups[np.minimum(pick, max(len(self.ug_groups) - 1, 0))], -1)

    def amounts(self, median: float | np.ndarray, size: int, high: int = MAX_PACKET_CENTS) -> np.ndarray:
        """Lognormal amounts in whole cents around ``median``, between 1 cent and ``high``."""
        draw = np.round(self.rng.lognormal(np.log(median), self.s.amount_sigma, size)).astype(np.int64)
        return np.clip(draw, 1, high)

    # ----------------------------------------------------------- receiving
    def receive(self, users: np.ndarray, times: np.ndarray, day: int) -> None:
        """Record receipts; at a user's first receipt, draw the time of their receipt-driven activation."""
        if len(users) == 0:
            return
        users, times = _earliest_per_user(users, times)
        new = self.reached[users] == _INF
        np.minimum.at(self.reached, users, times)
        users, times = users[new], times[new]
        if len(users) == 0:
            return
        s, rng = self.s, self.rng
        # withdrawal binding: some receivers bind a card to cash out
        binds = rng.random(len(users)) < s.withdraw_bind_share
        self.withdraw_bind[users[binds]] = times[binds] + rng.exponential(5.0, int(binds.sum()))
        todo = self.active[users] > times
        users, times = users[todo], times[todo]
        # calibrate: P(active within 90 d) = target, given the user's own organic hazard now
        org_hazard = self.org_base[users] * (1.0 + s.user_merchant_effect * self.merchant_share[self.city[users]])
        survive_org = np.exp(-90.0 * org_hazard)
        f_receipt = np.clip(1.0 - (1.0 - s.target_activation_90d) / survive_org, 1e-6, 1 - 1e-9)
        scale = 90.0 / (-np.log1p(-f_receipt)) ** (1.0 / s.activation_shape)
        delay = scale * rng.weibull(s.activation_shape, len(users))
        when = times + delay
        soon = when < self.n_days
        # activations due today are handled at the start of tomorrow's step, with their own times
        bucket = np.maximum(np.floor(when).astype(np.int64), day + 1)
        for day_idx in np.unique(bucket[soon]):
            pick = soon & (bucket == day_idx)
            self.scheduled[int(day_idx)].append((users[pick], when[pick]))

    # ------------------------------------------------------------ packets
    def send_packets(self, batch: _PacketBatch, day: int) -> None:
        s, rng = self.s, self.rng
        n = len(batch.sender)
        if n == 0:
            return
        sender, time = batch.sender, batch.time
        group = batch.group.copy()
        routine = batch.amount == 0
        want_group = routine & (rng.random(n) < s.group_packet_share)
        group[want_group] = self.random_group(sender[want_group])
        direct = group < 0
        recipient = np.full(n, -1, dtype=np.int64)
        recipient[direct] = self.random_friend(sender[direct])
        ok = ~direct | (recipient >= 0)
        sender, time, group, recipient, direct = sender[ok], time[ok], group[ok], recipient[ok], direct[ok]
        given = batch.amount[ok]
        n = len(sender)
        if n == 0:
            return
        eligible = np.where(direct, 1, self.g_size[np.maximum(group, 0)] - 1)
        shares = np.where(direct, 1, np.clip(1 + rng.poisson(s.mean_shares - 1, n), 1, np.minimum(eligible, MAX_SHARES)))
        shares = shares.astype(np.int64)
        drawn = self.amounts(np.where(direct, s.direct_amount_median_cents, s.group_amount_median_cents), n)
        amount = np.where(given > 0, given, drawn)
        amount = np.clip(np.maximum(amount, shares), 1, MAX_PACKET_CENTS)
        shares = np.minimum(shares, amount)
        ids = np.arange(self.next_packet, self.next_packet + n, dtype=np.int64)
        self.next_packet += n
        lucky = ~direct & (rng.random(n) < s.lucky_share)
        self.out.add("red_packets", packet_id=ids, sender=sender, time=time, amount=amount, shares=shares,
                     group=np.where(direct, -1, group), recipient=recipient)
        np.add.at(self.n_sent, sender, 1)

        # openings: group members (first come, first served) and one-to-one recipients
        g_idx = np.flatnonzero(~direct)
        which, member = gather_rows(self.g.group_indptr, self.g.group_members, group[g_idx])
        rep = g_idx[which]
        opens = (member != sender[rep]) & (rng.random(len(rep)) < s.open_prob)
        rep, member = rep[opens], member[opens]
        delay_h = rng.lognormal(np.log(s.group_claim_delay_minutes / 60.0), 1.5, len(rep))
        d_idx = np.flatnonzero(direct & (rng.random(n) < s.direct_claim_prob))
        d_delay = rng.lognormal(np.log(s.direct_claim_delay_minutes / 60.0), 1.5, len(d_idx))
        packet = np.concatenate([rep, d_idx])
        receiver = np.concatenate([member, recipient[d_idx]])
        hours = np.concatenate([delay_h, d_delay])
        claim_time = time[packet] + hours / 24.0
        here = self.present_at(receiver, claim_time) & (hours <= REFUND_AFTER_HOURS) & (claim_time < self.n_days)
        packet, receiver, hours, claim_time = packet[here], receiver[here], hours[here], claim_time[here]
        win = allocate_claims(packet, hours, shares)
        packet, receiver, claim_time = packet[win], receiver[win], claim_time[win]
        # amounts in opening order: position k of a packet gets the k-th draw of its split
        first = np.r_[True, packet[1:] != packet[:-1]] if len(packet) else np.zeros(0, dtype=bool)
        run_start = np.maximum.accumulate(np.where(first, np.arange(len(packet)), 0)) if len(packet) else first
        position = np.arange(len(packet)) - run_start
        opened = np.bincount(packet, minlength=n)
        parts = split_lucky(amount[lucky], shares[lucky], seed=rng, draws=opened[lucky])
        lucky_start = np.zeros(n, dtype=np.int64)
        lucky_start[lucky] = np.cumsum(opened[lucky]) - opened[lucky]
        a, k = amount[packet], shares[packet]
        fixed_amount = a // k + (position < a % k)  # split_fixed, share by share
        lucky_slot = np.where(lucky[packet], lucky_start[packet] + position, 0)
        claim_amount = np.where(lucky[packet], parts[lucky_slot] if len(parts) else 0, fixed_amount)
        self.out.add("red_packet_claims", packet_id=ids[packet], receiver=receiver, time=claim_time,
                     amount=claim_amount)
        self.receive(receiver, claim_time, day)

        # gift contagion: active receivers of group shares send back into the same group; a new packet of a
        # typical size is sent with a probability that makes the expected money sent back
        # contagion_units_back per unit received, the luckiest draw weighing boost-times more
        in_group = ~direct[packet] & (self.active[receiver] <= claim_time)
        if in_group.any() and s.contagion_units_back > 0:
            best = np.zeros(n, dtype=np.int64)
            np.maximum.at(best, packet, claim_amount)
            luckiest = claim_amount == best[packet]
            total = np.bincount(packet, weights=claim_amount, minlength=n)
            weight = np.where(luckiest, s.luckiest_boost, 1.0)
            norm = total / np.maximum(total + (s.luckiest_boost - 1.0) * best, 1.0)
            expected_back = s.contagion_units_back * claim_amount * weight * norm[packet]
            size = self.amounts(s.group_amount_median_cents, len(packet))
            prob = np.minimum(expected_back / size, 1.0)
            size = np.maximum(size, expected_back)
            back = in_group & (rng.random(len(packet)) < prob)
            back_amount = np.round(size[back]).astype(np.int64)
            back_time = claim_time[back] + np.minimum(rng.exponential(3.0, int(back.sum())), 23.9) / 24.0
            keep = (back_amount >= 1) & (back_time < self.n_days) & self.present_at(receiver[back], back_time)
            self.pending.append(_PacketBatch(receiver[back][keep], back_time[keep], group[packet][back][keep],
                                             np.clip(back_amount[keep], 1, MAX_PACKET_CENTS)))

    # ----------------------------------------------------------- activation
    def activate(self, users: np.ndarray, times: np.ndarray, day: int,
                 merchants_by_city: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Mark users active at ``times`` and write their first own payment action."""
        if len(users) == 0:
            return
        users, times = _earliest_per_user(users, times)
        ok = (self.active[users] == _INF) & self.present_at(users, times)
        users, times = users[ok], times[ok]
        rng, s = self.rng, self.s
        m_start, m_count, m_list = merchants_by_city
        has_merchant = m_count[self.city[users]] > 0
        has_friend = self.g.degree[users] > 0
        packets_on = s.red_packets and day >= self.launch_day
        # the first action: a payment where local merchants accept, else a red packet or a transfer
        in_group = (self.ug_indptr[users + 1] - self.ug_indptr[users]) > 0
        friend = self.present_friend(users, times)
        merchant = self.local_merchant(users, merchants_by_city)
        # a late-processed activation may fall before the chosen merchant's acceptance: then no payment
        can_pay = has_merchant & (self.m_accept[np.maximum(merchant, 0)] <= times)
        pay = can_pay & ((rng.random(len(users)) < 0.5) | ((friend < 0) & ~in_group))
        packet = ~pay & packets_on & (in_group | has_friend) & ((rng.random(len(users)) < 0.5) | (friend < 0))
        transfer = ~pay & ~packet & (friend >= 0)
        acting = pay | packet | transfer
        users, times, friend, merchant = users[acting], times[acting], friend[acting], merchant[acting]
        pay, packet, transfer = pay[acting], packet[acting], transfer[acting]
        self.mark_active(users, times)
        self.pay(users[pay], times[pay], merchants_by_city, merchant=merchant[pay])
        self.pending.append(_PacketBatch(users[packet], times[packet], np.full(int(packet.sum()), -1),
                                         np.zeros(int(packet.sum()), dtype=np.int64)))
        self.transfer(users[transfer], times[transfer], day, receivers=friend[transfer])

    def transfer(self, senders: np.ndarray, times: np.ndarray, day: int,
                 receivers: np.ndarray | None = None) -> None:
        if receivers is None:
            receivers = self.present_friend(senders, times, tries=0)
        ok = receivers >= 0
        senders, times, receivers = senders[ok], times[ok], receivers[ok]
        n = len(senders)
        if n == 0:
            return
        amount = self.amounts(self.s.transfer_amount_median_cents, n, high=min(100 * self.s.transfer_amount_median_cents, 2**31 - 1))
        ids = np.arange(self.next_transfer, self.next_transfer + n, dtype=np.int64)
        self.next_transfer += n
        self.out.add("transfers", transfer_id=ids, sender=senders, receiver=receivers, time=times, amount=amount)
        self.receive(receivers, times, day)

    def pay(self, users: np.ndarray, times: np.ndarray,
            merchants_by_city: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
            merchant: np.ndarray | None = None, scan: np.ndarray | None = None) -> None:
        """Write payments; each at ``merchant``, or at a random accepting merchant in the user's city."""
        n = len(users)
        if n == 0:
            return
        if merchant is None:
            assert merchants_by_city is not None
            merchant = self.local_merchant(users, merchants_by_city)
        amount = self.amounts(self.s.payment_amount_median_cents, n, high=10_000_000)
        ids = np.arange(self.next_payment, self.next_payment + n, dtype=np.int64)
        self.next_payment += n
        self.out.add("payments", payment_id=ids, user=users, merchant=merchant, time=times, amount=amount,
                     scan=np.full(n, -1, dtype=np.int64) if scan is None else scan)

    def local_merchant(self, users: np.ndarray, merchants_by_city: tuple[np.ndarray, np.ndarray, np.ndarray]
                       ) -> np.ndarray:
        """A random accepting merchant in each user's city (-1 where there is none)."""
        m_start, m_count, m_list = merchants_by_city
        c = self.city[users]
        pick = m_start[c] + (self.rng.random(len(users)) * m_count[c]).astype(np.int64)
        return np.where(m_count[c] > 0, m_list[np.minimum(pick, max(len(m_list) - 1, 0))] if len(m_list) else -1, -1)

    # ------------------------------------------------------------ campaign
    def campaign_day(self, day: int, merchants_by_city: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        s, rng = self.s, self.rng
        city_users = self.campaign_users
        rate = s.campaign_scans_per_1000_users * self.n / 1000.0
        channel, user, time, referrer, conv = [], [], [], [], []
        for k, (_channel, _placement, share, conversion) in enumerate(CAMPAIGN_CHANNELS):
            m = rng.poisson(rate * share)
            channel.append(np.full(m, k))
            user.append(city_users[rng.integers(0, len(city_users), m)] if len(city_users) else np.full(m, -1))
            time.append(self.times_in_day(day, m))
            referrer.append(np.full(m, -1))
            conv.append(np.full(m, conversion))
        gen_user, gen_time = np.concatenate(user), np.concatenate(time)
        gen_ref, gen_conv = np.concatenate(referrer), np.concatenate(conv)
        gen_channel = np.concatenate(channel)
        for _generation in range(50):
            n = len(gen_user)
            if n == 0:
                break
            anonymous = rng.random(n) < ANONYMOUS_SCAN_SHARE
            here = self.present_at(np.maximum(gen_user, 0), gen_time) & (gen_user >= 0)
            scan_user = np.where(anonymous | ~here, -1, gen_user)
            ids = np.arange(self.next_scan, self.next_scan + n, dtype=np.int64)
            self.next_scan += n
            self.out.add("scans", scan_id=ids, channel=gen_channel, time=gen_time, user=scan_user, referrer=gen_ref)
            can_buy = (scan_user >= 0) & (self.active[np.maximum(scan_user, 0)] < gen_time)
            buys = can_buy & (rng.random(n) < gen_conv)
            buy_time = gen_time + rng.lognormal(np.log(5 / 1440), 0.8, n)
            buys &= buy_time < self.n_days
            buy_time = buy_time[buys]
            self.pay(scan_user[buys], buy_time, merchants_by_city,
                     merchant=np.full(int(buys.sum()), self.campaign_merchant), scan=ids[buys])
            shares = rng.random(int(buys.sum())) < s.share_prob
            sharer = scan_user[buys][shares]
            share_time = buy_time[shares] + rng.exponential(0.02, len(sharer))
            counts = rng.poisson(s.referred_scans_per_share, len(sharer))
            ref_user = np.repeat(sharer, counts)
            gen_user = self.random_friend(ref_user)
            gen_time = np.repeat(share_time, counts) + rng.exponential(0.25, len(ref_user))
            gen_ref = ref_user
            gen_conv = np.full(len(ref_user), MOMENTS_CONVERSION)
            gen_channel = np.full(len(ref_user), len(CAMPAIGN_CHANNELS))
            keep = gen_time < self.n_days
            gen_user, gen_time, gen_ref, gen_conv, gen_channel = (gen_user[keep], gen_time[keep], gen_ref[keep],
                                                                  gen_conv[keep], gen_channel[keep])

    def follow_up(self) -> None:
        """The O2O loop after the campaign: follow-up messages to a random share of buyers, return visits.

        Runs after the last day: it appends rows and leaves every earlier event as it was. Each buyer
        comes back to the campaign's merchant as a Poisson process at ``return_rate``, multiplied by
        ``follow_up_lift`` from the moment a follow-up message reaches them.
        """
        s, rng, merchant = self.s, self.rng, self.campaign_merchant
        pay_merchant = self.out.peek("payments", "merchant", np.int64)
        pay_scan = self.out.peek("payments", "scan", np.int64)
        bought = (pay_merchant == merchant) & (pay_scan >= 0)
        if not bought.any() or s.return_rate <= 0:
            return
        users, first = _earliest_per_user(self.out.peek("payments", "user", np.int64)[bought],
                                          self.out.peek("payments", "time", np.float64)[bought])
        message_at = first + 1.0 + rng.random(len(users)) / 24.0
        messaged = ((rng.random(len(users)) < s.follow_up_share) & (message_at < self.n_days)
                    & (self.left[users] > message_at))
        n_msg = int(messaged.sum())
        self.out.add("messages", message_id=np.arange(1, n_msg + 1, dtype=np.int64), user=users[messaged],
                     time=message_at[messaged])
        lift_from = np.where(messaged, message_at, _INF)
        end = np.minimum(float(self.n_days), self.left[users])
        for back, when in stepped_poisson(first, lift_from, s.return_rate, s.follow_up_lift, end, rng):
            self.pay(users[back], when, None, merchant=np.full(len(back), merchant))


def simulate(scenario: Scenario | str = "default", *, graph: SocialGraph | None = None, seed: SeedLike = None,
             progress: bool = False) -> EventLog:
    """Simulate the red-packet world and return its event log.

    Parameters
    ----------
    scenario : Scenario or str, default "default"
        Parameters, or the name of a named scenario.
    graph : SocialGraph, optional
        The social graph to run on (for example :meth:`SocialGraph.from_networkx`); by default one is
        generated with :func:`~adoption.graph.generate_graph` (``n_users``, ``mean_degree``, ``n_cities``).
    seed : int or numpy Generator, optional
        Source of all randomness (graph and events).
    progress : bool, default False
        Show a progress bar over the simulated days.

    Returns
    -------
    EventLog
        All twelve tables, valid under the contract; ``meta`` holds the window, scenario and seed.

    Examples
    --------
    >>> log = simulate(Scenario(n_users=500, end="2014-03-31"), seed=1)
    >>> log.validate().ok, len(log.users)
    (True, 500)
    >>> simulate(Scenario(n_users=500, end="2014-03-31"), seed=1).red_packets.equals(log.red_packets)
    True
    """
    world = _run_world(scenario, graph, seed, progress)
    tables = dict(_tables(world))
    return EventLog(**tables, meta=_meta(world, seed))


def simulate_to(path: str | os.PathLike[str], scenario: Scenario | str = "default", *,
                graph: SocialGraph | None = None, seed: SeedLike = None, progress: bool = False,
                overwrite: bool = False, format: Literal["parquet", "csv"] = "parquet") -> dict[str, int]:
    """Simulate and write the event log table by table, for runs too big to hold as one EventLog.

    Same parameters and output as :func:`simulate` followed by :meth:`EventLog.write`, but each table is
    written (atomically, into a folder renamed at the end) and released before the next is built.

    Returns
    -------
    dict
        Rows written per table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "log"
    >>> rows = simulate_to(out, Scenario(n_users=300, end="2014-02-28"), seed=1)
    >>> rows["users"], (out / "users.parquet").exists()
    (300, True)
    """
    world = _run_world(scenario, graph, seed, progress)
    rows: dict[str, int] = {}
    with log_writer(path, overwrite=overwrite, format=format) as write_table:
        for name, frame in _tables(world):
            typed, problems = coerce_table(name, frame)
            if problems:
                raise InvalidEventLog(problems)
            write_table(name, typed)
            rows[name] = len(frame)
            del typed, frame
        write_table(META_FILE, _meta(world, seed))
    return rows


def simulate_states(scenario: Scenario | str = "default", *, graph: SocialGraph | None = None,
                    seed: SeedLike = None) -> pd.DataFrame:
    """The simulator's true daily state: shares of users active and reached, merchants accepting.

    Unlike curves read from the event log, this counts users who were paying before the period (they have
    no first action in the log) and is exact at the start of each day. It is what a mean-field model
    (:mod:`adoption.meanfield`) should reproduce.

    Returns
    -------
    DataFrame indexed by day number (0 = the scenario's start) with ``users_active``, ``users_reached``
    (received money, or active) and ``merchants_accepting``, each as a share of all users/merchants.

    Examples
    --------
    >>> states = simulate_states(Scenario(n_users=500, end="2014-03-31", campaigns=False), seed=1)
    >>> bool(states["users_active"].is_monotonic_increasing)
    True
    """
    w = _run_world(scenario, graph, seed, progress=False)
    days = np.arange(w.n_days + 1, dtype=float)
    active = np.sort(w.active)
    reached = np.sort(np.minimum(w.active, w.reached))
    merchants = np.sort(w.m_accept[np.arange(len(w.m_accept)) != w.campaign_merchant])
    return pd.DataFrame({
        "users_active": np.searchsorted(active, days, side="left") / max(w.n, 1),
        "users_reached": np.searchsorted(reached, days, side="left") / max(w.n, 1),
        "merchants_accepting": np.searchsorted(merchants, days, side="left") / max(len(merchants), 1),
    }, index=pd.Index(days.astype(int), name="day"))


#: Peak memory per user of a two-year run at 10 friends per user (measured: 10M users, 15.3 GB).
BYTES_PER_USER = 1_600


def available_memory() -> int:
    """Bytes of memory this machine can give a new run (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(scenario: Scenario) -> None:
    """Refuse, before any work, a run that cannot fit in this machine's memory.

    Raises
    ------
    ParameterError
        Naming ``n_users``, the memory the run needs and how many users fit.
    """
    scale = max(scenario.mean_degree / 10.0, 0.5) * max(scenario.n_days / 730.0, 0.5)
    need = BYTES_PER_USER * scale * scenario.n_users
    have = available_memory()
    if need > 0.9 * have:
        fits = int(0.9 * have / (BYTES_PER_USER * scale))
        raise ParameterError(f"n_users: {scenario.n_users:,} users need about {need / 2**30:,.0f} GiB of memory; this "
                             f"machine has {have / 2**30:,.0f} GiB available (at most about {fits:,} users)")


def _run_world(scenario: Scenario | str, graph: SocialGraph | None, seed: SeedLike, progress: bool) -> _World:
    s = Scenario.named(scenario) if isinstance(scenario, str) else scenario
    check_memory(s)
    rng = as_generator(seed)
    if graph is None:
        graph = generate_graph(s.n_users, mean_degree=s.mean_degree, n_cities=s.n_cities, seed=rng)
    world = _World(s, graph, rng)
    _run(world, progress)
    return world


def _merchants_by_city(w: _World, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accepting merchants (before ``day``) grouped by city: (start, count, merchant indices)."""
    accepting = np.flatnonzero(w.m_accept < day)
    if w.campaign_merchant >= 0:
        accepting = accepting[accepting != w.campaign_merchant]
    order = accepting[np.argsort(w.m_city[accepting], kind="stable")]
    count = np.bincount(w.m_city[order], minlength=w.n_cities)
    start = np.zeros(w.n_cities, dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    return start, count, order


def _run(w: _World, progress: bool) -> None:
    s, rng = w.s, w.rng
    n_cities = w.n_cities
    city_pop_m = np.maximum(np.bincount(w.m_city, minlength=n_cities), 1)
    subsidy = (w.s.day_of(s.subsidy_start), w.s.day_of(s.subsidy_end) + 1)
    campaign_from = s.day_of(s.campaign_start)
    campaign_to = campaign_from + s.campaign_days
    if s.campaigns and campaign_from < w.n_days:
        w.m_city = np.r_[w.m_city, 0]
        w.m_accept = np.r_[w.m_accept, max(campaign_from - 1.0, -1.0)]
        w.m_threshold = np.r_[w.m_threshold, _INF]
        w.m_H = np.r_[w.m_H, 0.0]
        w.m_category = np.append(w.m_category.astype(object), "events")
        w.campaign_merchant = len(w.m_accept) - 1
        w.campaign_users = np.flatnonzero(w.city == 0)
    mult = w.days
    packets_mult = mult["packets"].to_numpy()
    transfers_mult = mult["transfers"].to_numpy()
    evening = mult["evening"].to_numpy()
    habit_max = 1.0 + s.habit_gain * s.habit_cap
    for day in tqdm(range(w.n_days), desc="simulating days", unit="day", disable=not progress, leave=False):
        w.n_active_before = w.n_active
        w.active_count += w.active_delta[day]
        user_share = w.active_count / np.maximum(w.present_count[day], 1.0)
        # merchants: cross-side adoption
        accepting = w.m_accept < day
        w.merchant_share = np.bincount(w.m_city, weights=accepting, minlength=n_cities) / city_pop_m
        h_m = s.merchant_base_hazard + s.merchant_user_effect * user_share[w.m_city]
        if subsidy[0] <= day < subsidy[1]:
            h_m = h_m + s.merchant_subsidy_hazard
        waiting = ~accepting
        w.m_H[waiting] += h_m[waiting]
        adopt = waiting & (w.m_H >= w.m_threshold)
        w.m_accept[adopt] = day + rng.random(int(adopt.sum()))
        merchants = _merchants_by_city(w, day)
        # organic adoption (homophily, big cities, the local merchant share) and receipt-driven activations
        w.city_factor[day + 1] = w.city_factor[day] + 1.0 + s.user_merchant_effect * w.merchant_share
        organic = w.organic_today(day)
        due = w.scheduled.pop(day, [])
        act_users = np.concatenate([organic, *[u for u, _ in due]]).astype(np.int64)
        act_times = np.concatenate([day + rng.random(len(organic)), *[t for _, t in due]])
        w.activate(act_users, act_times, day, merchants)

        # routine activity of users active before today
        if s.red_packets and day >= w.launch_day:
            base = s.send_rate * packets_mult[day]
            rate = base * w.sociability * (1.0 + s.habit_gain * np.minimum(w.n_sent, s.habit_cap))
            who = w.sample_active(rate, base * w.sociability_max * habit_max, day)
            w.pending.append(_PacketBatch(who, w.times_in_day(day, len(who), bool(evening[day])),
                                          np.full(len(who), -1), np.zeros(len(who), dtype=np.int64)))
        if s.transfer_rate > 0:
            base = s.transfer_rate * transfers_mult[day]
            who = w.sample_active(base * w.sociability, base * w.sociability_max, day)
            w.transfer(who, w.times_in_day(day, len(who)), day)
        m_start, m_count, m_list = merchants
        if s.payment_rate > 0:
            who = w.sample_active(s.payment_rate, s.payment_rate, day)
            who = who[m_count[w.city[who]] > 0]
            w.pay(who, w.times_in_day(day, len(who)), merchants)
        # packets: routine, first actions and gift contagion (rounds until today's are done)
        for _round in range(100):
            if not w.pending:
                break
            batch = _PacketBatch.concat(w.pending)
            now = batch.time < day + 1
            w.pending = []
            if not now.any():  # everything left is sent after midnight: tomorrow's work
                if len(batch.time):
                    w.pending.append(batch)
                break
            w.send_packets(batch.take(now), day)
            if not now.all():
                w.pending.append(batch.take(~now))
        if s.campaigns and campaign_from <= day < campaign_to:
            w.campaign_day(day, merchants)
    if s.campaigns and campaign_from < w.n_days:
        w.follow_up()


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A DataFrame that keeps each column's array as it is (no copy into a consolidated block)."""
    return pd.DataFrame(columns, copy=False)


def _tables(w: _World) -> Iterator[tuple[str, pd.DataFrame]]:
    """The contract's tables, built one at a time (each buffer is released once its table is built)."""
    s, out, g = w.s, w.out, w.g
    start = w.start
    end_day = float(w.n_days)
    names = np.asarray(g.city_names)

    def ts(days: np.ndarray) -> pd.Series:
        seconds = np.floor(np.asarray(days, dtype=np.float64) * 86400.0).astype(np.int64)
        return pd.Series(start.to_datetime64() + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")

    def nullable(ids: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(np.where(ids >= 0, ids + 1, 0).astype(np.int64), ids < 0)

    def col(table: str, name: str, dtype: type = np.int64) -> np.ndarray:
        return out.get(table, name, dtype)

    left = np.where(w.left < end_day, w.left, np.nan)
    yield "users", _frame({"user_id": np.arange(1, w.n + 1, dtype=np.int64), "joined_at": ts(w.joined),
                           "city": pd.array(names[g.city], dtype="string"),
                           "left_at": ts(np.nan_to_num(left, nan=0.0)).where(~np.isnan(left))})
    accepted = np.flatnonzero(w.m_accept < end_day)
    yield "merchants", _frame({"merchant_id": accepted.astype(np.int64) + 1,
                               "accepts_from": ts(w.m_accept[accepted]),
                               "category": pd.array(w.m_category[accepted], dtype="string"),
                               "city": pd.array(names[w.m_city[accepted]], dtype="string")})
    a, b = g.edges()
    yield "friendships", _frame({"user_a": a.astype(np.int64) + 1, "user_b": b.astype(np.int64) + 1,
                                 "since": ts(np.maximum(w.joined[a], w.joined[b]))})
    del a, b
    group_ids = np.arange(1, g.n_groups + 1, dtype=np.int64)
    yield "groups", _frame({"group_id": group_ids,
                            "kind": pd.array(np.asarray(GROUP_KINDS)[g.group_kind], dtype="string")})
    yield "group_members", _frame({"group_id": np.repeat(group_ids, g.group_size),
                                   "user_id": g.group_members.astype(np.int64) + 1})
    yield "red_packets", _frame({
        "packet_id": col("red_packets", "packet_id"),
        "sender_id": col("red_packets", "sender") + 1,
        "sent_at": ts(col("red_packets", "time", np.float64)),
        "amount_cents": col("red_packets", "amount"),
        "shares": col("red_packets", "shares"),
        "group_id": nullable(col("red_packets", "group")),
        "recipient_id": nullable(col("red_packets", "recipient")),
    })
    yield "red_packet_claims", _frame({
        "packet_id": col("red_packet_claims", "packet_id"),
        "receiver_id": col("red_packet_claims", "receiver") + 1,
        "claimed_at": ts(col("red_packet_claims", "time", np.float64)),
        "amount_cents": col("red_packet_claims", "amount"),
    })
    yield "transfers", _frame({
        "transfer_id": col("transfers", "transfer_id"),
        "sender_id": col("transfers", "sender") + 1,
        "receiver_id": col("transfers", "receiver") + 1,
        "sent_at": ts(col("transfers", "time", np.float64)),
        "amount_cents": col("transfers", "amount"),
    })
    bound = np.minimum(np.where(np.isfinite(w.active), w.active - w.rng.random(w.n) * 0.01, _INF), w.withdraw_bind)
    bound = np.where(w.left > bound, bound, _INF)
    has = np.flatnonzero(bound < end_day)
    yield "card_bindings", _frame({"user_id": has.astype(np.int64) + 1, "bound_at": ts(bound[has])})
    yield "payments", _frame({
        "payment_id": col("payments", "payment_id"),
        "user_id": col("payments", "user") + 1,
        "merchant_id": col("payments", "merchant") + 1,
        "paid_at": ts(col("payments", "time", np.float64)),
        "amount_cents": col("payments", "amount"),
        "scan_id": nullable(col("payments", "scan") - 1),
    })
    channel_names = np.array([c for c, _, _, _ in CAMPAIGN_CHANNELS] + ["moments"], dtype=object)
    placement_names = np.array([p for _, p, _, _ in CAMPAIGN_CHANNELS] + [None], dtype=object)
    channel_code = col("scans", "channel")
    if s.campaigns and len(channel_code):
        yield "scans", _frame({
            "scan_id": col("scans", "scan_id"),
            "campaign": pd.array(np.full(len(channel_code), f"concert_{s.campaign_start[:4]}"), dtype="string"),
            "channel": pd.array(channel_names[channel_code], dtype="string"),
            "scanned_at": ts(col("scans", "time", np.float64)),
            "user_id": nullable(col("scans", "user")),
            "placement": pd.array(placement_names[channel_code], dtype="string"),
            "referrer_id": nullable(col("scans", "referrer")),
        })
    message_ids = col("messages", "message_id")
    if s.campaigns and len(message_ids):
        yield "messages", _frame({
            "message_id": message_ids,
            "user_id": col("messages", "user") + 1,
            "merchant_id": np.full(len(message_ids), w.campaign_merchant + 1, dtype=np.int64),
            "sent_at": ts(col("messages", "time", np.float64)),
            "campaign": pd.array(np.full(len(message_ids), f"concert_{s.campaign_start[:4]}"), dtype="string"),
        })


def _meta(w: _World, seed: SeedLike) -> dict[str, object]:
    """What the log was made from: window, scenario, seed."""
    return {"source": "adoption.simulate", "scenario": w.s.to_dict(),
            "seed": int(seed) if isinstance(seed, int | np.integer) else None,
            "window_start": str(w.start), "window_end": str(w.start + pd.Timedelta(days=w.n_days)),
            "n_merchants": int(len(w.m_accept)), "n_users": int(w.n)}
