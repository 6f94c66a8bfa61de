"""Wall time and peak memory of the default scenario (two simulated years) at several sizes.

Each size runs in a fresh process (``adoption simulate``, which writes the log table by table) so that
peak memory (max RSS) is that run's alone. Prints one JSON object per line::

    {"engine": "adoption", "model": "default scenario, 2014-2015", "users": N, "edges": M, "rows": R,
     "seconds": s, "peak_gb": g}

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
from adoption.world.simulate import simulate_to
t0 = time.perf_counter()
rows = simulate_to(sys.argv[1], "default", seed=1, overwrite=True, progress=False)
rows_total = sum(rows.values())
seconds = time.perf_counter() - t0
print(json.dumps({"rows": rows_total, "friendships": rows["friendships"], "seconds": round(seconds, 1),
                  "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
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
    env = {**os.environ, "PYTHONPATH": str(src)}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "log"
            code = CHILD.replace('"default"', f'__import__("adoption").Scenario(n_users={n})')
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, check=False,
                                  env=env)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(json.dumps({"engine": "adoption", "source": label, "users": n, "error": proc.stderr.strip().splitlines()[-1:],
                                  "wall_seconds": round(wall, 1),
                                  "peak_gb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2)}))
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            size_gb = sum(p.stat().st_size for p in out.iterdir()) / 2**30
        print(json.dumps({"engine": "adoption", "source": label, "model": "default scenario, 2014-2015 (simulate + write Parquet)",
                          "users": n, "edges": result["friendships"], "rows": result["rows"],
                          "seconds": result["seconds"], "peak_gb": result["peak_gb"],
                          "parquet_gb": round(size_gb, 2)}), flush=True)


if __name__ == "__main__":
    main()
