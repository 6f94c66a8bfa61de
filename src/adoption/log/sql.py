"""An event-log folder opened in DuckDB: typed views, the same contract checks, no pandas in between.

The DuckDB engine reads logs bigger than memory: DuckDB streams the Parquet/CSV files and spills to
disk. This module gives it what :func:`adoption.log.eventlog.read_eventlog` gives the pandas engine:

* one typed view per table (headers matched case-insensitively, times converted to naive China Standard
  Time, amounts in cents, ids as integers or as the user's text ids), built through DuckDB's Python
  relation API, so that no path or value is ever pasted into SQL text;
* :func:`validate_sql`, every rule of the contract as SQL, returning the same :class:`Problem` lines as
  the pandas validator (the test suite checks both on a corpus of broken logs);
* :func:`open_checked`, the log opened and checked once (a log checked before is remembered:
  :mod:`adoption.log.checked`), and :func:`summary_sql`, what ``EventLog.summary`` says of it.

Only names that come from the contract itself (table and column names) appear in SQL text; the user's
column names are quoted as identifiers, and values are bound parameters.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from adoption.errors import InputError, InvalidEventLog, UsageError
from adoption.log.checked import check_once
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
from adoption.log.proofs import ClaimCounts, claims_against_packets, column_statistics, proven_unique
from adoption.log.validation import MAX_EXAMPLES, Problem, csv_line_refusal, missing_column
from adoption.processes import default_memory_limit
from adoption.text import strip_controls

__all__ = ["DEFAULT_MEMORY_LIMIT", "SqlLog", "memory_limit_setting", "open_checked", "open_log", "out_of_memory",
           "summary_sql", "validate_sql"]

#: DuckDB's memory budget, unless told otherwise (:func:`adoption.processes.default_memory_limit`); it spills to
#: disk beyond it.
DEFAULT_MEMORY_LIMIT = default_memory_limit()
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
    files : dict of str to list of Path
        The files each table was read from, in order.
    source_columns : dict of str to dict of str to str
        For each table, the file's own name of each contract column (headers match in any case).
    """

    con: duckdb.DuckDBPyConnection
    columns: dict[str, set[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    text_spaces: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, list[Path]] = field(default_factory=dict)
    source_columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the table (and the column) is present."""
        return table in self.columns and (column is None or column in self.columns[table])

    def row(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a query that gives one row (None if it gives none), read to its end.

        Read to its end, the result leaves the connection free for DuckDB's relational API (``con.sql``),
        which refuses to run while a result of ``execute`` is still being read."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def scalar(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """The first value of a query (see :meth:`row`)."""
        row = self.row(sql, params)
        return None if row is None else row[0]


def _sources(folder: Path) -> dict[str, list[Path]]:
    """Each table's files in ``folder``, as the pandas reader finds them (a folder of parts must hold some)."""
    from adoption.log.eventlog import table_parts, table_sources

    return {name: table_parts(entry) if entry.is_dir() else [entry] for name, entry in table_sources(folder).items()}


def _csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file as the pandas reader reads them (comma-separated, double quotes), or
    None where the first line is no such header (an empty file, not UTF-8, a repeated or an empty name)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            header = next(csv.reader(file), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not header or not all(header) or len(set(header)) != len(header):
        return None
    return header


#: A CSV table up to this size is parsed once into memory, its text and then its typed values, rather than by
#: every statement that reads it: the bundled example as CSV answers its headline in 2.2 s against 3.5 s. A
#: larger one is read where each statement needs it, as a Parquet table is, so that its size never has to fit
#: in memory (a log that big reads faster as Parquet anyway).
CSV_IN_MEMORY_BYTES = 256 * 2**20


def _is_csv(files: list[Path]) -> bool:
    return bool(files) and files[0].suffix.lower() == ".csv"


def _csv_in_memory(files: list[Path]) -> bool:
    """Whether a table's files are CSV small enough to be parsed once (:data:`CSV_IN_MEMORY_BYTES`)."""
    try:
        return _is_csv(files) and sum(f.stat().st_size for f in files) <= CSV_IN_MEMORY_BYTES
    except OSError:  # (the reader says what is wrong with the file)
        return False


def _relation(con: duckdb.DuckDBPyConnection, name: str, files: list[Path]) -> duckdb.DuckDBPyRelation:
    paths = [p.as_posix() for p in files]
    try:
        if _is_csv(files):
            # every column as text, as the pandas reader does, so both engines parse values alike; in the
            # pandas reader's dialect (commas, double quotes) rather than the one DuckDB's sniffer guesses from
            # a sample (which took 50 ms a file, and could guess no quoting from a sample without quotes). A
            # short row is refused where pandas pads it: DuckDB's padding would refuse quoted line breaks.
            header = _csv_header(files[0])
            if header is None:  # DuckDB's sniffer then says what it finds
                return con.read_csv(paths[0], header=True, all_varchar=True)
            return con.read_csv(paths[0], header=True, columns=dict.fromkeys(header, "VARCHAR"), auto_detect=False,
                                delimiter=",", quotechar='"', escapechar='"')
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
    >>> memory_limit_setting(None) == DEFAULT_MEMORY_LIMIT, memory_limit_setting("512MB")
    (True, '512MB')
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
    log = SqlLog(con)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{memory_limit_setting(memory_limit)}'")
        try:
            sources = _sources(path)
        except PermissionError:
            raise InputError(f"{path}: folder cannot be read (permission denied)") from None
        if not sources:
            raise InputError(f"{path}: no event-log tables found (expected files named <table>.parquet or "
                             f"<table>.csv for tables {', '.join(TABLES)})")
        found: dict[str, dict[str, str]] = {}
        types: dict[str, dict[str, str]] = {}
        in_memory = {name for name, files in sources.items() if _csv_in_memory(files)}
        for name, files in sources.items():
            rel = _relation(con, name, files)
            log.files[name] = list(files)  # (before a CSV is read: its errors are refused naming the table)
            if name in in_memory:  # parsed once, not by every statement that reads the table
                rel.create_view(f"csv_{name}")
                con.execute(f"CREATE TEMP TABLE raw_{name} AS SELECT * FROM csv_{name}")
            else:
                rel.create_view(f"raw_{name}")
            wanted = {c.lower(): c for c in TABLES[name].column_names}
            mapping: dict[str, str] = {}
            for col, dtype in zip(rel.columns, rel.types, strict=True):
                target = wanted.get(col.strip().lower())
                if target is not None and target not in mapping:
                    mapping[target] = col
                    types.setdefault(name, {})[target] = str(dtype)
            found[name] = mapping
            log.source_columns[name] = mapping
            missing = [c for c in TABLES[name].required_columns if c not in mapping]
            for col in missing:
                log.problems.append(missing_column(name, col, rel.columns, rel.aggregate("count(*)").fetchall()[0][0]))
            log.columns[name] = set(mapping)
        log.text_spaces = _text_spaces(con, found, types)
        for name in TABLES:
            if name in found:
                _typed_view(log, name, found[name], types.get(name, {}), amount_unit, cast_once=name in in_memory)
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
    except duckdb.Error as exc:
        # a CSV file's row that breaks its header, found where DuckDB reaches it (while the log is checked or
        # analysed): one line naming the table and the row, not an unexpected error
        refusal = _csv_refusal(str(exc), log.files)
        if refusal is None:
            raise
        raise InputError(refusal) from None
    finally:
        con.close()


_CSV_FILE = re.compile(r"^\s*file = (.+)$", re.MULTILINE)
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COUNTS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _csv_refusal(message: str, files: dict[str, list[Path]]) -> str | None:
    """The one-line refusal of a DuckDB CSV error in one of the log's files, or None for any other error.

    Examples
    --------
    >>> message = ("Invalid Input Error: CSV Error on Line: 7\\nExpected Number of Columns: 5 Found: 6\\n"
    ...            "  file = /logs/a/transfers.csv\\n")
    >>> _csv_refusal(message, {"transfers": [Path("/logs/a/transfers.csv")]})
    'transfers: cannot read transfers.csv (line 7: expected 5 fields, found 6)'
    """
    where, line = _CSV_FILE.search(message), _CSV_LINE.search(message)
    if where is None or line is None:
        return None
    path = Path(where.group(1).strip())
    name = next((table for table, paths in files.items() if path in paths), None)
    if name is None:
        return None
    counts = _CSV_COUNTS.search(message)
    if counts:
        return csv_line_refusal(name, path.name, line.group(1), expected=counts.group(1), found=counts.group(2))
    return csv_line_refusal(name, path.name, line.group(1),
                            reason=message.split("\n")[0].removeprefix("Invalid Input Error: ").strip())


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
                                 f"AND NOT regexp_matches({q}, ?)", [INTEGER_ID_PATTERN]).fetchall()[0][0]
            if nonint:
                text.add(space)
                break
    return text


def _number(expr: str, dtype: str) -> str:
    return expr if not _is_text_type(dtype) else f"TRY_CAST(nullif(trim({expr}), '') AS DOUBLE)"


def _typed_view(log: SqlLog, name: str, mapping: dict[str, str], types: dict[str, str], amount_unit: str,
                cast_once: bool = False) -> None:
    """``<name>``: the contract's typed columns and ``__row``; type and missing-value problems recorded.
    ``cast_once``: a table of the typed values (a CSV table parsed into memory), not a view that casts them
    in every statement."""
    present = [c for c in TABLES[name].columns if c.name in mapping]
    raws = ", ".join(f"{quote(mapping[c.name])} AS __raw_{c.name}" for c in present)
    log.con.execute(f"CREATE TEMP VIEW src_{name} AS SELECT row_number() OVER () AS __row"
                    f"{', ' + raws if raws else ''} FROM raw_{name}")
    typed = {col.name: _typed_column(log, col, f"__raw_{col.name}", types[col.name], amount_unit) for col in present}
    select = ", ".join(["__row", *(f"{expr} AS {column}" for column, (expr, _) in typed.items())])
    # a small CSV table's text is cast once (the casts of its timestamps, with any UTC offset, cost more than
    # a Parquet scan); a Parquet table's view reads only the columns a statement asks for
    kind = "TABLE" if cast_once else "VIEW"
    log.con.execute(f"CREATE TEMP {kind} {name} AS SELECT {select} FROM src_{name}")
    checks = []  # (column, rule, detail, predicate, what to show): every one counted in one scan of the table
    for col in present:
        raw, dtype = f"__raw_{col.name}", types[col.name]
        complete, readable = _settled_by_statistics(log, name, col, dtype)
        if not readable:
            checks.extend((col.name, "type", detail, predicate, raw) for detail, predicate in typed[col.name][1] or [])
        if not (col.nullable or complete):
            checks.append((col.name, "missing", "required value is missing", _missing_predicate(raw, dtype), "__row"))
    counts = _counts(log, f"src_{name}", [predicate for *_, predicate, _ in checks])
    for (column, rule, detail, predicate, what), count in zip(checks, counts, strict=True):
        if count:
            _, examples = _examples(log, f"src_{name}", predicate, what, count=count)
            shown = (tuple(_value_text(v) for v in examples) if rule == "type" else
                     tuple(f"row {r}" for r in examples))
            log.problems.append(Problem(name, column, rule, count, shown, detail, examples_are_values=True))


def _settled_by_statistics(log: SqlLog, table: str, col: ColumnSpec, dtype: str) -> tuple[bool, bool]:
    """(no value missing, every value of its type) where the Parquet footers prove it, without a scan.

    Only typed columns are settled: an integer column needs no type check, and a timestamp column's values
    are all readable when its lowest and highest lie a day inside the supported years (the day covers any
    UTC offset).
    """
    if _is_text_type(dtype):
        return False, False
    stats = column_statistics(log.files.get(table, []), log.source_columns[table][col.name])
    if stats is None:
        return False, False
    nulls, low, high = stats
    readable = False
    if col.kind == "time" and (dtype.upper().startswith("TIMESTAMP") or dtype.upper() == "DATE"):
        if low is None:
            readable = True
        elif isinstance(low, datetime.date) and isinstance(high, datetime.date):  # (not raw ticks of some unit)
            import pandas as pd

            bounds = [pd.Timestamp(b) for b in TIME_RANGE]
            low, high = (pd.Timestamp(v).tz_localize(None) if pd.Timestamp(v).tzinfo else pd.Timestamp(v)
                         for v in (low, high))
            readable = bool(low >= bounds[0] + pd.Timedelta(days=1) and high < bounds[1] - pd.Timedelta(days=1))
    return nulls == 0, readable


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


def _examples(log: SqlLog, view: str, predicate: str, what: str, order: str = "__row", count: int | None = None
              ) -> tuple[int, list[Any]]:
    """(how many rows of ``view`` match ``predicate``, the first few of them as ``what``); ``count``: the
    number, where it was counted already (then only the examples are looked up)."""
    if count is None:
        count = log.scalar(f"SELECT count(*) FROM {view} WHERE {predicate}")
    if not count:
        return 0, []
    rows = log.con.execute(f"SELECT {what} FROM {view} WHERE {predicate} ORDER BY {order} LIMIT {MAX_EXAMPLES}"
                           ).fetchall()
    return int(count), [r[0] if len(r) == 1 else r for r in rows]


# --------------------------------------------------------------------- rules
def _keyed(log: SqlLog, table: str, column: str | None, rule: str, predicate: str, detail: str,
           view: str | None = None, count: int | None = None) -> Problem | None:
    """A problem whose examples are the table's key, like the pandas validator's (``count``: the rows that
    break the rule, where they were counted already)."""
    key = TABLES[table].key
    if any(not log.has(table, k) for k in key):
        what = "NULL"
    elif len(key) == 1:
        what = key[0]
    else:
        what = ", ".join(key)
    count, rows = _examples(log, view or table, predicate, what, count=count)
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


def _counts(log: SqlLog, view: str, predicates: list[str]) -> list[int]:
    """How many rows of ``view`` match each predicate, in one scan."""
    if not predicates:
        return []
    row = log.row("SELECT " + ", ".join(f"count(*) FILTER (WHERE {p})" for p in predicates) + f" FROM {view}")
    return [int(n) for n in row]


class _RowRule(NamedTuple):
    """A rule on single rows: the rows matching ``predicate`` break it."""

    column: str | None
    rule: str
    predicate: str
    detail: str
    #: The rule holds where every value of ``column`` lies in [low, high] (proven by the files' statistics).
    within: tuple[float, float] | None = None


def _rules_of_rows(log: SqlLog, table: str, rules: list[_RowRule], view: str | None = None) -> list[Problem | None]:
    """Row rules of one table, counted in one scan (those the Parquet footers prove are not counted);
    examples where any fail."""
    proven = [view is None and r.within is not None and _within_by_statistics(log, table, r.column, *r.within)
              for r in rules]
    counted = iter(_counts(log, view or table, [r.predicate for r, p in zip(rules, proven, strict=True) if not p]))
    counts = [0 if p else next(counted) for p in proven]
    return [_keyed(log, table, r.column, r.rule, r.predicate, r.detail, view, count=n) if n else None
            for r, n in zip(rules, counts, strict=True)]


def _integer_statistics(log: SqlLog, table: str, column: str | None) -> tuple[int, int | None, int | None] | None:
    """(missing values, lowest, highest) of ``table.column`` from the Parquet footers, where it is stored as
    integers (lowest and highest None: every value missing); None where the footers do not say, or for a
    float or text column, whose typed values are not its raw ones."""
    source = log.source_columns.get(table, {}).get(column or "")
    stats = column_statistics(log.files.get(table, []), source) if source is not None else None
    if stats is None or not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in stats[1:]):
        return None
    return stats


