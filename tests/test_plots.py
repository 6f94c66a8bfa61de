"""Every plot returns its Axes and draws something."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from adoption import load_example
from adoption.analysis.activation import activation_table
from adoption.analysis.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
from adoption.analysis.gifts import GiftContagion
from adoption.analysis.survival import ActivationCox, ActivationCurve, CompetingRisks
from adoption.datasets.synthetic import selection_log
from adoption.plotting import (
    plot_activation_curves,
    plot_balance,
    plot_calibration,
    plot_competing_risks,
    plot_effects,
    plot_gifts,
    plot_hazard_ratios,
    plot_qini,
    set_theme,
)


@pytest.fixture(scope="module")
def table():
    return activation_table(load_example())


@pytest.fixture(scope="module")
def effect():
    return ReceiptEffect(seed=0).fit(selection_log(3_000, seed=1)[0])


@pytest.mark.slow
def test_plots_return_axes(table, effect):
    set_theme()
    gifts = GiftContagion().fit(load_example())
    uplift = ReceiptUplift(landmark_days=10, seed=0).fit(selection_log(6_000, effect=2.0, seed=2)[0])
    cases = [
        (plot_activation_curves, ActivationCurve().fit(table, by="first_kind")),
        (plot_competing_risks, CompetingRisks().fit(table)),
        (plot_hazard_ratios, ActivationCox().fit(table).summary_),
        (plot_effects, effect),
        (plot_balance, effect),
        (plot_calibration, ActivationPredictor().fit(table)),
        (plot_qini, uplift),
        (plot_gifts, gifts),
    ]
    for plot, result in cases:
        fig, ax = plt.subplots()
        assert plot(result, ax=ax) is ax
        assert ax.lines or ax.collections, plot.__name__
        plt.close(fig)
    ax = plot_gifts(gifts)
    labels = [line.get_label() for line in ax.lines]
    assert any("back per yuan" in label for label in labels) and any("expense" in label for label in labels)
    plt.close("all")
    ax = plot_effects(effect, truth=1.0)
    assert ax.get_legend() is not None
    plt.close("all")


def test_market_and_funnel_plots_return_axes():
    import numpy as np

    from adoption import plotting as plots
    from adoption.analysis.diffusion import BassModel, bass_cdf
    from adoption.analysis.funnel import campaign_report
    from adoption.market import TwoSidedMarket, phase_diagram, public_race, race

    set_theme()
    market = TwoSidedMarket(2.0, 1.5, 0.3, 0.2)
    t = np.arange(30.0)
    report = campaign_report(load_example())
    duel = race(market.replace(p_users=-0.05), market, social_benefit=1.0)
    paths = {"a": market.trajectory(0.5, 0.5).rename(columns={"users": "users_active",
                                                              "merchants": "merchants_accepting"})}
    drawn = [
        plots.plot_phase_portrait(market, {"launch": (0.02, 0.03)}, push={"launch": (0.8, 0.03)}),
        plots.plot_phase_diagram(phase_diagram(market, "p_users", [-0.2, 0.3, 1.5], "b_users", [1.0, 2.0]),
                                 "p_users", "b_users"),
        plots.plot_race(duel), plots.plot_race_ratio(duel, public_race()), plots.plot_mean_field(paths),
        plots.plot_bass_fit(t, bass_cdf(t, 0.03, 0.4), BassModel().fit(t, bass_cdf(t, 0.03, 0.4))),
        plots.plot_funnel(report.funnel), plots.plot_conversion_rates(report.funnel),
        plots.plot_referrals(report.sharing), plots.plot_return_curves(report.returns),
    ]
    for ax in drawn:
        assert ax.has_data()
    assert "critical-mass frontier" in [t.get_text() for t in drawn[0].get_legend().get_texts()]
    plt.close("all")
