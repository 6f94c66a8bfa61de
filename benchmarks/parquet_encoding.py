"""How the log's Parquet files are stored, against plain values: writing, reading, size, and the claims' check.

The log writer stores integer and time columns as differences from row to row (``DELTA_BINARY_PACKED``,
:func:`adoption.log.eventlog.parquet_options`); before, they were plain 8-byte values. Both zstd-compressed,
text in dictionary pages. On a log folder written by ``adoption simulate``:

* every table (each Parquet file) is written to a temporary file and read back with each setting,
  alternately, in this process: CPU seconds and bytes;
* the claims and packets are rewritten with each setting, and the claims are checked against their
  packets (:func:`adoption.log.proofs.claims_against_packets`, the largest of the log's checks), alternately:
  wall and CPU seconds.

Prints one JSON object per line::

    {"what": "tables", "storage": "plain" | "differences", "write_cpu": c, "read_cpu": c, "mb": m}
    {"what": "claims_check", "storage": ..., "wall_seconds": s, "cpu_seconds": c}

Usage: ``python benchmarks/parquet_encoding.py LOG [--repeat 3] [--skip-tables]`` (for example a log made by
``adoption simulate --users 1000000 --out LOG``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from adoption.log.eventlog import parquet_options, table_parts, table_sources
from adoption.log.proofs import claims_against_packets

CLAIMS = ["packet_id", "receiver_id", "claimed_at", "amount_cents"]
PACKETS = ["packet_id", "sender_id", "sent_at", "amount_cents", "shares", "recipient_id"]


def plain_options(schema: pa.Schema) -> dict[str, Any]:
    """The writer's options before: the same, without the differences."""
    return {key: value for key, value in parquet_options(schema).items() if key != "column_encoding"}


STORAGE = {"plain": plain_options, "differences": parquet_options}


def parts(folder: Path, table: str) -> list[Path]:
    """A table's Parquet files as the readers list them: its folder's parts, or its one file."""
    source = table_sources(folder)[table]
    return table_parts(source) if source.is_dir() else [source]


def tables(log: Path, repeat: int, scratch: Path) -> None:
    files = sorted(log.rglob("*.parquet"))
    data = [pq.read_table(f) for f in files]
    target = scratch / "table.parquet"
    for _ in range(repeat):
        for storage, options in STORAGE.items():
            write = read = 0.0
            size = 0
            for table in data:
                start = time.process_time()
                pq.write_table(table, target, **options(table.schema))
                write += time.process_time() - start
                start = time.process_time()
                pq.read_table(target, use_threads=False)
                read += time.process_time() - start
                size += target.stat().st_size
            print(json.dumps({"what": "tables", "storage": storage, "files": len(files), "write_cpu": round(write, 2),
                              "read_cpu": round(read, 2), "mb": round(size / 1e6, 1)}), flush=True)


def claims_check(log: Path, repeat: int, scratch: Path) -> None:
    copies = {}
    for storage, options in STORAGE.items():
        copies[storage] = scratch / storage
        for table in ("red_packets", "red_packet_claims"):
            (copies[storage] / table).mkdir(parents=True)
            for number, file in enumerate(parts(log, table)):  # (numbered: the parts' order kept)
                data = pq.read_table(file)
                pq.write_table(data, copies[storage] / table / f"{number:05d}.parquet", **options(data.schema))
    for _ in range(repeat):
        for storage, folder in copies.items():
            packets = parts(folder, "red_packets")
            columns = PACKETS if "recipient_id" in pq.read_schema(packets[0]).names else PACKETS[:5]
            wall, cpu = time.perf_counter(), time.process_time()
            counts = claims_against_packets(parts(folder, "red_packet_claims"), CLAIMS, packets, columns)
            print(json.dumps({"what": "claims_check", "storage": storage,
                              "wall_seconds": round(time.perf_counter() - wall, 2),
                              "cpu_seconds": round(time.process_time() - cpu, 2),
                              "proven": counts is not None}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-tables", action="store_true", help="only the claims' check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.log.parent) as scratch:
        if not args.skip_tables:
            tables(args.log, args.repeat, Path(scratch))
        claims_check(args.log, args.repeat, Path(scratch))


if __name__ == "__main__":
    main()
