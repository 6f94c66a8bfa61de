"""Every rule of the event-log contract, each with a bad-input case.

Each case breaks one rule of the valid hand-built log and checks that the report names the table and
the column, counts the rows, and that nothing else is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import full_tables

from adoption import EventLog, InvalidEventLog
from adoption.log.eventlog import coerce_tables
from adoption.log.validation import validate_tables

Tables = dict[str, pd.DataFrame]


def _set(table: str, column: str, row: int, value) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        df = t[table]
        if pd.api.types.is_integer_dtype(df[column].dtype) and not isinstance(value, int | type(None)):
            df[column] = df[column].astype(object)
        if pd.api.types.is_datetime64_any_dtype(df[column].dtype) and isinstance(value, str):
            df[column] = df[column].astype(object)
        df.loc[row, column] = value
    return mutate


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].drop(columns=column)
    return mutate


def _append(table: str, row: dict) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = pd.concat([t[table], pd.DataFrame([row]).astype(t[table].dtypes.to_dict())], ignore_index=True)
    return mutate


def _then(*mutations: Callable[[Tables], None]) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        for m in mutations:
            m(t)
    return mutate


T = pd.Timestamp
# a one-to-one packet with no claims: appending variants of it breaks exactly one rule
PACKET = {"packet_id": 502, "sender_id": 1, "sent_at": T("2014-03-01"), "amount_cents": 100, "shares": 1,
          "group_id": None, "recipient_id": 2}
CASES = [
    # (id, mutation, table, column, words in the message, rows)
    ("required column", _drop_column("transfers", "amount_cents"), "transfers", "amount_cents", "required column", 1),
    ("required value", _set("users", "joined_at", 1, None), "users", "joined_at", "missing", 1),
    ("text id not in users", _set("payments", "user_id", 0, "abc"), "payments", "user_id", "not found in users", 1),
    ("fractional cents", _set("transfers", "amount_cents", 0, 12.5), "transfers", "amount_cents", "whole cents", 1),
    ("garbage timestamp", _set("red_packet_claims", "claimed_at", 0, "yesterday"), "red_packet_claims",
     "claimed_at", "timestamp", 1),
    ("unique user", _append("users", {"user_id": 1, "joined_at": T("2014-01-01"), "city": "Shenzhen",
                                      "left_at": pd.NaT}), "users", "user_id", "not unique", 2),
    ("unique merchant", _append("merchants", {"merchant_id": 100, "accepts_from": T("2014-01-01"),
                                              "category": "taxi", "city": "Beijing"}),
     "merchants", "merchant_id", "not unique", 2),
    ("unique group", _append("groups", {"group_id": 10, "kind": "work"}), "groups", "group_id", "not unique", 2),
    ("unique packet", _append("red_packets", {**PACKET, "packet_id": 500}), "red_packets", "packet_id",
     "not unique", 2),
    ("unique transfer", _append("transfers", {"transfer_id": 900, "sender_id": 1, "receiver_id": 2,
                                              "sent_at": T("2014-03-01"), "amount_cents": 1}),
     "transfers", "transfer_id", "not unique", 2),
    ("unique payment", _set("payments", "payment_id", 1, 700), "payments", "payment_id", "not unique", 2),
    ("unique scan", _set("scans", "scan_id", 1, 800), "scans", "scan_id", "not unique", 2),
    ("one binding per user", _append("card_bindings", {"user_id": 1, "bound_at": T("2014-05-01")}),
     "card_bindings", "user_id", "not unique", 2),
    ("friendship order", _append("friendships", {"user_a": 4, "user_b": 3, "since": T("2013-01-01")}),
     "friendships", "user_b", "user_a < user_b", 1),
    ("friendship duplicate", _append("friendships", {"user_a": 1, "user_b": 2, "since": T("2013-01-01")}),
     "friendships", "user_b", "duplicate (user_a, user_b)", 2),
    ("friendship user", _set("friendships", "user_b", 2, 99), "friendships", "user_b", "users.user_id", 1),
    ("member pair unique", _append("group_members", {"group_id": 10, "user_id": 1}), "group_members", "user_id",
     "duplicate (group_id, user_id)", 2),
    ("member group exists", _set("group_members", "group_id", 0, 11), "group_members", "group_id",
     "groups.group_id", 1),
    ("member user exists", _set("group_members", "user_id", 0, 42), "group_members", "user_id", "users.user_id", 1),
    ("packet amount", _append("red_packets", {**PACKET, "amount_cents": 0}), "red_packets", "amount_cents",
     "> 0", 1),
    ("packet shares", _append("red_packets", {**PACKET, "shares": 0, "recipient_id": None, "group_id": 10}),
     "red_packets", "shares", ">= 1", 1),
    ("packet both targets", _append("red_packets", {**PACKET, "group_id": 10}), "red_packets", "group_id",
     "has both", 1),
    ("one-to-one shares", _append("red_packets", {**PACKET, "shares": 2}), "red_packets", "shares",
     "one-to-one", 1),
    ("packet to self", _append("red_packets", {**PACKET, "recipient_id": 1}), "red_packets", "recipient_id",
     "sender_id", 1),
    ("claim of other's packet", _set("red_packet_claims", "receiver_id", 2, 3), "red_packet_claims",
     "receiver_id", "addressed to someone else", 1),
    ("packet no target", _set("red_packets", "recipient_id", 1, None), "red_packets", "group_id", "has neither", 1),
    ("packet sender exists", _set("red_packets", "sender_id", 0, 77), "red_packets", "sender_id",
     "users.user_id", 1),
    ("claim amount", _set("red_packet_claims", "amount_cents", 0, -3), "red_packet_claims", "amount_cents",
     "> 0", 1),
    ("claim before send", _set("red_packet_claims", "claimed_at", 0, T("2014-01-30 19:00")), "red_packet_claims",
     "claimed_at", "claimed before", 1),
    ("claims exceed shares", _then(_set("red_packets", "amount_cents", 0, 2000),
                                   _append("red_packet_claims", {"packet_id": 500, "receiver_id": 4,
                                                                 "claimed_at": T("2014-01-31"),
                                                                 "amount_cents": 1})),
     "red_packet_claims", "packet_id", "more claims than", 3),
    ("claims exceed amount", _set("red_packet_claims", "amount_cents", 1, 700), "red_packet_claims",
     "amount_cents", "more than red_packets.amount_cents", 2),
    ("claim by sender", _set("red_packet_claims", "receiver_id", 0, 1), "red_packet_claims", "receiver_id",
     "sender_id", 1),
    ("claim of unknown packet", _set("red_packet_claims", "packet_id", 2, 999), "red_packet_claims", "packet_id",
     "red_packets.packet_id", 1),
    ("transfer amount", _set("transfers", "amount_cents", 0, -100), "transfers", "amount_cents", "> 0", 1),
    ("transfer to self", _set("transfers", "receiver_id", 0, 3), "transfers", "receiver_id", "sender_id", 1),
    ("transfer receiver exists", _set("transfers", "receiver_id", 0, 55), "transfers", "receiver_id",
     "users.user_id", 1),
    ("binding user exists", _set("card_bindings", "user_id", 0, 55), "card_bindings", "user_id",
     "users.user_id", 1),
    ("payment amount", _set("payments", "amount_cents", 0, 0), "payments", "amount_cents", "> 0", 1),
    ("payment before acceptance", _set("payments", "paid_at", 1, T("2014-02-20")), "payments", "paid_at",
     "before it accepted", 1),
    ("payment merchant exists", _set("payments", "merchant_id", 0, 555), "payments", "merchant_id",
     "merchants.merchant_id", 1),
    ("payment scan exists", _set("payments", "scan_id", 0, 1), "payments", "scan_id", "scans.scan_id", 1),
    ("scan referrer exists", _set("scans", "referrer_id", 1, 66), "scans", "referrer_id", "users.user_id", 1),
    ("left before joined", _set("users", "left_at", 3, T("2013-01-01")), "users", "left_at", "joined_at", 1),
]


@pytest.mark.parametrize(("mutate", "table", "column", "words", "rows"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_is_reported(mutate, table, column, words, rows):
    tables = full_tables()
    mutate(tables)
    typed, problems = coerce_tables(tables)
    problems += validate_tables(typed)
    assert problems, "rule not detected"
    messages = [p.message() for p in problems]
    assert len(problems) == 1, messages
    problem = problems[0]
    assert (problem.table, problem.column) == (table, column), messages
    assert problem.message().startswith(f"{table}.{column}: "), messages
    assert words in problem.message(), messages
    assert problem.rows == rows, messages
    assert "\n" not in problem.message()


def test_missing_users_table():
    tables = full_tables()
    del tables["users"]
    _, problems = coerce_tables(tables)
    assert [p.message() for p in problems] == ["users: required table is missing"]


def test_users_without_activity_table():
    tables = {"users": full_tables()["users"]}
    assert "activity table" in validate_tables(coerce_tables(tables)[0])[0].message()


def test_all_problems_in_one_report():
    tables = full_tables()
    _set("transfers", "amount_cents", 0, -1)(tables)
    _set("users", "user_id", 1, 1)(tables)
    _set("payments", "merchant_id", 0, 555)(tables)
    log_tables, problems = coerce_tables(tables)
    problems += validate_tables(log_tables)
    named = {(p.table, p.column) for p in problems}
    assert {("transfers", "amount_cents"), ("users", "user_id"), ("payments", "merchant_id")} <= named


def test_at_most_five_examples():
    tables = full_tables()
    n = 12
    tables["transfers"] = pd.DataFrame({"transfer_id": range(n), "sender_id": [1] * n, "receiver_id": [2] * n,
                                        "sent_at": [T("2014-03-01")] * n, "amount_cents": [-1] * n})
    problem = validate_tables(coerce_tables(tables)[0])[0]
    assert problem.rows == n
    assert problem.examples == tuple(f"transfer_id={i}" for i in range(5))
    assert problem.message() == ("transfers.amount_cents: 12 rows must be > 0 (examples: transfer_id=0, "
                                 "transfer_id=1, transfer_id=2, transfer_id=3, transfer_id=4)")


def test_a_duplicated_key_is_one_example_in_both_engines(tmp_path):
    """The two rows of a duplicated claim both break the key's rule (2 rows), and are one example."""
    from adoption.log.sql import open_log, validate_sql

    tables = full_tables()
    claims = tables["red_packet_claims"]
    tables["red_packet_claims"] = pd.concat([claims.iloc[[0]], claims], ignore_index=True)  # (in packet order)
    problems = validate_tables(coerce_tables(tables)[0])
    [duplicate] = [p for p in problems if p.rule == "unique"]
    assert duplicate.rows == 2 and duplicate.examples == ("(packet_id=500, receiver_id=2)",), duplicate.message()
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    with open_log(tmp_path) as log:
        assert validate_sql(log) == problems


