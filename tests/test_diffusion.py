"""Bass fits recover known parameters; the simulator's mean field matches a well-mixed run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from adoption.analysis.diffusion import BassModel, TwoSidedBass, bass_cdf
from adoption.errors import ParameterError
from adoption.world.graph import generate_graph
from adoption.world.meanfield import compare_paths, mean_field_path, mean_field_scenario, well_mixed_graph
from adoption.world.simulate import simulate_states

P, Q, SIZE = 0.03, 0.38, 1000.0


def _noisy_bass(seed: int, periods: int = 40, noise: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(0, periods, dtype=float)
    increments = np.diff(SIZE * bass_cdf(t, P, Q)) + rng.normal(0, noise, periods - 1)
    return t, np.r_[0.0, np.cumsum(increments)]


def _bass_process(seed: int, periods: int, substeps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative adopters of the stochastic Bass process: SIZE people, each non-adopter adopting at the hazard
    P + Q * (share adopted), simulated in small steps within each period."""
    rng = np.random.default_rng(seed)
    adopted, series = 0, [0]
    for _ in range(periods - 1):
        for _ in range(substeps):
            adopted += rng.binomial(int(SIZE) - adopted, 1 - np.exp(-(P + Q * adopted / SIZE) / substeps))
        series.append(adopted)
    return np.arange(periods, dtype=float), np.array(series, dtype=float)


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_bass_recovers_p_and_q_inside_the_intervals():
    fit = BassModel(likelihood="least_squares").fit(*_noisy_bass(3))
    s = fit.summary_
    for name, truth in (("p", P), ("q", Q)):
        assert s.loc[name, "ci_low"] <= truth <= s.loc[name, "ci_high"]
    # noise added to the increments can carry the adopters seen past the market size, which bounds it below
    assert abs(fit.market_size_ / SIZE - 1) < 0.02
    assert s.loc["p", "ci_high"] - s.loc["p", "ci_low"] < 0.01
    assert s.loc["q", "ci_high"] - s.loc["q", "ci_low"] < 0.1


@pytest.mark.slow
def test_bass_interval_coverage_over_seeds():
    # least squares with independent noise: profile intervals close to nominal with 40 periods
    hits = np.zeros(2)
    n = 40
    for seed in range(n):
        s = BassModel(likelihood="least_squares").fit(*_noisy_bass(seed)).summary_
        hits += [(s.loc[k, "ci_low"] <= v <= s.loc[k, "ci_high"]) for k, v in (("p", P), ("q", Q))]
    assert np.all(hits / n >= 0.85) and np.all(hits / n <= 0.99)


@pytest.mark.slow
@pytest.mark.parametrize("periods", [10, 15])
def test_bass_profile_intervals_cover_the_stochastic_process_at_the_nominal_rate(periods):
    """Counts from the stochastic Bass process, seen to just before the peak (10 periods) or past it (15): the
    intervals of p, q and the market size cover the truth in at least 90% of 40 seeds, the market size's
    never reaches below the adopters seen, and they are not absurdly wide (in the median)."""
    hits, n, widths = np.zeros(3), 40, []
    for seed in range(n):
        t, y = _bass_process(seed, periods)
        s = BassModel().fit(t, y).summary_
        hits += [(s.loc[k, "ci_low"] <= v <= s.loc[k, "ci_high"]) for k, v in (("p", P), ("q", Q), ("market_size", SIZE))]
        assert s.loc["market_size", "ci_low"] >= y[-1]
        widths.append(s["ci_high"] / s["ci_low"])
    assert np.all(hits / n >= 0.9), hits / n
    assert (pd.concat(widths, axis=1).median(axis=1) < [3.0, 2.5, 2.5]).all()  # p, q, market size: high / low


