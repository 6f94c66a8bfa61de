"""Parameterized report notebooks, run by papermill into HTML.

A report is a notebook in ``notebooks/`` with one cell tagged ``parameters`` holding plain literals.
:func:`run_report` checks the parameters a caller gives against that cell (unknown names are refused
with the list of valid ones; types are checked; values are only ever passed as data, never as code),
executes the notebook with papermill in its own kernel process, converts it to HTML without code cells
and with the figures embedded, and writes a new folder::

    reports/<report>/<run-id>/
        report.ipynb    the executed notebook (papermill's run record in its metadata)
        report.html     what people read
        params.json     the parameters the run used
        metrics.json    the headline numbers the notebook reported (see show_metrics)
        run.json        status (ok / failed), times, error and failing cell, the headline entries

An earlier run is never overwritten. A failed run keeps its partial notebook, is marked failed and names
the failing cell; its page says so in one paragraph at the top and at the failing section, and marks
the sections that did not run. ``reports/index.html`` lists every run, newest first.

The HTML is self-contained: no script or style is fetched from the network (nbconvert's lab template
without require.js, MathJax or widgets), and every figure is an embedded PNG whose alt text is its
title. The parameters cell may carry type hints (``horizon: float = 90.0  # days``), which both
``papermill --help-notebook`` and the runner's type check read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import html
import json
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
import yaml

from adoption.errors import AdoptionError, InputError, ParameterError, UsageError
from adoption.notebook import (
    BATCH_ENV,
    HEADLINE_MIME,
    METRICS_MIME,
    format_headline,
    format_value,
    section,
    show_metrics,
)
from adoption.processes import process_alive, start_report_worker
from adoption.text import strip_controls

__all__ = ["METRICS_MIME", "Report", "ReportRun", "list_reports", "notebooks_dir", "parse_assignments",
           "reader_notebook", "resolve_paths", "run_manifest", "run_report", "run_status", "section", "show_metrics",
           "write_index"]

#: What a report name may look like: a name, not a path.
REPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Report parameters that name files or folders: resolved to absolute paths before the run.
PATH_PARAMETERS = frozenset({"events", "results", "calibration"})

KERNEL_NAME = "python3"
LANGUAGE = "python"
#: The type hints a parameters cell may use, and the Python types they accept.
TYPE_HINTS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float,), "bool": (bool,)}
#: The nbconvert template (package data): the lab template, self-contained, figures with alt text.
TEMPLATE_NAME = "report"


class ReportFailed(AdoptionError):
    """A report notebook raised an error; the partial notebook is kept."""


def notebooks_dir() -> Path:
    """The shipped report notebooks: ``$ADOPTION_NOTEBOOKS`` when set, else the installed package's.

    The notebooks and their ``manifest.yaml`` are package data (``adoption/notebooks/``; ``notebooks/``
    in the repository points at them), so an installed wheel finds them from any working folder. Pass
    ``--notebooks DIR`` (or ``folder=``) to run one's own.

    Examples
    --------
    >>> (notebooks_dir() / "manifest.yaml").is_file()
    True
    """
    env = os.environ.get("ADOPTION_NOTEBOOKS")
    if env:
        return Path(env)
    return Path(str(resources.files("adoption") / "notebooks"))


@dataclass
class Report:
    """A report notebook and the parameters its ``parameters`` cell declares."""

    name: str
    path: Path
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, name: str, folder: Path | None = None) -> Report:
        """The report ``name`` of ``folder`` (the shipped notebooks by default).

        A report name is a name, never a path: only notebooks in the folder can run.
        """
        folder = folder or notebooks_dir()
        known = list_reports(folder)
        if not isinstance(name, str) or not REPORT_NAME.fullmatch(name) or name not in known:
            raise UsageError(f"report: unknown report {strip_controls(str(name))[:60]!r}; expected one of "
                             f"{', '.join(known)} (a report is named, not given as a path; use --notebooks "
                             "for another folder)")
        path = folder / f"{name}.ipynb"
        import papermill as pm

        params = pm.inspect_notebook(str(path))
        if not params:
            raise InputError(f"report {name}: the notebook has no cell tagged 'parameters'")
        return cls(name, path, {k: dict(v) for k, v in params.items()})

    def defaults(self) -> dict[str, Any]:
        """The values in the notebook's parameters cell."""
        import ast

        out = {}
        for key, spec in self.parameters.items():
            try:
                out[key] = ast.literal_eval(spec["default"])
            except (ValueError, SyntaxError):
                out[key] = spec["default"]
        return out

    def expected_types(self, key: str) -> tuple[tuple[type, ...], bool]:
        """The types parameter ``key`` accepts and whether it may be None: from its type hint
        (``str``, ``int``, ``float``, ``bool``, ``Optional[...]``), else from its default's type."""
        hint = str(self.parameters[key].get("inferred_type_name") or "None").replace(" ", "")
        optional = hint.startswith("Optional[") and hint.endswith("]")
        base = hint[len("Optional["):-1] if optional else hint
        if base in TYPE_HINTS:
            return TYPE_HINTS[base], optional
        default = self.defaults()[key]
        return (type(default),), default is None

    def coerce(self, key: str, value: Any) -> Any:
        """``value`` as parameter ``key`` takes it (an int for a float is widened), or a ParameterError."""
        types, optional = self.expected_types(key)
        if value is None and optional:
            return None
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            want = " or ".join(t.__name__ for t in types) + (" or None" if optional else "")
            raise ParameterError(f"{key}: expected {want} for report {self.name}, "
                                 f"got {type(value).__name__} {value!r}")
        return value

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Refuse unknown names and values of another type than declared; return all values."""
        defaults = self.defaults()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ParameterError(f"{unknown[0]}: not a parameter of report {self.name}; "
                                 f"expected one of {', '.join(sorted(defaults))}")
        out = dict(defaults)
        for key, value in params.items():
            out[key] = self.coerce(key, value)
        return out


def list_reports(folder: Path | None = None) -> list[str]:
    """Names of the report notebooks."""
    folder = folder or notebooks_dir()
    if not folder.is_dir():
        raise UsageError(f"--notebooks: {folder} is not a folder of report notebooks")
    return sorted(p.stem for p in folder.glob("*.ipynb") if REPORT_NAME.fullmatch(p.stem))


def resolve_paths(params: Mapping[str, Any], base: Path | None = None) -> dict[str, Any]:
    """Path parameters (``events``, ``results`` ...) as absolute paths, resolved once against ``base``.

    The kernel runs in the notebooks folder: a relative path must mean what it meant where the user
    typed it. Empty values (the bundled example) stay empty.

    Examples
    --------
    >>> resolve_paths({"events": "logs/a", "seed": 1}, Path("/work"))
    {'events': '/work/logs/a', 'seed': 1}
    """
    base = base or Path.cwd()
    out = dict(params)
    for key in PATH_PARAMETERS & set(out):
        value = out[key]
        if isinstance(value, str) and value:
            out[key] = str((base / Path(value).expanduser()).resolve())
    return out


def parse_assignments(items: list[str] | None, report: Report) -> dict[str, Any]:
    """``key=value`` strings from the command line, typed after the notebook's defaults.

    A value for a string parameter is taken as it is (never evaluated); numbers and booleans are parsed.

    Examples
    --------
    >>> r = Report("x", Path("x.ipynb"), {"horizon": {"default": "90"}, "events": {"default": "''"}})
    >>> parse_assignments(["horizon=30", "events=__import__('os')"], r)
    {'horizon': 30, 'events': "__import__('os')"}
    """
    defaults = report.defaults()
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ParameterError(f"-p: expected key=value, got {item!r}")
        if key not in defaults:
            raise ParameterError(f"{key}: not a parameter of report {report.name}; "
                                 f"expected one of {', '.join(sorted(defaults))}")
        types, _ = report.expected_types(key)
        if types == (str,):
            out[key] = text
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        try:
            out[key] = report.coerce(key, value)
        except ParameterError:
            raise ParameterError(f"{key}: expected {' or '.join(t.__name__ for t in types)} for report "
                                 f"{report.name}, got {text!r}") from None
    return out


@dataclass
class ReportRun:
    """Where a run wrote its files, and how it ended."""

    report: str
    folder: Path
    status: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    error: str | None = None

    @property
    def html(self) -> Path:
        return self.folder / "report.html"


def _run_id(params: Mapping[str, Any]) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{stamp}-{digest}"


def _new_folder(root: Path, report: str, params: Mapping[str, Any]) -> Path:
    base = root / report
    base.mkdir(parents=True, exist_ok=True)
    run_id = _run_id(params)
    for k in range(1000):
        folder = base / (run_id if k == 0 else f"{run_id}-{k}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise InputError(f"report: cannot find a new folder under {base}")


def _metrics_from(nb: nbformat.NotebookNode) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The numbers the notebook showed with show_metrics, and its headline entries."""
    metrics: dict[str, Any] = {}
    headline: list[dict[str, Any]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if METRICS_MIME in data:
                metrics.update(data[METRICS_MIME])
            if HEADLINE_MIME in data:
                headline = [dict(h) for h in data[HEADLINE_MIME]]
    return metrics, headline


#: Absolute paths in an error message (the user's folders, the virtual environment): shown by their last part.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:/[^\s/'\"():,]+){2,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _without_paths(text: str) -> str:
    """``text`` with ANSI colours removed and absolute paths cut to their last part.

    Examples
    --------
    >>> _without_paths("cannot read /home/ana/.venv/lib/python3.11/site-packages/x/events.parquet")
    'cannot read events.parquet'
    """
    text = _ANSI.sub("", text)
    return _ABSOLUTE_PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], text)


