"""The event log: the one data structure every analysis in ``adoption`` reads.

An :class:`EventLog` holds the contract's tables as pandas DataFrames (see :mod:`adoption.log.contract`
and ``data/README.md``). The simulator writes one; :func:`read_eventlog` reads one from a folder of
Parquet or CSV files; every analysis takes one. Reading never modifies the input files.

Types after reading: ids and money are ``int64`` (nullable ``Int64`` for optional id columns),
timestamps are naive ``datetime64[ns]`` in China Standard Time (tz-aware input is converted,
naive input is taken as CST), text is ``string``.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import shutil
import uuid
import warnings
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

from adoption.errors import InputError, InvalidEventLog, UsageError
from adoption.log.checked import check_once
from adoption.log.contract import (
    ACTIVITY_TABLES,
    AMOUNT_UNITS,
    CST_OFFSET,
    ID_SPACES,
    INTEGER_ID_PATTERN,
    TABLES,
    TIME_RANGE,
    ColumnSpec,
    TableSpec,
    id_columns,
)
from adoption.log.validation import (
    Problem,
    ValidationReport,
    csv_line_refusal,
    missing_column,
    validate_meta,
    validate_tables,
)
from adoption.processes import process_alive

__all__ = ["MEMORY_PER_ROW", "META_FILE", "TRUTH_FILE", "AmountUnitWarning", "EventLog", "canonical_columns",
           "check_destination", "coerce_table", "coerce_tables", "decode_ids", "encode_ids", "log_writer",
           "memory_needed", "parquet_options", "read_eventlog", "read_tables", "read_truth", "table_parts", "table_sources"]

META_FILE = "meta.json"
#: A simulator's ground truth beside the log (optional; never read by validation).
TRUTH_FILE = "truth.json"


@dataclass(eq=False)
class EventLog:
    """The contract's tables, typed and ready for analysis.

    Parameters
    ----------
    users : DataFrame
        One row per user: ``user_id``, ``joined_at`` (``city``, ``left_at`` optional).
    merchants, friendships, groups, group_members, red_packets, red_packet_claims, transfers, \
card_bindings, payments, scans, messages, adoptions : DataFrame, optional
        The other contract tables; any may be absent (None). ``adoptions`` records adoption itself (a
        survey's time of adoption) for logs that have no payments.
    meta : dict, optional
        Free-form facts about the log: ``window_start`` and ``window_end`` (the observation window,
        ISO timestamps), ``source``, ``scenario``, ``seed``.
    truth : dict, optional
        What the log's maker knows and an analysis can only estimate (a simulator's ``truth.json``: the
        effect of receiving measured by a randomized holdout). Empty for a real log.
    labels : dict of str to Index, optional
        For id spaces given as text (UUIDs, account numbers), the user's ids in code order: the
        tables hold dense int64 codes and ``labels["user"][code]`` is the id as the user wrote it
        (see :meth:`ids`). Filled in when text ids are passed.

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
    adoptions: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, pd.Index] = field(default_factory=dict, repr=False)
    truth: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        raw = {name: df for name, df in self._iter_fields() if df is not None}
        coerced, problems = coerce_tables(raw)
        if problems:
            raise InvalidEventLog(problems)
        coerced, labels = encode_ids(coerced)
        self.labels = {**self.labels, **labels}
        for name, df in coerced.items():
            setattr(self, name, df)

    def ids(self, space: str, codes: Any) -> Any:
        """The user's own ids for ``codes`` of an id space (``user``, ``merchant`` ...).

        Integer id spaces are returned unchanged; text id spaces are looked up in :attr:`labels`.

        Examples
        --------
        >>> import pandas as pd
        >>> log = EventLog(users=pd.DataFrame({"user_id": ["b7", "a3"], "joined_at": ["2014-01-01"] * 2}))
        >>> log.users["user_id"].tolist(), list(log.ids("user", log.users["user_id"]))
        ([1, 0], ['b7', 'a3'])
        """
        index = self.labels.get(space)
        if index is None:
            return codes
        return index.take(np.asarray(codes, dtype="int64"))

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
        users.user_id: 2 rows not unique (examples: user_id=1)
        payments.amount_cents: 1 row must be > 0 (examples: payment_id=5)
        """
        return ValidationReport(validate_tables(self.tables, labels=self.labels) + validate_meta(self.meta))

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
        unknown = {name: [str(c) for c in df.columns if c not in TABLES[name].column_names]
                   for name, df in self.tables.items()}
        return {
            "ignored_columns": {name: cols for name, cols in unknown.items() if cols},
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
        tables = decode_ids(self.tables, self.labels) if self.labels else self.tables
        with log_writer(path, overwrite=overwrite, format=format) as write_table:
            for name, df in tables.items():
                write_table(name, df)
            if self.meta:
                write_table(META_FILE, self.meta)
            if self.truth:
                write_table(TRUTH_FILE, self.truth)
        return Path(path)


#: A part of a table written in parts: a plain file name (no path, no dots).
_PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How the log writer stores a table of this Arrow ``schema`` in Parquet: the keyword arguments it gives
    :func:`pyarrow.parquet.write_table`.

    Text columns (cities, kinds, channels) go into dictionary pages; integer and time columns (ids, times,
    amounts: nearly all distinct, where a dictionary only costs time and space) are stored as differences
    from row to row (``DELTA_BINARY_PACKED``); every page is zstd-compressed. Ids written in order and times
    that mostly grow take a few bits a row that way: against plain 8-byte values, the ten-million-user log
    is 10% smaller (3.0 against 3.3 GB), a 1M-user log's tables are written in 55% of the CPU time and read
    in half, and checking the claims against their packets takes 12.8 against 21-24 CPU s
    (``benchmarks/parquet_encoding.py``, figures in benchmarks/README.md).

    Examples
    --------
    >>> schema = pa.schema([("user_id", pa.int64()), ("city", pa.string()), ("at", pa.timestamp("ns")),
    ...                     ("share", pa.float64())])
    >>> parquet_options(schema)  # doctest: +NORMALIZE_WHITESPACE
    {'compression': 'zstd', 'use_dictionary': ['city'],
     'column_encoding': {'user_id': 'DELTA_BINARY_PACKED', 'at': 'DELTA_BINARY_PACKED'}}
    """
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or pa.types.is_dictionary(f.type)]
    numbers = {f.name: "DELTA_BINARY_PACKED" for f in schema
               if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)}
    return {"compression": "zstd", "use_dictionary": text, "column_encoding": numbers}


