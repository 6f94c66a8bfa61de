"""The activation tables' passes in arrays, against the same rows found by sorting."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from adoption.analysis import activation_arrays


@pytest.mark.parametrize("order", ["in time", "reversed", "shuffled"])
def test_first_receipts_are_those_a_sort_finds_in_any_order_of_rows(monkeypatch, order):
    # batches of 64 rows: a receiver's first receipt may come in any batch
    monkeypatch.setattr(activation_arrays, "BATCH_ROWS", 64)
    rng = np.random.default_rng(7)
    frames = {}
    for kind, n in ((0, 900), (1, 300)):  # few distinct times and amounts: many ties to break
        frames[kind] = pd.DataFrame({"receiver": rng.integers(100, 140, n), "t": rng.integers(0, 60, n) * 21_600_000_000,
                                     "amount": rng.integers(1, 4, n), "ref": rng.permutation(n) + 10})
        if order == "in time":
            frames[kind] = frames[kind].sort_values("t", kind="stable")
        elif order == "reversed":
            frames[kind] = frames[kind].sort_values("t", ascending=False, kind="stable")
    con = duckdb.connect()
    for kind, frame in frames.items():
        con.register(f"r{kind}", frame)
    found = activation_arrays.first_receipts({kind: con.sql(f"SELECT * FROM r{kind}") for kind in frames}, 100, 40)

    rows = pd.concat([frame.assign(kind=kind) for kind, frame in frames.items()], ignore_index=True)
    first = rows.assign(neg=-rows["amount"]).sort_values(["receiver", "t", "kind", "neg", "ref"]) \
        .groupby("receiver").head(1)
    assert (found.index + 100).tolist() == first["receiver"].tolist()
    for got, column in ((found.t, "t"), (found.kind_order, "kind"), (found.amount, "amount"), (found.ref, "ref")):
        assert got.tolist() == first[column].tolist()


@pytest.mark.parametrize("order", ["in time", "reversed", "shuffled"])
def test_the_first_weeks_receipts_are_those_a_join_to_the_first_finds(monkeypatch, order):
    # batches of 64 rows and narrowing past 32: rows out of time order keep many that a later row rules out
    monkeypatch.setattr(activation_arrays, "BATCH_ROWS", 64)
    monkeypatch.setattr(activation_arrays, "NARROW_ROWS", 32)
    rng = np.random.default_rng(11)
    day, week = 86_400_000_000, 7 * 86_400_000_000
    frames = {}
    for kind, n in ((0, 900), (1, 300)):  # receipts over 40 days: a week's receipts and later ones
        frames[kind] = pd.DataFrame({"receiver": rng.integers(100, 140, n), "t": rng.integers(0, 40 * 24, n) * day // 24,
                                     "amount": rng.integers(1, 4, n), "ref": rng.permutation(n) + 10})
        if kind == 1:  # the transfers' senders, some missing (a log not checked)
            frames[kind]["sender"] = pd.array(rng.integers(100, 140, n), dtype="Int64")
            frames[kind].loc[rng.random(n) < 0.1, "sender"] = pd.NA
        if order != "shuffled":
            frames[kind] = frames[kind].sort_values("t", ascending=order == "in time", kind="stable")
    con = duckdb.connect()
    for kind, frame in frames.items():
        con.register(f"r{kind}", frame)
    found = activation_arrays.first_receipts({kind: con.sql(f"SELECT * FROM r{kind}") for kind in frames}, 100, 40,
                                             week=week)

    rows = pd.concat([frame.assign(kind=kind) for kind, frame in frames.items()], ignore_index=True)
    near = rows[rows["t"] - rows.groupby("receiver")["t"].transform("min") < week]
    assert 0 < len(near) < len(rows)
    for kind, (index, other) in ((0, found.week_claims), (1, found.week_transfers)):
        want = near[near["kind"] == kind]
        want = want[want["sender"].notna()] if kind == 1 else want
        got = sorted(zip((index + 100).tolist(), other.tolist(), strict=True))
        assert got == sorted(zip(want["receiver"], want["ref" if kind == 0 else "sender"].astype(int), strict=True))
    assert activation_arrays.first_receipts({0: con.sql("SELECT * FROM r0")}, 100, 40).week_claims is None


def test_first_receipts_give_up_on_a_receiver_outside_the_ids():
    con = duckdb.connect()
    con.register("r", pd.DataFrame({"receiver": [100, 141], "t": [0, 1], "amount": [1, 1], "ref": [1, 2]}))
    assert activation_arrays.first_receipts({0: con.sql("SELECT * FROM r")}, 100, 40) is None
    assert activation_arrays.first_receipts({0: con.sql("SELECT * FROM r")}, 100, 42) is not None


def test_friend_counts_count_both_ends_of_each_friendship_as_a_join_does(monkeypatch):
    # batches of 64 friendships and 40 users: the counts are tallied several times along the way
    monkeypatch.setattr(activation_arrays, "BATCH_ROWS", 64)
    rng = np.random.default_rng(3)
    n_users, n_pairs, low = 40, 700, 1000
    a, b = rng.integers(low, low + n_users, n_pairs), rng.integers(low, low + n_users, n_pairs)
    since = pd.array(rng.integers(0, 100, n_pairs), dtype="Int64")
    since[rng.random(n_pairs) < 0.2] = pd.NA  # friendships with no date count from the start
    zero = rng.integers(0, 100, n_users)
    zero[rng.random(n_users) < 0.25] = activation_arrays.OUTSIDE  # users not in the table
    activated = np.where(rng.random(n_users) < 0.5, rng.integers(0, 100, n_users), activation_arrays.NEVER)
    con = duckdb.connect()
    con.register("f", pd.DataFrame({"user_a": a, "user_b": b, "since": since}))
    friends, paying = activation_arrays.friend_counts(con.sql("SELECT * FROM f"), zero, activated, low)

    # the SQL's join, by pandas: both ends of every friendship (a pair twice is counted twice)
    ends = pd.DataFrame({"user": np.r_[a, b] - low, "friend": np.r_[b, a] - low, "since": np.r_[since, since]})
    ends = ends[(ends["user"].map(lambda u: zero[u] != activation_arrays.OUTSIDE))]
    ends = ends[ends["since"].isna() | (ends["since"] <= zero[ends["user"]])]
    ends = ends.assign(paying=activated[ends["friend"]] < zero[ends["user"]])
    expected = ends.groupby("user").agg(n=("friend", "size"), paying=("paying", "sum")).reindex(range(n_users),
                                                                                                fill_value=0)
    assert friends.tolist() == expected["n"].tolist() and paying.tolist() == expected["paying"].tolist()
    assert friends.sum() > 0 and paying.sum() > 0


def test_friend_counts_give_up_on_a_friend_outside_the_ids():
    con = duckdb.connect()
    con.register("f", pd.DataFrame({"user_a": [100, 100], "user_b": [101, 140], "since": [None, None]}))
    zero, never = np.zeros(40, dtype=np.int64), np.full(40, activation_arrays.NEVER)
    assert activation_arrays.friend_counts(con.sql("SELECT * FROM f"), zero, never, 100) is None
