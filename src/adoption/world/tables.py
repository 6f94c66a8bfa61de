"""The world's event log: the contract's tables built from the state and the recorder's buffers.

Column names and types are the contract's (:mod:`adoption.log.contract`); ids are 1-based; times are
timestamps of the scenario's calendar (China Standard Time, naive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from adoption.random import SeedLike
from adoption.world.campaigns import CAMPAIGN_CHANNELS
from adoption.world.graph import GROUP_KINDS
from adoption.world.state import NEVER, WorldState

__all__ = ["CARD_BOUND_BEFORE_DAYS", "RECORDED_TABLES", "event_tables", "log_meta", "recorded_tables", "state_tables"]

#: A user's card is bound up to this many days (about 14 minutes) before their first own payment action.
CARD_BOUND_BEFORE_DAYS = 0.01


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A DataFrame that keeps each column's array as it is (no copy into a consolidated block)."""
    return pd.DataFrame(columns, copy=False)


#: The tables of events, recorded as they happen: :func:`recorded_tables` can take them out of the recorder
#: during a run (``adoption simulate`` writes them a month at a time). The others are built from the state.
RECORDED_TABLES = ("red_packets", "red_packet_claims", "transfers", "payments", "scans", "messages")


def _timestamps(w: WorldState) -> Callable[[np.ndarray], pd.Series]:
    """Days since the start (floats) to timestamps, floored to the second."""
    start_ns = w.start.to_datetime64().astype("datetime64[ns]").astype(np.int64)

    def ts(days: np.ndarray) -> pd.Series:
        seconds = np.floor(np.asarray(days, dtype=np.float64) * 86400.0).astype(np.int64)
        return pd.Series((start_ns + seconds * 1_000_000_000).view("datetime64[ns]"))

    return ts


def _nullable(ids: np.ndarray) -> pd.arrays.IntegerArray:
    """0-based ids with -1 for none, as the contract's nullable 1-based ids."""
    return pd.arrays.IntegerArray(np.where(ids >= 0, ids + 1, 0).astype(np.int64), ids < 0)


def event_tables(w: WorldState) -> Iterator[tuple[str, pd.DataFrame]]:
    """The contract's tables, built one at a time (each buffer is released once its table is built)."""
    yield from state_tables(w)
    yield from recorded_tables(w)


def state_tables(w: WorldState) -> Iterator[tuple[str, pd.DataFrame]]:
    """The tables built from the final state: users, merchants, friendships, groups, members, card bindings."""
    g = w.g
    end_day = float(w.n_days)
    names = np.asarray(g.city_names)
    ts = _timestamps(w)
    left = np.where(w.left < end_day, w.left, np.nan)
    yield "users", _frame({"user_id": np.arange(1, w.n + 1, dtype=np.int64), "joined_at": ts(w.joined),
                           "city": pd.array(names[g.city], dtype="string"),
                           "left_at": ts(np.nan_to_num(left, nan=0.0)).where(~np.isnan(left))})
    accepted = np.flatnonzero(w.m_accept < end_day)
    yield "merchants", _frame({"merchant_id": accepted.astype(np.int64) + 1,
                               "accepts_from": ts(w.m_accept[accepted]),
                               "category": pd.array(w.m_category[accepted], dtype="string"),
                               "city": pd.array(names[w.m_city[accepted]], dtype="string")})
    a, b = g.edges()
    yield "friendships", _frame({"user_a": a.astype(np.int64) + 1, "user_b": b.astype(np.int64) + 1,
                                 "since": ts(np.maximum(w.joined[a], w.joined[b]))})
    del a, b
    group_ids = np.arange(1, g.n_groups + 1, dtype=np.int64)
    yield "groups", _frame({"group_id": group_ids,
                            "kind": pd.array(np.asarray(GROUP_KINDS)[g.group_kind], dtype="string")})
    yield "group_members", _frame({"group_id": np.repeat(group_ids, g.group_size),
                                   "user_id": g.group_members.astype(np.int64) + 1,
                                   "joined_at": ts(w.joined[g.group_members])})
    bound = np.minimum(np.where(np.isfinite(w.active), w.active - w.rng.random(w.n) * CARD_BOUND_BEFORE_DAYS, NEVER), w.withdraw_bind)
    bound = np.where(w.left > bound, bound, NEVER)
    has = np.flatnonzero(bound < end_day)
    yield "card_bindings", _frame({"user_id": has.astype(np.int64) + 1, "bound_at": ts(bound[has])})


