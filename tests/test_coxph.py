"""The fast counting-process Cox model against lifelines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from adoption.analysis.coxph import fit_cox
from adoption.errors import InputError


def _data(seed: int, entry: bool):
    rng = np.random.default_rng(seed)
    n = 2_000
    X = rng.normal(size=(n, 2))
    start = rng.uniform(0, 2, n) * (rng.random(n) < 0.5) if entry else np.zeros(n)
    t = start + rng.exponential(1 / np.exp(X @ [0.5, -0.3]))
    c = start + rng.exponential(2, n)
    return X, start, np.minimum(t, c), t <= c, rng.uniform(0.5, 2, n), np.arange(n) // 2


def _lifelines(X, start, stop, event, **kw):
    df = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "start": start, "stop": stop, "event": event})
    if "w" in kw:
        df["w"] = kw.pop("w")
    if "cl" in kw:
        df["cl"] = kw.pop("cl")
    if not start.any():
        df = df.drop(columns="start")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHFitter().fit(df, "stop", "event", entry_col="start" if start.any() else None, **kw)


@pytest.mark.parametrize("entry", [False, True])
def test_matches_lifelines(entry):
    X, start, stop, event, w, cl = _data(1, entry)
    ours = fit_cox(start, stop, event, X)
    ref = _lifelines(X, start, stop, event)
    assert np.allclose(ours.coef, ref.params_.to_numpy(), atol=1e-6)
    assert np.allclose(ours.se, ref.standard_errors_.to_numpy(), rtol=1e-4)


def test_weighted_and_clustered_robust_errors_match_lifelines():
    X, start, stop, event, w, cl = _data(2, False)
    ref = _lifelines(X, start, stop, event, w=w, weights_col="w", robust=True)
    ours = fit_cox(start, stop, event, X, weights=w)
    assert np.allclose(ours.coef, ref.params_.to_numpy(), atol=1e-6)
    assert np.allclose(ours.se, ref.standard_errors_.to_numpy(), rtol=1e-4)
    ref = _lifelines(X, start, stop, event, cl=cl, cluster_col="cl", robust=True)
    ours = fit_cox(start, stop, event, X, cluster=cl)
    assert np.allclose(ours.se, ref.standard_errors_.to_numpy(), rtol=1e-4)


def test_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 20_000).astype(float)
    t = rng.exponential(1 / np.where(x == 1, 2.0, 1.0))
    res = fit_cox(np.zeros_like(t), t, np.ones(len(t), bool), x[:, None]).summary.iloc[0]
    assert res["ci_low"] <= 2.0 <= res["ci_high"]


def test_bad_input():
    with pytest.raises(InputError, match="stop > start"):
        fit_cox(np.array([1.0]), np.array([1.0]), np.array([True]), np.zeros((1, 1)))
    with pytest.raises(InputError, match="no events"):
        fit_cox(np.zeros(2), np.ones(2), np.zeros(2, bool), np.zeros((2, 1)))


def test_newton_stops_at_the_maximum_without_chasing_rounding():
    # a million-row fit once spent ten log-likelihood passes per late step halving a step whose gain was below
    # the sum's rounding; at the maximum, Newton's decrement ends the fit instead
    rng = np.random.default_rng(3)
    n = 200_000
    x = rng.normal(size=(n, 3))
    t = rng.exponential(1 / np.exp(x @ np.array([0.5, -0.3, 0.0])))
    res = fit_cox(np.zeros(n), t, rng.random(n) < 0.8, x)
    assert np.allclose(res.coef, [0.5, -0.3, 0.0], atol=0.02)
    assert res.iterations <= 8 and res.evaluations <= 2 * res.iterations + 2


def test_a_warm_start_from_every_tenth_row_reaches_the_same_maximum(monkeypatch):
    import adoption.analysis.coxph as coxph

    rng = np.random.default_rng(11)
    n = 20_000
    x = rng.normal(size=(n, 3))
    t = rng.exponential(1 / np.exp(x @ np.array([1.2, -0.7, 0.3])))
    start = np.where(rng.random(n) < 0.3, t * rng.random(n), 0.0)
    cold = fit_cox(start, t, rng.random(n) < 0.8, x, cluster=np.arange(n) // 3)
    monkeypatch.setattr(coxph, "WARM_START_ABOVE", 1_000)
    rng = np.random.default_rng(11)  # the same data again
    x = rng.normal(size=(n, 3))
    t = rng.exponential(1 / np.exp(x @ np.array([1.2, -0.7, 0.3])))
    start = np.where(rng.random(n) < 0.3, t * rng.random(n), 0.0)
    warm = fit_cox(start, t, rng.random(n) < 0.8, x, cluster=np.arange(n) // 3)
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=1e-7)
    np.testing.assert_allclose(warm.se, cold.se, rtol=1e-6)
    assert warm.iterations < cold.iterations
