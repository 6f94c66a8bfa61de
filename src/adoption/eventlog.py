"""The event log: the one data structure every analysis in ``adoption`` reads.

An :class:`EventLog` holds the contract's tables as pandas DataFrames (see :mod:`adoption.contract`
and ``data/README.md``). The simulator writes one; :func:`read_eventlog` reads one from a folder of
Parquet or CSV files; every analysis takes one. Reading never modifies the input files.

Types after reading: ids and money are ``int64`` (nullable ``Int64`` for optional id columns),
timestamps are naive ``datetime64[ns]`` in China Standard Time (tz-aware input is converted,
naive input is taken as CST), text is ``string``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from adoption.contract import ACTIVITY_TABLES, CST_OFFSET, TABLES, ColumnSpec, TableSpec
from adoption.errors import InputError, InvalidEventLog, UsageError
from adoption.validation import Problem, ValidationReport, validate_tables

__all__ = ["EventLog", "coerce_table", "coerce_tables", "log_writer", "read_eventlog", "read_tables"]

META_FILE = "meta.json"
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


@dataclass(eq=False)
class EventLog:
    """The contract's tables, typed and ready for analysis.

    Parameters
    ----------
    users : DataFrame
        One row per user: ``user_id``, ``joined_at`` (``city``, ``left_at`` optional).
    merchants, friendships, groups, group_members, red_packets, red_packet_claims, transfers, \
card_bindings, payments, scans, messages : DataFrame, optional
        The other contract tables; any may be absent (None).
    meta : dict, optional
        Free-form facts about the log: ``window_start`` and ``window_end`` (the observation window,
        ISO timestamps), ``source``, ``scenario``, ``seed``.

    Raises
    ------
    InvalidEventLog
        If a table misses a required column or a value cannot be coerced to the contract's type.
        Rule checks (keys, amounts, order of events) are run by :meth:`validate`.

    Examples
    --------
    >>> import pandas as pd
    >>> log = EventLog(
    ...     users=pd.DataFrame({"user_id": [1, 2], "joined_at": ["2014-01-01", "2014-01-02"]}),
    ...     transfers=pd.DataFrame({"transfer_id": [10], "sender_id": [1], "receiver_id": [2],
    ...                             "sent_at": ["2014-01-05 12:00"], "amount_cents": [500]}),
    ... )
    >>> log.transfers.dtypes["sent_at"]
    dtype('<M8[ns]')
    >>> log.validate().ok
    True
    """

    users: pd.DataFrame
    merchants: pd.DataFrame | None = None
    friendships: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    group_members: pd.DataFrame | None = None
    red_packets: pd.DataFrame | None = None
    red_packet_claims: pd.DataFrame | None = None
    transfers: pd.DataFrame | None = None
    card_bindings: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    scans: pd.DataFrame | None = None
    messages: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raw = {name: df for name, df in self._iter_fields() if df is not None}
        coerced, problems = coerce_tables(raw)
        if problems:
            raise InvalidEventLog(problems)
        for name, df in coerced.items():
            setattr(self, name, df)

    def _iter_fields(self) -> Iterator[tuple[str, pd.DataFrame | None]]:
        for f in fields(self):
            if f.name in TABLES:
                yield f.name, getattr(self, f.name)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables that are present, by name, in contract order."""
        return {name: df for name, df in self._iter_fields() if df is not None}

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={len(df):,}" for name, df in self.tables.items())
        return f"EventLog({parts})"

    # ------------------------------------------------------------------ time
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Earliest and latest timestamp of the activity tables (and card bindings)."""
        lows, highs = [], []
        for name, df in self.tables.items():
            if name not in (*ACTIVITY_TABLES, "card_bindings"):
                continue
            for col in TABLES[name].time_columns:
                if col in df and df[col].notna().any():
                    lows.append(df[col].min())
                    highs.append(df[col].max())
        if not lows:
            return None
        return min(lows), max(highs)

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The observation window ``(start, end)``.

        Taken from ``meta['window_start']``/``meta['window_end']`` when the log carries them (the
        simulator writes them); otherwise from the earliest and latest event, with the end at the close
        of the day of the last event.
        """
        span = self.time_span()
        start = self.meta.get("window_start")
        end = self.meta.get("window_end")
        if span is None and (start is None or end is None):
            raise InputError("event log has no timestamped events, so it has no observation window")
        start_ts = pd.Timestamp(start) if start is not None else span[0].normalize()
        end_ts = pd.Timestamp(end) if end is not None else span[1].normalize() + pd.Timedelta(days=1)
        return start_ts, end_ts

    # ------------------------------------------------------------ validation
    def validate(self) -> ValidationReport:
        """Check every rule of the contract; return all problems found (never raises for bad data).

        Examples
        --------
        >>> import pandas as pd
        >>> log = EventLog(
        ...     users=pd.DataFrame({"user_id": [1, 1], "joined_at": ["2014-01-01"] * 2}),
        ...     payments=pd.DataFrame({"payment_id": [5], "user_id": [1], "merchant_id": [9],
        ...                            "paid_at": ["2014-02-01"], "amount_cents": [0]}),
        ... )
        >>> for line in log.validate().lines():
        ...     print(line)
        users.user_id: 2 rows not unique (examples: user_id=1, user_id=1)
        payments.amount_cents: 1 row must be > 0 (examples: payment_id=5)
        """
        return ValidationReport(validate_tables(self.tables))

    def check(self) -> EventLog:
        """Raise :class:`InvalidEventLog` if any rule is broken; return ``self`` otherwise."""
        report = self.validate()
        if not report.ok:
            raise InvalidEventLog(report.problems)
        return self

    def summary(self) -> dict[str, Any]:
        """Rows per table, time span, and counts of users, receivers and payers.

        Receivers are users who claimed a red packet or received a transfer; payers are users with a
        payment to a merchant.
        """
        span = self.time_span()
        receivers = set()
        if self.red_packet_claims is not None:
            receivers.update(self.red_packet_claims["receiver_id"].unique().tolist())
        if self.transfers is not None:
            receivers.update(self.transfers["receiver_id"].unique().tolist())
        payers = self.payments["user_id"].nunique() if self.payments is not None else 0
        return {
            "rows": {name: len(df) for name, df in self.tables.items()},
            "start": None if span is None else span[0].isoformat(),
            "end": None if span is None else span[1].isoformat(),
            "users": int(self.users["user_id"].nunique()),
            "receivers": len(receivers),
            "payers": int(payers),
        }

    # ----------------------------------------------------------------- write
    def write(self, path: str | os.PathLike[str], *, overwrite: bool = False,
              format: Literal["parquet", "csv"] = "parquet") -> Path:
        """Write the log to a folder, atomically.

        The tables are written into a temporary folder beside ``path`` which is then renamed, so a
        reader never sees a half-written log.

        Parameters
        ----------
        path : path-like
            Destination folder.
        overwrite : bool, default False
            Replace an existing folder. Without it an existing ``path`` is an error.
        format : {"parquet", "csv"}
            File format of the tables.

        Returns
        -------
        Path
            The folder written.

        Examples
        --------
        >>> import pandas as pd, tempfile, pathlib
        >>> log = EventLog(users=pd.DataFrame({"user_id": [1], "joined_at": ["2014-01-01"]}))
        >>> out = log.write(pathlib.Path(tempfile.mkdtemp()) / "log")
        >>> sorted(p.name for p in out.iterdir())
        ['users.parquet']
        """
        with log_writer(path, overwrite=overwrite, format=format) as write_table:
            for name, df in self.tables.items():
                write_table(name, df)
            if self.meta:
                write_table(META_FILE, self.meta)
        return Path(path)