def test_type_problem_shows_the_bad_values():
    tables = full_tables()
    _set("payments", "amount_cents", 0, "abc")(tables)
    problem = coerce_tables(tables)[1][0]
    assert problem.message() == "payments.amount_cents: 1 row expected whole cents (an integer) (examples: 'abc')"


def test_text_ids_are_shown_as_written_in_problems():
    tables = full_tables()
    _set("payments", "user_id", 0, "user-9f")(tables)
    typed, problems = coerce_tables(tables)  # the reader's path: coerce, encode, validate with labels
    from adoption.log.eventlog import encode_ids

    typed, labels = encode_ids(typed)
    problems += validate_tables(typed, labels=labels)
    assert [p.message() for p in problems] == ["payments.user_id: 1 row not found in users.user_id "
                                               "(examples: payment_id=700)"]
    assert "user" in labels and "user-9f" in list(labels["user"])


def test_constructor_raises_on_type_problems():
    tables = full_tables()
    _set("transfers", "sent_at", 0, "not a date")(tables)
    with pytest.raises(InvalidEventLog, match=r"transfers\.sent_at"):
        EventLog(**tables)


def test_check_raises_with_every_problem():
    tables = full_tables()
    _set("transfers", "amount_cents", 0, -1)(tables)
    _set("payments", "amount_cents", 0, -1)(tables)
    with pytest.raises(InvalidEventLog) as err:
        EventLog(**tables).check()
    assert len(err.value.problems) == 2
    assert "and 1 more problem" in str(err.value)


