"""``adoption validate``: exit codes and one-line messages for every kind of bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import full_tables

from adoption import EventLog
from adoption.cli.main import main


def _minimal_csv_log(folder: Path) -> Path:
    tables = full_tables()
    folder.mkdir()
    for name in ("users", "red_packet_claims", "transfers", "payments"):
        tables[name].to_csv(folder / f"{name}.csv", index=False)
    return folder


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_negative_transfer_amount_as_a_new_user_would(tmp_path):
    """The issue's acceptance check, through the installed console script."""
    folder = _minimal_csv_log(tmp_path / "log")
    transfers = (folder / "transfers.csv").read_text().replace(",5000\n", ",-5000\n")
    (folder / "transfers.csv").write_text(transfers)
    exe = Path(sys.executable).with_name("adoption")
    proc = subprocess.run([str(exe), "validate", str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "error::UserWarning"}, check=False)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith("transfers.amount_cents:") and "> 0" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_valid_log_summary(tmp_path, capsys):
    folder = EventLog(**full_tables()).write(tmp_path / "log")
    code, out, _ = _run(["validate", str(folder)], capsys)
    assert code == 0
    assert "valid event log" in out
    assert "users 4   receivers 4   payers 2" in out
    assert "2014-01-15T00:00:00 .. 2014-03-02T19:00:00" in out


def test_valid_log_json(tmp_path, capsys):
    import json

    folder = EventLog(**full_tables()).write(tmp_path / "log")
    code, out, _ = _run(["validate", "--json", str(folder)], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["valid"] and summary["rows"]["transfers"] == 1


def _export(folder: Path) -> Path:
    """A log as a database export gives it: CSV, text ids, upper-case headers, a column of its own."""
    tables = full_tables()
    folder.mkdir()
    for name, df in tables.items():
        df = df.copy()
        for column in [c for c in df.columns if c.endswith("_id") or c in ("user_a", "user_b")]:
            df[column] = df[column].map(lambda v: "" if pd.isna(v) else f"id-{int(v)}")
        if name == "payments":
            df["Note"] = "paid"
        df.rename(columns=str.upper).to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.mark.parametrize("make", [lambda folder: EventLog(**full_tables()).write(folder), _export])
def test_both_engines_give_the_same_summary(tmp_path, capsys, make):
    import json

    folder = make(tmp_path / "log")
    answers = []
    for engine in ("pandas", "duckdb"):
        code, out, err = _run(["validate", "--json", "--engine", engine, str(folder)], capsys)
        assert code == 0, err
        answers.append(json.loads(out))
    assert answers[0] == answers[1]
    assert answers[0]["users"] == 4 and answers[0]["receivers"] == 4 and answers[0]["payers"] == 2


def test_both_engines_refuse_with_the_same_problems(tmp_path, capsys):
    import json

    tables = full_tables()
    tables["red_packet_claims"].loc[0, "packet_id"] = 999  # a claim of no packet
    tables["transfers"].loc[0, "amount_cents"] = -5  # a negative amount
    folder = EventLog(**tables).write(tmp_path / "log")
    answers = []
    for engine in ("pandas", "duckdb"):
        code, out, _ = _run(["validate", "--json", "--engine", engine, str(folder)], capsys)
        assert code == 1
        answers.append(json.loads(out))
    assert answers[0] == answers[1] and len(answers[0]["problems"]) >= 2


def test_a_memory_limit_needs_duckdb(tmp_path, capsys):
    folder = EventLog(**full_tables()).write(tmp_path / "log")
    code, _, err = _run(["validate", "--memory-limit", "1GB", str(folder)], capsys)
    assert code == 2 and "--memory-limit" in err
    code, _, err = _run(["validate", "--engine", "duckdb", "--memory-limit", "1GB", str(folder)], capsys)
    assert code == 0, err


def _bad_folder(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / case
    if case == "empty folder":
        folder.mkdir()
    elif case == "not parquet":
        folder = EventLog(**full_tables()).write(folder)
        (folder / "payments.parquet").write_text("user_id,paid_at\n1,2014-01-01\n")
    elif case == "unreadable file":
        folder = EventLog(**full_tables()).write(folder)
        (folder / "transfers.parquet").unlink()
        (folder / "transfers.parquet").symlink_to(tmp_path / "nowhere.parquet")
    elif case == "empty csv":
        folder = _minimal_csv_log(folder)
        (folder / "transfers.csv").write_text("")
    elif case == "missing users":
        folder = _minimal_csv_log(folder)
        (folder / "users.csv").unlink()
    elif case == "text in numeric column":
        folder = _minimal_csv_log(folder)
        text = (folder / "payments.csv").read_text().replace(",2500,", ",lots,")
        (folder / "payments.csv").write_text(text)
    elif case == "garbage timestamp":
        folder = _minimal_csv_log(folder)
        text = (folder / "red_packet_claims.csv").read_text().replace("2014-01-30 20:05:00", "the day after")
        (folder / "red_packet_claims.csv").write_text(text)
    elif case == "binary garbage csv":
        folder = _minimal_csv_log(folder)
        (folder / "payments.csv").write_bytes(bytes(range(256)) * 4)
    return folder


BAD = {
    "empty folder": "no event-log tables found",
    "not parquet": "payments: payments.parquet is not a readable Parquet file",
    "unreadable file": "transfers: cannot read transfers.parquet",
    "empty csv": "transfers: transfers.csv is empty",
    "missing users": "users: required table is missing",
    "text in numeric column": "payments.amount_cents: 1 row expected whole cents",
    "garbage timestamp": "red_packet_claims.claimed_at: 1 row expected a timestamp",
    "binary garbage csv": "payments",
}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_one_line_and_exit_1(tmp_path, capsys, case, engine):
    folder = _bad_folder(tmp_path, case)
    code, out, err = _run(["validate", "--engine", engine, str(folder)], capsys)
    assert code == 1, (out, err)
    text = out + err
    assert BAD[case] in text
    assert "Traceback" not in text
    problem_lines = [line for line in text.splitlines() if line.strip()]
    assert len(problem_lines) <= 3, text  # the problem (or error), plus the closing count line


@pytest.mark.parametrize("args", [["validate"], ["validate", "/definitely/not/here"], ["frobnicate"],
                                  ["validate", "--nope", "."]])
def test_usage_errors_exit_2(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:  # argparse exits itself
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_a_file_instead_of_a_folder_is_a_usage_error(tmp_path, capsys):
    file = tmp_path / "users.csv"
    file.write_text("user_id,joined_at\n1,2014-01-01\n")
    code, _, err = _run(["validate", str(file)], capsys)
    assert code == 2 and "not a folder" in err