@contextmanager
def log_writer(path: str | os.PathLike[str], *, overwrite: bool = False,
               format: Literal["parquet", "csv"] = "parquet") -> Iterator[Callable[[str, Any], None]]:
    """Write a log folder table by table, atomically: a temporary folder, renamed on success.

    Yields a function ``write_table(name, frame)`` (or ``write_table("meta.json", dict)``), so that big
    logs can be written one table at a time without holding all of them in memory. On any error the
    temporary folder is removed and an existing folder at ``path`` is left as it was.
    """
    if format not in ("parquet", "csv"):
        raise UsageError(f"format: expected 'parquet' or 'csv', got {format!r}")
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise InputError(f"{dest}: already exists; refusing to overwrite an event log (pass overwrite=True)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()

    def write_table(name: str, data: Any) -> None:
        if name == META_FILE:
            (tmp / META_FILE).write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        elif format == "parquet":
            pq.write_table(pa.Table.from_pandas(data, preserve_index=False), tmp / f"{name}.parquet",
                           compression="zstd")
        else:
            data.to_csv(tmp / f"{name}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S.%f")

    try:
        yield write_table
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------- reading
def _table_sources(folder: Path) -> dict[str, Path]:
    sources: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        stem, suffix = entry.stem, entry.suffix.lower()
        if entry.is_dir() and entry.name in TABLES:
            name = entry.name
        elif suffix in (".parquet", ".pq", ".csv") and stem in TABLES:
            name = stem
        else:
            continue
        if name in sources:
            raise InputError(f"{name}: found both {sources[name].name} and {entry.name} in {folder}; keep one")
        sources[name] = entry
    return sources


def _read_one(name: str, source: Path) -> pd.DataFrame:
    spec = TABLES[name]
    try:
        if source.is_dir():
            parts = sorted(source.glob("*.parquet"))
            if not parts:
                raise InputError(f"{name}: folder {source} holds no .parquet files")
            return pads.dataset(parts, format="parquet").to_table().to_pandas()
        if source.suffix.lower() == ".csv":
            text_cols = {c.name: "string" for c in spec.columns}
            return pd.read_csv(source, dtype=text_cols, keep_default_na=True, na_values=[""])
        return pq.read_table(source).to_pandas()
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: {source.name} is empty (expected a header row with {', '.join(spec.required_columns)})") from None
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise InputError(f"{name}: {source.name} is not a readable Parquet file ({_first_line(exc)})") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = getattr(exc, "strerror", None) or _first_line(exc)
        if isinstance(exc, FileNotFoundError) or not source.exists():
            reason = "file not found or a broken link"
        raise InputError(f"{name}: cannot read {source.name} ({reason})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def read_tables(path: str | os.PathLike[str]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read the raw tables of a log folder, untyped, and its ``meta.json``.

    Raises :class:`~adoption.errors.InputError` for anything that is not readable as a log folder.
    """
    folder = Path(path)
    if not folder.exists():
        raise UsageError(f"{folder}: no such folder (expected a folder of Parquet or CSV tables)")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder (expected a folder of Parquet or CSV tables)")
    try:
        sources = _table_sources(folder)
    except PermissionError:
        raise InputError(f"{folder}: folder cannot be read (permission denied)") from None
    if not sources:
        names = ", ".join(TABLES)
        raise InputError(f"{folder}: no event-log tables found (expected files named <table>.parquet or <table>.csv for tables {names})")
    raw = {name: _read_one(name, src) for name, src in sources.items()}
    meta: dict[str, Any] = {}
    meta_path = folder / META_FILE
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{META_FILE}: not valid JSON ({_first_line(exc)})") from None
        if not isinstance(meta, dict):
            raise InputError(f"{META_FILE}: expected a JSON object")
    return raw, meta


def read_eventlog(path: str | os.PathLike[str], *, validate: bool = True) -> EventLog:
    """Read an event log from a folder of Parquet or CSV files.

    Each table is a file ``<table>.parquet`` (or a folder ``<table>/`` of Parquet parts) or
    ``<table>.csv``; any subset of the optional tables may be present. An optional ``meta.json`` gives
    the observation window.

    Parameters
    ----------
    path : path-like
        The folder.
    validate : bool, default True
        Check every contract rule and raise if any is broken. Column presence and types are always
        checked.

    Returns
    -------
    EventLog

    Raises
    ------
    InvalidEventLog
        With every problem found, each naming the table, the column, the number of rows and examples.
    InputError
        If the folder or a file cannot be read as a log at all.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "log"
    >>> _ = EventLog(
    ...     users=pd.DataFrame({"user_id": [1, 2], "joined_at": ["2014-01-01", "2014-01-02"]}),
    ...     transfers=pd.DataFrame({"transfer_id": [10], "sender_id": [1], "receiver_id": [2],
    ...                             "sent_at": ["2014-01-05 12:00"], "amount_cents": [500]}),
    ... ).write(folder)
    >>> read_eventlog(folder).users["user_id"].dtype
    dtype('int64')
    """
    raw, meta = read_tables(path)
    tables, problems = coerce_tables(raw)
    if validate:
        problems = problems + validate_tables(tables)
    if problems:
        raise InvalidEventLog(problems)
    return EventLog(**tables, meta=meta)


# --------------------------------------------------------------------- coercion
def coerce_tables(raw: Mapping[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Bring raw tables to the contract's column types.

    Values that cannot be coerced become missing and are reported; missing required tables and
    columns are reported. Returns the coerced tables and the problems. Unknown columns are kept.
    """
    problems: list[Problem] = []
    out: dict[str, pd.DataFrame] = {}
    for name in raw:
        if name not in TABLES:
            raise UsageError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    if "users" not in raw:
        problems.append(Problem("users", None, "missing", 0, (), "required table is missing"))
    for name in TABLES:
        if name not in raw:
            continue
        df, table_problems = coerce_table(name, raw[name])
        out[name] = df
        problems.extend(table_problems)
    return out, problems


def coerce_table(name: str, df: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Bring one table to the contract's column types; returns it and its problems.

    Examples
    --------
    >>> typed, problems = coerce_table("users", pd.DataFrame({"user_id": ["1"], "joined_at": ["2014-01-01"]}))
    >>> typed["user_id"].dtype, problems
    (dtype('int64'), [])
    """
    if name not in TABLES:
        raise UsageError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    spec = TABLES[name]
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"{spec.name}: expected a pandas DataFrame, got {type(df).__name__}")
    problems: list[Problem] = []
    missing = [c for c in spec.required_columns if c not in df.columns]
    for col in missing:
        problems.append(Problem(spec.name, col, "missing", len(df), (), "required column is missing"))
    result = df.copy(deep=False)
    if not isinstance(result.index, pd.RangeIndex):
        result = result.reset_index(drop=True)
    for col in spec.columns:
        if col.name not in result.columns:
            continue
        original = result[col.name]
        series, problem = _coerce_column(spec, col, original)
        if series is not original:  # assigning an unchanged column would copy the table
            result[col.name] = series
        if problem is not None:
            problems.append(problem)
    ordered = [c for c in spec.column_names if c in result.columns]
    extra = [c for c in result.columns if c not in ordered]
    if list(result.columns) != ordered + extra:
        result = result[ordered + extra]
    return result, problems


def _examples_of(values: pd.Series, limit: int = 5) -> tuple[str, ...]:
    return tuple(repr(v) if isinstance(v, str) else str(v) for v in values.head(limit).tolist())


def _coerce_column(spec: TableSpec, col: ColumnSpec, s: pd.Series) -> tuple[pd.Series, Problem | None]:
    was_missing = s.isna()
    if col.kind == "time":
        out, bad = _coerce_time(s)
        expected = "a timestamp (e.g. 2015-02-18 20:00:00)"
    elif col.kind == "text":
        out = s if isinstance(s.dtype, pd.StringDtype) else s.astype("string")
        return out, _missing_problem(spec, col, was_missing)
    else:
        out, bad = _coerce_integer(s)
        expected = {"id": "an integer id", "cents": "whole cents (an integer)", "count": "an integer"}[col.kind]
    bad = bad & ~was_missing
    if bad.any():
        examples = _examples_of(s[bad])
        return out, Problem(spec.name, col.name, "type", int(bad.sum()), examples,
                            f"expected {expected}", examples_are_values=True)
    if col.kind != "time":
        dtype = "int64" if not out.isna().any() and not col.nullable else "Int64"
        out = out if out.dtype == dtype else out.astype(dtype)
    return out, _missing_problem(spec, col, was_missing)


def _missing_problem(spec: TableSpec, col: ColumnSpec, was_missing: pd.Series) -> Problem | None:
    if col.nullable or not was_missing.any():
        return None
    rows = np.flatnonzero(was_missing.to_numpy())
    return Problem(spec.name, col.name, "missing", int(was_missing.sum()),
                   tuple(f"row {r + 1}" for r in rows[:5]), "required value is missing", examples_are_values=True)


def _coerce_integer(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s, pd.Series(False, index=s.index)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.Series(pd.NA, index=s.index, dtype="Int64"), s.notna()
    num = pd.to_numeric(s.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(s.dtype) else s,
                        errors="coerce")
    num = num.astype("float64")
    finite = np.isfinite(num.to_numpy(na_value=np.nan))
    integral = finite & (np.mod(num.to_numpy(na_value=np.nan), 1.0) == 0) & (np.abs(num.to_numpy(na_value=np.nan)) < 2**62)
    bad = pd.Series(~integral, index=s.index)
    values = pd.array(np.where(integral, num.to_numpy(na_value=0.0), 0).astype("int64"), dtype="Int64")
    out = pd.Series(values, index=s.index)
    out[~integral] = pd.NA
    return out, bad


def _coerce_time(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert(CST_OFFSET).dt.tz_localize(None).astype("datetime64[ns]")
        return out, pd.Series(False, index=s.index)
    if pd.api.types.is_datetime64_dtype(dtype):
        out = s if s.dtype == np.dtype("datetime64[ns]") else s.astype("datetime64[ns]")
        return out, pd.Series(False, index=s.index)
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), s.notna()
    text = s.astype("string").str.strip()
    aware = text.str.contains(_TZ_SUFFIX, na=False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if (~aware).any():
        out[~aware] = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601").astype("datetime64[ns]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], errors="coerce", format="ISO8601", utc=True)
        out[aware] = parsed.dt.tz_convert(CST_OFFSET).dt.tz_localize(None).astype("datetime64[ns]")
    bad = out.isna() & s.notna()
    return out, bad
