"""The activation table: a hand-built log with every tricky case, and the two engines row for row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from adoption import EventLog, load_example
from adoption.analysis.activation import COLUMNS, activation_table
from adoption.datasets.example import example_path
from adoption.errors import InputError, ParameterError
from adoption.log.contract import DEFINITIONS

T = pd.Timestamp


def tricky_log() -> EventLog:
    """Window 2015-01-01 .. 2015-07-01. One user per tricky case (see the expected table below)."""
    users = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6, 7, 8],
                          "joined_at": [T("2014-01-01")] * 8,
                          "left_at": [pd.NaT, pd.NaT, T("2015-02-01"), pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.NaT]})
    groups = pd.DataFrame({"group_id": [10], "kind": ["family"]})
    members = pd.DataFrame({"group_id": [10, 10, 10], "user_id": [1, 2, 4]})
    packets = pd.DataFrame({"packet_id": [100, 101], "sender_id": [1, 1],
                            "sent_at": [T("2015-01-05 09:00"), T("2015-02-01")], "amount_cents": [1000, 200],
                            "shares": [3, 1], "group_id": pd.array([10, None], dtype="Int64"),
                            "recipient_id": pd.array([None, 5], dtype="Int64")})
    claims = pd.DataFrame({"packet_id": [100, 100, 101], "receiver_id": [2, 4, 5],
                           "claimed_at": [T("2015-01-05 10:00"), T("2015-01-05 12:00"), T("2015-02-01")],
                           "amount_cents": [300, 500, 200]})
    transfers = pd.DataFrame({
        "transfer_id": [1, 2, 3, 4, 5, 6],
        "sender_id": [1, 1, 4, 1, 1, 7],
        "receiver_id": [2, 3, 1, 6, 7, 1],
        "sent_at": [T("2015-01-06"), T("2015-01-07"), T("2015-04-05 12:00"), T("2014-12-22"), T("2014-12-01"),
                    T("2015-01-10")],
        "amount_cents": [5000, 800, 100, 2000, 700, 900]})
    payments = pd.DataFrame({"payment_id": [1, 2, 3, 4], "user_id": [1, 2, 6, 7], "merchant_id": [9, 9, 9, 9],
                             "paid_at": [T("2015-01-02"), T("2015-01-15 10:00"), T("2015-01-11"), T("2014-12-10")],
                             "amount_cents": [100, 200, 300, 400]})
    meta = {"window_start": "2015-01-01", "window_end": "2015-07-01"}
    return EventLog(users=users, groups=groups, group_members=members, red_packets=packets,
                    red_packet_claims=claims, transfers=transfers, payments=payments, meta=meta)


EXPECTED = pd.DataFrame({
    # 1 organic: sent a transfer on 2014-12-01 and paid on 01-02; first receipt on 01-10
    # 2 second receipt (a transfer on 01-06) does not move time zero; pays 10 days after the first claim
    # 3 leaves on 02-01 before activating (competing event)
    # 4 activates exactly at the 90-day horizon (sends a transfer)
    # 5 receives a one-to-one packet and never acts: censored at the window end (150 days)
    # 6 exposed 10 days before the window (delayed entry), activates 20 days after exposure
    # 7 exposed and activated before the window: never at risk, dropped; 8 never received: not in the table
    "user_id": [1, 2, 3, 4, 5, 6],
    "cohort": ["organic", "receipt", "receipt", "receipt", "receipt", "receipt"],
    "entry": [np.nan, 0.0, 0.0, 0.0, 0.0, 10.0],
    "duration": [np.nan, 10.0, 25.0, 90.0, 150.0, 20.0],
    "event": [False, True, False, True, False, True],
    "event_type": [0, 1, 2, 1, 0, 1],
    "first_kind": ["transfer", "red_packet", "transfer", "red_packet", "red_packet", "transfer"],
    "first_group": [False, True, False, True, False, False],
    "first_amount_cents": [900, 300, 800, 500, 200, 2000],
    "senders_7d": [1, 1, 1, 1, 1, 1],
    "n_groups": [1, 1, 0, 1, 0, 0],
})


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_hand_built_log_gives_the_hand_computed_table(engine):
    table = activation_table(tricky_log(), engine=engine)
    assert list(table.columns) == list(COLUMNS)
    got = table[list(EXPECTED.columns)].astype(object).where(table[list(EXPECTED.columns)].notna(), None)
    want = EXPECTED.astype(object).where(EXPECTED.notna(), None)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert table.loc[table.user_id == 2, "exposed_at"].item() == T("2015-01-05 10:00")
    assert table.loc[table.user_id == 1, "activated_at"].item() == T("2014-12-01")  # its transfer to user 7


@pytest.mark.slow
def test_engines_agree_row_for_row_on_the_example(tmp_path, monkeypatch):
    # with the covariates, DuckDB finds the first receipts and the claims in the reciprocity spans in SQL;
    # without them (all the definitions at once, as the command asks), in arrays as the receipts stream past,
    # or, with the arrays turned off, in SQL again
    from adoption.analysis import activation_arrays
    from adoption.analysis.activation_columns import HEADLINE_COLUMNS
    from adoption.analysis.activation_sql import activation_tables_duckdb

    log = load_example()
    tables = {}
    for definition in DEFINITIONS:
        tables[definition] = a = activation_table(log, definition)
        b = activation_table(example_path(), definition, engine="duckdb")
        pd.testing.assert_frame_equal(a, b)
    for dense_max in (activation_arrays.DENSE_MAX, 0):
        monkeypatch.setattr(activation_arrays, "DENSE_MAX", dense_max)
        narrow = activation_tables_duckdb(example_path(), DEFINITIONS, covariates=[])
        for definition in DEFINITIONS:
            pd.testing.assert_frame_equal(narrow[definition], tables[definition][list(HEADLINE_COLUMNS)])


def test_a_table_without_covariates_is_the_headline_columns_of_the_whole_table_in_both_engines(tmp_path):
    from adoption.analysis.activation_columns import HEADLINE_COLUMNS

    log = tricky_log()
    folder = log.write(tmp_path / "log")
    for definition in ("first_action", "first_payment"):
        whole = activation_table(log, definition)
        narrow = activation_table(log, definition, covariates=False)
        assert list(narrow.columns) == list(HEADLINE_COLUMNS)
        pd.testing.assert_frame_equal(narrow, whole[list(HEADLINE_COLUMNS)])
        pd.testing.assert_frame_equal(activation_table(folder, definition, engine="duckdb", covariates=False), narrow)


@pytest.mark.parametrize("path", ["arrays", "packed", "two passes"])
@pytest.mark.parametrize("ids", ["small", "beyond_32_bits"])
def test_receipts_at_the_same_instant_break_ties_alike_in_both_engines(tmp_path, monkeypatch, ids, path):
    """Time, then red packet before transfer, then the larger amount, then the lower id, with small ids
    and with ids too large for any packing into one 64-bit key; DuckDB finds the first receipts in arrays
    indexed by the user id (where the receipt ids fit 32 bits, with the covariates or without), or else, with
    the covariates, beside the first week's receipts in SQL and, without them, by one minimum of the
    tie-break packed into 128 bits or (where it cannot be packed) by the earliest instant and a second
    pass."""
    import adoption.analysis.activation_sql as activation_sql
    from adoption.analysis import activation_arrays
    from adoption.analysis.activation_columns import HEADLINE_COLUMNS

    if path != "arrays":
        monkeypatch.setattr(activation_arrays, "DENSE_MAX", 0)
    if path == "two passes":
        monkeypatch.setattr(activation_sql, "_PACKED_BITS", 0)
    used = []

    def spy_on(name):
        method = getattr(activation_sql._TableBuilder, name)

        def spy(self, *args):
            found = method(self, *args)
            used.append((name, found is not None))
            return found
        return spy

    for name in ("_dense_firsts", "_packed_firsts"):
        monkeypatch.setattr(activation_sql._TableBuilder, name, spy_on(name))
    log = tricky_log()
    at, shift = T("2015-03-01 08:00"), (0 if ids == "small" else 2**33)
    packets = pd.DataFrame({"packet_id": [200 + shift, 201 + shift, 202 + shift], "sender_id": [1, 4, 5],
                            "sent_at": [at - pd.Timedelta("1h")] * 3, "amount_cents": [400, 400, 900],
                            "shares": [1, 1, 1], "group_id": pd.array([10, None, None], dtype="Int64"),
                            "recipient_id": pd.array([None, 8, 8], dtype="Int64")})
    claims = pd.DataFrame({"packet_id": [200 + shift, 201 + shift, 202 + shift], "receiver_id": [8, 8, 8],
                           "claimed_at": [at, at, at], "amount_cents": [400, 400, 300]})
    transfers = pd.DataFrame({"transfer_id": [7 + shift], "sender_id": [2], "receiver_id": [8], "sent_at": [at],
                              "amount_cents": [9000]})
    log = EventLog(**{**log.tables, "red_packets": pd.concat([log.red_packets, packets], ignore_index=True),
                      "red_packet_claims": pd.concat([log.red_packet_claims, claims], ignore_index=True),
                      "transfers": pd.concat([log.transfers, transfers], ignore_index=True)}, meta=log.meta)
    folder = log.write(tmp_path / "log")
    a, b = activation_table(log), activation_table(folder, engine="duckdb")
    pd.testing.assert_frame_equal(a, b)
    narrow = activation_table(folder, engine="duckdb", covariates=False)
    pd.testing.assert_frame_equal(narrow, a[list(HEADLINE_COLUMNS)])
    arrays = path == "arrays" and ids == "small"
    packed = path == "packed" or (path == "arrays" and not arrays)
    # (the table with the covariates, then the narrow one)
    assert used == [("_dense_firsts", arrays)] * 2 + ([] if arrays else [("_packed_firsts", packed)])
    # the two 400-cent claims tie on time, kind and amount: the lower packet id, the group packet, wins
    row = b[b.user_id == 8].iloc[0]
    assert (row["first_kind"], row["first_amount_cents"], bool(row["first_group"])) == ("red_packet", 400, True)


@pytest.mark.parametrize("oddity", ["receiver not a user", "negative amount"])
def test_the_arrays_give_the_first_receipts_up_to_sql_on_a_log_not_checked(tmp_path, monkeypatch, oddity):
    """A receipt the arrays cannot take (a receiver outside the users' ids, an amount outside the packed
    tie-break) stops them part-way, and the SQL finds the first receipts as the pandas engine does."""
    import adoption.analysis.activation_sql as activation_sql
    from adoption.analysis.activation_columns import HEADLINE_COLUMNS

    used = []
    dense_firsts = activation_sql._TableBuilder._dense_firsts
    monkeypatch.setattr(activation_sql._TableBuilder, "_dense_firsts",
                        lambda self, *args: used.append(dense_firsts(self, *args)) or used[-1])
    log = tricky_log()
    odd = pd.DataFrame({"transfer_id": [99], "sender_id": [1], "receiver_id": [5], "sent_at": [T("2015-01-20")],
                        "amount_cents": [300]})
    if oddity == "receiver not a user":
        odd["receiver_id"] = 10**6
    elif oddity == "negative amount":
        odd["amount_cents"] = -300
    log = EventLog(**{**log.tables, "transfers": pd.concat([log.transfers, odd], ignore_index=True)}, meta=log.meta)
    folder = log.write(tmp_path / "log")
    narrow = activation_table(folder, engine="duckdb", covariates=False, validate=False)
    expected = activation_table(log)[list(HEADLINE_COLUMNS)]
    pd.testing.assert_frame_equal(narrow, expected)
    assert used[0] is None


def test_engines_agree_on_csv_and_partial_logs(tmp_path):
    log = tricky_log()
    folder = log.write(tmp_path / "csv", format="csv")
    pd.testing.assert_frame_equal(activation_table(log), activation_table(folder, engine="duckdb"))
    minimal = EventLog(users=log.users, red_packet_claims=log.red_packet_claims, transfers=log.transfers,
                       payments=log.payments, meta=log.meta)
    folder = minimal.write(tmp_path / "minimal")
    a, b = activation_table(minimal), activation_table(folder, engine="duckdb")
    pd.testing.assert_frame_equal(a, b)
    assert a["first_group"].isna().all() or not a["first_group"].any()  # no packets table: group unknown
    for gone in ("transfers", "red_packet_claims"):  # receipts of one kind only (the first week's senders too)
        partial = EventLog(**{name: t for name, t in log.tables.items() if name != gone}, meta=log.meta)
        folder = partial.write(tmp_path / f"without_{gone}")
        pd.testing.assert_frame_equal(activation_table(partial), activation_table(folder, engine="duckdb"))


def test_the_command_opens_a_partial_log_once(tmp_path, capsys, monkeypatch):
    # a log without packets or card bindings defines some definitions only: the ones it cannot define are
    # left out of the table of definitions, not tried again in a second opening of the log
    import adoption.log.sql as log_sql
    from adoption.cli.main import main

    log = tricky_log()
    folder = EventLog(users=log.users, red_packet_claims=log.red_packet_claims, transfers=log.transfers,
                      payments=log.payments, meta=log.meta).write(tmp_path / "minimal")
    openings = []
    opened = log_sql.open_log
    monkeypatch.setattr(log_sql, "open_log", lambda *a, **k: openings.append(a) or opened(*a, **k))
    assert main(["activation", "--engine", "duckdb", "--json", str(folder)]) == 0
    by_duckdb = json.loads(capsys.readouterr().out)
    assert len(openings) == 1
    assert main(["activation", "--json", str(folder)]) == 0
    assert by_duckdb == json.loads(capsys.readouterr().out)
    assert [row["definition"] for row in by_duckdb["by_definition"]] == [d for d in DEFINITIONS if d != "card_binding"]


def test_other_definitions():
    log = tricky_log()
    binding = EventLog(**{**log.tables, "card_bindings": pd.DataFrame({"user_id": [2], "bound_at": [T("2015-01-06")]})},
                       meta=log.meta)
    table = activation_table(binding, "card_binding")
    row = table[table.user_id == 2].iloc[0]
    assert row["event"] and row["duration"] == pytest.approx(0.5833333, abs=1e-6)
    k = activation_table(log, "k_payments", k=1, d=1)
    assert k.loc[k.user_id == 2, "duration"].item() == 10.0
    with pytest.raises(ParameterError, match="definition"):
        activation_table(log, "vibes")
    with pytest.raises(ParameterError, match="k, d"):
        activation_table(log, "k_payments", k=0)
    with pytest.raises(InputError, match="card_bindings"):
        activation_table(log, "card_binding")


def test_no_receipts_is_a_clear_error():
    log = tricky_log()
    empty = EventLog(users=log.users, payments=log.payments, meta=log.meta)
    with pytest.raises(InputError, match="no receipts"):
        activation_table(empty)


def _reciprocity_log() -> EventLog:
    """User 10 receives a group packet in group 1 and a transfer from user 20, sends straight back to both
    (reciprocity), then sends a packet into another group, then pays a merchant."""
    day = T("2015-01-05 10:00")
    users = pd.DataFrame({"user_id": [10, 20, 30], "joined_at": [T("2014-01-01")] * 3})
    groups = pd.DataFrame({"group_id": [1, 2]})
    members = pd.DataFrame({"group_id": [1, 1, 2, 2], "user_id": [10, 30, 10, 20]})
    packets = pd.DataFrame({"packet_id": [1, 2, 3], "sender_id": [30, 10, 10],
                            "sent_at": [day, day + pd.Timedelta(hours=2), day + pd.Timedelta(days=3)],
                            "amount_cents": [500, 300, 300], "shares": [2, 2, 2], "group_id": [1, 1, 2]})
    claims = pd.DataFrame({"packet_id": [1, 2, 3], "receiver_id": [10, 30, 20],
                           "claimed_at": [day + pd.Timedelta(minutes=5), day + pd.Timedelta(hours=2, minutes=1),
                                          day + pd.Timedelta(days=3, minutes=1)], "amount_cents": [200, 100, 100]})
    transfers = pd.DataFrame({"transfer_id": [1, 2], "sender_id": [20, 10], "receiver_id": [10, 20],
                              "sent_at": [day, day + pd.Timedelta(hours=5)], "amount_cents": [1000, 1000]})
    payments = pd.DataFrame({"payment_id": [1], "user_id": [10], "merchant_id": [1],
                             "paid_at": [day + pd.Timedelta(days=5)], "amount_cents": [100]})
    merchants = pd.DataFrame({"merchant_id": [1], "accepts_from": [T("2014-06-01")]})
    return EventLog(users=users, groups=groups, group_members=members, red_packets=packets,
                    red_packet_claims=claims, transfers=transfers, payments=payments, merchants=merchants,
                    meta={"window_start": "2015-01-01", "window_end": "2015-03-01"})


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_sending_straight_back_is_not_adoption(engine, tmp_path):
    log = _reciprocity_log()
    source = log if engine == "pandas" else log.write(tmp_path / "log")
    day = T("2015-01-05 10:00")
    when = {d: activation_table(source, d, engine=engine).set_index("user_id")["activated_at"]
            for d in ("first_action", "first_action_no_reciprocity", "first_payment")}
    assert when["first_action"][10] == day + pd.Timedelta(hours=2)  # the packet back into group 1
    assert when["first_action_no_reciprocity"][10] == day + pd.Timedelta(days=3)  # the packet into group 2
    assert when["first_payment"][10] == day + pd.Timedelta(days=5)


@pytest.mark.parametrize("oddity", ["a packet id twice", "a claim of no packet"])
def test_the_arrays_and_the_sql_read_a_log_not_checked_alike(tmp_path, monkeypatch, oddity):
    """A packet id twice (one to a group, one not, from another sender) or a claim of a packet not in the
    log: the first receipts' groups, the reciprocity definition and the first week's senders come out of the
    arrays as out of the SQL."""
    from adoption.analysis import activation_arrays
    from adoption.analysis.activation_sql import activation_tables_duckdb

    log = _reciprocity_log()
    packets, claims = log.red_packets, log.red_packet_claims
    if oddity == "a packet id twice":
        packets = pd.concat([packets, packets.iloc[[0]]], ignore_index=True).astype({"group_id": "Int64"})
        packets.loc[len(packets) - 1, ["group_id", "sender_id"]] = [pd.NA, 20]
    else:
        claims = pd.concat([claims, claims.iloc[[0]].assign(packet_id=99)], ignore_index=True)
    folder = log.write(tmp_path / "log")
    packets.to_parquet(folder / "red_packets.parquet", index=False)
    claims.to_parquet(folder / "red_packet_claims.parquet", index=False)
    definitions = [d for d in DEFINITIONS if d != "card_binding"]  # (the log has no card bindings)
    arrays = activation_tables_duckdb(folder, definitions, covariates=["first_action"], validate=False)
    monkeypatch.setattr(activation_arrays, "DENSE_MAX", 0)
    sql = activation_tables_duckdb(folder, definitions, covariates=["first_action"], validate=False)
    for definition in definitions:
        pd.testing.assert_frame_equal(arrays[definition], sql[definition])
    assert arrays["first_action"]["senders_7d"].sum() > 0


def test_joins_kept_as_planned_give_the_same_tables_and_leave_the_setting_as_it_was(tmp_path, monkeypatch):
    """The sends and the claims in the reciprocity spans are joined with DuckDB's side-swapping pass turned
    off; a DuckDB without that pass runs them as they are: the same tables either way, and the pass is on
    again for the statements after."""
    from contextlib import nullcontext

    from adoption.analysis import activation_sql
    from adoption.analysis.activation_sql import activation_tables_duckdb

    folder = _reciprocity_log().write(tmp_path / "log")
    definitions = ["first_action", "first_action_no_reciprocity"]
    settings = []
    plain_once = activation_sql._TableBuilder._once

    def once(builder, name, sql, params=None, **kw):
        out = plain_once(builder, name, sql, params, **kw)
        settings.append((name, builder.sql.scalar("SELECT current_setting('disabled_optimizers')")))
        return out

    monkeypatch.setattr(activation_sql._TableBuilder, "_once", once)
    kept = activation_tables_duckdb(folder, definitions)
    assert ("candidate_sends", "") in settings and ("reciprocity_claims", "") in settings
    monkeypatch.setattr(activation_sql._TableBuilder, "_sides_as_planned", lambda builder: nullcontext())
    plain = activation_tables_duckdb(folder, definitions)
    for definition in definitions:
        pd.testing.assert_frame_equal(kept[definition], plain[definition])


def test_one_opening_builds_every_definition_s_table_as_alone(tmp_path):
    from adoption.analysis.activation_columns import HEADLINE_COLUMNS
    from adoption.analysis.activation_sql import activation_tables_duckdb

    log = tricky_log()
    folder = log.write(tmp_path / "log")
    tables = activation_tables_duckdb(folder, DEFINITIONS, covariates=["first_action"], optional=["card_binding"])
    assert list(tables) == [d for d in DEFINITIONS if d != "card_binding"]  # the log has no card_bindings
    for definition, table in tables.items():
        alone = activation_table(folder, definition, engine="duckdb")
        if definition == "first_action":
            pd.testing.assert_frame_equal(table, alone)
        else:  # without covariates: the columns a headline needs, the same values
            assert list(table.columns) == list(HEADLINE_COLUMNS)
            pd.testing.assert_frame_equal(table, alone[list(HEADLINE_COLUMNS)])
    with pytest.raises(InputError, match="card_bindings"):  # not optional: refused with the reason
        activation_tables_duckdb(folder, ["first_action", "card_binding"])


@pytest.mark.slow  # (every definition built twice: 15 s)
def test_a_big_cohort_counted_on_the_grid_by_duckdb_gives_the_headline_of_its_rows(monkeypatch):
    import adoption.analysis.survival as survival
    from adoption.analysis.activation_sql import activation_tables_duckdb, headline_tables_duckdb
    from adoption.analysis.headline import activation_headline, headline_by_definition
    from adoption.analysis.survival import ActivationCox

    # the example's 16,000 receivers made "big": above the threshold, every fit puts them on the grid
    monkeypatch.setattr(survival, "AGGREGATE_ABOVE", 1000)
    definitions = ["first_action", "k_payments"]
    counted = headline_tables_duckdb(example_path(), definitions)
    rows = activation_tables_duckdb(example_path(), definitions, covariates=())
    for definition in definitions:
        table, whole = counted[definition], rows[definition]
        assert len(table) < len(whole) and table["weight"].sum() == len(whole)
        mine, theirs = (activation_headline(t, horizon=90, definition=definition).to_dict() for t in (table, whole))
        groups = [*mine.pop("by_first_kind"), *mine.pop("by_group_or_direct")]
        their_groups = [*theirs.pop("by_first_kind"), *theirs.pop("by_group_or_direct")]
        assert mine == theirs  # the same cells, weighted instead of repeated: the same figures
        for a, b in zip(groups, their_groups, strict=True):
            assert (a["cohort"], a["n"], a["events"]) == (b["cohort"], b["n"], b["events"])
            # a group of 1,000 receivers or fewer is fitted exactly from rows, on the grid from counts
            assert a == b if b["n"] > 1000 else abs(a["cumulative_incidence"] - b["cumulative_incidence"]) < 1e-3
    monkeypatch.undo()  # back to 200,000: the example's receivers come as their rows
    assert "weight" not in headline_tables_duckdb(example_path(), ["first_action"])["first_action"]
    monkeypatch.setattr(survival, "AGGREGATE_ABOVE", 1000)
    by_definition = headline_by_definition(example_path(), engine="duckdb")
    pd.testing.assert_frame_equal(by_definition, headline_by_definition(example_path(), engine="duckdb",
                                                                        tables=rows | counted), check_exact=True)
    with pytest.raises(InputError, match="weight"):  # counts carry no covariates to regress on
        ActivationCox().fit(counted["first_action"])


@pytest.mark.parametrize("log", [pytest.param("example", marks=pytest.mark.slow), "tricky with friends",
                                 "a friend who is no user"])
def test_friends_covariates_from_arrays_are_the_sql_s(tmp_path, monkeypatch, log):
    """n_friends and paying_friends counted from arrays indexed by the user id are the SQL join's: on the
    example, on the tricky log with friendships dated before, after and at no time, and on a log not checked
    whose friend is no user (the arrays give the work back to the SQL). So are the first week's senders
    (senders_7d) kept by the first receipts' pass in arrays (the whole tables are compared)."""
    from dataclasses import replace

    import adoption.analysis.activation_sql as activation_sql
    from adoption.analysis import activation_arrays

    if log == "example":
        folder = example_path()
    else:
        friend = 99 if log == "a friend who is no user" else 6
        friendships = pd.DataFrame({"user_a": [1, 2, 4, 3, 1, 2], "user_b": [2, 4, 5, friend, 6, 5],
                                    "since": [T("2015-01-03"), pd.NaT, T("2015-03-01"), T("2014-06-01"), pd.NaT,
                                              T("2015-01-04")]})
        folder = tmp_path / "log"
        replace(tricky_log(), friendships=friendships).write(folder)
    used = []
    dense_friends = activation_sql._TableBuilder._dense_friends

    def spy(self, *args):
        found = dense_friends(self, *args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(activation_sql._TableBuilder, "_dense_friends", spy)
    tables = {}
    for dense_max in (activation_arrays.DENSE_MAX, 0):
        monkeypatch.setattr(activation_arrays, "DENSE_MAX", dense_max)
        # (with the reciprocity definition, the packets' pass looks up the claims in its spans and those in
        # the first weeks together)
        tables[dense_max] = activation_sql.activation_tables_duckdb(
            folder, ["first_action", "first_action_no_reciprocity"], validate=False)
    assert used == [log != "a friend who is no user"] * 2 + [False] * 2  # (each definition, arrays on, then off)
    arrays, sql = tables.values()
    for definition, table in arrays.items():
        pd.testing.assert_frame_equal(table, sql[definition])
        assert table["n_friends"].sum() > 0 and table["paying_friends"].sum() > 0


@pytest.mark.parametrize("log", ["example", "tricky", "reciprocity"])
def test_counted_tables_from_arrays_are_the_sql_s_cells(tmp_path, monkeypatch, log):
    """The counted tables from arrays indexed by the user id are DuckDB's, cell for cell, for every definition
    the log defines, with and without the follow-up ended at a horizon (the tricky log: leaving before and
    after the first receipt, exposures before the window, organic adopters, activation at the horizon)."""
    import adoption.analysis.survival as survival
    from adoption.analysis import activation_arrays
    from adoption.analysis.activation_sql import headline_tables_duckdb

    monkeypatch.setattr(survival, "AGGREGATE_ABOVE", 0)  # every table counted
    folder = example_path() if log == "example" else \
        (tricky_log() if log == "tricky" else _reciprocity_log()).write(tmp_path / "log")
    keys = ["cohort", "entry", "duration", "event", "event_type", "first_kind", "first_group"]
    for until in (None, 30.0):
        tables = {}
        for dense_max in (activation_arrays.DENSE_MAX, 0):
            with monkeypatch.context() as patch:
                patch.setattr(activation_arrays, "DENSE_MAX", dense_max)
                tables[dense_max] = headline_tables_duckdb(folder, DEFINITIONS, optional=DEFINITIONS,
                                                           until=None if until is None else dict.fromkeys(DEFINITIONS, until))
        arrays, sql = tables.values()
        assert list(arrays) == list(sql) and len(arrays) >= 4
        for definition in arrays:
            a, b = (t.sort_values(keys, ignore_index=True) for t in (arrays[definition], sql[definition]))
            pd.testing.assert_frame_equal(a, b)


def test_a_follow_up_ended_at_the_horizon_counts_the_cells_follow_up_until_leaves(monkeypatch):
    import adoption.analysis.survival as survival
    from adoption.analysis.activation_sql import headline_tables_duckdb
    from adoption.analysis.survival import WEIGHT, follow_up_until

    keys = ["cohort", "entry", "duration", "event", "event_type", "first_kind", "first_group"]

    def cells(table: pd.DataFrame) -> pd.DataFrame:
        table = table.astype({"cohort": "string", "first_kind": "string"})
        weight = table[WEIGHT] if WEIGHT in table else pd.Series(1, index=table.index)
        return (table.assign(**{WEIGHT: weight}).groupby(keys, dropna=False)[WEIGHT].sum().reset_index()
                .sort_values(keys, ignore_index=True))

    # rows (the example's cohort is small) and counts (the threshold lowered): both ended as follow_up_until ends them
    for threshold in (survival.AGGREGATE_ABOVE, 1000):
        monkeypatch.setattr(survival, "AGGREGATE_ABOVE", threshold)
        whole, ended = (headline_tables_duckdb(example_path(), ["k_payments"], until=until)["k_payments"]
                        for until in (None, {"k_payments": 30.0}))
        assert (WEIGHT in ended) == (threshold == 1000) and ended["duration"].max() == 30.0
        pd.testing.assert_frame_equal(cells(ended), cells(follow_up_until(whole, 30.0)))
        if threshold == 1000:  # fewer cells, and the text as categories (no string per row)
            assert len(ended) < len(whole) and isinstance(ended["cohort"].dtype, pd.CategoricalDtype)


def test_a_csv_log_parsed_once_or_read_by_each_statement_gives_the_same_table(tmp_path, monkeypatch):
    """DuckDB parses a small CSV table once, into memory, and reads a large one where each statement needs it
    (``adoption.log.sql.CSV_IN_MEMORY_BYTES``): the same table either way, row for row."""
    import adoption.log.sql as sql
    from adoption import Scenario, simulate

    folder = simulate(Scenario(n_users=1_500, end="2014-08-31"), seed=4).write(tmp_path / "log", format="csv")
    parsed_once = activation_table(folder, engine="duckdb")
    monkeypatch.setattr(sql, "CSV_IN_MEMORY_BYTES", 0)
    pd.testing.assert_frame_equal(activation_table(folder, engine="duckdb"), parsed_once)
    assert len(parsed_once) > 100


@pytest.mark.slow  # (four CSV logs read by DuckDB)
def test_counted_tables_of_partial_and_text_id_logs_give_the_headline_of_their_rows(tmp_path, monkeypatch):
    import adoption.analysis.survival as survival
    from adoption import Scenario, simulate
    from adoption.analysis.activation_sql import headline_tables_duckdb
    from adoption.analysis.headline import activation_headline

    # every cohort counted and every fit on the grid (threshold 0): rows and counts must give the same figures
    # (on a log of 3,000 users: the example's 20,000 took 12 s and test nothing more)
    monkeypatch.setattr(survival, "AGGREGATE_ABOVE", 0)
    log = simulate(Scenario(n_users=3_000, end="2015-06-30", campaigns=False), seed=2)
    minimal = EventLog(users=log.users, red_packet_claims=log.red_packet_claims, transfers=log.transfers,
                       payments=log.payments, meta=log.meta)  # no packets table: every group unknown
    users = log.users.assign(user_id="u" + log.users["user_id"].astype(str))
    texts = EventLog(**{**minimal.tables, "users": users,
                        "red_packet_claims": log.red_packet_claims.assign(receiver_id="u" + log.red_packet_claims[
                            "receiver_id"].astype(str)),
                        "transfers": log.transfers.assign(sender_id="u" + log.transfers["sender_id"].astype(str),
                                                          receiver_id="u" + log.transfers["receiver_id"].astype(str)),
                        "payments": log.payments.assign(user_id="u" + log.payments["user_id"].astype(str))},
                     meta=log.meta)
    for name, source in (("minimal", minimal), ("text ids", texts)):
        folder = source.write(tmp_path / name.replace(" ", "_"), format="csv")
        counted = headline_tables_duckdb(folder, ["first_action"])["first_action"]
        rows = activation_table(folder, engine="duckdb")
        assert "weight" in counted and counted["weight"].sum() == len(rows), name
        assert activation_headline(counted).to_dict() == activation_headline(rows).to_dict(), name


@pytest.mark.parametrize(("k", "d"), [(1, 1.0), (2, 0.5), (3, 30.0)])
def test_first_payments_and_k_payments_from_one_pass_agree_with_pandas(tmp_path, k, d):
    """Asked for together, DuckDB finds each user's first payment and k_payments time in one pass over the
    payments in each user's order; alone, by a minimum and that pass apart: the tables of the pandas engine."""
    from adoption import Scenario, simulate
    from adoption.analysis.activation_sql import activation_tables_duckdb

    log = simulate(Scenario(n_users=1_500, end="2014-12-31", campaigns=False), seed=4)
    folder = log.write(tmp_path / "log")
    together = activation_tables_duckdb(folder, ["first_payment", "k_payments"], k=k, d=d, covariates=())
    for definition in ("first_payment", "k_payments"):
        expected = activation_table(log, definition, k=k, d=d, covariates=False)
        pd.testing.assert_frame_equal(together[definition], expected)
        alone = activation_tables_duckdb(folder, [definition], k=k, d=d, covariates=())[definition]
        pd.testing.assert_frame_equal(alone, expected)
    fewer = together["k_payments"]["event"].sum(), together["first_payment"]["event"].sum()
    assert fewer[0] == fewer[1] if k == 1 else fewer[0] < fewer[1]  # (one payment in a day: the first payment)


@pytest.mark.parametrize("seed", range(30))
def test_first_receipts_break_ties_as_a_sort_by_five_keys_does(seed):
    """The first receipt per user by a minimum and a sort of the ties only, against the sort of every receipt
    by (user, time, kind, larger amount, lower id), on receipts with many ties and, in half the seeds, what
    a log not checked may hold (missing times, amounts and receivers, text ids)."""
    from adoption.analysis.events import first_receipts

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    received = pd.DataFrame({
        "user_id": rng.integers(0, max(1, n // 4), n),
        "t": pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="h"),
        "kind": rng.choice(["red_packet", "transfer"], n),
        "amount": rng.integers(1, 4, n).astype(float),
        "ref": rng.integers(0, 6, n),
        "sender": rng.integers(0, 9, n),
    })
    if seed % 2:
        received.loc[rng.random(n) < 0.1, "t"] = pd.NaT
        received.loc[rng.random(n) < 0.1, "amount"] = np.nan
        received["user_id"] = received["user_id"].astype(object)
        received.loc[rng.random(n) < 0.05, "user_id"] = None
        received["ref"] = [f"r{v}" for v in received["ref"]]
    by_sort = (received.assign(kind_order=(received["kind"] == "transfer").astype(np.int8))
               .sort_values(["user_id", "t", "kind_order", "amount", "ref"],
                            ascending=[True, True, True, False, True], kind="stable")
               .drop_duplicates("user_id").drop(columns="kind_order").set_index("user_id"))
    pd.testing.assert_frame_equal(first_receipts(received), by_sort)
