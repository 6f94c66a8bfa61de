"""What a Parquet table's storage proves (adoption.log.proofs), against the plain count it replaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import adoption.log.proofs as proofs
from adoption.log.proofs import claims_against_packets, column_statistics, proven_unique

T = pd.Timestamp
CLAIM_COLUMNS = ["packet_id", "receiver_id", "claimed_at", "amount_cents"]
PACKET_COLUMNS = ["packet_id", "sender_id", "sent_at", "amount_cents", "shares", "recipient_id"]


def _parts(tmp_path, name, frame, sizes, row_group_size=None):
    """``frame`` written as consecutive Parquet parts of the given row counts."""
    files, start = [], 0
    for i, size in enumerate(sizes):
        path = tmp_path / f"{name}-{i}.parquet"
        frame.iloc[start:start + size].to_parquet(path, index=False, row_group_size=row_group_size)
        files.append(path)
        start += size
    return files


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(proofs, "_BATCH_ROWS", 3)  # runs of a key cross batches and files


def _brute_unique(frame, columns):
    return not frame.duplicated(columns).any()


@pytest.mark.parametrize("seed", range(30))
def test_proven_unique_never_claims_a_duplicated_key_unique(tmp_path, small_batches, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    first = np.sort(rng.integers(0, 8, n)) if seed % 3 else rng.integers(0, 8, n)
    frame = pd.DataFrame({"a": first, "b": rng.integers(0, 6, n)})
    files = _parts(tmp_path, "t", frame, [n // 2, n - n // 2])
    for columns in (["a"], ["a", "b"]):
        if proven_unique(files, columns):
            assert _brute_unique(frame, columns)
    if seed % 3:  # in order of a: proof and truth agree for the pair
        assert proven_unique(files, ["a", "b"]) == _brute_unique(frame, ["a", "b"])


def test_proven_unique_in_order_and_its_limits(tmp_path, small_batches):
    ordered = pd.DataFrame({"id": range(10), "x": 1})
    files = _parts(tmp_path, "t", ordered, [4, 6])
    assert proven_unique(files, ["id"])
    assert not proven_unique(files[::-1], ["id"])  # parts out of order: not proven (the count decides)
    assert not proven_unique(files, ["x"])
    with_missing = pd.DataFrame({"id": [1.0, None, 3.0]})
    with_missing.to_parquet(tmp_path / "m.parquet")
    assert not proven_unique([tmp_path / "m.parquet"], ["id"])  # not an integer column, and a gap
    ordered.to_csv(tmp_path / "t.csv", index=False)
    assert not proven_unique([tmp_path / "t.csv"], ["id"])
    assert not proven_unique(files, ["no_such_column"])


def test_column_statistics_are_the_data_s(tmp_path):
    frame = pd.DataFrame({"t": pd.to_datetime(["2015-02-18", None, "2014-01-01"]), "n": [3, 1, 2]})
    files = _parts(tmp_path, "t", frame, [2, 1])
    nulls, low, high = column_statistics(files, "t")
    assert (nulls, T(low), T(high)) == (1, T("2014-01-01"), T("2015-02-18"))
    assert column_statistics(files, "n") == (0, 1, 3)
    assert column_statistics(files, "missing") is None


def _random_log(rng, n_packets=12):
    packets = pd.DataFrame({
        "packet_id": np.arange(1, n_packets + 1), "sender_id": rng.integers(0, 5, n_packets),
        "sent_at": T("2015-02-18") + pd.to_timedelta(rng.integers(0, 100, n_packets), unit="min"),
        "amount_cents": rng.integers(50, 200, n_packets), "shares": rng.integers(1, 4, n_packets),
        "recipient_id": pd.array(np.where(rng.random(n_packets) < 0.5, rng.integers(0, 5, n_packets), -1),
                                 dtype="Int64")})
    packets.loc[packets.recipient_id == -1, "recipient_id"] = pd.NA
    claims = packets.loc[packets.index.repeat(rng.integers(0, 5, n_packets)), ["packet_id", "sent_at"]]
    claims = claims.assign(receiver_id=rng.integers(0, 5, len(claims)), amount_cents=rng.integers(10, 80, len(claims)),
                           claimed_at=claims["sent_at"] + pd.to_timedelta(rng.integers(-5, 60, len(claims)), unit="min"))
    claims = claims[CLAIM_COLUMNS].reset_index(drop=True)
    if rng.random() < 0.3:  # some claims of a packet that does not exist
        claims.loc[claims.index[-1:], "packet_id"] = n_packets + 5
    return packets, claims


def _counted(packets, claims):
    """The same rules, counted with pandas (a join, then a group per packet), and the key's uniqueness."""
    j = claims.merge(packets, on="packet_id", suffixes=("", "_packet"))
    per = j.groupby("packet_id").agg(n=("receiver_id", "size"), total=("amount_cents", "sum"),
                                     shares=("shares", "first"), amount=("amount_cents_packet", "first"))
    other = j["recipient_id"].notna() & (j["receiver_id"] != j["recipient_id"])
    return (int((j["claimed_at"] < j["sent_at"]).sum()), int((j["receiver_id"] == j["sender_id"]).sum()),
            int(other.sum()), int((per["n"] > per["shares"]).sum()), int((per["total"] > per["amount"]).sum()),
            _brute_unique(claims, ["packet_id", "receiver_id"]))


