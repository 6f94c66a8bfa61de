"""``adoption simulate`` and the bundled example log."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import pandas as pd
import pytest

from adoption import Scenario, load_example, simulate
from adoption.cli.main import main
from adoption.datasets.example import EXAMPLE_SCENARIO, EXAMPLE_SEED, EXAMPLE_USERS, example_path
from adoption.log.checked import LogFiles
from adoption.world.tables import state_tables


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_simulate_then_validate_as_a_new_user_would(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["simulate", "--users", "2000", "--seed", "7", "--out", str(out), "--quiet"]) == 0
    assert main(["validate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "valid event log" in text and "users 2,000" in text


def test_simulate_checks_what_it_wrote_so_the_first_analysis_need_not(tmp_path, capsys):
    """The log is checked once written and remembered as checked (the first analysis reads the mark);
    --no-check leaves the check to that analysis."""
    checked, unchecked = tmp_path / "checked", tmp_path / "unchecked"
    assert main(["simulate", "--users", "300", "--set", "end=2014-02-28", "--out", str(checked), "--quiet"]) == 0
    assert main(["simulate", "--users", "300", "--set", "end=2014-02-28", "--out", str(unchecked), "--quiet",
                 "--no-check"]) == 0
    assert LogFiles.now(checked, {"amount_unit": "cents"}).checked_before()
    assert not LogFiles.now(unchecked, {"amount_unit": "cents"}).checked_before()
    (checked / "users.parquet").touch()  # a file changed since: not checked any more
    assert not LogFiles.now(checked, {"amount_unit": "cents"}).checked_before()


def test_a_log_the_simulator_wrote_against_the_contract_is_a_bug_not_bad_input(tmp_path, capsys, monkeypatch):
    simulate_module = importlib.import_module("adoption.world.simulate")  # (the package's name is the function)

    def users_twice(world):  # a simulator bug: every user written twice
        for name, frame in state_tables(world):
            yield name, pd.concat([frame, frame]) if name == "users" else frame

    monkeypatch.setattr(simulate_module, "state_tables", users_twice)
    out = tmp_path / "x"
    assert main(["simulate", "--users", "300", "--set", "end=2014-02-28", "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "breaks the contract" in err and "user_id" in err and "a bug in adoption" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / "users.parquet").exists()  # left for the report
    assert not LogFiles.now(out, {"amount_unit": "cents"}).checked_before()
    monkeypatch.setenv("ADOPTION_CACHE_DIR", "")  # nothing remembered: nothing checked (every analysis checks)
    assert main(["simulate", "--users", "300", "--set", "end=2014-02-28", "--out", str(tmp_path / "y"), "--quiet"]) == 0


def test_ctrl_c_during_the_check_says_the_log_was_written(tmp_path, capsys, monkeypatch):
    """Interrupted while checking, the log is whole (published before the check): the one line says so,
    instead of the usual "nothing half-written was kept"."""
    import adoption.log.sql as sql_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sql_module, "open_checked", interrupted)
    out = tmp_path / "x"
    assert main(["simulate", "--users", "300", "--set", "end=2014-02-28", "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == f"adoption: interrupted; the log in {out} was written whole but not checked (its first " \
                          "analysis checks it)"
    assert main(["validate", str(out)]) == 0


def test_simulate_set_and_scenario(tmp_path, capsys):
    out = tmp_path / "x"
    code = main(["simulate", "--scenario", "no_red_packets", "--users", "500", "--set", "end=2014-03-31",
                 "--set", "transfer_rate=0.01", "--out", str(out), "--quiet"])
    assert code == 0
    assert "red_packets 0" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "words"), [
    (["--set", "send_rate=-1"], "send_rate: expected a number in [0, 10]"),
    (["--set", "send_rate"], "--set: expected key=value"),
    (["--set", "nope=1"], "nope: unknown scenario parameter"),
    (["--scenario", "mars"], "unknown name 'mars'"),
    (["--users", "3"], "n_users: expected an integer in [10,"),
])
def test_bad_parameters_exit_2_with_one_line(tmp_path, capsys, args, words):
    code = main(["simulate", *args, "--out", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["simulate", "--users", "100", "--out", str(out), "--quiet"]) == 2
    assert (out / "keep.txt").read_text() == "mine"
    assert "already exists" in capsys.readouterr().err


def test_scenarios_listing(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("default", "no_red_packets", "merchant_subsidy_only", "festival_2015"):
        assert f"{name}:" in out
    assert main(["scenarios", "--parameters"]) == 0
    assert "value_money" in capsys.readouterr().out


def test_example_is_valid_and_small():
    log = load_example(validate=True)
    assert len(log.users) == EXAMPLE_USERS
    size = sum(p.stat().st_size for p in example_path().iterdir())
    assert size < 20 * 2**20


@pytest.mark.slow
def test_example_regenerates_byte_for_byte(tmp_path):
    """`make example` (the documented command) reproduces data/example exactly."""
    log = simulate(Scenario.named(EXAMPLE_SCENARIO, n_users=EXAMPLE_USERS), seed=EXAMPLE_SEED)
    assert _digest(log.write(tmp_path / "example")) == _digest(example_path())
