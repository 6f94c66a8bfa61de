"""The simulator: validity, determinism, and the calibration targets of the default scenario."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from adoption import EventLog, Scenario, SocialGraph, simulate
from adoption.errors import ParameterError
from adoption.log.eventlog import read_eventlog
from adoption.world.simulate import simulate_states, simulate_to


def active_within(log: EventLog, days: int = 90) -> tuple[float, int]:
    """Share of receivers whose first own payment action comes within ``days`` of their first receipt.

    Computed straight from the log: receipts are claims and transfers received; actions are payments,
    red packets sent and transfers sent; users who acted before any receipt are left out; receivers
    with less than ``days`` of follow-up are left out.
    """
    receipts = pd.concat([log.red_packet_claims[["receiver_id", "claimed_at"]].set_axis(["user", "t"], axis=1),
                          log.transfers[["receiver_id", "sent_at"]].set_axis(["user", "t"], axis=1)])
    actions = pd.concat([log.payments[["user_id", "paid_at"]].set_axis(["user", "t"], axis=1),
                         log.red_packets[["sender_id", "sent_at"]].set_axis(["user", "t"], axis=1),
                         log.transfers[["sender_id", "sent_at"]].set_axis(["user", "t"], axis=1)])
    table = pd.DataFrame({"receipt": receipts.groupby("user")["t"].min()})
    table = table.join(actions.groupby("user")["t"].min().rename("action"))
    end = log.window[1]
    cohort = table[~(table["action"] < table["receipt"]) & (table["receipt"] <= end - pd.Timedelta(days=days))]
    within = (cohort["action"] - cohort["receipt"]) <= pd.Timedelta(days=days)
    return float(within.mean()), len(cohort)


@pytest.fixture(scope="module")
def default_log() -> EventLog:
    return simulate(Scenario(n_users=20_000), seed=7)


def packets_on(log: EventLog, day: str) -> int:
    sent = log.red_packets["sent_at"].dt.normalize()
    return int((sent == pd.Timestamp(day)).sum())


@pytest.mark.slow
def test_simulated_log_validates(default_log):
    report = default_log.validate()
    assert report.ok, report.lines()
    assert set(default_log.tables) == {"users", "merchants", "friendships", "groups", "group_members",
                                       "red_packets", "red_packet_claims", "transfers", "card_bindings",
                                       "payments", "scans", "messages"}
    start, end = default_log.window
    assert (start, end) == (pd.Timestamp("2014-01-01"), pd.Timestamp("2016-01-01"))
    assert default_log.red_packets["sent_at"].min() >= pd.Timestamp("2014-01-27")


@pytest.mark.parametrize("seed", range(6))
def test_small_logs_validate_for_any_seed(seed):
    log = simulate(Scenario(n_users=1_000, campaign_start="2014-03-01"), seed=seed)
    assert log.validate().ok, log.validate().lines()
    span = log.time_span()
    assert span is not None and span[1] < log.window[1]


def test_eighty_percent_within_ninety_days(default_log):
    share, n = active_within(default_log, 90)
    assert n > 5_000
    assert 0.76 <= share <= 0.84, share


def test_eve_2015_has_tenfold_the_packets(default_log):
    eve14, eve15 = packets_on(default_log, "2014-01-30"), packets_on(default_log, "2015-02-18")
    ordinary = np.median([packets_on(default_log, d) for d in pd.date_range("2015-03-10", "2015-03-20")])
    assert eve15 >= 10 * eve14, (eve14, eve15)
    assert eve15 >= 10 * ordinary, (ordinary, eve15)


def test_festival_evenings_peak_at_night(default_log):
    sent = default_log.red_packets["sent_at"]
    eve = sent[sent.dt.normalize() == pd.Timestamp("2015-02-18")]
    assert (eve.dt.hour >= 19).mean() > 0.5


def test_gift_contagion_sends_money_back(default_log):
    """Money sent into a group by a receiver within 24 h after a claim grows with the amount received."""
    claims = default_log.red_packet_claims.merge(
        default_log.red_packets[["packet_id", "group_id"]], on="packet_id").dropna(subset=["group_id"])
    sent = default_log.red_packets.dropna(subset=["group_id"])[["sender_id", "group_id", "sent_at", "amount_cents"]]
    pairs = claims.merge(sent, left_on=["receiver_id", "group_id"], right_on=["sender_id", "group_id"],
                         suffixes=("", "_back"))
    dt = pairs["sent_at"] - pairs["claimed_at"]
    back = pairs[(dt > pd.Timedelta(0)) & (dt <= pd.Timedelta(hours=24))]
    back_money = back.groupby(["packet_id", "receiver_id"])["amount_cents_back"].sum()
    claims = claims.set_index(["packet_id", "receiver_id"])
    claims["back"] = back_money.reindex(claims.index, fill_value=0)
    slope = np.polyfit(claims["amount_cents"], claims["back"], 1)[0]
    assert 0.03 < slope < 0.3, slope  # 0.18 among receivers who can send; less over all receivers


def test_same_seed_same_log_other_seed_differs():
    scenario = Scenario(n_users=800, end="2014-04-30")
    a, b = simulate(scenario, seed=3), simulate(scenario, seed=3)
    for name, df in a.tables.items():
        pd.testing.assert_frame_equal(df, b.tables[name], obj=name)
    c = simulate(scenario, seed=4)
    assert not a.red_packet_claims.equals(c.red_packet_claims)


def test_a_generator_seed_is_used_not_the_global_state():
    scenario = Scenario(n_users=500, end="2014-03-31")
    np.random.seed(1)  # noqa: NPY002 - the global state must not matter
    a = simulate(scenario, seed=np.random.default_rng(5))
    np.random.seed(2)  # noqa: NPY002
    b = simulate(scenario, seed=np.random.default_rng(5))
    assert a.red_packets.equals(b.red_packets)


def test_no_red_packets_adopts_more_slowly():
    common = {"n_users": 5_000, "end": "2014-12-31"}
    with_packets = simulate(Scenario.named("default", **common), seed=2)
    without = simulate(Scenario.named("no_red_packets", **common), seed=2)
    assert len(without.red_packets) == 0

    def active_users(log: EventLog) -> int:
        acts = pd.concat([log.payments["user_id"], log.red_packets["sender_id"], log.transfers["sender_id"]])
        return acts.nunique()

    assert active_users(without) < 0.8 * active_users(with_packets)


def test_merchant_subsidy_brings_merchants_earlier():
    common = {"n_users": 5_000, "end": "2014-09-30", "campaigns": False}
    plain = simulate(Scenario.named("no_red_packets", **common), seed=2)
    subsidy = simulate(Scenario.named("merchant_subsidy_only", **common), seed=2)
    assert len(subsidy.merchants) > 1.3 * len(plain.merchants)


def test_a_networkx_graph_drives_a_run():
    karate = nx.karate_club_graph()
    graph = SocialGraph.from_networkx(karate)
    log = simulate(Scenario(n_users=34, initial_active_share=0.2, send_rate=0.05), graph=graph, seed=1)
    assert log.validate().ok
    assert len(log.users) == 34
    friends = set(zip(log.friendships["user_a"], log.friendships["user_b"], strict=True))
    assert len(friends) == karate.number_of_edges()
    assert len(log.red_packet_claims) > 0


def test_campaign_scans_and_referrals(default_log):
    scans = default_log.scans
    assert set(scans["channel"]) == {"poster", "official_account", "moments"}
    referred = scans[scans["referrer_id"].notna()]
    assert len(referred) > 0 and (referred["channel"] == "moments").all()
    tied = default_log.payments.dropna(subset=["scan_id"])
    assert len(tied) > 0
    assert tied["scan_id"].isin(scans["scan_id"]).all()


@pytest.mark.parametrize(("key", "value", "words"), [("send_rate", -1.0, "send_rate: expected a number in [0, 10]"),
                                                     ("holdout_share", 0.9, "holdout_share: expected a number in [0, 0.5]"),
                                                     ("n_users", 2.5, "n_users: expected an integer"),
                                                     ("start", "yesterday", "start: expected a date")])
def test_bad_parameters_name_the_parameter_and_range(key, value, words):
    with pytest.raises(ParameterError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Scenario(**{key: value})


def test_unknown_scenario_and_parameter():
    with pytest.raises(ParameterError, match="unknown name 'nope'; expected one of default"):
        Scenario.named("nope")
    with pytest.raises(ParameterError, match="sendrate: unknown scenario parameter"):
        Scenario().set_from_strings(["sendrate=1"])


def test_no_scenario_parameter_names_an_outcome():
    """The 80% and the tipping point come out of the mechanism: no field sets a share to reach."""
    names = {f.name for f in dataclasses.fields(Scenario)}
    assert not any(n.startswith("target") or "_90d" in n for n in names), sorted(names)


@pytest.mark.slow
def test_without_red_packets_the_market_stalls():
    """20,000 users, seeds 1 and 2: no_red_packets ends with at most a third of the default's active users and
    at most half its accepting merchants (measured over seeds 1-5: 0.18-0.20 and 0.19-0.25 of the default's,
    so far from the bounds that two seeds say as much as five)."""
    for seed in range(1, 3):
        with_packets = simulate_states(Scenario.named("default", n_users=20_000, campaigns=False), seed=seed).iloc[-1]
        without = simulate_states(Scenario.named("no_red_packets", n_users=20_000, campaigns=False), seed=seed).iloc[-1]
        assert without["users_active"] <= with_packets["users_active"] / 3, seed
        assert without["merchants_accepting"] <= with_packets["merchants_accepting"] / 2, seed
        assert with_packets["users_active"] > 0.6 and with_packets["merchants_accepting"] > 0.9, seed


def test_simulate_writes_the_truth_beside_the_log(tmp_path):
    simulate_to(tmp_path / "log", Scenario(n_users=2_000, end="2014-09-30"), seed=3)
    truth = json.loads((tmp_path / "log" / "truth.json").read_text())
    assert truth["att_90d_ci_low"] <= truth["att_90d"] <= truth["att_90d_ci_high"]
    assert truth["holdout_share"] == Scenario().holdout_share and truth["contagion_units_back"] == 0.18
    assert read_eventlog(tmp_path / "log").truth == truth


def test_a_log_written_a_month_at_a_time_reads_as_the_whole(tmp_path):
    """partition="month" writes the tables of events as the run goes; every reader sees the same rows, in the
    same order, as one file per table (and as the log in memory), DuckDB included."""
    from adoption.analysis.activation import activation_table

    scenario = Scenario(n_users=800, end="2015-07-31")  # the campaign and its follow-up after the last day
    rows = simulate_to(tmp_path / "month", scenario, seed=8)
    assert rows == simulate_to(tmp_path / "whole", scenario, seed=8, partition="none")
    parts = sorted(p.name for p in (tmp_path / "month" / "red_packets").iterdir())
    assert parts[0] == "2014-01.parquet" and parts[-1] == "2015-07.parquet"
    assert (tmp_path / "month" / "users.parquet").is_file() and not (tmp_path / "whole" / "red_packets").exists()
    in_parts, whole, memory = (read_eventlog(tmp_path / "month"), read_eventlog(tmp_path / "whole"),
                               simulate(scenario, seed=8))
    for name, table in whole.tables.items():
        assert in_parts.tables[name].equals(table), name
        assert len(memory.tables[name]) == len(table), name
    by_sql = activation_table(tmp_path / "month", engine="duckdb")
    assert by_sql.equals(activation_table(tmp_path / "whole", engine="duckdb"))
    assert len(by_sql) == len(activation_table(in_parts))


def test_parts_need_parquet_and_plain_names(tmp_path):
    from adoption.errors import UsageError
    from adoption.log.eventlog import log_writer

    with pytest.raises(ParameterError, match="partition"):
        simulate_to(tmp_path / "csv", Scenario(n_users=100, end="2014-02-28"), format="csv", partition="month")
    frame = pd.DataFrame({"user_id": [1], "joined_at": [pd.Timestamp("2014-01-01")]})
    for part, error in (("../escape", ValueError), ("2014/01", ValueError)):
        with pytest.raises(error, match="part"), log_writer(tmp_path / "bad") as write:
            write("users", frame, part=part)
    with pytest.raises(UsageError, match="Parquet"), log_writer(tmp_path / "text", format="csv") as write:
        write("users", frame, part="2014-01")
    assert not (tmp_path / "bad").exists() and not (tmp_path / "text").exists()


@pytest.mark.slow
def test_signal_where_the_mechanism_puts_it(default_log):
    """Activation after receipt is faster with more money received, more friends and more local merchants,
    and what is known at the first receipt predicts it (AUC >= 0.65)."""
    from adoption.analysis.activation import activation_table
    from adoption.analysis.causal import ActivationPredictor, ReceiptUplift
    from adoption.analysis.survival import ActivationCox

    table = activation_table(default_log)
    hr = ActivationCox().fit(table).summary_["hazard_ratio"]
    assert hr["log_amount"] > 1.2 and hr["log_merchants"] > 1.05 and hr["log_friends"] > 1.1, hr
    assert ActivationPredictor(seed=0).fit(table).auc_ >= 0.65
    assert ReceiptUplift(seed=0).fit(default_log).qini_coefficient_ > 0
