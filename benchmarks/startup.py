"""How fast the command line answers: ``--help``, ``--version`` and a usage error, beside ``python -c pass``.

Each command runs ``--repeat`` times in a fresh process; the JSON line per command gives the median and the
fastest wall-clock seconds. With ``--before REV`` the same commands also run on a git revision's source
(checked out into a temporary folder), side by side.

Usage: ``python benchmarks/startup.py [--repeat 15] [--before 9c3711d]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from revisions import source_trees

ROOT = Path(__file__).resolve().parents[1]

def _cli(*argv: str) -> list[str]:
    """The command line's ``main`` (what the ``adoption`` script runs), in a form every revision supports."""
    return ["-c", f"import sys; from adoption.cli import main; sys.exit(main({list(argv)!r}))"]


COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import adoption'": ["-c", "import adoption"],
    "adoption --help": _cli("--help"),
    "adoption --version": _cli("--version"),
    "adoption simulate --users x (usage error)": _cli("simulate", "--users", "x", "--out", "o"),
}


def timings(args: list[str], repeat: int, src: Path) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--before", help="also time this git revision (e.g. the commit before the change)")
    args = parser.parse_args()
    with source_trees(args.before) as sources:
        for label, src in sources.items():
            for name, command in COMMANDS.items():
                s = timings(command, args.repeat, src)
                print(json.dumps({"benchmark": "startup", "source": label, "command": name,
                                  "median_seconds": round(statistics.median(s), 3),
                                  "fastest_seconds": round(min(s), 3), "runs": len(s)}), flush=True)


if __name__ == "__main__":
    main()
