"""Every plot returns its Axes and draws something."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from adoption import load_example
from adoption.activation import activation_table
from adoption.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
from adoption.plots import (
    plot_activation_curves,
    plot_balance,
    plot_calibration,
    plot_competing_risks,
    plot_effects,
    plot_hazard_ratios,
    plot_qini,
    set_theme,
)
from adoption.survival import ActivationCox, ActivationCurve, CompetingRisks
from adoption.synthetic import selection_log


@pytest.fixture(scope="module")
def table():
    return activation_table(load_example())


@pytest.fixture(scope="module")
def effect():
    return ReceiptEffect(n_permutations=0, seed=0).fit(selection_log(3_000, seed=1)[0])


def test_plots_return_axes(table, effect):
    set_theme()
    uplift = ReceiptUplift(landmark_days=10, seed=0).fit(selection_log(6_000, effect=2.0, seed=2)[0])
    cases = [
        (plot_activation_curves, ActivationCurve().fit(table, by="first_kind")),
        (plot_competing_risks, CompetingRisks().fit(table)),
        (plot_hazard_ratios, ActivationCox().fit(table).summary_),
        (plot_effects, effect),
        (plot_balance, effect),
        (plot_calibration, ActivationPredictor().fit(table)),
        (plot_qini, uplift),
    ]
    for plot, result in cases:
        fig, ax = plt.subplots()
        assert plot(result, ax=ax) is ax
        assert ax.lines or ax.collections, plot.__name__
        plt.close(fig)
    ax = plot_effects(effect, truth=1.0)
    assert ax.get_legend() is not None
    plt.close("all")