def _within_by_statistics(log: SqlLog, table: str, column: str | None, low: float, high: float) -> bool:
    """Whether the Parquet footers prove every value of integer column ``table.column`` within [low, high]
    (missing values aside), without reading the data."""
    stats = _integer_statistics(log, table, column)
    if stats is None:
        return False
    _, lowest, highest = stats
    return lowest is None or bool(low <= lowest and highest <= high)  # (None: every value missing)


def _unique_rule(log: SqlLog, table: str, key: tuple[str, ...], detail: str) -> tuple[Problem | None, bool]:
    """Whether ``key`` is unique in ``table``: (the problem or None, whether it is unique).

    A key stored in order is proven unique in one pass (:func:`adoption.log.keys.proven_unique`); otherwise
    duplicates are counted with a hash aggregate, and only a table that has some is scanned for examples.
    """
    keys = ", ".join(key)
    if table == "friendships" and "user" in log.text_spaces:  # unordered pairs
        keys = "least(user_a, user_b), greatest(user_a, user_b)"
    elif proven_unique(log.files.get(table, []), [log.source_columns[table][k] for k in key]):
        return None, True
    complete = " AND ".join(f"{k} IS NOT NULL" for k in key)
    if not log.scalar(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {complete} GROUP BY {keys} "
                      "HAVING count(*) > 1)"):
        return None, True
    view = f"(SELECT *, count(*) OVER (PARTITION BY {keys}) AS __n FROM {table} WHERE {complete})"
    return _keyed(log, table, key[-1], "unique", "__n > 1", detail, view), False