def reader_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook as a reader should see it: a failed run's error said once, plainly.

    Papermill's banner cells are removed; the failing cell's traceback becomes one paragraph (the
    error's type and message, no local paths), a paragraph at the top says where the run stopped, and
    the first code cell of every later section says that it did not run. A run that did not fail is
    returned unchanged.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Load"),
    ...     nbformat.v4.new_code_cell("1/0", outputs=[nbformat.v4.new_output("error", ename="ZeroDivisionError",
    ...         evalue="division by zero", traceback=["..."])]),
    ...     nbformat.v4.new_markdown_cell("## Plot"), nbformat.v4.new_code_cell("plot()")])
    >>> [c.cell_type for c in reader_notebook(nb).cells]
    ['markdown', 'markdown', 'code', 'markdown', 'code']
    >>> reader_notebook(nb).cells[0].source
    '**This run failed** in the section "Load": ZeroDivisionError: division by zero. The sections after it did not run.'
    """
    from papermill.execute import ERROR_MARKER_TAG

    cells = [c for c in nb.cells if ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])]
    failed_at = next((i for i, c in enumerate(cells) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
    if failed_at is None:
        return nb
    out = nbformat.from_dict(nb)
    cells = [nbformat.from_dict(c) for c in cells]
    error = next(o for o in cells[failed_at].outputs if o.get("output_type") == "error")
    message = _without_paths(f"{error.get('ename', 'Error')}: {str(error.get('evalue', '')).strip()}".rstrip(": "))
    heading = next((_heading(c.source) for c in reversed(cells[:failed_at]) if c.cell_type == "markdown"
                    and _heading(c.source)), "")
    where = f' in the section "{heading}"' if heading else ""
    cells[failed_at].outputs = [o for o in cells[failed_at].outputs if o.get("output_type") != "error"] + [
        _html_output(f"<p class='adoption-error'><b>This section failed</b>: {html.escape(message)}</p>")]
    for before, cell in zip(cells[failed_at:-1], cells[failed_at + 1:], strict=True):
        if cell.cell_type == "code" and before.cell_type == "markdown":
            cell.outputs = [_html_output("<p class='adoption-not-run'><i>This section did not run: the report "
                                         "stopped at an error above.</i></p>")]
    banner = nbformat.v4.new_markdown_cell(f"**This run failed**{where}: {_markdown_text(message)}. "
                                           "The sections after it did not run.")
    out.cells = [banner, *cells]
    return out


def _heading(source: str) -> str:
    for line in source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _markdown_text(text: str) -> str:
    """Text that stays text in Markdown (no markup, no HTML)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|])", r"\\\1", text)


