"""Figures of the two-sided market: the phase portrait, the phase diagram, the platform race."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.market.model import TwoSidedMarket

__all__ = ["plot_phase_portrait", "plot_phase_diagram", "plot_race", "plot_race_ratio"]


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

    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
