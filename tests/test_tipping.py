"""The tipping experiment: Firth's fit against hand-computed values and statsmodels, a monotone curve, and the
network's critical push against the mean field's on a well-mixed graph."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from adoption.cli import main
from adoption.errors import ParameterError
from adoption.tipping import (
    TippingSpec,
    firth_logit,
    fit_tipping,
    mean_field_critical_push,
    read_tipping,
    run_tipping,
    scenario_verdicts,
    tipping_run,
)
from adoption.world.scenario import Scenario


def test_firth_on_a_two_by_two_table_adds_a_half_to_every_cell():
    # 3 of 5 tip at push 0, 4 of 6 at push 1 -> odds (3.5/2.5) and (4.5/2.5)
    x = np.r_[np.zeros(5), np.ones(6)]
    y = np.r_[np.ones(3), np.zeros(2), np.ones(4), np.zeros(2)]
    coef, cov = firth_logit(x, y)
    assert coef[0] == pytest.approx(np.log(3.5 / 2.5), abs=1e-8)
    assert coef[1] == pytest.approx(np.log(4.5 / 2.5) - np.log(3.5 / 2.5), abs=1e-8)


def test_firth_is_close_to_maximum_likelihood_on_large_data():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x - 0.5) * 6))).astype(float)
    coef, cov = firth_logit(x, y)
    ml = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit()
    assert np.allclose(coef, ml.params, rtol=0.01, atol=0.01)
    assert np.allclose(np.sqrt(np.diag(cov)), ml.bse, rtol=0.02)


def test_firth_is_finite_under_complete_separation():
    runs = pd.DataFrame({"push": np.repeat([0.0, 0.05, 0.1, 0.15], 5), "tipped": np.repeat([0, 0, 1, 1], 5)})
    curve, coef, cov, critical, (low, high), separated, note = fit_tipping(runs)
    assert separated and "separate" in note
    assert np.all(np.isfinite(coef)) and 0.05 < critical < 0.1 and low < critical < high


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_critical_push_interval_covers_the_truth_at_its_nominal_rate():
    """Simulate-and-recover: tipping with a known logistic curve; the 95% interval covers the true critical push."""
    rng = np.random.default_rng(11)
    truth, scale = 0.1, 0.02
    pushes = np.repeat(np.linspace(0.0, 0.2, 9), 12)
    covered, widths = [], []
    for _ in range(200):
        tipped = rng.random(len(pushes)) < 1 / (1 + np.exp(-(pushes - truth) / scale))
        _, _, _, critical, (low, high), _, _ = fit_tipping(pd.DataFrame({"push": pushes, "tipped": tipped}))
        covered.append(low <= truth <= high)
        widths.append(high - low)
    assert 0.90 <= np.mean(covered) <= 0.99
    assert np.median(widths) < 0.05


@pytest.mark.slow
def test_push_is_monotone_and_the_curve_rises(tmp_path):
    spec = TippingSpec(base={"n_users": 1500, "end": "2015-06-30"}, pushes=[0.0, 0.1, 0.2, 0.35, 0.5], replicates=3)
    result = run_tipping(spec, tmp_path / "tip", workers=2, progress=False, mean_field_draws=2)
    means = result.runs.groupby("push")["users_active_end"].mean()
    assert means.is_monotonic_increasing
    assert result.monotone
    assert (tmp_path / "tip" / "tipping.json").exists()
    again = read_tipping(tmp_path / "tip")
    assert again.critical_push == pytest.approx(result.critical_push)
    # the mean field's draws ran as tasks beside the runs: the same value as drawn here, and kept for a resume
    assert len(result.runs) == 15 and "mean_field_push" not in result.runs
    assert result.mean_field_critical_push == mean_field_critical_push(spec, draws=2)
    parts = sorted((tmp_path / "tip" / "parts").glob("*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in parts]
    resumed = run_tipping(spec, tmp_path / "tip", workers=2, progress=False, mean_field_draws=2)
    # a part per replicate (its five pushes run as one batch of worlds) and per mean-field draw
    assert [p.stat().st_mtime_ns for p in parts] == stamps and len(parts) == 3 + 2
    assert resumed.mean_field_critical_push == result.mean_field_critical_push
    pd.testing.assert_frame_equal(resumed.runs, result.runs)
    assert result.runs[["push", "replicate"]].values.tolist() == [[p, r] for p in spec.pushes for r in range(3)]


@pytest.mark.slow
def test_well_mixed_network_agrees_with_its_mean_field(tmp_path):
    """On a well-mixed graph the network's critical push is its mean field's, up to the mean field's known
    bias (docs/critical_mass.md: late in the period it runs about 0.02 of users ahead, which lowers its
    critical push by about 0.01): the network's interval for the difference reaches into [0, 0.02].

    Measured 2026-11-27 at 3,000 users (mean field 0.110-0.111): these pushes, seeds 2/3/4, network 0.127
    [0.118, 0.136], 0.130 [0.115, 0.145], 0.122 [0.106, 0.139]; seven pushes from 0.06 to 0.2, 0.123 [0.115,
    0.132] for each seed (the interval containing the mean field's only for seeds 2 and 4: the test asserted
    that before, and held by the seed it ran). At 12,000 users, seven pushes: 0.123, 0.133, 0.127 against 0.120.
    Those were runs one at a time; with each replicate's pushes as one batch of worlds (the same day), these
    pushes, seeds 2/3/4: 0.123 [0.115, 0.132], 0.126 [0.109, 0.143], 0.115 [0.099, 0.130] against 0.110.
    """
    spec = TippingSpec(base={"n_users": 3000}, pushes=[0.08, 0.11, 0.13, 0.15, 0.18], replicates=6,
                       graph="well_mixed", seed=2)
    result = run_tipping(spec, tmp_path / "mixed", workers=1, progress=False,  # (the pool: the test above)
                         mean_field_draws=2)
    low, high = result.critical_push_ci
    assert high - low < 0.08
    difference = result.difference
    assert difference["ci_low"] <= 0.02 and difference["ci_high"] >= 0.0, (difference, result.mean_field_critical_push)


def test_targeted_pushes_reach_the_named_users():
    from adoption.world.graph import generate_graph
    from adoption.world.state import WorldState

    graph = generate_graph(2000, seed=1)
    for target in ("random", "degree", "city"):
        s = Scenario.named("no_red_packets", n_users=2000, push_share=0.1, push_target=target, push_yuan=10.0)
        w = WorldState(s, graph, np.random.default_rng(1))
        assert len(w.pushed) == 200
        assert np.all(w.waiting_cents[w.pushed] == 1000) and np.count_nonzero(w.waiting_cents) == 200
        assert not w.holdout[w.pushed].any() and np.all(w.joined[w.pushed] <= 0)
        if target == "degree":
            assert w.degree[w.pushed].min() >= np.median(w.degree)
        if target == "city":
            assert len(np.unique(w.city[w.pushed])) <= 3
    with pytest.raises(ParameterError, match="push_target"):
        Scenario(push_target="everyone")


def test_runs_go_in_batches_of_at_most_batch_users(tmp_path, monkeypatch):
    import adoption.tipping as tipping

    monkeypatch.setattr(tipping, "BATCH_USERS", 1_000)  # two worlds of 500 users a batch
    spec = TippingSpec(base={"n_users": 500, "end": "2014-03-31"}, pushes=[0.0, 0.1, 0.3], replicates=2)
    result = run_tipping(spec, tmp_path / "tip", workers=1, progress=False, mean_field_draws=1)
    parts = [pd.read_parquet(p) for p in sorted((tmp_path / "tip" / "parts").glob("*.parquet"))]
    assert sorted(len(part) for part in parts) == [1, 1, 1, 2, 2]  # the mean field's draw; per replicate 2 + 1
    assert result.runs[["push", "replicate"]].values.tolist() == [[p, r] for p in spec.pushes for r in range(2)]
    assert result.runs["seed"].is_unique


def test_tipping_run_is_a_pure_function():
    params = {"n_users": 500, "end": "2014-06-30", "push_share": 0.2}
    assert tipping_run("no_red_packets", params, 3) == tipping_run("no_red_packets", params, 3)


@pytest.mark.slow
def test_tipping_command_json(tmp_path, capsys):
    code = main(["tipping", "--users", "500", "--pushes", "0,0.5", "--replicates", "2", "--workers", "1",
                 "--mean-field-draws", "1", "--out", str(tmp_path / "t"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"estimate", "ci_low", "ci_high"} <= set(out["critical_push"])
    assert "mean_field_critical_push" in out
    assert main(["tipping", "--pushes", "0,2", "--out", str(tmp_path / "u")]) == 2
    assert "--pushes" in capsys.readouterr().err
    assert main(["tipping", "--mean-field-draws", "0", "--out", str(tmp_path / "v")]) == 2
    assert "--mean-field-draws" in capsys.readouterr().err


def test_scenario_verdicts_take_the_states_of_runs_simulated_already():
    from adoption.world.simulate import simulate_with_states

    names, overrides = ["default", "no_red_packets"], {"end": "2014-12-31"}
    alone = scenario_verdicts(names, users=600, seed=3, **overrides)
    runs = {name: simulate_with_states(Scenario.named(name, n_users=600, **overrides), seed=3) for name in names[:1]}
    given = scenario_verdicts(names, users=600, seed=3, states={name: s for name, (_, s) in runs.items()}, **overrides)
    pd.testing.assert_frame_equal(given, alone)
    pd.testing.assert_frame_equal(given.attrs["paths"]["default"]["simulated"], runs["default"][1])
