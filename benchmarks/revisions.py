"""Source trees to benchmark side by side: this checkout's, and a git revision's checked out beside it."""

from __future__ import annotations

import subprocess
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
