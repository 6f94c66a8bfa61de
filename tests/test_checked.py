"""Logs checked before (adoption.log.checked): a log whose files passed every rule is not checked again until
a file changes; a log with problems is checked, and refused, every time."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import full_tables

import adoption.log.eventlog as eventlog
import adoption.log.sql as log_sql
from adoption.analysis.activation_sql import connect_log
from adoption.cli.main import main
from adoption.errors import InvalidEventLog
from adoption.log.checked import LogFiles, cache_folder, log_digest
from adoption.log.eventlog import EventLog, read_eventlog

CENTS = {"amount_unit": "cents"}


@pytest.fixture
def log_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "log"
    EventLog(**full_tables()).write(folder)
    return folder


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each engine checked the rules."""
    counts = {"pandas": 0, "duckdb": 0}

    def counted(engine, check):
        def run(*args, **kwargs):
            counts[engine] += 1
            return check(*args, **kwargs)
        return run

    monkeypatch.setattr(eventlog, "validate_tables", counted("pandas", eventlog.validate_tables))
    monkeypatch.setattr(log_sql, "validate_sql", counted("duckdb", log_sql.validate_sql))
    return counts


def _open_with_duckdb(folder: Path, amount_unit: str = "cents") -> None:
    with connect_log(folder, amount_unit=amount_unit) as sql:
        assert sql.scalar("SELECT count(*) FROM users") == 4


def test_a_log_that_passed_is_not_checked_again_by_either_engine(log_folder, checks):
    read_eventlog(log_folder)
    read_eventlog(log_folder)
    _open_with_duckdb(log_folder)
    assert checks == {"pandas": 1, "duckdb": 0}
    assert len(list(cache_folder().iterdir())) == 1
    # checked first by DuckDB, the same holds the other way round
    other = log_folder.parent / "other"
    EventLog(**full_tables()).write(other)
    _open_with_duckdb(other)
    _open_with_duckdb(other)
    read_eventlog(other)
    assert checks == {"pandas": 1, "duckdb": 1}


def test_any_change_to_the_files_or_the_options_checks_again(log_folder, checks):
    read_eventlog(log_folder)
    changes = [  # (a change, and whether the files are then as none checked before)
        (lambda: (log_folder / "notes.txt").write_text("a file added"), True),
        (lambda: (log_folder / "notes.txt").unlink(), False),  # (back as first checked)
        # a file written again with the same bytes: checked again (its status changed)
        (lambda: (log_folder / "users.parquet").write_bytes((log_folder / "users.parquet").read_bytes()), True),
        (lambda: os.utime(log_folder / "payments.parquet", ns=(0, time.time_ns())), True),
        (lambda: (log_folder / "meta.json").write_text('{"window_start": "2014-01-01"}'), True),
        # a folder not named as a table is read by no reader: not looked into
        (lambda: [(log_folder / "notes").mkdir(), (log_folder / "notes" / "a.txt").write_text("mine")], False),
    ]
    expected = 1
    for change, new in changes:
        time.sleep(0.01)  # (a file system's times may be coarse)
        change()
        read_eventlog(log_folder)
        read_eventlog(log_folder)
        expected += new
        assert checks["pandas"] == expected
    read_eventlog(log_folder, amount_unit="yuan")
    assert checks["pandas"] == expected + 1


def test_a_file_changed_while_it_is_checked_is_checked_again(log_folder, checks, monkeypatch):
    check = eventlog.validate_tables

    def check_while_a_file_changes(*args, **kwargs):
        (log_folder / "meta.json").write_text('{"window_start": "2014-01-01"}')  # (after the files were named)
        return check(*args, **kwargs)

    monkeypatch.setattr(eventlog, "validate_tables", check_while_a_file_changes)
    read_eventlog(log_folder)
    monkeypatch.setattr(eventlog, "validate_tables", check)
    assert not LogFiles.now(log_folder, CENTS).checked_before()


def test_a_log_with_problems_is_refused_every_time(tmp_path, checks):
    tables = full_tables()
    tables["red_packet_claims"].loc[0, "packet_id"] = 999  # a claim of no packet
    folder = tmp_path / "bad"
    EventLog(**tables).write(folder)
    for _ in range(2):
        with pytest.raises(InvalidEventLog, match="packet_id"):
            read_eventlog(folder)
        with pytest.raises(InvalidEventLog, match="packet_id"):
            _open_with_duckdb(folder)
    assert checks == {"pandas": 2, "duckdb": 2}
    assert not LogFiles.now(folder, CENTS).checked_before()


def test_validate_always_checks_and_analyses_skip_after_it(log_folder, checks, capsys):
    for _ in range(2):
        assert main(["validate", str(log_folder)]) == 0
    assert checks["pandas"] == 2
    assert main(["activation", str(log_folder), "--engine", "duckdb", "--json"]) == 0
    assert checks == {"pandas": 2, "duckdb": 0}
    capsys.readouterr()


def test_nothing_is_remembered_where_the_cache_is_off_or_cannot_be_written(log_folder, checks, monkeypatch,
                                                                          tmp_path):
    monkeypatch.setenv("ADOPTION_CACHE_DIR", "")
    assert cache_folder() is None
    read_eventlog(log_folder)
    read_eventlog(log_folder)
    assert checks["pandas"] == 2
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ADOPTION_CACHE_DIR", str(blocked))
    read_eventlog(log_folder)  # (no error: nothing remembered)
    read_eventlog(log_folder)
    assert checks["pandas"] == 4
    assert blocked.read_text() == "not a folder"


def test_a_folder_that_cannot_be_looked_at_is_checked(log_folder, checks):
    (log_folder / "dangling").symlink_to(log_folder / "nowhere")
    assert log_digest(log_folder, CENTS) is None
    LogFiles.now(log_folder, CENTS).remember_checked()
    assert not LogFiles.now(log_folder, CENTS).checked_before()
    read_eventlog(log_folder)
    read_eventlog(log_folder)
    assert checks["pandas"] == 2


def test_a_table_folder_reached_through_a_link_is_part_of_the_digest(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(parts / "2014-01.parquet")
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "payments").symlink_to(parts, target_is_directory=True)
    (parts / "loop").symlink_to(parts, target_is_directory=True)  # (a folder reached twice: listed once)
    before = log_digest(folder, CENTS)
    assert before is not None and before == log_digest(folder, CENTS)
    pd.DataFrame({"x": [2]}).to_parquet(parts / "2014-02.parquet")
    assert log_digest(folder, CENTS) != before


def test_the_least_recently_used_marks_are_forgotten_beyond_the_most_kept(tmp_path, monkeypatch):
    import adoption.log.checked as checked

    monkeypatch.setattr(checked, "MAX_MARKS", 3)
    folders = []
    for i in range(5):
        folder = tmp_path / f"log{i}"
        folder.mkdir()
        (folder / "users.csv").write_text(f"user_id,joined_at\n{i},2014-01-01\n")
        folders.append(folder)
    for i, folder in enumerate(folders[:3]):
        LogFiles.now(folder, CENTS).remember_checked()
        os.utime(cache_folder() / LogFiles.now(folder, CENTS).digest, ns=(i * 10**9, i * 10**9))  # (in order)
    assert LogFiles.now(folders[0], CENTS).checked_before()  # used now: the most recent
    for folder in folders[3:]:
        LogFiles.now(folder, CENTS).remember_checked()
    kept = [LogFiles.now(folder, CENTS).checked_before() for folder in folders]
    assert kept == [True, False, False, True, True]  # the two least recently used forgotten
    assert len([entry for entry in cache_folder().iterdir() if not entry.name.startswith(".")]) == 3
