"""Figures of a parameter sweep: a heatmap of a measure over two parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import seaborn as sns

from adoption.plotting.theme import axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


__all__ = ["plot_sweep"]


def plot_sweep(table: pd.DataFrame, x: str, y: str, value: str, ax: Axes | None = None, fmt: str = ".2f") -> Axes:
    """Heatmap of a sweep measure over two grid parameters (mean over replicates and other parameters)."""
    ax = axes_or_new(ax)
    grid = table.groupby([y, x])[value].mean().unstack(x).sort_index(ascending=False)
    finite = grid.replace([np.inf, -np.inf], np.nan)
    sns.heatmap(finite, annot=True, fmt=fmt, cmap="Greens" if "activ" in value else "viridis_r", ax=ax,
                cbar_kws={"label": value})
    ax.set_title(value)
    return ax


# ------------------------------------------------------------------ the two-sided market
