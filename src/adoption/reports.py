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
        run.json        status (ok / failed), times, error and failing cell

An earlier run is never overwritten. A failed run keeps its partial notebook, is marked failed and names
the failing cell. ``reports/index.html`` lists every run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import html
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import yaml

from adoption.errors import AdoptionError, InputError, ParameterError, UsageError
from adoption.processes import process_alive
from adoption.text import strip_controls

__all__ = ["METRICS_MIME", "Report", "ReportRun", "list_reports", "notebooks_dir", "parse_assignments",
           "resolve_paths", "run_manifest", "run_report", "run_status", "section", "show_metrics", "write_index"]

#: What a report name may look like: a name, not a path.
REPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Report parameters that name files or folders: resolved to absolute paths before the run.
PATH_PARAMETERS = frozenset({"events", "results", "calibration"})

#: The MIME type under which a notebook reports its headline numbers.
METRICS_MIME = "application/vnd.adoption.metrics+json"
KERNEL_NAME = "python3"
LANGUAGE = "python"


class ReportFailed(AdoptionError):
    """A report notebook raised an error; the partial notebook is kept."""


def show_metrics(**metrics: Any) -> None:
    """Show the run's headline numbers as a table and record them for ``metrics.json``.

    Call it once in a report notebook; the runner reads the numbers back from the executed notebook.

    Examples
    --------
    Outside a notebook the display falls back to printing the bundle:

    >>> show_metrics(cumulative_incidence_90d=0.8)
    {'application/vnd.adoption.metrics+json': {'cumulative_incidence_90d': 0.8}, ...}
    """
    from IPython.display import display

    clean = {k: _jsonable(v) for k, v in metrics.items()}
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in clean.items())
    display({METRICS_MIME: clean, "text/html": f"<table class='metrics'>{rows}</table>",
             "text/plain": json.dumps(clean, indent=1)}, raw=True)


