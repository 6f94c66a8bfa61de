"""Activation-table and headline benchmarks (issue: the 80% in three months).

* The activation table from a simulated log written as Parquet, by the DuckDB engine (reading the files
  in place) and by the pandas engine (reading the log into memory), each in a fresh process so that peak
  memory (max RSS) is its own.
* The headline estimate (Kaplan-Meier with delayed entry, 90-day cumulative incidence and CI) for a
  cohort of N receivers (a synthetic activation table), aggregated on a one-minute grid.

Prints one JSON object per line. Usage::

    python benchmarks/activation.py table --users 2700000 [--engines duckdb pandas] [--keep DIR]
    python benchmarks/activation.py headline --receivers 10000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLE_CHILD = """
import json, resource, sys, time
from adoption.analysis.activation import activation_table
from adoption.log.eventlog import read_eventlog
engine, folder = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
source = folder if engine == "duckdb" else read_eventlog(folder, validate=False)
table = activation_table(source, engine=engine)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 1), "rows_out": len(table),
                  "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
"""

ACTIVITY = ("red_packets", "red_packet_claims", "transfers", "payments", "scans", "card_bindings")


def table_benchmark(users: int, engines: list[str], keep: str | None) -> None:
    from adoption import Scenario
    from adoption.world.simulate import simulate_to

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep) if keep else Path(tmp) / "log"
        if not (folder / "users.parquet").exists():
            t0 = time.perf_counter()
            simulate_to(folder, Scenario(n_users=users, campaigns=False), seed=1, overwrite=True)
            print(json.dumps({"phase": "build", "what": "simulate_to", "users": users,
                              "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
        import pyarrow.parquet as pq

        parts = [p for t in ACTIVITY for p in [folder / f"{t}.parquet", *sorted(folder.glob(f"{t}/*.parquet"))]
                 if p.exists()]  # one file per table, or a folder of month parts
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        for engine in engines:
            proc = subprocess.run([sys.executable, "-c", TABLE_CHILD, engine, str(folder)], capture_output=True,
                                  text=True, check=False)
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-1:] or ["killed"]
                print(json.dumps({"engine": engine, "task": "activation_table", "users": users,
                                  "activity_rows": rows, "error": tail[0],
                                  "peak_gb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2)}))
                continue
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            print(json.dumps({"engine": engine, "task": "activation_table", "users": users, "activity_rows": rows,
                              **out}), flush=True)


def headline_benchmark(receivers: int) -> None:
    import numpy as np
    import pandas as pd

    from adoption.analysis.survival import ActivationCurve
    from adoption.datasets.synthetic import weibull_scale

    rng = np.random.default_rng(1)
    scale = weibull_scale(0.8, 1.2)
    t = scale * rng.weibull(1.2, receivers)
    c = rng.uniform(0, 365, receivers)
    entry = np.where(rng.random(receivers) < 0.1, rng.uniform(0, 30, receivers), 0.0)
    keep = np.minimum(t, c) > entry
    table = pd.DataFrame({"cohort": "receipt", "entry": entry[keep], "duration": np.minimum(t, c)[keep],
                          "event": (t <= c)[keep], "event_type": (t <= c)[keep].astype(int)})
    t0 = time.perf_counter()
    row = ActivationCurve(horizon=90).fit(table).headline_.iloc[0]
    print(json.dumps({"engine": "adoption", "task": "headline (KM, delayed entry, 1-minute grid)",
                      "receivers": int(keep.sum()), "seconds": round(time.perf_counter() - t0, 2),
                      "cumulative_incidence": round(float(row["cumulative_incidence"]), 4),
                      "ci": [round(float(row["ci_low"]), 4), round(float(row["ci_high"]), 4)]}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table")
    t.add_argument("--users", type=int, default=2_700_000)
    t.add_argument("--engines", nargs="+", default=["duckdb", "pandas"])
    t.add_argument("--keep", help="folder to keep (or reuse) the simulated log in")
    h = sub.add_parser("headline")
    h.add_argument("--receivers", type=int, default=10_000_000)
    args = parser.parse_args()
    if args.what == "table":
        table_benchmark(args.users, args.engines, args.keep)
    else:
        headline_benchmark(args.receivers)


if __name__ == "__main__":
    main()