def _table_rules(log: SqlLog, table: str) -> list[_RowRule]:
    """The rules on single rows of one table."""
    has = log.has
    rules = [_RowRule(c, "positive", f"{c} <= 0", "must be > 0", (1, math.inf))
             for t, c in POSITIVE_AMOUNTS if t == table and has(t, c)]
    if table == "red_packets" and has(table, "shares"):
        rules.append(_RowRule("shares", "range", "shares < 1", "must be >= 1", (1, math.inf)))
    if table == "friendships" and has(table, "user_a") and has(table, "user_b"):
        # text ids have no order to store a pair by: there, only a self-pair is wrong
        order = "user_a = user_b" if "user" in log.text_spaces else "user_a >= user_b"
        rules.append(_RowRule("user_b", "order", order, "must have user_a < user_b (store each pair once)"))
    if table == "users" and has(table, "left_at") and has(table, "joined_at"):
        rules.append(_RowRule("left_at", "order", "left_at < joined_at", "must not be before joined_at"))
    if table == "red_packets":
        g = "group_id IS NOT NULL" if has(table, "group_id") else "FALSE"
        r = "recipient_id IS NOT NULL" if has(table, "recipient_id") else "FALSE"
        rules.append(_RowRule("group_id", "target", f"({g}) AND ({r})",
                              "must have exactly one of group_id / recipient_id, has both"))
        rules.append(_RowRule("group_id", "target", f"NOT ({g}) AND NOT ({r})",
                              "must have exactly one of group_id / recipient_id, has neither"))
        if has(table, "recipient_id"):
            rules.append(_RowRule("recipient_id", "self", "sender_id = recipient_id", "must differ from sender_id"))
            rules.append(_RowRule("shares", "range", f"({r}) AND NOT ({g}) AND shares <> 1",
                                  "must be 1 for a one-to-one packet (recipient_id set)"))
    if table == "transfers" and has(table, "sender_id") and has(table, "receiver_id"):
        rules.append(_RowRule("receiver_id", "self", "sender_id = receiver_id", "must differ from sender_id"))
    return rules


