"""The package as a user installs it: a wheel in a fresh virtual environment, run from another folder.

The notebooks, the example log, the scenarios and the public figures are package data, so the installed
commands simulate, analyse and run a report without the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _uv() -> str:
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (make install puts it into .venv)")
    return found


@pytest.mark.slow
def test_the_wheel_simulates_analyses_and_reports_from_another_folder(tmp_path):
    uv = _uv()
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    # (bytecode written as Python does by default: where the environment says not to, each of the commands
    # below, and the report's kernel, would compile every module it imports again: the activation 3.9 s
    # against 2.8 s, the report 13.9 s against 11.0 s)
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "ADOPTION_NOTEBOOKS", "PYTHONDONTWRITEBYTECODE"}}

    def run(*args: str | Path, cwd: Path = work, timeout: int = 600) -> subprocess.CompletedProcess:
        out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=timeout)
        assert out.returncode == 0, f"{' '.join(map(str, args))}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        return out

    run(uv, "build", "--wheel", "--quiet", "--out-dir", dist, ROOT, cwd=ROOT)
    wheel = next(dist.glob("adoption-*.whl"))
    run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    run(uv, "pip", "install", "--quiet", "--python", python, "-r", ROOT / "requirements.lock", wheel)

    where, figures = run(python, "-c", "import adoption; from adoption.datasets.reference import public_figures; "
                                       "print(adoption.__file__); print(len(public_figures()))").stdout.split()
    assert str(venv) in where and str(ROOT / "src") not in where
    assert int(figures) > 10

    adoption = venv / "bin" / "adoption"
    run(adoption, "simulate", "--users", "2000", "--seed", "3", "--out", "log", "--quiet")
    headline = json.loads(run(adoption, "activation", "log", "--json").stdout)
    assert headline["n"] > 100 and 0 < headline["cumulative_incidence"] < 1
    # the report on the bundled survey (the story's 14 s in a fresh environment against 7 s: the tests of
    # the reports run the story)
    run(adoption, "report", "diffusion", "--out", "reports", "--quiet", "-p", "draws=19")
    runs = list((work / "reports" / "diffusion").glob("*/run.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text())["status"] == "ok"
    assert (work / "reports" / "index.html").exists()
