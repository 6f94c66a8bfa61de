"""The one look of every report: the palette, the seaborn theme, alt text, and a fresh Axes when none is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import seaborn as sns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LOG_SPAN", "PALETTE", "axes_or_new", "count_scale", "figure_description", "set_theme"]

#: Okabe & Ito's colour-blind-safe palette (bluish green first, for WeChat), distinguishable in the three
#: common forms of colour blindness and in greyscale by lightness.
PALETTE = ["#009E73", "#D55E00", "#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]


def set_theme() -> None:
    """The one look of all reports: seaborn's whitegrid, the colour-blind-safe palette, constrained layout.

    In a notebook it also records each figure's description (:func:`figure_description`) beside its PNG,
    which the HTML report uses as the image's alt text.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE,
                  rc={"figure.figsize": (7.5, 4.2), "figure.dpi": 100, "axes.titleweight": "bold",
                      "figure.constrained_layout.use": True, "legend.frameon": False})
    _record_alt_text()


def figure_description(fig: Figure) -> str:
    """What a figure shows, in words: its title, else its panels' titles, else their axis labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, (a, b) = plt.subplots(1, 2)
    >>> _ = a.set_title("users active"), b.plot([0, 1]), b.set_xlabel("days"), b.set_ylabel("merchants accepting")
    >>> figure_description(fig)
    'Figure: users active; merchants accepting against days'
    """
    title = fig.get_suptitle()
    panels = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data() and not ax.get_title():
            continue
        if ax.get_title():
            panels.append(ax.get_title())
        elif ax.get_ylabel() or ax.get_xlabel():
            panels.append(" against ".join(t for t in (ax.get_ylabel(), ax.get_xlabel()) if t))
    text = title or "; ".join(dict.fromkeys(p.replace("\n", " ") for p in panels))
    return f"Figure: {text}" if text else "Figure"


def _record_alt_text() -> None:
    """In IPython, return each figure's PNG with ``{"alt": figure_description(fig)}`` as its metadata."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    plt.close(plt.figure())  # the inline backend registers its own PNG formatter when the first figure is made
    png = shell.display_formatter.formatters["image/png"]
    try:
        draw = png.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(draw, "adds_alt_text", False):
        return

    def png_with_alt(fig: Figure, *args: Any, **kwargs: Any) -> Any:
        data = draw(fig, *args, **kwargs)
        return data if data is None else (data, {"alt": figure_description(fig)})

    png_with_alt.adds_alt_text = True  # type: ignore[attr-defined]
    png.for_type(Figure, png_with_alt)


#: A count axis is drawn on a log scale only when its positive values span more than this factor.
LOG_SPAN = 100.0


def count_scale(ax: Axes, values: Any, axis: str = "x") -> bool:
    """Put a count axis on a log scale only when the counts span orders of magnitude; True if it did.

    On a log scale 120 and 240 look almost alike; on a linear one, 3 and 30,000 cannot share an axis.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> count_scale(plt.subplots()[1], [120, 240, 30]), count_scale(plt.subplots()[1], [3, 30_000])
    (False, True)
    """
    import numpy as np

    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    spans = positive.size > 0 and positive.max() / positive.min() > LOG_SPAN
    if spans:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    return bool(spans)


def axes_or_new(ax: Axes | None) -> Axes:
    """``ax``, or the Axes of a new figure when ``ax`` is None."""
    return ax if ax is not None else plt.subplots()[1]
