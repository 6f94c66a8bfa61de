"""The activation table in SQL, run by DuckDB over Parquet/CSV files (or over an EventLog's frames).

The same definitions as :mod:`adoption.analysis.activation`, written once as SQL so that logs larger than memory
can be turned into an activation table: DuckDB streams the Parquet files and spills to disk. The test
suite checks that both engines give identical tables, row for row.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from adoption.analysis import activation_arrays
from adoption.analysis.activation_columns import COLUMNS, HEADLINE_COLUMNS, check_definition, typed_table
from adoption.errors import InputError
from adoption.log.contract import ACTIVITY_TABLES, RECIPROCITY_HOURS, TABLES
from adoption.log.eventlog import EventLog
from adoption.log.sql import SqlLog, memory_limit_setting, open_checked, out_of_memory

__all__ = ["activation_table_duckdb", "activation_tables_duckdb", "connect_log", "headline_tables_duckdb"]

_DAY_US = "86400000000.0"
#: The bits of the integer the first receipts' tie-break is packed into (DuckDB's UHUGEINT).
_PACKED_BITS = 128
_WEEK_US = 7 * 86_400_000_000
# (in whole microseconds: with a decimal point, the literal would make DuckDB compare every claim's time in DECIMAL
# arithmetic; the claims of a ten-million-user log 8.5 s against 9.0 s)
_RECIPROCITY_US = math.floor(RECIPROCITY_HOURS * 3600e6)
W, E = "CAST($w_start AS TIMESTAMP)", "CAST($w_end AS TIMESTAMP)"
#: The values of the text columns a counted table brings as categories (an SQL enum: no string per row).
_COHORTS, _KINDS = "ENUM('organic', 'receipt')", "ENUM('red_packet', 'transfer')"


def _days(a: str, b: str) -> str:
    """SQL for (a - b) in days, via whole microseconds (as the pandas engine computes it)."""
    return f"((epoch_us({a}) - epoch_us({b})) / {_DAY_US})"


@contextmanager
def connect_log(log: EventLog | str | os.PathLike[str], *, memory_limit: str | None = None,
                validate: bool = True, amount_unit: str = "cents") -> Iterator[SqlLog]:
    """The log opened in DuckDB, one typed view per table; refuses an invalid log like the pandas reader.

    A folder is read in place (``<table>.parquet``, a folder ``<table>/`` of Parquet parts, or
    ``<table>.csv``) and checked by :func:`adoption.log.sql.validate_sql` (types always; every rule unless
    ``validate=False``, or unless these files passed every rule before, see :mod:`adoption.log.checked`).
    An EventLog's frames are registered without copying.
    """
    if isinstance(log, EventLog):

        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'Asia/Shanghai'")
            con.execute(f"SET memory_limit = '{memory_limit_setting(memory_limit)}'")
            sql = SqlLog(con, meta=dict(log.meta))
            for name, frame in log.tables.items():
                con.register(f"frame_{name}", frame)
                present = [c for c in TABLES[name].column_names if c in frame.columns]
                con.execute(f"CREATE TEMP VIEW {name} AS SELECT {', '.join(present)} FROM frame_{name}")
                sql.columns[name] = set(present)
            yield sql
        finally:
            con.close()
        return
    with open_checked(log, memory_limit=memory_limit, amount_unit=amount_unit, validate=validate) as sql:
        yield sql


def _window(sql: SqlLog) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = sql.meta.get("window_start"), sql.meta.get("window_end")
    if start is None or end is None:
        parts = [f"SELECT min({c}) AS lo, max({c}) AS hi FROM {name}"
                 for name in (*ACTIVITY_TABLES, "card_bindings") if name in sql.columns
                 for c in TABLES[name].time_columns if c in sql.columns[name]]
        if not parts:
            raise InputError("event log has no timestamped events, so it has no observation window")
        lo, hi = sql.row(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(parts)})")
        if lo is None:
            raise InputError("event log has no timestamped events, so it has no observation window")
        start = start or pd.Timestamp(lo).normalize()
        end = end or pd.Timestamp(hi).normalize() + pd.Timedelta(days=1)
    try:
        return pd.Timestamp(str(start)).tz_localize(None), pd.Timestamp(str(end)).tz_localize(None)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"meta.json: window {start!r} .. {end!r} is not a pair of timestamps") from None


def activation_table_duckdb(log: EventLog | str | os.PathLike[str], definition: str, *, k: int = 3,
                            d: float = 30.0, memory_limit: str | None = None, validate: bool = True,
                            amount_unit: str = "cents", covariates: bool = True) -> pd.DataFrame:
    """The activation table computed by DuckDB; see :func:`adoption.analysis.activation.activation_table`
    (``covariates=False``: only :data:`~adoption.analysis.activation_columns.HEADLINE_COLUMNS`).

    A folder is validated through DuckDB first (see :func:`connect_log`), so an invalid log is refused
    with the same problems as the pandas engine gives, without loading it into memory. Text ids are
    mapped to the same dense codes as :func:`adoption.log.eventlog.encode_ids` gives.
    """
    return activation_tables_duckdb(log, [definition], k=k, d=d, memory_limit=memory_limit, validate=validate,
                                    amount_unit=amount_unit, covariates=[definition] if covariates else [])[definition]


def activation_tables_duckdb(log: EventLog | str | os.PathLike[str], definitions: Sequence[str], *, k: int = 3,
                             d: float = 30.0, covariates: Collection[str] | None = None,
                             memory_limit: str | None = None, validate: bool = True, amount_unit: str = "cents",
                             optional: Collection[str] = ()) -> dict[str, pd.DataFrame]:
    """The activation tables of several definitions from one opening of the log, sharing their common work.

    The log is opened and checked once; the first receipts, each user's first payment and first send,
    and the covariates are computed once and shared by every definition.

    Parameters
    ----------
    log : EventLog or path
        The log, or the folder of its Parquet/CSV files.
    definitions : sequence of str
        Definitions of activation (:data:`adoption.log.contract.DEFINITIONS`).
    k, d : of the ``k_payments`` definition.
    covariates : collection of str, optional
        The definitions whose tables carry the covariates (``senders_7d`` ... ``tenure_days``); the others
        have only the columns of :data:`~adoption.analysis.activation_columns.HEADLINE_COLUMNS`, which is
        all a headline needs. Default: every definition.
    memory_limit, validate, amount_unit
        As for :func:`activation_table_duckdb`.
    optional : collection of str, default ()
        Definitions left out when the log cannot define them (it lacks their table, or has no receipts at
        all); any other definition the log cannot define is refused with the reason.

    Returns
    -------
    dict of str to DataFrame
        The table of each definition, in the order asked.

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> tables = activation_tables_duckdb(example_path(), ["first_action", "card_binding"], covariates=["first_action"])
    >>> [len(t.columns) for t in tables.values()]
    [18, 11]
    """
    with_covariates = set(definitions if covariates is None else covariates)
    return _build(log, definitions, lambda builder, definition: builder.table(definition, definition in with_covariates),
                  k=k, d=d, memory_limit=memory_limit, validate=validate, amount_unit=amount_unit, optional=optional,
                  covariates=bool(with_covariates & set(definitions)))


def headline_tables_duckdb(log: EventLog | str | os.PathLike[str], definitions: Sequence[str], *, k: int = 3,
                           d: float = 30.0, memory_limit: str | None = None, validate: bool = True,
                           amount_unit: str = "cents", optional: Collection[str] = (), progress: bool = False,
                           until: Mapping[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """What the headline of each definition reads, counted in DuckDB when the cohort is big.

    Above :data:`~adoption.analysis.survival.AGGREGATE_ABOVE` receivers the fits put the times on a
    one-minute grid (:data:`~adoption.analysis.survival.GRID_DAYS`) and fit each distinct row once; here
    DuckDB does that counting, and only the counts come to Python: one row per cell with its number of
    people as ``weight`` (:data:`~adoption.analysis.survival.WEIGHT`), a few hundred thousand rows instead
    of a row per user. Every estimator of :mod:`adoption.analysis.survival` fits such a table as it would
    fit the rows, except that a group under the threshold is fitted on the grid too (by less than a minute
    apart). A smaller cohort comes as its rows (the columns of
    :data:`~adoption.analysis.activation_columns.HEADLINE_COLUMNS`), which the fits take exactly.

    Parameters
    ----------
    log, definitions, k, d, memory_limit, validate, amount_unit, optional
        As for :func:`activation_tables_duckdb`.
    progress : bool, default False
        A bar of the steps on standard error when it is a terminal: the checks, the first receipts, then
        each definition (at ten million users, a minute and a half in all).
    until : mapping of str to float, optional
        Days after the first receipt at which some definitions' follow-up ends
        (:func:`~adoption.analysis.survival.follow_up_until`): for a headline read only at that horizon,
        as :func:`~adoption.analysis.headline.headline_by_definition` reads it, the same figures from fewer
        cells (a half to a seventh as many on a two-year log). Its curves end there, and so do its event
        counts.

    Returns
    -------
    dict of str to DataFrame
        For each definition, in the order asked: ``cohort``, ``entry``, ``duration``, ``event``,
        ``event_type``, ``first_kind``, ``first_group`` and ``weight`` (counted; the text columns as
        categories), or the headline columns of its activation table (a small cohort).

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> from adoption.analysis.headline import activation_headline
    >>> tables = headline_tables_duckdb(example_path(), ["first_action"])
    >>> "weight" in tables["first_action"]  # 17,607 people: their rows, fitted exactly
    False
    >>> float(round(activation_headline(tables["first_action"]).overall["cumulative_incidence"], 2))
    0.81
    """
    from adoption.analysis.survival import GRID_DAYS, follow_up_until

    def headline_table(builder: _TableBuilder, definition: str) -> Callable[[], pd.DataFrame]:
        horizon = (until or {}).get(definition)
        counting = builder.counted(definition, GRID_DAYS, until=horizon)

        def finish() -> pd.DataFrame:  # (after the next definitions' SQL is under way)
            counted = counting()
            if counted is not None:
                return counted
            rows = builder.table(definition, covariates=False)
            return rows if horizon is None else follow_up_until(rows, horizon)

        return finish

    return _build(log, definitions, headline_table, k=k, d=d, memory_limit=memory_limit, validate=validate,
                  amount_unit=amount_unit, optional=optional, progress=progress)


def _build(log: EventLog | str | os.PathLike[str], definitions: Sequence[str],
           make: Callable[[_TableBuilder, str], pd.DataFrame | Callable[[], pd.DataFrame]], *, k: int, d: float,
           memory_limit: str | None, validate: bool, amount_unit: str, optional: Collection[str],
           progress: bool = False, covariates: bool = False) -> dict[str, pd.DataFrame]:
    """``make(builder, definition)`` for each definition, from one opening of the log; the definitions in
    ``optional`` left out where the log cannot define them. ``make`` may give a function that finishes the
    table instead: it is called after every definition has been started, while the log is still open (so
    that work in the background overlaps the next definitions' SQL). ``progress``: a bar of the steps (the
    checks, the first receipts, each definition) on standard error, when it is a terminal. ``covariates``:
    some table carries them (the first receipts' pass then keeps the first week's receipts for them)."""
    from tqdm.auto import tqdm

    wanted = list(dict.fromkeys(definitions))
    for definition in wanted:
        check_definition(definition, k, d)
    # (on a terminal only: a log file or a pipe gets no bar)
    bar = tqdm(total=len(wanted) + 2, desc="activation tables", unit="step", disable=None if progress else True,
               leave=False)
    try:
        with bar:
            bar.set_postfix_str("checking the log" if validate and not _checked_before(log, amount_unit)
                                else "opening the log")
            with connect_log(log, memory_limit=memory_limit, validate=validate, amount_unit=amount_unit) as sql:
                bar.update()
                bar.set_postfix_str("first receipts")
                try:
                    builder = _TableBuilder(sql, int(k), float(d), wanted, first_week=covariates)
                except InputError:
                    if set(wanted) <= set(optional):
                        return {}
                    raise
                bar.update()
                started: dict[str, pd.DataFrame | Callable[[], pd.DataFrame]] = {}
                with builder.background:
                    for definition in wanted:
                        bar.set_postfix_str(definition)
                        try:
                            started[definition] = make(builder, definition)
                        except InputError:
                            if definition not in optional:
                                raise
                        finally:
                            bar.update()
                    out = {}
                    for definition, table in started.items():
                        try:
                            out[definition] = typed_table(table() if callable(table) else table)
                        except InputError:
                            if definition not in optional:
                                raise
                return out
    except duckdb.OutOfMemoryException:
        raise out_of_memory(memory_limit) from None


def _checked_before(log: EventLog | str | os.PathLike[str], amount_unit: str) -> bool:
    """Whether ``log`` is a folder whose files passed every rule before (:mod:`adoption.log.checked`): its
    opening then checks nothing, and the progress bar says so."""
    from pathlib import Path

    from adoption.log.checked import LogFiles

    if isinstance(log, EventLog) or not Path(log).is_dir():
        return False
    return LogFiles.now(log, {"amount_unit": amount_unit}).checked_before()


class _TableBuilder:
    """The activation tables of one open log, built definition by definition on shared temporary tables."""

    def __init__(self, sql: SqlLog, k: int, d: float, definitions: Collection[str] = (), first_week: bool = False
                 ) -> None:
        self.sql, self.con, self.cols, self.k, self.d = sql, sql.con, sql.columns, k, d
        # the sends before the first payment are needed for the reciprocity definition: where it is asked
        # for, they give the first sends of the others too
        self._reciprocity = "first_action_no_reciprocity" in definitions
        # each user's first payment and the k_payments time come from one pass over the payments in each
        # user's order where k_payments is asked for (see _payment_times)
        self._k_payments = "k_payments" in definitions
        # the first week's receipts are needed for the covariates: where they are asked for, the first
        # receipts' pass keeps them
        self._first_week = first_week
        self.has = self.cols.__contains__
        if "users" not in self.cols:
            raise InputError("activation: the log has no users table")
        w_start, w_end = _window(sql)
        self.window = {"w_start": w_start.to_pydatetime(), "w_end": w_end.to_pydatetime()}
        self._done: set[str] = set()
        #: one thread for the arrays' counting, beside DuckDB's statements (numpy lets go of the
        #: interpreter in its loops over the arrays, DuckDB in its statements)
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adoption-counting")
        self._first_receipts()

    def _once(self, name: str, sql: str, params: dict[str, Any] | None = None, *, sides_as_planned: bool = False
              ) -> str:
        """Create the temporary table ``name`` from ``sql`` the first time it is asked for (``sides_as_planned``:
        with its hash joins' sides as planned, see :meth:`_sides_as_planned`)."""
        if name not in self._done:
            with self._sides_as_planned() if sides_as_planned else nullcontext():
                self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}", params or {})
            self._done.add(name)
        return name

    @contextmanager
    def _sides_as_planned(self) -> Iterator[None]:
        """Statements run inside with DuckDB's last pass over the plan (``build_side_probe_side``) turned off,
        so that it does not swap the sides of their hash joins.

        For a join of a whole table of the log with a small table of ours, that pass can choose to build the
        hash table of the whole log table, and probe it with the small one; kept as planned, the small one is
        built and the log streams past it (at ten million users: the candidate sends 3.5 s against 7.1 s, the
        claims in the reciprocity spans 5.3 s against 10.3 s). A DuckDB without that pass runs them as they
        are. The pass is on again after."""
        try:
            self.con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        except duckdb.Error:  # (no such pass in this DuckDB)
            turned_off = False
        else:
            turned_off = True
        try:
            yield
        finally:
            if turned_off:
                self.con.execute("RESET disabled_optimizers")

    # ------------------------------------------------------------------ shared by every definition
    def _first_receipts(self) -> None:
        """``first_receipt``: each receiver's first receipt, with the tie-break of the pandas engine (time,
        red packet before transfer, larger amount, lower id); only the first packets are looked up.

        Where the covariates are wanted, the same pass keeps every receipt of each receiver's first week
        with its sender (``first_week_receipts``, for :meth:`_senders_7d`): in arrays where the ids allow it
        (:meth:`_dense_firsts`; at 4.75 million users, 100 million rows: 7.4 s against 12.7 s), else in SQL with
        whether it came in a group: one match of the receipts to their receivers instead of two, and one of
        the week's claims to their packets, which gives both the first receipt's group and the week's
        senders."""
        has, cols = self.has, self.cols
        parts = self._receipt_parts()
        if not parts:
            raise InputError("activation: the log has no receipts (needs red_packet_claims or transfers)")
        grouped = has("red_packets") and "group_id" in cols["red_packets"]
        # the earliest (time, kind) per receiver by a plain integer minimum, then the tie-break among the
        # receipts at that instant only (a minimum of structs over every receipt is several times slower)
        receipts, key = ' UNION ALL '.join(parts), "epoch_us(r.t) * 2 + r.kind_order"
        earliest = f"SELECT r.user_id, min({key}) AS k FROM ({receipts}) r GROUP BY 1"
        found = self._dense_firsts(grouped)
        dense = found is not None
        if self._first_week and not dense:
            # the week as one expression of both sides (joined on the receiver, filtered after), from the
            # first receipt's time (the key halved); the week's claims then meet their packets, looked up by a
            # hash table of those claims (a twelfth of them), not of every packet
            week = f"""SELECT r.*, {key} = e.k AS earliest FROM ({receipts}) r JOIN ({earliest}) e
                       ON e.user_id = r.user_id WHERE epoch_us(r.t) - (e.k >> 1) < {_WEEK_US}"""
            if has("red_packets"):
                in_group = "p.group_id IS NOT NULL" if grouped else "CAST(NULL AS BOOLEAN)"
                week = f"""SELECT w.user_id, w.t, w.kind_order, w.amount, w.ref, coalesce(w.sender, p.sender_id) AS sender,
                                  CASE WHEN w.kind_order = 1 THEN FALSE ELSE {in_group} END AS in_group, w.earliest
                           FROM ({week}) w LEFT JOIN red_packets p ON w.kind_order = 0 AND p.packet_id = w.ref"""
            else:
                week = f"""SELECT *, CASE WHEN kind_order = 1 THEN FALSE ELSE CAST(NULL AS BOOLEAN) END AS in_group
                           FROM ({week})"""
            ties = f"SELECT * FROM {self._once('first_week_receipts', week)} r WHERE earliest"
            firsts = None
            # (a packet id twice, in a log not checked: grouped if either is, as the lookup below has it)
            group, lookup = "f.in_group", ""
            tie_group, carried = ", 'ng': NOT r.in_group", ", NOT m.ng AS in_group"
        else:
            firsts = found[0] if found else self._packed_firsts(receipts)
            ties = f"SELECT r.* FROM ({receipts}) r JOIN ({earliest}) e ON e.user_id = r.user_id AND {key} = e.k"
            tie_group, carried = "", ""
            if found and found[1]:
                group, lookup = "f.in_group", ""
            elif grouped:
                group = """CASE WHEN f.kind_order = 1 THEN FALSE ELSE coalesce(g.in_group, FALSE) END"""
                lookup = """LEFT JOIN (SELECT packet_id, bool_or(group_id IS NOT NULL) AS in_group FROM red_packets
                                       WHERE packet_id IN (SELECT ref FROM firsts WHERE kind_order = 0)
                                       GROUP BY packet_id) g ON f.kind_order = 0 AND g.packet_id = f.ref"""
            else:
                group, lookup = "CASE WHEN f.kind_order = 1 THEN FALSE ELSE CAST(NULL AS BOOLEAN) END", ""
        if firsts is None:  # the tie-break among the receipts at each receiver's earliest instant
            firsts = f"""
                SELECT user_id, m.t AS t, m.ko AS kind_order, -m.na AS amount, m.ref AS ref{carried} FROM (
                    SELECT r.user_id, min({{'t': r.t, 'ko': r.kind_order, 'na': -r.amount, 'ref': r.ref{tie_group}}})
                           AS m
                    FROM ({ties}) r GROUP BY r.user_id)"""
        self.con.execute(f"""
            CREATE TEMP TABLE first_receipt AS
            WITH firsts AS ({firsts})
            SELECT f.user_id, f.t, CASE WHEN f.kind_order = 0 THEN 'red_packet' ELSE 'transfer' END AS kind,
                   f.amount, {group} AS grp
            FROM firsts f {lookup}""")
        if dense:
            self.con.unregister("dense_firsts")
        self.receivers = self.sql.scalar("SELECT count(*) FROM first_receipt")
        if self.receivers == 0:
            raise InputError("activation: the log has no receipts (red_packet_claims and transfers are empty)")

    def _dense_firsts(self, grouped: bool) -> tuple[str, bool] | None:
        """SQL of each receiver's first receipt (``user_id``, ``t``, ``kind_order``, ``amount``, ``ref``, and,
        where ``grouped`` and the packets allow it, ``in_group``) from a table registered as ``dense_firsts``,
        found in arrays as the receipts stream past (:func:`.activation_arrays.first_receipts`), with whether it
        carries ``in_group``; None where the log does not allow it, and :meth:`_packed_firsts`
        or the tie-break pass find them.

        Where the reciprocity definition is asked for, the same pass keeps the claims in the senders' spans
        (``reciprocity_claims``, which :meth:`_first_unreciprocated_send` would otherwise find by a join of
        every claim), and their packets' groups and senders come from the pass over the packets that finds
        whether the first receipts went to a group (``reciprocity_claim_receipts``). Where the covariates are
        asked for, it keeps the receipts of each receiver's first week too, for :meth:`_week_senders`."""
        has = self.has
        # (the transfers' senders, for the first week's)
        parts = {0: "SELECT receiver_id, epoch_us(claimed_at), amount_cents, packet_id FROM red_packet_claims",
                 1: "SELECT receiver_id, epoch_us(sent_at), amount_cents, transfer_id"
                    f"{', sender_id' if self._first_week else ''} FROM transfers"}
        receipts = {kind: self.con.sql(query) for kind, query in parts.items()
                    if has(("red_packet_claims", "transfers")[kind])}
        ids = self._dense_ids
        integers = all(activation_arrays.is_integer(t) for r in receipts.values() for t in r.types[:1] + r.types[2:])
        if ids is None or not integers:
            return None  # (text ids, or amounts in the user's own types)
        low, size = ids
        found = activation_arrays.first_receipts(receipts, low, size, self._dense_spans(low, size),
                                                 week=_WEEK_US if self._first_week else None)
        if found is None:
            return None
        if found.span_claims is not None:
            index, t, packet = found.span_claims
            self._register_once("reciprocity_claims", {
                "user_id": index + low, "t": pa.array(t, pa.timestamp("us")), "packet_id": packet})
        columns = {"user_id": found.index + low, "t": pa.array(found.t, pa.timestamp("us")),
                   "kind_order": found.kind_order, "amount": found.amount, "ref": found.ref}
        red_packet = found.kind_order == 0
        # the claims whose packets' groups and senders are wanted: those in the reciprocity spans, then those
        # in their receivers' first weeks
        claimed = [claims[-1] for claims in (found.span_claims, found.week_claims) if claims is not None]
        packets = None
        if has("red_packets") and (grouped or claimed):
            packets = activation_arrays.packet_lookup(
                self.con.sql(f"SELECT packet_id, {self._packet_column('group_id')}, sender_id FROM red_packets"),
                self.sql.scalar("SELECT count(*) FROM red_packets"), found.ref[red_packet] if grouped else None,
                np.concatenate(claimed) if claimed else None)
        if packets is not None and packets.in_group is not None:
            columns["in_group"] = np.zeros(len(found.ref), dtype=bool)
            columns["in_group"][red_packet] = packets.in_group
        looked_up = packets is not None and packets.sender is not None
        in_spans = 0 if found.span_claims is None else len(found.span_claims[2])
        if looked_up and found.span_claims is not None:
            # (a claim of a packet not in the log is dropped, as the join drops it)
            index, t, _ = (part[packets.found[:in_spans]] for part in found.span_claims)
            n = len(index)
            self._register_once("reciprocity_claim_receipts", {
                "user_id": index + low, "t": pa.array(t, pa.timestamp("us")),
                "grp": pa.array(packets.group[:n], mask=~packets.grouped[:n]), "other": packets.sender[:n]})
        if found.week_claims is not None:
            senders = None
            if looked_up:  # (after the spans' claims: those found of the week's, in order)
                in_log = packets.found[in_spans:]
                senders = found.week_claims[0][in_log], packets.sender[np.count_nonzero(packets.found[:in_spans]):]
            self._week_senders(found, low, senders)
        self.con.register("dense_firsts", pa.table(columns))
        return "SELECT * FROM dense_firsts", "in_group" in columns

    def _week_senders(self, found: activation_arrays.FirstReceipts, low: int,
                      claim_senders: tuple[np.ndarray, np.ndarray] | None) -> None:
        """``first_week_receipts``: the user and sender of each receipt in its receiver's first week, as the
        first receipts' pass in arrays keeps them (:meth:`_dense_firsts`). A claim's sender is its packet's:
        ``claim_senders`` (the claims' receivers' positions and their packets' senders) where the pass over the
        packets found them, else found by a join (none where the packet is not in the log; each, where a
        packet id comes twice in a log not checked)."""
        index, sender = found.week_transfers
        if claim_senders is not None:
            index, sender = (np.concatenate(pair) for pair in zip((index, sender), claim_senders, strict=True))
        tables = {"week_senders": {"user_id": index + low, "sender": sender}}
        parts = ["SELECT user_id, sender FROM week_senders"]
        if self.has("red_packets") and claim_senders is None:
            index, packet = found.week_claims
            tables["week_claims"] = {"user_id": index + low, "packet_id": packet}
            parts.append("SELECT c.user_id, p.sender_id FROM week_claims c JOIN red_packets p USING (packet_id)")
        with self._registered(tables):
            self._once("first_week_receipts", " UNION ALL ".join(parts))

    @cached_property
    def _dense_ids(self) -> tuple[int, int] | None:
        """The users' lowest id and the length of an array indexed by their ids, where they are integers that
        do not spread too wide for one (:func:`.activation_arrays.dense_size`); else None."""
        row = self.sql.row("SELECT min(user_id), max(user_id), count(user_id) FROM users")
        if not activation_arrays.is_integer(self.con.sql("SELECT user_id FROM users").types[0]) or \
                row is None or row[0] is None:  # (text ids, or no users)
            return None
        low, high, count = (int(value) for value in row)
        size = activation_arrays.dense_size(low, high, count)
        return None if size is None else (low, size)

    @cached_property
    def _people(self) -> activation_arrays.People | None:
        """Every user's first receipt and leaving in arrays (:func:`.activation_arrays.people`), where the ids
        allow it; else None."""
        if self._dense_ids is None:
            return None
        left = "epoch_us(left_at)" if "left_at" in self.cols["users"] else "CAST(NULL AS BIGINT)"
        return activation_arrays.people(
            self.con.sql("SELECT user_id, epoch_us(t), CASE WHEN kind = 'red_packet' THEN 0 ELSE 1 END, grp "
                         "FROM first_receipt"),
            self.con.sql(f"SELECT user_id, {left} FROM users"), *self._dense_ids)

    def _dense_spans(self, low: int, size: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Each user's :meth:`_reciprocity_span` in arrays (:func:`.activation_arrays.span_arrays`), where the
        reciprocity definition is asked for and will match claims to their packets; else None."""
        if not (self._reciprocity and self.has("red_packet_claims") and self.has("red_packets")
                and self._candidate_sends()):
            return None
        relation = self.con.sql(f"SELECT user_id, low, high FROM {self._reciprocity_span()}")
        if not activation_arrays.is_integer(relation.types[0]):
            return None
        found = relation.fetchnumpy()
        return activation_arrays.span_arrays(found["user_id"], found["low"], found["high"], low, size)

    @contextmanager
    def _registered(self, tables: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
        """Each of ``tables`` (numpy or Arrow columns by name) readable by that name while the block runs."""
        try:
            for name, columns in tables.items():
                self.con.register(name, pa.table(dict(columns)))
            yield
        finally:  # (a name never registered, as when a table before it failed, unregisters as nothing)
            for name in tables:
                self.con.unregister(name)

    def _register_once(self, name: str, columns: dict[str, Any]) -> str:
        """The temporary table ``name`` made from numpy or Arrow columns (see :meth:`_once`)."""
        with self._registered({f"arrays_{name}": columns}):
            return self._once(name, f"SELECT * FROM arrays_{name}")

    def _packed_firsts(self, receipts: str) -> str | None:
        """SQL of each receiver's first receipt (``user_id``, ``t``, ``kind_order``, ``amount``, ``ref``) by one
        minimum of the whole tie-break packed into a 128-bit integer, or None where the receipts' values span
        too wide a range to be packed (or some are missing, in a log not checked).

        The tie-break is the order of (time, kind, larger amount, lower id): each is stored as its distance
        from its lowest value (the amount from its highest), in as many bits as its range needs, most
        significant first, so that the order of the packed integers is the order of the tie-break and one
        pass over the receipts finds each receiver's first. Otherwise it takes the earliest instant per
        receiver and then a second pass over the receipts, joined to those instants, to break the ties (at
        ten million users, the bounds and the packed minimum: 38.8 and 39.9 CPU s against 44.0 and 42.3)."""
        row = self.sql.row(f"""
            SELECT count(*), count(t) = count(*) AND count(amount) = count(*) AND count(ref) = count(*),
                   min(epoch_us(t)), max(epoch_us(t)), min(amount), max(amount), min(ref), max(ref)
            FROM ({receipts})""")
        if row is None or not row[0] or not row[1] or not all(isinstance(v, int) for v in row[2:]):
            return None  # (no receipts, a missing value, or text ids)
        t_low, t_high, a_low, a_high, r_low, r_high = (int(v) for v in row[2:])
        spans = ((t_high - t_low) * 2 + 1, a_high - a_low, r_high - r_low)
        if any(span >= 2**62 for span in spans):  # (a difference of int64 values that could overflow)
            return None
        t_bits, a_bits, r_bits = (span.bit_length() for span in spans)
        if t_bits + a_bits + r_bits > _PACKED_BITS:
            return None
        packed = (f"(CAST((epoch_us(r.t) - {t_low}) * 2 + r.kind_order AS UHUGEINT) << {a_bits + r_bits}) | "
                  f"(CAST({a_high} - r.amount AS UHUGEINT) << {r_bits}) | CAST(r.ref - {r_low} AS UHUGEINT)")
        return f"""
            SELECT user_id, make_timestamp(CAST(h >> {a_bits + r_bits + 1} AS BIGINT) + {t_low}) AS t,
                   CAST((h >> {a_bits + r_bits}) & 1 AS INTEGER) AS kind_order,
                   {a_high} - CAST((h >> {r_bits}) & {(1 << a_bits) - 1} AS BIGINT) AS amount,
                   CAST(h & {(1 << r_bits) - 1} AS BIGINT) + {r_low} AS ref
            FROM (SELECT r.user_id, min({packed}) AS h FROM ({receipts}) r GROUP BY 1)"""

    def _receipt_parts(self) -> list[str]:
        """A SELECT of every receipt of each table that records them: receiver, time, kind (0 a red packet, 1
        a transfer), amount, the packet or transfer id, and a transfer's sender (a claim's is its packet's)."""
        parts = []
        if self.has("red_packet_claims"):
            parts.append("SELECT receiver_id AS user_id, claimed_at AS t, 0 AS kind_order, amount_cents AS amount, "
                         "packet_id AS ref, NULL AS sender FROM red_packet_claims")
        if self.has("transfers"):
            parts.append("SELECT receiver_id AS user_id, sent_at AS t, 1 AS kind_order, amount_cents AS amount, "
                         "transfer_id AS ref, sender_id AS sender FROM transfers")
        return parts

    def _first_times(self, table: str, user: str, time: str) -> str:
        """Each user's first time in one table (shared by the definitions that use it)."""
        if table == "payments" and self._k_payments:
            return self._once("first_payments", f"SELECT user_id, first_t AS t FROM {self._payment_times()}")
        return self._once(f"first_{table}", f"SELECT {user} AS user_id, min({time}) AS t FROM {table} GROUP BY 1")

    def _payment_times(self) -> str:
        """A table of each paying user's first payment (``first_t``) and ``k_payments`` time (``k_t``: the
        first payment with ``k - 1`` others in the ``d`` days before it), from one pass over the payments in
        each user's order; a user's first payment is the one no payment comes before. At ten million users,
        9.3 and 10.6 s against 13.5 and 13.8 s for a minimum per user and that pass apart."""
        within = f"earlier IS NOT NULL AND epoch_us(paid_at) - epoch_us(earlier) <= {math.floor(self.d * 86400e6)}"
        return self._once("payment_times", f"""
            SELECT user_id, min(paid_at) FILTER (WHERE first) AS first_t, min(paid_at) FILTER (WHERE {within}) AS k_t
            FROM (SELECT user_id, paid_at, lag(paid_at, {self.k - 1}) OVER w AS earlier,
                         lag(paid_at, 1) OVER w IS NULL AS first
                  FROM payments WINDOW w AS (PARTITION BY user_id ORDER BY paid_at))
            WHERE first OR ({within}) GROUP BY user_id""")

    def _actions(self) -> list[str]:
        """Tables of per-user first times whose earliest is each user's first own payment action.

        The first payment, and the first red packet and transfer sent; or, where the sends before the
        first payment are looked at anyway (:meth:`_candidate_sends`, for the reciprocity definition), the
        first of those instead: a first send before the first payment is one of them, and one after it does
        not come first."""
        has = self.has
        actions = [self._first_times("payments", "user_id", "paid_at")] if has("payments") else []
        if self._reciprocity and (has("red_packets") or has("transfers")):
            return [*actions, self._first_candidate_sends()]
        return actions + [self._first_times(name, "sender_id", "sent_at")
                          for name in ("red_packets", "transfers") if has(name)]

    # ------------------------------------------------------------------ one definition
    def _activated(self, definition: str) -> str:
        """The name of a temporary table of each activated user's time by ``definition`` (and adoptions)."""
        has = self.has
        adoptions = "SELECT user_id, adopted_at AS t FROM adoptions" if has("adoptions") else None
        try:
            act = self._definition_sql(definition)
        except InputError:
            if adoptions is None:
                raise
            act = adoptions
        else:
            if adoptions is not None:
                act = f"SELECT user_id, min(t) AS t FROM (({act}) UNION ALL ({adoptions})) GROUP BY user_id"
        return self._once(f"activated_{definition}", act)

    def _definition_sql(self, definition: str) -> str:
        """The SQL of each user's activation time by the definition's own tables (see ``activation_times``)."""
        has = self.has
        if definition == "card_binding":
            if not has("card_bindings"):
                raise InputError("activation: definition 'card_binding' needs the card_bindings table")
            return f"SELECT * FROM {self._first_times('card_bindings', 'user_id', 'bound_at')}"
        if definition in ("k_payments", "first_payment") and not has("payments"):
            raise InputError(f"activation: definition '{definition}' needs the payments table")
        if definition == "k_payments" and self._k_payments:
            return f"SELECT user_id, k_t AS t FROM {self._payment_times()} WHERE k_t IS NOT NULL"
        if definition == "k_payments":
            return f"""
                SELECT user_id, min(paid_at) AS t FROM (
                    SELECT user_id, paid_at,
                           lag(paid_at, {self.k - 1}) OVER (PARTITION BY user_id ORDER BY paid_at) AS earlier
                    FROM payments)
                WHERE earlier IS NOT NULL AND epoch_us(paid_at) - epoch_us(earlier) <= {math.floor(self.d * 86400e6)}
                GROUP BY user_id"""
        if definition == "first_payment":
            return f"SELECT * FROM {self._first_times('payments', 'user_id', 'paid_at')}"
        if not any(has(name) for name in ("payments", "red_packets", "transfers")):
            raise InputError("activation: the log has no payment actions (needs payments, red_packets or transfers)")
        actions = self._actions()
        if definition == "first_action_no_reciprocity":
            actions = [self._first_times("payments", "user_id", "paid_at")] if has("payments") else []
            sends = self._first_unreciprocated_send()
            if sends:
                actions.append(sends)
        if not actions:
            return "SELECT CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS TIMESTAMP) AS t WHERE FALSE"
        return f"SELECT user_id, min(t) AS t FROM ({' UNION ALL '.join(f'SELECT * FROM {a}' for a in actions)}) " \
               "GROUP BY user_id"

    def _candidate_sends(self) -> str:
        """A table of the sends (red packets and transfers) before their sender's first payment, with the
        group or the person sent to ('' if the log records no sends)."""
        has = self.has
        sends = []
        if has("red_packets"):
            sends.append(f"SELECT sender_id AS user_id, sent_at AS t, {self._packet_column('group_id')} AS grp, "
                         f"{self._packet_column('recipient_id')} AS other FROM red_packets")
        if has("transfers"):
            sends.append("SELECT sender_id AS user_id, sent_at AS t, CAST(NULL AS BIGINT) AS grp, receiver_id AS other "
                         "FROM transfers")
        if not sends:
            return ""
        before_paying = ""
        if has("payments"):
            first_pay = self._first_times("payments", "user_id", "paid_at")
            before_paying = f"LEFT JOIN {first_pay} fp USING (user_id) WHERE fp.t IS NULL OR s.t < fp.t"
        return self._once("candidate_sends", f"SELECT s.* FROM ({' UNION ALL '.join(sends)}) s {before_paying}",
                          sides_as_planned=True)

    def _packet_column(self, name: str, alias: str = "") -> str:
        """An optional column of ``red_packets`` (``alias`` before it), or a typed NULL where the log lacks it."""
        return f"{alias}{name}" if name in self.cols.get("red_packets", set()) else "CAST(NULL AS BIGINT)"

    def _first_candidate_sends(self) -> str:
        """A table of each user's first send before their first payment (of :meth:`_candidate_sends`)."""
        return self._once("first_candidate_sends",
                          f"SELECT user_id, min(t) AS t FROM {self._candidate_sends()} GROUP BY 1")

    def _first_unreciprocated_send(self) -> str:
        """A table of each user's first send that is not a send back, within
        :data:`~adoption.log.contract.RECIPROCITY_HOURS`, to a group or a person received from ('' if none).

        Each send meets the latest earlier receipt from the same group and from the same person (two ASOF
        joins), instead of every receipt of its sender; only sends before the sender's first payment can
        decide the definition, so only those are looked at."""
        has = self.has
        if not self._candidate_sends():
            return ""
        self._reciprocity_span()
        # (low <= t < high as one expression of both sides: DuckDB then joins on the user alone and filters
        # after, faster than with the bounds as conditions of the join)
        inside = "epoch_us({t}) - w.low BETWEEN 0 AND w.high - w.low - 1"
        received = []
        if "reciprocity_claim_receipts" in self._done:  # (found as the first receipts were, see _dense_firsts)
            received.append("SELECT * FROM reciprocity_claim_receipts")
        elif has("red_packet_claims") and has("red_packets"):
            # the claims in a span stored first: DuckDB then knows they are few, and looks their packets up
            # by a hash table of the claims, not of every packet
            claims = self._once("reciprocity_claims", f"""
                SELECT c.receiver_id AS user_id, c.claimed_at AS t, c.packet_id FROM red_packet_claims c
                JOIN reciprocity_span w ON w.user_id = c.receiver_id WHERE {inside.format(t='c.claimed_at')}""",
                sides_as_planned=True)
            received.append(f"""
                SELECT c.user_id, c.t, {self._packet_column('group_id', 'p.')} AS grp, p.sender_id AS other
                FROM {claims} c JOIN red_packets p USING (packet_id)""")
        if has("transfers"):
            received.append(f"""
                SELECT x.receiver_id AS user_id, x.sent_at AS t, CAST(NULL AS BIGINT) AS grp, x.sender_id AS other
                FROM transfers x JOIN reciprocity_span w ON w.user_id = x.receiver_id
                WHERE {inside.format(t='x.sent_at')}""")
        if not received:  # no receipt to send back: every first send counts
            return self._first_candidate_sends()
        # stored once: as a common table expression read twice, DuckDB computes it twice (70 s against 29 s
        # on a ten-million-user log)
        receipts = self._once("reciprocity_receipts", " UNION ALL ".join(received))
        return self._once("first_unreciprocated", f"""
            WITH r_group AS (SELECT user_id, grp, t FROM {receipts} WHERE grp IS NOT NULL),
                 r_other AS (SELECT user_id, other, t FROM {receipts} WHERE other IS NOT NULL)
            SELECT s.user_id, min(s.t) AS t FROM candidate_sends s
            ASOF LEFT JOIN r_group g ON s.user_id = g.user_id AND s.grp = g.grp AND s.t > g.t
            ASOF LEFT JOIN r_other o ON s.user_id = o.user_id AND s.other = o.other AND s.t > o.t
            WHERE NOT coalesce(epoch_us(s.t) - epoch_us(g.t) <= {_RECIPROCITY_US}, FALSE)
              AND NOT coalesce(epoch_us(s.t) - epoch_us(o.t) <= {_RECIPROCITY_US}, FALSE)
            GROUP BY s.user_id""")

    def _reciprocity_span(self) -> str:
        """A table of each sender's span of the receipts that can make one of their :meth:`_candidate_sends` a
        send back (``low`` .. ``high - 1``, in microseconds since the epoch).

        A receipt can make a send a send back only if it came within the window before one of the sender's
        candidate sends: each sender's receipts from the window before their first candidate send to their
        last (a twentieth of their receipts on a simulated log) are the only ones matched to their packets."""
        return self._once("reciprocity_span", f"""
            SELECT user_id, min(epoch_us(t)) - {_RECIPROCITY_US} AS low, max(epoch_us(t)) AS high
            FROM {self._candidate_sends()} GROUP BY user_id""")

    def _base_sql(self, definition: str) -> str:
        """The SQL of ``definition``'s table without covariates (in the activation table's terms), with the
        time zero of the covariates (``t_cov``); bound to the window's parameters."""
        activated = self._activated(definition)
        cols = self.cols
        left = "u.left_at" if "left_at" in cols["users"] else "CAST(NULL AS TIMESTAMP)"
        city = "u.city" if "city" in cols["users"] else "CAST(NULL AS VARCHAR)"
        # every user with their first receipt, joined once for every definition (a user with neither a
        # receipt nor an activation is neither at risk nor organic: left out below)
        people = self._once("people", f"""
            SELECT user_id, f.t AS exposed_at, {left} AS left_at, {city} AS city, u.joined_at,
                   f.kind AS first_kind, f.grp AS first_group, f.amount AS first_amount_cents
            FROM first_receipt f FULL OUTER JOIN users u USING (user_id)""")
        return f"""
            WITH joined AS (
                SELECT user_id, p.exposed_at, a.t AS activated_at, p.left_at, p.city, p.joined_at, p.first_kind,
                       p.first_group, p.first_amount_cents
                FROM {people} p FULL OUTER JOIN {activated} a USING (user_id)),
            flags AS (
                SELECT *,
                    coalesce(activated_at IS NOT NULL AND (exposed_at IS NULL OR activated_at < exposed_at), FALSE)
                        AS organic,
                    coalesce(left_at <= exposed_at, FALSE) AS gone_before,
                    coalesce(exposed_at < {W} AND activated_at < {W}, FALSE) AS never_at_risk,
                    CASE WHEN coalesce(left_at < {E}, FALSE) THEN left_at ELSE {E} END AS censor
                FROM joined),
            risk AS (
                SELECT *, exposed_at IS NOT NULL AND NOT organic AND NOT gone_before AND NOT never_at_risk AS at_risk
                FROM flags),
            ev AS (SELECT *, coalesce(at_risk AND activated_at <= censor, FALSE) AS event FROM risk)
            SELECT user_id,
                   CASE WHEN organic THEN 'organic' ELSE 'receipt' END AS cohort,
                   exposed_at,
                   CASE WHEN organic THEN NULL WHEN exposed_at < {W} THEN {_days(W, 'exposed_at')} ELSE 0.0 END
                       AS entry,
                   CASE WHEN organic THEN NULL
                        ELSE {_days('CASE WHEN event THEN activated_at ELSE censor END', 'exposed_at')} END
                       AS duration,
                   event AND NOT organic AS event,
                   CASE WHEN organic THEN 0 WHEN event THEN 1
                        WHEN left_at IS NOT NULL AND left_at < {E} THEN 2 ELSE 0 END AS event_type,
                   activated_at, first_kind, first_group, first_amount_cents, city, joined_at,
                   coalesce(exposed_at, activated_at) AS t_cov
            FROM ev WHERE at_risk OR organic"""

    def counted(self, definition: str, grid: float, until: float | None = None
                ) -> Callable[[], pd.DataFrame | None]:
        """A function giving ``definition``'s table counted on the fits' grid: one row per (cohort, entry,
        duration, event, first receipt) cell, times put on the grid as the fits put them (entry down, duration
        up), and the number of people in the cell as ``weight``; None if it has :data:`AGGREGATE_ABOVE`
        receivers or fewer (the fits would not put them on a grid). ``until``: the follow-up ends that many
        days after the first receipt, as :func:`~adoption.analysis.survival.follow_up_until` ends it on the
        counted rows (a receiver still waiting then is censored there). The text columns come as categories.

        The cells counted from arrays are counted in :attr:`background` from here on, while the caller
        starts the next definition's SQL; the function waits for them (call it while the log is open)."""
        from adoption.analysis.survival import AGGREGATE_ABOVE, WEIGHT

        if self.receivers <= AGGREGATE_ABOVE:  # the cohort is some of the receivers: no grid, nothing to count
            return lambda: None
        dense = self._dense_counted(definition, grid, until)

        def finish() -> pd.DataFrame | None:
            counted = None if dense is None else dense.result()
            if counted is None:
                counted = self._sql_counted(definition, grid, until)
            if counted.loc[counted["cohort"] == "receipt", WEIGHT].sum() <= AGGREGATE_ABOVE:
                return None
            return counted

        return finish

    def _sql_counted(self, definition: str, grid: float, until: float | None) -> pd.DataFrame:
        """The counted table of :meth:`counted`, by DuckDB."""
        from adoption.analysis.survival import WEIGHT

        base = f"base_{definition}"
        source = base if base in self._done else f"({self._base_sql(definition)})"
        entry, duration = "floor(entry / $grid) * $grid", "ceil(duration / $grid) * $grid"
        if until is None:
            cut = f"{duration} AS duration, event, event_type"
        else:
            later = f"coalesce({duration} > $until AND coalesce({entry}, 0.0) < $until, FALSE)"
            cut = (f"CASE WHEN {later} THEN $until ELSE {duration} END AS duration, event AND NOT {later} AS event, "
                   f"CASE WHEN {later} THEN 0 ELSE event_type END AS event_type")
        return self.con.execute(f"""
            SELECT CAST(cohort AS {_COHORTS}) AS cohort, {entry} AS entry, {cut},
                   CAST(first_kind AS {_KINDS}) AS first_kind, first_group, count(*) AS {WEIGHT}
            FROM {source} GROUP BY ALL""",  # (fitted in the grid's order)
            {**self.window, "grid": float(grid), **({} if until is None else {"until": float(until)})}).df()

    def _dense_counted(self, definition: str, grid: float, until: float | None
                       ) -> Future[pd.DataFrame | None] | None:
        """The counted table of :meth:`counted` from arrays indexed by the user id
        (:func:`.activation_arrays.counted_cells`, counted in :attr:`background`), without the join of every
        user to their activation time that the SQL makes for each definition; None where the ids do not allow
        it (the future's result is None where the cells do not fit its key)."""
        if self._people is None:
            return None
        found = self._by_user(self._activated(definition), "t")
        if found is None:
            return None  # (an activation outside the users' ids, or twice: an adoptions table not checked)
        activated_at, has = found
        window = tuple(pd.Timestamp(self.window[name]).value // 1000 for name in ("w_start", "w_end"))
        return self.background.submit(activation_arrays.counted_cells, self._people, activated_at, has, window,
                                      float(grid), None if until is None else float(until))

    def _by_user(self, table: str, time: str, fill: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """``table``'s ``time`` column (microseconds) in an array indexed by the user id less the lowest,
        ``fill`` where a user has none, and where one is (:func:`.activation_arrays.spread`); None where the
        ids do not allow arrays, or a user id of ``table`` is outside the users' or comes twice."""
        if self._dense_ids is None:
            return None
        low, size = self._dense_ids
        relation = self.con.sql(f"SELECT user_id, epoch_us({time}) FROM {table}")
        if not activation_arrays.is_integer(relation.types[0]):
            return None
        found = relation.fetchnumpy()
        index = activation_arrays.positions(found[relation.columns[0]], low, size)
        return None if index is None else activation_arrays.spread(index, found[relation.columns[1]], size, fill)

    def table(self, definition: str, covariates: bool) -> pd.DataFrame:
        """The activation table of ``definition``; only :data:`HEADLINE_COLUMNS` unless ``covariates``."""
        activated = self._activated(definition)
        base = self._once(f"base_{definition}", self._base_sql(definition), self.window)
        user = "coalesce(ids.code, -1)" if "user" in self.sql.text_spaces else "b.user_id"
        joins = ["LEFT JOIN ids_user ids ON ids.label = b.user_id"] if "user" in self.sql.text_spaces else []
        headline = ", ".join(f"b.{c}" for c in HEADLINE_COLUMNS[1:])
        if not covariates:
            return self._rows(f"SELECT {user} AS user_id, {headline} FROM {base} b {' '.join(joins)} ORDER BY 1")
        more, columns = self._covariates(definition, base, activated)
        return self._rows(f"""
            SELECT {user} AS user_id, {headline}, {', '.join(columns)}
            FROM {base} b {' '.join(joins + more)} ORDER BY 1""")[list(COLUMNS)]

    def _rows(self, query: str) -> pd.DataFrame:
        """The rows of ``query`` as a DataFrame, by way of Arrow; integers and booleans as pandas' nullable
        types (which :func:`~adoption.analysis.activation_columns.typed_table` makes plain where the table
        declares them so).

        Three to four times faster than ``.df()`` at millions of rows (the table of 4.1 million people: 1.2 s
        against 3.8 s with the dtypes made alike): Arrow brings each text column as one Python string per
        distinct value instead of one per row, and a column with missing values as values and a mask."""
        import pyarrow as pa

        def nullable(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
            if pa.types.is_integer(arrow_type):
                return pd.Int64Dtype()
            return pd.BooleanDtype() if pa.types.is_boolean(arrow_type) else None

        return self.con.sql(query).to_arrow_table().to_pandas(types_mapper=nullable)

    def _covariates(self, definition: str, base: str, activated: str) -> tuple[list[str], list[str]]:
        """Joins and select expressions of the covariates, by joins and aggregates (no per-row subqueries)."""
        has, cols = self.has, self.cols
        joins, columns = [], []
        senders = self._senders_7d()
        if senders:
            joins.append(f"LEFT JOIN {senders} s ON s.user_id = b.user_id")
            columns.append("CASE WHEN b.exposed_at IS NULL THEN NULL ELSE coalesce(s.n, 0) END AS senders_7d")
        else:
            columns.append("CAST(NULL AS BIGINT) AS senders_7d")
        if has("friendships"):
            since = "since" if "since" in cols["friendships"] else "CAST(NULL AS TIMESTAMP)"
            # friends as of time zero, and those of them who had activated before it, counted in one pass
            # (each user has one activation time at most: the join adds no rows); from arrays where the ids
            # allow it
            friends = self._dense_friends(definition, base, activated, since) or self._once(
                f"friends_{definition}", f"""
                SELECT e.user_id, count(*) AS n, count(*) FILTER (WHERE a.t < b.t_cov) AS paying FROM (
                    SELECT user_a AS user_id, user_b AS friend, {since} AS since FROM friendships
                    UNION ALL SELECT user_b, user_a, {since} FROM friendships) e
                JOIN {base} b USING (user_id) LEFT JOIN {activated} a ON a.user_id = e.friend
                WHERE e.since IS NULL OR e.since <= b.t_cov GROUP BY e.user_id""")
            joins.append(f"LEFT JOIN {friends} fr ON fr.user_id = b.user_id")
            columns += ["coalesce(fr.n, 0) AS n_friends", "coalesce(fr.paying, 0) AS paying_friends"]
        else:
            columns += ["CAST(NULL AS BIGINT) AS n_friends", "CAST(NULL AS BIGINT) AS paying_friends"]
        if has("group_members"):
            groups = self._once("memberships", "SELECT user_id, count(*) AS n FROM group_members GROUP BY user_id")
            joins.append(f"LEFT JOIN {groups} gm ON gm.user_id = b.user_id")
            columns.append("coalesce(gm.n, 0) AS n_groups")
        else:
            columns.append("CAST(NULL AS BIGINT) AS n_groups")
        columns.append("b.city")
        if has("merchants") and "city" in cols["merchants"] and \
                self.sql.scalar(f"SELECT count(city) FROM {base}") > 0:
            # accepting merchants in the city at time zero: the running count, found by an ASOF join
            accepting = self._once("accepting", """
                SELECT city, accepts_from, count(*) OVER (PARTITION BY city ORDER BY accepts_from
                       RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
                FROM merchants WHERE city IS NOT NULL""")
            nearby = self._once(f"nearby_{definition}", f"""
                SELECT b.user_id, a.n FROM {base} b ASOF JOIN {accepting} a
                ON b.city = a.city AND b.t_cov >= a.accepts_from""")
            joins.append(f"LEFT JOIN {nearby} nb ON nb.user_id = b.user_id")
            columns.append("CASE WHEN b.city IS NULL THEN NULL ELSE coalesce(nb.n, 0) END AS merchants_nearby")
        else:
            columns.append("CAST(NULL AS BIGINT) AS merchants_nearby")
        columns.append(f"{_days('b.t_cov', 'b.joined_at')} AS tenure_days")
        return joins, columns

    def _dense_friends(self, definition: str, base: str, activated: str, since: str) -> str | None:
        """The table of each user's friends and paying friends of :meth:`_covariates`, counted from arrays
        indexed by the user id (:func:`.activation_arrays.friend_counts`) instead of a join of both ends of
        every friendship to the table and to the activation times; None where the ids do not allow it."""
        name = f"friends_{definition}"
        if name in self._done:
            return name
        time_zero = self._by_user(base, "t_cov", fill=activation_arrays.OUTSIDE)
        activated_at = self._by_user(activated, "t", fill=activation_arrays.NEVER)
        if time_zero is None or activated_at is None:
            return None
        low, _ = self._dense_ids
        counts = activation_arrays.friend_counts(
            self.con.sql(f"SELECT user_a, user_b, epoch_us({since}) FROM friendships"), time_zero[0],
            activated_at[0], low)
        if counts is None:
            return None
        friends, paying = counts
        who = np.flatnonzero(friends)
        return self._register_once(name, {"user_id": who + low, "n": friends[who], "paying": paying[who]})

    def _senders_7d(self) -> str:
        """A table of the distinct senders of each receiver's receipts in the 7 days from the first ('' when
        the log records no sender), counted from the first week's receipts that the first receipts' pass
        keeps with their senders."""
        has = self.has
        assert self._first_week, "a builder for covariates is made with first_week=True"
        if not ((has("red_packet_claims") and has("red_packets")) or has("transfers")):
            return ""
        senders = self._once("senders_7d", """SELECT user_id, count(DISTINCT sender) AS n
            FROM first_week_receipts WHERE sender IS NOT NULL GROUP BY user_id""")
        if self.sql.scalar(f"SELECT count(*) FROM (SELECT 1 FROM {senders} LIMIT 1)"):
            return senders
        # none in the first weeks: a count of 0 where the log records senders at all, else no count
        anywhere = []
        if has("red_packet_claims") and has("red_packets"):
            anywhere.append("SELECT p.sender_id FROM red_packet_claims c JOIN red_packets p USING (packet_id)")
        if has("transfers"):
            anywhere.append("SELECT sender_id FROM transfers")  # (named as the first part names it)
        found = self.sql.scalar(f"SELECT count(*) FROM (SELECT 1 FROM ({' UNION ALL '.join(anywhere)}) s "
                                "WHERE s.sender_id IS NOT NULL LIMIT 1)")
        return senders if found else ""
