"""The bundled example log, made by the simulator with a fixed seed.

It ships inside the package (``adoption/datasets/example/``; ``data/example`` in the repository points at
it). Regenerate it, byte for byte, with ``make example``, which runs::

    adoption simulate --scenario default --users 20000 --seed 20150218 --partition none \\
        --out src/adoption/datasets/example --overwrite
"""

from __future__ import annotations

from pathlib import Path

from adoption.datasets.reference import data_dir
from adoption.log.eventlog import EventLog, read_eventlog

__all__ = ["EXAMPLE_SCENARIO", "EXAMPLE_SEED", "EXAMPLE_USERS", "example_path", "load_events", "load_example"]

EXAMPLE_SCENARIO = "default"
EXAMPLE_USERS = 20_000
EXAMPLE_SEED = 20150218


def example_path() -> Path:
    """The folder of the bundled example log (inside the installed package)."""
    return data_dir() / "example"


def load_example(*, validate: bool = False) -> EventLog:
    """The bundled example event log (20,000 simulated users, 2014-2015, default scenario).

    Parameters
    ----------
    validate : bool, default False
        Check every contract rule while reading (the test suite already does).

    Examples
    --------
    >>> log = load_example()
    >>> len(log.users), log.meta["seed"]
    (20000, 20150218)
    """
    return read_eventlog(example_path(), validate=validate)


def load_events(events: str = "", amount_unit: str = "cents") -> EventLog:
    """The log a report runs on: the bundled example when ``events`` is empty, else the folder it names.

    A path that is not an event log gives a one-line error naming it.

    Examples
    --------
    >>> len(load_events("").users)
    20000
    """
    if not events:
        return load_example()
    return read_eventlog(events, amount_unit=amount_unit)
