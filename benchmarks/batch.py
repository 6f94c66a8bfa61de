"""Small worlds one at a time or as a batch (``adoption.world.batch.run_worlds``), CPU seconds side by side.

The work of a simulate-and-recover study: 24 worlds of 4,000 users to April 2015 (no campaign), run three ways in
fresh processes (``OMP_NUM_THREADS=1``), alternately: each alone (``run_world``), all 24 as one batch, and as four
batches of six; beside them one world of 96,000 users (the batch's size) for the floor a batch can reach. Each
child prints its CPU seconds, its peak memory and the mean share of users active at the end (the worlds of a
batch are draws of the same distribution as the worlds alone, not the same draws).

Usage: ``python benchmarks/batch.py [--repeat 2] [--worlds 24] [--users 4000]``
"""

from __future__ import annotations

import argparse
import json

from revisions import ROOT, run_child

CHILD = r"""
import json, resource, sys, time
import numpy as np
from adoption.world.batch import run_worlds
from adoption.world.engine import run_world
from adoption.world.scenario import Scenario

how, worlds, users = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scenario = Scenario(n_users=users, end="2015-04-30", campaigns=False)
seeds = list(range(worlds))
cpu0 = time.process_time()
if how == "alone":
    done = [run_world(scenario, None, seed) for seed in seeds]
elif how == "one batch":
    done = run_worlds(scenario, seeds)
elif how == "batches of six":
    done = [w for i in range(0, worlds, 6) for w in run_worlds(scenario, seeds[i:i + 6])]
else:  # one world the size of the batch
    done = [run_world(scenario.replace(n_users=users * worlds), None, 0)]
cpu = time.process_time() - cpu0
print(json.dumps({"cpu_seconds": round(cpu, 2), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "active_end": round(float(np.mean([np.mean(w.active < w.n_days) for w in done])), 4)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worlds", type=int, default=24)
    parser.add_argument("--users", type=int, default=4000)
    args = parser.parse_args()
    for _ in range(args.repeat):
        for how in ("alone", "one batch", "batches of six", "one world of the batch's size"):
            result = run_child(CHILD, [how, str(args.worlds), str(args.users)], ROOT / "src")
            print(json.dumps({"how": how, "worlds": args.worlds, "users": args.users, **result}), flush=True)


if __name__ == "__main__":
    main()