def _claim_rules_by_merge(claims: pd.DataFrame, packets: pd.DataFrame) -> list[tuple]:
    """The claim rules counted the plain way: a merge of claims and packets, then a group per packet."""
    ref = packets.drop_duplicates("packet_id").rename(columns={"amount_cents": "packet_amount"})
    merged = claims.merge(ref, on="packet_id", how="left")
    known = merged["sent_at"].notna()
    dup = claims.duplicated(["packet_id", "receiver_id"], keep=False)
    rows = [("unique", int(dup.sum())),
            ("order", int((known & (merged["claimed_at"] < merged["sent_at"])).sum())),
            ("self", int((known & (merged["receiver_id"] == merged["sender_id"])).sum())),
            ("target", int((known & merged["recipient_id"].notna()
                            & (merged["receiver_id"] != merged["recipient_id"])).fillna(False).sum()))]
    per = claims.groupby("packet_id").agg(n=("receiver_id", "size"), total=("amount_cents", "sum")).join(
        ref.set_index("packet_id")[["shares", "packet_amount"]], how="inner")
    for over in (per["n"] > per["shares"], per["total"] > per["packet_amount"]):
        ids = sorted(per.index[over])
        if ids:
            rows.append(("claims", int(claims["packet_id"].isin(ids).sum()), len(ids), ids[:5]))
    return [r for r in rows if r[1]]


