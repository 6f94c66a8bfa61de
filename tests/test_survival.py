"""Simulate and recover: the activation estimators against logs whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adoption import Scenario, load_example, simulate
from adoption.analysis.activation import activation_table
from adoption.analysis.survival import (
    ActivationCox,
    ActivationCurve,
    CompetingRisks,
    CureModel,
    ParametricActivation,
    design_matrix,
)
from adoption.datasets.synthetic import weibull_activation_log
from adoption.errors import ParameterError


@pytest.mark.slow
def test_ninety_day_ci_covers_the_truth_at_nominal_rate():
    """50 seeds, 10k receivers each: the 95% CI covers 0.80 in at least 90% and is narrower than +/- 0.03."""
    covered, widths = 0, []
    for seed in range(50):
        log, truth = weibull_activation_log(10_000, p90=0.8, seed=seed)
        row = ActivationCurve(horizon=90).fit(activation_table(log)).headline_.iloc[0]
        covered += row["ci_low"] <= truth.cumulative_incidence_90d <= row["ci_high"]
        widths.append(row["ci_high"] - row["ci_low"])
    assert covered >= 45, covered
    assert max(widths) < 0.06 and np.mean(widths) > 0.005


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
@pytest.mark.parametrize("seed", range(3))
def test_delayed_entry_is_handled_without_bias(seed):
    log, truth = weibull_activation_log(20_000, p90=0.8, delayed_entry_share=0.5, seed=seed)
    table = activation_table(log)
    assert (table["entry"] > 0).mean() > 0.1
    row = ActivationCurve().fit(table).headline_.iloc[0]
    assert row["ci_low"] <= 0.8 <= row["ci_high"]
    # ignoring the delayed entry (starting everyone at zero) is biased: early activators are missing
    biased = table.assign(duration=table["duration"] - table["entry"], entry=0.0)
    wrong = ActivationCurve().fit(biased).headline_.iloc[0]["cumulative_incidence"]
    assert abs(wrong - 0.8) > abs(row["cumulative_incidence"] - 0.8)


def test_median_and_restricted_mean_match_the_weibull():
    log, truth = weibull_activation_log(30_000, p90=0.8, shape=1.2, leave_rate=0, seed=4)
    row = ActivationCurve().fit(activation_table(log)).headline_.iloc[0]
    median = truth.scale_days * np.log(2) ** (1 / truth.shape)
    assert row["median_days"] == pytest.approx(median, rel=0.03)
    grid = np.linspace(0, 90, 9001)
    rmst = np.trapezoid(np.exp(-(grid / truth.scale_days) ** truth.shape), grid)
    assert row["restricted_mean_days"] == pytest.approx(rmst, rel=0.02)


def test_aggregated_fit_matches_the_exact_fit():
    log, _ = weibull_activation_log(20_000, seed=5)
    table = activation_table(log)
    exact = ActivationCurve(resolution=0).fit(table).headline_.iloc[0]
    grid = ActivationCurve(resolution=1 / 1440).fit(table).headline_.iloc[0]
    assert grid["cumulative_incidence"] == pytest.approx(exact["cumulative_incidence"], abs=1e-3)


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_competing_risks_and_parametric_fits_recover_the_truth():
    log, truth = weibull_activation_log(20_000, p90=0.8, shape=1.2, leave_rate=1 / 200, seed=6)
    table = activation_table(log)
    cr = CompetingRisks().fit(table).at_horizon_
    # with leaving competing, fewer than 80% activate by day 90: P = int f(t) S_leave(t) dt
    grid = np.linspace(0, 90, 9001)
    lam, k = truth.scale_days, truth.shape
    density = (k / lam) * (grid / lam) ** (k - 1) * np.exp(-(grid / lam) ** k)
    expected = np.trapezoid(density * np.exp(-grid / 200), grid)
    assert cr["activation_ci_low"] - 0.005 <= expected <= cr["activation_ci_high"] + 0.005
    assert cr["leaving"] > 0.05
    weibull = ParametricActivation("weibull").fit(table)
    assert weibull.fitter_.rho_ == pytest.approx(1.2, abs=0.05)
    assert weibull.cumulative_incidence_at_horizon_ == pytest.approx(0.8, abs=0.015)
    loglogistic = ParametricActivation("loglogistic", covariates=["log_amount"]).fit(table)
    assert 0.7 < loglogistic.cumulative_incidence_at_horizon_ < 0.9


def test_cure_model_finds_the_never_activating_share():
    log, _ = weibull_activation_log(20_000, p90=0.5, shape=1.5, window_days=700, leave_rate=0, seed=7)
    # make 30% of receivers never activate: drop their payments
    pays = log.payments
    never = pays["user_id"].drop_duplicates().sample(frac=0.3, random_state=1)
    log.payments = pays[~pays["user_id"].isin(never)].reset_index(drop=True)
    cure = CureModel().fit(activation_table(log))
    # the true cured fraction among all receivers: 30% of those who would have activated + the never-reached
    assert 0.2 < cure.cured_fraction_ < 0.45
    assert cure.ci_[0] < cure.cured_fraction_ < cure.ci_[1]


@pytest.mark.slow
def test_cox_on_the_example_has_every_covariate_and_a_ph_test():
    table = activation_table(load_example())
    cox = ActivationCox().fit(table)
    assert set(cox.summary_.index) == set(design_matrix(table[table.cohort == "receipt"]).columns)
    assert ((cox.summary_["ci_low"] <= cox.summary_["hazard_ratio"])
            & (cox.summary_["hazard_ratio"] <= cox.summary_["ci_high"])).all()
    assert set(cox.ph_test_.index) == set(cox.summary_.index)


@pytest.mark.slow
def test_default_scenario_headline_is_about_eighty_percent():
    log = simulate(Scenario(n_users=10_000), seed=11)
    row = ActivationCurve().fit(activation_table(log)).headline_.iloc[0]
    assert 0.76 <= row["cumulative_incidence"] <= 0.84
    assert row["ci_high"] - row["ci_low"] < 0.03


def test_bad_horizon_and_empty_cohort():
    from adoption.errors import InputError, ParameterError

    table = activation_table(load_example())
    with pytest.raises(ParameterError, match="horizon"):
        ActivationCurve(horizon=0).fit(table)
    with pytest.raises(InputError, match="no receivers"):
        ActivationCurve().fit(table[table.cohort == "organic"])


@pytest.mark.slow
def test_headline_with_heavy_leaving_covers_the_share_activating_before_leaving():
    """Leaving at 1/60 per day: the headline (Aalen-Johansen) covers the true share who activated before leaving
    at about its nominal rate, while 1 - Kaplan-Meier (if nobody left) is a different, larger number."""
    from adoption.analysis.headline import activation_headline

    covered, gaps = 0, []
    for seed in range(20):
        log, truth = weibull_activation_log(4_000, p90=0.8, leave_rate=1 / 60, seed=seed)
        head = activation_headline(activation_table(log)).to_dict()
        covered += head["ci_low"] <= truth.activated_before_leaving_90d <= head["ci_high"]
        gaps.append(head["cumulative_incidence_no_leaving"] - head["cumulative_incidence"])
    assert covered >= 17, covered
    assert truth.activated_before_leaving_90d < 0.65 and min(gaps) > 0.1


def _competing_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted rows with delayed entry (30% enter late), continuous times (no ties) and a competing event:
    entry, duration, event type (0 censored, 1 activation, 2 leaving) and weight."""
    rng = np.random.default_rng(seed)
    entry = rng.exponential(5, n) * (rng.random(n) < 0.3)
    duration = entry + rng.exponential(40, n)
    kind = rng.choice([0, 1, 2], size=n, p=[0.3, 0.5, 0.2])
    return entry, duration, kind, rng.integers(1, 4, n).astype(float)


