"""The two-sided mean-field market: closed forms, the frontier, seeding, the race, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from adoption.cli.main import main
from adoption.errors import ParameterError
from adoption.market import (
    NoCriticalMass,
    TwoSidedMarket,
    catch_up_time,
    phase_diagram,
    public_race,
    race,
    seeding_comparison,
    smallest_push,
    smallest_subsidy,
    uniform_saddle,
)

BASE = TwoSidedMarket(b_users=2.0, b_merchants=1.5, p_users=0.3, p_merchants=0.2)


@settings(max_examples=150, deadline=None)
@given(b_u=st.floats(1.05, 6.0), b_m=st.floats(1.05, 6.0), p_u=st.floats(0.0, 1.5), p_m=st.floats(0.0, 1.5),
       l_u=st.floats(0.1, 5.0), l_m=st.floats(0.1, 5.0))
def test_saddle_matches_the_closed_form(b_u, b_m, p_u, p_m, l_u, l_m):
    u_star, m_star = uniform_saddle(b_u, b_m, p_u, p_m)
    assume(0.01 < u_star < 0.99 and 0.01 < m_star < 0.99)
    market = TwoSidedMarket(b_u, b_m, p_u, p_m, l_users=l_u, l_merchants=l_m)
    u, m = market.saddle()
    assert abs(u - u_star) < 1e-9 and abs(m - m_star) < 1e-9
    eig = np.linalg.eigvals(market.jacobian(u, m)).real
    assert eig.min() < 0 < eig.max()


def test_equilibria_and_stability_of_the_corners():
    eq = BASE.equilibria()
    assert eq["kind"].tolist() == ["stable", "saddle", "stable"]
    assert BASE.is_stable(0, 0) and BASE.is_stable(1, 1) and not BASE.is_stable(0.35, 0.325)
    # a user-side subsidy (negative price) removes the zero equilibrium on the user side
    cash = BASE.replace(p_users=-0.1)
    assert not cash.is_stable(0, 0)
    assert cash.stable_equilibria()["users"].min() == pytest.approx(0.1)


@pytest.mark.parametrize("params, reason", [
    ((0.9, 0.9, 0.3, 0.2), "too weak"),
    ((2.0, 1.5, 1.5, 0.5), "never takes off"),
    ((2.0, 1.5, -0.5, -0.5), "takes off from any start"),
])
def test_no_saddle_says_why(params, reason):
    with pytest.raises(NoCriticalMass, match=reason):
        TwoSidedMarket(*params).saddle()


@pytest.mark.parametrize("market", [BASE, BASE.replace(l_users=3.0, l_merchants=0.5),
                                    TwoSidedMarket(3.0, 2.5, 0.5, 0.6, tastes="normal", taste_spread=0.25),
                                    TwoSidedMarket(3.0, 2.5, 0.5, 0.6, tastes="logistic", taste_spread=0.1)])
def test_trajectories_either_side_of_the_frontier(market):
    front = market.frontier(41)
    low, high = market.stable_equilibria().iloc[0], market.stable_equilibria().iloc[-1]
    assert np.allclose(market.flow(*market.saddle()), 0, atol=1e-12)
    for row in front.iloc[5:-5:6].itertuples():
        for delta, target in ((+0.01, high), (-0.01, low)):
            u0, m0 = np.clip([row.users + delta, row.merchants + delta], 0, 1)
            end = market.trajectory(u0, m0, t_max=300.0 / min(market.l_users, market.l_merchants)).iloc[-1]
            assert end["users"] == pytest.approx(target["users"], abs=1e-3)
            assert end["merchants"] == pytest.approx(target["merchants"], abs=1e-3)


def test_frontier_passes_through_the_saddle_and_splits_the_square():
    front = BASE.frontier(401)
    u_s, m_s = BASE.saddle()
    assert np.min(np.hypot(front["users"] - u_s, front["merchants"] - m_s)) < 5e-3
    # uniform tastes: linear near the saddle, so the frontier is a straight line along the stable eigenvector
    assert front["users"].is_monotonic_decreasing


def test_time_to_tip_and_push():
    assert BASE.time_to_tip(0.9, 0.9) == 0.0  # already past the level
    assert 0 < BASE.time_to_tip(0.5, 0.45) < BASE.time_to_tip(0.45, 0.4) < 50  # closer to the frontier: slower
    assert np.isinf(BASE.time_to_tip(0.1, 0.1))
    push = smallest_push(BASE, (0.0, 0.0))
    # the frontier crosses m = 0 at the smallest push
    front = BASE.frontier(801)
    assert push == pytest.approx(front.loc[front["merchants"].idxmin(), "users"], abs=2e-3)
    assert BASE.tips(push + 0.01, 0.0) and not BASE.tips(push - 0.01, 0.0)


def test_a_knife_edge_market_never_tips_from_inside_the_square():
    """Uniform tastes with benefits equal to prices: inside the square u + m always falls (each side's pull
    is below its own share), so every path ends at no adoption; the top corner is an equilibrium only on the
    square's edge. The path used to be stopped as it left the top corner's neighbourhood and counted as
    tipping, and a subsidy of 1.5 was reported to tip it."""
    market = TwoSidedMarket(2.0, 2.0, 1.0, 1.0)
    path = market.trajectory(0.99, 0.99, t_max=40)
    assert np.all(np.diff(path["users"] + path["merchants"]) < 1e-12) and path["users"].iloc[-1] < 0.01
    assert not market.tips(0.99, 0.99) and not market.tips(0.5, 0.9)
    assert np.isnan(smallest_subsidy(market, "merchants", duration=10.0))


def test_subsidies_and_the_comparison():
    dose = smallest_subsidy(BASE, "merchants", duration=10.0)
    assert 0 < dose < 2
    assert BASE.tips(0, 0, subsidy_merchants=dose + 0.01, subsidy_until=10.0)
    assert not BASE.tips(0, 0, subsidy_merchants=dose - 0.01, subsidy_until=10.0)
    table = seeding_comparison(BASE)
    assert table["cost"].gt(0).all() and np.isfinite(table["time_to_tip"]).all()
    with pytest.raises(ParameterError, match="side"):
        smallest_subsidy(BASE, "banks")


def test_phase_diagram_regimes():
    grid = phase_diagram(BASE, "p_users", np.linspace(-0.25, 1.45, 6), "b_users", [0.5, 2.0])
    assert set(grid["regime"]) == {"takes off", "critical mass", "stalls"}
    crit = grid[grid["regime"] == "critical mass"]
    assert crit["saddle_users"].notna().all()
    with pytest.raises(ParameterError, match="not a numeric"):
        phase_diagram(BASE, "tastes", [1], "b_users", [1])


def test_race_social_channel_catches_up():
    incumbent = BASE.replace(l_users=0.3, l_merchants=0.3)
    entrant = incumbent.replace(p_users=-0.05)
    with_social = race(entrant, incumbent, social_benefit=1.0, entrant_start=(0.001, 0.0))
    without = race(entrant, incumbent, social_benefit=0.0, entrant_start=(0.001, 0.0))
    assert np.isfinite(catch_up_time(with_social, 0.5)) and np.isinf(catch_up_time(without, 0.1))
    assert catch_up_time(with_social, 0.1) < catch_up_time(with_social, 0.5)


def test_public_race_keeps_definitions():
    table = public_race()
    wechat = table[table["wallet"] == "WeChat Pay"]
    assert wechat["metric_definition"].str.contains("bound bank card").any()
    assert (wechat["months_since_launch"] < 30).any() and wechat["ratio_to_alipay"].gt(0.5).all()


def test_bad_parameters():
    with pytest.raises(ParameterError, match="b_users"):
        TwoSidedMarket(-1.0, 1.0, 0.1, 0.1)
    with pytest.raises(ParameterError, match="tastes"):
        TwoSidedMarket(1.0, 1.0, 0.1, 0.1, tastes="pareto")
    with pytest.raises(ParameterError, match="u0"):
        BASE.trajectory(1.5, 0.0)


def test_cli_frontier_json(capsys):
    args = ["market", "frontier", "--b-users", "2", "--b-merchants", "1.5", "--p-users", "0.3",
            "--p-merchants", "0.2", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["saddle_users"] == pytest.approx(0.35, abs=1e-12)
    assert out["saddle_merchants"] == pytest.approx(0.325, abs=1e-12)
    assert out["zero_stable"] and out["full_stable"]


def test_cli_frontier_without_saddle(capsys):
    code = main(["market", "frontier", "--b-users", "0.9", "--b-merchants", "0.9", "--p-users", "0.3",
                 "--p-merchants", "0.2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "b_users * b_merchants = 0.81 <= 1" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "(0, 0) is stable" in captured.out


def test_cli_frontier_bad_value(capsys):
    code = main(["market", "frontier", "--b-users", "-2", "--b-merchants", "1", "--p-users", "0",
                 "--p-merchants", "0"])
    assert code == 2 and "b_users" in capsys.readouterr().err
