"""Source trees to benchmark side by side: this checkout's, and a git revision's checked out beside it; and a
child process to run code on one of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def source_trees(before: str | None) -> Iterator[dict[str, Path]]:
    """``{"now": src}``, plus ``{before: src}`` of a temporary git worktree at revision ``before`` (removed after)."""
    sources = {"now": ROOT / "src"}
    with tempfile.TemporaryDirectory() as tree:
        if before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", tree, before], check=True)
            sources[before] = Path(tree) / "src"
        try:
            yield sources
        finally:
            if before:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tree], check=False)


def run_child(code: str, args: list[str], src: Path | None) -> dict:
    """Run ``code`` in a fresh interpreter (``OMP_NUM_THREADS=1``) on the source folder ``src`` (None: the
    installed package) with ``args``; its last line of output, read as JSON, or ``{"error": ...}``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_alternately(code: str, args: list[str], before: str | None, repeat: int, **labels: object) -> None:
    """Run ``code`` (:func:`run_child`) on this checkout and on revision ``before``, alternately, ``repeat``
    times, printing one JSON line per run: its source, ``labels`` and the child's last line."""
    with source_trees(before) as sources:
        for _ in range(repeat):
            for label, src in sources.items():
                print(json.dumps({"source": label, **labels, **run_child(code, args, src)}), flush=True)