def test_aalen_johansen_interval_is_lifelines_interval_vectorized():
    """The headline's interval (a cumulative sum per term) equals lifelines' row-by-row one, with delayed
    entry, weights and a competing event."""
    import warnings

    from lifelines import AalenJohansenFitter

    from adoption.analysis.survival import aalen_johansen_interval

    entry, duration, kind, weights = _competing_rows(3_000, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = AalenJohansenFitter(seed=0).fit(duration, kind, event_of_interest=1, entry=entry,
                                                    weights=weights)
        fast = AalenJohansenFitter(seed=0, calculate_variance=False).fit(duration, kind, event_of_interest=1,
                                                                          entry=entry, weights=weights)
    ours = aalen_johansen_interval(fast)
    theirs = reference.confidence_interval_
    assert len(ours) == len(theirs) > 1000
    np.testing.assert_allclose(ours["lower"], theirs.iloc[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ours["upper"], theirs.iloc[:, 1], rtol=1e-9)


def test_aalen_johansen_is_lifelines_estimator_for_every_cause():
    """Without ties between causes, both incidences equal lifelines' AalenJohansenFitter (one fit per cause)
    at every time, with delayed entry and weights."""
    import warnings

    from lifelines import AalenJohansenFitter

    from adoption.analysis.survival import aalen_johansen

    entry, duration, kind, weights = _competing_rows(2_000, seed=7)
    ours = aalen_johansen(entry, duration, kind, weights)
    for cause in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no tie, so no jitter
            theirs = AalenJohansenFitter(calculate_variance=False).fit(duration, kind, event_of_interest=cause,
                                                                       entry=entry, weights=weights)
        np.testing.assert_array_equal(ours.index, theirs.cumulative_density_.index)
        np.testing.assert_allclose(ours[f"cif_{cause}"], theirs.cumulative_density_.iloc[:, 0], rtol=0, atol=1e-12)
        events = theirs.event_table["observed"].to_numpy() > 0  # (lifelines counts entrants at risk too)
        np.testing.assert_allclose(ours["at_risk"][events], theirs.event_table["at_risk"][events], atol=1e-9)


def test_aalen_johansen_with_ties_by_hand_and_against_kaplan_meier():
    """Tied events of two causes, by hand; and on a grid full of ties (events with each other and with
    entries), the incidences of all causes add up to 1 - the all-cause Kaplan-Meier (lifelines') at every
    time, and weights are repeated rows."""
    from lifelines import KaplanMeierFitter

    from adoption.analysis.survival import aalen_johansen

    # five people from day 0; day 1: one activates (S 0.8); day 2: one activates and one leaves among 4
    # (each cause gets 0.8/4, S 0.4); day 3: one censored; day 4: the last of them activates (0.4/1)
    aj = aalen_johansen([0, 0, 0, 0, 0], [1, 2, 2, 3, 4], [1, 1, 2, 0, 1])
    assert aj["cif_1"].tolist() == pytest.approx([0.0, 0.2, 0.4, 0.4, 0.8])
    assert aj["cif_2"].tolist() == pytest.approx([0.0, 0.0, 0.2, 0.2, 0.2])
    with pytest.raises(ParameterError, match="every duration after its entry"):
        aalen_johansen([0, 2], [1, 2], [1, 0])
    rng = np.random.default_rng(2)
    n = 5_000
    entry = np.floor(rng.exponential(3, n) * (rng.random(n) < 0.4))
    duration = entry + np.ceil(rng.exponential(20, n))
    kind = rng.choice([0, 1, 2], size=n, p=[0.2, 0.6, 0.2])
    aj = aalen_johansen(entry, duration, kind)
    km = KaplanMeierFitter().fit(duration, kind != 0, entry=entry)
    all_causes = 1.0 - km.survival_function_.reindex(aj.index).iloc[:, 0].to_numpy()
    np.testing.assert_allclose(aj["cif_1"] + aj["cif_2"], all_causes, atol=1e-12)
    repeated = np.arange(n) % 5 == 0
    weighted = aalen_johansen(np.r_[entry, entry[repeated]], np.r_[duration, duration[repeated]],
                              np.r_[kind, kind[repeated]])
    by_weight = aalen_johansen(entry, duration, kind, np.where(repeated, 2.0, 1.0))
    pd.testing.assert_frame_equal(weighted, by_weight, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("scale", [20.0, 400.0])  # the median before the horizon, and far after it
def test_fitting_up_to_the_horizon_reads_the_same_headline(scale):
    rng = np.random.default_rng(3)
    n = 3000
    t, c = rng.exponential(scale, n), rng.uniform(10, 700, n)
    leaves = rng.random(n) < 0.1
    entry = np.where(rng.random(n) < 0.2, rng.uniform(0, 5, n), 0.0)
    table = pd.DataFrame({"cohort": "receipt", "entry": entry, "duration": np.maximum(np.minimum(t, c), entry + 0.01),
                          "event": t <= c, "event_type": np.where(t <= c, 1, np.where(leaves, 2, 0)),
                          "first_kind": rng.choice(["red_packet", "transfer"], n)})
    for by in (None, "first_kind"):
        whole = ActivationCurve(horizon=90).fit(table, by=by).headline_
        short = ActivationCurve(horizon=90, follow_up="horizon").fit(table, by=by).headline_
        pd.testing.assert_frame_equal(whole, short)
        whole = CompetingRisks(horizon=90).fit(table, by=by).headline_
        short = CompetingRisks(horizon=90, follow_up="horizon").fit(table, by=by).headline_
        pd.testing.assert_frame_equal(whole, short)
    assert np.isfinite(whole["cumulative_incidence"]).all()
    with pytest.raises(ParameterError, match="follow_up"):
        ActivationCurve(follow_up="later").fit(table)


def test_counting_grid_cells_gives_the_grouped_aggregate_exactly(monkeypatch):
    import adoption.analysis.survival as survival

    rng = np.random.default_rng(5)
    n = 20_000
    table = pd.DataFrame({"entry": np.where(rng.random(n) < 0.2, rng.uniform(0, 30, n), 0.0),
                          "duration": rng.exponential(40, n) + 0.001, "event_type": rng.integers(0, 3, n)})
    table["duration"] = np.maximum(table["duration"], table["entry"] + 0.01)
    # entries spread over a month on a one-minute grid: more cells than rows, counted by sorting; on a grid
    # of days, or without delayed entry up to a 90-day horizon, few enough cells for a count per cell
    whole = table
    for resolution, table in ((survival.GRID_DAYS, whole), (1.0, whole),
                              (survival.GRID_DAYS, whole.assign(entry=0.0, duration=np.minimum(whole["duration"], 90)))):
        packed = survival._aggregate(table, resolution)
        with monkeypatch.context() as m:
            m.setattr(survival, "_aggregate_on_grid", lambda df, r: None)  # the grouping path
            grouped = survival._aggregate(table, resolution)
        pd.testing.assert_frame_equal(packed, grouped, check_exact=True)
        assert packed["weight"].sum() == n


@pytest.mark.slow
def test_the_headline_by_definition_reuses_a_headline_fitted_already():
    from adoption.analysis.headline import activation_headline, headline_by_definition

    log = load_example()
    from adoption.log.contract import DEFINITIONS

    tables = {d: activation_table(log, d) for d in DEFINITIONS}  # built once, for the three calls below
    table = tables["first_action"]
    fitted = headline_by_definition(log, 60, tables=tables)
    reused = headline_by_definition(log, 60, tables=tables,
                                    headlines={"first_action": activation_headline(table, horizon=60)})
    pd.testing.assert_frame_equal(fitted, reused)
    # a headline at another horizon is not used for this one
    other = headline_by_definition(log, 60, tables=tables,
                                   headlines={"first_action": activation_headline(table, horizon=30)})
    pd.testing.assert_frame_equal(fitted, other)


def test_groups_are_labelled_as_text_with_missing_values_unknown():
    from adoption.analysis.survival import _groups

    frame = pd.DataFrame({"kind": pd.Categorical(["transfer", "red_packet", None, "transfer"]),
                          "in_group": pd.array([True, False, None, True], dtype="boolean")})
    assert [(name, part.index.tolist()) for name, part in _groups(frame, "kind")] == [
        ("red_packet", [1]), ("transfer", [0, 3]), ("unknown", [2])]
    assert [(name, part.index.tolist()) for name, part in _groups(frame, "in_group")] == [
        ("False", [1]), ("True", [0, 3]), ("unknown", [2])]
