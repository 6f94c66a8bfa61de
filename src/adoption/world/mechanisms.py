"""The mechanisms of the red-packet world, each a function over :class:`~adoption.world.state.WorldState`.

receive
    at a user's first receipt, a card may be bound to withdraw, and the time of their receipt-driven
    activation is drawn;
send_packets
    red packets are split (lucky or fixed), claimed first come first served and refunded after 24 h; a
    share received in a group may be answered by a packet back (gift contagion);
activate
    a user becomes active with a first own payment action (a payment, a red packet or a transfer);
transfer, pay
    money sent to a friend; a payment at a local accepting merchant;
merchants_step, routine_senders, send_pending
    merchants adopting with the local share of active users; the day's routine senders; the rounds of
    today's packets.

Constants that are not scenario parameters are named here, with where their value comes from.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit

from adoption.arrays import clip, run_starts
from adoption.world.draws import (
    MerchantsByCity,
    amounts,
    earliest_per_user,
    local_merchant,
    present_at,
    present_friend,
    random_friend,
    random_group,
)
from adoption.world.graph import gather_rows
from adoption.world.redpacket import MAX_PACKET_CENTS, REFUND_AFTER_HOURS, allocate_claims, split_lucky
from adoption.world.state import NEVER, PacketBatch, WorldState
from adoption.world.value import add_payers, redraw, schedule_candidates

__all__ = ["CLAIM_DELAY_SIGMA", "FIRST_ACTION_PACKET_SHARE", "FIRST_ACTION_PAYMENT_SHARE", "GIFT_BACK_MAX_HOURS",
           "GIFT_BACK_MEAN_HOURS", "MAX_PACKET_ROUNDS", "MAX_PAYMENT_CENTS", "MAX_SHARES", "MAX_TRANSFER_MEDIANS",
           "WITHDRAW_BIND_MEAN_DAYS", "activate", "merchants_step", "pay", "receive", "send_packets", "send_pending",
           "transfer"]

#: The most shares a group packet can have (WeChat's limit).
MAX_SHARES = 100
#: Spread (sigma of the log) of the delay between sending and claiming a packet; an assumption chosen so
#: that most shares are claimed within minutes and a tail within hours (WeChat does not publish it).
CLAIM_DELAY_SIGMA = 1.5
#: Mean days between a first receipt and the card bound to withdraw it (an assumption).
WITHDRAW_BIND_MEAN_DAYS = 5.0
#: Gift contagion: mean hours until the packet back (Yuan et al. 2024 measure replies within a day), and
#: the latest hour, so that a reply stays within the 24 hours of their window.
GIFT_BACK_MEAN_HOURS = 3.0
GIFT_BACK_MAX_HOURS = 23.9
#: A first action is a payment with this probability where a local merchant accepts (else a packet or a
#: transfer), and a red packet with this probability among the rest; even odds, an assumption.
FIRST_ACTION_PAYMENT_SHARE = 0.5
FIRST_ACTION_PACKET_SHARE = 0.5
#: A transfer is at most this many times the scenario's median transfer.
MAX_TRANSFER_MEDIANS = 100
#: The largest payment, in cents (100,000 yuan).
MAX_PAYMENT_CENTS = 10_000_000
#: Rounds of packets (routine, first actions, packets back, packets back to those, ...) sent within one day.
#: Gift contagion is subcritical (0.18 back per unit), so the rounds end long before; when the cap is hit the
#: rest is sent the next day and a warning says so.
MAX_PACKET_ROUNDS = 100


def receive(w: WorldState, users: np.ndarray, times: np.ndarray, amounts: np.ndarray, day: int) -> None:
    """Record receipts: money waits in the wallets of users not yet active (it can only be spent or withdrawn
    after binding a card), raising their value; at a first receipt some receivers bind a card to withdraw."""
    if len(users) == 0:
        return
    s, rng = w.s, w.rng
    waiting = w.active[users] > times
    np.add.at(w.waiting_cents, users[waiting], amounts[waiting].astype(np.float64))
    users, times = earliest_per_user(users, times)
    new = w.reached[users] == NEVER
    np.minimum.at(w.reached, users, times)
    # the value of the users still waiting went up: a new activation candidate at the new bound
    still = w.active[users] > times
    redraw(w, users[still], times[still])
    users, times = users[new], times[new]
    if len(users) == 0:
        return
    # withdrawal binding: some receivers bind a card to cash out
    binds = rng.random(len(users)) < s.withdraw_bind_share
    w.withdraw_bind[users[binds]] = times[binds] + rng.exponential(WITHDRAW_BIND_MEAN_DAYS, int(binds.sum()))


def refuse_held_out(w: WorldState, receivers: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The randomized holdout: money sent to a held-out user is refused. Their attempted receipts are kept
    for the truth (never in the log). Returns the mask of receipts that go through."""
    held = w.holdout[receivers]
    if held.any():
        np.minimum.at(w.attempted, receivers[held], times[held])
    return ~held


