"""``adoption activation`` and ``adoption effect`` as batch users call them."""

from __future__ import annotations

import json

import pytest

from adoption.cli.main import main
from adoption.datasets.example import example_path
from adoption.datasets.synthetic import selection_log


def _json(args, capsys) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_activation_json_on_the_example(capsys, engine):
    out = _json(["activation", str(example_path()), "--json", "--engine", engine], capsys)
    assert {"cohort", "horizon_days", "cumulative_incidence", "ci_low", "ci_high"} <= set(out)
    assert out["horizon_days"] == 90 and out["ci_low"] < out["cumulative_incidence"] < out["ci_high"]
    assert 0.76 <= out["cumulative_incidence"] <= 0.84
    kinds = {r["cohort"] for r in out["by_first_kind"]}
    assert kinds == {"first receipt: red_packet", "first receipt: transfer"}
    # the headline is the share who activated before leaving; 1 - Kaplan-Meier (if nobody left) is beside it
    assert out["cumulative_incidence"] <= out["cumulative_incidence_no_leaving"] and 0 <= out["leaving"] < 0.05
    # every definition side by side, each with what it measures
    by = {r["definition"]: r for r in out["by_definition"]}
    assert set(by) == {"first_action", "first_action_no_reciprocity", "first_payment", "card_binding", "k_payments"}
    assert by["k_payments"]["cumulative_incidence"] < by["first_payment"]["cumulative_incidence"] < by["first_action"]["cumulative_incidence"]
    assert all(r["meaning"] and r["ci_low"] <= r["cumulative_incidence"] <= r["ci_high"] for r in by.values())


@pytest.mark.slow
def test_activation_text_and_other_definition(capsys):
    assert main(["activation", str(example_path()), "--horizon", "30", "--definition", "card_binding"]) == 0
    text = capsys.readouterr().out
    assert "within 30 days" in text and "all receivers" in text


def test_duckdb_out_of_its_memory_budget_says_so_in_one_line(capsys):
    assert main(["activation", str(example_path()), "--engine", "duckdb", "--memory-limit", "1MB"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "memory budget (1MB)" in err and "--memory-limit" in err
    assert main(["activation", str(example_path()), "--memory-limit", "8GB"]) == 2  # pandas has no budget


def test_effect_json(tmp_path, capsys):
    log, _ = selection_log(5_000, effect=1.0, seed=1)
    folder = log.write(tmp_path / "log")
    out = _json(["effect", str(folder), "--json"], capsys)
    for key in ("naive_hazard_ratio", "adjusted_hazard_ratio", "adjusted_ci_low", "adjusted_ci_high"):
        assert isinstance(out[key], float)
    assert out["naive_hazard_ratio"] > out["adjusted_hazard_ratio"]
    assert out["msm_ci_low"] <= 1.0 <= out["msm_ci_high"]
    assert out["lookback_warning"].startswith("receipts before 2015-01-01 are not in the log")
    assert out["dose_response"][0]["band"] == "none" and "received" in out["exposure_over_time"]
    stated = _json(["effect", str(folder), "--exposure-start", "2015-01-01", "--json"], capsys)
    assert stated["lookback_warning"] is None and stated["exposure_origin"] == "2015-01-01 00:00:00"


@pytest.mark.parametrize(("args", "code", "words"), [
    (["activation", "{log}", "--horizon", "0"], 2, "--horizon: expected a number of days > 0"),
    (["activation", "{log}", "--horizon", "-5"], 2, "--horizon"),
    (["activation", "{empty}"], 1, "no event-log tables found"),
    (["activation", "{noreceipts}"], 1, "no receipts"),
    (["effect", "{empty}"], 1, "no event-log tables found"),
    (["activation", "/no/such/folder"], 2, "no such folder"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, code, words):
    import pandas as pd

    from adoption import EventLog

    empty = tmp_path / "empty"
    empty.mkdir()
    noreceipts = EventLog(users=pd.DataFrame({"user_id": [1], "joined_at": ["2015-01-01"]}),
                          payments=pd.DataFrame({"payment_id": [1], "user_id": [1], "merchant_id": [1],
                                                 "paid_at": ["2015-01-02"], "amount_cents": [5]})
                          ).write(tmp_path / "noreceipts")
    paths = {"log": str(example_path()), "empty": str(empty), "noreceipts": str(noreceipts)}
    assert main([a.format(**paths) for a in args]) == code
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_duckdb_tables_show_their_steps_on_a_terminal_only(monkeypatch, capsys):
    import io
    import sys

    from adoption.analysis.activation_sql import headline_tables_duckdb

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    headline_tables_duckdb(example_path(), ["first_action", "card_binding"], progress=True)
    shown = screen.getvalue()
    assert all(step in shown for step in ("checking the log", "first receipts", "first_action", "card_binding"))
    assert "/4 " in shown  # four steps: the checks, the first receipts, two definitions
    screen.seek(0)
    screen.truncate()
    headline_tables_duckdb(example_path(), ["first_action"], progress=True)  # the checks remembered
    assert "opening the log" in screen.getvalue() and "checking the log" not in screen.getvalue()
    monkeypatch.undo()
    headline_tables_duckdb(example_path(), ["first_action"], progress=True)  # not a terminal: no bar
    assert capsys.readouterr().err == ""