@pytest.mark.parametrize("seed", range(24))
def test_claim_rules_by_position_count_what_a_merge_counts(seed):
    """Claims meet their packets by position (a binary search where the packet ids are in order, a hash
    lookup where not): the same problems as a merge and a group-by, on random logs with packets out of
    order or duplicated, claims of packets that do not exist, duplicated claims and every rule broken."""
    from adoption.log.validation import _rule_claims

    rng = np.random.default_rng(seed)
    n = 15
    ids = rng.permutation(n) + 1 if seed % 3 == 0 else np.arange(1, n + 1)
    if seed % 4 == 1:
        ids[3] = ids[2]  # a packet id twice: its first row is the packet
    t0 = T("2015-02-18")
    packets = pd.DataFrame({"packet_id": ids, "sender_id": rng.integers(1, 6, n),
                            "sent_at": t0 + pd.to_timedelta(rng.integers(0, 60, n), unit="min"),
                            "amount_cents": rng.integers(50, 200, n), "shares": rng.integers(1, 4, n),
                            "recipient_id": pd.array(np.where(rng.random(n) < 0.4, rng.integers(1, 6, n), -1), dtype="Int64")})
    packets.loc[packets["recipient_id"] == -1, "recipient_id"] = pd.NA
    m = int(rng.integers(10, 40))
    claims = pd.DataFrame({"packet_id": np.sort(rng.integers(1, n + 3, m)) if seed % 2 else rng.integers(1, n + 3, m),
                           "receiver_id": rng.integers(1, 6, m),
                           "claimed_at": t0 + pd.to_timedelta(rng.integers(-10, 90, m), unit="min"),
                           "amount_cents": rng.integers(10, 90, m)})
    if seed % 6 == 5:
        claims = claims.drop_duplicates(["packet_id", "receiver_id"]).reset_index(drop=True)
    found = [p for p in _rule_claims({"red_packet_claims": claims, "red_packets": packets}) if p is not None]
    mine = [(p.rule, p.rows) if p.rule != "claims" else (p.rule, p.rows, int(p.detail.split()[1]),
                                                          [int(e.split("=")[1]) for e in p.examples])
            for p in found]
    assert mine == _claim_rules_by_merge(claims, packets)
