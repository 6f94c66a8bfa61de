"""Figures of a QR campaign: the funnel, conversion rates, referrals, return visits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import seaborn as sns

from adoption.plotting.theme import PALETTE, axes_or_new, count_scale

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.analysis.funnel import ReturnVisits, Sharing

__all__ = ["plot_funnel", "plot_conversion_rates", "plot_referrals", "plot_return_curves"]


def _channel_labels(funnel: pd.DataFrame) -> list[str]:
    place = funnel["placement"].fillna("").astype(str)
    return [c + (f":{p}" if p else "") for c, p in zip(funnel["channel"].astype(str), place, strict=True)]


def plot_funnel(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Scans, unique scanners and conversions per channel, with the rate and its interval.

    The count axis is logarithmic only when the counts span more than two orders of magnitude.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from adoption import load_example
    >>> from adoption.analysis.funnel import channel_funnel
    >>> plot_funnel(channel_funnel(load_example())).get_xlabel()
    'scans, unique scanners, conversions (log scale); text: conversion rate per scan [95% CI]'
    """
    ax = axes_or_new(ax)
    funnel = funnel.sort_values("rate").reset_index(drop=True)
    y = np.arange(len(funnel))
    stages = [("scans", "scans", 0.28), ("unique_scanners", "unique scanners", 0.0), ("conversions", "conversions", -0.28)]
    for (col, label, offset), color in zip(stages, ["#C8E6C9", "#66BB6A", PALETTE[0]], strict=True):
        ax.barh(y + offset, funnel[col].clip(lower=0.8), height=0.27, color=color, label=label)
    log = count_scale(ax, funnel[["scans", "conversions"]].to_numpy().ravel(), "x")
    for yi, row in zip(y, funnel.itertuples(), strict=True):
        ax.text(row.scans * 1.15 if log else row.scans + funnel["scans"].max() * 0.02, yi,
                f"{row.rate:.1%} [{row.ci_low:.1%}, {row.ci_high:.1%}]", va="center", fontsize=9)
    ax.set_xlim(0.8 if log else 0, funnel["scans"].max() * (12 if log else 1.6))
    ax.set_yticks(y, _channel_labels(funnel))
    ax.set_xlabel("scans, unique scanners, conversions" + (" (log scale)" if log else "")
                  + "; text: conversion rate per scan [95% CI]")
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    return ax


def plot_conversion_rates(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Conversion rate per channel with its 95% interval; labelled with P(best) when ranked."""
    ax = axes_or_new(ax)
    funnel = funnel.sort_values("rate").reset_index(drop=True)
    y = np.arange(len(funnel))
    # a Wilson bound a rounding error above a rate of 0 must not make a negative error bar
    err = np.clip(np.vstack([funnel["rate"] - funnel["ci_low"], funnel["ci_high"] - funnel["rate"]]), 0, None)
    ax.errorbar(funnel["rate"], y, xerr=err, fmt="o", color=PALETTE[0], capsize=4, lw=2)
    labels = _channel_labels(funnel)
    if "prob_best" in funnel:
        labels = [f"{lab}  (P(best) {p:.2f})" for lab, p in zip(labels, funnel["prob_best"], strict=True)]
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_xlabel("conversion rate per scan (95% CI)")
    return ax


def plot_referrals(shares: Sharing, ax: Axes | None = None) -> Axes:
    """The referral tree by generation: scans and conversions, with the viral coefficient and reach."""
    ax = axes_or_new(ax)
    gen = shares.generations
    x = gen["generation"].to_numpy()
    ax.bar(x - 0.2, gen["scans"], width=0.4, color="#C8E6C9", label="scans")
    ax.bar(x + 0.2, gen["conversions"], width=0.4, color=PALETTE[0], label="conversions")
    log = count_scale(ax, gen[["scans", "conversions"]].to_numpy().ravel(), "y")
    ax.set_xticks(x, ["direct" if g == 0 else f"after {g} share{'s' if g > 1 else ''}" for g in x])
    ax.set_xlabel("generation of the referral tree (scans of a shared link, shares of shares ...)")
    reach = shares.reach.set_index("reach")
    gain = reach.loc["with sharing", "conversions"] / max(reach.loc["direct only", "conversions"], 1) - 1
    ax.set_title(f"referred conversions per conversion {shares.viral_coefficient:.3f} "
                 f"[{shares.ci_low:.3f}, {shares.ci_high:.3f}]; sharing added {gain:.1%} conversions", fontsize=10)
    ax.set_ylabel("scans and conversions" + (" (log scale)" if log else ""))
    ax.legend(frameon=False)
    return ax


def plot_return_curves(returns: ReturnVisits, ax: Axes | None = None, max_groups: int = 8) -> Axes:
    """Share of customers back at the same merchant, by days since the first visit, per cohort."""
    ax = axes_or_new(ax)
    curves = returns.curves
    many = len(curves.columns) > 2
    colors = sns.color_palette("viridis", len(curves.columns)) if many else PALETTE
    for col, color in zip(curves.columns[:max_groups], colors, strict=False):
        ax.step(curves.index, curves[col], where="post", color=color, label=str(col))
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set(xlabel="days since the first visit", ylabel="returned (1 - Kaplan-Meier)")
    ax.legend(frameon=False, fontsize=8, title="first visit" if many else None)
    return ax