def recorded_tables(w: WorldState) -> Iterator[tuple[str, pd.DataFrame]]:
    """The tables of :data:`RECORDED_TABLES` from the events recorded since the last call (each buffer is
    released as its table is built); ``scans`` and ``messages`` only when there are any."""
    s, out = w.s, w.out
    ts = _timestamps(w)
    nullable = _nullable

    def col(table: str, name: str, dtype: type = np.int64) -> np.ndarray:
        return out.get(table, name, dtype)

    yield "red_packets", _frame({
        "packet_id": col("red_packets", "packet_id"),
        "sender_id": col("red_packets", "sender") + 1,
        "sent_at": ts(col("red_packets", "time", np.float64)),
        "amount_cents": col("red_packets", "amount"),
        "shares": col("red_packets", "shares"),
        "group_id": nullable(col("red_packets", "group")),
        "recipient_id": nullable(col("red_packets", "recipient")),
    })
    yield "red_packet_claims", _frame({
        "packet_id": col("red_packet_claims", "packet_id"),
        "receiver_id": col("red_packet_claims", "receiver") + 1,
        "claimed_at": ts(col("red_packet_claims", "time", np.float64)),
        "amount_cents": col("red_packet_claims", "amount"),
    })
    yield "transfers", _frame({
        "transfer_id": col("transfers", "transfer_id"),
        "sender_id": col("transfers", "sender") + 1,
        "receiver_id": col("transfers", "receiver") + 1,
        "sent_at": ts(col("transfers", "time", np.float64)),
        "amount_cents": col("transfers", "amount"),
    })
    yield "payments", _frame({
        "payment_id": col("payments", "payment_id"),
        "user_id": col("payments", "user") + 1,
        "merchant_id": col("payments", "merchant") + 1,
        "paid_at": ts(col("payments", "time", np.float64)),
        "amount_cents": col("payments", "amount"),
        "scan_id": nullable(col("payments", "scan") - 1),
    })
    channel_names = np.array([c for c, _, _, _ in CAMPAIGN_CHANNELS] + ["moments"], dtype=object)
    placement_names = np.array([p for _, p, _, _ in CAMPAIGN_CHANNELS] + [None], dtype=object)
    channel_code = col("scans", "channel")
    if s.campaigns and len(channel_code):
        yield "scans", _frame({
            "scan_id": col("scans", "scan_id"),
            "campaign": pd.array(np.full(len(channel_code), f"concert_{s.campaign_start[:4]}"), dtype="string"),
            "channel": pd.array(channel_names[channel_code], dtype="string"),
            "scanned_at": ts(col("scans", "time", np.float64)),
            "user_id": nullable(col("scans", "user")),
            "placement": pd.array(placement_names[channel_code], dtype="string"),
            "referrer_id": nullable(col("scans", "referrer")),
        })
    message_ids = col("messages", "message_id")
    if s.campaigns and len(message_ids):
        yield "messages", _frame({
            "message_id": message_ids,
            "user_id": col("messages", "user") + 1,
            "merchant_id": np.full(len(message_ids), w.campaign_merchant + 1, dtype=np.int64),
            "sent_at": ts(col("messages", "time", np.float64)),
            "campaign": pd.array(np.full(len(message_ids), f"concert_{s.campaign_start[:4]}"), dtype="string"),
        })


def log_meta(w: WorldState, seed: SeedLike) -> dict[str, object]:
    """What the log was made from: window, scenario, seed; no money moved before the world began, so its
    receipts are complete from the window start."""
    return {"source": "adoption.simulate", "scenario": w.s.to_dict(),
            "seed": int(seed) if isinstance(seed, int | np.integer) else None,
            "window_start": str(w.start), "window_end": str(w.start + pd.Timedelta(days=w.n_days)),
            "receipts_complete_from": str(w.start),
            "n_merchants": int(len(w.m_accept)), "n_users": int(w.n)}
