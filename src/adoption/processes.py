"""Whether a process is still running: how a dead writer or report run is told from a live one."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["process_alive", "reuse_freed_memory"]

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


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


def reuse_freed_memory() -> bool:
    """Ask the C allocator to keep freed memory for reuse, for a process that allocates and frees large
    arrays many times (a simulation's day loop).

    By default glibc hands every array over 128 KiB to the kernel as a fresh mapping and returns it when the
    array is freed, so the next day's array of the same size is faulted in and zeroed again: at a million
    users that is about a third of the system time of ``adoption simulate`` (6.0 s of system time with
    the defaults, 3.7 s with these settings, the same peak memory). Arrays up to 1 GiB are taken from the
    heap, freed memory is kept (up to 2 GiB above the heap's top), and the heap grows 256 MiB at a time.
    The memory is returned when the process ends, so only short-lived processes (the command line) should
    call this. Returns False where there is no glibc (macOS, Windows, musl): nothing is changed there.

    Examples
    --------
    >>> isinstance(reuse_freed_memory(), bool)
    True
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
        _ = libc.gnu_get_libc_version  # glibc only: other C libraries read these parameters differently
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, 2**30), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 2**28))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)
