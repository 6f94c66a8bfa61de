"""Figures of activation: cumulative incidence curves, competing risks, hazard ratios."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import matplotlib.ticker as ticker
import numpy as np
import pandas as pd

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.analysis.survival import ActivationCurve, CompetingRisks

__all__ = ["plot_activation_curves", "plot_competing_risks", "plot_hazard_ratios"]


def plot_activation_curves(curve: ActivationCurve, ax: Axes | None = None,
                           labels: Mapping[Any, str] | None = None) -> Axes:
    """Cumulative incidence of activation after the first receipt, with 95% bands, one line per group.

    ``labels`` names the groups in words (e.g. ``{True: "in a group", False: "one-to-one"}``).
    """
    ax = axes_or_new(ax)
    words = {str(k): v for k, v in (labels or {}).items()}
    for i, (group, kmf) in enumerate(curve.fitters_.items()):
        name = words.get(str(group), group)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
    s = summary.iloc[::-1]
    y = np.arange(len(s))
    ax.errorbar(s["hazard_ratio"], y, xerr=np.clip([s["hazard_ratio"] - s["ci_low"], s["ci_high"] - s["hazard_ratio"]],
                                                   0, None),
                fmt="o", color=PALETTE[2], capsize=3)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [str(i) for i in s.index])
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("hazard ratio of activation (95% CI, log scale)")
    return ax
