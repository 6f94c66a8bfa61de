"""Random draws over the world's state: times of day, friends, groups, amounts, active users, merchants.

Helpers the mechanisms share; each draws from the state's one generator, so their call order is part of a
run's determinism.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from adoption.arrays import clip, group_extreme
from adoption.world.calendar import DIURNAL, EVE_DIURNAL
from adoption.world.redpacket import MAX_PACKET_CENTS
from adoption.world.state import WorldState

__all__ = ["FRIEND_TRIES", "MerchantsByCity", "amounts", "earliest_per_user", "local_merchant", "present_at",
           "present_friend", "random_friend", "random_group", "sample_active", "times_in_day"]

#: How many times a present friend is redrawn before giving up (a friend who has left or not yet joined).
FRIEND_TRIES = 4


def _cdf(profile: np.ndarray) -> np.ndarray:
    """The cumulative shares of an hourly profile, as ``Generator.choice`` computes them from ``p``."""
    cdf = (profile / profile.sum()).cumsum()
    cdf /= cdf[-1]
    return cdf


#: The hours of an ordinary day and of a festival evening, cumulative (see :func:`times_in_day`).
_DIURNAL_CDF, _EVE_CDF = _cdf(DIURNAL), _cdf(EVE_DIURNAL)

#: Accepting merchants grouped by city: (first index of each city, count per city, merchant indices).
MerchantsByCity = tuple[np.ndarray, np.ndarray, np.ndarray]


def earliest_per_user(users: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each user once, with their earliest time."""
    return group_extreme(users, times, "min")


def sample_active(w: WorldState, rate: Callable[[np.ndarray], np.ndarray] | float, rate_max: float,
                  day: int) -> np.ndarray:
    """Users active before ``day`` and still present, each drawn at its own ``rate`` (thinning).

    ``rate`` is a constant or a function giving the rates of the users it is passed (evaluated on the
    proposals only, so a day costs O(proposals), not O(users)); ``rate_max`` is its upper bound. Proposals
    are drawn uniformly from the active list and kept with probability rate / rate_max.
    """
    pool = w.n_active_before
    if pool == 0 or rate_max <= 0:
        return np.zeros(0, dtype=np.int64)
    k = w.rng.poisson(rate_max * pool)
    who = w.active_ids[w.rng.integers(0, pool, k)]
    keep = w.end_day[who] > day
    if callable(rate):
        keep &= w.rng.random(k) * rate_max < rate(who)
    elif rate < rate_max:
        keep &= w.rng.random(k) * rate_max < rate
    return who[keep]


def times_in_day(w: WorldState, day: int, size: int, evening: bool = False) -> np.ndarray:
    """``size`` times within ``day``, by the diurnal profile (the festival-evening one when ``evening``)."""
    # rng.choice(24, size, p=profile) as choice draws it (its cumulative shares searched at uniform draws), the
    # same hours, without choice's checks of the shares on each of a run's thousands of calls
    hours = (_EVE_CDF if evening else _DIURNAL_CDF).searchsorted(w.rng.random(size), side="right")
    return day + (hours + w.rng.random(size)) / 24.0


def present_at(w: WorldState, users: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Whether each user is on WeChat at their time (joined, not yet left)."""
    return (w.joined[users] <= times) & (w.left[users] > times)


def random_friend(w: WorldState, users: np.ndarray) -> np.ndarray:
    """A random friend of each user (-1 for users without friends)."""
    deg = w.g.degree[users]
    pick = w.g.indptr[users] + (w.rng.random(len(users)) * deg).astype(np.int64)
    return np.where(deg > 0, w.g.indices[np.minimum(pick, max(len(w.g.indices) - 1, 0))], -1)


def present_friend(w: WorldState, users: np.ndarray, times: np.ndarray, tries: int = FRIEND_TRIES) -> np.ndarray:
    """A random friend of each user who is on WeChat at ``times`` (-1 if none was found)."""
    friend = random_friend(w, users)
    for _ in range(tries):
        missing = ((friend >= 0) & ~present_at(w, np.maximum(friend, 0), times)).nonzero()[0]
        if len(missing) == 0:
            break
        friend[missing] = random_friend(w, users[missing])
    bad = (friend < 0) | ~present_at(w, np.maximum(friend, 0), times)
    return np.where(bad, -1, friend)


def random_group(w: WorldState, users: np.ndarray) -> np.ndarray:
    """A random chat group of each user (-1 for users in no group)."""
    n_groups = w.ug_indptr[users + 1] - w.ug_indptr[users]
    pick = w.ug_indptr[users] + (w.rng.random(len(users)) * n_groups).astype(np.int64)
    return np.where(n_groups > 0, w.ug_groups[np.minimum(pick, max(len(w.ug_groups) - 1, 0))], -1)


def amounts(w: WorldState, median: float | np.ndarray, size: int, high: int = MAX_PACKET_CENTS) -> np.ndarray:
    """Lognormal amounts in whole cents around ``median``, between 1 cent and ``high``."""
    draw = np.round(w.rng.lognormal(np.log(median), w.s.amount_sigma, size)).astype(np.int64)
    return clip(draw, 1, high)


def local_merchant(w: WorldState, users: np.ndarray, merchants_by_city: MerchantsByCity
                   ) -> np.ndarray:
    """A random accepting merchant in each user's city (-1 where there is none)."""
    m_start, m_count, m_list = merchants_by_city
    c = w.city[users]
    pick = m_start[c] + (w.rng.random(len(users)) * m_count[c]).astype(np.int64)
    return np.where(m_count[c] > 0, m_list[np.minimum(pick, max(len(m_list) - 1, 0))] if len(m_list) else -1, -1)
