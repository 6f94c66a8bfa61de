"""One calibration budget on local processes and on a Dask cluster, side by side.

Runs the same calibration (same spec, same seeds) three ways on this machine and prints one JSON object
per line::

    {"executor": ..., "workers": 2, "simulations": S, "tasks": N, "wall_seconds": s, "tasks_per_second": r,
     "overhead_per_task_seconds": o, "same_table": true}

A task is one replicate of a stage's points run as a batch of worlds (at most ``world.batch.BATCH_USERS``
users), so ``tasks`` is smaller than ``simulations`` (points x replicates).

* ``serial`` — the tasks one after the other in this process (the compute time every executor must spend);
* ``processes`` — :func:`adoption.tasks.run_tasks` on 2 local worker processes (the default);
* ``dask`` — the same on a ``distributed.LocalCluster`` with 2 worker processes of 1 thread.

``overhead_per_task_seconds`` is ``(workers * wall - serial) / tasks``: start-up, pickling, scheduling and
writing each result, per task. ``same_table`` checks that the executor's points table equals the serial one.

Usage: ``python benchmarks/executors.py [--budget 16] [--users 3000] [--replicates 1]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from adoption.calibrate import CalibrationSpec, calibrate


def emit(**row: object) -> None:
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--replicates", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = CalibrationSpec.default(budget=args.budget, replicates=args.replicates, base={"n_users": args.users})
    simulations = args.budget * args.replicates
    root = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    serial = calibrate(spec, root / "serial", workers=1, progress=False)
    serial_wall = time.perf_counter() - start
    tasks = len(list((root / "serial" / "parts").glob("*.parquet")))
    emit(executor="serial (1 process)", workers=1, simulations=simulations, tasks=tasks, wall_seconds=round(serial_wall, 2),
         tasks_per_second=round(tasks / serial_wall, 3), overhead_per_task_seconds=None, same_table=True)

    start = time.perf_counter()
    local = calibrate(spec, root / "processes", workers=args.workers, progress=False)
    wall = time.perf_counter() - start
    emit(executor="processes", workers=args.workers, simulations=simulations, tasks=tasks, wall_seconds=round(wall, 2),
         tasks_per_second=round(tasks / wall, 3),
         overhead_per_task_seconds=round((args.workers * wall - serial_wall) / tasks, 3),
         same_table=_same(local.points, serial.points))

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask = calibrate(spec, root / "dask", scheduler=client, progress=False)
    wall = time.perf_counter() - start
    emit(executor="dask LocalCluster (start-up included)", workers=args.workers, simulations=simulations, tasks=tasks, wall_seconds=round(wall, 2),
         tasks_per_second=round(tasks / wall, 3),
         overhead_per_task_seconds=round((args.workers * wall - serial_wall) / tasks, 3),
         same_table=_same(dask.points, serial.points))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b)
        return True
    except AssertionError:
        return False


if __name__ == "__main__":
    main()
