"""The small worlds the experiments run by the hundred: simulations and mean fields, CPU seconds side by side.

A calibration, a tipping experiment or a sweep runs the simulator on a few thousand users many times, and the
cold-start report and the tipping experiment run the mean field; at that size a day's work is a few hundred numpy
calls on arrays of tens of rows, so the calls' fixed costs, not the arithmetic, set the time. Each job runs in a
fresh process (``OMP_NUM_THREADS=1``), once for this checkout and once for ``--before REV``, alternately, and
prints one JSON object per line with its CPU seconds and a digest of what it computed (the same digest: the same
outputs, byte for byte):

- ``simulate``: nine runs of ``run_world``, three seeds each of a calibration's world (2,000 users to June 2015,
  no campaigns), the default world of 3,000 users over two years, and a tipping run (no red packets, 3,000 users
  on a well-mixed graph, 13% pushed), with the tables and the final state digested;
- ``mean_field``: the mean field of the 10,000-user default scenario: the phase portrait's 7 x 7 starts, the
  frontier from them, the smallest push and the path.

Usage: ``python benchmarks/small_worlds.py [--before REV] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import json

from revisions import run_child, source_trees

SIMULATE = r"""
import hashlib, json, time
import numpy as np
from adoption.world.engine import run_world
from adoption.world.meanfield import well_mixed_graph
from adoption.world.scenario import Scenario

CASES = [("default", {"n_users": 2000, "end": "2015-06-30", "campaigns": False}, False),
         ("default", {"n_users": 3000}, False),
         ("no_red_packets", {"n_users": 3000, "push_share": 0.13}, True)]
digest = hashlib.sha256()
cpu0 = time.process_time()
for name, params, mixed in CASES:
    for seed in range(3):
        scenario = Scenario.named(name, **params)
        graph_seed, world_seed = np.random.SeedSequence(seed).spawn(2)
        graph = well_mixed_graph(scenario.n_users, degree=10, seed=np.random.default_rng(graph_seed)) if mixed else None
        w = run_world(scenario, graph, np.random.default_rng(world_seed))
        for table in sorted(w.out.cols):
            for column in sorted(w.out.cols[table]):
                for part in w.out.cols[table][column]:
                    digest.update(np.ascontiguousarray(part).tobytes())
        for state in (w.active, w.reached, w.m_accept, w.waiting_cents):
            digest.update(np.ascontiguousarray(state).tobytes())
print(json.dumps({"cpu_seconds": round(time.process_time() - cpu0, 2), "digest": digest.hexdigest()[:16]}))
"""

MEAN_FIELD = r"""
import hashlib, json, time
import numpy as np
from adoption.world.meanfield import WorldMeanField
from adoption.world.scenario import Scenario

cpu0 = time.process_time()
mean_field = WorldMeanField(Scenario.named("default", n_users=10000), seed=1)
axis = np.linspace(0.0, 0.6, 7)
t = time.process_time()
grid = mean_field.outcome_grid(axis, axis)
grid_seconds = time.process_time() - t
frontier = mean_field.frontier(axis, known=grid)
push = mean_field.smallest_push()
path = mean_field.path()
digest = hashlib.sha256()
for values in (grid["users_active_end"].to_numpy(), frontier["users_start"].to_numpy(), np.array([push]),
               path.to_numpy()):
    digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
print(json.dumps({"cpu_seconds": round(time.process_time() - cpu0, 2), "portrait_grid_seconds": round(grid_seconds, 2),
                  "digest": digest.hexdigest()[:16]}))
"""

JOBS = {"simulate": SIMULATE, "mean_field": MEAN_FIELD}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="also run this git revision (the code before a change)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=list(JOBS), default=list(JOBS))
    args = parser.parse_args()
    with source_trees(args.before) as sources:
        for _ in range(args.repeat):
            for job in args.only:
                for label, src in sources.items():
                    print(json.dumps({"what": job, "source": label, **run_child(JOBS[job], [], src)}), flush=True)


if __name__ == "__main__":
    main()
