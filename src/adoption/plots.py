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
from matplotlib.colors import ListedColormap

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
    from adoption.diffusion import BassModel
    from adoption.funnel import ReturnVisits, Sharing
    from adoption.market import TwoSidedMarket
    from adoption.survival import ActivationCurve, CompetingRisks

__all__ = [
    "PALETTE",
    "plot_activation_curves",
    "plot_balance",
    "plot_bass_fit",
    "plot_calibration",
    "plot_competing_risks",
    "plot_conversion_rates",
    "plot_effects",
    "plot_funnel",
    "plot_hazard_ratios",
    "plot_mean_field",
    "plot_phase_diagram",
    "plot_phase_portrait",
    "plot_qini",
    "plot_race",
    "plot_race_ratio",
    "plot_referrals",
    "plot_return_curves",
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


# ------------------------------------------------------------------ the two-sided market
def plot_phase_portrait(market: TwoSidedMarket, starts: dict[str, tuple[float, float]] | None = None,
                        push: dict[str, tuple[float, float]] | None = None, ax: Axes | None = None,
                        t_max: float = 60.0) -> Axes:
    """Flow of (users, merchants) with the critical-mass frontier, the equilibria and paths from ``starts``.

    ``push`` maps a label to a start that a red-packet push moved (drawn as an arrow from the matching
    start).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from adoption.market import TwoSidedMarket
    >>> ax = plot_phase_portrait(TwoSidedMarket(2.0, 1.5, 0.3, 0.2), starts={"launch": (0.02, 0.03)})
    >>> ax.get_xlabel()
    'users adopting (share)'
    """
    from adoption.market import NoCriticalMass

    ax = _ax(ax)
    grid = np.linspace(0, 1, 25)
    U, M = np.meshgrid(grid, grid)
    dU, dM = market.flow(U, M)
    ax.streamplot(U, M, dU, dM, color="#BBBBBB", density=1.1, linewidth=0.7, arrowsize=0.8)
    try:
        front = market.frontier(200)
        ax.plot(front["users"], front["merchants"], color=PALETTE[1], lw=2.2, label="critical-mass frontier")
        ax.fill_between(front["users"], front["merchants"], 0, color=PALETTE[1], alpha=0.06, lw=0)
    except NoCriticalMass:
        pass
    eq = market.equilibria()
    for kind, marker in (("stable", "o"), ("saddle", "X"), ("unstable", "s")):
        pts = eq[eq["kind"] == kind]
        if len(pts):
            ax.scatter(pts["users"], pts["merchants"], marker=marker, s=70, color="black", zorder=5, label=kind)
    same_start: dict[tuple[float, float], list[str]] = {}
    for name, (u0, m0) in (starts or {}).items():  # scenarios that start at one point share one marker
        same_start.setdefault((float(u0), float(m0)), []).append(name)
    for i, ((u0, m0), names) in enumerate(same_start.items()):
        color = PALETTE[(i + 2) % len(PALETTE)]
        path = market.trajectory(u0, m0, t_max=t_max)
        ax.plot(path["users"], path["merchants"], color=color, lw=1.6)
        ax.scatter([u0], [m0], color=color, s=45, zorder=6, label="start: " + ", ".join(names))
        pushed_to = [push[n] for n in names if push and n in push]
        if pushed_to:
            u1, m1 = pushed_to[0]
            ax.annotate("", xy=(u1, m1), xytext=(u0, m0),
                        arrowprops={"arrowstyle": "->", "color": color, "lw": 1.8, "ls": "--"})
            pushed = market.trajectory(u1, m1, t_max=t_max)
            ax.plot(pushed["users"], pushed["merchants"], color=color, lw=1.6, ls="--",
                    label="after the smallest red-packet push")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="users adopting (share)", ylabel="merchants accepting (share)")
    ax.set_aspect("equal")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return ax


