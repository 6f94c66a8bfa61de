"""Figures: one theme for every report, and a ``plot_*(..., ax=None)`` per result that returns the Axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from adoption import load_example
>>> from adoption.analysis.activation import activation_table
>>> from adoption.analysis.survival import ActivationCurve
>>> ax = plot_activation_curves(ActivationCurve().fit(activation_table(load_example()), by="first_kind"))
>>> ax.get_ylabel()
'activated (cumulative incidence)'
"""

from adoption.plotting.calibration import plot_moments, plot_parameter_spread
from adoption.plotting.causal import (
    plot_balance,
    plot_calibration,
    plot_dose_response,
    plot_effects,
    plot_gifts,
    plot_qini,
)
from adoption.plotting.diffusion import (
    plot_bass_fit,
    plot_community_curves,
    plot_contagion_test,
    plot_mean_field,
    plot_thresholds,
)
from adoption.plotting.funnel import plot_conversion_rates, plot_funnel, plot_referrals, plot_return_curves
from adoption.plotting.market import plot_phase_diagram, plot_phase_portrait, plot_race, plot_race_ratio
from adoption.plotting.survival import plot_activation_curves, plot_competing_risks, plot_hazard_ratios
from adoption.plotting.sweep import plot_sweep
from adoption.plotting.theme import PALETTE, set_theme
from adoption.plotting.tipping import plot_tipping, plot_world_portrait

__all__ = [
    "PALETTE",
    "plot_activation_curves",
    "plot_balance",
    "plot_bass_fit",
    "plot_calibration",
    "plot_community_curves",
    "plot_competing_risks",
    "plot_contagion_test",
    "plot_conversion_rates",
    "plot_dose_response",
    "plot_effects",
    "plot_funnel",
    "plot_gifts",
    "plot_hazard_ratios",
    "plot_mean_field",
    "plot_moments",
    "plot_parameter_spread",
    "plot_phase_diagram",
    "plot_phase_portrait",
    "plot_qini",
    "plot_race",
    "plot_race_ratio",
    "plot_referrals",
    "plot_return_curves",
    "plot_sweep",
    "plot_thresholds",
    "plot_tipping",
    "plot_world_portrait",
    "set_theme",
]
