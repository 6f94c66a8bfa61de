"""The classic diffusion surveys as event logs: the import, the documented figures, exposure, the contagion test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from adoption.analysis.contagion_test import contagion_test
from adoption.analysis.events import activation_times
from adoption.analysis.network_exposure import DiffusionNetwork, community_curves, exposure_at_adoption
from adoption.cli import main
from adoption.datasets.real import load_real
from adoption.datasets.synthetic import diffusion_log


def test_medical_innovation_reproduces_the_documented_figures():
    net = DiffusionNetwork.from_log(load_real("medical_innovation"))
    curves, summary = community_curves(net)
    assert curves.groupby("period")["adopters"].sum().tolist() == [11, 9, 9, 11, 11, 11, 13, 7, 4, 1, 5, 3, 3, 4, 4,
                                                                   2, 1]
    assert summary["saturation"].round(3).tolist() == [0.887, 0.875, 0.81, 0.889]
    assert summary["time_to_half"].tolist() == [6, 6, 7, 7]


def test_computed_thresholds_agree_with_the_surveys_own():
    log = load_real("medical_innovation")
    ex = exposure_at_adoption(DiffusionNetwork.from_log(log))
    survey = log.users.set_index("user_id")["survey_thresh"]
    both = pd.DataFrame({"ours": ex.set_index("user_id")["threshold"], "theirs": survey}).dropna()
    assert len(both) >= 95
    assert both.corr().iloc[0, 1] >= 0.95


def test_brazilian_farmers_saturation_spans_the_documented_range():
    _, summary = community_curves(DiffusionNetwork.from_log(load_real("brazil_farmers")))
    assert len(summary) == 11
    assert summary["saturation"].min() == pytest.approx(0.290, abs=5e-4)
    assert summary["saturation"].max() == pytest.approx(0.983, abs=5e-4)


def test_every_activation_definition_reads_the_adoptions_table():
    log = load_real("medical_innovation")
    for definition in ("first_action", "first_payment", "card_binding", "k_payments"):
        assert len(activation_times(log, definition, 3, 30.0)) == 109


@pytest.mark.slow
def test_contagion_test_has_its_size_without_contagion_and_power_with_it():
    def rejects(contagion: float, s: int) -> bool:
        net = DiffusionNetwork.from_log(diffusion_log(8, 50, contagion=contagion, seed=s)[0])
        return contagion_test(net, draws=199, seed=s).p_value < 0.05
    size = np.mean([rejects(0.0, s) for s in range(40)])
    power = np.mean([rejects(1.5, 100 + s) for s in range(20)])
    assert size <= 0.125  # nominal 0.05; 40 seeds
    assert power >= 0.8


def test_rewiring_null_rejects_contagion_too():
    net = DiffusionNetwork.from_log(diffusion_log(8, 50, contagion=3.0, seed=5)[0])
    assert contagion_test(net, draws=199, null="rewire", seed=1).p_value < 0.05


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_diffusion_cli_json_on_the_real_log(capsys):
    code, out, err = _run(["diffusion", "data/real/medical_innovation", "--json", "--draws", "199"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert [c["saturation"] for c in result["communities"]] == pytest.approx([0.887, 0.875, 0.810, 0.889], abs=5e-4)
    assert {"community", "size", "adopters", "saturation", "time_to_half"} == set(result["communities"][0])
    assert 0 < result["contagion_test_p"] <= 1 and result["contagion_test"]["draws"] == 199


@pytest.mark.slow
def test_diffusion_runs_on_a_simulated_payment_log(tmp_path, capsys):
    from adoption import Scenario, simulate

    folder = simulate(Scenario(n_users=3_000, end="2014-12-31", campaigns=False), seed=2).write(tmp_path / "log")
    code, out, err = _run(["diffusion", str(folder), "--draws", "99"], capsys)
    assert code == 0, err
    assert "contagion test" in out and "adopters by period" in out


def test_import_survey_counts_what_it_cannot_place(tmp_path, capsys):
    survey = pd.DataFrame({"Town": ["a", "a", "a", "b"], "ID": [1, 2, 3, 1], "toa": [1, 3, 99, 2],
                           "net_1": [2, 1, 1, 9], "net_2": [3, 3, None, 2]})
    survey.to_csv(tmp_path / "survey.csv", index=False)
    args = ["import", "survey", str(tmp_path / "survey.csv"), "--community", "town", "--id", "id", "--time", "toa",
            "--never", "99", "--nominations", "net_*", "--out", str(tmp_path / "log"), "--json"]
    code, out, err = _run(args, capsys)
    assert code == 0, err
    made = json.loads(out)
    # b/1 names 9 (nobody) and 2 (only in town a): one unknown, one in another community
    assert (made["unknown"], made["other_community"], made["adopters"], made["pairs"]) == (1, 1, 3, 3)
    code, _, err = _run(args, capsys)
    assert code == 1 and "already exists" in err  # never replaced
    wrong = [a if a != "town" else "village" for a in args]
    wrong[wrong.index("--out") + 1] = str(tmp_path / "other")
    code, _, err = _run(wrong, capsys)
    assert code == 1 and err.count("\n") == 1 and "no column 'village' for --community" in err


def test_clustered_logit_matches_statsmodels():
    import statsmodels.api as sm

    from adoption.analysis.network_exposure import clustered_logit

    rng = np.random.default_rng(3)
    n = 3000
    cluster = rng.integers(0, 300, n)
    X = np.c_[np.ones(n), rng.normal(size=n), rng.random(n) < 0.3]
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.7 * X[:, 1] + 0.4 * X[:, 2] + 0.3 * (cluster % 3))))).astype(float)
    coef, cov = clustered_logit(X, y, cluster)
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    assert np.allclose(coef, ref.params, atol=1e-8)
    assert np.allclose(np.sqrt(np.diag(cov)), ref.bse, rtol=1e-3)


def test_first_contact_active_is_a_time_zero_the_survival_analyses_read():
    from adoption.analysis.network_exposure import first_contact_table
    from adoption.analysis.survival import ActivationCurve, CompetingRisks

    log = load_real("medical_innovation")
    table = first_contact_table(log)
    assert (table["cohort"] == "first_contact_active").all() and (table["duration"] > 0).all()
    adopted = table[table["event"]]
    assert (adopted["exposed_at"] < adopted["activated_at"]).all()  # followed from the contact's adoption on
    assert 0 < len(table) < len(log.users)  # not those who adopted first, nor those no contact preceded
    curve = ActivationCurve(horizon=365).fit(table)
    assert 0.5 < float(curve.headline_["cumulative_incidence"].iloc[0]) <= 1.0
    competing = CompetingRisks(horizon=365).fit(table)
    assert float(competing.headline_["leaving"].iloc[0]) == 0.0  # nobody leaves a survey
    # the cohort is named for what exposed it: nobody here received money
    assert curve.headline_["group"].iloc[0] == competing.headline_["group"].iloc[0] == "all whose first contact adopted"


@pytest.mark.parametrize(("content", "extra", "code", "words"), [
    (b"RDX3\n\x00garbage", [], 1, "survey: cannot read bad.rda"),
    (b"", ["--never", "x"], 2, "never: expected the number that codes non-adopters"),
    (b"", ["--unit", "week"], 2, "--unit: invalid choice"),
])
def test_import_survey_refuses_bad_input_in_one_line(tmp_path, capsys, content, extra, code, words):
    path = tmp_path / "bad.rda"
    path.write_bytes(content or b"RDX3")
    if not content:
        path = tmp_path / "ok.csv"
        pd.DataFrame({"c": [1], "id": [1], "t": [1], "n1": [None]}).to_csv(path, index=False)
    got, out, err = _run(["import", "survey", str(path), "--community", "c", "--id", "id", "--time", "t",
                          "--nominations", "n*", "--out", str(tmp_path / "log"), *extra], capsys)
    assert got == code and words in err and "Traceback" not in err, err
    assert not (tmp_path / "log").exists()


@pytest.mark.slow
def test_both_engines_read_the_adoptions_table(tmp_path):
    from adoption import Scenario, simulate
    from adoption.analysis.activation import activation_table
    from adoption.log.eventlog import EventLog, read_eventlog

    log = simulate(Scenario(n_users=3_000, end="2014-12-31", campaigns=False), seed=3)
    tables = dict(log.tables)
    tables["adoptions"] = pd.DataFrame({"user_id": log.users["user_id"].to_numpy()[:500],
                                        "adopted_at": pd.Timestamp("2014-03-01")})
    folder = EventLog(**tables, meta=log.meta).write(tmp_path / "log")
    plain = activation_table(log, "first_payment")
    pandas_engine = activation_table(read_eventlog(folder), "first_payment")
    assert pandas_engine.equals(activation_table(folder, "first_payment", engine="duckdb"))
    assert (pandas_engine["activated_at"] <= pd.Timestamp("2014-03-01")).sum() > (
        plain["activated_at"] <= pd.Timestamp("2014-03-01")).sum()  # the adoptions count as activations


@pytest.mark.slow  # (two surveys imported by make: 4 s)
def test_make_real_rebuilds_the_bundled_logs_byte_for_byte(tmp_path):
    """``make real`` from netdiffuseR's files gives the bundled logs' very bytes (where those files are here)."""
    import shutil
    import subprocess
    from pathlib import Path

    from adoption.datasets.real import REAL_LOGS, real_path

    root = Path(__file__).resolve().parents[1]
    shared = root.parent / "shared" / "real" / "netdiffuseR"
    if not (shared / "medInnovations.rdata").exists() or shutil.which("make") is None:
        pytest.skip("netdiffuseR's survey files are not beside the repository")
    # -o: the environment counts as installed (the test runs inside it); REAL: a folder of our own
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "real", f"REAL={tmp_path}",
                           f"SHARED_REAL={shared}"], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in REAL_LOGS:
        bundled = sorted(p.name for p in real_path(name).iterdir())
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == bundled
        for file in bundled:
            assert (tmp_path / name / file).read_bytes() == (real_path(name) / file).read_bytes(), (name, file)
