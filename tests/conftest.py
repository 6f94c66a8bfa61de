"""Shared fixtures: a tiny hand-built log that uses every table and satisfies every rule."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# before any test module imports nbformat (test_reports does): no IRI grammar built while collecting (4-6 s of
# each test process here), as in the processes of adoption's command line
from adoption.processes import skip_iri_grammar

skip_iri_grammar()
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:  # test workers side by side on the cores
    from adoption.processes import one_thread_per_worker

    one_thread_per_worker()
# the checks of logs that the tests (doctests too) remember go to a folder of this process, never the user's
# (each test gets a fresh one below)
os.environ["ADOPTION_CACHE_DIR"] = tempfile.mkdtemp(prefix="adoption-test-cache-")
atexit.register(shutil.rmtree, os.environ["ADOPTION_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_check_remembered(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test, and every command it runs, starts with no check of a log remembered
    (:mod:`adoption.log.checked`), in a cache folder of its own: never the user's."""
    monkeypatch.setenv("ADOPTION_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def full_tables() -> dict[str, pd.DataFrame]:
    """A valid log with all twelve tables, small enough to reason about by hand."""
    t = pd.to_datetime
    return {
        "users": pd.DataFrame({
            "user_id": [1, 2, 3, 4],
            "joined_at": t(["2014-01-01", "2014-01-01", "2014-01-02", "2014-01-03"]),
            "city": ["Shenzhen", "Shenzhen", "Guangzhou", "Beijing"],
            "left_at": t([None, None, None, "2014-06-01"]),
        }),
        "merchants": pd.DataFrame({
            "merchant_id": [100, 101],
            "accepts_from": t(["2014-01-01", "2014-03-01"]),
            "category": ["restaurant", "taxi"],
            "city": ["Shenzhen", "Beijing"],
        }),
        "friendships": pd.DataFrame({"user_a": [1, 1, 2], "user_b": [2, 3, 4],
                                     "since": t(["2013-01-01"] * 3)}),
        "groups": pd.DataFrame({"group_id": [10], "kind": ["family"]}),
        "group_members": pd.DataFrame({"group_id": [10, 10, 10], "user_id": [1, 2, 3]}),
        "red_packets": pd.DataFrame({
            "packet_id": [500, 501],
            "sender_id": [1, 2],
            "sent_at": t(["2014-01-30 20:00", "2014-02-01 09:00"]),
            "amount_cents": [1000, 888],
            "shares": [2, 1],
            "group_id": pd.array([10, None], dtype="Int64"),
            "recipient_id": pd.array([None, 4], dtype="Int64"),
        }),
        "red_packet_claims": pd.DataFrame({
            "packet_id": [500, 500, 501],
            "receiver_id": [2, 3, 4],
            "claimed_at": t(["2014-01-30 20:01", "2014-01-30 20:05", "2014-02-01 10:00"]),
            "amount_cents": [412, 588, 888],
        }),
        "transfers": pd.DataFrame({"transfer_id": [900], "sender_id": [3], "receiver_id": [1],
                                   "sent_at": t(["2014-02-10 12:00"]), "amount_cents": [5000]}),
        "card_bindings": pd.DataFrame({"user_id": [1, 2, 3], "bound_at": t(["2014-01-15", "2014-02-02",
                                                                            "2014-02-09"])}),
        "payments": pd.DataFrame({
            "payment_id": [700, 701],
            "user_id": [2, 3],
            "merchant_id": [100, 101],
            "paid_at": t(["2014-02-05 12:30", "2014-03-02 19:00"]),
            "amount_cents": [2500, 3100],
            "scan_id": pd.array([800, None], dtype="Int64"),
        }),
        "scans": pd.DataFrame({
            "scan_id": [800, 801],
            "campaign": ["concert", "concert"],
            "channel": ["poster", "moments"],
            "scanned_at": t(["2014-02-05 12:00", "2014-02-06 08:00"]),
            "user_id": pd.array([2, None], dtype="Int64"),
            "placement": ["metro", None],
            "referrer_id": pd.array([None, 2], dtype="Int64"),
        }),
        "messages": pd.DataFrame({"message_id": [900], "user_id": [2], "merchant_id": [100],
                                  "sent_at": t(["2014-02-07 10:00"]), "campaign": ["concert"]}),
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return full_tables()


#: Doctests (by their name in the module) that take more than about two seconds.
SLOW_DOCTESTS = {
    "adoption.analysis.headline.activation_headline", "adoption.analysis.headline.headline_by_definition",
    "adoption.analysis.headline.ActivationHeadline.to_dict", "adoption.analysis.headline.ActivationHeadline.table",
    "adoption.sweep.read_results", "adoption.calibrate.read_calibration", "adoption.analysis.survival.ActivationCox",
    "adoption.analysis.causal.ReceiptUplift", "adoption.analysis.causal.ActivationPredictor",
    "adoption.analysis.causal.effects_against_truth", "adoption.tipping.mean_field_critical_push",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


# ------------------------------------------------------------------------------------------ a terminal's Ctrl-C

def ctrl_c_once_started(command: list[str], markers: list[Path], *, env: dict[str, str] | None = None
                        ) -> tuple[int, str, float]:
    """Run ``command`` in a session of its own, wait (up to two minutes) until every marker file exists, send
    SIGINT to its whole process group as a terminal's Ctrl-C does (the command and its workers), and return
    its exit code, its stderr and the seconds from the signal to its exit."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not all(m.exists() for m in markers) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert all(m.exists() for m in markers), proc.communicate(timeout=60)[1] if proc.poll() is not None else markers
    interrupted = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.monotonic() - interrupted


# ---------------------------------------------------------------------------------------- a real browser

#: Text in a page that betrays an object repr instead of a formatted value.
REPR_MARKERS = ("dtype:", "EventLog(", "<adoption.", "object at 0x", "Styler object")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A checker that opens a page in headless Chromium and fails on what a reader must never meet.

    ``browser(path, name)`` loads the file, then fails on any console message (the reports run no
    script, so any message is an error), any network request the page makes outside the file, any image
    without alt text, and any text that is an object repr (``dtype:``, ``EventLog(``, ``<adoption.``);
    it saves a screenshot as ``<name>.png`` (in ``$ADOPTION_SCREENSHOTS`` or the test's temporary folder)
    and returns the page's visible text.
    """
    import html as html_module
    import json
    import re
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` (or .ci/run) installs Debian's chromium")
        pytest.skip("chromium is not installed (make test installs it; CI must have it)")
    base = tmp_path_factory.mktemp("browser")
    shots = os.environ.get("ADOPTION_SCREENSHOTS") or str(base / "screenshots")
    os.makedirs(shots, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

    def run(*args: str, netlog: str | None = None) -> subprocess.CompletedProcess:
        extra = [f"--log-net-log={netlog}"] if netlog else []
        return subprocess.run([chromium, *flags, f"--user-data-dir={base / 'profile'}", *extra, *args],
                              capture_output=True, text=True, timeout=180, check=False)

    def check(page, name: str) -> str:
        url = os.path.abspath(page)
        url = "file://" + url
        netlog = str(base / f"{name}.netlog.json")
        # one start of the browser: the page's DOM, its network log and its screenshot
        loaded = run("--virtual-time-budget=3000", "--dump-dom", f"--screenshot={os.path.join(shots, name + '.png')}",
                     "--window-size=1280,4000", url, netlog=netlog)
        dom = loaded.stdout
        assert "<body" in dom, f"{name}: the page did not load: {loaded.stderr[-500:]}"
        console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line]
        assert not console, f"{name}: console messages: {console[:3]}"
        with open(netlog) as handle:
            events = json.load(handle).get("events", [])
        requests = {e["params"]["url"] for e in events
                    if "url" in e.get("params", {}) and "file://" in str(e["params"].get("network_isolation_key", ""))
                    and not e["params"]["url"].startswith(("file:", "data:"))}
        assert not requests, f"{name}: the page fetched {sorted(requests)[:3]}"
        images = re.findall(r"<img\b[^>]*>", dom)
        missing = [tag[:80] for tag in images if not re.search(r'\balt="[^"]+"', tag)]
        assert not missing, f"{name}: images without alt text: {missing[:2]}"
        body = re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S)
        text = html_module.unescape(re.sub(r"<[^>]+>", " ", body))
        found = [m for m in REPR_MARKERS if m in text]
        assert not found, f"{name}: object reprs in the page: {found}"
        return re.sub(r"\s+", " ", text)

    check.screenshots = shots
    return check