def _html_output(markup: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/html": markup, "text/plain": ""})


def _template_dir() -> Path:
    return Path(str(resources.files("adoption") / "templates"))


def _to_html(nb: nbformat.NotebookNode, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(_template_dir())],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.exclude_raw = True
    body, _ = exporter.from_notebook_node(reader_notebook(nb), resources={"metadata": {"name": title}})
    return body


#: Arguments of the report kernels: only their critical log lines. Below that the kernel logs, now and then,
#: "ERROR | KeyboardInterrupt caught in kernel": jupyter_client interrupts every kernel before asking it to
#: shut down (``KernelManager.shutdown_kernel``), and an idle kernel logs that interrupt as an error. A cell
#: that fails, or a kernel that dies, is reported by papermill and recorded in the run's ``run.json`` either way.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


@functools.cache
def _kernel_manager_class() -> type:
    """The report kernels' manager: each kernel reached through Unix sockets in a folder of its own.

    jupyter_client's default reaches a kernel over TCP on localhost, at ports it picks by binding port 0 and
    letting go before the kernel binds them. Kernels started side by side (``adoption report --all``, sweeps)
    can be handed the same port: one dies with "Address already in use", or its runner waits a minute for a
    reply that never comes and the report fails. On this 2-core machine that was 1 start in 80 with 16
    starting at once, and one report in the 140 of a session's 28 ``report --all`` runs. A folder made for the kernel
    (``tempfile.mkdtemp``: mode 0700) holds its sockets instead: no port to share, and no other user of the
    machine can reach the kernel. The folder is removed when the kernel shuts down.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class PrivateSocketKernelManager(AsyncKernelManager):
        socket_folder: str | None = None

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:  # (the sockets are <folder>/kernel-1 ... kernel-5)
            self.socket_folder = tempfile.mkdtemp(prefix="adoption-kernel-")
            return os.path.join(self.socket_folder, "kernel")

        def cleanup_ipc_files(self) -> None:
            super().cleanup_ipc_files()
            if self.socket_folder is not None:
                shutil.rmtree(self.socket_folder, ignore_errors=True)

    return PrivateSocketKernelManager


def run_report(name: str, params: Mapping[str, Any] | None = None, *, out: str | os.PathLike[str] = "reports",
               progress: bool = False, folder: Path | None = None, timeout: int = 1200) -> ReportRun:
    """Execute one report notebook with ``params`` and write its run folder (never overwriting).

    Raises
    ------
    ParameterError
        For an unknown parameter or a value of the wrong type (nothing is run).
    ReportFailed
        If a cell fails; the partial notebook, HTML and ``run.json`` are still written.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    report = Report.load(name, folder)
    values = resolve_paths(report.check(params or {}))
    root = Path(out)
    run_folder = _new_folder(root, name, values)
    (run_folder / "params.json").write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    started = time.time()
    record: dict[str, Any] = {"report": name, "status": "running",
                              "started": dt.datetime.now().isoformat(timespec="milliseconds"),
                              "notebook": str(report.path), "pid": os.getpid(), "host": socket.gethostname()}
    _write_json(run_folder / "run.json", record)
    executed = run_folder / "report.ipynb"
    error: str | None = None
    # figures inline in the notebook (a caller's MPLBACKEND=Agg would leave the report without figures)
    saved_env = {key: os.environ.get(key) for key in ("MPLBACKEND", BATCH_ENV)}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ[BATCH_ENV] = "1"  # the notebook runs with nobody to interact (see adoption.notebook.live_frontend)
    try:
        # (the notebook is written when the run starts and ends, and when it fails, but not before and after
        # every cell: rewriting the whole notebook with its figures 75 times took half of the conversion
        # report's own CPU time, 0.7 of 1.4 s, beside its kernel)
        pm.execute_notebook(str(report.path), str(executed), parameters=values, kernel_name=KERNEL_NAME,
                            language=LANGUAGE, progress_bar=progress, cwd=str(report.path.parent),
                            execution_timeout=timeout, log_output=False, extra_arguments=KERNEL_ARGUMENTS,
                            kernel_manager_class=_kernel_manager_class(), request_save_on_cell_execute=False)
        status = "ok"
    except PapermillExecutionError as exc:
        status = "failed"
        error = f"cell {exc.exec_count} failed: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
    except KeyboardInterrupt:
        record.update({"status": "interrupted", "error": "interrupted (Ctrl-C)",
                       "seconds": round(time.time() - started, 1)})
        _write_json(run_folder / "run.json", record)
        write_index(root)
        raise KeyboardInterrupt(f"the run so far is kept in {run_folder}, marked interrupted") from None
    except OSError:
        record.update({"status": "failed", "error": "the run could not write its files (disk full?)"})
        with contextlib.suppress(OSError):
            _write_json(run_folder / "run.json", record)
        raise
    except Exception as exc:  # the kernel died, a timeout ...
        status = "failed"
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        for key, saved in saved_env.items():
            if saved is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = saved
    nb = nbformat.read(executed, as_version=4) if executed.exists() else None
    metrics, headline = _metrics_from(nb) if nb is not None else ({}, [])
    (run_folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if nb is not None:
        (run_folder / "report.html").write_text(_to_html(nb, f"{name} ({run_folder.name})"))
    record.update({"status": status, "seconds": round(time.time() - started, 1), "error": error,
                   "finished": dt.datetime.now().isoformat(timespec="seconds"), "headline": headline})
    _write_json(run_folder / "run.json", record)
    write_index(root)
    run = ReportRun(name, run_folder, status, metrics, values, error)
    if status != "ok":
        raise ReportFailed(f"report {name} failed: {error}; partial notebook kept in {executed}")
    return run


def run_manifest(manifest: str | os.PathLike[str] | None = None, *, out: str | os.PathLike[str] = "reports",
                 progress: bool = True, jobs: int | None = None) -> list[ReportRun]:
    """Run every report listed in the manifest (``notebooks/manifest.yaml`` by default).

    Reports run ``jobs`` at a time, each in its own process and kernel (default: one per core, at most
    one per report); runs finish in any order, and the index is rebuilt under its lock after each. The
    runs are returned in the manifest's order. A failed report does not stop the others: they all run,
    then :class:`ReportFailed` names every failure.
    """
    from tqdm.auto import tqdm

    path = Path(manifest) if manifest else notebooks_dir() / "manifest.yaml"
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"manifest: cannot read {path} ({exc})") from None
    runs_spec = spec.get("runs", []) if isinstance(spec, dict) else []
    if not runs_spec:
        raise InputError(f"manifest: {path} lists no runs")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: expected at least 1, got {jobs}")
    jobs = min(jobs or os.cpu_count() or 1, len(runs_spec))
    calls = [(item["report"], item.get("parameters") or {}) for item in runs_spec]
    results: dict[int, ReportRun] = {}
    failures: dict[int, str] = {}
    bar = tqdm(total=len(calls), desc="reports", unit="report", disable=not progress)
    if jobs == 1:
        for i, (name, params) in enumerate(calls):
            try:
                results[i] = run_report(name, params, out=out, folder=path.parent)
            except ReportFailed as exc:
                failures[i] = str(exc)
            except KeyboardInterrupt as interrupt:  # one report at a time: say what the others did
                kept = interrupt.args[0] if interrupt.args else f"the report that was running is kept in {out}"
                later = len(calls) - i - 1
                raise KeyboardInterrupt(f"{kept}; {i} report{'s' if i != 1 else ''} ran before it"
                                        + (f", {later} did not run" if later else "")) from None
            bar.update()
    else:
        import concurrent.futures as cf
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a clean interpreter per worker: no state shared
        # (side by side, each report's kernel takes one thread per numerical library, not one per core each)
        stopping = context.Event()  # set on Ctrl-C: a worker starts no other report
        pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                      initargs=(stopping,))
        futures = {pool.submit(_report_in_worker, name, params, out=out, folder=path.parent): i
                   for i, (name, params) in enumerate(calls)}
        pending = set(futures)
        try:
            while pending:
                # (a short wait, again and again: a signal that lands on another of this process's threads
                # is handled only when the main thread runs, and Ctrl-C must stop new reports at once)
                finished, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except ReportFailed as exc:
                        failures[i] = str(exc)
                    bar.update()
        except KeyboardInterrupt:
            _stop_report_workers(pool, list(futures), stopping)
            bar.close()
            raise KeyboardInterrupt(f"the reports that were running are kept in {out}, marked interrupted; "
                                    "those not started did not run") from None
        except BaseException:  # (a worker that died: start nothing more, and leave)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    bar.close()
    if failures:
        raise ReportFailed("; ".join(failures[i] for i in sorted(failures)))
    return [results[i] for i in sorted(results)]