@pytest.mark.parametrize("seed", range(25))
def test_claims_merged_with_packets_count_what_a_join_counts(tmp_path, small_batches, seed):
    """Read in batches of 3 rows or a row group of 4 at a time, and with the next row group decoded ahead in
    a thread of its own (``idle``), as when nothing else runs beside the merge."""
    import threading

    rng = np.random.default_rng(seed)
    idle = threading.Event()
    if seed % 4 >= 2:
        idle.set()
    row_group_size = 4 if seed % 3 else None  # (4 rows: read a row group at a time; else 3 rows at a time)
    packets, claims = _random_log(rng)
    if seed % 2:  # one claim per receiver and packet: the key unique
        claims = claims.drop_duplicates(["packet_id", "receiver_id"])
    claims = claims.sort_values("packet_id", kind="stable").reset_index(drop=True)
    claim_files = _parts(tmp_path, "claims", claims, [len(claims) // 3, len(claims) - len(claims) // 3],
                         row_group_size)
    packet_files = _parts(tmp_path, "packets", packets, [5, len(packets) - 5], row_group_size)
    merged = claims_against_packets(claim_files, CLAIM_COLUMNS, packet_files, PACKET_COLUMNS, idle=idle)
    assert merged == _counted(packets, claims)
    assert merged.key_unique == proven_unique(claim_files, ["packet_id", "receiver_id"])  # (the same proof)


def test_claims_not_in_packet_order_are_not_proven(tmp_path):
    packets, claims = _random_log(np.random.default_rng(1))
    claims = claims.sort_values("packet_id", ascending=False)
    claims.to_parquet(tmp_path / "c.parquet", index=False)
    packets.to_parquet(tmp_path / "p.parquet", index=False)
    assert claims_against_packets([tmp_path / "c.parquet"], CLAIM_COLUMNS, [tmp_path / "p.parquet"],
                                  PACKET_COLUMNS) is None
    big = claims.sort_values("packet_id").assign(amount_cents=2**62)
    big.to_parquet(tmp_path / "big.parquet", index=False)  # a total that overflows 64 bits: left to SQL
    assert claims_against_packets([tmp_path / "big.parquet"], CLAIM_COLUMNS, [tmp_path / "p.parquet"],
                                  PACKET_COLUMNS) is None


def test_a_merge_told_to_stop_gives_up(tmp_path):
    import threading

    packets, claims = _random_log(np.random.default_rng(2))
    claims.sort_values("packet_id", kind="stable").to_parquet(tmp_path / "c.parquet", index=False)
    packets.to_parquet(tmp_path / "p.parquet", index=False)
    args = ([tmp_path / "c.parquet"], CLAIM_COLUMNS, [tmp_path / "p.parquet"], PACKET_COLUMNS)
    stop = threading.Event()
    assert claims_against_packets(*args, stop=stop) is not None
    stop.set()
    assert claims_against_packets(*args, stop=stop) is None


def test_rules_the_footers_prove_are_not_counted_and_broken_ones_still_are(tmp_path, monkeypatch):
    from conftest import full_tables

    import adoption.log.sql as sql
    from adoption.datasets.example import example_path

    counted: list[str] = []
    count = sql._counts

    def recorded(log, view, predicates):
        counted.extend(predicates)
        return count(log, view, predicates)

    monkeypatch.setattr(sql, "_counts", recorded)
    with sql.open_log(example_path()) as log:
        assert sql.validate_sql(log) == []
    # positive amounts, shares >= 1 and references into a dense key: proven by the files' lowest and highest
    assert counted and not [p for p in counted if p.endswith(("<= 0", "< 1")) or " IS NOT NULL AND (" in p]

    tables = full_tables()  # and where the footers do not prove them, they are counted and reported
    tables["red_packet_claims"].loc[0, "amount_cents"] = -3
    tables["transfers"].loc[0, "receiver_id"] = 55
    tmp_path.joinpath("log").mkdir()
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / "log" / f"{name}.parquet", index=False)
    with sql.open_log(tmp_path / "log") as log:
        found = sorted((p.table, p.column, p.rule) for p in sql.validate_sql(log))
    assert found == [("red_packet_claims", "amount_cents", "positive"), ("transfers", "receiver_id", "foreign_key")]