def _dense_range(log: SqlLog, table: str, column: str, unique: set[str]) -> tuple[int, int] | None:
    """(lowest, highest) if ``table.column`` is an integer key holding every value in between, else None."""
    spec = TABLES[table]
    space = next(c.space for c in spec.columns if c.name == column)
    if table not in unique or spec.key != (column,) or space in log.text_spaces:
        return None
    stats = _integer_statistics(log, table, column)
    if stats is not None and stats[1] is not None:
        # from the footers of an integer column: its rows, less its missing values, and its bounds
        nulls, low, high = stats
        n = log.scalar(f"SELECT count(*) FROM raw_{table}") - nulls
    else:
        low, high, n = log.row(f"SELECT min({column}), max({column}), count({column}) FROM {table}")
    if not n or int(high) - int(low) + 1 != int(n):
        return None
    return int(low), int(high)


def _foreign_key_rules(log: SqlLog, unique: set[str]) -> list[Problem | None]:
    """Every reference resolves: a range check against a dense key, else an anti-join; one scan per table."""
    by_table: dict[str, list[_RowRule]] = {}
    for (table, column), (ref_table, ref_column) in FOREIGN_KEYS.items():
        if not (log.has(table, column) and log.has(ref_table, ref_column)):
            continue
        dense = _dense_range(log, ref_table, ref_column, unique)
        if dense is not None:
            missing = f"{column} IS NOT NULL AND ({column} < {dense[0]} OR {column} > {dense[1]})"
        else:
            missing = (f"{column} IS NOT NULL AND {column} NOT IN "
                       f"(SELECT {ref_column} FROM {ref_table} WHERE {ref_column} IS NOT NULL)")
        by_table.setdefault(table, []).append(
            _RowRule(column, "foreign_key", missing, f"not found in {ref_table}.{ref_column}", dense))
    return [p for table, rules in by_table.items() for p in _rules_of_rows(log, table, rules)]


