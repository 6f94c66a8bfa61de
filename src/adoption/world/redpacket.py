"""Red packets: how the money of one packet is split and who gets a share.

The lucky-money ("拼手气") split follows the rule WeChat Pay engineers described publicly in 2015: the
amount of a share is drawn when the share is opened, uniformly on ``[1 cent, 2 x remaining amount /
remaining shares]``, always leaving at least one cent for every share still to come; the last share
takes the remainder. Amounts are integer cents and add up exactly to the packet. Every position has the
same expected amount; later positions have a larger spread.

Group packets may have fewer shares than the group has members: the first members to open get the
shares (first come, first served); shares not claimed within 24 hours are refunded to the sender (a
refund is the packet amount minus the claims; it is not a separate event in the log).

All functions are vectorized over many packets at once.
"""

from __future__ import annotations

import numpy as np

from adoption.arrays import clip, lexsort_int_float, run_starts
from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator

__all__ = ["REFUND_AFTER_HOURS", "allocate_claims", "split_fixed", "split_lucky"]

#: Unclaimed shares go back to the sender after this many hours.
REFUND_AFTER_HOURS = 24.0

#: Per-packet cap at launch: 200 yuan.
MAX_PACKET_CENTS = 20_000


def _check_amounts(amount: np.ndarray, shares: np.ndarray) -> None:
    if amount.shape != shares.shape:
        raise ParameterError("amount_cents, shares: expected arrays of the same length")
    if (shares < 1).any():
        raise ParameterError("shares: expected >= 1 for every packet")
    if (amount < shares).any():
        raise ParameterError("amount_cents: expected at least 1 cent per share for every packet")


