"""Reading, writing and typing of event logs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from conftest import full_tables

from adoption import EventLog, InputError, InvalidEventLog, read_eventlog
from adoption.log.contract import TABLES


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_full_log_is_valid(tables):
    log = EventLog(**tables)
    assert log.validate().ok, log.validate().lines()
    assert list(log.tables) == [t for t in TABLES if t != "adoptions"]  # a payment log records no adoptions


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip(tmp_path, tables, fmt):
    log = EventLog(**tables, meta={"window_start": "2014-01-01", "window_end": "2014-12-31"})
    folder = log.write(tmp_path / "log", format=fmt)
    back = read_eventlog(folder)
    assert back.meta == log.meta
    for name, df in log.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], df, check_dtype=True)


def test_types_after_reading(tmp_path, tables):
    back = read_eventlog(EventLog(**tables).write(tmp_path / "log", format="csv"))
    assert back.users["user_id"].dtype == "int64"
    assert back.red_packets["amount_cents"].dtype == "int64"
    assert back.red_packets["group_id"].dtype == "Int64"
    assert back.payments["paid_at"].dtype == "datetime64[ns]"
    assert back.users["city"].dtype == "string"


def test_timestamps_are_china_standard_time(tmp_path):
    users = pd.DataFrame({"user_id": [1, 2], "joined_at": ["2014-01-01", "2014-01-01"]})
    transfers = pd.DataFrame({
        "transfer_id": [1, 2, 3], "sender_id": [1, 1, 2], "receiver_id": [2, 2, 1],
        # naive = CST; UTC noon = 20:00 CST; an explicit +08:00 stays
        "sent_at": ["2015-02-18 20:00:00", "2015-02-18T12:00:00Z", "2015-02-18T20:00:00+08:00"],
        "amount_cents": [1, 2, 3],
    })
    log = EventLog(users=users, transfers=transfers)
    assert (log.transfers["sent_at"] == pd.Timestamp("2015-02-18 20:00")).all()
    aware = pd.DataFrame({**transfers, "sent_at": pd.to_datetime(["2015-02-18 12:00"] * 3).tz_localize("UTC")})
    folder = tmp_path / "aware"
    folder.mkdir()
    users.to_parquet(folder / "users.parquet")
    aware.to_parquet(folder / "transfers.parquet")
    assert (read_eventlog(folder).transfers["sent_at"] == pd.Timestamp("2015-02-18 20:00")).all()


def test_minimal_real_world_log_validates(tmp_path, tables):
    keep = ["users", "red_packet_claims", "transfers", "payments"]
    folder = tmp_path / "real"
    folder.mkdir()
    for name in keep:
        tables[name].to_csv(folder / f"{name}.csv", index=False)
    log = read_eventlog(folder)
    assert set(log.tables) == set(keep)
    assert log.summary()["receivers"] == 4  # 2, 3, 4 claimed; 1 received a transfer
    assert log.summary()["payers"] == 2


def test_partitioned_parquet_folder(tmp_path, tables):
    folder = tmp_path / "log"
    EventLog(**tables).write(folder)
    parts = folder / "payments"
    parts.mkdir()
    pay = pd.read_parquet(folder / "payments.parquet")
    pay.iloc[:1].to_parquet(parts / "part-0.parquet")
    pay.iloc[1:].to_parquet(parts / "part-1.parquet")
    (folder / "payments.parquet").unlink()
    assert len(read_eventlog(folder).payments) == 2


def test_a_partitioned_export_reads_alike_in_both_engines(tmp_path, tables):
    """A table exported in partition folders (``payments/month=2014-02/part-0.parquet``, as Spark or DuckDB
    write them) is read whole by the pandas reader, as DuckDB reads it: the same rows, the same summary (the
    parts carry pandas' index, which is no column of the log), the same answers."""
    from adoption.analysis.activation import activation_table
    from adoption.log.sql import open_log, summary_sql

    folder = tmp_path / "log"
    EventLog(**tables).write(folder)
    pay = pd.read_parquet(folder / "payments.parquet")
    (folder / "payments.parquet").unlink()
    for i, (_, rows) in enumerate(pay.groupby(pay["paid_at"].dt.strftime("%Y-%m"))):
        (folder / "payments" / f"month={rows['paid_at'].iloc[0]:%Y-%m}").mkdir(parents=True)
        rows.to_parquet(folder / "payments" / f"month={rows['paid_at'].iloc[0]:%Y-%m}" / f"part-{i}.parquet")
    assert len(list((folder / "payments").iterdir())) >= 2 and not list((folder / "payments").glob("*.parquet"))
    read = read_eventlog(folder)
    pd.testing.assert_frame_equal(read.payments.sort_values("payment_id", ignore_index=True),
                                  EventLog(**tables).payments.sort_values("payment_id", ignore_index=True),
                                  check_dtype=False)
    with open_log(folder) as sql:
        assert sql.scalar("SELECT count(*) FROM payments") == len(pay)
        assert summary_sql(sql) == read.summary()
    pd.testing.assert_frame_equal(activation_table(folder, "first_payment"),
                                  activation_table(folder, "first_payment", engine="duckdb"))


def test_write_refuses_to_overwrite(tmp_path, tables):
    log = EventLog(**tables)
    folder = log.write(tmp_path / "log")
    before = _digest(folder)
    with pytest.raises(InputError, match="already exists"):
        log.write(folder)
    assert _digest(folder) == before
    smaller = EventLog(users=tables["users"], transfers=tables["transfers"])
    smaller.write(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["transfers.parquet", "users.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_write_is_deterministic(tmp_path, tables):
    a = EventLog(**tables).write(tmp_path / "a")
    b = EventLog(**tables).write(tmp_path / "b")
    assert _digest(a) == _digest(b)


def test_numbers_stored_as_differences_read_back_exactly_by_both_engines(tmp_path):
    """Ids, times and amounts are stored as differences from row to row (``parquet_options``): the extremes of
    int64, ids out of order, missing values and times far apart come back as written, in pandas and DuckDB."""
    import duckdb
    import pyarrow.parquet as pq

    from adoption.log.eventlog import log_writer

    big = 2**63 - 1
    frame = pd.DataFrame({"transfer_id": [5, 1, big, -big - 1],
                          "scan_id": pd.array([None, 7, None, -3], dtype="Int64"),
                          "sent_at": pd.to_datetime(["2014-01-01 00:00", "1970-01-01 00:00", "2262-04-11 00:00",
                                                   "2015-02-18 20:00"]),
                          "channel": ["metro", "mall", "metro", "campus"]})
    with log_writer(tmp_path / "log") as write_table:
        write_table("transfers", frame)
    file = tmp_path / "log" / "transfers.parquet"
    encodings = pq.ParquetFile(file).metadata.row_group(0)
    assert "DELTA_BINARY_PACKED" in encodings.column(0).encodings
    assert "RLE_DICTIONARY" in encodings.column(3).encodings
    pd.testing.assert_frame_equal(pd.read_parquet(file), frame, check_dtype=False)
    rows = duckdb.sql(f"SELECT transfer_id, scan_id FROM read_parquet('{file}')").fetchall()
    assert rows == [(5, None), (1, 7), (big, None), (-big - 1, -3)]


def test_reading_leaves_files_byte_identical(tmp_path, tables):
    folder = EventLog(**tables).write(tmp_path / "log", format="csv")
    tables["transfers"].assign(amount_cents=-1).to_csv(folder / "transfers.csv", index=False)
    before = _digest(folder)
    with pytest.raises(InvalidEventLog):
        read_eventlog(folder)
    read_eventlog(folder, validate=False)
    assert _digest(folder) == before


def test_window_from_meta_or_events(tables):
    log = EventLog(**tables)
    start, end = log.window
    assert start == pd.Timestamp("2014-01-15") and end == pd.Timestamp("2014-03-03")
    log.meta = {"window_start": "2014-01-01", "window_end": "2016-01-01"}
    assert log.window == (pd.Timestamp("2014-01-01"), pd.Timestamp("2016-01-01"))


def test_unknown_columns_are_kept(tables):
    tables["users"]["segment"] = "a"
    assert "segment" in EventLog(**tables).users


def test_both_formats_for_one_table_is_an_error(tmp_path, tables):
    folder = EventLog(**tables).write(tmp_path / "log")
    tables["users"].to_csv(folder / "users.csv", index=False)
    with pytest.raises(InputError, match=r"users: found both"):
        read_eventlog(folder)


def test_full_tables_helper_is_fresh():
    a, b = full_tables(), full_tables()
    a["users"].loc[0, "user_id"] = 99
    assert b["users"].loc[0, "user_id"] == 1


def test_columns_already_typed_pass_as_they_are_and_their_problems_are_still_found():
    """Columns of the contract's type pass without a copy; a typed time outside the supported years or
    missing where required is still reported, and int64 amounts read as yuan are still converted."""
    import numpy as np

    from adoption.log.eventlog import coerce_table

    users = pd.DataFrame({"user_id": [1, 2], "joined_at": pd.to_datetime(["2014-01-01", "2014-01-02"]),
                          "left_at": pd.to_datetime([None, "2014-03-01"])})
    typed, problems = coerce_table("users", users)
    assert problems == []
    for column in users:
        assert np.shares_memory(typed[column].to_numpy(), users[column].to_numpy()), column
    far = users.assign(joined_at=pd.to_datetime(["1850-01-01", "2014-01-02"]))
    (problem,) = coerce_table("users", far)[1]
    assert (problem.column, problem.rule, problem.rows) == ("joined_at", "type", 1)
    assert "outside the supported years" in problem.detail
    (problem,) = coerce_table("users", users.assign(joined_at=pd.to_datetime([None, "2014-01-02"])))[1]
    assert (problem.column, problem.rule, problem.rows) == ("joined_at", "missing", 1)
    transfers = pd.DataFrame({"transfer_id": [1], "sender_id": [1], "receiver_id": [2],
                              "sent_at": pd.to_datetime(["2014-01-05"]), "amount_cents": np.array([12], dtype=np.int64)})
    assert coerce_table("transfers", transfers, amount_unit="yuan")[0]["amount_cents"].tolist() == [1200]


def test_a_table_folder_without_parts_is_refused_alike_by_both_engines(tmp_path, tables):
    from adoption.log.sql import open_log

    folder = EventLog(**tables).write(tmp_path / "log")
    (folder / "payments.parquet").unlink()
    (folder / "payments" / "month=2014-01").mkdir(parents=True)
    with pytest.raises(InputError, match=r"^payments: folder .*payments holds no \.parquet files$"):
        read_eventlog(folder)
    with pytest.raises(InputError, match=r"^payments: folder .*payments holds no \.parquet files$"), open_log(folder):
        pass



#: Text times with offsets, well and badly formed (and one without an offset).
OFFSET_TIMES = ["2015-02-18 20:00:00+08:00", "2015-02-18T20:00:00+08:00", "2015-02-18 20:00:00.123456789+08:00",
                "2015-02-18 20:00+08:00", "2015-02-18 20:00:00 +08:00", "2015-02-18 20:00:00-05:30",
                "2015-02-18T20:00:00+14:00", "2015-02-18 20:00:00 -03:00", "2015-02-18 20:00:00+00:00",
                "2015-02-18 20:00:00Z", "2015-02-18 20:00:00+0800", "2015-02-18 20:00:00+08", "2015-02-18 20:00:00+25:00",
                "2015-02-18 20:00:00+08:75", "garbage+08:00", "2015-13-18 20:00:00+08:00", "2015-02-18+08:00",
                "2015-02-18 20:00:00+08:00+08:00", " 2015-02-18 20:00:00+08:00 "]


def test_text_times_with_offsets_read_as_pandas_reads_each_value():
    """Values ending in ``+hh:mm`` are parsed as naive times moved by their offset (pandas' parser of offsets
    other than UTC is six times slower); each value, well formed or not, is read as pandas' ISO 8601 parser
    reads it alone, in China Standard Time, and no warning of pandas' reaches the user."""
    import warnings

    from adoption.log.eventlog import coerce_table

    texts = [*OFFSET_TIMES, "2015-02-18 20:00:00"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        typed, _ = coerce_table("users", pd.DataFrame({"user_id": range(len(texts)), "joined_at": texts}))
    for text, value in zip(texts, typed["joined_at"], strict=True):
        if text in OFFSET_TIMES:
            alone = pd.to_datetime(pd.Series([text.strip()]), errors="coerce", format="ISO8601", utc=True)
            expected = alone.dt.tz_convert("+08:00").dt.tz_localize(None)[0]
        else:
            expected = pd.Timestamp(text)
        assert (pd.isna(value) and pd.isna(expected)) or value == expected, (text, value, expected)
    assert typed["joined_at"].notna().sum() == 14  # (the five malformed values missing)
