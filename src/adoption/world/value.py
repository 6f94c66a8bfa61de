"""Value and activation: what the wallet is worth to each user, and when they act on it.

Each user has a latent cost of adopting (binding a card, trust, habit; :class:`~adoption.world.state.WorldState`
draws it: lower for users with many friends and in the large cities, lower for the unobservably engaged).
What the wallet is worth to them moves with what happens to them::

    value = value_money          * log(1 + yuan waiting in the wallet)     (received, unspent)
          + value_paying_friends * log(1 + friends who pay with it)        (peer-to-peer value)
          + value_merchants      * share of local merchants accepting it   (cross-side value)
          + value_festival       * log(the day's red-packet multiplier)    (festival context)

and the activation hazard is a logistic choice rate, ``adoption_rate * sigmoid(value - cost)``: smooth and
increasing in value minus cost. No parameter sets an outcome share; how many receivers activate, and
whether the market tips, come out of this and of who receives what.

The hazard changes only at events (a receipt, a friend activating) and with the day's merchant share and
festival. Activation times are drawn by thinning: each user's next *candidate* comes at a rate that bounds
their hazard until their next event (merchant share 1, the largest festival), and is accepted with
probability hazard / bound. A day's candidates are looked at before the day's events, so an event's new
value counts from the next day, like the merchant share and the festival: the event redraws the candidate
from then at the new bound (exact by memorylessness; starting at the event's own time would give the same
stretch of the day a second chance, 14% too many activations in the test). A day costs O(candidates +
events), never O(users).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from adoption.arrays import group_extreme, run_starts
from adoption.world.graph import gather_rows
from adoption.world.state import NEVER, WorldState

__all__ = ["CENTS_PER_YUAN", "MAX_CANDIDATE_ROUNDS", "activation_hazard", "activations_due", "add_payers", "hazard_bound", "redraw",
           "schedule_candidates", "start_values", "user_value"]

#: Money is valued in yuan: log(1 + cents / CENTS_PER_YUAN).
CENTS_PER_YUAN = 100.0
#: Rounds of a day's candidates (a rejected candidate may be followed by another the same day); with
#: bounds far below one per day the rounds end after two or three.
MAX_CANDIDATE_ROUNDS = 1000


def user_value(w: WorldState, users: np.ndarray, day: int, *, merchant_share: np.ndarray | None = None,
               festival: float | np.ndarray | None = None) -> np.ndarray:
    """The wallet's value to each of ``users`` on ``day`` (see the module docstring).

    ``merchant_share`` (per city) and ``festival`` (one value, or one per user) replace the day's values
    (for the bound). In a batch of worlds that differ in them, each user's world gives the value of money
    and the festival.
    """
    s = w.s
    share = w.merchant_share if merchant_share is None else merchant_share
    batch, today = w.batch_days, min(max(day, 0), len(w.festival) - 1)
    if festival is None:
        festival = w.festival[today] if batch is None else batch.festival[batch.world[users], today]
    money = s.value_money if batch is None else batch.value_money[batch.world[users]]
    return (money * np.log1p(w.waiting_cents[users] / CENTS_PER_YUAN)
            + s.value_paying_friends * np.log1p(w.paying_friends[users])
            + s.value_merchants * share[w.city[users]]
            + s.value_festival * festival)


def activation_hazard(w: WorldState, users: np.ndarray, day: int) -> np.ndarray:
    """Per day: ``adoption_rate * sigmoid(value - cost)`` for each of ``users`` on ``day``."""
    return w.s.adoption_rate * expit(user_value(w, users, day) - w.cost[users])


def hazard_bound(w: WorldState, users: np.ndarray) -> np.ndarray:
    """A rate no smaller than each user's hazard until their next receipt or paying friend: every local
    merchant accepting and the largest festival of the period."""
    full = np.ones(w.n_cities)
    batch = w.batch_days
    festival = w.festival_max if batch is None else batch.festival_max[batch.world[users]]
    return w.s.adoption_rate * expit(user_value(w, users, 0, merchant_share=full, festival=festival)
                                     - w.cost[users])


def schedule_candidates(w: WorldState, users: np.ndarray, times: np.ndarray, rates: np.ndarray | None = None, *,
                        earliest_day: int | None = None) -> None:
    """Draw each user's next activation candidate after ``times`` at ``rates`` (default: their bound).

    A candidate replaces the user's earlier one; candidates past the period are dropped. Candidates that
    fall before ``earliest_day`` (default: the day after the one being simulated) are looked at on that day
    (with their own times).
    """
    if len(users) == 0:
        return
    rates = hazard_bound(w, users) if rates is None else rates
    if not np.all(np.isfinite(times)):
        raise ValueError("schedule_candidates: times must be finite")
    when = times + w.rng.exponential(1.0, len(users)) / np.maximum(rates, 1e-300)
    w.next_candidate[users] = when
    w.candidate_rate[users] = rates
    soon = when < w.n_days
    users, when = users[soon], when[soon]
    first = w.today + 1 if earliest_day is None else earliest_day
    bucket = np.maximum(np.floor(when).astype(np.int64), first)
    order = bucket.argsort(kind="stable")
    users, when, bucket = users[order], when[order], bucket[order]
    cuts = run_starts(bucket).nonzero()[0].tolist() + [len(bucket)]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        w.candidates[int(bucket[a])].append((users[a:b], when[a:b]))


def start_values(w: WorldState) -> None:
    """Before the first day: friends of the users already paying count them, and every other user gets a
    first candidate from when they join."""
    _count_payers(w, w.initial_active)
    waiting = np.flatnonzero(w.active == NEVER)
    schedule_candidates(w, waiting, np.maximum(w.joined[waiting], 0.0))


def _count_payers(w: WorldState, payers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add ``payers`` to their friends' counts; return the (payer index, friend) pairs."""
    which, friends = gather_rows(w.g.indptr, w.g.indices, payers)
    np.add.at(w.paying_friends, friends, np.int32(1))  # the array's dtype: numpy's fast path (20x)
    return which, friends


