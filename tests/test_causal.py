"""Selection versus influence, on logs where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from adoption import load_example
from adoption.analysis.activation import activation_table
from adoption.analysis.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift, exposure_episodes
from adoption.datasets.synthetic import selection_log


def test_selection_without_influence_naive_large_adjusted_covers_one():
    """Sociable users receive more and adopt more; receiving does nothing."""
    log, truth = selection_log(20_000, effect=1.0, homophily=1.0, seed=1)
    fx = ReceiptEffect(n_permutations=19, seed=1).fit(log)
    e = fx.effects_
    assert e.loc["naive", "hazard_ratio"] > 1.5 and e.loc["naive", "ci_low"] > 1.3
    assert e.loc["time_varying", "ci_low"] > 1.2  # timing alone does not remove selection
    assert e.loc["adjusted", "ci_low"] <= 1.0 <= e.loc["adjusted", "ci_high"]
    assert e.loc["adjusted", "ci_high"] - e.loc["adjusted", "ci_low"] < 0.3
    assert fx.permutation_p_ > 0.05
    assert abs(fx.balance_.loc["log_friends", "smd_before"]) > 0.5
    assert abs(fx.balance_.loc["log_friends", "smd_after"]) < abs(fx.balance_.loc["log_friends", "smd_before"])


@pytest.mark.slow
def test_adjusted_interval_covers_no_effect_across_seeds():
    covered = sum(
        (lambda e: e.loc["adjusted", "ci_low"] <= 1.0 <= e.loc["adjusted", "ci_high"])(
            ReceiptEffect(n_permutations=0, seed=s).fit(selection_log(8_000, effect=1.0, seed=100 + s)[0]).effects_)
        for s in range(20))
    assert covered >= 17


def test_a_real_effect_is_recovered_and_detected():
    log, truth = selection_log(20_000, effect=2.0, homophily=1.0, seed=2)
    fx = ReceiptEffect(n_permutations=19, seed=2).fit(log)
    adjusted = fx.effects_.loc["adjusted"]
    assert adjusted["ci_low"] <= 2.0 * 1.05 and adjusted["ci_high"] >= 2.0 * 0.95
    assert fx.effects_.loc["naive", "hazard_ratio"] > 2.3  # naive overstates
    assert fx.permutation_p_ <= 0.05


def test_episodes_split_at_the_first_receipt():
    log, _ = selection_log(3_000, seed=3)
    ep = exposure_episodes(log)
    two = ep.groupby("user_id").size()
    split = ep[ep["user_id"].isin(two[two == 2].index)]
    first, second = split.groupby("user_id").nth(0), split.groupby("user_id").nth(1)
    assert (first["received"] == 0).all() and (second["received"] == 1).all()
    assert np.allclose(first["stop"].to_numpy(), second["start"].to_numpy())
    assert (first["event"] == 0).all()


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
