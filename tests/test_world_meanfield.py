"""The mean field of any scenario (WorldMeanField): it follows the simulator on a well-mixed graph, gives the
simulator's verdict on the named scenarios, and its frontier and smallest push behave."""

from __future__ import annotations

import numpy as np
import pytest

from adoption.world.meanfield import TIP_SHARE, WorldMeanField, well_mixed_graph
from adoption.world.scenario import Scenario
from adoption.world.simulate import simulate_states


@pytest.mark.slow
def test_follows_the_simulator_on_a_well_mixed_graph():
    """Within 0.04 of the mean of four runs (measured: 0.006 at day 100, 0.02 at the end, the mean field ahead)."""
    s = Scenario.named("no_red_packets", n_users=5000, push_share=0.12)
    mean_field = WorldMeanField(s, graph=well_mixed_graph(5000, 10, seed=1)).path()
    sims = [simulate_states(s, graph=well_mixed_graph(5000, 10, seed=k), seed=k) for k in range(4)]
    for day in (100, 300, s.n_days - 1):
        simulated = np.mean([x["users_active"].iloc[day] for x in sims])
        assert mean_field["users_active"].iloc[day] == pytest.approx(simulated, abs=0.04), day
        merchants = np.mean([x["merchants_accepting"].iloc[day] for x in sims])
        assert mean_field["merchants_accepting"].iloc[day] == pytest.approx(merchants, abs=0.08), day


@pytest.mark.slow
@pytest.mark.parametrize("name", ["default", "no_red_packets", "merchant_subsidy_only"])
def test_verdict_agrees_with_the_simulated_run(name):
    s = Scenario.named(name, n_users=5000, campaigns=False)
    simulated = simulate_states(s, seed=1)["users_active"].iloc[-1]
    mean_field = WorldMeanField(s, seed=1)
    assert mean_field.tips() == (simulated >= TIP_SHARE)
    assert mean_field.final_share() == pytest.approx(simulated, abs=0.12)


@pytest.mark.slow
def test_red_packets_are_money_flowing_in():
    with_packets = WorldMeanField(Scenario.named("default", n_users=3000), seed=1)
    without = WorldMeanField(Scenario.named("no_red_packets", n_users=3000), seed=1)
    a, b = with_packets.path(), without.path()
    assert a["users_reached"].iloc[-1] > b["users_reached"].iloc[-1] + 0.3
    assert with_packets.smallest_push() == 0.0 < without.smallest_push() < 0.5


@pytest.mark.slow
def test_frontier_falls_as_merchants_start_higher():
    mf = WorldMeanField(Scenario.named("no_red_packets", n_users=3000), seed=1)
    frontier = mf.frontier(np.array([0.0, 0.2, 0.4]), tol=0.01)
    users = frontier["users_start"].to_numpy()
    assert np.all(np.isfinite(users)) and np.all(np.diff(users) <= 1e-9)
    # a start on the frontier tips, one clearly below it does not
    u0, m0 = users[1], 0.2
    assert mf.tips((u0 + 0.01, m0), push=0.0) and not mf.tips((max(u0 - 0.05, 0.0), m0), push=0.0)
    # searched from a grid's bracket (the phase portrait's way), the same frontier to within the tolerance
    grid = mf.outcome_grid(np.array([0.0, 0.1, 0.3]), np.array([0.0, 0.2, 0.4]))
    bracketed = mf.frontier(np.array([0.0, 0.2, 0.4]), tol=0.01, known=grid)["users_start"].to_numpy()
    np.testing.assert_allclose(bracketed, users, atol=0.01)


def test_same_seed_same_mean_field():
    s = Scenario.named("default", n_users=2000, end="2014-12-31")
    assert WorldMeanField(s, seed=3).path().equals(WorldMeanField(s, seed=3).path())


def test_bisection_two_or_three_steps_a_call_gives_the_plain_bisections_answer_in_fewer_calls():
    from adoption.world.meanfield import _bisect_batch

    turns = np.array([0.3141, 0.7, 0.0005])  # where each element's predicate turns true
    calls: list[int] = []

    def predicate(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return x >= np.repeat(turns, len(x) // len(turns))

    plain = _bisect_batch(predicate, np.zeros(3), np.ones(3), tol=0.001)
    assert len(calls) == 10 and np.all((turns <= plain) & (plain <= turns + 0.001))  # 1/1024 < 0.001
    for levels, n_calls, points in [(2, 5, 3), (3, 4, 7)]:
        calls.clear()
        assert np.array_equal(_bisect_batch(predicate, np.zeros(3), np.ones(3), tol=0.001, levels=levels), plain)
        # (ten steps: five calls of two, or three calls of three and one of one)
        assert len(calls) == n_calls and calls[0] == 3 * points


def test_receipts_move_money_as_the_full_matrices_do_multiplying_only_the_rows_that_move():
    from adoption.world.meanfield import _MoneyMoves

    mean_field = WorldMeanField(Scenario.named("default", n_users=2000), seed=1)
    moves = _MoneyMoves(mean_field.moves)
    grid = mean_field.moves.shape[1]
    assert 0 < moves.rows < grid  # above some money, one receipt stays in its bin
    rng = np.random.default_rng(0)
    for channels in [(0,), (1, 2), (0, 1, 2)]:
        current = rng.random((4, mean_field.n_classes, grid))
        mix = rng.random((4, mean_field.n_classes, len(channels)))
        mix[0] = 0.0  # a start that receives nothing
        full = sum(mix[:, :, [i]] * (current @ mean_field.moves[c]) for i, c in enumerate(channels))
        np.testing.assert_allclose(moves.move(current, mix, channels), full, rtol=1e-13, atol=1e-15)


def test_activation_chance_is_one_minus_exp_of_minus_the_rate_times_the_sigmoid():
    from scipy.special import expit

    from adoption.world.meanfield import _activation_chance

    money_value = np.array([0.0, 0.7, 3.5, 9.0])
    context = np.array([[-800.0, -4.0, 0.0], [2.5, 40.0, 800.0]])  # (start, class), the extremes included
    expected = -np.expm1(-0.05 * expit(money_value[None, None, :] + context[:, :, None]))
    got = _activation_chance(0.05, np.exp(-money_value), context)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0.0)
    assert got[0, 0, 0] == 0.0 and got[1, 2, 0] == pytest.approx(-np.expm1(-0.05))  # sigmoid 0 and 1


def test_only_the_classes_that_receive_are_moved_and_they_come_first():
    mean_field = WorldMeanField(Scenario.named("default", n_users=3000), seed=2)
    held_out = mean_field.held_out
    assert 0 < mean_field.receiving < mean_field.n_classes
    assert not held_out[: mean_field.receiving].any() and held_out[mean_field.receiving:].all()
