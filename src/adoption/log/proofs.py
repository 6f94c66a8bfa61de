"""What a Parquet table's storage proves, so that checking a big log needs no hash table and fewer scans.

Three facts are read from the files themselves, each answering only when proven; otherwise the caller
checks the rule the usual way (a full scan or a hash aggregate, which also finds the examples to report):

* :func:`column_statistics`: the row groups' own statistics (missing values, lowest and highest value),
  read from the file footers without reading the data;
* :func:`proven_unique`: a key that is unique because it is stored in order (below);
* :func:`claims_against_packets`: the claim rules counted in one merge of claims and packets stored in
  packet order, instead of a join of a hundred million claims with their packets.

Checking that a key is unique by counting (``GROUP BY key HAVING count(*) > 1``) builds a hash table of
every key: at a hundred million claims that is gigabytes and tens of seconds. But a log is usually stored
in key order (a database export by its primary key, ``adoption simulate`` as it numbers events), and then
uniqueness is visible row by row:

* a one-column key is unique if it strictly increases from row to row;
* a two-column key is unique if its first column never decreases and, within each run of equal first
  values, the second column holds no value twice (a short sort of nearly sorted data).

:func:`proven_unique` reads only the key's columns, a batch at a time, and answers True only when it has
proven uniqueness. False means "not proven" (the file is not in key order, the key has a missing value,
is not an integer, or the table is CSV): the caller then counts duplicates the usual way, which also finds
the examples to report.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["ClaimCounts", "claims_against_packets", "column_statistics", "pairs_unique_in_order", "proven_unique"]

#: Rows decoded at a time: 2M, so that each column's array (16 MB) stays under glibc's 32 MB ceiling for
#: reusing freed memory, instead of fresh pages mapped and faulted in for every batch (the claims' merge of
#: the 4.75M-user log: 6.0 and 6.0 s, against 6.3 and 7.8 s with 4M rows and more system time).
_BATCH_ROWS = 1 << 21


class _PairsInOrder:
    """Whether a two-column key read batch after batch (first column never decreasing) repeats no pair: the
    previous batch's last run of the first column is carried into the next batch."""

    def __init__(self) -> None:
        self.unique = True
        self._last: np.ndarray | None = None  # the rows of the previous batch's last run

    def add(self, first: np.ndarray, second: np.ndarray) -> bool:
        """Take the next batch (not empty); False once the key is not proven unique (or not in order)."""
        if not self.unique:
            return False
        last = self._last
        if last is not None:  # the previous batch's last run continues into this one
            if first[0] < last[0, 0]:
                self.unique = False
                return False
            if first[0] == last[0, 0]:
                first, second = np.concatenate([last[:, 0], first]), np.concatenate([last[:, 1], second])
        if not _distinct_within_runs(first, second):
            self.unique = False
            return False
        tail = int(np.searchsorted(first, first[-1]))
        self._last = np.column_stack([first[tail:], second[tail:]])
        return True


def proven_unique(files: Sequence[Path], columns: Sequence[str]) -> bool:
    """Whether the key ``columns`` is proven unique across the Parquet ``files`` read in order.

    Parameters
    ----------
    files : sequence of Path
        The table's Parquet files (parts of one table, in the order they are read as one table).
    columns : sequence of str
        The key: one or two columns, named as in the files.

    Returns
    -------
    bool
        True if the key is unique and in order (see the module's description); False if that is not proven.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"packet_id": [1, 1, 2, 3], "receiver_id": [7, 5, 5, 9]}).to_parquet(folder / "a.parquet")
    >>> proven_unique([folder / "a.parquet"], ["packet_id", "receiver_id"]), proven_unique([folder / "a.parquet"], ["packet_id"])
    (True, False)
    """
    if not _parquet(files) or len(columns) not in (1, 2):
        return False
    last: np.ndarray | None = None  # the previous batch's last key (one column)
    pairs = _PairsInOrder()
    try:
        for arrays, _ in _batches(files, columns):
            if not len(arrays[0]):
                continue
            if len(columns) == 2:
                if not pairs.add(*arrays):
                    return False
                continue
            key = arrays[0]
            if (last is not None and key[0] <= last[-1]) or bool(np.any(key[1:] <= key[:-1])):
                return False
            last = key[-1:]
    except _NotProven:  # a missing value, a non-integer column, or a column the files lack
        return False
    return True


