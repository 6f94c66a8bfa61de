"""Wall time and peak memory of the default scenario (two simulated years) at several sizes.

Each size runs in a fresh process (``adoption simulate``, which writes the log table by table) so that
peak memory (max RSS) is that run's alone; CPU seconds (user and system) include the command's imports.
Prints one JSON object per line::

    {"engine": "adoption", "model": "default scenario, 2014-2015", "users": N, "edges": M, "rows": R,
     "seconds": s, "user_seconds": u, "system_seconds": y, "cpu_us_per_user": c, "peak_gb": g}

Usage: ``python benchmarks/simulate_scale.py --users 100000 1000000 [10000000] [--before REV]``

With ``--before REV`` the same sizes also run on a git revision's source (checked out into a temporary
folder), side by side: the engine before a change against the engine after it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import source_trees

CHILD = """
import json, resource, sys, time
from adoption.cli import main
t0, cpu0 = time.perf_counter(), time.process_time()
code = main(["simulate", "--users", sys.argv[2], "--seed", "1", "--quiet", "--out", sys.argv[1]])
seconds = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"exit": code, "seconds": round(seconds, 1), "user_seconds": round(usage.ru_utime, 1),
                  "system_seconds": round(usage.ru_stime, 1),
                  "peak_gb": round(usage.ru_maxrss / 2**20, 2)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--before", help="also run this git revision's engine (e.g. the commit before a change)")
    args = parser.parse_args()
    with source_trees(args.before) as sources:
        for label, src in sources.items():
            run_sizes(args.users, label, src)


def run_sizes(sizes: list[int], label: str, src: Path) -> None:
    """Each size in a fresh process on the source folder ``src``; one JSON line each."""
    import pyarrow.parquet as pq

    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "log"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(out), str(n)], capture_output=True, text=True,
                                  check=False, env=env)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(json.dumps({"engine": "adoption", "source": label, "users": n, "error": proc.stderr.strip().splitlines()[-1:],
                                  "wall_seconds": round(wall, 1),
                                  "peak_gb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2)}))
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            files = list(out.rglob("*.parquet"))
            size_gb = sum(p.stat().st_size for p in files) / 2**30
            rows = sum(pq.read_metadata(p).num_rows for p in files)
            friendships = sum(pq.read_metadata(p).num_rows for p in files if p.parent.name == "friendships"
                              or p.name == "friendships.parquet")
        cpu = result["user_seconds"] + result["system_seconds"]
        print(json.dumps({"engine": "adoption", "source": label, "model": "default scenario, 2014-2015 (adoption simulate)",
                          "users": n, "edges": friendships, "rows": rows, "seconds": result["seconds"],
                          "user_seconds": result["user_seconds"], "system_seconds": result["system_seconds"],
                          "cpu_us_per_user": round(cpu / n * 1e6, 1), "peak_gb": result["peak_gb"],
                          "parquet_gb": round(size_gb, 2)}), flush=True)


if __name__ == "__main__":
    main()