@contextmanager
def log_writer(path: str | os.PathLike[str], *, overwrite: bool = False,
               format: Literal["parquet", "csv"] = "parquet") -> Iterator[Callable[..., None]]:
    """Write a log folder table by table, atomically: a temporary folder, published on success.

    Yields a function ``write_table(name, frame)`` (or ``write_table("meta.json", dict)``), so that big
    logs can be written one table at a time without holding all of them in memory. With Parquet,
    ``write_table(name, frame, part="2014-01")`` writes one part of a table into the folder ``<name>/``
    (``<name>/2014-01.parquet``): every reader reads such a folder as one table, its parts in name order.

    The tables go into a hidden temporary folder beside ``path`` (named with this process's id, so that a
    later run removes what a killed run left). Publishing is one atomic step: without ``overwrite`` it
    refuses, removing nothing, when ``path`` appeared meanwhile (another run, another program); with
    ``overwrite`` it swaps the new log with an existing *log folder* and only then removes the old one.
    A file, or a folder that is not an event log, is never replaced. On any error or interruption the
    temporary folder is removed and whatever is at ``path`` is left as it was.
    """
    if format not in ("parquet", "csv"):
        raise UsageError(f"format: expected 'parquet' or 'csv', got {format!r}")
    dest = Path(path)
    check_destination(dest, overwrite)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{dest.parent}: is a file, not a folder (cannot write the log inside it)") from None
    remove_stale_temporaries(dest)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()

    def write_table(name: str, data: Any, part: str | None = None) -> None:
        if name in (META_FILE, TRUTH_FILE):
            (tmp / name).write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        elif format == "parquet":
            table = pa.Table.from_pandas(data, preserve_index=False)
            if part is None:
                target = tmp / f"{name}.parquet"
            else:
                if not _PART_NAME.fullmatch(part):
                    raise ValueError(f"part: expected a name of letters, digits and '-', got {part!r}")
                (tmp / name).mkdir(exist_ok=True)
                target = tmp / name / f"{part}.parquet"
            pq.write_table(table, target, **parquet_options(table.schema))
        elif part is not None:
            raise UsageError("format: a table in parts needs Parquet (a CSV log is one file per table)")
        else:
            data.to_csv(tmp / f"{name}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S.%f")

    try:
        yield write_table
        _publish(tmp, dest, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _is_log_folder(folder: Path) -> bool:
    """A folder that holds only event-log tables and meta.json (what ``overwrite`` may replace)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    names = {e.stem if e.is_file() else e.name for e in entries}
    return bool(entries) and names <= {*TABLES, Path(META_FILE).stem, Path(TRUTH_FILE).stem}


def check_destination(dest: Path, overwrite: bool) -> None:
    """Refuse a destination that is a file, or an existing folder (without ``overwrite``, or not a log)."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise InputError(f"{dest}: exists and is not a folder; refusing to replace it (choose a new folder)")
    if dest.exists() and not overwrite:
        raise InputError(f"{dest}: already exists; refusing to overwrite an event log (pass overwrite=True)")
    if dest.exists() and not _is_log_folder(dest):
        raise InputError(f"{dest}: exists and holds files that are not event-log tables; refusing to replace it")


def remove_stale_temporaries(dest: Path) -> list[Path]:
    """Remove the temporary folders that killed writers of ``dest`` left behind; return them.

    A temporary folder is named ``.<name>.tmp-<pid>-<random>``; it is stale when no process with that
    id is running.
    """
    removed = []
    for tmp in dest.parent.glob(f".{glob.escape(dest.name)}.tmp-*"):
        pid_text = tmp.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
        if not pid_text.isdigit() or process_alive(int(pid_text)):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Linux renameat2(2); False when the system has none (then the caller falls back)."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    at_fdcwd = -100
    if func(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _publish(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move the finished temporary folder to ``dest`` in one atomic step (see :func:`log_writer`)."""
    import errno

    try:
        if overwrite and dest.exists():
            check_destination(dest, overwrite)
            if _renameat2(tmp, dest, _RENAME_EXCHANGE):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old log
                return
            old = dest.parent / f".{dest.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
            return
        if _renameat2(tmp, dest, _RENAME_NOREPLACE):
            return
        if dest.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(dest))
        tmp.rename(dest)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise InputError(f"{dest}: appeared while this run was writing (another run?); nothing was "
                             "replaced and this run's log was discarded") from None
        raise


# ---------------------------------------------------------------------- reading
def table_sources(folder: Path) -> dict[str, Path]:
    """Each table's file in a log folder (``<table>.parquet``, ``.pq`` or ``.csv``), or its folder of Parquet
    parts (:func:`table_parts`), by table name: what both engines read. Other files are not the log's; a
    table given twice is refused (InputError).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("users.csv", "payments/part-0.parquet", "notes.txt"):
    ...     (folder / name).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (folder / name).write_bytes(b"")
    >>> {name: path.name for name, path in table_sources(folder).items()}
    {'payments': 'payments', 'users': 'users.csv'}
    """
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


def table_parts(folder: Path) -> list[Path]:
    """The Parquet files of a table written as a folder (``payments/``), in its subfolders too (a partitioned
    export's ``payments/month=2014-01/part-0.parquet``), in order of their paths: what both engines read.
    A folder without any is refused (InputError).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "payments"
    >>> for part in ("2014-02.parquet", "month=2014-01/part-0.parquet", "notes.txt"):
    ...     (folder / part).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (folder / part).write_bytes(b"")
    >>> [str(part.relative_to(folder)) for part in table_parts(folder)]
    ['2014-02.parquet', 'month=2014-01/part-0.parquet']
    """
    parts = sorted(folder.rglob("*.parquet"))
    if not parts:
        raise InputError(f"{folder.name}: folder {folder} holds no .parquet files")
    return parts


#: Bytes of memory a row of a log (any table's) takes at the peak of reading it into pandas, checking it and
#: analysing it: ``adoption activation`` on a simulated 500,000-user log peaked at 4.42 GB for its 14.8
#: million rows (2026-11-27).
MEMORY_PER_ROW = 300
#: The bytes of a CSV file counted as one row when a log's size is estimated (its rows are not counted).
CSV_BYTES_PER_ROW = 50


def memory_needed(path: str | os.PathLike[str]) -> int | None:
    """About how many bytes reading the log at ``path`` into pandas and analysing it takes at its peak: its
    rows (from the Parquet files' footers, or a CSV file's size) times :data:`MEMORY_PER_ROW`, without
    reading the tables. None where the folder is not a log that can be sized so (its reading then says why).

    Examples
    --------
    >>> from adoption.datasets.example import example_path
    >>> 0 < memory_needed(example_path()) < 2**30
    True
    """
    try:
        sources = table_sources(Path(path))
        rows = 0
        for source in sources.values():
            for part in (table_parts(source) if source.is_dir() else [source]):
                if part.suffix.lower() == ".csv":
                    rows += part.stat().st_size // CSV_BYTES_PER_ROW
                else:
                    rows += pq.ParquetFile(part).metadata.num_rows
    except (OSError, InputError, pa.ArrowException):
        return None
    return rows * MEMORY_PER_ROW


def read_table_file(name: str, source: Path) -> pd.DataFrame:
    """Read one table's file (or folder of Parquet parts) untyped; one-line InputError if unreadable."""
    spec = TABLES[name]
    try:
        if source.is_dir():
            return pads.dataset(table_parts(source), format="parquet").to_table().to_pandas()
        if source.suffix.lower() == ".csv":
            frame = pd.read_csv(source, dtype="string", keep_default_na=True, na_values=[""])
            # pandas fills a short row's missing fields, always the last column among them: only then look
            if len(frame.columns) > 1 and frame.iloc[:, -1].isna().any():
                _refuse_short_rows(name, source, len(frame.columns))
            return frame
        return pq.read_table(source).to_pandas()
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: {source.name} is empty (expected a header row with {', '.join(spec.required_columns)})") from None
    except (pa.ArrowInvalid, pa.ArrowException):
        raise InputError(f"{name}: {source.name} is not a readable Parquet file (damaged, or not Parquet)") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: cannot read {source.name} (not UTF-8 text)") from None
    except (OSError, pd.errors.ParserError) as exc:
        reason = getattr(exc, "strerror", None) or _first_line(exc)
        if isinstance(exc, FileNotFoundError) or not source.exists():
            reason = "file not found or a broken link"
        raise InputError(f"{name}: cannot read {source.name} ({reason})") from None


def _refuse_short_rows(name: str, source: Path, fields: int) -> None:
    """A one-line InputError for the first row of a CSV file with fewer fields than its header, as the DuckDB
    engine refuses it (pandas would read the missing fields as missing values).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "transfers.csv"
    >>> _ = path.write_text('transfer_id,amount\\n1,"a\\nb"\\n2\\n')
    >>> _refuse_short_rows("transfers", path, 2)
    Traceback (most recent call last):
    adoption.errors.InputError: transfers: cannot read transfers.csv (line 4: expected 2 fields, found 1)
    """
    with source.open(newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file)
        try:
            next(rows, None)
            start = rows.line_num + 1
            for row in rows:
                if len(row) < fields and row:
                    raise InputError(csv_line_refusal(name, source.name, start, expected=fields, found=len(row)))
                start = rows.line_num + 1
        except csv.Error:  # (a field beyond the csv module's size limit, which pandas read: nothing to say)
            return


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
        sources = table_sources(folder)
    except PermissionError:
        raise InputError(f"{folder}: folder cannot be read (permission denied)") from None
    if not sources:
        names = ", ".join(TABLES)
        raise InputError(f"{folder}: no event-log tables found (expected files named <table>.parquet or <table>.csv for tables {names})")
    raw = {name: read_table_file(name, src) for name, src in sources.items()}
    return raw, _json_object(folder, META_FILE)


def read_eventlog(path: str | os.PathLike[str], *, validate: bool = True, amount_unit: str = "cents",
                  recheck: bool = False) -> EventLog:
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
        checked. Files that passed every rule before, unchanged since, are not checked again
        (:mod:`adoption.log.checked`).
    amount_unit : {"cents", "yuan"}, default "cents"
        The unit of the money columns in the files; yuan are converted to whole cents.
    recheck : bool, default False
        Check every rule even where these files passed them before.

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
    tables, problems = coerce_tables(raw, amount_unit=amount_unit, warn_units=amount_unit == "cents")
    tables, labels = encode_ids(tables)
    if validate:  # (not again on files that passed before: adoption.log.checked)
        found = check_once(path, {"amount_unit": amount_unit}, recheck=recheck,
                           check=lambda: problems + validate_tables(tables, labels=labels) + validate_meta(meta))
        problems = problems if found is None else found
    if problems:
        raise InvalidEventLog(problems)
    return EventLog(**tables, meta=meta, labels=labels, truth=read_truth(path))


def read_truth(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``truth.json`` beside a log (a simulator's ground truth), or an empty dict when there is none.

    Raises
    ------
    InputError
        When the file is there but is not a JSON object.
    """
    return _json_object(Path(path), TRUTH_FILE)


def _json_object(folder: Path, name: str) -> dict[str, Any]:
    """The JSON object in ``folder / name``; empty when there is no such file; one line when it is not one."""
    file = folder / name
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{name}: not valid JSON ({_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise InputError(f"{name}: expected a JSON object")
    return data


# --------------------------------------------------------------------- coercion
class AmountUnitWarning(UserWarning):
    """Money columns that look like they hold yuan where the contract expects cents (or the reverse)."""


def canonical_columns(name: str, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Match headers to the contract case-insensitively, with surrounding spaces trimmed.

    Returns the frame with contract columns renamed to their contract names and the names of the
    columns that are not in the contract (kept, ignored by every analysis).

    Examples
    --------
    >>> df, unknown = canonical_columns("users", pd.DataFrame(columns=[" USER_ID", "Joined_At", "note"]))
    >>> list(df.columns), unknown
    (['user_id', 'joined_at', 'note'], ['note'])
    """
    spec = TABLES[name]
    wanted = {c.lower(): c for c in spec.column_names}
    rename: dict[Any, str] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for col in df.columns:
        key = str(col).strip().lower()
        target = wanted.get(key)
        if target is None or target in seen:
            unknown.append(str(col))
            continue
        seen.add(target)
        if col != target:
            rename[col] = target
    return (df.rename(columns=rename) if rename else df), unknown


def coerce_tables(raw: Mapping[str, pd.DataFrame], *, amount_unit: str = "cents", warn_units: bool = False
                  ) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Bring raw tables to the contract's column types.

    Headers are matched case-insensitively. Values that cannot be coerced become missing and are
    reported; missing required tables and columns are reported. Ids stay integers when every id of
    their space (users, merchants, ...) is an integer; otherwise the whole space is text (see
    :func:`encode_ids`). Returns the coerced tables and the problems. Unknown columns are kept.
    With ``warn_units``, money columns that look like yuan raise an :class:`AmountUnitWarning`.
    """
    if amount_unit not in AMOUNT_UNITS:
        raise UsageError(f"amount_unit: expected one of {', '.join(AMOUNT_UNITS)}, got {amount_unit!r}")
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
        df, table_problems = coerce_table(name, raw[name], amount_unit=amount_unit, warn_units=warn_units)
        out[name] = df
        problems.extend(table_problems)
    _harmonize_id_spaces(out)
    return out, problems


def coerce_table(name: str, df: pd.DataFrame, *, amount_unit: str = "cents", warn_units: bool = False
                 ) -> tuple[pd.DataFrame, list[Problem]]:
    """Bring one table to the contract's column types; returns it and its problems.

    Examples
    --------
    >>> typed, problems = coerce_table("users", pd.DataFrame({"user_id": ["1"], "joined_at": ["2014-01-01"]}))
    >>> typed["user_id"].dtype, problems
    (dtype('int64'), [])
    >>> typed, _ = coerce_table("users", pd.DataFrame({"USER_ID": ["a7"], "joined_at": ["2014-01-01 08:00+00"]}))
    >>> typed["user_id"].tolist(), typed["joined_at"].tolist()
    (['a7'], [Timestamp('2014-01-01 16:00:00')])
    """
    if name not in TABLES:
        raise UsageError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    spec = TABLES[name]
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"{spec.name}: expected a pandas DataFrame, got {type(df).__name__}")
    df, _ = canonical_columns(name, df)
    problems: list[Problem] = [missing_column(spec.name, col, list(df.columns), len(df))
                               for col in spec.required_columns if col not in df.columns]
    result = df.copy(deep=False)
    if not isinstance(result.index, pd.RangeIndex):
        result = result.reset_index(drop=True)
    for col in spec.columns:
        if col.name not in result.columns:
            continue
        original = result[col.name]
        series, problem = _coerce_column(spec, col, original, amount_unit, warn_units)
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


def _coerce_column(spec: TableSpec, col: ColumnSpec, s: pd.Series, amount_unit: str = "cents",
                   warn_units: bool = False) -> tuple[pd.Series, Problem | None]:
    if _already_typed(col, s, amount_unit):
        if col.kind == "cents" and warn_units:
            _warn_if_yuan(spec, col, s)
        return s, None
    was_missing = s.isna()
    if col.kind == "time":
        out, bad, outside = _coerce_time(s)
        if outside.any():
            examples = _examples_of(s[outside])
            return out, Problem(spec.name, col.name, "type", int(outside.sum()), examples,
                                f"is outside the supported years {TIME_RANGE[0][:4]}-{TIME_RANGE[1][:4]}",
                                examples_are_values=True)
        expected = "a timestamp (e.g. 2015-02-18 20:00:00)"
    elif col.kind == "text":
        out = s if isinstance(s.dtype, pd.StringDtype) else s.astype("string")
        return out, _missing_problem(spec, col, was_missing)
    elif col.kind == "id":
        out, bad = _coerce_id(s)
        expected = "an id (an integer or a string)"
    else:
        if col.kind == "cents" and amount_unit == "yuan":
            out, bad = _coerce_yuan(s)
            expected = "an amount in yuan with at most two decimals"
        else:
            if col.kind == "cents" and warn_units:
                _warn_if_yuan(spec, col, s)
            out, bad = _coerce_integer(s)
            expected = {"cents": "whole cents (an integer)", "count": "an integer"}[col.kind]
    bad = bad & ~was_missing
    if bad.any():
        examples = _examples_of(s[bad])
        return out, Problem(spec.name, col.name, "type", int(bad.sum()), examples,
                            f"expected {expected}", examples_are_values=True)
    if col.kind != "time" and pd.api.types.is_integer_dtype(out.dtype):
        dtype = "int64" if not out.isna().any() and not col.nullable else "Int64"
        out = out if out.dtype == dtype else out.astype(dtype)
    return out, _missing_problem(spec, col, was_missing)


def _already_typed(col: ColumnSpec, s: pd.Series, amount_unit: str) -> bool:
    """Whether a column is already what coercion would make it, with nothing to report: the columns of
    tables read from Parquet or made by the simulator, checked in numpy instead of a dozen pandas steps."""
    if col.kind in ("id", "cents", "count"):
        # non-null integers: nullable columns become Int64 however few are missing
        return s.dtype == np.int64 and not col.nullable and not (col.kind == "cents" and amount_unit == "yuan")
    if col.kind == "time" and s.dtype == np.dtype("datetime64[ns]"):
        ticks = s.to_numpy().view(np.int64)
        missing = ticks == _NAT_TICKS
        inside = (ticks >= _NS_LOW.value) & (ticks < _NS_HIGH.value)
        return bool((inside | missing).all()) and (col.nullable or not missing.any())
    return False


def _missing_problem(spec: TableSpec, col: ColumnSpec, was_missing: pd.Series) -> Problem | None:
    if col.nullable or not was_missing.any():
        return None
    rows = np.flatnonzero(was_missing.to_numpy())
    return Problem(spec.name, col.name, "missing", int(was_missing.sum()),
                   tuple(f"row {r + 1}" for r in rows[:5]), "required value is missing", examples_are_values=True)


def _coerce_id(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integer ids stay integers; text ids that are all integers become integers; others stay text."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return s, pd.Series(False, index=s.index)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.Series(pd.NA, index=s.index, dtype="Int64"), s.notna()
    if pd.api.types.is_numeric_dtype(s.dtype):  # floats: integral values only (NaN is a missing id)
        return _coerce_integer(s)
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    if bool(text[present].str.fullmatch(INTEGER_ID_PATTERN).all()):
        return _coerce_integer(text)
    return text, pd.Series(False, index=s.index)


def _coerce_integer(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s, pd.Series(False, index=s.index)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.Series(pd.NA, index=s.index, dtype="Int64"), s.notna()
    num = pd.to_numeric(s.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(s.dtype) else s,
                        errors="coerce")
    num = num.astype("float64")
    values = num.to_numpy(na_value=np.nan)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        integral = finite & (np.mod(values, 1.0) == 0) & (np.abs(values) < 2**62)
    bad = pd.Series(~integral, index=s.index)
    out = pd.Series(pd.array(np.where(integral, values, 0).astype("int64"), dtype="Int64"), index=s.index)
    out[~integral] = pd.NA
    return out, bad


def _coerce_yuan(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts in yuan (``12.5``) to whole cents (``1250``); more than two decimals is a problem."""
    num = pd.to_numeric(s.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(s.dtype) else s,
                        errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    cents = np.round(num * 100.0)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (np.abs(num * 100.0 - cents) < 1e-6) & (np.abs(cents) < 2**62)
    out = pd.Series(pd.array(np.where(ok, cents, 0).astype("int64"), dtype="Int64"), index=s.index)
    out[~ok] = pd.NA
    return out, pd.Series(~ok, index=s.index)


def _warn_if_yuan(spec: TableSpec, col: ColumnSpec, s: pd.Series) -> None:
    """Warn when a cents column carries decimals or holds only whole multiples of 100."""
    values = s.dropna()
    if values.empty:
        return
    if not pd.api.types.is_numeric_dtype(values.dtype):
        text = values.astype("string").str.strip()
        if bool(text.str.contains(".", regex=False).any()):
            warnings.warn(f"{spec.name}.{col.name}: amounts carry decimals ({text.iloc[0]!s}); the contract expects "
                          "whole cents (fen) - if they are yuan, read with amount_unit='yuan' (--amount-unit yuan)",
                          AmountUnitWarning, stacklevel=4)
        values = pd.to_numeric(text, errors="coerce").dropna()
    elif pd.api.types.is_float_dtype(values.dtype):
        warnings.warn(f"{spec.name}.{col.name}: amounts are stored as decimals; the contract expects whole cents "
                      "(fen) - if they are yuan, read with amount_unit='yuan' (--amount-unit yuan)",
                      AmountUnitWarning, stacklevel=4)
    if len(values) >= 20 and bool((np.mod(values.to_numpy(dtype=float), 100.0) == 0).all()):
        warnings.warn(f"{spec.name}.{col.name}: every amount is a whole multiple of 100 cents; if they are yuan, "
                      "read with amount_unit='yuan' (--amount-unit yuan)", AmountUnitWarning, stacklevel=4)


_TZ_SUFFIX = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|UTC|[+-]\d{2}(?::?\d{2})?)$")
_NS_LOW, _NS_HIGH = (pd.Timestamp(t) for t in TIME_RANGE)
_NAT_TICKS = np.iinfo(np.int64).min  # NaT's nanoseconds


def _coerce_time(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Timestamps as naive CST ``datetime64[ns]``; returns (values, unparseable, outside the range)."""
    dtype = s.dtype
    none = pd.Series(False, index=s.index)
    if isinstance(dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(CST_OFFSET).dt.tz_localize(None)
        dtype = s.dtype
    if pd.api.types.is_datetime64_dtype(dtype):
        if s.dtype == np.dtype("datetime64[ns]"):
            outside = s.notna() & ((s < _NS_LOW) | (s >= _NS_HIGH))
            return s, none, outside
        outside = s.notna() & ((s < _NS_LOW.to_datetime64()) | (s >= _NS_HIGH.to_datetime64()))
        out = s.where(~outside).astype("datetime64[ns]")
        return out, none, outside
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), s.notna(), none
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna().to_numpy(dtype=bool, na_value=False)
    aware = text.str.contains(_TZ_SUFFIX, na=False).to_numpy(dtype=bool)
    # (nanosecond ticks in numpy, NaT as int64's minimum: on a small table each pandas step on a Series costs
    # up to a millisecond, and on a large one the years are looked up only where a value did not parse)
    ticks = np.full(len(s), _NAT_TICKS, dtype=np.int64)
    outside = np.zeros(len(s), dtype=bool)
    for subset, utc in ((~aware, False), (aware, True)):
        if not subset.any():
            continue
        part = text[subset]
        part_ticks = np.full(len(part), _NAT_TICKS, dtype=np.int64)
        rest = np.ones(len(part), dtype=bool)  # the values pandas parses (all but the fixed offsets done below)
        if utc:
            part = part.str.replace(r"(?i)\s*UTC$", "+00:00", regex=True)
            rest = _parse_fixed_offsets(part, part_ticks)
        if rest.any():
            values = pd.to_datetime(part[rest], errors="coerce", format="ISO8601", utc=utc)
            if utc:
                values = values.dt.tz_convert(CST_OFFSET).dt.tz_localize(None)
            part_ticks[rest] = values.astype("datetime64[ns]").to_numpy().view(np.int64)
        ticks[subset] = part_ticks
        # years pandas cannot hold in nanoseconds parse to NaT: find them by their year
        failed = np.flatnonzero((part_ticks == _NAT_TICKS) & present[subset])
        if len(failed):
            years = pd.to_numeric(part.iloc[failed].str.extract(r"^\s*(\d{4})-", expand=False),
                                  errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            outside[np.flatnonzero(subset)[failed[(years < 1678) | (years > 2261)]]] = True
    parsed_any = ticks != _NAT_TICKS
    outside |= parsed_any & ((ticks < _NS_LOW.value) | (ticks >= _NS_HIGH.value))
    ticks[outside] = _NAT_TICKS
    bad = (ticks == _NAT_TICKS) & present & ~outside
    return (pd.Series(ticks.view("datetime64[ns]"), index=s.index), pd.Series(bad, index=s.index),
            pd.Series(outside, index=s.index))


#: The offsets parsed apart from pandas, by the length of their text: ``+hh:mm``, ``+hhmm`` and ``+hh``
#: (PostgreSQL's form); the hours and the minutes as groups.
_OFFSET_FORMS = ((6, re.compile(r"[+-](\d{2}):(\d{2})")), (5, re.compile(r"[+-](\d{2})(\d{2})")),
                 (3, re.compile(r"[+-](\d{2})()")))
_CST_MINUTES = 8 * 60
_SAFE_TICKS = 9 * 10**18
#: Past this many distinct offsets of a form, values are left to pandas' parser (each offset is parsed apart).
_MAX_OFFSET_SUFFIXES = 16


def _parse_fixed_offsets(part: pd.Series, ticks: np.ndarray) -> np.ndarray:
    """Parse the values of ``part`` (stripped text) that end in an offset (``+hh:mm``, ``+hhmm``, ``+hh``)
    into CST nanosecond ``ticks`` (in place); returns the mask of values left to pandas.

    pandas' ISO 8601 parser takes 8–10 s per million values with an offset other than UTC (``+08:00``,
    the usual form of a Chinese export) against 1.5 s without one; here each distinct offset's values are
    parsed as naive times and moved by the offset. A naive part that does not parse as a naive time (or
    parses with an offset of its own) is left to pandas, so the result is pandas' own."""
    rest = np.ones(len(part), dtype=bool)
    for length, form in _OFFSET_FORMS:
        left = np.flatnonzero(rest)
        if len(left) == 0:
            break
        tail = part.iloc[left].str.slice(-length)
        suffixes = [(u, form.fullmatch(u)) for u in pd.unique(tail.dropna())]
        suffixes = [(u, m) for u, m in suffixes if m]
        if len(suffixes) > _MAX_OFFSET_SUFFIXES:
            continue
        for suffix, match in suffixes:
            hours, minutes = int(match[1]), int(match[2] or 0)
            if hours > 23 or minutes > 59:
                continue
            rows = left[(tail == suffix).to_numpy(dtype=bool, na_value=False)]
            try:  # (a naive part with an offset of its own, "...+08:00+08:00": pandas parses the values itself)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # (pandas' warning of mixed offsets)
                    naive = pd.to_datetime(part.iloc[rows].str.slice(0, -length).str.rstrip(), errors="coerce",
                                           format="ISO8601")
            except (ValueError, TypeError):
                continue
            if not pd.api.types.is_datetime64_dtype(naive.dtype):
                continue
            local = naive.astype("datetime64[ns]").to_numpy().view(np.int64)
            ok = (local > -_SAFE_TICKS) & (local < _SAFE_TICKS)  # (not NaT; far enough from int64's ends to shift)
            shift = (_CST_MINUTES - (1 if suffix[0] == "+" else -1) * (60 * hours + minutes)) * 60 * 10**9
            ticks[rows[ok]] = local[ok] + shift
            rest[rows[ok]] = False
    return rest


# ------------------------------------------------------------------ id spaces
def _space_columns(tables: Mapping[str, pd.DataFrame], space: str) -> list[tuple[str, str]]:
    """The (table, column) pairs of an id space present in ``tables``."""
    return [(t, c) for t, c in id_columns(space) if t in tables and c in tables[t].columns]


def _harmonize_id_spaces(tables: dict[str, pd.DataFrame]) -> None:
    """Make every column of an id space the same kind: text for all when any is text."""
    for space in ID_SPACES:
        present = _space_columns(tables, space)
        if any(isinstance(tables[t][c].dtype, pd.StringDtype) for t, c in present):
            for t, c in present:
                col = tables[t][c]
                if not isinstance(col.dtype, pd.StringDtype):
                    tables[t] = tables[t].assign(**{c: col.astype("Int64").astype("string")})


def encode_ids(tables: Mapping[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Index]]:
    """Map text ids to dense int64 codes, one sorted dictionary per id space.

    Integer id spaces are left as they are. A code is the position of the id in its space's sorted
    labels, so codes keep the order of the ids and ``labels[space][code]`` gives the id back.
    Friendships between text ids are unordered pairs: each is stored with ``user_a < user_b`` in codes.

    Returns
    -------
    tables : dict
        The tables with every id column as ``int64`` (``Int64`` where missing values are allowed).
    labels : dict of str to Index
        For each encoded space, the ids in code order.

    Examples
    --------
    >>> users = pd.DataFrame({"user_id": pd.array(["u-b", "u-a"], dtype="string")})
    >>> out, labels = encode_ids({"users": users})
    >>> out["users"]["user_id"].tolist(), list(labels["user"])
    ([1, 0], ['u-a', 'u-b'])
    """
    out = dict(tables)
    labels: dict[str, pd.Index] = {}
    for space in ID_SPACES:
        present = _space_columns(out, space)
        if not any(isinstance(out[t][c].dtype, pd.StringDtype) for t, c in present):
            continue
        values = pd.concat([out[t][c].dropna().astype("string") for t, c in present], ignore_index=True)
        index = pd.Index(pd.unique(values.to_numpy(dtype=object)), dtype=object).sort_values()
        labels[space] = index
        for t, c in present:
            col = out[t][c]
            codes = index.get_indexer(col.astype(object).where(col.notna(), None))
            nullable = TABLES[t].column(c).nullable or bool((codes < 0).any())
            coded = pd.array(np.where(codes < 0, 0, codes), dtype="Int64") if nullable else codes.astype("int64")
            series = pd.Series(coded, index=col.index, name=c)
            if nullable:
                series[codes < 0] = pd.NA
            out[t] = out[t].assign(**{c: series})
    if "user" in labels and "friendships" in out and {"user_a", "user_b"} <= set(out["friendships"].columns):
        # a friendship is an unordered pair: text ids have no order to store it by, so order the codes
        f = out["friendships"]
        swap = (f["user_a"] > f["user_b"]).to_numpy()
        if swap.any():
            a, b = f["user_a"].to_numpy().copy(), f["user_b"].to_numpy().copy()
            a[swap], b[swap] = b[swap], a[swap]
            out["friendships"] = f.assign(user_a=a, user_b=b)
    return out, labels


def decode_ids(tables: Mapping[str, pd.DataFrame], labels: Mapping[str, pd.Index]) -> dict[str, pd.DataFrame]:
    """The inverse of :func:`encode_ids`: codes back to the user's own ids."""
    out = dict(tables)
    for space, index in labels.items():
        for t, c in _space_columns(out, space):
            col = out[t][c]
            ids = pd.Series(pd.array([None] * len(col), dtype="string"), index=col.index)
            present = col.notna().to_numpy()
            ids[present] = index.take(col[present].astype("int64").to_numpy())
            out[t] = out[t].assign(**{c: ids})
    return out
