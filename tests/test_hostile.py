"""Broken logs, hostile names and unlucky runs: one line and exit 1 or 2, never a bug's exit 3.

A corpus of broken event logs (every contract rule, unreadable files, nonsense windows, degenerate but
valid logs) goes through every analysis command with both engines. Each run must end with exit 1 (bad
input) or 2 (usage) and a few lines naming the table or column, or succeed; never exit 3, never a
traceback; the input files stay byte-identical; and the DuckDB engine refuses exactly what the pandas
engine refuses, with the same messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import full_tables

from adoption.cli.main import main

T = pd.Timestamp
Mutation = Callable[[dict[str, pd.DataFrame]], None]


def _set(table: str, column: str, row: int, value) -> Mutation:
    def mutate(t: dict[str, pd.DataFrame]) -> None:
        df = t[table]
        if not isinstance(value, int | float):
            df = df.astype({column: object})
        elif isinstance(value, float) and pd.api.types.is_integer_dtype(df[column]):
            df = df.astype({column: "float64"})  # (a fraction in an integer column, as a CSV export gives it)
        df.loc[row, column] = value
        t[table] = df
    return mutate


def _drop_table(table: str) -> Mutation:
    return lambda t: t.pop(table)


def _drop_column(table: str, column: str) -> Mutation:
    return lambda t: t.__setitem__(table, t[table].drop(columns=[column]))


def _dup_row(table: str) -> Mutation:
    return lambda t: t.__setitem__(table, pd.concat([t[table], t[table].iloc[[0]]], ignore_index=True))


def _only(*tables: str) -> Mutation:
    def mutate(t: dict[str, pd.DataFrame]) -> None:
        for name in list(t):
            if name not in tables:
                t.pop(name)
    return mutate


def _many(*mutations: Mutation) -> Mutation:
    def mutate(t: dict[str, pd.DataFrame]) -> None:
        for m in mutations:
            m(t)
    return mutate


FOREIGN = [("friendships", "user_b", 0), ("group_members", "user_id", 0), ("group_members", "group_id", 0),
           ("red_packets", "sender_id", 0), ("red_packet_claims", "packet_id", 0),
           ("red_packet_claims", "receiver_id", 0), ("transfers", "sender_id", 0), ("transfers", "receiver_id", 0),
           ("card_bindings", "user_id", 0), ("payments", "user_id", 0), ("payments", "merchant_id", 0),
           ("payments", "scan_id", 0), ("scans", "user_id", 0), ("messages", "user_id", 0),
           ("messages", "merchant_id", 0)]

#: name -> (mutation, file format): every log here breaks the contract.
INVALID: dict[str, tuple[Mutation, str]] = {
    **{f"unknown {t}.{c}": (_set(t, c, r, 99_999), "parquet") for t, c, r in FOREIGN},
    **{f"duplicate {t}": (_dup_row(t), "parquet") for t in ("users", "merchants", "groups", "red_packets",
                                                             "transfers", "payments", "scans", "messages",
                                                             "card_bindings", "group_members", "friendships")},
    **{f"amount {v} in {t}": (_set(t, "amount_cents", 0, v), "parquet")
       for t in ("red_packets", "red_packet_claims", "transfers", "payments") for v in (0, -5)},
    "no shares": (_set("red_packets", "shares", 0, 0), "parquet"),
    "friend order": (_many(_set("friendships", "user_a", 0, 2), _set("friendships", "user_b", 0, 1)), "parquet"),
    "left before joined": (_set("users", "left_at", 3, T("2013-01-01")), "parquet"),
    "left but never joined": (_set("users", "joined_at", 3, None), "csv"),
    "packet to self": (_set("red_packets", "recipient_id", 1, 2), "parquet"),
    "claim before send": (_set("red_packet_claims", "claimed_at", 0, T("2014-01-01")), "parquet"),
    "claim by sender": (_set("red_packet_claims", "receiver_id", 0, 1), "parquet"),
    "claim of someone else's packet": (_set("red_packet_claims", "receiver_id", 2, 3), "parquet"),
    "overclaimed amount": (_set("red_packet_claims", "amount_cents", 0, 900), "parquet"),
    "claimed twice": (lambda t: t.__setitem__("red_packet_claims", t["red_packet_claims"].iloc[[0, 0, 1, 2]]
                                              .reset_index(drop=True)), "parquet"),  # (in packet order)
    "overflowing claims": (_many(_set("red_packet_claims", "amount_cents", 0, 2**62),
                                 _set("red_packet_claims", "amount_cents", 1, 2**62)), "parquet"),
    "transfer to self": (_set("transfers", "receiver_id", 0, 3), "parquet"),
    "payment before acceptance": (_set("payments", "paid_at", 1, T("2014-02-01")), "parquet"),
    "text in cents": (_set("payments", "amount_cents", 0, "lots"), "csv"),
    "fractional cents": (_set("transfers", "amount_cents", 0, 12.5), "parquet"),
    "garbage time": (_set("transfers", "sent_at", 0, "yesterday"), "csv"),
    "year 9999": (_set("transfers", "sent_at", 0, "9999-01-01 00:00:00"), "csv"),
    "year 1677": (_set("payments", "paid_at", 0, "1677-06-01 00:00:00"), "csv"),
    "no users table": (_drop_table("users"), "parquet"),
    "no activity table": (_only("users", "friendships"), "parquet"),
    "no user_id column": (_drop_column("users", "user_id"), "csv"),
    "no sent_at column": (_drop_column("transfers", "sent_at"), "parquet"),
    "no amount column": (_drop_column("red_packet_claims", "amount_cents"), "csv"),
    "missing receiver": (_set("transfers", "receiver_id", 0, None), "csv"),
    "terminal escapes in ids": (_set("payments", "user_id", 0, "\x1b[2J\x1b]0;pwned\x07"), "csv"),
}

#: Files that are not what their names say, and nonsense meta.json windows.
BROKEN_FILES: dict[str, Callable[[Path], None]] = {
    "empty csv": lambda f: (f / "transfers.parquet").unlink() or (f / "transfers.csv").write_text(""),
    "garbage parquet": lambda f: (f / "payments.parquet").write_bytes(b"PAR1 not really"),
    "binary csv": lambda f: (f / "transfers.parquet").unlink() or (f / "transfers.csv").write_bytes(b"\xff\xfe\x00x"),
    "two users files": lambda f: (f / "users.csv").write_text("user_id,joined_at\n1,2014-01-01\n"),
    "meta not json": lambda f: (f / "meta.json").write_text("{window"),
    "meta a list": lambda f: (f / "meta.json").write_text("[1, 2]"),
    "meta window reversed": lambda f: (f / "meta.json").write_text(
        json.dumps({"window_start": "2015-01-01", "window_end": "2014-01-01"})),
    "meta window unparseable": lambda f: (f / "meta.json").write_text(json.dumps({"window_start": "soon"})),
    "meta year 9999": lambda f: (f / "meta.json").write_text(json.dumps({"window_end": "9999-12-31"})),
    "only meta": lambda f: [p.unlink() for p in f.glob("*.parquet")],
}

#: Valid logs that an analysis may still not be able to answer: exit 0 or 1, never 3.
DEGENERATE: dict[str, Mutation] = {
    "transfers only": _only("users", "transfers"),
    "every user a receiver": _many(_only("users", "transfers"), lambda t: t.__setitem__("transfers", pd.DataFrame({
        "transfer_id": [1, 2, 3, 4], "sender_id": [2, 3, 4, 1], "receiver_id": [1, 2, 3, 4],
        "sent_at": pd.to_datetime(["2014-02-01"] * 4), "amount_cents": [100] * 4}))),
    "one user sends everything": _many(_only("users", "transfers"), lambda t: t.__setitem__("transfers", pd.DataFrame({
        "transfer_id": [1, 2, 3], "sender_id": [1, 1, 1], "receiver_id": [2, 3, 4],
        "sent_at": pd.to_datetime(["2014-02-01", "2014-02-02", "2014-02-03"]), "amount_cents": [100] * 3}))),
    "empty city": lambda t: t["users"].__setitem__("city", [None, "Shenzhen", None, None]),
    "no payments": lambda t: [t.pop(n) for n in ("payments", "scans", "messages")],
    "payments only": _only("users", "merchants", "payments"),
}

COMMANDS = {
    "validate": ["validate"],
    "activation": ["activation"],
    "activation-duckdb": ["activation", "--engine", "duckdb"],
    "effect": ["effect"],
    "funnel": ["funnel"],
    "diffusion": ["diffusion", "--draws", "19"],
}


def _write(tables: dict[str, pd.DataFrame], folder: Path, fmt: str) -> Path:
    folder.mkdir(parents=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _case_folder(tmp_path: Path, case: str) -> Path:
    tables = full_tables()
    if case in INVALID:
        mutate, fmt = INVALID[case]
        mutate(tables)
        return _write(tables, tmp_path / "log", fmt)
    if case in DEGENERATE:
        DEGENERATE[case](tables)
        return _write(tables, tmp_path / "log", "parquet")
    folder = _write(tables, tmp_path / "log", "parquet")
    BROKEN_FILES[case](folder)
    return folder


CASES = [*INVALID, *BROKEN_FILES, *DEGENERATE]


def test_the_corpus_is_big_enough():
    assert len(INVALID) + len(BROKEN_FILES) >= 60


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow  # about a minute in all: the fast lane keeps the other hostile tests
@pytest.mark.parametrize("case", CASES)
def test_every_command_refuses_a_broken_log_in_one_line(tmp_path, capsys, case):
    folder = _case_folder(tmp_path, case)
    before = _digest(folder)
    messages = {}
    for name, command in COMMANDS.items():
        code, out, err = _run([*command, str(folder)], capsys)
        assert code != 3, (name, out, err)
        assert "Traceback" not in out + err and "\x1b" not in out + err, (name, err)
        if case in DEGENERATE:
            assert code in (0, 1), (name, err)
            if code == 1:
                assert len(err.strip().splitlines()) == 1, (name, err)
            continue
        assert code in (1, 2), (name, code, out, err)
        lines = [line for line in (out if name == "validate" and out.strip() else err).strip().splitlines()
                 if not line.startswith("adoption: warning:")]
        assert 1 <= len(lines) <= 6, (name, lines)
        if name == "validate" and lines[-1].startswith("adoption: error"):
            lines = lines[-1:]
        messages[name] = sorted(line for line in lines if not line.endswith("problems") and
                                not line.endswith("1 problem"))
    assert _digest(folder) == before, "an input file was modified"
    if case not in DEGENERATE and "activation" in messages:
        # the DuckDB engine refuses exactly what the pandas engine refuses, with the same lines
        assert messages["activation-duckdb"] == messages["activation"], messages


# ------------------------------------------------------------ SQL injection
def test_a_folder_named_like_sql_runs_no_sql(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "x.parquet');COPY (SELECT 42) TO 'anywhere.csv';SELECT ('"
    _write(full_tables(), evil, "parquet")
    code, _, err = _run(["activation", "--engine", "duckdb", "--json", str(evil)], capsys)
    assert code == 0, err
    assert not list(tmp_path.rglob("anywhere.csv"))


@pytest.mark.slow
def test_an_apostrophe_in_the_path_works_with_duckdb(tmp_path, capsys):
    folder = _write(full_tables(), tmp_path / "o'brien log", "csv")
    code, out, err = _run(["activation", "--engine", "duckdb", "--json", str(folder)], capsys)
    assert code == 0, err
    pandas_code, pandas_out, _ = _run(["activation", "--json", str(folder)], capsys)
    assert json.loads(out) == json.loads(pandas_out)


def _long_transfers_csv(folder: Path, last_line: str) -> Path:
    """users.csv and a transfers.csv of 25,000 rows (beyond the sample DuckDB's sniffer reads) whose last
    line is ``last_line``."""
    folder.mkdir()
    pd.DataFrame({"user_id": [1, 2, 3], "joined_at": ["2014-01-01"] * 3}).to_csv(folder / "users.csv", index=False)
    rows = [f"{i},1,2,2014-02-01 08:00:00,500" for i in range(25_000)]
    (folder / "transfers.csv").write_text("\n".join(["transfer_id,sender_id,receiver_id,sent_at,amount_cents",
                                                     *rows, last_line]) + "\n")
    return folder


def test_a_ragged_row_deep_in_a_csv_is_refused_in_one_line_by_both_engines(tmp_path, capsys):
    folder = _long_transfers_csv(tmp_path / "log", "25000,1,2,2014-02-01 08:00:00,500,99")
    for engine in ("pandas", "duckdb"):
        code, out, err = _run(["activation", "--engine", engine, str(folder)], capsys)
        assert code == 1, (engine, err)
        (line,) = err.strip().splitlines()
        assert line.startswith("adoption: error: transfers: cannot read transfers.csv (")
        assert "25002" in line, line  # the line of the file, counting the header


@pytest.mark.parametrize("in_memory", [True, False], ids=["parsed once", "read by each statement"])
def test_a_short_row_deep_in_a_csv_is_refused_alike_by_both_engines(tmp_path, capsys, monkeypatch, in_memory):
    """A row with fewer fields than the header: pandas would read the missing fields as missing values, DuckDB
    refuses the row; both refuse it, with the same line, whether DuckDB reads the file into memory when the
    log is opened or where a statement reads it (a file over ``CSV_IN_MEMORY_BYTES``)."""
    import adoption.log.sql as sql

    if not in_memory:
        monkeypatch.setattr(sql, "CSV_IN_MEMORY_BYTES", 0)
    folder = _long_transfers_csv(tmp_path / "log", "25000,1,2,2014-02-01 08:00:00")
    lines = []
    for engine in ("pandas", "duckdb"):
        code, out, err = _run(["activation", "--engine", engine, str(folder)], capsys)
        assert code == 1, (engine, err)
        lines += err.strip().splitlines()
    assert lines == ["adoption: error: transfers: cannot read transfers.csv (line 25002: expected 5 fields, found 4)"] * 2


def test_a_quoted_comma_deep_in_a_csv_is_one_field_for_both_engines(tmp_path, capsys):
    # no quotes in the first 25,000 rows: DuckDB's sniffer, reading only those, guessed that the file used none
    folder = _long_transfers_csv(tmp_path / "log", '"25,000",1,3,2014-02-02 08:00:00,700')
    answers = []
    for engine in ("pandas", "duckdb"):
        code, out, err = _run(["activation", "--engine", engine, "--json", str(folder)], capsys)
        assert code == 0, (engine, err)
        answers.append(json.loads(out))
    assert answers[0] == answers[1] and answers[0]["n"] == 2


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    tables = full_tables()
    tables["scans"]["channel"] = ["poster\x1b[31m", "moments\x07"]
    folder = _write(tables, tmp_path / "log", "parquet")
    code, out, err = _run(["funnel", str(folder)], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "poster[31m" in out


# ------------------------------------------------------- arguments and paths
@pytest.mark.parametrize("args", [
    ["activation", "--d", "nan", "LOG"], ["activation", "--horizon", "-1", "LOG"],
    ["effect", "--k", "0", "LOG"], ["sweep", "--workers", "-1", "GRID"],
    ["simulate", "--set", "end=2262-12-31", "--users", "100", "--out", "OUT"],
    ["simulate", "--users", "0", "--out", "OUT"],
    ["report", "../notebooks/sweep"], ["report", "/etc/passwd"],
])
def test_bad_arguments_are_usage_errors(tmp_path, capsys, args):
    folder = _write(full_tables(), tmp_path / "log", "parquet")
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid: {send_rate: [0.01]}\n")
    args = [str(folder) if a == "LOG" else str(grid) if a == "GRID" else str(tmp_path / "out") if a == "OUT" else a
            for a in args]
    code, out, err = _run(args, capsys)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_run_too_big_for_the_machine_is_refused_up_front(tmp_path, capsys):
    code, _, err = _run(["simulate", "--users", "1000000000", "--out", str(tmp_path / "big")], capsys)
    assert code == 2 and "n_users" in err and "at most about" in err, err
    assert not (tmp_path / "big").exists()


def test_out_pointing_at_a_file_is_refused_and_the_file_kept(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    for extra in ([], ["--overwrite"]):
        code, _, err = _run(["simulate", "--users", "50", "--set", "end=2014-02-28", "--out", str(target), *extra],
                            capsys)
        assert code == 1, err
        assert target.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_read_only_output_folder_is_bad_input(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    code, _, err = _run(["simulate", "--users", "50", "--out", str(ro / "log")], capsys)
    assert code == 1, err


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("adoption.tasks.CONNECT_TIMEOUT", "1s")  # (the refusal, not the wait, is tested)
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid: {send_rate: [0.01]}\nbase: {n_users: 100, end: '2014-02-28'}\n")
    code, _, err = _run(["sweep", str(grid), "--scheduler", "tcp://127.0.0.1:9", "--no-report"], capsys)
    assert code == 2 and "--scheduler" in err, err


# ------------------------------------------------------------ publishing a log
def test_a_log_that_appears_meanwhile_is_not_replaced(tmp_path):
    from adoption.errors import InputError
    from adoption.log.eventlog import EventLog, log_writer

    dest = tmp_path / "log"
    with pytest.raises(InputError, match="appeared while"), log_writer(dest) as write:
        write("users", EventLog(**full_tables()).users)
        dest.mkdir()  # another run publishes first
        (dest / "theirs.txt").write_text("keep me")
    assert (dest / "theirs.txt").read_text() == "keep me"
    assert not list(tmp_path.glob(".log.tmp-*"))


def test_stale_temporary_folders_of_killed_runs_are_removed(tmp_path):
    from adoption.log.eventlog import EventLog

    stale = tmp_path / ".log.tmp-999999999-abcdef01"
    stale.mkdir()
    live = tmp_path / f".log.tmp-{os.getpid()}-abcdef02"
    live.mkdir()
    EventLog(**full_tables()).write(tmp_path / "log")
    assert not stale.exists() and live.exists()


def test_overwrite_replaces_a_log_but_never_another_folder(tmp_path):
    from adoption.errors import InputError
    from adoption.log.eventlog import EventLog

    log = EventLog(**full_tables())
    log.write(tmp_path / "log")
    log.write(tmp_path / "log", overwrite=True)
    assert (tmp_path / "log" / "users.parquet").exists()
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(InputError, match="not event-log tables"):
        log.write(other, overwrite=True)
    assert (other / "cat.jpg").read_bytes() == b"meow"


def _ignored_signals(pid: int) -> str:
    try:
        return next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("SigIgn:"))
    except (OSError, StopIteration):
        return "unknown"


@pytest.mark.slow
def test_ctrl_c_during_simulate_prints_one_line_and_leaves_nothing(tmp_path):
    exe = Path(sys.executable).with_name("adoption")
    # a terminal's Ctrl-C: SIGINT with its default disposition in the child, whatever the test runner's is
    proc = subprocess.Popen([str(exe), "simulate", "--users", "300000", "--quiet", "--out", str(tmp_path / "big")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(6)
    ignored = _ignored_signals(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"{err!r}; child ignored signals mask {ignored}; parent SIGINT {signal.getsignal(signal.SIGINT)}"
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- reports
def test_a_dead_running_run_reads_as_interrupted_in_the_index(tmp_path):
    from adoption.reports import write_index

    run = tmp_path / "conversion" / "20260101T000000-abcdef"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"report": "conversion", "status": "running", "pid": 2**22 + 11,
                                              "host": os.uname().nodename, "started": "2026-01-01T00:00:00"}))
    (run / "params.json").write_text(json.dumps({"events": "<script>alert(1)</script>"}))
    page = write_index(tmp_path).read_text()
    assert "interrupted" in page and "<script>" not in page and "&lt;script&gt;" in page


def test_the_index_escapes_run_folder_names(tmp_path):
    from adoption.reports import write_index

    run = tmp_path / "conversion" / "x' onmouseover='alert(1)"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"report": "conversion", "status": "ok"}))
    page = write_index(tmp_path).read_text()
    assert "onmouseover='alert" not in page


def test_relative_events_paths_are_made_absolute_before_the_run(tmp_path, monkeypatch):
    from adoption.reports import resolve_paths

    monkeypatch.chdir(tmp_path)
    assert resolve_paths({"events": "logs/mine", "seed": 3}) == {"events": str(tmp_path / "logs" / "mine"),
                                                                 "seed": 3}


def test_sweep_keys_cover_every_setting():
    from adoption.sweep import point_key

    base = point_key(0, "default", {"n_users": 100}, 0, 7, 0.5)
    assert base != point_key(0, "no_red_packets", {"n_users": 100}, 0, 7, 0.5)
    assert base != point_key(0, "default", {"n_users": 100}, 0, 7, 0.6)
    assert base != point_key(0, "default", {"n_users": 101}, 0, 7, 0.5)
    assert base == point_key(0, "default", {"n_users": 100}, 0, 7, 0.5)


# ------------------------------------------------------------ a log too big for memory
def test_a_log_too_big_for_pandas_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    """Refused in one line before any table is read (not killed by the system minutes later), with the way
    out: DuckDB where the command has it. The estimate counts the Parquet footers' rows and a CSV's bytes."""
    import adoption.log.eventlog as eventlog
    import adoption.processes as processes
    from adoption.datasets.example import example_path
    from adoption.log.eventlog import EventLog

    needed = eventlog.memory_needed(example_path())
    rows = needed // eventlog.MEMORY_PER_ROW
    assert rows > 100_000  # the example's rows, every table's
    EventLog(**full_tables()).write(tmp_path / "csv", format="csv")
    assert 0 < eventlog.memory_needed(tmp_path / "csv") < 2**20
    assert eventlog.memory_needed(tmp_path / "none") is None  # (its reading says why)

    def reading(*args, **kwargs):
        raise AssertionError("the log was read")

    monkeypatch.setattr(processes, "memory_allowed", lambda: needed - 1)
    monkeypatch.setattr(eventlog, "read_tables", reading)
    for command, way_out in ((["activation"], "--engine duckdb"), (["validate"], "--engine duckdb"),
                             (["effect"], "a sample of its users")):
        code, out, err = _run([*command, str(example_path())], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (command, err)
        assert f"about {needed / 2**30:.0f} GB" in err and way_out in err, err
    monkeypatch.undo()
    small = tmp_path / "csv"  # (the same rules on a log of four users: quicker)
    monkeypatch.setattr(processes, "memory_allowed", lambda: eventlog.memory_needed(small) - 1)
    code, out, _ = _run(["activation", str(small), "--engine", "duckdb", "--json"], capsys)
    assert code == 0 and json.loads(out)["n"] > 0  # DuckDB streams the files: no refusal
    monkeypatch.setattr(processes, "memory_allowed", lambda: eventlog.memory_needed(small))
    code, _, _ = _run(["validate", str(small)], capsys)
    assert code == 0  # (just enough)