def send_packets(w: WorldState, batch: PacketBatch, day: int) -> None:
    """Send a batch of red packets: amounts and splits, claims (first come, first served), receipts, and
    gift contagion's packets back (queued in ``w.pending``)."""
    s, rng = w.s, w.rng
    n = len(batch.sender)
    if n == 0:
        return
    sender, time = batch.sender, batch.time
    group = batch.group.copy()
    routine = batch.amount == 0
    want_group = routine & (rng.random(n) < s.group_packet_share)
    group[want_group] = random_group(w, sender[want_group])
    direct = group < 0
    recipient = np.full(n, -1, dtype=np.int64)
    recipient[direct] = random_friend(w, sender[direct])
    ok = ~direct | (recipient >= 0)
    sender, time, group, recipient, direct = sender[ok], time[ok], group[ok], recipient[ok], direct[ok]
    given = batch.amount[ok]
    n = len(sender)
    if n == 0:
        return
    eligible = np.where(direct, 1, w.g_size[np.maximum(group, 0)] - 1)
    shares = np.where(direct, 1, clip(1 + rng.poisson(s.mean_shares - 1, n), 1, np.minimum(eligible, MAX_SHARES)))
    shares = shares.astype(np.int64)
    drawn = amounts(w, np.where(direct, s.direct_amount_median_cents, s.group_amount_median_cents), n)
    amount = np.where(given > 0, given, drawn)
    amount = clip(np.maximum(amount, shares), 1, MAX_PACKET_CENTS)
    shares = np.minimum(shares, amount)
    ids = np.arange(w.next_packet, w.next_packet + n, dtype=np.int64)
    w.next_packet += n
    lucky = ~direct & (rng.random(n) < s.lucky_share)
    w.out.add("red_packets", packet_id=ids, sender=sender, time=time, amount=amount, shares=shares,
                 group=np.where(direct, -1, group), recipient=recipient)
    np.add.at(w.habit_level, sender, np.int32(1))  # a value of the array's dtype: numpy's fast path (20x)
    w.habit_level[sender] = np.minimum(w.habit_level[sender], s.habit_cap)
    w.send_weight[sender] = w.sociability[sender] * w.habit_factor[w.habit_level[sender]]

    # openings: group members (first come, first served) and one-to-one recipients
    g_idx = (~direct).nonzero()[0]
    which, member = gather_rows(w.g.group_indptr, w.g.group_members, group[g_idx])
    rep = g_idx[which]
    opens = (member != sender[rep]) & (rng.random(len(rep)) < expit(w.open_logit[member]))
    rep, member = rep[opens], member[opens]
    delay_h = rng.lognormal(np.log(s.group_claim_delay_minutes / 60.0), CLAIM_DELAY_SIGMA, len(rep))
    d_idx = (direct & (rng.random(n) < s.direct_claim_prob)).nonzero()[0]
    d_delay = rng.lognormal(np.log(s.direct_claim_delay_minutes / 60.0), CLAIM_DELAY_SIGMA, len(d_idx))
    packet = np.concatenate([rep, d_idx])
    receiver = np.concatenate([member, recipient[d_idx]])
    hours = np.concatenate([delay_h, d_delay])
    claim_time = time[packet] + hours / 24.0
    here = present_at(w, receiver, claim_time) & (hours <= REFUND_AFTER_HOURS) & (claim_time < w.n_days)
    packet, receiver, hours, claim_time = packet[here], receiver[here], hours[here], claim_time[here]
    win = allocate_claims(packet, hours, shares)
    packet, receiver, claim_time = packet[win], receiver[win], claim_time[win]
    # amounts in opening order: position k of a packet gets the k-th draw of its split
    first = run_starts(packet)
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(packet)), 0))
    position = np.arange(len(packet)) - run_start
    opened = np.bincount(packet, minlength=n)
    parts = split_lucky(amount[lucky], shares[lucky], seed=rng, draws=opened[lucky])
    lucky_start = np.zeros(n, dtype=np.int64)
    lucky_start[lucky] = np.cumsum(opened[lucky]) - opened[lucky]
    a, k = amount[packet], shares[packet]
    fixed_amount = a // k + (position < a % k)  # split_fixed, share by share
    lucky_slot = np.where(lucky[packet], lucky_start[packet] + position, 0)
    claim_amount = np.where(lucky[packet], parts[lucky_slot] if len(parts) else 0, fixed_amount)
    through = refuse_held_out(w, receiver, claim_time)
    packet, receiver, claim_time, claim_amount = (packet[through], receiver[through], claim_time[through],
                                                  claim_amount[through])
    w.out.add("red_packet_claims", packet_id=ids[packet], receiver=receiver, time=claim_time, amount=claim_amount)
    receive(w, receiver, claim_time, claim_amount, day)

    # gift contagion: active receivers of group shares send back into the same group; a new packet of a
    # typical size is sent with a probability that makes the expected money sent back
    # contagion_units_back per unit received (luckiest_boost times that for the packet's luckiest draw)
    in_group = ~direct[packet] & (w.active[receiver] <= claim_time)
    if in_group.any() and s.contagion_units_back > 0:
        best = np.zeros(n, dtype=np.int64)
        np.maximum.at(best, packet, claim_amount.astype(np.int64, copy=False))
        luckiest = claim_amount == best[packet]
        weight = np.where(luckiest, s.luckiest_boost, 1.0)
        expected_back = s.contagion_units_back * claim_amount * weight
        size = amounts(w, s.group_amount_median_cents, len(packet))
        prob = np.minimum(expected_back / size, 1.0)
        size = np.maximum(size, expected_back)
        back = in_group & (rng.random(len(packet)) < prob)
        back_amount = np.round(size[back]).astype(np.int64)
        back_time = claim_time[back] + np.minimum(rng.exponential(GIFT_BACK_MEAN_HOURS, int(back.sum())), GIFT_BACK_MAX_HOURS) / 24.0
        keep = (back_amount >= 1) & (back_time < w.n_days) & present_at(w, receiver[back], back_time)
        w.pending.append(PacketBatch(receiver[back][keep], back_time[keep], group[packet][back][keep],
                                         clip(back_amount[keep], 1, MAX_PACKET_CENTS)))


