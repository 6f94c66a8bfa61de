"""The readings of the numbers: each sentence says what its numbers support and no more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from adoption import interpret
from adoption.analysis.causal import auc_interval


@pytest.mark.parametrize(("auc", "low", "high", "words"), [
    (0.51, 0.49, 0.53, "no better than chance"),
    (0.58, 0.50, 0.66, "no better than chance"),  # the interval touches chance: no claim of skill
    (0.62, 0.55, 0.69, "discrimination is poor"),
    (0.75, 0.70, 0.80, "discrimination is acceptable"),
    (0.40, 0.30, 0.45, "worse than chance"),
    (float("nan"), float("nan"), float("nan"), "could not be measured"),
])
def test_prediction_skill_is_judged_by_its_interval(auc, low, high, words):
    assert words in interpret.prediction_skill(auc, low, high)


@pytest.mark.parametrize(("share", "low", "high", "words"), [
    (-0.2, -0.3, -0.1, "does worse than random"),
    (0.01, -0.02, 0.04, "does no better than random"),
    (0.1, 0.05, 0.15, "buys more extra activations than random"),
])
def test_targeting_value(share, low, high, words):
    assert words in interpret.targeting_value(share, low, high)


@pytest.mark.parametrize(("naive", "adjusted", "words"), [
    ((5.8, 5.0, 6.7), (14.5, 12.0, 17.5), "larger after adjustment"),
    ((5.8, 5.0, 6.7), (2.1, 1.8, 2.4), "smaller after adjustment"),
    ((5.8, 5.0, 6.7), (6.0, 5.2, 6.9), "changes the estimate little"),
    ((0.5, 0.4, 0.6), (0.2, 0.15, 0.25), "larger after adjustment"),  # protective effects: farther from 1 is larger
    ((2.0, 1.8, 2.2), (0.7, 0.6, 0.8), "reverses the direction"),
    ((2.0, 1.8, 2.2), (0.9, 0.7, 1.1), "smaller after adjustment"),
])
def test_adjustment_shift(naive, adjusted, words):
    assert words in interpret.adjustment_shift(naive, adjusted)


def test_hazard_ratio_reading_names_failures_and_claims_no_effect():
    frame = pd.DataFrame({"hazard_ratio": [1.7, 0.9, 1.02], "ci_low": [1.6, 0.85, 0.9], "ci_high": [1.8, 0.96, 1.1],
                          "ph_p": [0.001, 0.5, 0.8]}, index=pd.Index(["red", "group", "tenure"], name="covariate"))
    text = interpret.hazard_ratio_reading(frame)
    assert "Faster activation goes with red; slower with group" in text and "tenure" not in text.split(".")[0]
    assert "associations, not effects" in text
    assert "fails for red: read its hazard ratio as an average" in text


def test_placebo_and_permutation_and_truth():
    assert interpret.placebo_reading(1.67, 1.41, 1.97).startswith("Placebo check fails")
    assert interpret.placebo_reading(0.6, 0.5, 0.7).count("slower") == 1
    assert "not a proof" in interpret.placebo_reading(1.0, 0.9, 1.1)
    assert "smallest p-value 10 shuffles can give" in interpret.permutation_p_reading(1 / 11, 10)
    assert "evidence of contagion at the 5% level" in interpret.permutation_p_reading(0.02, 999)
    assert "no evidence" in interpret.permutation_p_reading(0.3, 999)
    assert "no truth" in interpret.truth_reading([])
    none = interpret.truth_reading([{"estimate": "naive", "value": 19.3, "truth": 22.4, "covers": False}])
    assert none.startswith("No estimate's interval covers the true effect: naive (19.3 against 22.4)")


def test_auc_interval_against_a_hand_computed_value():
    # Hanley & McNeil (1982), AUC 0.8 with 100 of each outcome: Q1 = 0.8/1.2, Q2 = 1.28/1.8
    q1, q2 = 0.8 / 1.2, 2 * 0.64 / 1.8
    se = np.sqrt((0.8 * 0.2 + 99 * (q1 - 0.64) + 99 * (q2 - 0.64)) / 10_000)
    low, high = auc_interval(0.8, 100, 100)
    assert low == pytest.approx(0.8 - 1.959964 * se) and high == pytest.approx(0.8 + 1.959964 * se)


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_auc_interval_covers_the_true_auc_at_its_nominal_rate():
    # exponential scores (the model Hanley & McNeil derived it for): P(X > Y) = rate_y / (rate_x + rate_y)
    rng = np.random.default_rng(7)
    truth = 1.0 / (1.0 + 0.4)
    covered, widths = [], []
    for _ in range(400):
        pos, neg = rng.exponential(1 / 0.4, 120), rng.exponential(1.0, 150)
        y = np.r_[np.ones(120), np.zeros(150)]
        auc = roc_auc_score(y, np.r_[pos, neg])
        low, high = auc_interval(auc, 120, 150)
        covered.append(low <= truth <= high)
        widths.append(high - low)
    assert 0.92 <= np.mean(covered) <= 0.98
    assert np.mean(widths) < 0.15


def test_the_95_percent_quantile_is_scipy_s_and_intervals_are_symmetric():
    from scipy.stats import norm

    from adoption.intervals import Z95, normal_interval

    assert norm.ppf(0.975) == Z95
    low, high = normal_interval(np.array([1.0, -2.0]), np.array([0.5, 0.0]))
    np.testing.assert_array_equal(low, [1.0 - 0.5 * Z95, -2.0])
    np.testing.assert_array_equal(high, [1.0 + 0.5 * Z95, -2.0])
