"""Shared fixtures: a tiny hand-built log that uses every table and satisfies every rule."""

from __future__ import annotations

import os

import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def full_tables() -> dict[str, pd.DataFrame]:
    """A valid log with all twelve tables, small enough to reason about by hand."""
    t = pd.to_datetime
    return {
        "users": pd.DataFrame({
            "user_id": [1, 2, 3, 4],
            "joined_at": t(["2014-01-01", "2014-01-01", "2014-01-02", "2014-01-03"]),
            "city": ["Shenzhen", "Shenzhen", "Guangzhou", "Beijing"],
            "left_at": t([None, None, None, "2014-06-01"]),
        }),
        "merchants": pd.DataFrame({
            "merchant_id": [100, 101],
            "accepts_from": t(["2014-01-01", "2014-03-01"]),
            "category": ["restaurant", "taxi"],
            "city": ["Shenzhen", "Beijing"],
        }),
        "friendships": pd.DataFrame({"user_a": [1, 1, 2], "user_b": [2, 3, 4],
                                     "since": t(["2013-01-01"] * 3)}),
        "groups": pd.DataFrame({"group_id": [10], "kind": ["family"]}),
        "group_members": pd.DataFrame({"group_id": [10, 10, 10], "user_id": [1, 2, 3]}),
        "red_packets": pd.DataFrame({
            "packet_id": [500, 501],
            "sender_id": [1, 2],
            "sent_at": t(["2014-01-30 20:00", "2014-02-01 09:00"]),
            "amount_cents": [1000, 888],
            "shares": [2, 1],
            "group_id": pd.array([10, None], dtype="Int64"),
            "recipient_id": pd.array([None, 4], dtype="Int64"),
        }),
        "red_packet_claims": pd.DataFrame({
            "packet_id": [500, 500, 501],
            "receiver_id": [2, 3, 4],
            "claimed_at": t(["2014-01-30 20:01", "2014-01-30 20:05", "2014-02-01 10:00"]),
            "amount_cents": [412, 588, 888],
        }),
        "transfers": pd.DataFrame({"transfer_id": [900], "sender_id": [3], "receiver_id": [1],
                                   "sent_at": t(["2014-02-10 12:00"]), "amount_cents": [5000]}),
        "card_bindings": pd.DataFrame({"user_id": [1, 2, 3], "bound_at": t(["2014-01-15", "2014-02-02",
                                                                            "2014-02-09"])}),
        "payments": pd.DataFrame({
            "payment_id": [700, 701],
            "user_id": [2, 3],
            "merchant_id": [100, 101],
            "paid_at": t(["2014-02-05 12:30", "2014-03-02 19:00"]),
            "amount_cents": [2500, 3100],
            "scan_id": pd.array([800, None], dtype="Int64"),
        }),
        "scans": pd.DataFrame({
            "scan_id": [800, 801],
            "campaign": ["concert", "concert"],
            "channel": ["poster", "moments"],
            "scanned_at": t(["2014-02-05 12:00", "2014-02-06 08:00"]),
            "user_id": pd.array([2, None], dtype="Int64"),
            "placement": ["metro", None],
            "referrer_id": pd.array([None, 2], dtype="Int64"),
        }),
        "messages": pd.DataFrame({"message_id": [900], "user_id": [2], "merchant_id": [100],
                                  "sent_at": t(["2014-02-07 10:00"]), "campaign": ["concert"]}),
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return full_tables()


#: Doctests (by their name in the module) that take more than about two seconds.
SLOW_DOCTESTS = {
    "adoption.analysis.headline.activation_headline", "adoption.analysis.headline.headline_by_definition",
    "adoption.analysis.headline.ActivationHeadline.to_dict", "adoption.analysis.headline.ActivationHeadline.table",
    "adoption.sweep.read_results", "adoption.calibrate.read_calibration", "adoption.analysis.survival.ActivationCox",
    "adoption.analysis.causal.ReceiptUplift", "adoption.analysis.causal.ActivationPredictor",
    "adoption.analysis.causal.effects_against_truth", "adoption.tipping.mean_field_critical_push",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