def activate(w: WorldState, users: np.ndarray, times: np.ndarray, day: int,
             merchants_by_city: MerchantsByCity) -> None:
    """Mark users active at ``times`` and write their first own payment action."""
    if len(users) == 0:
        return
    users, times = earliest_per_user(users, times)
    ok = (w.active[users] == NEVER) & present_at(w, users, times)
    users, times = users[ok], times[ok]
    rng, s = w.rng, w.s
    m_start, m_count, m_list = merchants_by_city
    has_merchant = m_count[w.city[users]] > 0
    has_friend = w.g.degree[users] > 0
    packets_on = s.red_packets and day >= w.launch_day
    # the first action: a payment where local merchants accept, else a red sending or a transferring
    in_group = (w.ug_indptr[users + 1] - w.ug_indptr[users]) > 0
    friend = present_friend(w, users, times)
    friend = np.where((friend >= 0) & w.holdout[np.maximum(friend, 0)], -1, friend)  # they would refuse it
    merchant = local_merchant(w, users, merchants_by_city)
    # a late-processed activation may fall before the chosen merchant's acceptance: then no payment
    can_pay = has_merchant & (w.m_accept[np.maximum(merchant, 0)] <= times)
    paying = can_pay & ((rng.random(len(users)) < FIRST_ACTION_PAYMENT_SHARE) | ((friend < 0) & ~in_group))
    sending = ~paying & packets_on & (in_group | has_friend) & ((rng.random(len(users)) < FIRST_ACTION_PACKET_SHARE) | (friend < 0))
    transferring = ~paying & ~sending & (friend >= 0)
    acting = paying | sending | transferring
    # nothing to do yet (no accepting merchant, no friend to send to): they try again later
    schedule_candidates(w, users[~acting], times[~acting])
    users, times, friend, merchant = users[acting], times[acting], friend[acting], merchant[acting]
    paying, sending, transferring = paying[acting], sending[acting], transferring[acting]
    w.mark_active(users, times)
    add_payers(w, users, times)
    pay(w, users[paying], times[paying], merchants_by_city, merchant=merchant[paying])
    w.pending.append(PacketBatch(users[sending], times[sending], np.full(int(sending.sum()), -1),
                                 np.zeros(int(sending.sum()), dtype=np.int64)))
    transfer(w, users[transferring], times[transferring], day, receivers=friend[transferring])