#: After Ctrl-C, how long the reports that were running get to mark their runs interrupted and stop their
#: kernels (each of the two waits of :func:`_stop_report_workers`), in seconds.
STOP_GRACE_SECONDS = 15.0


#: In a report worker: the parent's event, set when the command was interrupted, and whether this worker
#: saw Ctrl-C itself.
_stopping: Any = None
_interrupted = False


def _start_worker(stopping: Any) -> None:
    """A report worker's start (:func:`adoption.processes.start_report_worker`), with the parent's event
    that says the command was interrupted; Ctrl-C between reports is noted, not raised."""
    global _stopping
    start_report_worker()
    _stopping = stopping
    signal.signal(signal.SIGINT, _note_interrupt)


def _report_in_worker(name: str, params: Mapping[str, Any], *, out: str | os.PathLike[str],
                      folder: Path) -> ReportRun:
    """:func:`run_report` in a report worker: Ctrl-C interrupts the report (its run kept, marked
    interrupted, its kernel stopped); once the worker or the parent saw Ctrl-C, a report handed to the
    worker already does not start (a terminal's Ctrl-C reaches every process of the command at once)."""
    if _interrupted or (_stopping is not None and _stopping.is_set()):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, _interrupt_quietly)
    try:
        return run_report(name, params, out=out, folder=folder)
    finally:
        signal.signal(signal.SIGINT, _note_interrupt)


