"""One calibration, its simulations one at a time (``--before REV``) or a replicate's points as batches (now).

``adoption calibrate`` runs a replicate of a stage's points as one batch of worlds when its free parameters are
ones the worlds of a batch may differ in (the default calibration's are); before, every point and replicate was
a world of its own. This runs the same calibration (``CalibrationSpec.default``, one process, ``workers=1``) on
this checkout and on revision ``--before``, alternately, each in a fresh process (``OMP_NUM_THREADS=1``), and
prints one JSON object per line: simulations, tasks, CPU and wall seconds, peak memory, how the points were
accepted, how many, and the calibrated point (the two differ: a world of a batch is a draw of the same
distribution as a world alone, not the same draw).

Usage: ``python benchmarks/calibration.py [--before REV] [--repeat 2] [--budget 24] [--users 3000] [--replicates 2]``
"""

from __future__ import annotations

import argparse

from revisions import print_alternately

CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from adoption.calibrate import CalibrationSpec, calibrate

budget, users, replicates = map(int, sys.argv[1:4])
spec = CalibrationSpec.default(budget=budget, replicates=replicates, base={"n_users": users}, seed=2015)
out = Path(tempfile.mkdtemp()) / "cal"
cpu0, wall0 = time.process_time(), time.perf_counter()
result = calibrate(spec, out, workers=1, progress=False)
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"simulations": budget * replicates, "tasks": len(list((out / "parts").glob("*.parquet"))),
                  "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "acceptance": result.acceptance, "accepted": int(result.points["accepted"].sum()),
                  "calibrated": {k: round(v, 3) for k, v in result.calibrated.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision to run beside this checkout")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--replicates", type=int, default=2)
    args = parser.parse_args()
    print_alternately(CHILD, [str(args.budget), str(args.users), str(args.replicates)], args.before, args.repeat,
                      budget=args.budget, users=args.users, replicates=args.replicates)


if __name__ == "__main__":
    main()
