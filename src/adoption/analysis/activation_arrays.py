"""The activation tables' heaviest passes over a log, in numpy arrays indexed by the ids, as DuckDB streams
the log's tables past in Arrow batches: each receiver's first receipt, the claims in the reciprocity spans
and the receipts of each receiver's first week, what those need of their red packets, the tables counted on
the fits' grid, and each user's friends and paying friends (the covariates).

Where the ids are integers spanning not much more than their number, a look-up in an array per row costs
less than a hash aggregate or a hash join of every row: at ten million users, the first receipts 8.6 s
against 11.1 s for DuckDB's packed minimum (which also needs a first pass for the bounds, 2.8 s), the
first receipts' packets 1.2 s against 4.2 s, and a counted table 4.5 CPU s in SQL against about 3 from the
arrays (each user's first receipt, leaving and activation time; no join), and the friends of 4.75 million
users (22 million friendships) 2.3 s against 4.5 s for the join of both ends of every friendship; their
first receipts with the receipts of their first week (4.7 million of 51 million) 7.4 s against 12.7 s for
DuckDB's join of every receipt to its receiver's first. The arrays take about 40 bytes a user and 9 a red
packet (32 more a user for the friends, 24 a receipt of the first weeks), outside DuckDB's memory budget.
Each function gives up (returns None) on what it cannot take (text ids, ids spread wide, values out of
range, a missing value or a repeated id in a log not checked), and :mod:`adoption.analysis.activation_sql`
then does the same work in SQL; the tests hold both to the same tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from adoption.arrays import PairMinimumByIndex

__all__ = ["NEVER", "OUTSIDE", "UNDATED", "FirstReceipts", "PacketLookup", "People", "counted_cells", "dense_size",
           "first_receipts", "friend_counts", "is_integer", "packet_lookup", "people", "positions", "span_arrays",
           "spread"]

#: Rows per batch of a table streamed out of DuckDB.
BATCH_ROWS = 1 << 20
#: Ids are looked up in arrays where they span at most this many times their number (and at most ``DENSE_MAX``).
DENSE_SPREAD, DENSE_MAX = 4, 1 << 31
#: The largest amount and id of a receipt whose first receipt is found in arrays: its tie-break (larger amount,
#: then lower id) is packed into one int64, the amount's complement above the id's 32 bits.
AMOUNT_MAX, REF_BITS = (1 << 31) - 1, 32
REF_MAX = (1 << REF_BITS) - 1
#: The receipts near their receiver's first (:func:`first_receipts`' ``week``) are narrowed to those near the
#: earliest seen so far whenever they have grown to twice this many rows or twice their number at the last time.
NARROW_ROWS = 1 << 22
#: Times (microseconds) whose double, plus the receipt's kind, still fits an int64.
_TIME_LIMIT = (1 << 61) - 1
_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"})


def is_integer(column_type: object) -> bool:
    """Whether a DuckDB column type is an integer type whose values fit an int64."""
    return str(column_type) in _INTEGER_TYPES


def dense_size(low: int, high: int, count: int) -> int | None:
    """The length of an array indexed by ids from ``low`` to ``high`` (``count`` of them), or None where the
    ids spread too wide for one.

    Examples
    --------
    >>> dense_size(1, 1_000, 1_000), dense_size(1, 10**9, 1_000)
    (1000, None)
    """
    size = high - low + 1
    return size if size <= min(max(DENSE_SPREAD * count, 1 << 16), DENSE_MAX) else None


def _batches(relation: duckdb.DuckDBPyRelation) -> Iterator[pa.RecordBatch]:
    """The rows of a relation in Arrow batches, the reader closed when the loop ends or is left."""
    reader = relation.to_arrow_reader(BATCH_ROWS)
    try:
        yield from reader
    finally:
        reader.close()


def _within(values: np.ndarray, low: int, high: int) -> bool:
    """Whether every value lies in ``low .. high`` (true of none)."""
    return len(values) == 0 or bool(values.min() >= low and values.max() <= high)


def _integers(column: pa.Array | pa.ChunkedArray, missing: int) -> np.ndarray:
    """An integer column of a batch as int64, ``missing`` where it has no value."""
    if column.null_count:
        column = column.fill_null(missing)
    return column.to_numpy().astype(np.int64, copy=False)


@dataclass
class FirstReceipts:
    """Each receiver's first receipt (:func:`first_receipts`), and the claims in the reciprocity spans."""

    #: receivers' positions in the users' ids (the id less the lowest), in increasing order
    index: np.ndarray
    #: the first receipt's time (microseconds since the epoch), kind (0 a red packet, 1 a transfer), amount and
    #: packet or transfer id
    t: np.ndarray
    kind_order: np.ndarray
    amount: np.ndarray
    ref: np.ndarray
    #: the claims within their receiver's reciprocity span, as (index, time, packet id); None if not asked for
    span_claims: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    #: the receipts within ``week`` of their receiver's first that name a sender: the claims as (index, packet
    #: id), the transfers as (index, sender id); None if not asked for
    week_claims: tuple[np.ndarray, np.ndarray] | None = None
    week_transfers: tuple[np.ndarray, np.ndarray] | None = None