def transfer(w: WorldState, senders: np.ndarray, times: np.ndarray, day: int,
             receivers: np.ndarray | None = None) -> None:
    if receivers is None:
        receivers = present_friend(w, senders, times, tries=0)
    ok = receivers >= 0
    senders, times, receivers = senders[ok], times[ok], receivers[ok]
    n = len(senders)
    if n == 0:
        return
    amount = amounts(w, w.s.transfer_amount_median_cents, n,
                     high=min(MAX_TRANSFER_MEDIANS * w.s.transfer_amount_median_cents, 2**31 - 1))
    through = refuse_held_out(w, receivers, times)
    senders, times, receivers, amount = senders[through], times[through], receivers[through], amount[through]
    n = len(senders)
    ids = np.arange(w.next_transfer, w.next_transfer + n, dtype=np.int64)
    w.next_transfer += n
    w.out.add("transfers", transfer_id=ids, sender=senders, receiver=receivers, time=times, amount=amount)
    receive(w, receivers, times, amount, day)


def pay(w: WorldState, users: np.ndarray, times: np.ndarray,
        merchants_by_city: MerchantsByCity | None,
        merchant: np.ndarray | None = None, scan: np.ndarray | None = None) -> None:
    """Write payments; each at ``merchant``, or at a random accepting merchant in the user's city."""
    n = len(users)
    if n == 0:
        return
    if merchant is None:
        assert merchants_by_city is not None
        merchant = local_merchant(w, users, merchants_by_city)
    amount = amounts(w, w.s.payment_amount_median_cents, n, high=MAX_PAYMENT_CENTS)
    ids = np.arange(w.next_payment, w.next_payment + n, dtype=np.int64)
    w.next_payment += n
    w.out.add("payments", payment_id=ids, user=users, merchant=merchant, time=times, amount=amount,
                 scan=np.full(n, -1, dtype=np.int64) if scan is None else scan)


def merchants_step(w: WorldState, day: int, user_share: np.ndarray, merchants_per_city: np.ndarray,
                   subsidised: bool) -> MerchantsByCity:
    """Merchants adopt when accepting is worth its cost: ``merchant_benefit`` times the local share of paying
    users (plus ``merchant_subsidy`` during the subsidy) against each merchant's cost, as a logistic choice
    rate; returns today's accepting merchants by city."""
    s, rng = w.s, w.rng
    accepting = w.m_accept < day
    w.merchant_share = np.bincount(w.m_city, weights=accepting, minlength=w.n_cities) / merchants_per_city
    value = s.merchant_benefit * user_share[w.m_city] + (s.merchant_subsidy if subsidised else 0.0)
    waiting = ~accepting
    w.m_H[waiting] += s.merchant_rate * expit(value[waiting] - w.m_cost[waiting])
    adopt = waiting & (w.m_H >= w.m_threshold)
    w.m_accept[adopt] = day + rng.random(int(adopt.sum()))
    return merchants_by_city(w, day)


def merchants_by_city(w: WorldState, day: int) -> MerchantsByCity:
    """Accepting merchants (before ``day``) grouped by city: (start, count, merchant indices)."""
    accepting = (w.m_accept < day).nonzero()[0]
    accepting = accepting[~w.m_campaign[accepting]]
    order = accepting[w.m_city[accepting].argsort(kind="stable")]
    count = np.bincount(w.m_city[order], minlength=w.n_cities)
    start = np.zeros(w.n_cities, dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    return start, count, order


def send_pending(w: WorldState, day: int) -> None:
    """Send today's packets in rounds (each round's packets back join the next), until none is due today."""
    for _round in range(MAX_PACKET_ROUNDS):
        if not w.pending:
            return
        batch = PacketBatch.concat(w.pending)
        now = batch.time < day + 1
        w.pending = []
        if not now.any():  # everything left is sent after midnight: tomorrow's work
            if len(batch.time):
                w.pending.append(batch)
            return
        send_packets(w, batch.take(now), day)
        if not now.all():
            w.pending.append(batch.take(~now))
    if w.pending and any((b.time < day + 1).any() for b in w.pending):
        warnings.warn(f"day {day}: red packets still due after {MAX_PACKET_ROUNDS} rounds of sending; the rest is "
                      "sent the next day (MAX_PACKET_ROUNDS)", RuntimeWarning, stacklevel=2)
