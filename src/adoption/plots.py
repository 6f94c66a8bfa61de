"""Figures: one theme for every report, and a ``plot_*(..., ax=None)`` per result that returns the Axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from adoption import load_example
>>> from adoption.activation import activation_table
>>> from adoption.survival import ActivationCurve
>>> ax = plot_activation_curves(ActivationCurve().fit(activation_table(load_example()), by="first_kind"))
>>> ax.get_ylabel()
'activated (cumulative incidence)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import seaborn as sns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
    from adoption.survival import ActivationCurve, CompetingRisks

__all__ = [
    "PALETTE",
    "plot_activation_curves",
    "plot_balance",
    "plot_calibration",
    "plot_competing_risks",
    "plot_effects",
    "plot_hazard_ratios",
    "plot_qini",
    "plot_sweep",
    "set_theme",
]

#: WeChat green first, then a colour-blind-safe set.
PALETTE = ["#07C160", "#D4532B", "#2B6CB0", "#8E44AD", "#E1A100", "#555555"]


def set_theme() -> None:
    """The one look of all reports: seaborn's whitegrid with the package palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (7.5, 4.2), "figure.dpi": 100,
                                                          "axes.titleweight": "bold"})


def _ax(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.subplots()[1]


def plot_activation_curves(curve: ActivationCurve, ax: Axes | None = None) -> Axes:
    """Cumulative incidence of activation after the first receipt, with 95% bands, one line per group."""
    ax = _ax(ax)
    for i, (name, kmf) in enumerate(curve.fitters_.items()):
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        color = PALETTE[i % len(PALETTE)]
        ax.step(sf.index, 1 - sf.to_numpy(), where="post", color=color, label=f"{name} (n={kmf.event_observed.size:,})")
        ax.fill_between(ci.index, 1 - ci.iloc[:, 0], 1 - ci.iloc[:, 1], step="post", color=color, alpha=0.2, lw=0)
    ax.axvline(curve.horizon, color="grey", ls="--", lw=1)
    ax.set_xlim(0, max(curve.horizon * 2, 1))
    ax.set_ylim(0, 1)
    ax.set_xlabel("days since first receipt")
    ax.set_ylabel("activated (cumulative incidence)")
    ax.legend(loc="lower right", frameon=False)
    return ax


def plot_competing_risks(cr: CompetingRisks, ax: Axes | None = None) -> Axes:
    """Aalen–Johansen cumulative incidence of activation and of leaving first."""
    ax = _ax(ax)
    inc = cr.cumulative_incidence_
    ax.step(inc.index, inc["activation"], where="post", color=PALETTE[0], label="activated")
    ax.step(inc.index, inc["leaving"], where="post", color=PALETTE[1], label="left before activating")
    ax.axvline(cr.horizon, color="grey", ls="--", lw=1)
    ax.set_xlim(0, max(cr.horizon * 2, 1))
    ax.set_xlabel("days since first receipt")
    ax.set_ylabel("cumulative incidence")
    ax.legend(frameon=False)
    return ax


def plot_hazard_ratios(summary: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Forest plot of hazard ratios with 95% CIs (a Cox ``summary_``), on a log scale."""
    ax = _ax(ax)
    s = summary.iloc[::-1]
    y = np.arange(len(s))
    ax.errorbar(s["hazard_ratio"], y, xerr=[s["hazard_ratio"] - s["ci_low"], s["ci_high"] - s["hazard_ratio"]],
                fmt="o", color=PALETTE[2], capsize=3)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [str(i) for i in s.index])
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("hazard ratio of activation (95% CI, log scale)")
    return ax


def plot_effects(effect: ReceiptEffect | pd.DataFrame, ax: Axes | None = None, truth: float | None = None) -> Axes:
    """Naive versus adjusted hazard ratios of receiving, with 95% CIs."""
    effects = effect if isinstance(effect, pd.DataFrame) else effect.effects_
    ax = plot_hazard_ratios(effects, ax)
    if truth is not None:
        ax.axvline(truth, color=PALETTE[0], lw=2, label=f"truth ({truth:g})")
        ax.legend(frameon=False)
    ax.set_xlabel("hazard ratio of activation for receiving (95% CI, log scale)")
    return ax


def plot_balance(effect: ReceiptEffect, ax: Axes | None = None) -> Axes:
    """Love plot: standardized mean differences before and after propensity weighting."""
    ax = _ax(ax)
    bal = effect.balance_.iloc[::-1]
    y = np.arange(len(bal))
    ax.scatter(bal["smd_before"].abs(), y, color=PALETTE[1], label="before weighting")
    ax.scatter(bal["smd_after"].abs(), y, color=PALETTE[0], label="after weighting")
    ax.axvline(0.1, color="grey", ls="--", lw=1)
    ax.set_yticks(y, list(bal.index))
    ax.set_xlabel("|standardized mean difference|, receivers vs non-receivers")
    ax.legend(frameon=False)
    return ax


def plot_calibration(predictor: ActivationPredictor, ax: Axes | None = None) -> Axes:
    """Predicted versus observed activation within the horizon (held-out receivers)."""
    ax = _ax(ax)
    cal = predictor.calibration_
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    ax.plot(cal["predicted"], cal["observed"], "o-", color=PALETTE[2], label=f"AUC {predictor.auc_:.2f}")
    lo = max(0.0, min(cal["predicted"].min(), cal["observed"].min()) - 0.05)
    hi = min(1.0, max(cal["predicted"].max(), cal["observed"].max()) + 0.05)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("predicted probability of activating")
    ax.set_ylabel("observed share activating")
    ax.legend(frameon=False)
    return ax


def plot_qini(uplift: ReceiptUplift, ax: Axes | None = None) -> Axes:
    """Qini curve: extra activations from targeting the users with the highest predicted uplift."""
    ax = _ax(ax)
    q = uplift.qini_
    ax.plot(q["share_targeted"], q["qini"], color=PALETTE[0], label="targeting by predicted uplift")
    ax.plot(q["share_targeted"], q["random"], color="grey", ls="--", label="random targeting")
    ax.set_xlabel("share of users targeted")
    ax.set_ylabel("extra activations")
    ax.legend(frameon=False)
    return ax


def plot_sweep(table: pd.DataFrame, x: str, y: str, value: str, ax: Axes | None = None, fmt: str = ".2f") -> Axes:
    """Heatmap of a sweep measure over two grid parameters (mean over replicates and other parameters)."""
    ax = _ax(ax)
    grid = table.groupby([y, x])[value].mean().unstack(x).sort_index(ascending=False)
    finite = grid.replace([np.inf, -np.inf], np.nan)
    sns.heatmap(finite, annot=True, fmt=fmt, cmap="Greens" if "activ" in value else "viridis_r", ax=ax,
                cbar_kws={"label": value})
    ax.set_title(value)
    return ax