def first_receipts(receipts: Mapping[int, duckdb.DuckDBPyRelation], low: int, size: int,
                   spans: tuple[np.ndarray, np.ndarray] | None = None, week: int | None = None
                   ) -> FirstReceipts | None:
    """Each receiver's first receipt, by time, then red packet before transfer, then the larger amount, then
    the lower id (the pandas engine's tie-break), as the receipts stream past.

    ``receipts``: by kind (0 claims, 1 transfers), relations of (receiver id, time in microseconds, amount, id),
    all integers; ``low`` and ``size``: the users' lowest id and the length of an array indexed by the ids.
    ``spans``: each user's reciprocity span (:func:`span_arrays`): the claims inside are kept in the same pass.
    ``week``: a length of time in microseconds: the receipts less than that after their receiver's first are
    kept in the same pass (those of the transfers with their sender, a fifth column of their relation; a
    transfer with no sender is left out). None where a receipt has a missing value, a receiver outside the
    ids, or a value the packed tie-break cannot hold.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> claims = con.sql("SELECT * FROM (VALUES (1, 50, 8, 7), (1, 10, 5, 6), (2, 40, 3, 9)) c(user_id, t, amount, ref)")
    >>> found = first_receipts({0: claims}, low=1, size=2, week=45)
    >>> found.index.tolist(), found.t.tolist(), found.ref.tolist()
    ([0, 1], [10, 40], [6, 9])
    >>> [part.tolist() for part in found.week_claims]  # (the claim at 50 is 40 after its receiver's first)
    [[0, 0, 1], [7, 6, 9]]
    """
    least = PairMinimumByIndex(size)
    in_spans: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    near = _NearFirst(least, week) if week is not None else None
    for kind, relation in receipts.items():
        for batch in _batches(relation):
            if any(column.null_count for column in batch.columns[:4]):
                return None
            user, t, amount, ref = (column.to_numpy().astype(np.int64, copy=False) for column in batch.columns[:4])
            index = user - low
            if not (_within(index, 0, size - 1) and _within(t, -_TIME_LIMIT, _TIME_LIMIT)
                    and _within(amount, 0, AMOUNT_MAX) and _within(ref, 0, REF_MAX)):
                return None
            key = t * 2 + kind
            before = least.update(index, key, ((AMOUNT_MAX - amount) << REF_BITS) | ref)
            if near is not None:
                # (the earliest so far, this row's included: no earlier than the final earliest)
                keep = t - (np.minimum(before, key) >> 1) < week
                if kind == 1:
                    keep &= batch.column(4).is_valid().to_numpy(zero_copy_only=False)
                rows = np.flatnonzero(keep)
                near.add(kind, index[rows], t[rows], (ref if kind == 0 else _integers(batch.column(4), 0))[rows])
            if kind == 0 and spans is not None:
                inside = t >= spans[0][index]
                inside &= t < spans[1][index]
                in_spans.append((index[inside], t[inside], ref[inside]))
    index, key, tie = least.result()
    span_claims = None
    if spans is not None:
        span_claims = tuple(np.concatenate(part) for part in zip(*in_spans, strict=True)) if in_spans else \
            (np.zeros(0, dtype=np.int64),) * 3
    found = FirstReceipts(index=index, t=key >> 1, kind_order=(key & 1).astype(np.int32),
                          amount=AMOUNT_MAX - (tie >> REF_BITS), ref=tie & REF_MAX, span_claims=span_claims)
    if near is not None:
        found.week_claims, found.week_transfers = near.result()
    return found


