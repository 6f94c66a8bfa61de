"""Figures of a calibration: the moments against their targets, and the parameters the targets allow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_moments", "plot_parameter_spread"]


def _miss(value: float, target: float, tolerance: float, scale: str) -> float:
    if scale == "ratio":
        return float(np.log(value / target) / np.log(tolerance)) if value > 0 else -np.inf
    return (value - target) / tolerance


def plot_moments(moments: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each moment's simulated value at the calibrated point against its target, in units of its tolerance.

    ``moments`` is a calibration's moment table (``name``, ``target``, ``simulated``, ``simulated_sd``,
    ``tolerance``, ``scale``). The grey band is the tolerance: a dot inside it is within; the bar is one sd
    over the replicates.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> table = pd.DataFrame({"name": ["a", "b"], "target": [0.8, 63.0], "simulated": [0.79, 30.0],
    ...                       "simulated_sd": [0.01, 5.0], "tolerance": [0.04, 3.0], "scale": ["share", "ratio"]})
    >>> plot_moments(table).get_xlabel()
    'simulated minus target, in tolerances (within: -1 to 1)'
    """
    ax = axes_or_new(ax)
    y = np.arange(len(moments))[::-1]
    ax.axvspan(-1, 1, color="#DDDDDD", alpha=0.6, lw=0, label="within tolerance")
    ax.axvline(0, color="#777777", lw=1)
    for yi, row in zip(y, moments.itertuples(), strict=True):
        x = _miss(row.simulated, row.target, row.tolerance, row.scale)
        sd = row.simulated_sd if np.isfinite(row.simulated_sd) else 0.0
        lo = _miss(max(row.simulated - sd, 1e-12), row.target, row.tolerance, row.scale)
        hi = _miss(row.simulated + sd, row.target, row.tolerance, row.scale)
        inside = abs(x) <= 1
        colour = PALETTE[0] if inside else PALETTE[1]
        ax.plot([lo, hi], [yi, yi], color=colour, lw=2)
        ax.plot([np.clip(x, -3.5, 3.5)], [yi], "o", color=colour, ms=8)
        ax.annotate(f"{row.simulated:.3g} vs {row.target:.3g}", (np.clip(x, -3.5, 3.5), yi), xytext=(0, 8),
                    textcoords="offset points", ha="center", fontsize=8, color="#333333")
    ax.set_yticks(y, [str(n).replace("_", " ") for n in moments["name"]])
    ax.set_xlim(-3.6, 3.6)
    ax.set_ylim(-0.7, len(moments) - 0.3)
    ax.set_xlabel("simulated minus target, in tolerances (within: -1 to 1)")
    ax.set_title("moments at the calibrated point")
    return ax


def plot_parameter_spread(points: pd.DataFrame, parameters: list[Any], calibrated: dict[str, float]) -> Figure:
    """Distance to the targets against each free parameter, every simulated point; accepted points filled.

    A parameter the targets pin down shows a valley; a flat cloud means the targets cannot tell its values
    apart (its spread is wide, and honest). ``parameters`` are objects with ``name``, ``low`` and ``high``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace as P
    >>> pts = pd.DataFrame({"a": [1.0, 2.0, 3.0], "distance": [2.0, 0.5, 1.5], "accepted": [False, True, False]})
    >>> fig = plot_parameter_spread(pts, [P(name="a", low=0.0, high=4.0)], {"a": 2.0})
    >>> len(fig.axes)
    1
    """
    n = len(parameters)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.2 * rows), sharey=True, squeeze=False)
    distance = points["distance"].replace(np.inf, np.nan)
    top = float(np.nanpercentile(distance, 95)) * 1.1 if distance.notna().any() else 1.0
    for ax, p in zip(axes.flat, parameters, strict=False):
        accepted = points["accepted"].to_numpy(bool)
        ax.scatter(points.loc[~accepted, p.name], distance[~accepted].clip(upper=top), s=18, color="#AAAAAA",
                   label="simulated point")
        ax.scatter(points.loc[accepted, p.name], distance[accepted], s=28, color=PALETTE[0], label="accepted")
        ax.axvline(calibrated[p.name], color=PALETTE[2], lw=1.2, ls="--", label="calibrated")
        ax.set_xlim(p.low, p.high)
        ax.set_xlabel(p.name.replace("_", " "))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("distance to the targets (RMS of tolerances)")
    axes.flat[0].legend(frameon=False, fontsize=8)
    return fig
