"""Data that ships with the package: the bundled example log, public reference figures, and synthetic
logs whose truth is known (for simulate-and-recover tests).

The files live inside the package (``importlib.resources``), so an installed wheel finds them from any
folder; ``data/example`` and ``data/reference`` in the repository point at the same files.
"""

from typing import TYPE_CHECKING

from adoption.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "example_path": "adoption.datasets.example", "load_example": "adoption.datasets.example",
    "load_events": "adoption.datasets.example",
    "festival_calendar": "adoption.datasets.reference", "public_figures": "adoption.datasets.reference",
    "selection_log": "adoption.datasets.synthetic", "weibull_activation_log": "adoption.datasets.synthetic",
    "campaign_log": "adoption.datasets.synthetic", "load_real": "adoption.datasets.real",
})

if TYPE_CHECKING:  # pragma: no cover
    from adoption.datasets.example import example_path, load_events, load_example
    from adoption.datasets.real import load_real
    from adoption.datasets.reference import festival_calendar, public_figures
    from adoption.datasets.synthetic import campaign_log, selection_log, weibull_activation_log

__all__ = ["campaign_log", "example_path", "festival_calendar", "load_events", "load_example", "load_real", "public_figures",
           "selection_log", "weibull_activation_log"]
