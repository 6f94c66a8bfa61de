"""Real logs as databases export them: one log, many export forms, the same answers.

A simulated log is exported as a payment database would: text ids, UUIDs, every UTC offset style,
upper-case headers, an empty optional column, CSV and Parquet. Every form must give exactly the
headline and the effect estimates of the plain int64 form, through ``validate``, ``activation`` (both
engines), ``effect`` and ``funnel``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from adoption import EventLog, Scenario, simulate
from adoption.cli.main import main
from adoption.log.contract import TABLES

Export = Callable[[str, pd.DataFrame], pd.DataFrame]


@pytest.fixture(scope="module")
def log() -> EventLog:
    return simulate(Scenario(n_users=1_200, end="2014-10-31", campaign_start="2014-08-01"), seed=11)


def _ids(fmt: Callable[[str, int], str]) -> Export:
    def export(name: str, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        for col in TABLES[name].columns:
            if col.kind == "id" and col.name in out:
                values = out[col.name]
                out[col.name] = [None if pd.isna(v) else fmt(col.space, int(v)) for v in values]
        return out
    return export


def _times(suffix: str, utc: bool) -> Export:
    def export(name: str, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        for col in TABLES[name].time_columns:
            if col in out:
                stamps = out[col] - pd.Timedelta(hours=8) if utc else out[col]
                out[col] = [None if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S.%f") + suffix for t in stamps]
        return out
    return export


def _upper(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: f" {c.upper()}" for c in df.columns})


def _empty_optional(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(category=None) if name == "merchants" else df


def _uuid(space: str, value: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{space}/{value}"))


FORMS: dict[str, Export] = {
    "text ids": _ids(lambda space, v: f"{space[0]}-{v:07d}"),
    "uuids": _ids(_uuid),
    "+00 offsets": _times("+00", utc=True),
    "+0000 offsets": _times("+0000", utc=True),
    "Z offsets": _times("Z", utc=True),
    "+08:00 offsets": _times("+08:00", utc=False),
    "upper-case headers": _upper,
    "empty optional column": _empty_optional,
}


def _export(log: EventLog, folder: Path, export: Export | None, fmt: str, only: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True)
    for name, df in log.tables.items():
        if only and name not in only:
            continue
        out = export(name, df) if export else df
        if fmt == "csv":
            out.to_csv(folder / f"{name}.csv", index=False)
        else:
            out.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "meta.json").write_text(json.dumps(log.meta, default=str))
    return folder


def _json(args: list[str], capsys) -> dict:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _answers(folder: Path, capsys) -> dict:
    effect = _json(["effect", str(folder)], capsys)
    return {
        "valid": _json(["validate", str(folder)], capsys)["valid"],
        "activation": _json(["activation", str(folder)], capsys),
        "activation_duckdb": _json(["activation", "--engine", "duckdb", str(folder)], capsys),
        # hazard ratios to 7 significant digits: the fitter's convergence, not the data, decides the rest
        "effect": {k: float(f"{v:.7g}") for k, v in effect.items() if k.endswith("hazard_ratio")
                   or k.endswith("_ci_low") or k.endswith("_ci_high")},
        "funnel_conversions": _json(["funnel", str(folder)], capsys)["conversions"],
    }


#: The plain export's answers, shared by the parametrizations of the test below.
_PLAIN: dict[str, dict] = {}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("form", list(FORMS))
def test_every_export_form_gives_the_same_answers(log, tmp_path, capsys, form, fmt):
    if "plain" not in _PLAIN:  # the same for every form: computed once per test process
        _PLAIN["plain"] = _answers(_export(log, tmp_path / "plain", None, "parquet"), capsys)
    baseline = _PLAIN["plain"]
    answers = _answers(_export(log, tmp_path / "form", FORMS[form], fmt), capsys)
    assert answers == baseline
    assert answers["activation"] == answers["activation_duckdb"]


@pytest.mark.slow
def test_transfers_only_with_uuids_and_utc_offsets(log, tmp_path, capsys):
    only = ("users", "transfers", "payments", "merchants")
    plain = _json(["activation", str(_export(log, tmp_path / "plain", None, "parquet", only))], capsys)

    def export(name: str, df: pd.DataFrame) -> pd.DataFrame:
        return _times("+00", utc=True)(name, _ids(_uuid)(name, df))

    folder = _export(log, tmp_path / "uuids", export, "csv", only)
    assert _json(["activation", str(folder)], capsys) == plain
    assert _json(["activation", "--engine", "duckdb", str(folder)], capsys) == plain


def test_yuan_amounts_warn_and_can_be_read_as_yuan(log, tmp_path, capsys):
    tables = {"users": log.users, "transfers": log.transfers.assign(amount_cents=log.transfers["amount_cents"] / 100)}
    folder = tmp_path / "yuan"
    folder.mkdir()
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    code = main(["validate", str(folder)])
    _, err = capsys.readouterr()
    assert "adoption: warning: transfers.amount_cents" in err and "--amount-unit yuan" in err
    assert code in (0, 1)
    code = main(["validate", "--amount-unit", "yuan", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0 and "warning" not in err, err


def test_text_ids_are_shown_as_written(tmp_path):
    users = pd.DataFrame({"user_id": ["alice", "bob"], "joined_at": ["2014-01-01 00:00:00+00"] * 2})
    transfers = pd.DataFrame({"transfer_id": ["t-1"], "sender_id": ["alice"], "receiver_id": ["carol"],
                              "sent_at": ["2014-02-01T08:00:00Z"], "amount_cents": [500]})
    report = EventLog(users=users, transfers=transfers).validate()
    assert report.lines() == ["transfers.receiver_id: 1 row not found in users.user_id (examples: transfer_id=t-1)"]


def test_unknown_columns_are_named_in_the_summary(tmp_path, capsys):
    folder = tmp_path / "log"
    folder.mkdir()
    pd.DataFrame({"USER_ID": [1, 2], "joined_at": ["2014-01-01"] * 2, "note": ["a", "b"]}).to_csv(
        folder / "users.csv", index=False)
    pd.DataFrame({"transfer_id": [1], "sender_id": [1], "receiver_id": [2], "sent_at": ["2014-02-01"],
                  "amount_cents": [500]}).to_csv(folder / "transfers.csv", index=False)
    assert main(["validate", str(folder)]) == 0
    out, _ = capsys.readouterr()
    assert "users: ignored columns not in the contract: note" in out