def test_bass_profile_interval_ends_are_where_the_reoptimised_fit_is_worse_by_the_threshold():
    """Each end of the six intervals, checked by an independent re-optimisation (scipy's least_squares over the
    two other parameters, natural scale): the sum of squares there exceeds the minimum by the residual variance
    times the F(1, dof) quantile, to a thousandth of that threshold."""
    from scipy import optimize, stats

    t, y = _noisy_bass(0, periods=14, noise=6.0)
    fit = BassModel(likelihood="least_squares").fit(t, y)
    incr, dof = np.diff(y), len(t) - 1 - 3

    def residuals(p, q, size):
        return incr - np.diff(size * bass_cdf(t, p, q))
    best = float((residuals(fit.p_, fit.q_, fit.market_size_) ** 2).sum())
    threshold = fit.dispersion_ * stats.f.ppf(0.95, 1, dof)
    estimate = fit.summary_["estimate"].to_numpy()
    for j, name in enumerate(["p", "q", "market_size"]):
        others = [i for i in range(3) if i != j]
        for end in ("ci_low", "ci_high"):
            value = fit.summary_.loc[name, end]

            def at(rest, j=j, value=value, others=others):
                full = np.empty(3)
                full[j], full[others] = value, rest
                return residuals(*full)
            worse = optimize.least_squares(at, estimate[others], x_scale=estimate[others], xtol=1e-12, ftol=1e-12)
            excess = float((worse.fun ** 2).sum()) - best
            assert excess == pytest.approx(threshold, rel=1e-3), (name, end, excess, threshold)


def test_bass_market_size_interval_never_reaches_below_the_adopters_seen():
    t, y = _bass_process(5, 12)
    fit = BassModel().fit(t, y)
    assert fit.summary_.loc["market_size", "ci_low"] >= y[-1]
    assert 0.5 < fit.dispersion_ < 2.0  # a binomial process: about 1
    with pytest.raises(ParameterError, match="likelihood='least_squares'"):
        BassModel().fit(t, y[::-1].copy() * 0 + np.r_[0, 5, 3, 9, 12, 14, 15, 16, 17, 18, 19, 20])


def test_bass_market_size_the_series_cannot_bound_is_open_above():
    """Ten periods of this process leave the market size unbounded above: its interval is open (inf), not a
    number in the trillions or beyond (the binomial coefficient as a difference of log-gammas used to lose its
    digits out there and close the interval at 5e15)."""
    t, y = _bass_process(10, 10)
    s = BassModel().fit(t, y).summary_
    assert s.loc["market_size", "ci_high"] == np.inf
    assert np.isfinite(s.loc[["p", "q"], ["ci_low", "ci_high"]].to_numpy()).all()
    assert y[-1] <= s.loc["market_size", "ci_low"] < s.loc["market_size", "estimate"]


def test_bass_with_known_market_size_and_series_input():

    t = np.arange(0, 30.0)
    series = pd.Series(0.6 * bass_cdf(t, 0.02, 0.5), index=pd.date_range("2014-01-01", periods=30))
    fit = BassModel(market_size=0.6, likelihood="least_squares").fit(None, series)
    assert fit.p_ == pytest.approx(0.02, rel=1e-4) and fit.q_ == pytest.approx(0.5, rel=1e-4)
    assert list(fit.summary_.index) == ["p", "q"]
    assert np.allclose(fit.predict(t), series.to_numpy(), atol=1e-6)


def test_bass_bad_input():
    with pytest.raises(ParameterError, match="at least 5"):
        BassModel().fit([0, 1], [0, 1])
    with pytest.raises(ParameterError, match="increasing"):
        BassModel().fit([0, 2, 1, 3, 4], [0, 1, 2, 3, 4])
    with pytest.raises(ParameterError, match="missing"):
        BassModel().fit([0, 1, 2, 3, 4], [0, 1, np.nan, 3, 4])