def _cross_rules(log: SqlLog, unique: set[str], merged: Future[ClaimCounts | None] | None, idle: threading.Event
                 ) -> list[Problem | None]:
    out: list[Problem | None] = []
    if log.has("payments", "paid_at") and log.has("merchants", "accepts_from"):
        view = ("(SELECT p.*, m.accepts_from FROM payments p LEFT JOIN "
                "(SELECT merchant_id, arg_min(accepts_from, __row) AS accepts_from FROM merchants "
                "GROUP BY merchant_id) m USING (merchant_id))")
        out.append(_keyed(log, "payments", "paid_at", "order", "paid_at < accepts_from",
                          "paid to a merchant before it accepted the wallet (paid_at < merchants.accepts_from)", view))
    out += _foreign_key_rules(log, unique)
    # the claim rules last, to give their merge (in its thread) the longest time; reported first
    claims = _claim_rules(log, unique, merged, idle) if log.has("red_packet_claims") else []
    return claims + out


def _claims_meet_packets(log: SqlLog) -> bool:
    """Whether the claims can be checked against their packets: both tables with every column the claim
    rules read (by SQL, or by :func:`_merged_claim_counts`)."""
    has = log.has
    return (has("red_packets") and has("red_packet_claims")
            and all(has("red_packets", c) for c in ("packet_id", "sender_id", "sent_at", "amount_cents", "shares"))
            and all(has("red_packet_claims", c) for c in ("packet_id", "receiver_id", "claimed_at", "amount_cents")))