def pairs_unique_in_order(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the integer pairs ``(first[i], second[i])`` are proven to repeat no pair: ``first`` never
    decreases and ``second`` repeats no value within a run of equal ``first`` (False: not proven). The
    in-memory form of :func:`proven_unique`'s two-column key, without a hash table of the pairs.

    Examples
    --------
    >>> pairs_unique_in_order(np.array([1, 1, 2]), np.array([7, 5, 5])), pairs_unique_in_order(np.array([1, 1]), np.array([5, 5]))
    (True, False)
    """
    if not len(first):
        return True
    return _distinct_within_runs(np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64))


def _distinct_within_runs(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether ``first`` never decreases and ``second`` repeats no value within a run of equal ``first``."""
    if bool(np.any(first[1:] < first[:-1])):
        return False
    step = (first[1:] > first[:-1]) | (second[1:] > second[:-1])
    if bool(step.all()):
        return True
    low, high = int(second.min()), int(second.max())
    span = high - low + 1
    if (int(first[-1]) - int(first[0]) + 1) * span >= 2**62:
        return False  # cannot be packed in one integer: not proven here
    packed = (first - first[0]) * span + (second - low)
    packed.sort(kind="stable")  # timsort: runs of sorted keys with short unsorted stretches
    return not bool(np.any(packed[1:] == packed[:-1]))


def _parquet(files: Sequence[Path]) -> bool:
    return bool(files) and all(f.suffix.lower() in (".parquet", ".pq") for f in files)


def column_statistics(files: Sequence[Path], column: str) -> tuple[int, Any, Any] | None:
    """(missing values, lowest, highest) of a column from the Parquet footers, or None where not recorded.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"amount_cents": [5, None, 7]}).to_parquet(folder / "a.parquet")
    >>> column_statistics([folder / "a.parquet"], "amount_cents")
    (1, 5.0, 7.0)
    """
    if not _parquet(files):
        return None
    import pyarrow.parquet as pq

    nulls, low, high = 0, None, None
    for file in files:
        meta = pq.ParquetFile(file).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if names.count(column) != 1:
            return None
        position = names.index(column)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            if group.num_rows == 0:
                continue
            stats = group.column(position).statistics
            if stats is None or stats.null_count is None:
                return None
            nulls += int(stats.null_count)
            if stats.null_count == group.num_rows:
                continue
            if not stats.has_min_max:
                return None
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
    return nulls, low, high


class ClaimCounts(NamedTuple):
    """What one merge of claims and packets stored in packet order counts (:func:`claims_against_packets`)."""

    #: Claims made before their packet was sent.
    before_sent: int
    #: Claims by the packet's own sender.
    by_sender: int
    #: Claims of a one-to-one packet by someone other than its recipient.
    not_recipient: int
    #: Packets with more claims than shares.
    over_shares: int
    #: Packets whose claims sum to more than their amount.
    over_amount: int
    #: Whether the claims' key (packet_id, receiver_id) is proven unique by the same pass (False: not proven,
    #: which the caller settles by counting).
    key_unique: bool


class _NotProven(Exception):
    """The files are not as the merge needs them."""


def _batches(files: Sequence[Path], columns: Sequence[str], time_column: int | None = None,
             optional: int | None = None, idle: threading.Event | None = None
             ) -> Iterator[tuple[list[np.ndarray], Any]]:
    """Batches of integer columns as int64 arrays, the time column as int64 ticks with its Arrow type; the
    ``optional`` column also yields its validity. Raises _NotProven on a missing value or another type.
    ``idle``: once set, the next batch is decoded in a thread of its own while this one is used."""
    import pyarrow as pa

    time_type = None
    for batch in _decoded(files, columns, idle):
        out = []
        for i in range(len(columns)):
            column = batch[i]
            if column.null_count and i != optional:
                raise _NotProven
            if i == time_column:
                if not pa.types.is_timestamp(column.type) or (time_type is not None and column.type != time_type):
                    raise _NotProven
                time_type = column.type
                out.append(column.cast(pa.int64()).to_numpy())
                continue
            if not pa.types.is_integer(column.type):
                raise _NotProven
            if i == optional:
                out.append(column.fill_null(0).to_numpy().astype(np.int64, copy=False))
                out.append(column.is_valid().to_numpy(zero_copy_only=False))
            else:
                out.append(column.to_numpy().astype(np.int64, copy=False))
        yield out, time_type


def _decoded(files: Sequence[Path], columns: Sequence[str], idle: threading.Event | None
             ) -> Iterator[list[Any]]:
    """The files' ``columns`` as Arrow arrays, a row group at a time (or :data:`_BATCH_ROWS` rows at a time
    where a file's row groups are larger), in order.

    Decoded in this thread while other work runs: beside DuckDB's threads on the same cores, another thread
    only adds switching (the claims of the 4.75M-user log: 2.3 s in one thread, 2.8 s with pyarrow's pool).
    Once the others are done (``idle`` set), the next row group is decoded in a thread of its own while the
    caller works on this one, whatever pyarrow's pool is (``OMP_NUM_THREADS=1`` makes it one thread)."""
    import pyarrow.parquet as pq

    def units() -> Iterator[Callable[[], list[Any]]]:
        for file in files:
            parquet = pq.ParquetFile(file)
            if any(c not in parquet.schema_arrow.names for c in columns):
                raise _NotProven
            meta = parquet.metadata
            if any(meta.row_group(g).num_rows > 2 * _BATCH_ROWS for g in range(meta.num_row_groups)):
                for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=list(columns), use_threads=False):
                    yield functools.partial(_columns, batch)
            else:
                for g in range(meta.num_row_groups):
                    yield functools.partial(_row_group, parquet, g, columns)

    pool: ThreadPoolExecutor | None = None
    ahead: Future[list[Any]] | None = None  # the next unit, decoded meanwhile
    try:
        for unit in units():
            if idle is not None and idle.is_set():
                pool = pool or ThreadPoolExecutor(max_workers=1, thread_name_prefix="adoption-decode")
                following = pool.submit(unit)
                if ahead is None:  # (the first unit decoded ahead: nothing to give yet)
                    ahead = following
                    continue
                current, ahead = ahead.result(), following
                yield current
                continue
            yield unit()  # (idle is never cleared: once a unit is decoded ahead, every later one is)
        if ahead is not None:
            yield ahead.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _columns(batch: Any) -> list[Any]:
    """A record batch's columns as Arrow arrays."""
    return [batch.column(i) for i in range(batch.num_columns)]


