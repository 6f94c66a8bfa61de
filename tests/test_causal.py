"""Selection versus influence, on logs where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from adoption import load_example
from adoption.analysis.activation import activation_table
from adoption.analysis.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
from adoption.analysis.episodes import exposure_episodes
from adoption.datasets.synthetic import selection_log


def test_selection_without_influence_naive_large_adjusted_covers_one():
    """Sociable users receive more and adopt more; receiving does nothing."""
    log, truth = selection_log(20_000, effect=1.0, homophily=1.0, seed=1)
    fx = ReceiptEffect(seed=1).fit(log)
    e = fx.effects_
    assert e.loc["naive", "hazard_ratio"] > 1.5 and e.loc["naive", "ci_low"] > 1.3
    assert e.loc["time_varying", "ci_low"] > 1.2  # timing alone does not remove selection
    assert e.loc["adjusted", "ci_low"] <= 1.0 <= e.loc["adjusted", "ci_high"]
    assert e.loc["adjusted", "ci_high"] - e.loc["adjusted", "ci_low"] < 0.3
    assert fx.placebo_["ci_low"] <= 1.0 <= fx.placebo_["ci_high"] and not fx.residual_confounding_
    assert abs(fx.balance_.loc["log_friends", "smd_before"]) > 0.5
    assert abs(fx.balance_.loc["log_friends", "smd_after"]) < abs(fx.balance_.loc["log_friends", "smd_before"])


@pytest.mark.slow
def test_adjusted_interval_covers_no_effect_across_seeds():
    covered = sum(
        (lambda e: e.loc["adjusted", "ci_low"] <= 1.0 <= e.loc["adjusted", "ci_high"])(
            ReceiptEffect(seed=s).fit(selection_log(8_000, effect=1.0, seed=100 + s)[0]).effects_)
        for s in range(20))
    assert covered >= 17


def test_a_real_effect_is_recovered_and_detected():
    log, truth = selection_log(20_000, effect=2.0, homophily=1.0, seed=2)
    fx = ReceiptEffect(seed=2).fit(log)
    adjusted = fx.effects_.loc["adjusted"]
    assert adjusted["ci_low"] <= 2.0 * 1.05 and adjusted["ci_high"] >= 2.0 * 0.95
    assert fx.effects_.loc["naive", "hazard_ratio"] > 2.3  # naive overstates
    assert fx.e_value_ > fx.e_value_ci_ > 1.0  # the interval excludes 1, so its limit has an E-value too


@pytest.mark.slow
def test_placebo_stays_quiet_with_selection_on_what_the_log_shows():
    """Selection on friends only (logged): the placebo's interval covers 1 at about its nominal rate."""
    quiet = [not ReceiptEffect(seed=s).fit(selection_log(4_000, effect=1.5, seed=200 + s)[0]).residual_confounding_
             for s in range(20)]
    assert sum(quiet) >= 17


@pytest.mark.slow
def test_placebo_flags_selection_on_an_unlogged_trait():
    """A trait the log does not record drives receiving and activating: the placebo flags it in most seeds."""
    flagged = [ReceiptEffect(seed=s).fit(selection_log(4_000, effect=1.5, hidden=1.0, seed=300 + s)[0]).residual_confounding_
               for s in range(10)]
    assert sum(flagged) >= 8


def test_effect_json_says_what_adjustment_cannot_see():
    log, _ = selection_log(3_000, effect=1.0, seed=4)
    out = ReceiptEffect(seed=0).fit(log).to_dict()
    assert out["assumption"].startswith("no unmeasured confounding")
    assert {"e_value", "placebo_hazard_ratio", "placebo_ci_low", "placebo_ci_high"} <= set(out)


def test_episodes_split_at_the_first_receipt():
    log, _ = selection_log(3_000, seed=3)
    ep = exposure_episodes(log)
    two = ep.groupby("user_id").size()
    split = ep[ep["user_id"].isin(two[two == 2].index)]
    first, second = split.groupby("user_id").nth(0), split.groupby("user_id").nth(1)
    assert (first["received"] == 0).all() and (second["received"] == 1).all()
    assert np.allclose(first["stop"].to_numpy(), second["start"].to_numpy())
    assert (first["event"] == 0).all()


@pytest.mark.slow
def test_predictor_is_calibrated_on_the_example():
    pred = ActivationPredictor().fit(activation_table(load_example()))
    assert 0.4 < pred.auc_ < 1.0
    assert np.abs(pred.calibration_["predicted"] - pred.calibration_["observed"]).max() < 0.08
    assert pred.brier_ < 0.2


def test_uplift_finds_who_gains_most():
    """When receiving helps low-degree users most, targeting by predicted uplift beats random targeting."""
    log, _ = selection_log(20_000, effect=3.0, homophily=-0.5, seed=4)
    up = ReceiptUplift(landmark_days=10, treat_days=30, horizon=120, seed=0).fit(log)
    assert up.average_uplift_ > 0.02
    assert up.qini_["qini"].iloc[-1] > 0
    assert len(up.uplift_) > 1000


@pytest.mark.slow
def test_gifts_on_the_example_cover_the_simulators_contagion(capsys):
    """The lucky split identifies the units sent back per unit received: the example was simulated at 0.18."""
    import json

    from adoption.cli import main
    from adoption.datasets.example import example_path

    assert main(["gifts", str(example_path()), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["units_back_ci_low"] < 0.18 < out["units_back_ci_high"]
    assert out["units_back_ci_high"] - out["units_back_ci_low"] < 0.08
    assert out["luckiest_extra_ci_low"] > 0  # the luckiest draw sends back more (luckiest_boost 1.5)


def test_gifts_refuse_a_log_without_group_packets(tmp_path):
    from adoption.analysis.gifts import GiftContagion
    from adoption.errors import InputError

    log, _ = selection_log(2_000, seed=1)
    with pytest.raises(InputError, match="group_id"):
        GiftContagion().fit(log)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="open: over 24 seeds at 4,000 users (about 20,000 rows per fit) the "
                   "estimates average 0.272 for a parameter of 0.3 (3 standard errors of the mean below it; 0.290 "
                   "over 8 seeds at 16,000 users), their spread across seeds is 1.2-1.3 times the clustered standard "
                   "error, and the interval covers 0.3 in 19 of 24 seeds; a wild cluster bootstrap-t gives the same "
                   "intervals, requiring activation a day or a week before the claim changes nothing, and holding the "
                   "amounts received afterwards fixed makes it worse; at 0.1 the intervals cover (16 of 16)")
def test_gifts_cover_a_contagion_other_than_the_default_at_the_nominal_rate():
    from adoption import Scenario, simulate
    from adoption.analysis.gifts import GiftContagion

    covered = []
    for seed in range(8):
        log = simulate(Scenario(n_users=4000, end="2015-04-30", campaigns=False, contagion_units_back=0.3), seed=seed)
        low, high = GiftContagion().fit(log).units_back_ci_
        covered.append(low <= 0.3 <= high)
    assert sum(covered) >= 7