def _merged_claim_counts(log: SqlLog, stop: threading.Event, idle: threading.Event) -> ClaimCounts | None:
    """The claim rules counted by one merge of the files (:func:`~adoption.log.proofs.claims_against_packets`);
    it reads the files only, not the connection, so it can run beside the SQL checks (``stop``: give up;
    ``idle``: the checks only wait for it now, and it decodes the next row group in a thread of its own)."""
    source = log.source_columns
    return claims_against_packets(
        log.files["red_packet_claims"],
        [source["red_packet_claims"][c] for c in ("packet_id", "receiver_id", "claimed_at", "amount_cents")],
        log.files["red_packets"],
        [source["red_packets"][c] for c in ("packet_id", "sender_id", "sent_at", "amount_cents", "shares",
                                              *(("recipient_id",) if log.has("red_packets", "recipient_id") else ()))],
        stop=stop, idle=idle)


def _claim_rules(log: SqlLog, unique: set[str], merged_counts: Future[ClaimCounts | None] | None,
                 idle: threading.Event) -> list[Problem | None]:
    """The claims against their packets: one merge of the files when they are stored in packet order (started
    beside the other checks: ``merged_counts``, told by ``idle`` when the checks only wait for it), else one
    join and one aggregate per packet for every rule. The merge also proves the claims' key unique where it
    is; otherwise it is checked on its own."""
    has = log.has
    out: list[Problem | None] = []
    merging = None
    if merged_counts is not None:
        idle.set()  # nothing else runs while the checks wait: the merge may decode with every core
        merging = merged_counts.result()
    if has("red_packet_claims", "packet_id") and has("red_packet_claims", "receiver_id") and \
            not (merging is not None and merging.key_unique):
        out.append(_unique_rule(log, "red_packet_claims", ("packet_id", "receiver_id"),
                                "duplicate (packet_id, receiver_id): one claim per receiver")[0])
    if not _claims_meet_packets(log):
        return out
    recipient = "recipient_id" if has("red_packets", "recipient_id") else "CAST(NULL AS BIGINT) AS recipient_id"
    if "red_packets" in unique:  # one row per packet already: read in place
        log.con.execute(f"""CREATE OR REPLACE TEMP VIEW packet_ref AS
            SELECT packet_id, sender_id, sent_at, amount_cents AS packet_amount, shares, {recipient}
            FROM red_packets WHERE packet_id IS NOT NULL""")
    else:  # a duplicated packet is reported already; its first row is the packet
        recipient = "arg_min(recipient_id, __row) AS recipient_id" if has("red_packets", "recipient_id") else \
            "NULL AS recipient_id"
        log.con.execute(f"""CREATE OR REPLACE TEMP TABLE packet_ref AS
            SELECT packet_id, arg_min(sender_id, __row) AS sender_id, arg_min(sent_at, __row) AS sent_at,
                   arg_min(amount_cents, __row) AS packet_amount, arg_min(shares, __row) AS shares, {recipient}
            FROM red_packets WHERE packet_id IS NOT NULL GROUP BY packet_id""")
    joined = "(SELECT c.*, p.sender_id, p.sent_at, p.recipient_id FROM red_packet_claims c " \
             "JOIN packet_ref p USING (packet_id))"
    rows = [("claimed_at", "order", "claimed_at < sent_at",
             "claimed before the packet was sent (claimed_at < red_packets.sent_at)"),
            ("receiver_id", "self", "receiver_id = sender_id", "must differ from the packet's sender_id")]
    if has("red_packets", "recipient_id"):
        rows.append(("receiver_id", "target", "receiver_id <> recipient_id",
                     "claimed a one-to-one packet addressed to someone else (red_packets.recipient_id)"))
    per_packet = [("packet_id", "n > shares", "more claims than red_packets.shares"),
                  ("amount_cents", "total > packet_amount", "claims summing to more than red_packets.amount_cents")]
    view = ("(SELECT c.packet_id, c.n, c.total, p.shares, p.packet_amount FROM (SELECT packet_id, count(*) AS n, "
            "sum(amount_cents) AS total FROM red_packet_claims GROUP BY packet_id) c JOIN packet_ref p "
            "USING (packet_id))")  # packet_ref has one row per packet
    # (only where packets are unique; integer amounts in yuan compare as their cents do)
    merged = merging if "red_packets" in unique else None
    if merged is not None:  # counted in one merge of files stored in packet order
        counts = [merged.before_sent, merged.by_sender,
                  *((merged.not_recipient,) if has("red_packets", "recipient_id") else ()),
                  merged.over_shares, merged.over_amount]
    else:
        counts = [*_counts(log, joined, [predicate for _, _, predicate, _ in rows]),
                  *_counts(log, view, [predicate for _, predicate, _ in per_packet])]
    for (column, rule, predicate, detail), n in zip(rows, counts[:len(rows)], strict=True):
        if n:
            out.append(_keyed(log, "red_packet_claims", column, rule, predicate, detail, joined, count=n))
    for (column, predicate, detail), n in zip(per_packet, counts[len(rows):], strict=True):
        if n:
            count, ids = _examples(log, view, predicate, "packet_id", order="packet_id", count=n)
            rows_in = log.scalar(f"SELECT count(*) FROM red_packet_claims WHERE packet_id IN "
                                 f"(SELECT packet_id FROM {view} WHERE {predicate})")
            out.append(Problem("red_packet_claims", column, "claims", int(rows_in),
                               tuple(f"packet_id={strip_controls(str(i))}" for i in ids),
                               f"in {count:,} packet{'s' if count > 1 else ''} with {detail}"))
    return out


