"""Tasks per second through ``adoption.tasks.run_tasks``: the per-task cost of the executor itself.

A trivial task (``divmod``) measures everything a task costs besides its own work: submission, pickling,
scheduling, the result's trip back and the Parquet row the client writes. One simulation task measures the work.
Together they say how many simulations per hour a cluster of ``W`` worker cores runs::

    simulations per hour = 3600 * W / (simulation seconds + overhead seconds per task)

as long as the client keeps up (one client writes every row: its ceiling is the trivial tasks per second).
Prints one JSON object per line. Clusters are started before the timing (their start-up is a one-off cost,
measured separately).

Usage: ``python benchmarks/throughput.py [--tasks 2000] [--workers 2] [--users 10000]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from adoption.tasks import Task, run_tasks


def emit(**row: object) -> None:
    print(json.dumps(row), flush=True)


def trivial(n: int) -> list[Task]:
    return [Task(key=f"t{i:06d}", function=divmod, args=(i, 7)) for i in range(n)]


def timed(tasks: list[Task], **executor: object) -> float:
    parts = Path(tempfile.mkdtemp()) / "parts"
    start = time.perf_counter()
    run_tasks(tasks, parts, progress=False, result_columns=("quotient", "remainder"), **executor)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=10_000, help="users of the one simulation task timed")
    args = parser.parse_args()

    from adoption import Scenario
    from adoption.world.simulate import simulate

    simulate(Scenario(n_users=1000, end="2014-03-31"), seed=0)  # imports and first-call costs out of the timing
    start = time.perf_counter()
    simulate(Scenario(n_users=args.users), seed=1)
    simulation = time.perf_counter() - start
    emit(what="one simulation task (serial)", users=args.users, seconds=round(simulation, 2))

    tasks = trivial(args.tasks)
    wall = timed(tasks, workers=args.workers)
    emit(executor="local processes (start-up included)", workers=args.workers, tasks=args.tasks,
         wall_seconds=round(wall, 2), tasks_per_second=round(args.tasks / wall, 1),
         ms_per_task=round(1000 * wall / args.tasks, 2))

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.submit(divmod, 1, 1).result()
        emit(what="dask LocalCluster start-up", workers=args.workers, seconds=round(time.perf_counter() - start, 2))
        wall = timed(tasks, scheduler=client)
        per_task = wall / args.tasks
        emit(executor="dask LocalCluster", workers=args.workers, tasks=args.tasks, wall_seconds=round(wall, 2),
             tasks_per_second=round(args.tasks / wall, 1), ms_per_task=round(1000 * per_task, 2))
    for cores in (args.workers, 16, 64, 256):
        rate = 3600 * cores / (simulation + per_task * args.workers)
        emit(what="simulations per hour", worker_cores=cores, users=args.users,
             simulations_per_hour=round(min(rate, 3600 / per_task)), client_ceiling_per_hour=round(3600 / per_task))


if __name__ == "__main__":
    main()