def split_lucky(amount_cents: np.ndarray | int, shares: np.ndarray | int, seed: SeedLike = None, *,
                draws: np.ndarray | None = None) -> np.ndarray:
    """Split packets by the lucky-money rule, in integer cents.

    Parameters
    ----------
    amount_cents : int or array of int
        Amount of each packet, in cents (at least one cent per share).
    shares : int or array of int
        Number of shares of each packet (>= 1).
    seed : int or numpy Generator, optional
        Source of randomness.
    draws : array of int, optional
        Draw only the first ``draws[i]`` shares of packet ``i`` (the shares actually opened; the rest is
        refunded). Default: all shares.

    Returns
    -------
    ndarray of int64
        The share amounts, packet after packet, in opening order (``draws[0]`` amounts for the first
        packet, then the second packet's ...). With all shares drawn, each packet's amounts add up exactly
        to its amount.

    Examples
    --------
    >>> parts = split_lucky(1000, 5, seed=1)
    >>> int(parts.sum()), bool(parts.min() >= 1), len(parts)
    (1000, True, 5)
    >>> split_lucky([100, 7], [3, 7], seed=2).tolist()[3:]
    [1, 1, 1, 1, 1, 1, 1]
    """
    amount = np.atleast_1d(np.asarray(amount_cents, dtype=np.int64))
    n_shares = np.atleast_1d(np.asarray(shares, dtype=np.int64))
    _check_amounts(amount, n_shares)
    n_draws = n_shares if draws is None else np.minimum(np.asarray(draws, dtype=np.int64), n_shares)
    rng = as_generator(seed)
    total = int(n_draws.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    if total <= _SCALAR_DRAWS:
        return _split_lucky_scalar(amount.tolist(), n_shares.tolist(), n_draws.tolist(), rng.random(total).tolist())
    out = np.empty(total, dtype=np.int64)
    start = np.zeros(len(amount), dtype=np.int64)
    np.cumsum(n_draws[:-1], out=start[1:])
    # packets with the most draws first, so the packets still drawing at each position are a prefix
    order = np.argsort(-n_draws, kind="stable")
    remaining = amount[order]
    left = n_shares[order]
    first_slot = start[order]
    still = len(amount) - np.bincount(n_draws).cumsum()[:-1]  # the packets drawing at positions 0, 1, ...
    # every position's uniforms in one call: the same numbers, in the same order, as one call per position
    uniforms = rng.random(len(out))
    ends = still.cumsum()
    for position, (m, end) in enumerate(zip(still.tolist(), ends.tolist(), strict=True)):
        r, k = remaining[:m], left[:m]
        # WeChat's rule: floor(U * 2 * remaining mean), at least 1 cent, leaving 1 cent per later share
        # (r - (k - 1) >= 1: a packet keeps at least a cent per share left). A cast to integers is the
        # floor: the product is not negative.
        draw = clip((uniforms[end - m:end] * (2.0 * r / k)).astype(np.int64), 1, r - (k - 1))
        out[first_slot[:m] + position] = draw
        r -= draw
        k -= 1
    # the last share of a packet opened to its end takes the rest: its draw above, plus what it left
    full = (n_draws == n_shares)[order]
    out[first_slot[full] + n_draws[order][full] - 1] += remaining[full]
    return out


#: Up to this many draws, :func:`split_lucky` draws share by share in Python: its array operations, seven a
#: position, cost more than a few packets' arithmetic (the simulator's calls draw 9 shares at the median on a
#: 2,000-user world, 38 on a 20,000-user one).
_SCALAR_DRAWS = 64


def _split_lucky_scalar(amount: list[int], shares: list[int], draws: list[int], uniforms: list[float]) -> np.ndarray:
    """:func:`split_lucky` share by share: the same uniforms for the same draws (position after position,
    packets with the most draws first) and the same floating-point operations on IEEE doubles, so the
    same cents."""
    order = sorted(range(len(amount)), key=draws.__getitem__, reverse=True)  # stable, as the array sort
    slot = [0] * len(amount)
    for i in range(1, len(amount)):
        slot[i] = slot[i - 1] + draws[i - 1]
    position_start, used = [], 0
    for position in range(draws[order[0]]):
        position_start.append(used)
        used += sum(d > position for d in draws)
    out = [0] * len(uniforms)
    for rank, i in enumerate(order):
        r, k = amount[i], shares[i]
        for position in range(draws[i]):
            draw = min(max(int(uniforms[position_start[position] + rank] * (2.0 * r / k)), 1), r - (k - 1))
            out[slot[i] + position] = draw
            r -= draw
            k -= 1
        if draws[i] == shares[i]:
            out[slot[i] + draws[i] - 1] += r
    return np.array(out, dtype=np.int64)


def split_fixed(amount_cents: np.ndarray | int, shares: np.ndarray | int) -> np.ndarray:
    """Split packets into equal shares ("普通红包"); the remainder cents go to the first shares.

    Examples
    --------
    >>> split_fixed(1000, 3).tolist()
    [334, 333, 333]
    """
    amount = np.atleast_1d(np.asarray(amount_cents, dtype=np.int64))
    n_shares = np.atleast_1d(np.asarray(shares, dtype=np.int64))
    _check_amounts(amount, n_shares)
    base = np.repeat(amount // n_shares, n_shares)
    extra = np.repeat(amount % n_shares, n_shares)
    start = np.repeat(np.cumsum(n_shares) - n_shares, n_shares)
    position = np.arange(len(base)) - start
    return base + (position < extra).astype(np.int64)


def allocate_claims(packet: np.ndarray, open_hours: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """First come, first served: which openings of group packets get a share.

    Parameters
    ----------
    packet : array of int
        For each opening attempt, the index of the packet (into ``shares``).
    open_hours : array of float
        Hours after the packet was sent at which the member opens it.
    shares : array of int
        Number of shares of each packet.

    Returns
    -------
    ndarray of int64
        Indices of the winning attempts, ordered by packet and then by opening time; attempts after the
        last share is taken, or later than :data:`REFUND_AFTER_HOURS`, get nothing.

    Examples
    --------
    >>> allocate_claims(np.array([0, 0, 0, 1]), np.array([0.5, 0.1, 0.3, 30.0]), np.array([2, 1])).tolist()
    [1, 2]
    """
    packet = np.asarray(packet, dtype=np.int64)
    open_hours = np.asarray(open_hours, dtype=np.float64)
    order = lexsort_int_float(packet, open_hours)
    p_sorted = packet[order]
    first = run_starts(p_sorted)
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - run_start
    win = (rank < np.asarray(shares, dtype=np.int64)[p_sorted]) & (open_hours[order] <= REFUND_AFTER_HOURS)
    return order[win]