def section(compute: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one report section's computation; on a log that cannot answer it, say why in one sentence.

    Returns the result, or None after showing "This section is skipped: <reason>." when the log lacks what
    the section needs (an :class:`~adoption.errors.InputError`: no claims, too few receivers ...). Any other
    error is a bug and propagates.

    Examples
    --------
    >>> from adoption.errors import InputError
    >>> def needs_claims():
    ...     raise InputError("this log has no red_packet_claims")
    >>> section(needs_claims) is None
    This section is skipped: this log has no red_packet_claims.
    True
    """
    try:
        return compute(*args, **kwargs)
    except InputError as why:
        from IPython.display import Markdown, display

        text = f"This section is skipped: {str(why).rstrip('.')}."
        if _in_kernel():
            display(Markdown(f"*{html.escape(text)}*"))
        else:
            print(text)
        return None


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Refuse unknown names and values whose type differs from the default's; return all values."""
        defaults = self.defaults()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ParameterError(f"{unknown[0]}: not a parameter of report {self.name}; "
                                 f"expected one of {', '.join(sorted(defaults))}")
        out = dict(defaults)
        for key, value in params.items():
            want = type(defaults[key])
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise ParameterError(f"{key}: expected {want.__name__} for report {self.name}, "
                                     f"got {type(value).__name__} {value!r}")
            out[key] = value
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
        want = type(defaults[key])
        if want is str:
            out[key] = text
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ParameterError(f"{key}: expected {want.__name__} for report {report.name}, got {text!r}")
        out[key] = value
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


def _metrics_from(nb: nbformat.NotebookNode) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if METRICS_MIME in data:
                metrics.update(data[METRICS_MIME])
    return metrics


def _to_html(nb: nbformat.NotebookNode, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.exclude_raw = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


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
                              "started": dt.datetime.now().isoformat(timespec="seconds"),
                              "notebook": str(report.path), "pid": os.getpid(), "host": socket.gethostname()}
    _write_json(run_folder / "run.json", record)
    executed = run_folder / "report.ipynb"
    error: str | None = None
    # figures inline in the notebook (a caller's MPLBACKEND=Agg would leave the report without figures)
    saved_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        pm.execute_notebook(str(report.path), str(executed), parameters=values, kernel_name=KERNEL_NAME,
                            language=LANGUAGE, progress_bar=progress, cwd=str(report.path.parent),
                            execution_timeout=timeout, log_output=False)
        status = "ok"
    except PapermillExecutionError as exc:
        status = "failed"
        error = f"cell {exc.exec_count} failed: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
    except KeyboardInterrupt:
        record.update({"status": "interrupted", "error": "interrupted (Ctrl-C)",
                       "seconds": round(time.time() - started, 1)})
        _write_json(run_folder / "run.json", record)
        write_index(root)
        raise
    except OSError:
        record.update({"status": "failed", "error": "the run could not write its files (disk full?)"})
        with contextlib.suppress(OSError):
            _write_json(run_folder / "run.json", record)
        raise
    except Exception as exc:  # the kernel died, a timeout ...
        status = "failed"
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend
    nb = nbformat.read(executed, as_version=4) if executed.exists() else None
    metrics = _metrics_from(nb) if nb is not None else {}
    (run_folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    if nb is not None:
        (run_folder / "report.html").write_text(_to_html(nb, f"{name} ({run_folder.name})"))
    record.update({"status": status, "seconds": round(time.time() - started, 1), "error": error,
                   "finished": dt.datetime.now().isoformat(timespec="seconds")})
    _write_json(run_folder / "run.json", record)
    write_index(root)
    run = ReportRun(name, run_folder, status, metrics, values, error)
    if status != "ok":
        raise ReportFailed(f"report {name} failed: {error}; partial notebook kept in {executed}")
    return run


def run_manifest(manifest: str | os.PathLike[str] | None = None, *, out: str | os.PathLike[str] = "reports",
                 progress: bool = True) -> list[ReportRun]:
    """Run every report listed in the manifest (``notebooks/manifest.yaml`` by default)."""
    from tqdm.auto import tqdm

    path = Path(manifest) if manifest else notebooks_dir() / "manifest.yaml"
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"manifest: cannot read {path} ({exc})") from None
    runs_spec = spec.get("runs", []) if isinstance(spec, dict) else []
    if not runs_spec:
        raise InputError(f"manifest: {path} lists no runs")
    runs, failures = [], []
    for item in tqdm(runs_spec, desc="reports", unit="report", disable=not progress):
        try:
            runs.append(run_report(item["report"], item.get("parameters") or {}, out=out,
                                   folder=path.parent))
        except ReportFailed as exc:
            failures.append(str(exc))
    if failures:
        raise ReportFailed("; ".join(failures))
    return runs


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


_INDEX_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><title>adoption reports</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.4em .8em;vertical-align:top;text-align:left}
.ok{color:#07C160}.failed,.interrupted{color:#D4532B}.running{color:#999}</style></head>
<body><h1>adoption reports</h1><p>{{ runs|length }} runs, newest first.</p>
<table><tr><th>report</th><th>run</th><th>status</th><th>parameters</th><th>headline</th><th>files</th></tr>
{% for run in runs %}<tr><td>{{ run.report }}</td><td>{{ run.name }}</td>
<td class="{{ run.status }}"><b>{{ run.status }}</b>{% if run.error %}<br><small>{{ run.error }}</small>{% endif %}</td>
<td>{% for key, value in run.params %}{{ key }} = {{ value }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td>{% for key, value in run.metrics %}{{ key }}: {{ value }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td><a href="{{ run.folder }}/report.html">report</a> · <a href="{{ run.folder }}/report.ipynb">notebook</a> ·
<a href="{{ run.folder }}/metrics.json">metrics</a></td></tr>
{% endfor %}</table></body></html>
"""


def _index_rows(root: Path) -> list[dict[str, Any]]:
    from urllib.parse import quote

    rows = []
    for run_json in root.glob("*/*/run.json"):
        folder = run_json.parent
        try:
            record = json.loads(run_json.read_text())
            params = json.loads((folder / "params.json").read_text()) if (folder / "params.json").exists() else {}
            metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").exists() else {}
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        status = run_status(record)
        error = record.get("error") or ("the run's process is gone: it was killed before it finished"
                                        if status == "interrupted" and record.get("status") == "running" else "")
        rows.append({
            "report": str(record.get("report", folder.parent.name)), "name": folder.name, "status": status,
            "error": str(error) if status != "ok" else "", "started": str(record.get("started", "")),
            "params": [(str(k), repr(v)) for k, v in params.items()] if isinstance(params, dict) else [],
            "metrics": [(str(k), _fmt(v)) for k, v in list(metrics.items())[:8]] if isinstance(metrics, dict) else [],
            "folder": quote(folder.relative_to(root).as_posix()),
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
