"""The event-log contract: which tables exist, their columns, types and keys.

This module is the single source of truth for the contract documented in ``data/README.md``:
the reader, the writer, the validator and the simulator all take their table and column names
from here.

Column kinds
------------
``id``
    identifier: integers, or any strings (UUIDs, account numbers). Each id belongs to an id space
    (users, merchants, packets ...); string ids are mapped to dense int64 codes on reading and shown as
    the user wrote them in every message.
``cents``
    int64 amount of money in cents (fen).
``count``
    int64 count (for example the number of shares of a red packet).
``time``
    timestamp in China Standard Time, stored naive (``datetime64[ns]``).
``text``
    string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["id", "cents", "count", "time", "text"]

#: The fixed UTC offset of China Standard Time (no daylight saving since 1991).
CST_OFFSET = "+08:00"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"id", "cents", "count", "time", "text"}
        What the column holds; decides its dtype.
    required : bool
        Whether the column must be present.
    nullable : bool
        Whether missing values are allowed in it.
    space : str or None
        For id columns, the id space the value belongs to (``user``, ``merchant``, ``packet`` ...): ids
        of one space are comparable across tables.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    space: str | None = None

    @property
    def dtype(self) -> str:
        """The pandas dtype the column is stored in."""
        if self.kind == "time":
            return "datetime64[ns]"
        if self.kind == "text":
            return "string"
        return "Int64" if self.nullable else "int64"


@dataclass(frozen=True)
class TableSpec:
    """One table of the event log.

    Parameters
    ----------
    name : str
        Table (and file) name.
    columns : tuple of ColumnSpec
        Required columns first, then optional ones.
    key : tuple of str
        Columns that identify a row; used to name example rows in error messages.
    unique : bool
        Whether ``key`` must be unique.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    unique: bool = True

    @property
    def required_columns(self) -> list[str]:
        """Names of the columns that must be present."""
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        """Names of all columns, required and optional, in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def time_columns(self) -> list[str]:
        """Names of the timestamp columns."""
        return [c.name for c in self.columns if c.kind == "time"]


#: The id space of each id column name (a column's space is found by its name).
_SPACES: dict[str, str] = {
    "user_id": "user", "user_a": "user", "user_b": "user", "sender_id": "user", "receiver_id": "user",
    "recipient_id": "user", "referrer_id": "user", "merchant_id": "merchant", "group_id": "group",
    "packet_id": "packet", "transfer_id": "transfer", "payment_id": "payment", "scan_id": "scan",
    "message_id": "message",
}


def _c(name: str, kind: ColumnKind, required: bool = True, nullable: bool | None = None) -> ColumnSpec:
    return ColumnSpec(name, kind, required, (not required) if nullable is None else nullable,
                      _SPACES[name] if kind == "id" else None)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("users", (_c("user_id", "id"), _c("joined_at", "time"), _c("city", "text", False),
                            _c("left_at", "time", False)), key=("user_id",)),
        TableSpec("merchants", (_c("merchant_id", "id"), _c("accepts_from", "time"), _c("category", "text", False),
                                _c("city", "text", False)), key=("merchant_id",)),
        TableSpec("friendships", (_c("user_a", "id"), _c("user_b", "id"), _c("since", "time", False),
                                  _c("direction", "text", False)), key=("user_a", "user_b")),
        TableSpec("groups", (_c("group_id", "id"), _c("kind", "text", False)), key=("group_id",)),
        TableSpec("group_members", (_c("group_id", "id"), _c("user_id", "id"), _c("joined_at", "time", False)),
                  key=("group_id", "user_id")),
        TableSpec("red_packets", (_c("packet_id", "id"), _c("sender_id", "id"), _c("sent_at", "time"),
                                  _c("amount_cents", "cents"), _c("shares", "count"), _c("group_id", "id", False),
                                  _c("recipient_id", "id", False)), key=("packet_id",)),
        TableSpec("red_packet_claims", (_c("packet_id", "id"), _c("receiver_id", "id"), _c("claimed_at", "time"),
                                        _c("amount_cents", "cents")), key=("packet_id", "receiver_id"),
                  unique=False),
        TableSpec("transfers", (_c("transfer_id", "id"), _c("sender_id", "id"), _c("receiver_id", "id"),
                                _c("sent_at", "time"), _c("amount_cents", "cents")), key=("transfer_id",)),
        TableSpec("card_bindings", (_c("user_id", "id"), _c("bound_at", "time")), key=("user_id",)),
        TableSpec("payments", (_c("payment_id", "id"), _c("user_id", "id"), _c("merchant_id", "id"),
                               _c("paid_at", "time"), _c("amount_cents", "cents"), _c("scan_id", "id", False)),
                  key=("payment_id",)),
        TableSpec("scans", (_c("scan_id", "id"), _c("campaign", "text"), _c("channel", "text"),
                            _c("scanned_at", "time"), _c("user_id", "id", False), _c("placement", "text", False),
                            _c("referrer_id", "id", False)), key=("scan_id",)),
        TableSpec("adoptions", (_c("user_id", "id"), _c("adopted_at", "time")), key=("user_id",)),
        TableSpec("messages", (_c("message_id", "id"), _c("user_id", "id"), _c("merchant_id", "id"),
                               _c("sent_at", "time"), _c("campaign", "text", False)), key=("message_id",)),
    )
}

#: Tables that record something a user did; a log needs ``users`` and at least one of these.
ACTIVITY_TABLES: tuple[str, ...] = ("red_packets", "red_packet_claims", "transfers", "payments", "scans", "adoptions")

#: Tables that must always be present.
REQUIRED_TABLES: tuple[str, ...] = ("users",)

#: Foreign keys: (table, column) -> (referenced table, referenced column). Checked when both tables are present.
FOREIGN_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("friendships", "user_a"): ("users", "user_id"),
    ("friendships", "user_b"): ("users", "user_id"),
    ("group_members", "group_id"): ("groups", "group_id"),
    ("group_members", "user_id"): ("users", "user_id"),
    ("red_packets", "sender_id"): ("users", "user_id"),
    ("red_packets", "group_id"): ("groups", "group_id"),
    ("red_packets", "recipient_id"): ("users", "user_id"),
    ("red_packet_claims", "packet_id"): ("red_packets", "packet_id"),
    ("red_packet_claims", "receiver_id"): ("users", "user_id"),
    ("transfers", "sender_id"): ("users", "user_id"),
    ("transfers", "receiver_id"): ("users", "user_id"),
    ("card_bindings", "user_id"): ("users", "user_id"),
    ("payments", "user_id"): ("users", "user_id"),
    ("payments", "merchant_id"): ("merchants", "merchant_id"),
    ("payments", "scan_id"): ("scans", "scan_id"),
    ("scans", "user_id"): ("users", "user_id"),
    ("scans", "referrer_id"): ("users", "user_id"),
    ("messages", "user_id"): ("users", "user_id"),
    ("adoptions", "user_id"): ("users", "user_id"),
    ("messages", "merchant_id"): ("merchants", "merchant_id"),
}

#: Columns holding money; must be > 0.
POSITIVE_AMOUNTS: tuple[tuple[str, str], ...] = (
    ("red_packets", "amount_cents"),
    ("red_packet_claims", "amount_cents"),
    ("transfers", "amount_cents"),
    ("payments", "amount_cents"),
)

#: The dtype of every id after reading (string ids are mapped to dense codes of this dtype).
ID_DTYPE = "int64"

#: What counts as activation (see data/README.md): the first own payment action, the first card binding,
#: or ``k`` payments within ``d`` days.
Definition = Literal["first_action", "card_binding", "k_payments", "first_payment", "first_action_no_reciprocity"]
DEFINITIONS: tuple[str, ...] = ("first_action", "card_binding", "k_payments", "first_payment",
                                "first_action_no_reciprocity")
#: Hours after a receipt in which sending back to the same group or sender is reciprocity, not adoption.
RECIPROCITY_HOURS = 24.0

#: Text that is an integer id (both engines decide with it whether an id space is integers or text).
INTEGER_ID_PATTERN = r"^\s*[+-]?[0-9]{1,18}\s*$"

#: Units of a survey's period of adoption (``adoption import survey --unit``).
TIME_UNITS: tuple[str, ...] = ("month", "year")

#: Money columns: amounts in cents, or in yuan when read with ``amount_unit="yuan"``.
AMOUNT_UNITS: tuple[str, ...] = ("cents", "yuan")

#: Timestamps outside these years are refused (pandas' nanosecond range is 1677-2262; the classic adoption
#: surveys reach back to the 1940s, and a log outside 1900-2200 is an export error, not data).
TIME_RANGE: tuple[str, str] = ("1900-01-01", "2200-01-01")


def id_columns(space: str) -> list[tuple[str, str]]:
    """Every (table, column) holding ids of ``space``.

    Examples
    --------
    >>> id_columns("merchant")
    [('merchants', 'merchant_id'), ('payments', 'merchant_id'), ('messages', 'merchant_id')]
    """
    return [(t.name, c.name) for t in TABLES.values() for c in t.columns if c.space == space]


#: Every id space, in a fixed order.
ID_SPACES: tuple[str, ...] = tuple(dict.fromkeys(_SPACES.values()))