def _note_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C in a report worker between reports: start no other."""
    global _interrupted
    _interrupted = True


def _interrupt_quietly(signum: int, frame: Any) -> None:
    """Ctrl-C in a report worker during a report: the report is abandoned (and no other starts), so the
    kernel client's complaints as it stops (papermill's "Kernel died while waiting for execute reply",
    asyncio's "Task exception was never retrieved") are not news; the command's one line says what
    happened."""
    _note_interrupt(signum, frame)
    for logger in ("papermill", "asyncio"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)
    raise KeyboardInterrupt


def _stop_report_workers(pool: Any, futures: list[Any], stopping: Any) -> None:
    """After Ctrl-C: start no other report, let the running ones mark their runs interrupted and stop their
    kernels (a terminal's Ctrl-C reaches the workers too; a worker it did not reach is sent one), and stop
    what is still running after that (a run whose process is gone reads as interrupted: :func:`run_status`).
    A second Ctrl-C stops the workers at once."""
    workers = list(getattr(pool, "_processes", {}).values())
    try:
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        if not _all_done(futures, STOP_GRACE_SECONDS):  # workers the interrupt did not reach
            for worker in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGINT)
            _all_done(futures, STOP_GRACE_SECONDS)
    except KeyboardInterrupt:
        pass
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # (again, where a second Ctrl-C came before it)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        for worker in workers:
            worker.join(timeout=5)


def _all_done(futures: list[Any], seconds: float) -> bool:
    """Wait up to ``seconds`` for every future to be done; whether they are. (Not ``concurrent.futures.wait``:
    a future the executor cancels as it shuts down never wakes it.)"""
    deadline = time.monotonic() + seconds
    while not all(f.done() for f in futures):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (a temporary file renamed), so a reader never sees half a record."""
    _write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_status(record: Mapping[str, Any]) -> str:
    """A run's status, with a run that died while "running" read as ``interrupted``.

    A running run records its process id and host; when that process is gone on this host, the run was
    killed (kill -9, a crash, a full disk) and will never finish.

    Examples
    --------
    >>> run_status({"status": "running", "pid": 2**22 + 7, "host": socket.gethostname()})
    'interrupted'
    >>> run_status({"status": "ok"})
    'ok'
    """
    status = str(record.get("status", "?"))
    if status != "running":
        return status
    pid, host = record.get("pid"), record.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return status
    return status if process_alive(pid) else "interrupted"


_INDEX_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>adoption reports</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.4em .8em;vertical-align:top;text-align:left}
.headline{font-size:1.05em}.headline b{font-weight:600}.params{color:#555;font-size:.9em}
.ok{color:#007a4d}.failed,.interrupted{color:#b23b12}.running{color:#666}</style></head>
<body><h1>adoption reports</h1><p>{{ runs|length }} run{{ "s" if runs|length != 1 }}, the newest first.</p>
<table><tr><th>report</th><th>headline</th><th>status</th><th>started</th><th>parameters</th><th>files</th></tr>
{% for run in runs %}<tr><td><a href="{{ run.folder }}/report.html"><b>{{ run.report }}</b></a></td>
<td class="headline">{% for label, value in run.headline %}{{ label }}: <b>{{ value }}</b>{% if not loop.last %}<br>{% endif %}{% else %}–{% endfor %}</td>
<td class="{{ run.status }}"><b>{{ run.status }}</b>{% if run.error %}<br><small>{{ run.error }}</small>{% endif %}</td>
<td>{{ run.started_text }}<br><small>{{ run.name }}</small></td>
<td class="params">{% for key, value in run.params %}{{ key }} = {{ value }}{% if not loop.last %}<br>{% endif %}{% else %}defaults{% endfor %}</td>
<td><a href="{{ run.folder }}/report.html">report</a> · <a href="{{ run.folder }}/report.ipynb">notebook</a> ·
<a href="{{ run.folder }}/metrics.json">all numbers</a></td></tr>
{% endfor %}</table></body></html>
"""

#: Metrics shown in the index for a run whose notebook declared no headline: the first few it reported.
FALLBACK_HEADLINE = 4


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else {}


def _index_rows(root: Path) -> list[dict[str, Any]]:
    from urllib.parse import quote

    rows = []
    for run_json in root.glob("*/*/run.json"):
        folder = run_json.parent
        try:
            record, params, metrics = (_read_json(folder / f) for f in ("run.json", "params.json", "metrics.json"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        params = params if isinstance(params, dict) else {}
        metrics = metrics if isinstance(metrics, dict) else {}
        status = run_status(record)
        error = record.get("error") or ("the run's process is gone: it was killed before it finished"
                                        if status == "interrupted" and record.get("status") == "running" else "")
        declared = record.get("headline") if isinstance(record.get("headline"), list) else []
        headline = format_headline([h for h in declared if isinstance(h, dict)], metrics) if declared else [
            (str(k).replace("_", " "), format_value(v)) for k, v in list(metrics.items())[:FALLBACK_HEADLINE]
            if not isinstance(v, dict | list)]
        started = str(record.get("started", ""))
        rows.append({
            "report": str(record.get("report", folder.parent.name)), "name": folder.name, "status": status,
            "error": _without_paths(str(error)) if status != "ok" else "", "started": started,
            "started_text": started[:16].replace("T", " "),
            "params": [(str(k), format_value(v) if not isinstance(v, str) else (v or '""')) for k, v in params.items()],
            "headline": headline, "folder": quote(folder.relative_to(root).as_posix()),
        })
    rows.sort(key=lambda r: (r["started"], r["name"]), reverse=True)
    return rows


def write_index(root: str | os.PathLike[str] = "reports") -> Path:
    """Write ``reports/index.html``: every run with status, parameters, headline metrics and links.

    Rebuilt from the run folders under a lock and written atomically, so that runs finishing at the same
    time never leave a stale or half-written index. Every value is escaped by the template engine.
    """
    import jinja2

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    with open(root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        page = env.from_string(_INDEX_TEMPLATE).render(runs=_index_rows(root))
        index = root / "index.html"
        _write_atomic(index, page)
    return index
