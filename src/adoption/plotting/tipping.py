"""Figures of the cold start in the simulated world: its mean field's phase portrait, and the tipping curve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_tipping", "plot_world_portrait"]


def plot_world_portrait(grid: pd.DataFrame, frontier: pd.DataFrame, starts: dict[str, tuple[float, float]] | None = None,
                        verdicts: pd.DataFrame | None = None, tip_share: float = 0.5, ax: Axes | None = None) -> Axes:
    """Where the mean field of a world ends from each start, with its critical-mass frontier and the scenarios.

    Parameters
    ----------
    grid : DataFrame
        ``users_start``, ``merchants_start``, ``users_active_end`` (``WorldMeanField.outcome_grid``).
    frontier : DataFrame
        ``merchants_start``, ``users_start`` (``WorldMeanField.frontier``).
    starts : dict
        Label -> (users, merchants) of each scenario's start.
    verdicts : DataFrame, optional
        Indexed by label with booleans ``mean_field_tips`` and ``simulated_tips``: a filled marker tipped in
        the simulation, a ring stalled; a cross marks where the mean field and the simulation disagree.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> g = pd.DataFrame({"users_start": [0, 0.5, 0, 0.5], "merchants_start": [0, 0, 0.5, 0.5],
    ...                   "users_active_end": [0.1, 0.7, 0.3, 0.9]})
    >>> f = pd.DataFrame({"merchants_start": [0, 0.5], "users_start": [0.3, 0.1]})
    >>> plot_world_portrait(g, f, {"a": (0.02, 0.03)}).get_xlabel()
    'users active at the start (share)'
    """
    ax = axes_or_new(ax)
    table = grid.pivot(index="merchants_start", columns="users_start", values="users_active_end")
    mesh = ax.pcolormesh(table.columns, table.index, table.to_numpy(), cmap="Greens", vmin=0, vmax=1, shading="nearest")
    ax.figure.colorbar(mesh, ax=ax, label="users active at the end (mean field)")
    ok = frontier["users_start"].notna()
    ax.plot(frontier.loc[ok, "users_start"], frontier.loc[ok, "merchants_start"], color=PALETTE[1], lw=2.2,
            label=f"frontier: {tip_share:.0%} active by the end")
    for i, (label, (u0, m0)) in enumerate((starts or {}).items()):
        colour = PALETTE[(i + 2) % len(PALETTE)]
        tipped = None if verdicts is None or label not in verdicts.index else bool(verdicts.loc[label, "simulated_tips"])
        ax.plot([u0], [m0], "o", ms=9, color=colour, mfc=colour if tipped in (None, True) else "white", mew=2,
                label=label + ("" if tipped is None else (": tipped" if tipped else ": stalled") + " in the simulation"))
        if verdicts is not None and label in verdicts.index and bool(verdicts.loc[label, "mean_field_tips"]) != tipped:
            ax.plot([u0], [m0], "x", ms=12, color="black", mew=2)
    ax.set_xlim(float(table.columns.min()), float(table.columns.max()))
    ax.set_ylim(float(table.index.min()), float(table.index.max()))
    ax.set_xlabel("users active at the start (share)")
    ax.set_ylabel("merchants accepting at the start (share)")
    ax.legend(frameon=True, fontsize=8, loc="upper right")
    return ax


def plot_tipping(results: dict[str, Any], ax: Axes | None = None) -> Axes:
    """The probability of tipping against the push: observed rates, the fitted curve with its band, the
    critical push with its interval, and the mean field's critical push, for one or more experiments.

    ``results`` maps a label to a tipping result (``runs``, ``curve``, ``probability(pushes)``,
    ``critical_push``, ``critical_push_ci``, ``mean_field_critical_push``).
    """
    ax = axes_or_new(ax)
    top = max(float(r.curve["push"].max()) for r in results.values())
    fine = np.linspace(0.0, top, 200)
    mean_fields = set()
    for i, (label, r) in enumerate(results.items()):
        colour = PALETTE[i % len(PALETTE)]
        fitted, low, high = r.probability(fine)
        ax.fill_between(fine, low, high, color=colour, alpha=0.15, lw=0)
        ax.plot(fine, fitted, color=colour, lw=2, label=label)
        c = r.curve
        dodge = (i - (len(results) - 1) / 2) * 0.0025 * top  # side by side where experiments share a push
        ax.errorbar(c["push"] + dodge, c["rate"], yerr=[c["rate"] - c["rate_ci_low"], c["rate_ci_high"] - c["rate"]],
                    fmt="o", color=colour, ms=5, capsize=2, lw=1)
        if np.isfinite(r.critical_push):
            lo, hi = r.critical_push_ci
            ax.errorbar([r.critical_push], [0.5], xerr=[[r.critical_push - lo], [hi - r.critical_push]], fmt="D",
                        color=colour, ms=7, capsize=4, lw=2)
        mf = r.mean_field_critical_push
        if np.isfinite(mf) and round(mf, 3) not in mean_fields:
            mean_fields.add(round(mf, 3))
            ax.axvline(mf, color=colour, ls="--", lw=1.2, label=f"mean field ({label}): {mf:.3f}")
    ax.axhline(0.5, color="#999999", lw=0.8)
    ax.set_xlabel("push: share of users given wallet money before the first day")
    ax.set_ylabel("probability that the market tips")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax
