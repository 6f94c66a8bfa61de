"""Whether a process is still running: how a dead writer or report run is told from a live one."""

from __future__ import annotations

import os

__all__ = ["process_alive"]


def process_alive(pid: int) -> bool:
    """True when a process with this id runs on this machine (or exists but is not ours to signal).

    Examples
    --------
    >>> process_alive(os.getpid())
    True
    >>> process_alive(2**22 + 7)
    False
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
