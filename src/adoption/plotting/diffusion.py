"""Figures of adoption over time: mean-field paths against the simulator, Bass fits, network diffusion."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from adoption.plotting.theme import PALETTE, axes_or_new

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from adoption.analysis.diffusion import BassModel

__all__ = ["plot_bass_fit", "plot_community_curves", "plot_contagion_test", "plot_mean_field", "plot_thresholds"]


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
    ax.set(xlabel="days since the first observation", ylabel=f"adopters ({label})",
           title="Bass diffusion curve fitted to adoption")
    ax.legend(frameon=False)
    return ax


# ------------------------------------------------------------------ channel conversion and the O2O loop


def plot_community_curves(curves: pd.DataFrame, unit: str = "period", ax: Axes | None = None) -> Axes:
    """Cumulative share adopted by period, one line per community (from ``community_curves``)."""
    ax = axes_or_new(ax)
    for i, (name, part) in enumerate(curves.groupby("community", sort=False)):
        ax.step(part["period"], part["share"], where="post", color=PALETTE[i % len(PALETTE)], lw=1.6,
                label=f"community {name}")
    ax.axhline(0.5, color="grey", ls="--", lw=1)
    ax.set(xlabel=f"{unit} since the first period", ylabel="share of the community adopted", ylim=(0, 1.02))
    ax.legend(frameon=False, fontsize=8, ncol=2 if curves["community"].nunique() > 6 else 1)
    return ax


def plot_thresholds(exposure: pd.DataFrame, unit: str = "period", ax: Axes | None = None) -> Axes:
    """Each adopter's threshold (share of contacts adopted by their own period) against when they adopted."""
    ax = axes_or_new(ax)
    rng = np.random.default_rng(0)  # jitter only, so that equal points are seen
    ax.scatter(exposure["period"] + rng.uniform(-0.2, 0.2, len(exposure)), exposure["threshold"], s=14, alpha=0.6,
               color=PALETTE[0], label="an adopter")
    mean = exposure.groupby("period")["threshold"].mean()
    ax.plot(mean.index, mean.to_numpy(), color=PALETTE[1], lw=2, label="mean by period")
    ax.set(xlabel=f"{unit} of adoption", ylabel="threshold: share of contacts adopted", ylim=(-0.03, 1.03))
    ax.legend(frameon=False)
    return ax


def plot_contagion_test(test: object, ax: Axes | None = None) -> Axes:
    """The null distribution of mean exposure at adoption, and the observed value (a ``ContagionTest``)."""
    ax = axes_or_new(ax)
    null, observed = test.null, test.observed  # type: ignore[attr-defined]
    ax.hist(null, bins=40, color=PALETTE[2], alpha=0.8, label=f"{len(null)} re-draws ({test.null_model})")  # type: ignore[attr-defined]
    ax.axvline(observed, color=PALETTE[1], lw=2, label=f"observed (p = {test.p_value:.3f})")  # type: ignore[attr-defined]
    ax.set(xlabel="mean exposure at adoption (share of contacts adopted earlier)", ylabel="re-draws")
    ax.legend(frameon=False)
    return ax
