"""The one look of every report: the palette, the seaborn theme, and a fresh Axes when none is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import seaborn as sns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["PALETTE", "axes_or_new", "set_theme"]

#: WeChat green first, then a colour-blind-safe set.
PALETTE = ["#07C160", "#D4532B", "#2B6CB0", "#8E44AD", "#E1A100", "#555555"]


def set_theme() -> None:
    """The one look of all reports: seaborn's whitegrid with the package palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (7.5, 4.2), "figure.dpi": 100,
                                                          "axes.titleweight": "bold"})


def axes_or_new(ax: Axes | None) -> Axes:
    """``ax``, or the Axes of a new figure when ``ax`` is None."""
    return ax if ax is not None else plt.subplots()[1]
