"""Public reference data: the festival calendar and the sourced public figures.

The files ship inside the package (``adoption/datasets/reference/``, also reachable as
``data/reference/`` in the repository); each row keeps its source. Pass ``path=`` to use another file.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

import pandas as pd

from adoption.errors import InputError

__all__ = ["FESTIVALS", "data_dir", "festival_calendar", "public_figures"]

#: Festivals the simulator knows, in calendar.csv's naming.
FESTIVALS: tuple[str, ...] = ("chinese_new_years_eve", "spring_festival", "qixi", "mid_autumn")


def data_dir() -> Path:
    """The folder of the package's data: ``reference/`` (public figures, calendar) and ``example/``.

    Found with :mod:`importlib.resources`, so an installed wheel finds it from any working folder.

    Examples
    --------
    >>> (data_dir() / "reference" / "calendar.csv").is_file()
    True
    """
    return Path(str(resources.files("adoption.datasets")))


def festival_calendar(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Festival dates (``festival``, ``date``) from ``data/reference/calendar.csv``.

    Examples
    --------
    >>> cal = festival_calendar()
    >>> cal.loc[cal["festival"] == "chinese_new_years_eve", "date"].dt.year.tolist()[:2]
    [2014, 2015]
    """
    if path is None:  # the bundled file, read once per process (every simulation and mean field reads it)
        return _bundled_calendar().copy()
    return _read_calendar(Path(path))


@functools.cache
def _bundled_calendar() -> pd.DataFrame:
    return _read_calendar(data_dir() / "reference" / "calendar.csv")


def _read_calendar(file: Path) -> pd.DataFrame:
    try:
        cal = pd.read_csv(file)
    except OSError as exc:
        raise InputError(f"calendar: cannot read {file} ({exc.strerror or exc})") from None
    if not {"festival", "date"} <= set(cal.columns):
        raise InputError(f"calendar: {file} needs columns festival, date")
    cal["date"] = pd.to_datetime(cal["date"], errors="coerce")
    if cal["date"].isna().any():
        raise InputError(f"calendar.date: {int(cal['date'].isna().sum())} rows are not dates in {file}")
    unknown = sorted(set(cal["festival"]) - set(FESTIVALS))
    if unknown:
        raise InputError(f"calendar.festival: unknown festivals {unknown}; expected {list(FESTIVALS)}")
    return cal[["festival", "date"]].sort_values("date", ignore_index=True)


def public_figures() -> pd.DataFrame:
    """The sourced public figures (red-packet volumes, wallet user counts) with their definitions.

    Metric definitions differ from row to row (bound cards, active users, registered users): read
    ``metric_definition`` before comparing rows.

    Examples
    --------
    >>> figs = public_figures()
    >>> eve = figs[figs["series"] == "red_packets_eve"].set_index("period")["value"]
    >>> round(eve["2015"] / eve["2014"])
    63
    """
    fig = pd.read_csv(data_dir() / "reference" / "public_figures.csv", dtype={"period": str})
    fig["date"] = pd.to_datetime(fig["date"])
    return fig
