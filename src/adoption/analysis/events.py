"""Per-user times read from an event log: every receipt, and when each user activated.

These are the facts every analysis of activation starts from (the activation table, the exposure
episodes of the causal analysis, the adoption curves): one place computes them, so all agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.errors import InputError
from adoption.log.eventlog import EventLog

__all__ = ["activation_times", "as_days", "receipts"]


def receipts(log: EventLog) -> pd.DataFrame:
    """All receipts: user, time, kind, group flag, amount, sender."""
    parts = []
    if log.red_packet_claims is not None:
        c = log.red_packet_claims
        part = pd.DataFrame({"user_id": c["receiver_id"].to_numpy(), "t": c["claimed_at"].to_numpy(),
                             "kind": "red_packet", "amount": c["amount_cents"].to_numpy(),
                             "ref": c["packet_id"].to_numpy()})
        info = log.red_packets.set_index("packet_id") if log.red_packets is not None else None
        part["group"] = (c["packet_id"].map(info["group_id"].notna()).astype("boolean").to_numpy()
                         if info is not None and "group_id" in info else pd.array([pd.NA] * len(c), dtype="boolean"))
        part["sender"] = (c["packet_id"].map(info["sender_id"]).astype("Int64").to_numpy() if info is not None
                          else pd.array([pd.NA] * len(c), dtype="Int64"))
        parts.append(part)
    if log.transfers is not None:
        tr = log.transfers
        parts.append(pd.DataFrame({"user_id": tr["receiver_id"].to_numpy(), "t": tr["sent_at"].to_numpy(),
                                   "kind": "transfer", "amount": tr["amount_cents"].to_numpy(),
                                   "ref": tr["transfer_id"].to_numpy(),
                                   "group": pd.array([False] * len(tr), dtype="boolean"),
                                   "sender": pd.array(tr["sender_id"].to_numpy(), dtype="Int64")}))
    if not parts:
        raise InputError("activation: the log has no receipts (needs red_packet_claims or transfers)")
    receipts = pd.concat(parts, ignore_index=True)
    if receipts.empty:
        raise InputError("activation: the log has no receipts (red_packet_claims and transfers are empty)")
    return receipts


def activation_times(log: EventLog, definition: str, k: int, d: float) -> pd.Series:
    """The activation time of every user who activated, by the chosen definition."""
    if definition == "card_binding":
        if log.card_bindings is None:
            raise InputError("activation: definition 'card_binding' needs the card_bindings table")
        return log.card_bindings.groupby("user_id")["bound_at"].min()
    if definition == "k_payments":
        if log.payments is None:
            raise InputError("activation: definition 'k_payments' needs the payments table")
        pay = log.payments[["user_id", "paid_at"]].sort_values(["user_id", "paid_at"], kind="stable")
        earlier = pay.groupby("user_id")["paid_at"].shift(k - 1)
        ok = (pay["paid_at"] - earlier) <= pd.Timedelta(days=d)
        return pay.loc[ok.fillna(False).to_numpy(dtype=bool)].groupby("user_id")["paid_at"].min()
    actions = []
    if log.payments is not None:
        actions.append(log.payments[["user_id", "paid_at"]].set_axis(["user_id", "t"], axis=1))
    if log.red_packets is not None:
        actions.append(log.red_packets[["sender_id", "sent_at"]].set_axis(["user_id", "t"], axis=1))
    if log.transfers is not None:
        actions.append(log.transfers[["sender_id", "sent_at"]].set_axis(["user_id", "t"], axis=1))
    if not actions:
        raise InputError("activation: the log has no payment actions (needs payments, red_packets or transfers)")
    return pd.concat(actions, ignore_index=True).groupby("user_id")["t"].min()


def as_days(delta: pd.Series) -> np.ndarray:
    """Days, computed from whole microseconds (exactly as the DuckDB engine does)."""
    values = np.asarray(delta, dtype="timedelta64[ns]")
    micros = values.astype("timedelta64[us]").astype(np.int64)
    return np.where(np.isnat(values), np.nan, micros / 86_400e6)
