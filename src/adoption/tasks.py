"""Independent tasks on local processes or a Dask cluster, each result kept on disk as it finishes.

Sweeps, calibrations and tipping experiments are many simulations that do not depend on each other. They
all run through :func:`run_tasks`: every task is a call of a pure, importable function with its own seed
(from ``SeedSequence.spawn``, so a result does not depend on where or in what order it ran), submitted to a
``concurrent.futures`` executor — local worker processes by default, a Dask distributed cluster when given a
scheduler address (``tcp://host:8786``; every worker needs ``adoption`` installed). Each finished task is
written at once as one Parquet row named by a key that hashes everything its result depends on; a run
that is interrupted and started again skips the finished keys.

Examples
--------
>>> import tempfile, pathlib
>>> parts = pathlib.Path(tempfile.mkdtemp()) / "parts"
>>> tasks = [Task(key=f"{i:02d}", function=divmod, args=(7, i + 1)) for i in range(3)]
>>> rows = run_tasks(tasks, parts, workers=1, progress=False, result_columns=("quotient", "remainder"))
>>> [(r["quotient"], r["remainder"]) for r in rows]
[(7, 0), (3, 1), (2, 1)]
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adoption.errors import UsageError

__all__ = ["CONNECT_TIMEOUT", "Task", "connect", "open_run_folder", "read_parts", "run_tasks", "spawn_seeds", "task_key",
           "worker_context", "write_atomic"]


@dataclass(frozen=True)
class Task:
    """One independent call: ``function(*args, **kwargs)``, stored under ``key`` with ``labels`` beside it.

    ``function`` must be importable by name (a module-level function), so that worker processes and Dask
    workers can run it. Its result is a dict (one row), a list of dicts (rows), or, as with ``divmod``, a
    tuple named by the ``result_columns`` of :func:`run_tasks`.
    """

    key: str
    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)


def spawn_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent seeds from ``SeedSequence(seed).spawn(n)``, as plain integers.

    Examples
    --------
    >>> spawn_seeds(1, 3) == spawn_seeds(1, 3), len(set(spawn_seeds(1, 100)))
    (True, 100)
    """
    import numpy as np

    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def task_key(index: int, **content: Any) -> str:
    """A task's file name: its index and a hash of everything its result depends on.

    Examples
    --------
    >>> task_key(3, params={"a": 1}, seed=2)[:6]
    '00003-'
    >>> task_key(3, params={"a": 1}, seed=2) == task_key(3, seed=2, params={"a": 1})
    True
    """
    from adoption.version import __version__

    text = json.dumps({**content, "adoption": __version__}, sort_keys=True, default=str)
    return f"{index:05d}-{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def open_run_folder(out: Path, settings: dict[str, Any], spec_file: str = "spec.json") -> Path:
    """Create ``out`` for a run with ``settings``, or reopen it to resume a run with the same settings.

    Nothing is replaced: an existing folder that is not such a run, or holds a run with other settings, is
    a :class:`~adoption.errors.UsageError` naming it.
    """
    out = Path(out)
    text = json.dumps(settings, indent=1, default=str, sort_keys=True)
    if out.exists():
        previous = out / spec_file
        if not out.is_dir() or not previous.exists():
            raise UsageError(f"--out: {out} exists and is not a folder of this kind of run; choose a new folder")
        if json.loads(previous.read_text()) != json.loads(text):
            raise UsageError(f"--out: {out} holds a run with other settings; choose a new folder (or the same settings to resume)")
        return out
    out.mkdir(parents=True)
    (out / spec_file).write_text(text)
    return out


def worker_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """How local worker processes start: forked from a server that has imported ``preload`` once (the
    ``forkserver`` start method), or, where there is no fork server (Windows), as fresh interpreters.

    A fresh interpreter imports ``adoption`` and what a simulation needs (numpy, pandas, scipy, pyarrow)
    again in every worker, about 3 CPU s each; forked from the server, a worker has them at once. The
    server is a clean process of its own (started from the interpreter, not forked from this one, so no
    thread or open connection of this process is copied), started here with one thread per numerical
    library (:func:`adoption.processes.one_thread_environment`) unless the user chose their numbers, and it
    lives as long as this process: a later call's ``preload`` adds nothing to a server already running (its
    workers import what is missing as they go).

    Examples
    --------
    >>> worker_context(["adoption.world.engine"]).get_start_method() in ("forkserver", "spawn")
    True
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    from adoption.processes import one_thread_environment

    context = multiprocessing.get_context("forkserver")
    # (never a user's ``__main__``: a worker imports it as a fresh interpreter would, when it needs it)
    context.set_forkserver_preload(sorted({name for name in preload if name not in ("builtins", "__main__")}))
    with one_thread_environment():  # (the server inherits this environment as it starts)
        forkserver.ensure_running()
    return context


def _start_worker() -> None:
    """A worker process leaves Ctrl-C to the parent, which stops them (no tracebacks from every worker),
    shares the cores with the others: its numerical libraries take one thread
    (:func:`adoption.processes.one_thread_per_worker`), and has a progress lock of its own, which a stopped
    worker cannot leave behind (:func:`adoption.processes.progress_lock_of_its_own`)."""
    from adoption.processes import one_thread_per_worker, progress_lock_of_its_own

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_thread_per_worker()
    progress_lock_of_its_own()


def write_atomic(table: Any, path: Path) -> None:
    """Write an Arrow table to ``path`` through a temporary file, so a killed run leaves no half file."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


