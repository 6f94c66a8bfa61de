"""Figures of the receipt effect: estimates against the truth, balance, calibration, the Qini curve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from adoption.plotting.survival import plot_hazard_ratios
from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.analysis.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift

__all__ = ["plot_gifts", "plot_effects", "plot_balance", "plot_calibration", "plot_dose_response", "plot_qini"]


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
    ax = axes_or_new(ax)
    bal = effect.balance_.iloc[::-1]
    y = np.arange(len(bal))
    ax.scatter(bal["smd_before"].abs(), y, color=PALETTE[1], label="before weighting")
    ax.scatter(bal["smd_after"].abs(), y, color=PALETTE[0], label="after weighting")
    ax.axvline(0.1, color="grey", ls="--", lw=1)
    ax.set_yticks(y, list(bal.index))
    ax.set_xlabel("|standardized mean difference|, receivers vs non-receivers")
    ax.legend(frameon=False)
    return ax


def plot_dose_response(dose: Any, ax: Axes | None = None) -> Axes:
    """Hazard ratio of activation by the yuan received so far, against no receipt (95% CIs).

    ``dose`` is a fitted :class:`adoption.analysis.receipt_history.ReceiptDose`. The axis is logarithmic
    when the ratios span more than a factor of 20.
    """
    ax = axes_or_new(ax)
    dr = dose.dose_response_
    x = np.arange(len(dr))
    hr = dr["hazard_ratio"].to_numpy()
    err = np.vstack([hr - dr["ci_low"].to_numpy(), dr["ci_high"].to_numpy() - hr])
    ax.errorbar(x, hr, yerr=err, fmt="o-", color=PALETTE[0], capsize=3)
    ax.axhline(1.0, color="grey", ls="--", lw=1)
    if dr["ci_high"].max() / max(dr["ci_low"].min(), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_xticks(x, list(dr["band"]), rotation=20)
    ax.set_xlabel("yuan received so far")
    ax.set_ylabel("hazard ratio of activation vs none (95% CI)")
    return ax


def plot_calibration(predictor: ActivationPredictor, ax: Axes | None = None) -> Axes:
    """Predicted versus observed activation within the horizon (held-out receivers)."""
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
    q = uplift.qini_
    ax.plot(q["share_targeted"], q["qini"], color=PALETTE[0], label="targeting by predicted uplift")
    ax.plot(q["share_targeted"], q["random"], color="grey", ls="--", label="random targeting")
    ax.set_xlabel("share of users targeted")
    ax.set_ylabel("extra activations")
    ax.legend(frameon=False)
    return ax


def plot_gifts(gifts: Any, ax: Axes | None = None) -> Axes:
    """Money sent back against money received, within packet: the lucky split's natural experiment.

    ``gifts`` is a fitted :class:`adoption.analysis.gifts.GiftContagion`: dots are deciles of the amount's
    deviation from the packet mean (receivers other than the luckiest), the line the response to money received
    with its 95% band, the dashed line the within-packet slope (below it by the interference).
    """
    ax = axes_or_new(ax)
    b = gifts.binned_
    ax.scatter(b["amount"], b["back"], color=PALETTE[0], s=40, zorder=3, label="deciles of the amount (within packet)")
    x = np.linspace(float(b["amount"].min()), float(b["amount"].max()), 50)
    low, high = gifts.units_back_ci_
    ax.fill_between(x, low * x, high * x, color=PALETTE[2], alpha=0.15, lw=0)
    ax.plot(x, gifts.units_back_ * x, color=PALETTE[2], lw=2, label=f"{gifts.units_back_:.3f} back per yuan [{low:.3f}, {high:.3f}]")
    if gifts.interference_ != 0:
        ax.plot(x, gifts.units_back_total_ * x, color=PALETTE[1], lw=1.5, ls="--",
                label=f"{gifts.units_back_total_:.3f} at the co-receivers' expense (the dots' slope)")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_xlabel("yuan received, minus the packet's mean")
    ax.set_ylabel(f"yuan sent back within {gifts.window_hours:g} h, minus the packet's mean")
    ax.legend(frameon=False, fontsize=8)
    return ax
