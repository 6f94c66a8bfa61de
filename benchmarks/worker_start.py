"""What local worker processes cost to start: a small tipping experiment on ``--workers`` processes, this
checkout against a git revision (``--before``), CPU seconds of the whole process tree.

The experiment (500 users, three pushes, two replicates, one mean-field draw: seven tasks of a fraction of a
second) is small on purpose, so that the workers' start-up is most of it. CPU seconds count the command, its
workers and, where workers are forked from a server, the server (stopped at the end so that its time is
counted). Prints one JSON object per line.

Usage: ``python benchmarks/worker_start.py [--workers 2] [--repeat 3] [--before REV]``
"""

from __future__ import annotations

import argparse

from revisions import print_alternately

TIPPING = """
import json, resource, sys, tempfile, time
from pathlib import Path
from adoption.cli import main
workers = sys.argv[1]
wall0 = time.perf_counter()
code = main(["tipping", "--users", "500", "--pushes", "0,0.2,0.5", "--replicates", "2", "--workers", workers,
             "--mean-field-draws", "1", "--quiet", "--out", str(Path(tempfile.mkdtemp()) / "t")])
from multiprocessing import forkserver
server = forkserver._forkserver
if getattr(server, "_forkserver_pid", None):
    server._stop()  # (waits for the server: its CPU time, and its workers', joins this process's children)
wall = time.perf_counter() - wall0
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"exit": code, "wall_seconds": round(wall, 2),
                  "cpu_seconds": round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 2),
                  "workers_cpu_seconds": round(children.ru_utime + children.ru_stime, 2)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="also run this git revision (the start method before a change)")
    args = parser.parse_args()
    print_alternately(TIPPING, [str(args.workers)], args.before, args.repeat, workers=args.workers)


if __name__ == "__main__":
    main()
