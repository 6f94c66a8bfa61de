"""An event-log folder opened in DuckDB: typed views, the same contract checks, no pandas in between.

The DuckDB engine reads logs bigger than memory: DuckDB streams the Parquet/CSV files and spills to
disk. This module gives it what :func:`adoption.log.eventlog.read_eventlog` gives the pandas engine:

* one typed view per table (headers matched case-insensitively, times converted to naive China Standard
  Time, amounts in cents, ids as integers or as the user's text ids), built through DuckDB's Python
  relation API, so that no path or value is ever pasted into SQL text;
* :func:`validate_sql`, every rule of the contract as SQL, returning the same :class:`Problem` lines as
  the pandas validator (the test suite checks both on a corpus of broken logs).

Only names that come from the contract itself (table and column names) appear in SQL text; the user's
column names are quoted as identifiers, and values are bound parameters.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from adoption.errors import InputError, UsageError
from adoption.log.contract import (
    ACTIVITY_TABLES,
    FOREIGN_KEYS,
    ID_SPACES,
    INTEGER_ID_PATTERN,
    POSITIVE_AMOUNTS,
    TABLES,
    TIME_RANGE,
    ColumnSpec,
    id_columns,
)
from adoption.log.validation import MAX_EXAMPLES, Problem, missing_column
from adoption.text import strip_controls

__all__ = ["DEFAULT_MEMORY_LIMIT", "SqlLog", "memory_limit_setting", "open_log", "validate_sql"]

#: DuckDB's memory budget; it spills to disk beyond it.
DEFAULT_MEMORY_LIMIT = "2GB"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
_META_FILE = "meta.json"


def quote(identifier: str) -> str:
    """An SQL identifier, quoted (a user's column name can hold any character).

    Examples
    --------
    >>> print(quote('user "id" '))
    "user ""id"" "
    """
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class SqlLog:
    """An open DuckDB connection with one typed view per table of a log folder.

    Attributes
    ----------
    con : DuckDBPyConnection
        The connection; views ``<table>`` (typed, with ``__row``, the 1-based row number in the file).
    columns : dict of str to set of str
        The contract columns present in each table.
    meta : dict
        The log's ``meta.json``.
    text_spaces : set of str
        Id spaces whose ids are text (their views hold the text; ``ids_<space>`` maps it to codes).
    problems : list of Problem
        Missing columns and values that could not be read as their type.
    """

    con: duckdb.DuckDBPyConnection
    columns: dict[str, set[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    text_spaces: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the table (and the column) is present."""
        return table in self.columns and (column is None or column in self.columns[table])

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first value of a query."""
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]


def _sources(folder: Path) -> dict[str, list[Path]]:
    sources: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        stem, suffix = entry.stem, entry.suffix.lower()
        if entry.is_dir() and entry.name in TABLES:
            parts = sorted(entry.rglob("*.parquet"))
            if not parts:
                raise InputError(f"{entry.name}: folder {entry} holds no .parquet files")
            name, files = entry.name, parts
        elif suffix in (".parquet", ".pq", ".csv") and stem in TABLES:
            name, files = stem, [entry]
        else:
            continue
        if name in sources:
            raise InputError(f"{name}: found both {sources[name][0].name} and {entry.name} in {folder}; keep one")
        sources[name] = files
    return sources


def _relation(con: duckdb.DuckDBPyConnection, name: str, files: list[Path]) -> duckdb.DuckDBPyRelation:
    paths = [p.as_posix() for p in files]
    try:
        if files[0].suffix.lower() == ".csv":
            # every column as text, as the pandas reader does, so both engines parse values alike
            return con.read_csv(paths[0], header=True, all_varchar=True)
        return con.read_parquet(paths)
    except (duckdb.Error, OSError) as exc:
        # the same message as the pandas reader gives for the same file, where it can say what is wrong
        from adoption.log.eventlog import read_table_file

        for file in files:
            read_table_file(name, file)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name}: cannot read {files[0].name} ({first})") from None


def memory_limit_setting(value: str | None) -> str:
    """The DuckDB ``memory_limit`` to set: ``value`` checked against a size pattern, or the default.

    Examples
    --------
    >>> memory_limit_setting(None), memory_limit_setting("512MB")
    ('2GB', '512MB')
    """
    text = (value or DEFAULT_MEMORY_LIMIT).strip()
    if not _MEMORY.match(text):
        raise UsageError(f"memory_limit: expected a size such as 2GB or 512MB, got {value!r}")
    return text


@contextmanager
def open_log(folder: str | os.PathLike[str], *, memory_limit: str | None = None,
             amount_unit: str = "cents") -> Iterator[SqlLog]:
    """Open a log folder in DuckDB with typed views; the connection closes on exit.

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> with open_log(example_path()) as log:
    ...     log.scalar("SELECT count(*) FROM users")
    20000
    """
    path = Path(folder)
    if not path.exists():
        raise UsageError(f"{path}: no such folder (expected a folder of Parquet or CSV tables)")
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder (expected a folder of Parquet or CSV tables)")
    if amount_unit not in ("cents", "yuan"):
        raise UsageError(f"amount_unit: expected cents or yuan, got {amount_unit!r}")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute(f"SET memory_limit = '{memory_limit_setting(memory_limit)}'")
        log = SqlLog(con)
        try:
            sources = _sources(path)
        except PermissionError:
            raise InputError(f"{path}: folder cannot be read (permission denied)") from None
        if not sources:
            raise InputError(f"{path}: no event-log tables found (expected files named <table>.parquet or "
                             f"<table>.csv for tables {', '.join(TABLES)})")
        found: dict[str, dict[str, str]] = {}
        types: dict[str, dict[str, str]] = {}
        for name, files in sources.items():
            rel = _relation(con, name, files)
            rel.create_view(f"raw_{name}")
            wanted = {c.lower(): c for c in TABLES[name].column_names}
            mapping: dict[str, str] = {}
            for col, dtype in zip(rel.columns, rel.types, strict=True):
                target = wanted.get(col.strip().lower())
                if target is not None and target not in mapping:
                    mapping[target] = col
                    types.setdefault(name, {})[target] = str(dtype)
            found[name] = mapping
            missing = [c for c in TABLES[name].required_columns if c not in mapping]
            for col in missing:
                log.problems.append(missing_column(name, col, rel.columns, rel.aggregate("count(*)").fetchall()[0][0]))
            log.columns[name] = set(mapping)
        log.text_spaces = _text_spaces(con, found, types)
        for name in TABLES:
            if name in found:
                _typed_view(log, name, found[name], types.get(name, {}), amount_unit)
        if "users" not in found:
            log.problems.insert(0, Problem("users", None, "missing", 0, (), "required table is missing"))
        for space in sorted(log.text_spaces):
            parts = [f"SELECT {c} AS v FROM {t}" for t, c in id_columns(space) if log.has(t, c)]
            con.execute(f"CREATE TEMP TABLE ids_{space} AS SELECT v AS label, "
                        f"CAST(row_number() OVER (ORDER BY v) - 1 AS BIGINT) AS code "
                        f"FROM (SELECT DISTINCT v FROM ({' UNION ALL '.join(parts)}) WHERE v IS NOT NULL)")
        meta_path = path / _META_FILE
        if meta_path.exists():
            try:
                log.meta = json.loads(meta_path.read_text())
            except (OSError, ValueError) as exc:
                raise InputError(f"{_META_FILE}: not valid JSON ({str(exc).splitlines()[0][:200]})") from None
            if not isinstance(log.meta, dict):
                raise InputError(f"{_META_FILE}: expected a JSON object")
        yield log
    finally:
        con.close()


def _is_integer_type(dtype: str) -> bool:
    return dtype.upper() in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                             "UINTEGER", "UBIGINT")


def _is_text_type(dtype: str) -> bool:
    return dtype.upper() == "VARCHAR"


def _text_spaces(con: duckdb.DuckDBPyConnection, found: dict[str, dict[str, str]],
                 types: dict[str, dict[str, str]]) -> set[str]:
    """Id spaces with any value that is not an integer: their ids are text everywhere."""
    text = set()
    for space in ID_SPACES:
        for table, column in id_columns(space):
            source = found.get(table, {}).get(column)
            if source is None or not _is_text_type(types[table][column]):
                continue
            q = quote(source)
            nonint = con.execute(f"SELECT count(*) FROM raw_{table} WHERE nullif(trim({q}), '') IS NOT NULL "
                                 f"AND NOT regexp_matches({q}, ?)", [INTEGER_ID_PATTERN]).fetchone()[0]
            if nonint:
                text.add(space)
                break
    return text


def _number(expr: str, dtype: str) -> str:
    return expr if not _is_text_type(dtype) else f"TRY_CAST(nullif(trim({expr}), '') AS DOUBLE)"


def _typed_view(log: SqlLog, name: str, mapping: dict[str, str], types: dict[str, str], amount_unit: str) -> None:
    """``<name>``: the contract's typed columns and ``__row``; type and missing-value problems recorded."""
    present = [c for c in TABLES[name].columns if c.name in mapping]
    raws = ", ".join(f"{quote(mapping[c.name])} AS __raw_{c.name}" for c in present)
    log.con.execute(f"CREATE TEMP VIEW src_{name} AS SELECT row_number() OVER () AS __row"
                    f"{', ' + raws if raws else ''} FROM raw_{name}")
    typed = {col.name: _typed_column(log, col, f"__raw_{col.name}", types[col.name], amount_unit) for col in present}
    select = ", ".join(["__row", *(f"{expr} AS {column}" for column, (expr, _) in typed.items())])
    log.con.execute(f"CREATE TEMP VIEW {name} AS SELECT {select} FROM src_{name}")
    for col in present:
        raw, dtype = f"__raw_{col.name}", types[col.name]
        for detail, predicate in typed[col.name][1] or []:
            count, examples = _examples(log, f"src_{name}", predicate, raw)
            if count:
                log.problems.append(Problem(name, col.name, "type", count, tuple(_value_text(v) for v in examples),
                                            detail, examples_are_values=True))
        if not col.nullable:
            count, rows = _examples(log, f"src_{name}", _missing_predicate(raw, dtype), "__row")
            if count:
                log.problems.append(Problem(name, col.name, "missing", count, tuple(f"row {r}" for r in rows),
                                            "required value is missing", examples_are_values=True))


def _missing_predicate(raw: str, dtype: str) -> str:
    return f"nullif(trim({raw}), '') IS NULL" if _is_text_type(dtype) else f"{raw} IS NULL"


def _value_text(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _typed_column(log: SqlLog, col: ColumnSpec, raw: str, dtype: str, amount_unit: str
                  ) -> tuple[str, list[tuple[str, str]] | None]:
    """SQL for the typed value and [(problem detail, SQL predicate of a bad row)]."""
    present = f"NOT ({_missing_predicate(raw, dtype)})"
    if col.kind == "text":
        return f"CAST({raw} AS VARCHAR)", None
    if col.kind == "time":
        low, high = TIME_RANGE
        if _is_text_type(dtype):
            value = f"CAST(TRY_CAST(nullif(trim({raw}), '') AS TIMESTAMPTZ) AS TIMESTAMP)"
        elif dtype.upper().startswith("TIMESTAMP") or dtype.upper() == "DATE":
            value = f"CAST({raw} AS TIMESTAMP)"
        else:
            value = "CAST(NULL AS TIMESTAMP)"
        inside = f"({value} >= TIMESTAMP '{low}' AND {value} < TIMESTAMP '{high}')"
        return (f"CASE WHEN {inside} THEN {value} END",
                [("expected a timestamp (e.g. 2015-02-18 20:00:00)", f"{present} AND {value} IS NULL"),
                 (f"is outside the supported years {low[:4]}-{high[:4]}", f"{present} AND NOT {inside}")])
    if col.kind == "id":
        if col.space in log.text_spaces:
            return f"nullif(trim(CAST({raw} AS VARCHAR)), '')", None
        if _is_integer_type(dtype):
            return f"CAST({raw} AS BIGINT)", None
        number = _number(raw, dtype)
        ok = f"(isfinite({number}) AND {number} = floor({number}) AND abs({number}) < 4611686018427387904)"
        return f"CASE WHEN {ok} THEN CAST({number} AS BIGINT) END", [
            ("expected an id (an integer or a string)", f"{present} AND NOT coalesce({ok}, FALSE)")]
    if _is_integer_type(dtype) and not (col.kind == "cents" and amount_unit == "yuan"):
        return f"CAST({raw} AS BIGINT)", None
    number = _number(raw, dtype)
    if col.kind == "cents" and amount_unit == "yuan":
        cents = f"round({number} * 100.0)"
        ok = f"(isfinite({number}) AND abs({number} * 100.0 - {cents}) < 1e-6 AND abs({cents}) < 4611686018427387904)"
        return f"CASE WHEN {ok} THEN CAST({cents} AS BIGINT) END", [
            ("expected an amount in yuan with at most two decimals", f"{present} AND NOT coalesce({ok}, FALSE)")]
    ok = f"(isfinite({number}) AND {number} = floor({number}) AND abs({number}) < 4611686018427387904)"
    expected = "whole cents (an integer)" if col.kind == "cents" else "an integer"
    return f"CASE WHEN {ok} THEN CAST({number} AS BIGINT) END", [
        (f"expected {expected}", f"{present} AND NOT coalesce({ok}, FALSE)")]


def _examples(log: SqlLog, view: str, predicate: str, what: str, order: str = "__row") -> tuple[int, list[Any]]:
    count = log.scalar(f"SELECT count(*) FROM {view} WHERE {predicate}")
    if not count:
        return 0, []
    rows = log.con.execute(f"SELECT {what} FROM {view} WHERE {predicate} ORDER BY {order} LIMIT {MAX_EXAMPLES}"
                           ).fetchall()
    return int(count), [r[0] if len(r) == 1 else r for r in rows]


# --------------------------------------------------------------------- rules
def _keyed(log: SqlLog, table: str, column: str | None, rule: str, predicate: str, detail: str,
           view: str | None = None) -> Problem | None:
    """A problem whose examples are the table's key, like the pandas validator's."""
    key = TABLES[table].key
    if any(not log.has(table, k) for k in key):
        what = "NULL"
    elif len(key) == 1:
        what = key[0]
    else:
        what = ", ".join(key)
    count, rows = _examples(log, view or table, predicate, what)
    if not count:
        return None
    if what == "NULL":
        examples: tuple[str, ...] = ()
    elif len(key) == 1:
        examples = tuple(f"{key[0]}={strip_controls(str(v))}" for v in rows)
    else:
        examples = tuple("(" + ", ".join(f"{k}={strip_controls(str(v))}" for k, v in zip(key, r, strict=True)) + ")"
                         for r in rows)
    return Problem(table, column, rule, count, examples, detail)


def _table_rules(log: SqlLog, table: str) -> list[Problem | None]:
    spec, out = TABLES[table], []
    if spec.unique and all(log.has(table, k) for k in spec.key):
        keys = ", ".join(spec.key)
        if table == "friendships" and "user" in log.text_spaces:  # unordered pairs
            keys = "least(user_a, user_b), greatest(user_a, user_b)"
        complete = " AND ".join(f"{k} IS NOT NULL" for k in spec.key)
        view = (f"(SELECT *, count(*) OVER (PARTITION BY {keys}) AS __n FROM {table} WHERE {complete})")
        if len(spec.key) == 1:
            out.append(_keyed(log, table, spec.key[0], "unique", "__n > 1", "not unique", view))
        else:
            out.append(_keyed(log, table, spec.key[-1], "unique", "__n > 1", f"duplicate ({', '.join(spec.key)})",
                              view))
    for t, c in POSITIVE_AMOUNTS:
        if t == table and log.has(t, c):
            out.append(_keyed(log, table, c, "positive", f"{c} <= 0", "must be > 0"))
    if table == "red_packets" and log.has(table, "shares"):
        out.append(_keyed(log, table, "shares", "range", "shares < 1", "must be >= 1"))
    return out


def _cross_rules(log: SqlLog) -> list[Problem | None]:
    out: list[Problem | None] = []
    has = log.has
    if has("friendships", "user_a") and has("friendships", "user_b"):
        # text ids have no order to store a pair by: there, only a self-pair is wrong
        order = "user_a = user_b" if "user" in log.text_spaces else "user_a >= user_b"
        out.append(_keyed(log, "friendships", "user_b", "order", order,
                          "must have user_a < user_b (store each pair once)"))
    if has("users", "left_at") and has("users", "joined_at"):
        out.append(_keyed(log, "users", "left_at", "order", "left_at < joined_at", "must not be before joined_at"))
    if has("red_packets"):
        g = "group_id IS NOT NULL" if has("red_packets", "group_id") else "FALSE"
        r = "recipient_id IS NOT NULL" if has("red_packets", "recipient_id") else "FALSE"
        out.append(_keyed(log, "red_packets", "group_id", "target", f"({g}) AND ({r})",
                          "must have exactly one of group_id / recipient_id, has both"))
        out.append(_keyed(log, "red_packets", "group_id", "target", f"NOT ({g}) AND NOT ({r})",
                          "must have exactly one of group_id / recipient_id, has neither"))
        if has("red_packets", "recipient_id"):
            out.append(_keyed(log, "red_packets", "recipient_id", "self", "sender_id = recipient_id",
                              "must differ from sender_id"))
            out.append(_keyed(log, "red_packets", "shares", "range", f"({r}) AND NOT ({g}) AND shares <> 1",
                              "must be 1 for a one-to-one packet (recipient_id set)"))
    if has("red_packet_claims"):
        out.extend(_claim_rules(log))
    if has("transfers", "sender_id") and has("transfers", "receiver_id"):
        out.append(_keyed(log, "transfers", "receiver_id", "self", "sender_id = receiver_id",
                          "must differ from sender_id"))
    if has("payments", "paid_at") and has("merchants", "accepts_from"):
        view = ("(SELECT p.*, m.accepts_from FROM payments p LEFT JOIN "
                "(SELECT merchant_id, arg_min(accepts_from, __row) AS accepts_from FROM merchants "
                "GROUP BY merchant_id) m USING (merchant_id))")
        out.append(_keyed(log, "payments", "paid_at", "order", "paid_at < accepts_from",
                          "paid to a merchant before it accepted the wallet (paid_at < merchants.accepts_from)", view))
    for (table, column), (ref_table, ref_column) in FOREIGN_KEYS.items():
        if not (has(table, column) and has(ref_table, ref_column)):
            continue
        view = (f"(SELECT * FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN "
                f"(SELECT {ref_column} FROM {ref_table} WHERE {ref_column} IS NOT NULL))")
        out.append(_keyed(log, table, column, "foreign_key", "TRUE", f"not found in {ref_table}.{ref_column}", view))
    return out


def _claim_rules(log: SqlLog) -> list[Problem | None]:
    out: list[Problem | None] = []
    has = log.has
    if has("red_packet_claims", "packet_id") and has("red_packet_claims", "receiver_id"):
        view = ("(SELECT *, count(*) OVER (PARTITION BY packet_id, receiver_id) AS __n FROM red_packet_claims "
                "WHERE packet_id IS NOT NULL AND receiver_id IS NOT NULL)")
        out.append(_keyed(log, "red_packet_claims", "receiver_id", "unique", "__n > 1",
                          "duplicate (packet_id, receiver_id): one claim per receiver", view))
    needed = ("packet_id", "sender_id", "sent_at", "amount_cents", "shares")
    if not (has("red_packets") and all(has("red_packets", c) for c in needed)
            and all(has("red_packet_claims", c) for c in ("packet_id", "receiver_id", "claimed_at", "amount_cents"))):
        return out
    recipient = "arg_min(recipient_id, __row) AS recipient_id" if has("red_packets", "recipient_id") else \
        "NULL AS recipient_id"
    log.con.execute(f"""CREATE OR REPLACE TEMP TABLE packet_ref AS
        SELECT packet_id, arg_min(sender_id, __row) AS sender_id, arg_min(sent_at, __row) AS sent_at,
               arg_min(amount_cents, __row) AS packet_amount, arg_min(shares, __row) AS shares, {recipient}
        FROM red_packets WHERE packet_id IS NOT NULL GROUP BY packet_id""")
    joined = "(SELECT c.*, p.sender_id, p.sent_at, p.recipient_id FROM red_packet_claims c " \
             "JOIN packet_ref p USING (packet_id))"
    out.append(_keyed(log, "red_packet_claims", "claimed_at", "order", "claimed_at < sent_at",
                      "claimed before the packet was sent (claimed_at < red_packets.sent_at)", joined))
    out.append(_keyed(log, "red_packet_claims", "receiver_id", "self", "receiver_id = sender_id",
                      "must differ from the packet's sender_id", joined))
    if has("red_packets", "recipient_id"):
        out.append(_keyed(log, "red_packet_claims", "receiver_id", "target", "receiver_id <> recipient_id",
                          "claimed a one-to-one packet addressed to someone else (red_packets.recipient_id)", joined))
    per_packet = ("(SELECT c.packet_id, count(*) AS n, sum(c.amount_cents) AS total, any_value(p.shares) AS shares, "
                  "any_value(p.packet_amount) AS packet_amount FROM red_packet_claims c JOIN packet_ref p "
                  "USING (packet_id) GROUP BY c.packet_id)")
    for column, predicate, detail in (("packet_id", "n > shares", "more claims than red_packets.shares"),
                                      ("amount_cents", "total > packet_amount",
                                       "claims summing to more than red_packets.amount_cents")):
        count, ids = _examples(log, per_packet, predicate, "packet_id", order="packet_id")
        if count:
            rows = log.scalar(f"SELECT count(*) FROM red_packet_claims WHERE packet_id IN "
                              f"(SELECT packet_id FROM {per_packet} WHERE {predicate})")
            out.append(Problem("red_packet_claims", column, "claims", int(rows),
                               tuple(f"packet_id={strip_controls(str(i))}" for i in ids),
                               f"in {count:,} packet{'s' if count > 1 else ''} with {detail}"))
    return out


def validate_sql(log: SqlLog) -> list[Problem]:
    """Every contract rule, checked by DuckDB on the typed views; the pandas validator's problems.

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> with open_log(example_path()) as log:
    ...     validate_sql(log)
    []
    """
    from adoption.log.validation import validate_meta

    problems = list(log.problems)
    if "users" in log.columns and not any(name in log.columns for name in ACTIVITY_TABLES):
        problems.append(Problem("users", None, "missing", 0, (),
                                "a log needs at least one activity table besides users "
                                "(red_packets, red_packet_claims, transfers, payments, scans or adoptions)"))
    # rules run on tables that have every required column (a missing column is reported already)
    columns = log.columns
    log.columns = {t: c for t, c in columns.items() if set(TABLES[t].required_columns) <= c}
    try:
        for table in TABLES:
            if table in log.columns:
                problems.extend(p for p in _table_rules(log, table) if p is not None)
        problems.extend(p for p in _cross_rules(log) if p is not None)
    finally:
        log.columns = columns
    return problems + validate_meta(log.meta)
