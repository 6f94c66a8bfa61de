"""The floor: a vectorized CSR day step over the same users and days, beside the whole ``adoption simulate``.

``simulate`` is the whole command (``adoption simulate --users N``: the graph built, the days run, the log
written to Parquet), timed from the call into the command line, its imports included.

The floor is the least work a day-by-day simulation of this graph does: every day, one sparse
matrix-vector product over all friendships (how many friends of each user are active) and one random draw
per user (who adopts, with probability ``1 - exp(-beta * active friends)``). It builds no events, keeps no
log and writes nothing. ``adoption simulate`` does more (red packets, claims, transfers, payments,
merchants, the log written to Parquet) but only where events happen.

Both run in fresh processes on the same graph size and number of days, with the same allocator settings
(:func:`adoption.processes.reuse_freed_memory`: without them the floor's daily arrays are mapped and faulted
in afresh, and its time moved between 18 and 23 s with the allocator's state); CPU seconds (user + system,
which a shared machine disturbs least) and wall seconds. Prints one JSON object per line::

    {"what": "floor" | "simulate", "users": N, "days": D, "cpu_seconds": c, "wall_seconds": s, "peak_gb": g}

Usage: ``python benchmarks/floor.py --users 1000000 [--days 730] [--repeat 3] [--before REV]``

With ``--before REV`` the simulator of a git revision runs too (the previous engine, side by side).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from revisions import run_child, source_trees

FLOOR = """
import json, resource, sys, time
import numpy as np
from adoption.processes import reuse_freed_memory
from adoption.world.graph import generate_graph
reuse_freed_memory()  # the allocator settings `adoption simulate` uses, so that both reuse freed arrays alike
n, days = int(sys.argv[1]), int(sys.argv[2])
graph = generate_graph(n, mean_degree=10.0, seed=1)
adjacency = graph.adjacency().astype(np.float32)
rng = np.random.default_rng(1)
cpu0, wall0 = time.process_time(), time.perf_counter()
active = (rng.random(n) < 0.02).astype(np.float32)
beta = 0.002
for day in range(days):
    exposure = adjacency @ active                   # active friends of every user: one pass over the edges
    adopt = rng.random(n) < -np.expm1(-beta * exposure)  # one draw per user
    active[adopt] = 1.0
print(json.dumps({"cpu_seconds": round(time.process_time() - cpu0, 2), "wall_seconds": round(time.perf_counter() - wall0, 2),
                  "active_share": round(float(active.mean()), 3), "edges": graph.n_edges,
                  "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
"""

SIMULATE = """
import json, resource, sys, time
import pandas as pd
from adoption.cli import main
n, days, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
end = str((pd.Timestamp("2014-01-01") + pd.Timedelta(days=days - 1)).date())
cpu0, wall0 = time.process_time(), time.perf_counter()
code = main(["simulate", "--users", n, "--seed", "1", "--quiet", "--set", f"end={end}", "--out", out])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"exit": code, "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu0, 2),
                  "user_seconds": round(usage.ru_utime, 2), "system_seconds": round(usage.ru_stime, 2),
                  "wall_seconds": round(time.perf_counter() - wall0, 2),
                  "peak_gb": round(usage.ru_maxrss / 2**20, 2)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--before", help="also run this git revision's simulator (the engine before a change)")
    args = parser.parse_args()
    size = [str(args.users), str(args.days)]
    with source_trees(args.before) as sources:
        for _ in range(args.repeat):
            print(json.dumps({"what": "floor", "users": args.users, "days": args.days,
                              **run_child(FLOOR, size, None)}), flush=True)
            for label, src in sources.items():
                with tempfile.TemporaryDirectory() as tmp:
                    result = run_child(SIMULATE, [*size, str(Path(tmp) / "log")], src)
                print(json.dumps({"what": "simulate", "source": label, "users": args.users, "days": args.days,
                                  **result}), flush=True)


if __name__ == "__main__":
    main()
