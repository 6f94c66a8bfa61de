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
    never = np.isinf(grid.to_numpy(dtype=float))
    text = np.where(never, "never", np.vectorize(lambda v: "" if np.isnan(v) else format(v, fmt))(finite.to_numpy(dtype=float)))
    label = value.replace("_", " ")
    sns.heatmap(finite, annot=text, fmt="", cmap="Greens" if "activ" in value else "viridis_r", ax=ax,
                cbar_kws={"label": label})
    if never.any():  # a mean over replicates is infinite when one replicate never got there
        ax.set_xlabel(f"{x.replace('_', ' ')}   (never: a replicate never reached it)")
    else:
        ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(label)
    return ax


# ------------------------------------------------------------------ the two-sided market