def plot_phase_diagram(grid: pd.DataFrame, x: str, y: str, ax: Axes | None = None) -> Axes:
    """Regimes (takes off / critical mass / stalls) over two market parameters, from ``phase_diagram``."""
    ax = _ax(ax)
    order = ["stalls", "critical mass", "takes off"]
    codes = grid.assign(code=grid["regime"].map({r: i for i, r in enumerate(order)}))
    table = codes.pivot_table(index=y, columns=x, values="code").sort_index(ascending=False)
    cmap = ListedColormap([PALETTE[5], PALETTE[4], PALETTE[0]])
    sns.heatmap(table, cmap=cmap, vmin=-0.5, vmax=2.5, ax=ax, cbar_kws={"ticks": [0, 1, 2]},
                xticklabels=[f"{v:.2g}" for v in np.round(table.columns, 9)],
                yticklabels=[f"{v:.2g}" for v in np.round(table.index, 9)])
    ax.collections[0].colorbar.set_ticklabels(order)
    ax.set(xlabel=x, ylabel=y)
    ax.set_title("where the market ends up")
    return ax


def plot_race(path: pd.DataFrame, ax: Axes | None = None, unit: str = "months") -> Axes:
    """Entrant against incumbent users and merchants over time (from ``market.race``)."""
    ax = _ax(ax)
    ax.plot(path["t"], path["incumbent_users"], color=PALETTE[2], lw=2, label="incumbent users")
    ax.plot(path["t"], path["incumbent_merchants"], color=PALETTE[2], lw=1.2, ls="--", label="incumbent merchants")
    ax.plot(path["t"], path["entrant_users"], color=PALETTE[0], lw=2, label="entrant users")
    ax.plot(path["t"], path["entrant_merchants"], color=PALETTE[0], lw=1.2, ls="--", label="entrant merchants")
    ax.set(xlabel=unit, ylabel="share adopting", ylim=(0, 1.02))
    ax.legend(frameon=False)
    return ax


def plot_race_ratio(path: pd.DataFrame, public: pd.DataFrame | None = None, ax: Axes | None = None) -> Axes:
    """The entrant's users as a share of the incumbent's, against the public WeChat Pay / Alipay ratios.

    ``public`` is :func:`adoption.market.public_race`; each dot is labelled with what WeChat Pay's figure
    counts, since the two wallets' definitions differ.
    """
    ax = _ax(ax)
    ratio = path["entrant_users"] / path["incumbent_users"].clip(lower=1e-12)
    ax.plot(path["t"], ratio, color=PALETTE[0], lw=2, label="model: entrant / incumbent users")
    ax.axhline(0.1, color="grey", ls=":", lw=1)
    ax.text(path["t"].iloc[-1], 0.1, "same order of magnitude ", ha="right", va="bottom", fontsize=8, color="grey")
    if public is not None:
        pts = public.dropna(subset=["ratio_to_alipay"])
        ax.scatter(pts["months_since_launch"], pts["ratio_to_alipay"], color=PALETTE[1], zorder=5,
                   label="public: WeChat Pay / Alipay")
        for row in pts.itertuples():
            ax.annotate(row.metric_definition.split("(")[0].strip(), (row.months_since_launch, row.ratio_to_alipay),
                        xytext=(4, -10), textcoords="offset points", fontsize=7)
    ax.set_yscale("log")
    ax.set(xlabel="months since the entrant's launch", ylabel="users relative to the incumbent (log)")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


def plot_mean_field(paths: dict[str, pd.DataFrame], columns: tuple[str, ...] = ("users_active", "merchants_accepting"),
                    ax: Axes | None = None) -> Axes:
    """Daily shares of several paths (mean field, well-mixed and clustered simulations) on one Axes."""
    ax = _ax(ax)
    styles = ["-", "--", ":"]
    for i, (name, path) in enumerate(paths.items()):
        for j, col in enumerate(columns):
            ax.plot(path.index, path[col], color=PALETTE[i % len(PALETTE)], ls=styles[j % 3], lw=1.8,
                    label=f"{name}: {col.replace('_', ' ')}")
    ax.set(xlabel="day", ylabel="share", ylim=(0, 1.02))
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_bass_fit(t: np.ndarray, adopters: np.ndarray, fit: BassModel, ax: Axes | None = None,
                  label: str = "observed") -> Axes:
    """An adoption series with its fitted Bass curve."""
    ax = _ax(ax)
    ax.plot(t, adopters, "o", ms=3, color=PALETTE[5], label=label)
    grid = np.linspace(np.min(t), np.max(t), 300)
    ax.plot(grid, fit.predict(grid), color=PALETTE[0], lw=2,
            label=f"Bass fit: p = {fit.p_:.2g}, q = {fit.q_:.2g}")
    ax.legend(frameon=False)
    return ax