class _NearFirst:
    """The receipts less than ``week`` after their receiver's first, as they stream past: the rows less than
    ``week`` after the earliest receipt of their receiver so far are kept (a superset, since the earliest can
    only move earlier), and narrowed to those near the final earliest at the end, and along the way whenever
    they have doubled (rows in no order of time keep many that a later, earlier receipt rules out)."""

    def __init__(self, least: PairMinimumByIndex, week: int) -> None:
        self.least, self.week = least, week
        self.kept: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {0: [], 1: []}
        self.rows, self.narrowed = 0, NARROW_ROWS

    def _near(self, index: np.ndarray, t: np.ndarray) -> np.ndarray:
        return t - (self.least.primary[index] >> 1) < self.week

    def add(self, kind: int, index: np.ndarray, t: np.ndarray, other: np.ndarray) -> None:
        """Keep rows of ``kind`` (0 claims, 1 transfers) found near their receiver's earliest receipt so far."""
        self.kept[kind].append((index, t, other))
        self.rows += len(index)
        if self.rows > 2 * self.narrowed:
            self._narrow()
            self.narrowed = max(self.rows, NARROW_ROWS)

    def _narrow(self) -> None:
        self.rows = 0
        for parts in self.kept.values():
            if parts:
                index, t, other = (np.concatenate(part) for part in zip(*parts, strict=True))
                near = self._near(index, t)
                parts[:] = [(index[near], t[near], other[near])]
                self.rows += len(parts[0][0])

    def result(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(index, packet id) of the claims and (index, sender id) of the transfers less than ``week`` after
        their receiver's first receipt."""
        self._narrow()
        empty = (np.zeros(0, dtype=np.int64),) * 3
        claims, transfers = ((self.kept[kind] or [empty])[0] for kind in (0, 1))
        return (claims[0], claims[2]), (transfers[0], transfers[2])


#: A user outside the table whose covariates are counted (its time zero), and a friendship with no date.
OUTSIDE, UNDATED = np.iinfo(np.int64).min, np.iinfo(np.int64).min + 1
#: A user who never activated (their activation time).
NEVER = np.iinfo(np.int64).max


def friend_counts(friendships: duckdb.DuckDBPyRelation, time_zero: np.ndarray, activated_at: np.ndarray,
                  low: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each user's friends as of their time zero, and how many of them had activated before it: the
    covariates ``n_friends`` and ``paying_friends`` of the SQL, a friendship counted from both of its ends,
    as the friendships stream past (each end's time zero and its friend's activation looked up by id).

    ``friendships``: a relation of (user_a, user_b, since in microseconds or missing: a friendship with no
    date counts from the start); ``time_zero``: each user's time zero in microseconds, :data:`OUTSIDE` for
    a user not counted; ``activated_at``: each user's activation time, :data:`NEVER` where none; both indexed
    by the id less ``low``. Returns (friends, paying friends) indexed alike; None where an id is missing or
    outside the ids (a log not checked).

    Examples
    --------
    >>> con = duckdb.connect()
    >>> pairs = con.sql("SELECT * FROM (VALUES (1, 2, 5), (1, 3, NULL), (2, 3, 50)) f(user_a, user_b, since)")
    >>> friends, paying = friend_counts(pairs, np.array([10, 10, OUTSIDE]), np.array([NEVER, 3, 1]), low=1)
    >>> friends.tolist(), paying.tolist()
    ([2, 1, 0], [2, 0, 0])
    """
    size = len(time_zero)
    friends, paying = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    counted: list[np.ndarray] = []  # the users counted, by batch: one bincount per ``size`` of them
    active: list[np.ndarray] = []

    def tally() -> None:
        for total, parts in ((friends, counted), (paying, active)):
            if parts:
                total += np.bincount(np.concatenate(parts), minlength=size)
                parts.clear()

    for batch in _batches(friendships):
        user_a, user_b, since = batch.columns
        if user_a.null_count or user_b.null_count:
            return None
        a, b = (column.to_numpy().astype(np.int64, copy=False) - low for column in (user_a, user_b))
        if not (_within(a, 0, size - 1) and _within(b, 0, size - 1)):
            return None
        since = _integers(since.cast(pa.int64()), UNDATED)
        for user, friend in ((a, b), (b, a)):
            zero = time_zero[user]
            known = since <= zero  # (never for a user not counted: nothing is at or below OUTSIDE)
            counted.append(user[known])
            known &= activated_at[friend] < zero
            active.append(user[known])
        if sum(len(part) for part in counted) >= size:
            tally()
    tally()
    return friends, paying


def span_arrays(user: np.ndarray, low_us: np.ndarray, high_us: np.ndarray, id_low: int, size: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each user's span (``low_us`` .. ``high_us - 1``) in two arrays indexed by the id less ``id_low``; a user
    with none gets a span no time is in (as does a user outside the ids, who can receive nothing)."""
    index = user.astype(np.int64) - id_low
    inside = (index >= 0) & (index < size)
    span_low, span_high = np.full(size, np.iinfo(np.int64).max), np.zeros(size, dtype=np.int64)
    span_low[index[inside]] = low_us[inside]
    span_high[index[inside]] = high_us[inside]
    return span_low, span_high


@dataclass
class PacketLookup:
    """What :func:`packet_lookup` found of the red packets (None: not asked for, or given up)."""

    #: whether each first receipt's packet went to a group
    in_group: np.ndarray | None = None
    #: for each claim asked about, whether its packet was found; for those found, their packets' group id
    #: (where ``grouped``) and sender
    found: np.ndarray | None = None
    group: np.ndarray | None = None
    grouped: np.ndarray | None = None
    sender: np.ndarray | None = None


def packet_lookup(packets: duckdb.DuckDBPyRelation, n_packets: int, firsts: np.ndarray | None,
                  claimed: np.ndarray | None) -> PacketLookup | None:
    """What the first receipts and the claims in the reciprocity spans need of their red packets, from one
    pass over the packets into arrays indexed by the packet id: whether each of ``firsts`` (packet ids) went
    to a group, and each of ``claimed``'s group and sender (None: not asked for).

    ``packets``: a relation of (packet id, group id, sender id) of the ``n_packets`` packets. As the SQL has
    it, a packet id twice (in a log not checked) is grouped if either is, and a packet not found is not
    grouped; the claims' look-up is given up (``sender`` None) where a packet id comes twice or a sender or
    group id is not an integer. None where the packet ids are not integers or spread too wide for arrays.
    """
    wanted = [part for part in (firsts, claimed) if part is not None and len(part)]
    if firsts is None and claimed is None:
        return None
    size = max((int(part.max()) + 1 for part in wanted), default=0)
    if not is_integer(packets.types[0]) or size > DENSE_SPREAD * n_packets + (1 << 16):
        return None
    if claimed is not None and not all(is_integer(t) for t in packets.types[1:]):
        claimed = None
    grouped = np.zeros(size, dtype=bool)
    if claimed is not None:
        # each claimed packet's slot in the arrays of its group and sender (a mark per packet id, then the
        # marks counted: np.unique's sort or hash of the claims is slower)
        slot = np.zeros(size, dtype=np.int64)
        slot[claimed] = 1
        distinct = np.flatnonzero(slot)
        slot[:] = -1
        slot[distinct] = np.arange(len(distinct))
        group, sender, seen = (np.zeros(len(distinct), dtype=np.int64) for _ in range(3))
    for batch in _batches(packets):
        packet = _integers(batch.column(0), -1)
        has_group = batch.column(1).is_valid().to_numpy(zero_copy_only=False)
        rows = None
        if not _within(packet, 0, size - 1):  # (packets no first receipt nor claim names)
            rows = np.flatnonzero((packet >= 0) & (packet < size))
            packet, has_group = packet[rows], has_group[rows]
        grouped[packet[has_group]] = True
        if claimed is None:
            continue
        at = slot[packet]
        hit = at >= 0
        at = at[hit]
        np.add.at(seen, at, 1)
        if batch.column(2).null_count:
            claimed = None
            continue
        hit = hit.nonzero()[0] if rows is None else rows[hit]
        group[at] = _integers(batch.column(1), 0)[hit]
        sender[at] = _integers(batch.column(2), 0)[hit]
    lookup = PacketLookup(in_group=None if firsts is None else grouped[firsts])
    if claimed is not None and not (seen > 1).any():
        at = slot[claimed]
        lookup.found = seen[at] == 1
        at = at[lookup.found]
        lookup.group, lookup.grouped, lookup.sender = group[at], grouped[claimed][lookup.found], sender[at]
    return lookup


#: A day in microseconds, as the SQL divides by it (a double).
_DAY_US = 86_400_000_000.0
#: The cells of the small fields of a counted row: organic or not, event or not, event type (3), first kind
#: (2 or none), first group (2 or unknown).
_SMALL_CELLS = 2 * 2 * 3 * 3 * 3


@dataclass
class People:
    """Every user's first receipt and leaving, in arrays indexed by the id less the lowest (:func:`people`)."""

    #: the first receipt's time (microseconds), where ``exposed``
    exposed_at: np.ndarray
    exposed: np.ndarray
    #: the time of leaving, where ``gone``
    left_at: np.ndarray
    gone: np.ndarray
    #: the first receipt's kind (0 a red packet, 1 a transfer, -1 none) and whether it came in a group (1 yes,
    #: 0 no, -1 unknown or none)
    first_kind: np.ndarray
    first_group: np.ndarray


def positions(ids: np.ndarray, low: int, size: int) -> np.ndarray | None:
    """Each row's place in arrays indexed by the id less ``low`` (``size`` long); None where an id is outside
    them or comes twice (in a log not checked: the SQL's join would count its rows twice)."""
    index = np.asarray(ids, dtype=np.int64) - low
    if not _within(index, 0, size - 1) or (len(index) and (np.bincount(index, minlength=size) > 1).any()):
        return None
    return index


def spread(index: np.ndarray, values: np.ndarray, size: int, fill: int = 0, dtype: type = np.int64
           ) -> tuple[np.ndarray, np.ndarray]:
    """Rows' values (a masked array where some are missing) put at their ``index`` in an array ``size`` long
    (``fill`` elsewhere), with where a value is.

    Examples
    --------
    >>> values, where = spread(np.array([2, 0]), np.ma.array([7, 8], mask=[False, True]), 3, fill=-1)
    >>> values.tolist(), where.tolist()
    ([-1, -1, 7], [False, False, True])
    """
    present = ~np.ma.getmaskarray(values)
    out, where = np.full(size, fill, dtype=dtype), np.zeros(size, dtype=bool)
    out[index[present]] = np.ma.getdata(values)[present]
    where[index[present]] = True
    return out, where


def people(first: duckdb.DuckDBPyRelation, users: duckdb.DuckDBPyRelation, low: int, size: int) -> People | None:
    """The people of :func:`counted_cells` from a relation of each receiver's first receipt (id, time in
    microseconds, kind 0 or 1, in a group or not) and one of the users (id, time of leaving in microseconds);
    None where an id is outside the ids or comes twice (:func:`positions`)."""
    users_found, first_found = users.fetchnumpy(), first.fetchnumpy()
    user, left = (users_found[name] for name in users.columns)
    receiver, t, kind, group = (first_found[name] for name in first.columns)
    index, at = positions(user, low, size), positions(receiver, low, size)
    if index is None or at is None:
        return None
    left_at, gone = spread(index, left, size)
    exposed_at, exposed = spread(at, t, size)
    first_kind, _ = spread(at, kind, size, fill=-1, dtype=np.int8)
    first_group, _ = spread(at, group, size, fill=-1, dtype=np.int8)
    return People(exposed_at, exposed, left_at, gone, first_kind, first_group)


def counted_cells(who: People, activated_at: np.ndarray, activated: np.ndarray, window: tuple[int, int],
                  grid: float, until: float | None = None) -> pd.DataFrame | None:
    """The counted activation table of the SQL (``_TableBuilder.counted``) from arrays: one row per (cohort,
    entry, duration, event, event type, first kind, first group) cell of the grid, with the number of people
    in it as ``weight``; the same flags, the same arithmetic in doubles, the same cells.

    ``activated_at`` / ``activated``: each user's activation time (microseconds) and whether there is one;
    ``window``: its start and end (microseconds). None where the cells do not fit one int64 key.
    """
    w_start, w_end = window
    exposed_at, exposed, act, has_act = who.exposed_at, who.exposed, activated_at, activated
    organic = has_act & (~exposed | (act < exposed_at))
    gone_before = who.gone & exposed & (who.left_at <= exposed_at)
    never_at_risk = exposed & has_act & (exposed_at < w_start) & (act < w_start)
    left_early = who.gone & (who.left_at < w_end)
    at_risk = exposed & ~organic & ~gone_before & ~never_at_risk
    rows = np.flatnonzero(at_risk | organic)
    organic, at_risk, left_early = organic[rows], at_risk[rows], left_early[rows]
    exposed_at, act, has_act = exposed_at[rows], act[rows], has_act[rows]
    censor = np.where(left_early, who.left_at[rows], w_end)
    event = at_risk & has_act & (act <= censor)
    entry = np.where(exposed_at < w_start, (w_start - exposed_at) / _DAY_US, 0.0)
    duration = (np.where(event, act, censor) - exposed_at) / _DAY_US
    entry_cell = np.floor(entry / grid)
    duration_cell = np.ceil(duration / grid)
    event_type = np.where(event, 1, np.where(left_early, 2, 0))
    later = np.zeros(len(rows), dtype=bool)
    if until is not None:
        later = ~organic & (duration_cell * grid > until) & (entry_cell * grid < until)
        event &= ~later
        event_type[later] = 0
    event_type[organic] = 0
    event &= ~organic
    if not len(rows):
        return None
    # the cell as one integer: the entry's and the duration's steps of the grid from their lowest (an organic
    # adopter's, and a follow-up ended at ``until``, as values of their own), then the small fields together
    entry_code = entry_cell.astype(np.int64)
    entry_code[organic] = -1
    duration_code = duration_cell.astype(np.int64)
    duration_code[later] = -2
    duration_code[organic] = -1
    small = organic.astype(np.int16)
    for field, values in ((event, 2), (event_type, 3), (who.first_kind[rows] + 1, 3), (who.first_group[rows] + 1, 3)):
        small *= values
        small += field.astype(np.int16)
    low_e, low_d = int(entry_code.min()), int(duration_code.min())
    span_e, span_d = int(entry_code.max()) - low_e + 1, int(duration_code.max()) - low_d + 1
    if span_e * span_d * _SMALL_CELLS >= 2**62:
        return None
    key = entry_code
    key -= low_e
    key *= span_d
    key += duration_code
    key -= low_d
    key *= _SMALL_CELLS
    key += small
    cells, weight = np.unique(key, return_counts=True)
    rest, small = np.divmod(cells, _SMALL_CELLS)
    entry_code, duration_code = np.divmod(rest, span_d)
    entry_code += low_e
    duration_code += low_d
    small, group = np.divmod(small, 3)
    small, kind = np.divmod(small, 3)
    small, event_type = np.divmod(small, 3)
    is_organic, event = np.divmod(small, 2)
    group -= 1
    kind -= 1
    is_organic = is_organic.astype(bool)
    entry = np.where(is_organic, np.nan, entry_code * grid)
    duration = np.where(is_organic, np.nan, np.where(duration_code == -2, until or 0.0, duration_code * grid))
    return pd.DataFrame({
        "cohort": pd.Categorical.from_codes(np.where(is_organic, 0, 1), ["organic", "receipt"], ordered=True),
        "entry": entry, "duration": duration, "event": event.astype(bool), "event_type": event_type.astype(np.int32),
        "first_kind": pd.Categorical.from_codes(kind, ["red_packet", "transfer"], ordered=True),
        # (as DuckDB gives a boolean column: plain where no value is missing)
        "first_group": pd.arrays.BooleanArray(group == 1, group < 0) if (group < 0).any() else group == 1,
        "weight": weight.astype(np.int64)})