def validate_sql(log: SqlLog) -> list[Problem]:
    """Every contract rule, checked by DuckDB on the typed views; the pandas validator's problems.

    Each table's row rules are counted in one scan, and examples are looked up only for a rule that fails.
    What the Parquet files prove is not scanned again (:mod:`adoption.log.proofs`): missing values,
    times out of range, amounts and shares below their floor and references outside a key that holds
    every value of its range, from the footers' statistics (lowest and highest values); keys stored in
    order; and the claim rules, by one merge of claims and packets stored in packet order (in a thread
    beside the SQL checks). Whatever is not proven is counted in SQL.

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
    # the claim rules' merge of the files reads no connection: it runs in a thread beside the SQL checks
    # (pyarrow and numpy release the interpreter, as DuckDB does), from the start: it proves for itself that
    # the packets are unique and in order, and is used only if they are
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adoption-claims")
    stop = threading.Event()  # set when the checks end early (an error, Ctrl-C): the merge gives up
    idle = threading.Event()  # set when the checks have nothing left but to wait for the merge
    merged = pool.submit(_merged_claim_counts, log, stop, idle) if _claims_meet_packets(log) else None
    try:
        unique: set[str] = set()
        for table in TABLES:
            if table not in log.columns:
                continue
            spec, found = TABLES[table], []
            if spec.unique and all(log.has(table, k) for k in spec.key):
                detail = "not unique" if len(spec.key) == 1 else f"duplicate ({', '.join(spec.key)})"
                problem, is_unique = _unique_rule(log, table, spec.key, detail)
                found.append(problem)
                if is_unique:
                    unique.add(table)
            found.extend(_rules_of_rows(log, table, _table_rules(log, table)))
            problems.extend(p for p in found if p is not None)
        problems.extend(p for p in _cross_rules(log, unique, merged, idle) if p is not None)
    finally:
        stop.set()
        pool.shutdown(wait=True)
        log.columns = columns
    return problems + validate_meta(log.meta)


@contextmanager
def open_checked(folder: str | os.PathLike[str], *, memory_limit: str | None = None, amount_unit: str = "cents",
                 validate: bool = True, recheck: bool = False) -> Iterator[SqlLog]:
    """:func:`open_log`, refused with every problem found (:class:`~adoption.errors.InvalidEventLog`) unless it
    keeps every contract rule (:func:`validate_sql`).

    Types are always checked; the rules unless ``validate=False``, and not again on files that passed them
    before (:mod:`adoption.log.checked`) unless ``recheck``. Files that pass are remembered.

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> with open_checked(example_path()) as log:
    ...     log.scalar("SELECT count(*) FROM payments") > 0
    True
    """
    with open_log(folder, memory_limit=memory_limit, amount_unit=amount_unit) as log:
        found = check_once(folder, {"amount_unit": amount_unit}, lambda: validate_sql(log), recheck=recheck) \
            if validate else None
        problems = log.problems if found is None else found
        if problems:
            raise InvalidEventLog(problems)
        yield log


def out_of_memory(memory_limit: str | None) -> MemoryError:
    """The one-line error for a statement that DuckDB could not fit in its memory budget.

    Examples
    --------
    >>> str(out_of_memory("1GB"))
    'DuckDB needed more than its memory budget (1GB) for this log; give it more (--memory-limit 8GB) or use a smaller log'
    """
    return MemoryError(f"DuckDB needed more than its memory budget ({memory_limit_setting(memory_limit)}) for this "
                       "log; give it more (--memory-limit 8GB) or use a smaller log")


#: The columns in which pandas stores a frame's index in a Parquet file (``df.to_parquet`` with an index that
#: is not 0, 1, 2, ...): the pandas reader makes them the index again, so they are no column of the log.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def summary_sql(log: SqlLog) -> dict[str, Any]:
    """What :meth:`adoption.log.eventlog.EventLog.summary` says of a log, counted by DuckDB: the columns
    not in the contract (ignored), rows per table, the time span, and how many users, receivers (a claim or
    a transfer received) and payers (a payment to a merchant).

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> from adoption.log.eventlog import read_eventlog
    >>> with open_checked(example_path()) as log:
    ...     summary = summary_sql(log)
    >>> summary == read_eventlog(example_path()).summary()
    True
    >>> summary["users"], summary["rows"]["payments"] > 0
    (20000, True)
    """
    present = [name for name in TABLES if name in log.columns]
    ignored = {}
    for name in present:
        kept = set(log.source_columns[name].values())
        extra = [column for column, *_ in log.con.execute(f"SELECT * FROM raw_{name} LIMIT 0").description
                 if column not in kept and not _PANDAS_INDEX.fullmatch(column)]
        if extra:
            ignored[name] = extra
    times = [f"SELECT min({c}) AS low, max({c}) AS high FROM {name}" for name in (*ACTIVITY_TABLES, "card_bindings")
             if name in log.columns for c in TABLES[name].time_columns if c in log.columns[name]]
    low, high = log.row(f"SELECT min(low), max(high) FROM ({' UNION ALL '.join(times)})") if times else (None, None)
    received = [f"SELECT receiver_id FROM {name}" for name in ("red_packet_claims", "transfers")
                if log.has(name, "receiver_id")]

    def distinct(sql: str) -> int:
        return int(log.scalar(f"SELECT count(DISTINCT v) FROM ({sql}) AS t(v)"))

    return {
        "ignored_columns": ignored,
        "rows": {name: int(log.scalar(f"SELECT count(*) FROM {name}")) for name in present},
        "start": None if low is None else low.isoformat(),
        "end": None if high is None else high.isoformat(),
        "users": distinct("SELECT user_id FROM users") if log.has("users", "user_id") else 0,
        "receivers": distinct(" UNION ALL ".join(received)) if received else 0,
        "payers": distinct("SELECT user_id FROM payments") if log.has("payments", "user_id") else 0,
    }
