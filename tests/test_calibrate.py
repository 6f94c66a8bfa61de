"""Calibration: simulate-and-recover, resuming, refusing what is wrong, and a real Dask cluster."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adoption.calibrate import (
    CalibrationSpec,
    FreeParameter,
    Target,
    calibrate,
    read_calibration,
)
from adoption.cli import main
from adoption.errors import InputError, ParameterError, UsageError

SMALL = {"n_users": 600, "end": "2015-06-30", "campaigns": False}


def _tiny(**changes) -> CalibrationSpec:
    return CalibrationSpec.default(**{"budget": 4, "replicates": 1, "base": SMALL, **changes})


@pytest.mark.slow
def test_simulate_and_recover():
    """Moments simulated at known parameters: the calibration's accepted spread covers them, and is narrower
    than the ranges it searched."""
    truth = {"cost_mean": 7.6, "eve_multiplier": 12.0}
    base = {"n_users": 2000, "end": "2015-06-30", "campaigns": False}
    names = ["activated_90d_receivers", "eve_over_ordinary_days_2015"]
    from adoption.world.batch import run_worlds
    from adoption.world.moments import world_moments
    from adoption.world.scenario import Scenario

    truth_worlds = run_worlds(Scenario.named("default", **base, **truth), range(4))  # (four worlds run as one)
    draws = pd.DataFrame([world_moments(w) for w in truth_worlds])[names]
    mean, sd = draws.mean(), draws.std(ddof=1)
    targets = [Target(names[0], float(mean[names[0]]), max(3 * float(sd[names[0]]), 0.02), "share"),
               Target(names[1], float(mean[names[1]]), float(np.exp(max(3 * np.log1p(sd[names[1]] / mean[names[1]]), 0.15))),
                      "ratio")]
    spec = CalibrationSpec([FreeParameter("cost_mean", 6.6, 8.6), FreeParameter("eve_multiplier", 3.0, 40.0)], targets,
                           base=base, budget=24, replicates=2, seed=3)
    # (in this process: worker processes would add their start-up, 8 CPU s, to a test about recovery;
    # the process pool is tested by the sweeps and tipping experiments, the Dask scheduler below)
    result = calibrate(spec, Path(pytest.importorskip("tempfile").mkdtemp()) / "cal", workers=1, progress=False)
    spread = result.spread.set_index("parameter")
    for name, value in truth.items():
        assert spread.loc[name, "accepted_min"] <= value <= spread.loc[name, "accepted_max"], (name, spread)
        width = spread.loc[name, "accepted_max"] - spread.loc[name, "accepted_min"]
        assert width < 0.75 * (spread.loc[name, "range_high"] - spread.loc[name, "range_low"]), (name, spread)
    assert result.acceptance == "within tolerance"
    assert result.moments["within"].all()


@pytest.mark.slow
def test_resume_reads_finished_simulations(tmp_path):
    spec = _tiny()
    first = calibrate(spec, tmp_path / "cal", workers=1, progress=False)
    parts = sorted((tmp_path / "cal" / "parts").glob("*.parquet"))
    assert sum(len(pd.read_parquet(p)) for p in parts) == spec.budget * spec.replicates  # (a row per simulation)
    stamps = [p.stat().st_mtime_ns for p in parts]
    again = calibrate(spec, tmp_path / "cal", workers=1, progress=False)
    assert [p.stat().st_mtime_ns for p in parts] == stamps  # nothing recomputed
    pd.testing.assert_frame_equal(first.points, again.points)
    read = read_calibration(tmp_path / "cal")
    assert read.calibrated == first.calibrated
    assert list(read.moments["name"]) == [t.name for t in spec.targets]


def test_points_share_a_batch_only_when_the_worlds_of_a_batch_may_differ_in_their_parameters(tmp_path):
    """Three points (two in the design, one refining it), one replicate. Free parameters the worlds of a batch
    may differ in (the cost of adopting, the sending rate): a replicate of each stage's points is one batch,
    one task; the adoption rate, which the days read and a batch cannot vary: a task per point, each a batch
    of one (the world run alone). Either way a row per simulation."""
    base = {"n_users": 300, "end": "2014-06-30", "campaigns": False}
    for parameters, tasks in (([FreeParameter("cost_mean", 7.0, 8.0), FreeParameter("send_rate", 0.004, 0.01)], 2),
                              ([FreeParameter("adoption_rate", 0.02, 0.05)], 3)):
        spec = CalibrationSpec(parameters, CalibrationSpec.default().targets[:1], base=base, budget=3, replicates=1,
                               seed=1)
        out = tmp_path / parameters[0].name
        result = calibrate(spec, out, workers=1, progress=False)
        parts = sorted((out / "parts").glob("*.parquet"))
        assert len(parts) == tasks
        assert sum(len(pd.read_parquet(p)) for p in parts) == 3 and len(result.points) == 3


@pytest.mark.slow
def test_an_existing_folder_is_never_replaced(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a folder of this kind"):
        calibrate(_tiny(), tmp_path / "taken", workers=1, progress=False)
    calibrate(_tiny(), tmp_path / "cal", workers=1, progress=False)
    with pytest.raises(UsageError, match="other settings"):
        calibrate(_tiny(seed=9), tmp_path / "cal", workers=1, progress=False)
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_bad_target_files_name_the_key(tmp_path):
    cases = {
        "targets: [{name: nonsense, target: 1, tolerance: 0.1}]": "unknown moment 'nonsense'",
        "parameters: {cost_mean: [8, 7]}": "parameters.cost_mean: expected [low, high]",
        "targets: [{name: eve_growth_2015_over_2014, target: 63, tolerance: 0.5, scale: ratio}]": "a factor > 1",
        "colour: blue": "unknown key 'colour'",
    }
    for text, message in cases.items():
        path = tmp_path / "t.yaml"
        path.write_text(text)
        with pytest.raises(InputError, match=re.escape(message)):
            CalibrationSpec.load(path)
    (tmp_path / "range.yaml").write_text("parameters: {cost_mean: [6, 99]}")
    with pytest.raises(ParameterError, match="cost_mean"):
        CalibrationSpec.load(tmp_path / "range.yaml")


def test_ratio_and_share_misses():
    assert Target("x", 63.0, 3.0, "ratio").miss(189.0) == pytest.approx(1.0)
    assert Target("x", 63.0, 3.0, "ratio").miss(21.0) == pytest.approx(-1.0)
    assert Target("x", 0.8, 0.04, "share").miss(0.78) == pytest.approx(-0.5)
    assert Target("x", 2.0, 2.0, "ratio").miss(0.0) == float("inf")


@pytest.mark.slow
def test_calibrate_command_json(tmp_path, capsys):
    code = main(["calibrate", "--budget", "2", "--replicates", "1", "--users", "500", "--out", str(tmp_path / "c"),
                 "--workers", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"name", "target", "simulated", "tolerance", "within"} <= set(out["moments"][0])
    assert (tmp_path / "c" / "calibrated.yaml").exists()


def test_calibrate_command_usage_errors(tmp_path, capsys):
    assert main(["calibrate", "--budget", "1", "--out", str(tmp_path / "c")]) == 2
    assert "--budget" in capsys.readouterr().err
    assert main(["calibrate", "--targets", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "c")]) == 2
    assert "--targets" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dask", path=str(Path(sys.executable).parent)) is None, reason="no dask CLI")
def test_a_real_dask_scheduler_gives_the_local_table(tmp_path):
    """A scheduler and two workers started as separate processes on localhost, as on a cluster."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:  # (the client below keeps trying to connect until the scheduler listens)
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        spec = _tiny()
        cluster = calibrate(spec, tmp_path / "dask", scheduler=address, progress=False)
        local = calibrate(spec, tmp_path / "local", workers=1, progress=False)
        pd.testing.assert_frame_equal(cluster.points, local.points)
        assert cluster.calibrated == local.calibrated
    finally:  # the workers first, while the scheduler is there to see them go (closing beside a scheduler
        # that is closing too, each worker waited about 8 s for it)
        for group in (procs[1:], procs[:1]):
            for p in group:
                p.terminate()
            for p in group:
                p.wait(timeout=30)
