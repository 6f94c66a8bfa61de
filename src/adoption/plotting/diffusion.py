"""Figures of adoption over time: mean-field paths against the simulator, Bass fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.analysis.diffusion import BassModel

__all__ = ["plot_mean_field", "plot_bass_fit"]


def plot_mean_field(paths: dict[str, pd.DataFrame], columns: tuple[str, ...] = ("users_active", "merchants_accepting"),
                    ax: Axes | None = None) -> Axes:
    """Daily shares of several paths (mean field, well-mixed and clustered simulations) on one Axes."""
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
    ax.plot(t, adopters, "o", ms=3, color=PALETTE[5], label=label)
    grid = np.linspace(np.min(t), np.max(t), 300)
    ax.plot(grid, fit.predict(grid), color=PALETTE[0], lw=2,
            label=f"Bass fit: p = {fit.p_:.2g}, q = {fit.q_:.2g}")
    ax.legend(frameon=False)
    return ax


# ------------------------------------------------------------------ channel conversion and the O2O loop
