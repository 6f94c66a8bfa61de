"""Processes and the resources they may use: whether a process still runs (how a dead writer or report run is
told from a live one), how much memory DuckDB may take, glibc told to reuse freed memory, and one thread
for the numerical libraries of a worker that shares the cores."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["THREAD_VARIABLES", "default_memory_limit", "one_thread_environment", "one_thread_per_worker", "one_thread_while",
           "process_alive", "progress_lock_of_its_own", "reuse_freed_memory", "skip_iri_grammar", "start_report_worker"]

#: The environment variables from which the numerical libraries take their number of threads when they load
#: (OpenBLAS, which numpy and scipy bundle; OpenMP; MKL).
THREAD_VARIABLES: tuple[str, ...] = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
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


def memory_allowed() -> int | None:
    """Bytes of memory this process may use: its control group's limit, else the machine's; None where
    neither can be read.

    Examples
    --------
    >>> memory_allowed() is None or memory_allowed() > 0
    True
    """
    limits = []
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    with contextlib.suppress(ValueError, OSError, AttributeError):  # (not a POSIX system that says)
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return min(limits) if limits else None


def default_memory_limit() -> str:
    """Half the memory this process may use (:func:`memory_allowed`), in whole gigabytes, at least 1GB;
    "2GB" where it cannot be read.

    DuckDB's own default is 80% of the machine. Half leaves room for the Python side beside it; a fixed
    2GB made a ten-million-user activation spill its joins to disk (135 s against 113 s with 12GB).

    Examples
    --------
    >>> default_memory_limit().endswith("GB")
    True
    """
    allowed = memory_allowed()
    return "2GB" if allowed is None else f"{max(1, allowed // 2 // 2**30)}GB"


def one_thread_per_worker() -> bool:
    """Give this process's numerical libraries one thread each, for a worker beside others on the same cores
    (a sweep's processes, reports run side by side, a test worker); False, and nothing changed, where the
    user set any of :data:`THREAD_VARIABLES`.

    Each library otherwise starts a thread per core in every process, and OpenBLAS's threads spin while
    they wait: with two test workers on two cores, a network-diffusion fit took 9.1 s against 3.0 s alone,
    and 3.0 s with one thread each. The variables are set for the libraries this process loads later and
    for its own subprocesses (a report's kernel); the libraries loaded already are limited through
    threadpoolctl.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = "from adoption.processes import one_thread_per_worker as f; import os; f(); print(os.environ['OMP_NUM_THREADS'])"
    >>> env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    >>> subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip()
    '1'
    """
    if _threads_set_by_user():
        return False
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # (kept for the life of the process)
    return True


def _threads_set_by_user() -> bool:
    """Whether the user set any of :data:`THREAD_VARIABLES` (their choice is then left as it is)."""
    return any(name in os.environ for name in THREAD_VARIABLES)


@contextlib.contextmanager
def one_thread_environment() -> Iterator[None]:
    """Within the block, :data:`THREAD_VARIABLES` say one thread, for the processes started in it (a server
    that workers are forked from); this process's libraries are left as they are, and so is a user's choice.

    Examples
    --------
    >>> with one_thread_environment():
    ...     os.environ["OMP_NUM_THREADS"] != ""
    True
    """
    if _threads_set_by_user():
        yield
        return
    try:
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
        yield
    finally:
        for name in THREAD_VARIABLES:
            os.environ.pop(name, None)


@contextlib.contextmanager
def one_thread_while() -> Iterator[None]:
    """Within the block, the numerical libraries loaded take one thread each, as in a worker of
    :func:`one_thread_per_worker` (tasks run in this process give a worker's numbers); nothing changed
    where the user set any of :data:`THREAD_VARIABLES`.

    Examples
    --------
    >>> with one_thread_while():
    ...     pass
    """
    if _threads_set_by_user():
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def skip_iri_grammar() -> bool:
    """Keep jsonschema from loading its optional IRI checker in this process; True where it was still in time.

    The notebook format (nbformat, under papermill and nbconvert) validates notebooks with jsonschema, which
    imports ``rfc3987_syntax`` when it is installed (jupyter-events asks for it): that module builds its
    Earley parsers as it is imported, 1.25 s of every process that runs a report, and the notebook format's
    schemas check no IRI (jsonschema issue #1428). Marking the module missing before jsonschema is
    imported makes jsonschema leave the ``iri`` formats unchecked, as it does where the module is not
    installed. Only for processes ``adoption`` owns: its command line and its report workers.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = "from adoption.processes import skip_iri_grammar as f; f(); import jsonschema, sys; print(sys.modules['rfc3987_syntax'])"
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'None'
    """
    if "jsonschema" in sys.modules:
        return False
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    return True


def progress_lock_of_its_own() -> None:
    """Give this worker's progress bars (tqdm's) a lock of its own, a thread lock, instead of the
    multiprocessing lock tqdm makes for its first bar, shown or not.

    Under the ``forkserver`` and ``spawn`` start methods that lock is a named semaphore, registered with
    the resource tracker the pool's processes share; a worker stopped in the middle of a task (Ctrl-C of
    a sweep) never unregisters it, and when the command ends the tracker warns of "leaked semaphore
    objects" after the command's one line. A worker's bars are its own (it shows none: the parent's bar
    counts the tasks), so no lock need cross processes.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = ("from adoption.processes import progress_lock_of_its_own as f; f(); "
    ...         "from tqdm.auto import tqdm; tqdm(disable=True).close(); print(type(tqdm.get_lock()).__name__)")
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'RLock'
    """
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())  # (every tqdm class, tqdm.auto's included, inherits it)


def start_report_worker() -> None:
    """A worker that runs reports beside others: one thread per numerical library
    (:func:`one_thread_per_worker`), no IRI grammar to build (:func:`skip_iri_grammar`), a progress
    lock of its own (:func:`progress_lock_of_its_own`)."""
    skip_iri_grammar()
    one_thread_per_worker()
    progress_lock_of_its_own()