def _row_group(parquet: Any, group: int, columns: Sequence[str]) -> list[Any]:
    """One row group's ``columns`` as Arrow arrays (each in one piece)."""
    table = parquet.read_row_group(group, columns=list(columns), use_threads=False)
    return [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]


def claims_against_packets(claim_files: Sequence[Path], claim_columns: Sequence[str],
                           packet_files: Sequence[Path], packet_columns: Sequence[str], *,
                           stop: threading.Event | None = None, idle: threading.Event | None = None
                           ) -> ClaimCounts | None:
    """The claim rules counted by one merge of claims and packets that are both stored in packet order.

    The same pass proves the claims' key unique where it is (see :func:`proven_unique`): its columns are
    read once for both.

    Parameters
    ----------
    claim_files, packet_files : sequence of Path
        The Parquet files of ``red_packet_claims`` and ``red_packets``.
    claim_columns : sequence of str
        The files' names of the claims' packet_id, receiver_id, claimed_at and amount_cents.
    packet_columns : sequence of str
        The files' names of the packets' packet_id, sender_id, sent_at, amount_cents, shares and
        (optionally, a sixth) recipient_id.
    stop : threading.Event, optional
        When set (by another thread), the merge gives up after its current batch and returns None.
    idle : threading.Event, optional
        When set (by another thread that now only waits for the merge), the next row group is decoded in a
        thread of its own while the merge works on the current one: the core the other work leaves free.

    Returns
    -------
    ClaimCounts or None
        Claims made before their packet was sent, claims by the packet's sender, claims of a one-to-one
        packet by someone other than its recipient, packets with more claims than shares, and packets whose
        claims sum to more than their amount; claims of a packet that does not exist are not counted, as
        in a join; and whether (packet_id, receiver_id) is proven unique. None if not proven this way:
        packet ids not strictly increasing, claims not in packet order, a missing value, a non-integer id
        or amount, or time columns of different types.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = Path(tempfile.mkdtemp())
    >>> t = pd.to_datetime(["2015-02-18 20:00", "2015-02-18 21:00"])
    >>> pd.DataFrame({"packet_id": [1, 2], "sender_id": [7, 8], "sent_at": t, "amount_cents": [100, 50],
    ...               "shares": [2, 1]}).to_parquet(folder / "packets.parquet")
    >>> pd.DataFrame({"packet_id": [1, 1, 2], "receiver_id": [7, 9, 3], "claimed_at": t[[1, 1, 0]],
    ...               "amount_cents": [60, 30, 50]}).to_parquet(folder / "claims.parquet")
    >>> claims_against_packets([folder / "claims.parquet"], ["packet_id", "receiver_id", "claimed_at", "amount_cents"],
    ...                        [folder / "packets.parquet"], ["packet_id", "sender_id", "sent_at", "amount_cents", "shares"])
    ClaimCounts(before_sent=1, by_sender=1, not_recipient=0, over_shares=0, over_amount=0, key_unique=True)
    """
    if not (_parquet(claim_files) and _parquet(packet_files)):
        return None
    try:
        return _merge(claim_files, claim_columns, packet_files, packet_columns, stop, idle)
    except _NotProven:
        return None


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(ids, values)`` for strictly increasing ``ids``; by subtraction where the ids are
    consecutive (as a log numbers its packets), which is several times faster than a binary search each.

    Examples
    --------
    >>> _positions(np.array([4, 5, 6]), np.array([2, 5, 9])), _positions(np.array([4, 6, 7]), np.array([2, 6, 9]))
    (array([0, 1, 3]), array([0, 1, 3]))
    """
    if len(ids) and int(ids[-1]) - int(ids[0]) + 1 == len(ids):
        return np.clip(values - ids[0], 0, len(ids))
    return np.searchsorted(ids, values)


def _merge(claim_files: Sequence[Path], claim_columns: Sequence[str], packet_files: Sequence[Path],
           packet_columns: Sequence[str], stop: threading.Event | None, idle: threading.Event | None = None
           ) -> ClaimCounts:
    has_recipient = len(packet_columns) > 5
    packet_batches = _batches(packet_files, packet_columns, 2, 5 if has_recipient else None, idle)
    # the packets read and not yet passed: id, sender, sent, amount, shares, recipient, recipient present
    packets: list[np.ndarray] = [np.zeros(0, np.int64)] * 6 + [np.zeros(0, bool)]
    packet_time, more_packets = None, True
    counts = [0, 0, 0, 0, 0]
    open_packet: tuple[int, int, int] | None = None  # the last packet seen: (id, claims, their total)
    last_claim = None
    pairs = _PairsInOrder()  # (packet_id, receiver_id) proven unique as the claims go by

    def settle(ids: np.ndarray, n: np.ndarray, total: np.ndarray) -> None:
        at = _positions(packets[0], ids)
        counts[3] += int(np.count_nonzero(n > packets[4][at]))
        counts[4] += int(np.count_nonzero(total > packets[3][at]))

    for (pid, receiver, claimed, amount), claim_time in _batches(claim_files, claim_columns, 2, idle=idle):
        if stop is not None and stop.is_set():
            raise _NotProven
        if not len(pid):
            continue
        if bool(np.any(pid[1:] < pid[:-1])) or (last_claim is not None and pid[0] < last_claim):
            raise _NotProven
        last_claim = int(pid[-1])
        pairs.add(pid, receiver)  # (every claim, those of packets that do not exist included)
        oldest = min(int(pid[0]), open_packet[0]) if open_packet else int(pid[0])
        keep = int(np.searchsorted(packets[0], oldest))
        packets = [a[keep:] for a in packets]
        while more_packets and (not len(packets[0]) or packets[0][-1] < pid[-1]):
            arrays, packet_time = next(packet_batches, (None, packet_time))
            if arrays is None:
                more_packets = False
                break
            if not has_recipient:
                arrays = [*arrays, np.zeros(len(arrays[0]), np.int64), np.zeros(len(arrays[0]), bool)]
            ids = arrays[0]
            if bool(np.any(ids[1:] <= ids[:-1])) or (len(packets[0]) and ids[0] <= packets[0][-1]):
                raise _NotProven
            packets = [np.concatenate([a, b]) for a, b in zip(packets, arrays, strict=True)]
        if packet_time is not None and claim_time != packet_time:
            raise _NotProven
        # one search per packet (claims come in runs of one packet), then the packet's values repeated
        starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
        lengths = np.diff(np.r_[starts, len(pid)])
        at = _positions(packets[0], pid[starts])
        found = at < len(packets[0])
        found[found] = packets[0][at[found]] == pid[starts][found]
        if not found.all():  # claims of a packet that does not exist: left out, as in a join
            rows = np.repeat(found, lengths)
            pid, receiver, claimed, amount = pid[rows], receiver[rows], claimed[rows], amount[rows]
            starts, lengths, at = np.r_[0, np.cumsum(lengths[found])[:-1]], lengths[found], at[found]
            if not len(pid):
                continue
        counts[0] += int(np.count_nonzero(claimed < np.repeat(packets[2][at], lengths)))
        counts[1] += int(np.count_nonzero(receiver == np.repeat(packets[1][at], lengths)))
        counts[2] += int(np.count_nonzero(np.repeat(packets[6][at], lengths)
                                          & (receiver != np.repeat(packets[5][at], lengths))))
        if int(np.abs(amount).max()) > (2**62) // (int(lengths.max()) + (open_packet[1] if open_packet else 0)):
            raise _NotProven  # a packet's total could overflow 64 bits: SQL sums it exactly
        ids, n, total = pid[starts], lengths, np.add.reduceat(amount, starts)
        if open_packet is not None:
            if open_packet[0] == ids[0]:
                n[0] += open_packet[1]
                total[0] += open_packet[2]
            else:
                settle(np.array([open_packet[0]]), np.array([open_packet[1]]), np.array([open_packet[2]]))
        settle(ids[:-1], n[:-1], total[:-1])
        open_packet = (int(ids[-1]), int(n[-1]), int(total[-1]))
    if open_packet is not None:
        settle(np.array([open_packet[0]]), np.array([open_packet[1]]), np.array([open_packet[2]]))
    return ClaimCounts(*counts, key_unique=pairs.unique)