# ------------------------------------------------------------------ channel conversion and the O2O loop
def _channel_labels(funnel: pd.DataFrame) -> list[str]:
    place = funnel["placement"].fillna("").astype(str)
    return [c + (f": {p}" if p else "") for c, p in zip(funnel["channel"].astype(str), place, strict=True)]


def plot_funnel(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Scans, unique scanners and conversions per channel (log scale), with the rate and its interval.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from adoption import load_example
    >>> from adoption.funnel import channel_funnel
    >>> plot_funnel(channel_funnel(load_example())).get_xscale()
    'log'
    """
    ax = _ax(ax)
    funnel = funnel.sort_values("rate").reset_index(drop=True)
    y = np.arange(len(funnel))
    stages = [("scans", "scans", 0.28), ("unique_scanners", "unique scanners", 0.0), ("conversions", "conversions", -0.28)]
    for (col, label, offset), color in zip(stages, ["#C8E6C9", "#66BB6A", PALETTE[0]], strict=True):
        ax.barh(y + offset, funnel[col].clip(lower=0.8), height=0.27, color=color, label=label)
    for yi, row in zip(y, funnel.itertuples(), strict=True):
        ax.text(row.scans * 1.15, yi, f"{row.rate:.1%} [{row.ci_low:.1%}, {row.ci_high:.1%}]", va="center", fontsize=9)
    ax.set_xscale("log")
    ax.set_xlim(0.8, funnel["scans"].max() * 12)
    ax.set_yticks(y, _channel_labels(funnel))
    ax.set_xlabel("count (log scale); text: conversion rate per scan [95% CI]")
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    return ax


def plot_conversion_rates(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Conversion rate per channel with its 95% interval; labelled with P(best) when ranked."""
    ax = _ax(ax)
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
    ax = _ax(ax)
    gen = shares.generations
    x = gen["generation"].to_numpy()
    ax.bar(x - 0.2, gen["scans"], width=0.4, color="#C8E6C9", label="scans")
    ax.bar(x + 0.2, gen["conversions"], width=0.4, color=PALETTE[0], label="conversions")
    ax.set_yscale("log")
    ax.set_xticks(x, ["direct" if g == 0 else f"share {g}" for g in x])
    reach = shares.reach.set_index("reach")
    gain = reach.loc["with sharing", "conversions"] / max(reach.loc["direct only", "conversions"], 1) - 1
    ax.set_title(f"referred conversions per conversion {shares.viral_coefficient:.3f} "
                 f"[{shares.ci_low:.3f}, {shares.ci_high:.3f}]; sharing added {gain:.1%} conversions", fontsize=10)
    ax.set_ylabel("count (log scale)")
    ax.legend(frameon=False)
    return ax


def plot_return_curves(returns: ReturnVisits, ax: Axes | None = None, max_groups: int = 8) -> Axes:
    """Share of customers back at the same merchant, by days since the first visit, per cohort."""
    ax = _ax(ax)
    curves = returns.curves
    many = len(curves.columns) > 2
    colors = sns.color_palette("viridis", len(curves.columns)) if many else PALETTE
    for col, color in zip(curves.columns[:max_groups], colors, strict=False):
        ax.step(curves.index, curves[col], where="post", color=color, label=str(col))
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set(xlabel="days since the first visit", ylabel="returned (1 - Kaplan-Meier)")
    ax.legend(frameon=False, fontsize=8, title="first visit" if many else None)
    return ax
