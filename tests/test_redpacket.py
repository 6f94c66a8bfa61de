"""The lucky-money split and first-come-first-served claims."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adoption.errors import ParameterError
from adoption.world.redpacket import allocate_claims, split_fixed, split_lucky

packets = st.lists(st.tuples(st.integers(1, 100), st.integers(0, 20_000)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(packets, st.integers(0, 2**32 - 1))
def test_lucky_split_rules(spec, seed):
    shares = np.array([k for k, _ in spec])
    amount = shares + np.array([extra for _, extra in spec])  # at least a cent per share
    parts = split_lucky(amount, shares, seed=seed)
    assert len(parts) == shares.sum()
    assert parts.dtype == np.int64
    assert parts.min() >= 1
    start = np.r_[0, np.cumsum(shares)[:-1]]
    assert np.array_equal(np.add.reduceat(parts, start), amount)  # exact total
    # each draw but the last is at most twice the remaining mean
    for a, k, s0 in zip(amount, shares, start, strict=True):
        remaining = a
        for j in range(k - 1):
            assert parts[s0 + j] <= max(1, 2 * remaining / (k - j))
            remaining -= parts[s0 + j]


def _split_lucky_share_by_share(amount, shares, draws, seed):
    """The rule written plainly, one share at a time: position by position, the packets with the most
    draws first (each position's uniforms drawn in that order)."""
    rng = np.random.default_rng(seed)
    order = sorted(range(len(amount)), key=lambda i: -draws[i])  # (a stable sort)
    remaining, parts = list(amount), [[] for _ in amount]
    for position in range(max(draws)):
        drawing = [i for i in order if draws[i] > position]
        for i, u in zip(drawing, rng.random(len(drawing)), strict=True):
            k = shares[i] - position
            draw = remaining[i] if k == 1 else min(max(int(np.floor(u * (2.0 * remaining[i] / k))), 1),
                                                    remaining[i] - (k - 1))
            parts[i].append(draw)
            remaining[i] -= draw
    return [x for packet in parts for x in packet]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 5_000), st.integers(0, 30)), min_size=1, max_size=20),
       st.integers(0, 2**32 - 1))
def test_lucky_split_is_the_rule_share_by_share(spec, seed):
    shares = [k for k, _, _ in spec]
    amount = [k + extra for k, extra, _ in spec]
    draws = [min(d, k) for k, _, d in spec]
    parts = split_lucky(np.array(amount), np.array(shares), seed=np.random.default_rng(seed), draws=np.array(draws))
    assert parts.tolist() == _split_lucky_share_by_share(amount, shares, draws, seed)


@pytest.mark.parametrize("scalar_up_to", [0, 10**9], ids=["arrays", "share by share"])
def test_both_ways_of_drawing_follow_the_rule(monkeypatch, scalar_up_to):
    """Small splits are drawn share by share in Python, larger ones position by position over arrays: each
    way, forced on every split, gives the rule's cents."""
    from adoption.world import redpacket

    monkeypatch.setattr(redpacket, "_SCALAR_DRAWS", scalar_up_to)
    rng = np.random.default_rng(5)
    for seed in range(300):
        n = int(rng.integers(1, 12))
        shares = rng.integers(1, 15, n).tolist()
        amount = [k + int(rng.integers(0, 3_000)) for k in shares]
        draws = [int(rng.integers(0, k + 1)) for k in shares]
        parts = split_lucky(np.array(amount), np.array(shares), seed=seed, draws=np.array(draws))
        assert parts.tolist() == _split_lucky_share_by_share(amount, shares, draws, seed)


def test_per_position_means_are_equal_and_later_spread_larger():
    n, k, amount = 100_000, 5, 1_000
    parts = split_lucky(np.full(n, amount), np.full(n, k), seed=3).reshape(n, k)
    means = parts.mean(axis=0)
    # per-position means equal to the mean share within sampling error and the floor rounding (< 1 cent)
    assert np.all(np.abs(means - amount / k) < 2.0), means
    spread = parts.std(axis=0)
    assert spread[-1] > spread[0]


def test_partial_draws_leave_the_rest_for_the_refund():
    part = split_lucky([1000, 500], [4, 3], seed=9, draws=[2, 3])
    assert len(part) == 5
    assert part[:2].sum() <= 1000 - 2  # a cent left for each unopened share
    assert part[2:].sum() == 500
    # the opened positions have the distribution of the full split's first positions
    n = 50_000
    full = split_lucky(np.full(n, 1000), np.full(n, 4), seed=1).reshape(n, 4)[:, :2]
    opened = split_lucky(np.full(n, 1000), np.full(n, 4), seed=2, draws=np.full(n, 2)).reshape(n, 2)
    assert np.allclose(full.mean(axis=0), opened.mean(axis=0), atol=3)


def test_fixed_split():
    parts = split_fixed([1000, 9], [3, 9])
    assert parts.tolist() == [334, 333, 333] + [1] * 9


@pytest.mark.parametrize(("amount", "shares"), [(2, 3), (10, 0)])
def test_impossible_packets_are_refused(amount, shares):
    with pytest.raises(ParameterError):
        split_lucky(amount, shares, seed=0)


def test_first_come_first_served_and_refund_window():
    packet = np.array([0, 0, 0, 0, 1, 1])
    hours = np.array([3.0, 0.2, 1.0, 0.5, 25.0, 2.0])
    won = allocate_claims(packet, hours, np.array([2, 5]))
    assert won.tolist() == [1, 3, 5]  # the two earliest of packet 0; packet 1's 25-hour opening is refunded


def test_same_seed_same_split_other_seed_differs():
    a = split_lucky(np.full(100, 1000), np.full(100, 10), seed=1)
    b = split_lucky(np.full(100, 1000), np.full(100, 10), seed=1)
    c = split_lucky(np.full(100, 1000), np.full(100, 10), seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
