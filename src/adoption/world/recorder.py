"""The output recorder: append-only column buffers, one set per table of the event log.

Mechanisms add columns of events as they happen (``add``); the log's tables are built from them at the end
(:mod:`adoption.world.tables`), each buffer released once its table is built.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

__all__ = ["EventRecorder"]


class EventRecorder:
    """Append-only column buffers, one per output table."""

    def __init__(self) -> None:
        self.cols: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))

    def add(self, table: str, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            values = np.asarray(values)
            if values.dtype.kind in "iu":  # ids, counts and cents fit in int32 while buffered
                values = values.astype(np.int32)
            self.cols[table][name].append(values)

    def peek(self, table: str, name: str, dtype: type | str) -> np.ndarray:
        """The column, concatenated; its buffers are kept."""
        parts = self.cols[table].get(name, [])
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)

    def get(self, table: str, name: str, dtype: type | str) -> np.ndarray:
        """The column, concatenated; its buffers are released."""
        parts = self.cols[table].pop(name, [])
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
