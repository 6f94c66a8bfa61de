"""A report's HTML in headless Chromium: figures visible, no code."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from adoption.reports import run_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="chromium is not installed (make test installs it; CI must have it)")


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "chromium is missing: `make test` (or .ci/run) installs Debian's chromium"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_report_html_shows_figures_and_no_code(tmp_path):
    run = run_report("story", {"users": 500, "interactive": False}, out=tmp_path / "reports")
    url = run.html.resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    assert "<h1" in dom and "How red packets got WeChat Pay out of the cold start" in dom
    assert dom.count('src="data:image/png;base64') >= 4
    assert "simulate(Scenario.named" not in dom and "show_metrics(" not in dom  # no code cells
    shot = tmp_path / "page.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,5000", url)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    green = (pixels[..., 1] > 0.6) & (pixels[..., 0] < 0.3) & (pixels[..., 2] < 0.5)  # the report's bars and lines
    assert green.mean() > 0.002, "no figure pixels in the rendered page"
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.01  # text and axes, not a blank page
    assert np.isfinite(pixels).all()
