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


def test_first_receipts_give_up_on_a_receiver_outside_the_ids():
    con = duckdb.connect()
    con.register("r", pd.DataFrame({"receiver": [100, 141], "t": [0, 1], "amount": [1, 1], "ref": [1, 2]}))
    assert activation_arrays.first_receipts({0: con.sql("SELECT * FROM r")}, 100, 40) is None
    assert activation_arrays.first_receipts({0: con.sql("SELECT * FROM r")}, 100, 42) is not None
