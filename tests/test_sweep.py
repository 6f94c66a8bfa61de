"""Sweeps: Dask gives the serial table; an interrupted sweep resumes."""

from __future__ import annotations

import pandas as pd
import pytest

from adoption.errors import InputError, ParameterError
from adoption.sweep import SweepSpec, read_results, run_sweep

GRID = """
scenario: default
base: {{n_users: 500, end: "2014-06-30", campaigns: false}}
grid:
  send_rate: [0.002, 0.01]
  merchant_benefit: [5.0, 15.0]
replicates: {replicates}
seed: 7
out: {out}
"""


def _spec(tmp_path, name: str, replicates: int = 1) -> SweepSpec:
    path = tmp_path / f"{name}.yaml"
    path.write_text(GRID.format(replicates=replicates, out=f"{name}.parquet"))
    return SweepSpec.load(path)


@pytest.mark.slow
def test_dask_cluster_gives_the_serial_table(tmp_path):
    from distributed import Client, LocalCluster

    serial = run_sweep(_spec(tmp_path, "serial"), workers=1, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        distributed = run_sweep(_spec(tmp_path, "dask"), scheduler=client, progress=False)
    pd.testing.assert_frame_equal(serial, distributed)
    assert len(serial) == 4 and serial["seed"].nunique() == 4


@pytest.mark.slow
def test_interrupted_sweep_resumes(tmp_path):
    spec = _spec(tmp_path, "resume", replicates=2)
    partial = run_sweep(spec, workers=1, progress=False, max_points=3)  # stopped after 3, here; resumed by a pool
    assert len(partial) == 3 and partial.attrs["computed"] == 3
    assert read_results(spec.out)[1]["complete"] is False
    full = run_sweep(spec, workers=2, progress=False)
    assert full.attrs["computed"] == 5 and len(full) == 8
    again = run_sweep(spec, workers=2, progress=False)
    assert again.attrs["computed"] == 0
    # one worker runs the tasks in this process: the same table as the worker processes gave
    fresh = run_sweep(_spec(tmp_path, "fresh", replicates=2), workers=1, progress=False)
    pd.testing.assert_frame_equal(full, fresh)


PROBE = """
import os, sys

def state():
    return {"preloaded": "adoption.random" in sys.modules, "blas_threads": os.environ.get("OMP_NUM_THREADS")}
"""

RUN_PROBE = """
import json, sys, pathlib
import probe
from adoption.tasks import Task, run_tasks
rows = run_tasks([Task(key=str(i), function=probe.state, labels={"i": i}) for i in range(2)], pathlib.Path(sys.argv[1]),
                 workers=2, progress=False, preload=["adoption.random"])
print(json.dumps(rows))
"""


def test_local_workers_are_forked_from_a_server_that_imported_what_the_tasks_need(tmp_path):
    """Where there is a fork server, workers start with the preloaded modules (here a light one; in a fresh
    interpreter a worker imports a simulation's modules again, about 3 CPU s) and one thread per numerical
    library (the user having chosen none); the tasks' rows are the same."""
    import json
    import multiprocessing
    import os
    import subprocess
    import sys

    from adoption.processes import THREAD_VARIABLES
    from adoption.tasks import Task, run_tasks, worker_context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform: workers start as fresh interpreters")
    assert worker_context().get_start_method() == "forkserver"
    (tmp_path / "probe.py").write_text(PROBE)
    env = {**{k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", RUN_PROBE, str(tmp_path / "parts")], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    assert [row["i"] for row in rows] == [0, 1]
    assert all(row["preloaded"] and row["blas_threads"] == "1" for row in rows), rows
    divided = run_tasks([Task(key=f"d{i}", function=divmod, args=(7, i + 1)) for i in range(3)], tmp_path / "d",
                        workers=2, progress=False, result_columns=("quotient", "remainder"))
    assert [(r["quotient"], r["remainder"]) for r in divided] == [(7, 0), (3, 1), (2, 1)]


STUCK = """
import pathlib, time

def stuck(marker):
    from tqdm.auto import tqdm

    tqdm(total=1, disable=True).close()  # as the simulator's day bar, shown or not
    pathlib.Path(marker).touch()
    time.sleep(120)
    return {"done": True}
"""

RUN_STUCK = """
import sys, pathlib
import stuck
from adoption.tasks import Task, run_tasks
folder = pathlib.Path(sys.argv[1])
try:
    run_tasks([Task(key=str(i), function=stuck.stuck, args=(str(folder / f"started{i}"),)) for i in range(2)],
              folder / "parts", workers=2, progress=False)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


@pytest.mark.slow
def test_ctrl_c_of_local_workers_leaves_no_word_from_the_resource_tracker(tmp_path):
    """Workers stopped in the middle of their tasks (Ctrl-C of a sweep) held tqdm's lock, a named semaphore
    registered with the resource tracker, which then warned of "leaked semaphore objects" after the command's
    one line; their progress lock is now a thread lock of their own."""
    import os
    import sys

    from conftest import ctrl_c_once_started

    (tmp_path / "stuck.py").write_text(STUCK)
    code, err, _ = ctrl_c_once_started([sys.executable, "-c", RUN_STUCK, str(tmp_path)],
                                       [tmp_path / f"started{i}" for i in range(2)],
                                       env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert code == 130 and err.strip().splitlines() == ["interrupted"], err


def test_bad_grid_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: {send_rate: [-1]}\n")
    with pytest.raises(ParameterError, match="send_rate"):
        SweepSpec.load(bad)
    bad.write_text("nothing: 1\n")
    with pytest.raises(InputError, match="non-empty 'grid'"):
        SweepSpec.load(bad)


@pytest.mark.slow
def test_sweep_command_renders_the_sweep_report(tmp_path, capsys, browser):
    import json

    from adoption.cli.main import main

    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID.format(replicates=1, out="cli.parquet"))
    assert main(["sweep", str(grid), "--workers", "1", "--reports", str(tmp_path / "reports"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 points" in out and "sweep report:" in out
    (folder,) = (tmp_path / "reports" / "sweep").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["points"] == 4 and metrics["complete"] is True
    assert 0 <= metrics["mean_activation_90d"] <= 1
    assert (folder / "report.html").read_text().count("data:image/png;base64") >= 2
    text = browser(folder / "report.html", "sweep")
    assert "share of receivers" in text.lower() and "{'" not in text  # the spec as a table, not a dict


def test_workers_and_scheduler_are_exclusive(tmp_path, capsys):
    from adoption.cli.main import main

    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID.format(replicates=1, out="x.parquet"))
    try:
        code = main(["sweep", str(grid), "--workers", "1", "--scheduler", "tcp://127.0.0.1:1"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