#: How long :func:`connect` tries to reach a scheduler before calling its address unreachable.
CONNECT_TIMEOUT = "10s"


def connect(scheduler: Any) -> Any:
    """A ``distributed.Client`` for ``scheduler`` (an address, or a client that is returned as it is).

    An address that cannot be reached is a :class:`~adoption.errors.UsageError` naming it.
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({reason})") from None


def run_tasks(tasks: Sequence[Task], parts: Path, *, workers: int | None = None, scheduler: Any = None,
              progress: bool = True, description: str = "tasks", max_new: int | None = None,
              result_columns: Sequence[str] | None = None, preload: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Run the tasks whose results are not yet in ``parts`` and return every finished row, in task order.

    Parameters
    ----------
    tasks : sequence of Task
    parts : Path
        Folder of finished rows (``<key>.parquet``); created when missing, never emptied.
    workers : int, optional
        Local worker processes (default: the number of cores); 1 runs the tasks one after the other in this
        process (no worker to start: each would import ``adoption`` again, 1-2 s).
    scheduler : str or distributed.Client, optional
        A Dask distributed scheduler's address, or a client; the tasks then run on that cluster.
    progress : bool
        Show a progress bar.
    description : str
        The progress bar's label.
    max_new : int, optional
        Run at most this many new tasks and stop (the rest run when called again).
    result_columns : sequence of str, optional
        Names for the items of a task's tuple result.
    preload : sequence of str
        Modules the tasks import as they run, imported once for all local workers (see
        :func:`worker_context`) beside the modules of the tasks' functions.

    Returns
    -------
    list of dict
        One row per finished task (earlier runs included): its ``labels`` and its result.
    """
    from tqdm.auto import tqdm

    if workers is not None and scheduler is not None:
        raise UsageError("give either --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers: expected at least 1 worker process, got {workers}")
    parts.mkdir(parents=True, exist_ok=True)
    done = {p.stem for p in parts.glob("*.parquet")}
    todo = [t for t in tasks if t.key not in done]
    if max_new is not None:
        todo = todo[:max_new]
    client = None
    if todo and scheduler is None and workers == 1:
        from adoption.processes import one_thread_while

        with one_thread_while():
            for task in tqdm(todo, desc=description, unit="task", disable=not progress):
                _write_row(parts / f"{task.key}.parquet", task, task.function(*task.args, **task.kwargs),
                           result_columns)
        return read_parts(parts, [t.key for t in tasks])
    if todo and scheduler is not None:
        client = connect(scheduler)
        executor: cf.Executor | None = client.get_executor()
    elif todo:
        executor = cf.ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                          mp_context=worker_context([*preload, *(t.function.__module__ for t in todo)]),
                                          initializer=_start_worker)
    else:
        executor = None
    interrupted = False
    try:
        if executor is not None:
            futures = {executor.submit(t.function, *t.args, **t.kwargs): t for t in todo}
            for future in tqdm(cf.as_completed(futures), total=len(futures), desc=description, unit="task",
                               disable=not progress):
                task = futures[future]
                _write_row(parts / f"{task.key}.parquet", task, future.result(), result_columns)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if executor is not None and client is None and interrupted:  # stop the workers; finished rows are on disk
            processes = list(getattr(executor, "_processes", {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
        elif executor is not None and client is None:
            executor.shutdown(wait=True, cancel_futures=True)
        elif client is not None and isinstance(scheduler, str):  # a client we opened; a caller's stays open
            client.close()
    return read_parts(parts, [t.key for t in tasks])


def _write_row(path: Path, task: Task, result: Any, result_columns: Sequence[str] | None) -> None:
    import pyarrow as pa

    if not isinstance(result, dict | list):
        if result_columns is None:
            raise TypeError(f"task {task.key}: a result that is not a dict needs result_columns")
        result = dict(zip(result_columns, result, strict=True))
    rows = result if isinstance(result, list) else [result]  # (a list: several rows, a batch of runs)
    write_atomic(pa.Table.from_pylist([{**task.labels, **row} for row in rows]), path)


def read_parts(parts: Path, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The finished rows among ``keys``, in that order (missing keys are skipped)."""
    import pyarrow.parquet as pq

    rows = []
    for key in keys:
        path = parts / f"{key}.parquet"
        if path.exists():
            rows.extend(pq.read_table(path).to_pylist())
    return rows
