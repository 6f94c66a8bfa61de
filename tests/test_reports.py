"""Report notebooks run by papermill: metrics, HTML, parameters, failures, the index, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from adoption import Scenario
from adoption.cli.main import main
from adoption.errors import ParameterError
from adoption.reports import Report, ReportFailed, list_reports, notebooks_dir, run_report
from adoption.world.simulate import simulate_to


@pytest.fixture(scope="module")
def small_log(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("log") / "small"
    simulate_to(folder, Scenario(n_users=3_000), seed=5)
    return str(folder)


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_notebooks_are_committed_clean_with_one_parameters_cell():
    for name in list_reports():
        nb = nbformat.read(notebooks_dir() / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
        logic = [[line for line in c.source.splitlines()
                  if line.strip() and not line.startswith(("import ", "from ", "#"))]
                 for c in nb.cells if c.cell_type == "code" and c not in tagged]  # parameters are literals
        assert max(len(lines) for lines in logic) <= 10, f"{name}: a cell this long belongs in src/adoption"


@pytest.mark.slow
def test_conversion_report(small_log, reports_dir, browser):
    run = run_report("conversion", {"events": small_log, "seed": 3}, out=reports_dir)
    assert run.status == "ok"
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert 0.72 <= metrics["cumulative_incidence_90d"] <= 0.88
    assert metrics["ci_low"] < metrics["cumulative_incidence"] < metrics["ci_high"]
    assert metrics["adjusted_hazard_ratio"] > 1
    # what adjustment cannot see, and the one effect the log identifies on its own (the lucky split)
    assert metrics["e_value"] > 1 and "placebo_hazard_ratio" in metrics and isinstance(metrics["residual_confounding"], bool)
    assert metrics["gifts_units_back_ci_low"] < metrics["gifts_units_back_per_unit"] < metrics["gifts_units_back_ci_high"]
    # a simulated log carries the holdout's truth, and the report sets the estimates beside it
    assert metrics["truth_hazard_ratio"] > 1 and 0 < metrics["truth_att_90d"] < 1
    assert metrics["prediction_auc"] >= 0.65
    assert json.loads((run.folder / "params.json").read_text())["events"] == small_log
    nb = nbformat.read(run.folder / "report.ipynb", as_version=4)
    assert nb.metadata.papermill["parameters"]["seed"] == 3
    html = run.html.read_text()
    assert html.count("data:image/png;base64") >= 6
    # the second stage: the channel funnel (the log is a simulated one with its QR campaign)
    assert "which QR channel converts" in html and "Closing the loop" in html
    assert metrics["scans"] > 0 and 0 <= metrics["best_channel_rate"] <= 1
    assert "referred_conversions_per_conversion" in metrics
    assert 'class="jp-CodeMirrorEditor' not in html and 'class="jp-InputArea-editor' not in html and 'class="highlight' not in html and "ActivationCurve(horizon" not in html
    # the text says what the prediction model and the uplift targeting show, and the index leads with the 80%
    text = browser(run.html, "conversion")
    assert "This model separates who activates" in text or "This model predicts no better than chance" in text
    assert "Targeting by predicted uplift" in text or "Targeting the users with the highest predicted uplift" in text
    assert "Placebo check" in text and ("after adjustment" in text or "Adjustment changes" in text)
    record = json.loads((run.folder / "run.json").read_text())
    assert record["headline"][0]["key"] == "cumulative_incidence"
    index = browser(reports_dir / "index.html", "index")
    assert "share of receivers active within 90 days: " in index


@pytest.mark.slow
def test_cold_start_report(small_log, reports_dir, browser):
    run = run_report("cold_start", {"events": small_log, "users": 600, "scenarios": "default,no_red_packets",
                                    "portrait_points": 4}, out=reports_dir)
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["eve_growth_public"] == pytest.approx(63.125)
    assert metrics["eve_growth_simulated"] > 5
    assert metrics["users_active_end_default"] > metrics["users_active_end_no_red_packets"]
    assert metrics["merchants_accepting_end_default"] >= metrics["merchants_accepting_end_no_red_packets"]
    # each scenario's verdict in its own mean field and in the simulation
    for name in ("default", "no_red_packets"):
        assert isinstance(metrics[f"mean_field_tips_{name}"], bool) and isinstance(metrics[f"simulated_tips_{name}"], bool)
    assert metrics["mean_field_tips_default"] and not metrics["mean_field_tips_no_red_packets"]
    # the shipped tipping experiments: the network's critical push with its interval beside the mean field's
    assert metrics["ci_low_clustered_random"] < metrics["critical_push_clustered_random"] < metrics["ci_high_clustered_random"]
    assert 0 < metrics["mean_field_critical_push_well_mixed_random"] < 0.3
    html = run.html.read_text()
    assert html.count("data:image/png;base64") >= 8
    assert "Critical mass in each world's own mean field" in html and "a tipping experiment" in html
    browser(run.html, "cold_start")


@pytest.mark.slow
def test_diffusion_report_on_the_bundled_survey(reports_dir, browser):
    run = run_report("diffusion", {"draws": 99}, out=reports_dir)
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert 0 < metrics["contagion_test_p"] <= 1 and metrics["users"] > 100
    text = browser(run.html, "diffusion")
    assert "Permutation test of adopters' exposure" in text and "from 99 shuffles" in text


@pytest.mark.slow
def test_conversion_report_on_a_partial_log(small_log, tmp_path, reports_dir, browser):
    import shutil

    partial = tmp_path / "partial"
    partial.mkdir()
    for table in ("users", "friendships", "transfers", "card_bindings", "payments", "merchants"):
        single = Path(small_log) / f"{table}.parquet"
        if single.exists():
            shutil.copy(single, partial / single.name)
        else:  # a table of events, written a month at a time
            shutil.copytree(Path(small_log) / table, partial / table)
    assert (partial / "payments").is_dir()
    run = run_report("conversion", {"events": str(partial)}, out=reports_dir)
    text = browser(run.html, "conversion-partial")
    assert "This section is skipped" in text and "This log has no scans" in text
    assert 0 < json.loads((run.folder / "metrics.json").read_text())["cumulative_incidence"] <= 1


@pytest.mark.slow
def test_calibration_report_reads_a_calibration(tmp_path, reports_dir, browser):
    from adoption.calibrate import CalibrationSpec, calibrate

    spec = CalibrationSpec.default(budget=2, replicates=1, base={"n_users": 500, "end": "2015-06-30"})
    calibrate(spec, tmp_path / "cal", workers=1, progress=False)
    run = run_report("calibration", {"calibration": str(tmp_path / "cal"), "users": 600}, out=reports_dir)
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["moments_total"] == 5 and metrics["points"] == 2
    html = run.html.read_text()
    assert "moments are within tolerance" in html and html.count("data:image/png;base64") >= 3
    browser(run.html, "calibration")


@pytest.mark.slow
def test_story_report_static(reports_dir, browser):
    first = run_report("story", {"users": 600}, out=reports_dir)  # batch: static figures by itself
    metrics = json.loads((first.folder / "metrics.json").read_text())
    assert metrics["selection_example_naive_hazard_ratio"] > 1.4
    assert 0.8 < metrics["selection_example_adjusted_hazard_ratio"] < 1.2
    text = browser(first.html, "story")
    assert "send rate 0.006, merchant subsidy 0" in (first.folder / "report.html").read_text()  # "Try it" drew
    assert "How red packets got WeChat Pay out of the cold start" in text
    import matplotlib.image as mpimg

    pixels = mpimg.imread(Path(browser.screenshots) / "story.png")[..., :3]
    green = (pixels[..., 1] > 0.55) & (pixels[..., 0] < 0.3) & (pixels[..., 2] < 0.55)  # the report's bars and lines
    assert green.mean() > 0.002, "no figure pixels in the rendered page"
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.01  # text and axes, not a blank page


def _own_notebook(folder: Path, name: str, **parameters: str) -> Path:
    """A report notebook of one's own, in ``folder``: each parameter (``users="int = 1000"``) and, as the
    metric ``<parameter>_seen``, the value the report received."""
    folder.mkdir(exist_ok=True)
    seen = ", ".join(f"{key}_seen={key}" for key in parameters)
    cells = [nbformat.v4.new_code_cell("\n".join(f"{key}: {typed}" for key, typed in parameters.items()),
                                       metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell(f"from adoption.notebook import show_metrics\nshow_metrics({seen})")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "language": "python", "display_name": "Python 3"}}), folder / f"{name}.ipynb")
    return folder


@pytest.mark.slow
def test_a_second_run_leaves_the_first_untouched_and_leads_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("ADOPTION_NOTEBOOKS", str(_own_notebook(tmp_path / "notebooks", "story", users="int = 1000")))
    out = tmp_path / "reports"
    first = run_report("story", {"users": 600}, out=out)
    before = _digest(first.folder)
    second = run_report("story", {"users": 600}, out=out)
    assert second.folder != first.folder
    assert _digest(first.folder) == before
    assert json.loads((second.folder / "metrics.json").read_text()) == {"users_seen": 600}
    index = (out / "index.html").read_text()
    assert first.folder.name in index and second.folder.name in index
    assert index.index(second.folder.name) < index.index(first.folder.name)  # the newest first


def test_unknown_parameter_and_wrong_type_are_refused_before_running(reports_dir):
    with pytest.raises(ParameterError, match="horizn: not a parameter of report conversion; expected one of"):
        run_report("conversion", {"horizn": 30}, out=reports_dir)
    with pytest.raises(ParameterError, match="horizon: expected float"):
        run_report("conversion", {"horizon": "ninety"}, out=reports_dir)
    assert not (reports_dir / "conversion").exists() or all(
        json.loads((p / "params.json").read_text()).get("horizon") != "ninety"
        for p in (reports_dir / "conversion").iterdir())


@pytest.mark.slow
def test_a_string_with_code_stays_a_string_and_a_failure_names_the_cell(tmp_path, browser):
    marker = tmp_path / "PWNED"
    evil = f'default"; open(r"{marker}", "w"); "'
    with pytest.raises(ReportFailed, match=r"cell \d+ failed: ParameterError"):
        run_report("cold_start", {"scenarios": evil, "users": 300}, out=tmp_path / "reports")
    assert not marker.exists()
    (folder,) = (tmp_path / "reports" / "cold_start").iterdir()
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "failed" and "cell" in record["error"]
    assert json.loads((folder / "params.json").read_text())["scenarios"] == evil
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # the partial notebook is kept
    text = browser(folder / "report.html", "failed")
    assert "This run failed in the section" in text and "ParameterError" in text
    assert "This section did not run" in text and "Traceback" not in text and str(tmp_path) not in text
    assert ".venv" not in text and "site-packages" not in text


@pytest.mark.parametrize(("args", "code", "words"), [
    (["report", "conversion", "-p", "horizn=3"], 2, "horizn: not a parameter of report conversion"),
    (["report", "conversion", "-p", "horizon=abc"], 2, "horizon: expected float"),
    (["report", "conversion", "-p", "events=/no/such/log"], 2, "/no/such/log: no such folder"),
    (["report", "conversion", "-p", "events={empty}"], 1, "no event-log tables found"),
    (["report", "nope"], 2, "unknown report 'nope'"),
    (["report"], 2, "name a report"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, args, code, words):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty") for a in args] + ["--out", str(tmp_path / "r"), "--quiet"]
    assert main(args) == code
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_cli_list_shows_parameters_with_defaults(capsys):
    assert main(["report", "--list"]) == 0
    out = capsys.readouterr().out
    assert "conversion:" in out and "horizon: float = 90.0" in out and "story:" in out


def test_report_parameters_are_typed_from_the_notebook():
    report = Report.load("conversion")
    assert report.defaults()["horizon"] == 90.0 and report.defaults()["events"] == ""


@pytest.mark.slow
def test_cli_report_with_a_parameters_file(tmp_path, capsys):
    # a notebook of one's own with the story's parameters (the story itself runs in the tests above): the file's
    # values, a -p value beside them, each typed by the notebook's parameters cell, and the report sees them
    notebooks = _own_notebook(tmp_path / "notebooks", "story", users="int = 1000", interactive="bool = True",
                              seed="int = 1")
    params = tmp_path / "params.yaml"
    params.write_text("users: 400\ninteractive: false\n")
    assert main(["report", "story", "-f", str(params), "-p", "seed=3", "--out", str(tmp_path / "r"), "--quiet",
                 "--notebooks", str(notebooks)]) == 0
    assert "story: ok" in capsys.readouterr().out
    (folder,) = (tmp_path / "r" / "story").iterdir()
    assert json.loads((folder / "params.json").read_text()) == {"interactive": False, "seed": 3, "users": 400}
    assert json.loads((folder / "metrics.json").read_text()) == {"users_seen": 400, "interactive_seen": False,
                                                                 "seed_seen": 3}


def test_notebooks_open_with_the_adoption_kernel_and_typed_parameters():
    for name in list_reports():
        nb = nbformat.read(notebooks_dir() / f"{name}.ipynb", as_version=4)
        assert nb.metadata.kernelspec["name"] == "adoption" and nb.metadata.kernelspec["display_name"] == "Python (adoption)"
        report = Report.load(name)
        untyped = [k for k, spec in report.parameters.items() if spec.get("inferred_type_name") in (None, "None")]
        assert not untyped, f"{name}: parameters without a type hint: {untyped}"


def test_an_optional_parameter_takes_its_type_or_none():
    report = Report.load("story")
    assert report.defaults()["interactive"] is None
    assert report.check({"interactive": False})["interactive"] is False
    assert report.check({"interactive": None})["interactive"] is None
    with pytest.raises(ParameterError, match="interactive: expected bool or None"):
        report.check({"interactive": "yes"})
    from adoption.reports import parse_assignments

    assert parse_assignments(["interactive=true", "users=300"], report) == {"interactive": True, "users": 300}


def test_a_failed_notebook_reads_as_one_paragraph_without_paths():
    from adoption.reports import reader_notebook

    error = nbformat.v4.new_output("error", ename="InputError", traceback=["\x1b[31mTraceback ... /root/.venv/x.py"],
                                   evalue="events: cannot read /home/ana/logs/2015/users.parquet")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("x", metadata={"tags": ["papermill-error-cell-tag"]}),
        nbformat.v4.new_markdown_cell("## Loading the log"), nbformat.v4.new_code_cell("load()", outputs=[error]),
        nbformat.v4.new_markdown_cell("## The headline"), nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")])
    cells = reader_notebook(nb).cells
    assert cells[0].source.startswith('**This run failed** in the section "Loading the log": InputError: events: '
                                      "cannot read users.parquet")
    assert len(cells) == 6 and "x" not in [c.source for c in cells]
    failed = cells[2].outputs[0]["data"]["text/html"]
    assert "This section failed" in failed and "/home/ana" not in failed and "Traceback" not in failed
    assert "did not run" in cells[4].outputs[0]["data"]["text/html"] and not cells[5].get("outputs")


def test_the_index_leads_with_each_reports_headline_newest_first(tmp_path):
    from adoption.reports import write_index

    for name, started, metrics, headline in [
        ("conversion", "2026-01-02T10:00:00.000", {"a_first": 1.0, "ci_low": 0.79, "cumulative_incidence": 0.805,
                                                   "ci_high": 0.81, "receivers": 16554},
         [{"label": "share active within 90 days", "key": "cumulative_incidence", "low": "ci_low", "high": "ci_high",
           "percent": True}, {"label": "receivers", "key": "receivers"}]),
        ("story", "2026-01-03T09:00:00.000", {"z": 2.5, "b": 0.25}, []),
        ("conversion", "2026-01-01T23:00:00.000", {"x": 1.0}, [])]:
        folder = tmp_path / name / started.replace(":", "")
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({"report": name, "status": "ok", "started": started,
                                                     "headline": headline}))
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "params.json").write_text(json.dumps({"seed": 1, "events": ""}))
    page = write_index(tmp_path).read_text()
    assert page.index("2026-01-03 09:00") < page.index("2026-01-02 10:00") < page.index("2026-01-01 23:00")
    assert "share active within 90 days: <b>80.5% [79.0%, 81.0%]</b><br>receivers: <b>16,554</b>" in page
    assert "a first" not in page  # a declared headline replaces the first metrics
    assert "z: <b>2.5</b><br>b: <b>0.25</b>" in page  # without one, the first metrics in the notebook's order


@pytest.mark.slow
def test_the_manifest_runs_reports_side_by_side_and_reports_every_failure(tmp_path):
    from adoption.reports import run_manifest

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name, body in (("good", "show_metrics(answer=value * 2)"), ("bad", "raise ValueError('no such thing')")):
        params = nbformat.v4.new_code_cell("value: int = 1", metadata={"tags": ["parameters"]})
        cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params,
                 nbformat.v4.new_code_cell(f"from adoption.notebook import show_metrics\n{body}")]
        nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                          "display_name": "Python 3"}})
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "manifest.yaml").write_text("runs:\n  - report: bad\n  - report: good\n    parameters: {value: 21}\n")
    with pytest.raises(ReportFailed, match=r"report bad failed: cell \d+ failed: ValueError: no such thing"):
        run_manifest(folder / "manifest.yaml", out=tmp_path / "reports", progress=False, jobs=2)
    (good,) = (tmp_path / "reports" / "good").iterdir()  # the failure stopped nothing
    assert json.loads((good / "run.json").read_text())["status"] == "ok"
    assert json.loads((good / "metrics.json").read_text())["answer"] == 42
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "<b>good</b>" in index and "<b>bad</b>" in index


def test_ctrl_c_of_reports_one_at_a_time_says_which_ran_and_which_did_not(tmp_path, monkeypatch):
    import adoption.reports as reports

    (tmp_path / "manifest.yaml").write_text("runs:\n  - report: a\n  - report: b\n  - report: c\n  - report: d\n")
    started = []

    def run_report(name, params, *, out, folder):  # the second report is interrupted while it runs
        started.append(name)
        if name == "b":
            raise KeyboardInterrupt(f"the run so far is kept in {out}/b/1, marked interrupted")
        return None

    monkeypatch.setattr(reports, "run_report", run_report)
    with pytest.raises(KeyboardInterrupt) as interrupt:
        reports.run_manifest(tmp_path / "manifest.yaml", out=tmp_path / "r", progress=False, jobs=1)
    assert started == ["a", "b"]
    assert interrupt.value.args[0] == f"the run so far is kept in {tmp_path / 'r'}/b/1, marked interrupted; 1 report ran before it, 2 did not run"


@pytest.mark.slow
def test_ctrl_c_of_reports_side_by_side_marks_the_running_ones_and_starts_no_other(tmp_path):
    """A terminal's Ctrl-C reaches every process of ``adoption report --all``: the two reports running are
    kept, marked interrupted, the third (handed to a worker already) never starts, and the command says so in
    one line, promptly (it used to run the queued report, or hang joining its workers)."""
    import sys

    from conftest import ctrl_c_once_started

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("first", "second", "third"):
        params = nbformat.v4.new_code_cell("marker: str = ''", metadata={"tags": ["parameters"]})
        wait = nbformat.v4.new_code_cell("import pathlib, time\npathlib.Path(marker).touch()\ntime.sleep(120)")
        nbformat.write(nbformat.v4.new_notebook(cells=[params, wait], metadata={"kernelspec": {
            "name": "python3", "language": "python", "display_name": "Python 3"}}), folder / f"{name}.ipynb")
    markers = {name: tmp_path / f"{name}.started" for name in ("first", "second", "third")}
    (folder / "manifest.yaml").write_text("runs:\n" + "".join(
        f"  - report: {name}\n    parameters: {{marker: '{path}'}}\n" for name, path in markers.items()))
    out = tmp_path / "reports"
    # (the command and its workers get the signal; kernels have sessions of their own)
    code, err, seconds = ctrl_c_once_started([sys.executable, "-m", "adoption", "report", "--all", "--jobs", "2",
                                              "--quiet", "--notebooks", str(folder), "--out", str(out)],
                                             [markers["first"], markers["second"]])
    assert code == 130 and seconds < 12, err
    assert err.strip().splitlines() == [f"adoption: interrupted; the reports that were running are kept in {out}, "
                                        "marked interrupted; those not started did not run"]
    for name in ("first", "second"):
        (run,) = (out / name).iterdir()
        assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert not markers["third"].exists() and not (out / "third").exists()


def test_report_kernels_listen_on_sockets_in_a_private_folder_removed_at_the_end(tmp_path, monkeypatch):
    """No TCP ports (kernels started side by side could be handed the same one): Unix sockets in a folder
    only its user may enter, gone when the report ends."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    probe = ("import os, json\nfrom ipykernel.connect import get_connection_info\nfrom adoption.notebook import show_metrics\n"
             "info = get_connection_info(unpack=True)\n"
             "show_metrics(transport=info['transport'], ip=info['ip'], "
             "mode=oct(os.stat(os.path.dirname(info['ip'])).st_mode & 0o777))")
    cells = [nbformat.v4.new_code_cell("x: int = 1", metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(probe)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "language": "python", "display_name": "Python 3"}}), folder / "probe.ipynb")
    monkeypatch.setenv("ADOPTION_NOTEBOOKS", str(folder))
    run = run_report("probe", {}, out=tmp_path / "reports")
    seen = json.loads((run.folder / "metrics.json").read_text())
    assert seen["transport"] == "ipc" and seen["mode"] == "0o700"
    assert not Path(seen["ip"]).parent.exists()