def add_payers(w: WorldState, users: np.ndarray, times: np.ndarray) -> None:
    """New payers raise their friends' value: each friend not yet active gets a new candidate from then."""
    if len(users) == 0:
        return
    which, friends = _count_payers(w, users)
    waiting = w.active[friends] == NEVER
    friends, when = friends[waiting], times[which][waiting]
    if len(friends):
        friends, when = group_extreme(friends, when, "max")  # the latest new payer among a friend's friends
        redraw(w, friends, np.maximum(when, w.joined[friends]))


def redraw(w: WorldState, users: np.ndarray, times: np.ndarray) -> None:
    """After an event that raised their value at ``times``: a new candidate at the new bound, from the
    next day not yet simulated.

    A user whose pending candidate comes before that keeps it (it is still a candidate of a valid process;
    its own redraw then uses the new bound)."""
    # A day's candidates are looked at before the day's events, so by then every user's process is known
    # up to the end of the day (no candidate left before tomorrow) or up to their last candidate looked at.
    # Starting again earlier would give the same stretch of time a second chance: the new value counts from
    # the next day (hazards change daily, like the merchant share and the festival).
    start = np.maximum(np.maximum(times, w.realized[users]), float(w.today + 1))
    later = w.next_candidate[users] > start
    schedule_candidates(w, users[later], start[later])


def activations_due(w: WorldState, day: int) -> tuple[np.ndarray, np.ndarray]:
    """The users whose activation candidate due today is accepted, with their times; the others get a new
    candidate at their current bound (thinning), looked at again today when it still falls today."""
    accepted_users, accepted_times = [], []
    for _round in range(MAX_CANDIDATE_ROUNDS):
        due = w.candidates.pop(day, [])
        if not due:
            break
        users = np.concatenate([u for u, _ in due]).astype(np.int64)
        times = np.concatenate([t for _, t in due])
        current = (w.next_candidate[users] == times) & (w.active[users] == NEVER) & (w.left[users] > times)
        users, times = users[current], times[current]
        w.realized[users] = times
        accept = w.rng.random(len(users)) * w.candidate_rate[users] < activation_hazard(w, users, day)
        accepted_users.append(users[accept])
        accepted_times.append(times[accept])
        # the rejected draw again; a candidate that still falls today is looked at in the next round
        schedule_candidates(w, users[~accept], times[~accept], earliest_day=day)
    if not accepted_users:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(accepted_users), np.concatenate(accepted_times)
