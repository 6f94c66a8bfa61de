"""The red-packet world: a day-stepped, vectorized simulator that writes an event log.

Users live on a :class:`~adoption.world.graph.SocialGraph`. Each user is *not yet reached*, then *reached*
(money received: a red-packet share or a transfer), then *active* (their first own payment action: a
payment to a merchant, a red packet sent or a transfer sent; the card is bound just before), and may
*leave*. Merchants go from *not accepting* to *accepting*. One step is one day; every mechanism works on
whole arrays (numpy), never with a Python loop over users or edges, and event times are drawn inside the
day (with lunch and evening peaks, and the festival-evening pile-up), so the log has real timestamps.

Mechanisms
----------
Red packets
    Active users send at ``send_rate`` x festival multiplier x habit (each packet sent raises the sender's
    own rate, up to a cap). A packet goes to one of the sender's chat groups (split by the lucky-money rule
    or fixed, first come first served, refunded after 24 h; see :mod:`adoption.world.redpacket`) or to one
    friend.
Gift contagion
    An active user who receives a share in a group sends a packet back into it within 24 h with a small
    probability (higher for the luckiest draw) and an amount that makes the expected money sent back
    ``contagion_units_back`` (0.18) per unit received (Yuan et al. 2024).
Transfers
    Active users send money to friends.
Activation
    Each user has a latent cost of adopting (lower with more friends and in the large cities, lower for
    the unobservably engaged, who also open more group packets). The wallet's value moves with money
    waiting in it (received, unspendable until a card is bound), friends who pay, the local share of
    accepting merchants and the festival; the activation hazard is ``adoption_rate * sigmoid(value -
    cost)`` (:mod:`adoption.world.value`). No parameter sets how many receivers activate.
Holdout
    A random ``holdout_share`` of users cannot receive: money sent to them is refused. The experiment
    gives the true effect of receiving (:mod:`adoption.world.truth`, written as ``truth.json``).
Merchants
    Merchants accept when the local share of paying users times their benefit outweighs their cost (a
    logistic rate; a subsidy lowers the cost). Active users pay at accepting merchants of their city.
Campaigns
    QR-code posters on channels (metro, campus, mall, official account) are scanned; active scanners buy
    (a payment tied to the scan); buyers share to Moments, which brings referred scans by their friends,
    generation after generation.

Randomness comes only from ``seed``: the same scenario, graph and seed give identical tables.

The code: :mod:`~adoption.world.state` (the state), :mod:`~adoption.world.mechanisms` and
:mod:`~adoption.world.campaigns` (the mechanisms, functions over the state), :mod:`~adoption.world.engine`
(the day loop), :mod:`~adoption.world.recorder` and :mod:`~adoption.world.tables` (the output). This
module is the public entry: :func:`simulate`, :func:`simulate_to`, :func:`simulate_states`.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import pandas as pd

from adoption.errors import InvalidEventLog, ParameterError
from adoption.log.checked import cache_folder
from adoption.log.contract import TABLES
from adoption.log.eventlog import META_FILE, TRUTH_FILE, EventLog, coerce_table, log_writer
from adoption.random import SeedLike
from adoption.world.batch import run_worlds
from adoption.world.campaigns import CAMPAIGN_CHANNELS
from adoption.world.engine import run_world
from adoption.world.graph import SocialGraph
from adoption.world.scenario import Scenario
from adoption.world.state import WorldState
from adoption.world.tables import event_tables, log_meta, recorded_tables, state_tables
from adoption.world.truth import effect_truth

__all__ = ["BYTES_PER_USER", "BYTES_PER_USER_IN_MEMORY", "CAMPAIGN_CHANNELS", "available_memory", "check_memory", "simulate",
           "simulate_batch", "simulate_states", "simulate_to", "simulate_with_states"]


def simulate(scenario: Scenario | str = "default", *, graph: SocialGraph | None = None, seed: SeedLike = None,
             progress: bool = False) -> EventLog:
    """Simulate the red-packet world and return its event log.

    Parameters
    ----------
    scenario : Scenario or str, default "default"
        Parameters, or the name of a named scenario.
    graph : SocialGraph, optional
        The social graph to run on (for example :meth:`SocialGraph.from_networkx`); by default one is
        generated with :func:`~adoption.world.graph.generate_graph` (``n_users``, ``mean_degree``, ``n_cities``).
    seed : int or numpy Generator, optional
        Source of all randomness (graph and events).
    progress : bool, default False
        Show a progress bar over the simulated days.

    Returns
    -------
    EventLog
        All twelve tables, valid under the contract; ``meta`` holds the window, scenario and seed.

    Examples
    --------
    >>> log = simulate(Scenario(n_users=500, end="2014-03-31"), seed=1)
    >>> log.validate().ok, len(log.users)
    (True, 500)
    >>> simulate(Scenario(n_users=500, end="2014-03-31"), seed=1).red_packets.equals(log.red_packets)
    True
    """
    return _event_log(_run_world(scenario, graph, seed, progress), seed)


def simulate_batch(scenario: Scenario | str, seeds: list[int], *, progress: bool = False) -> list[EventLog]:
    """Simulate many small worlds at once, one per seed: their event logs.

    For simulate-and-recover studies, which need many independent worlds of one scenario: the worlds are
    stepped through their days together (:func:`adoption.world.batch.run_worlds`), so two dozen worlds of
    4,000 users cost about what five cost one at a time. Each log is a world of ``scenario`` built from its
    own seed; the days' draws are shared, so a log is a draw of the same distribution as
    ``simulate(scenario, seed=seed)``, not the same draw (except in a batch of one). Its ``meta`` names
    the batch (``batch_seeds``).

    Parameters
    ----------
    scenario : Scenario or str
        Parameters, or the name of a named scenario.
    seeds : list of int
        One seed per world.
    progress : bool, default False
        Show a progress bar over the simulated days.

    Returns
    -------
    list of EventLog
        One log per seed, in order, each valid under the contract.

    Examples
    --------
    >>> scenario = Scenario(n_users=400, end="2014-03-31", campaigns=False)
    >>> logs = simulate_batch(scenario, [1, 2, 3])
    >>> [len(log.users) for log in logs], all(log.validate().ok for log in logs)
    ([400, 400, 400], True)
    >>> simulate_batch(scenario, [5])[0].red_packets.equals(simulate(scenario, seed=5).red_packets)
    True
    """
    s = Scenario.named(scenario) if isinstance(scenario, str) else scenario
    try:
        check_memory(s.replace(n_users=s.n_users * max(len(seeds), 1)))
    except ParameterError as exc:
        raise ParameterError(f"seeds: {len(seeds):,} worlds of {s.n_users:,} users run as one batch ({exc})") from None
    logs = []
    for world, seed in zip(run_worlds(s, seeds, progress=progress), seeds, strict=True):
        log = _event_log(world, seed)
        if len(seeds) > 1:
            log.meta["batch_seeds"] = [int(x) for x in seeds]
        logs.append(log)
    return logs


def simulate_to(path: str | os.PathLike[str], scenario: Scenario | str = "default", *,
                graph: SocialGraph | None = None, seed: SeedLike = None, progress: bool = False,
                overwrite: bool = False, format: Literal["parquet", "csv"] = "parquet",
                partition: Literal["month", "none"] | None = None, check: bool = False) -> dict[str, int]:
    """Simulate and write the event log, for runs too big to hold as one EventLog.

    Same parameters and output as :func:`simulate` followed by :meth:`EventLog.write`, but the log is never
    in memory as a whole: with ``partition="month"`` (the default for Parquet) the tables of events
    (:data:`~adoption.world.tables.RECORDED_TABLES`: red packets, claims, transfers, payments, scans,
    messages) are written as the run goes, one part per simulated month (``red_packets/2014-01.parquet``,
    ...; ``after-last-day.parquet`` for the campaign's follow-up, which runs after the last day), so
    memory holds the graph, the state and a month of events. A part holds the rows produced while that
    month was simulated, in the order they were produced, so a claim or a packet sent back late on a
    month's last day is in that month's part with a time up to a day into the next. Every reader (pandas,
    DuckDB, ``adoption validate``) reads a table's folder as one table, its parts in name order: the same
    rows, in the same order, as ``partition="none"`` (one file per table, written after the run).
    Everything goes into a temporary folder, published when the run has finished (nothing is left behind
    by a failed or interrupted run). With ``progress``, one bar covers the days, the writing and the check.

    Parameters
    ----------
    partition : {"month", "none"}, optional
        How the tables of events are written; by default "month" for Parquet and "none" for CSV (a CSV log
        is one file per table).
    check : bool, default False
        Once the log is published, check it against every contract rule (DuckDB, as ``adoption validate
        --engine duckdb`` does) and remember that its files passed (:mod:`adoption.log.checked`), so that the
        first analysis of it does not check it again: the check a new user's first analysis would make,
        made here instead (at ten million users, about 25 of that analysis's seconds). Nothing is checked
        where remembering is turned off (``ADOPTION_CACHE_DIR=""``: every analysis checks anyway).

    Returns
    -------
    dict
        Rows written per table.

    Raises
    ------
    RuntimeError
        With ``check``, when the log written breaks a contract rule: a bug in the simulator. The log is
        left where it was written, for the report.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "log"
    >>> rows = simulate_to(out, Scenario(n_users=300, end="2014-02-28"), seed=1)
    >>> rows["users"], (out / "users.parquet").exists(), sorted(p.name for p in (out / "red_packets").iterdir())
    (300, True, ['2014-01.parquet', '2014-02.parquet'])
    """
    from tqdm.auto import tqdm

    s = Scenario.named(scenario) if isinstance(scenario, str) else scenario
    partition = partition or ("month" if format == "parquet" else "none")
    if partition not in ("month", "none"):
        raise ParameterError(f"partition: expected 'month' or 'none', got {partition!r}")
    if partition == "month" and format != "parquet":
        raise ParameterError("partition: 'month' needs format='parquet' (a CSV log is one file per table)")
    check_memory(s, in_memory=partition == "none")
    checking = check and cache_folder() is not None
    with tqdm(total=s.n_days + 2 + checking, desc="simulating days", unit="day", disable=not progress,
              leave=False) as bar:
        rows = _simulate_into(path, s, graph, seed, bar, overwrite=overwrite, format=format, partition=partition)
        if checking:  # (the world is gone: the check has its memory)
            bar.set_description("checking the log")
            _check_written(path)
            bar.update(1)
    return rows


def _simulate_into(path: str | os.PathLike[str], s: Scenario, graph: SocialGraph | None, seed: SeedLike, bar: Any,
                   *, overwrite: bool, format: Literal["parquet", "csv"], partition: str) -> dict[str, int]:
    """:func:`simulate_to`'s run and writing, told on ``bar``: rows written per table."""
    rows: dict[str, int] = {}
    written: set[str] = set()
    with log_writer(path, overwrite=overwrite, format=format) as write_table:

        def write(name: str, frame: pd.DataFrame, part: str | None = None) -> None:
            typed, problems = coerce_table(name, frame)
            if problems:
                raise InvalidEventLog(problems)
            if part is None or len(typed):
                write_table(name, typed, part=part)
                written.add(name)
            rows[name] = rows.get(name, 0) + len(frame)

        def write_month(w: WorldState, month: str) -> None:
            for name, frame in recorded_tables(w):
                write(name, frame, part=month)

        world = run_world(s, graph, seed, progress=bar, on_month_end=write_month if partition == "month" else None)
        bar.set_description("writing the log")
        for name, frame in state_tables(world):
            write(name, frame)
        bar.update(1)
        for name, frame in recorded_tables(world):
            if partition == "none" or name not in written:  # a table with no rows at all is still written, empty
                write(name, frame)
            else:
                write(name, frame, part="after-last-day")
        write_table(META_FILE, log_meta(world, seed))
        write_table(TRUTH_FILE, effect_truth(world))
        bar.update(1)
    return {name: rows[name] for name in TABLES if name in rows}


def _check_written(path: str | os.PathLike[str]) -> None:
    """Check a log the simulator wrote against every contract rule and remember it passed; a rule broken is
    the simulator's bug (RuntimeError), not bad input."""
    from adoption.log.sql import open_checked

    try:
        with open_checked(path):
            pass
    except KeyboardInterrupt:  # (the log is whole: only its check is missing)
        raise KeyboardInterrupt(f"the log in {path} was written whole but not checked (its first analysis checks "
                                "it)") from None
    except InvalidEventLog as err:
        raise RuntimeError(f"{path}: the simulator wrote a log that breaks the contract (left there for the "
                           f"report): {err}") from err


def simulate_states(scenario: Scenario | str = "default", *, graph: SocialGraph | None = None,
                    seed: SeedLike = None) -> pd.DataFrame:
    """The simulator's true daily state: shares of users active and reached, merchants accepting.

    Unlike curves read from the event log, this counts users who were paying before the period (they have
    no first action in the log) and is exact at the start of each day. It is what a mean-field model
    (:mod:`adoption.world.meanfield`) should reproduce.

    Returns
    -------
    DataFrame indexed by day number (0 = the scenario's start) with ``users_active``, ``users_reached``
    (received money, or active) and ``merchants_accepting``, each as a share of all users/merchants.

    Examples
    --------
    >>> states = simulate_states(Scenario(n_users=500, end="2014-03-31", campaigns=False), seed=1)
    >>> bool(states["users_active"].is_monotonic_increasing)
    True
    """
    return _daily_states(_run_world(scenario, graph, seed, progress=False))


def simulate_with_states(scenario: Scenario | str = "default", *, graph: SocialGraph | None = None,
                         seed: SeedLike = None) -> tuple[EventLog, pd.DataFrame]:
    """The event log and the true daily state of one run: what :func:`simulate` and :func:`simulate_states`
    give for the same scenario and seed, for the price of one simulation.

    Examples
    --------
    >>> scenario = Scenario(n_users=500, end="2014-03-31", campaigns=False)
    >>> log, states = simulate_with_states(scenario, seed=1)
    >>> log.red_packets.equals(simulate(scenario, seed=1).red_packets), states.equals(simulate_states(scenario, seed=1))
    (True, True)
    """
    world = _run_world(scenario, graph, seed, progress=False)
    return _event_log(world, seed), _daily_states(world)


def _event_log(world: WorldState, seed: SeedLike) -> EventLog:
    """A finished run's event log: its tables, window and scenario, and the truth of its holdout."""
    return EventLog(**dict(event_tables(world)), meta=log_meta(world, seed), truth=effect_truth(world))


def _daily_states(w: WorldState) -> pd.DataFrame:
    days = np.arange(w.n_days + 1, dtype=float)
    active = np.sort(w.active)
    reached = np.sort(np.minimum(w.active, w.reached))
    merchants = np.sort(w.m_accept[np.arange(len(w.m_accept)) != w.campaign_merchant])
    return pd.DataFrame({
        "users_active": np.searchsorted(active, days, side="left") / max(w.n, 1),
        "users_reached": np.searchsorted(reached, days, side="left") / max(w.n, 1),
        "merchants_accepting": np.searchsorted(merchants, days, side="left") / max(len(merchants), 1),
    }, index=pd.Index(days.astype(int), name="day"))


#: Peak memory per user of a two-year run at 10 friends per user, written a month at a time (measured:
#: 10M users, 8.1 GB; 2M users, 1.8 GB), and with the whole log kept in memory (``simulate()``; measured:
#: 1M users, 2.7 GB).
BYTES_PER_USER = 1_000
BYTES_PER_USER_IN_MEMORY = 2_800


def available_memory() -> int:
    """Bytes of memory this machine can give a new run (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(scenario: Scenario, *, in_memory: bool = True) -> None:
    """Refuse, before any work, a run that cannot fit in this machine's memory (``in_memory``: the whole
    log is kept, as :func:`simulate` does; otherwise it is written a month at a time).

    Raises
    ------
    ParameterError
        Naming ``n_users``, the memory the run needs and how many users fit.
    """
    scale = max(scenario.mean_degree / 10.0, 0.5) * max(scenario.n_days / 730.0, 0.5)
    per_user = BYTES_PER_USER_IN_MEMORY if in_memory else BYTES_PER_USER
    need = per_user * scale * scenario.n_users
    have = available_memory()
    if need > 0.9 * have:
        fits = int(0.9 * have / (per_user * scale))
        raise ParameterError(f"n_users: {scenario.n_users:,} users need about {need / 2**30:,.0f} GiB of memory; this "
                             f"machine has {have / 2**30:,.0f} GiB available (at most about {fits:,} users)")


def _run_world(scenario: Scenario | str, graph: SocialGraph | None, seed: SeedLike, progress: bool) -> WorldState:
    s = Scenario.named(scenario) if isinstance(scenario, str) else scenario
    check_memory(s)
    return run_world(s, graph, seed, progress)
