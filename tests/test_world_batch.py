"""A batch of worlds run as one: a batch of one is the run itself, worlds stay apart, and a world of a
batch is a draw of the same distribution as a world run alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from adoption.errors import ParameterError
from adoption.world.batch import WORLD_STATE_ATTRIBUTES, run_worlds
from adoption.world.engine import run_world
from adoption.world.graph import generate_graph
from adoption.world.scenario import Scenario
from adoption.world.simulate import simulate, simulate_batch
from adoption.world.truth import effect_truth

SMALL = Scenario(n_users=600, end="2014-06-30", campaigns=False, holdout_share=0.1)


@pytest.mark.parametrize("scenario", [SMALL, Scenario(n_users=600, end="2014-08-31", campaign_start="2014-07-01")],
                         ids=["no campaign", "the campaign"])
def test_a_batch_of_one_is_the_run_itself(scenario):
    (batch,) = simulate_batch(scenario, [4])
    alone = simulate(scenario, seed=4)
    assert batch.tables.keys() == alone.tables.keys()
    for name, table in alone.tables.items():
        pd.testing.assert_frame_equal(batch.tables[name], table, obj=name)
    assert json.dumps(batch.truth, sort_keys=True) == json.dumps(alone.truth, sort_keys=True)  # (NaN != NaN)
    assert batch.meta == alone.meta


def test_every_attribute_of_a_world_says_how_it_is_joined():
    w = run_world(SMALL.replace(campaigns=True, campaign_start="2014-05-01"), None, seed=1)
    assert set(vars(w)) == WORLD_STATE_ATTRIBUTES


def test_worlds_of_a_batch_are_valid_their_own_and_apart():
    """Three worlds of different sizes, one where adopting costs far more than anything is worth: each log
    is valid, has its own users, and the expensive world stays at its initial payers (no money, friend or
    city of another world reaches it)."""
    sizes = [500, 800, 300]
    scenarios = [SMALL.replace(n_users=n) for n in sizes]
    scenarios[2] = scenarios[2].replace(cost_mean=20.0)
    worlds = run_worlds(scenarios, [1, 2, 3])
    assert [w.n for w in worlds] == sizes
    logs = simulate_batch(SMALL, [1, 2, 3])
    assert all(log.validate().ok for log in logs) and logs[0].meta["batch_seeds"] == [1, 2, 3]
    expensive = worlds[2]
    assert np.isfinite(expensive.active).sum() == len(expensive.initial_active)
    assert np.isfinite(worlds[0].active).sum() > 2 * len(worlds[0].initial_active)
    for w in worlds:
        for table, user in (("red_packets", "sender"), ("red_packet_claims", "receiver"), ("payments", "user")):
            users = w.out.peek(table, user, np.int64)
            assert users.min(initial=0) >= 0 and users.max(initial=0) < w.n
        merchants = w.out.peek("payments", "merchant", np.int64)
        assert merchants.max(initial=0) < len(w.m_accept)


def test_a_batch_runs_one_scenario_of_the_days():
    with pytest.raises(ParameterError, match="adoption_rate: the worlds of a batch may differ only"):
        run_worlds([SMALL, SMALL.replace(adoption_rate=SMALL.adoption_rate * 2)], [1, 2])
    with pytest.raises(ParameterError, match="seeds"):
        run_worlds(SMALL, [])
    with pytest.raises(ParameterError, match=r"seeds: 1,000 worlds of 1,000,000 users run as one batch \(n_users: "):
        simulate_batch(SMALL.replace(n_users=1_000_000), list(range(1000)))  # refused before anything runs
    with pytest.raises(ParameterError, match="graphs: expected one graph per seed"):
        run_worlds(SMALL, [1, 2], graphs=[generate_graph(600, seed=1)])


def _packets_per_day(w) -> np.ndarray:
    return np.bincount(w.out.peek("red_packets", "time", float).astype(np.int64), minlength=w.n_days)


def test_worlds_of_a_batch_keep_their_own_sending_rate_and_calendar():
    """Two worlds that differ in what the days read, run as one: the world whose Eve is an ordinary day
    sends on the 2015 Eve about what it sends on the days before; the world whose Eve multiplies sending by
    40 sends many times more; and the first, at twice the sending rate, sends more per active user on
    ordinary days."""
    base = Scenario(n_users=1_000, end="2015-02-28", campaigns=False)
    flat = base.replace(eve_multiplier=1.0, spring_festival_multiplier=1.0, festival_week_multiplier=1.0,
                        send_rate=2 * base.send_rate)
    peaked = base.replace(eve_multiplier=40.0)
    worlds = run_worlds([flat, peaked], [1, 2])
    eve, first = int(base.day_of("2015-02-18")), int(base.day_of("2015-02-01"))
    ratios = [_packets_per_day(w)[eve] / _packets_per_day(w)[first:first + 14].mean() for w in worlds]
    assert ratios[0] < 2.5 and ratios[1] > 8, ratios
    per_active = [_packets_per_day(w)[first:first + 14].mean() / np.sum(w.active < first) for w in worlds]
    assert per_active[0] > 1.5 * per_active[1], per_active


@pytest.mark.slow
@pytest.mark.parametrize("kinds", ["one scenario", "two of the days"])
def test_a_world_of_a_batch_is_a_world_of_the_same_distribution(kinds):
    """Worlds alone and in a batch: the shares activated, the packets per user and the holdout's effect
    agree within sampling error (three standard errors of the difference), for each scenario of the batch:
    ten worlds of one scenario, or six each of two that differ in the value of money, the sending rate and
    the calendar (each world of the batch reads its own)."""
    scenario = Scenario(n_users=1_500, end="2014-09-30", campaigns=False, holdout_share=0.2)
    if kinds == "one scenario":
        scenarios, seeds = [scenario] * 10, list(range(10, 20))
    else:
        other = scenario.replace(value_money=0.5 * scenario.value_money, send_rate=3 * scenario.send_rate,
                                 eve_multiplier=2.0)
        scenarios, seeds = [scenario, other] * 6, list(range(10, 22))

    def outcomes(worlds):
        return pd.DataFrame({"kind": [id(s) for s in scenarios],
                             "active": [np.mean(w.active < w.n_days) for w in worlds],
                             "packets": [len(w.out.peek("red_packets", "time", float)) / w.n for w in worlds],
                             "att": [effect_truth(w)["att_90d"] for w in worlds]})

    alone = outcomes([run_world(s, None, seed) for s, seed in zip(scenarios, seeds, strict=True)])
    batch = outcomes(run_worlds(scenarios, seeds))
    for kind in alone["kind"].unique():
        a, b = alone[alone["kind"] == kind], batch[batch["kind"] == kind]
        for name in ("active", "packets", "att"):
            se = np.sqrt(a[name].var() / len(a) + b[name].var() / len(b))
            assert abs(a[name].mean() - b[name].mean()) < 3 * se, (kind, name, a[name].mean(), b[name].mean(), se)
            assert b[name].std() > 0


def test_each_world_of_a_batch_runs_its_own_campaign():
    """The QR campaign in three worlds of different sizes: each world's scans, purchases (at its own campaign
    merchant), shares and follow-up messages are its own, and its log is valid."""
    base = Scenario(n_users=800, end="2014-09-30", campaign_start="2014-07-01", holdout_share=0.1,
                    campaign_scans_per_1000_users=20.0)
    sizes = [800, 1_200, 500]
    worlds = run_worlds([base.replace(n_users=n) for n in sizes], [5, 6, 7])
    for w, n in zip(worlds, sizes, strict=True):
        scans = w.out.peek("scans", "scan_id", np.int64)
        assert len(scans) > 0 and scans.tolist() == list(range(1, len(scans) + 1))
        scan_of_payment = w.out.peek("payments", "scan", np.int64)
        bought = scan_of_payment >= 1
        assert bought.any() and scan_of_payment[bought].max() <= len(scans)
        assert (w.out.peek("payments", "merchant", np.int64)[bought] == w.campaign_merchant).all()
        assert w.campaign_merchant == len(w.m_accept) - 1
        scanners = w.out.peek("scans", "user", np.int64)
        assert scanners.max() < n and w.out.peek("scans", "referrer", np.int64).max() < n
        assert len(w.out.peek("messages", "user", np.int64)) > 0
    logs = simulate_batch(base, [5, 6, 7])
    assert all(log.validate().ok for log in logs)
    assert all(len(log.tables["scans"]) > 0 and len(log.tables["messages"]) > 0 for log in logs)