def test_two_sided_path_without_the_merchants_pull_is_the_bass_curve():
    """With no pull from the merchants (r_users = 0) the users' share is the one-sided Bass curve, in closed
    form; and the merchants' share then solves m' = (p_m + r_m u)(1 - m), also in closed form."""
    from scipy.integrate import quad

    t = np.linspace(0.0, 60.0, 61)
    p, q, p_m, r_m, start = 0.02, 0.3, 0.004, 0.1, (0.01, 0.02)
    path = TwoSidedBass.path(t, p, q, 0.0, p_m, r_m, start=start)
    users = bass_cdf(t, p, q, start_share=start[0])
    np.testing.assert_allclose(path["users"], users, rtol=1e-6, atol=1e-9)
    # 1 - m(t) = (1 - m0) exp(-(p_m t + r_m * integral of u))
    integral = np.array([quad(lambda s: bass_cdf(s, p, q, start_share=start[0]), 0.0, end)[0] for end in t])
    merchants = 1.0 - (1.0 - start[1]) * np.exp(-(p_m * t + r_m * integral))
    np.testing.assert_allclose(path["merchants"], merchants, rtol=1e-6, atol=1e-9)


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_two_sided_bass_recovers_cross_side_effects():
    t = np.arange(0, 80.0)
    truth = {"p_users": 0.01, "q_users": 0.2, "r_users": 0.1, "p_merchants": 0.005, "r_merchants": 0.15}
    path = TwoSidedBass.path(t, **truth, start=(0.01, 0.02))
    rng = np.random.default_rng(4)
    users = path["users"].to_numpy() + np.r_[0, np.cumsum(rng.normal(0, 0.001, 79))]
    merchants = path["merchants"].to_numpy() + np.r_[0, np.cumsum(rng.normal(0, 0.001, 79))]
    fit = TwoSidedBass().fit(t, np.clip(users, 0, 1), np.clip(merchants, 0, 1))
    s = fit.summary_
    for name, value in truth.items():
        assert s.loc[name, "ci_low"] <= value <= s.loc[name, "ci_high"], name
    assert s.loc["r_merchants", "ci_high"] - s.loc["r_merchants", "ci_low"] < 0.05
    # no pull from the merchants: its interval covers 0 and stops there (a rate cannot be negative)
    no_pull = TwoSidedBass.path(t, **{**truth, "r_users": 0.0}, start=(0.01, 0.02))
    s = TwoSidedBass().fit(t, np.clip(no_pull["users"].to_numpy() + users - path["users"].to_numpy(), 0, 1),
                           np.clip(no_pull["merchants"].to_numpy() + merchants - path["merchants"].to_numpy(), 0, 1)
                           ).summary_
    assert s.loc["r_users", "ci_low"] == 0.0 < s.loc["r_users", "ci_high"]
    assert (s["ci_low"] >= 0).all()


@pytest.mark.slow
def test_well_mixed_simulation_follows_the_mean_field():
    """Tolerance: at 50,000 users (1,000 merchants) the shares stay within 0.03 (users) and 0.06
    (merchants, fewer and so noisier) of the mean field over the whole year."""
    scenario = mean_field_scenario(n_users=50_000)
    network = simulate_states(scenario, graph=well_mixed_graph(50_000, degree=100, seed=1), seed=2)
    start = tuple(network[["users_active", "merchants_accepting"]].iloc[0])
    mean_field = mean_field_path(scenario, start=start)
    clustered = simulate_states(scenario, graph=generate_graph(50_000, mean_degree=10, n_cities=1, seed=1), seed=2)
    gaps = compare_paths({"mean field": mean_field, "well mixed": network, "clustered": clustered},
                         "mean field").set_index(["path", "column"])["max_gap"]
    assert gaps["well mixed", "users_active"] < 0.03
    assert gaps["well mixed", "merchants_accepting"] < 0.06
    # on a clustered graph money lands on friends who already have it: clearly slower than the mean field
    assert gaps["clustered", "users_active"] > 0.05
    assert clustered["users_active"].iloc[180] < mean_field["users_active"].iloc[180] - 0.03


@pytest.mark.slow
def test_two_sided_bass_on_the_simulator_output():
    scenario = mean_field_scenario(n_users=50_000)
    states = simulate_states(scenario, graph=well_mixed_graph(50_000, degree=100, seed=1), seed=5)
    weekly = states.iloc[::7]
    fit = TwoSidedBass().fit(weekly.index.to_numpy(float), weekly["users_active"], weekly["merchants_accepting"])
    # merchants accept at rate * sigmoid(benefit * u - cost) in the simulator: a curve, which the two-sided
    # Bass model reads as a straight line p + r * u. Its slope must lie between the curve's slope where the
    # market starts and its steepest slope (measured: 0.021, between 0.0008 and 0.125); the social channel
    # shows up as users imitating users (q_users well above zero)
    u0 = float(states["users_active"].iloc[0])
    s = scenario

    def slope(u: float) -> float:
        share = expit(s.merchant_benefit * u - s.merchant_cost_mean)
        return s.merchant_rate * s.merchant_benefit * share * (1 - share)

    assert slope(u0) < fit.summary_.loc["r_merchants", "ci_low"] <= fit.params_["r_merchants"] < slope(
        s.merchant_cost_mean / s.merchant_benefit)
    assert fit.summary_.loc["q_users", "ci_low"] > 0


def test_mean_field_needs_its_settings():
    with pytest.raises(ParameterError, match="red_packets"):
        mean_field_path(mean_field_scenario(red_packets=True))
