"""Channel conversion, sharing and the O2O loop: hand-computed numbers, coverage, recovery, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from adoption.analysis.funnel import (
    channel_funnel,
    compare_channels,
    follow_up_lift,
    proportion_interval,
    rank_channels,
    return_curves,
    return_visits,
    scan_table,
    sharing,
)
from adoption.cli.main import main
from adoption.datasets.example import example_path, load_example
from adoption.datasets.synthetic import campaign_log
from adoption.errors import InputError, ParameterError
from adoption.log.eventlog import EventLog

T = pd.Timestamp("2015-06-01 10:00")


def tiny_log() -> EventLog:
    """Two posters and a share, small enough to count by hand.

    metro: scans 1 (user 1, buys twice on it), 2 (user 2, no buy), 3 (anonymous), 4 (user 1 again, no buy)
    campus: scans 5 (user 3, buys), 6 (user 4, no buy)
    moments: scan 7 (user 5, referred by user 1, buys), scan 8 (user 6, referred by user 5, no buy)
    Payments: 101, 102 on scan 1; 103 on scan 5; 104 on scan 7; 105 user 1 again at the merchant, no scan
    (a return visit after 10 days; 102, on the same scan, is the same visit); 106 user 2 at another merchant (no scan: not a conversion).
    A follow-up message reaches user 1 two days after their first visit.
    """
    minutes = pd.to_timedelta
    users = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6], "joined_at": pd.Timestamp("2015-01-01")})
    scans = pd.DataFrame({
        "scan_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "campaign": "concert",
        "channel": ["poster"] * 6 + ["moments"] * 2,
        "scanned_at": [T, T, T, T + minutes("1h"), T, T, T + minutes("2h"), T + minutes("3h")],
        "user_id": pd.array([1, 2, None, 1, 3, 4, 5, 6], dtype="Int64"),
        "placement": ["metro"] * 4 + ["campus"] * 2 + [None, None],
        "referrer_id": pd.array([None] * 6 + [1, 5], dtype="Int64"),
    })
    payments = pd.DataFrame({
        "payment_id": [101, 102, 103, 104, 105, 106],
        "user_id": [1, 1, 3, 5, 1, 2],
        "merchant_id": [9, 9, 9, 9, 9, 8],
        "paid_at": [T + minutes("4min"), T + minutes("30min"), T + minutes("10min"), T + minutes("2h6min"),
                    T + pd.Timedelta(days=10), T + pd.Timedelta(days=1)],
        "amount_cents": [10_000, 5_000, 8_000, 10_000, 6_000, 100],
        "scan_id": pd.array([1, 1, 5, 7, None, None], dtype="Int64"),
    })
    merchants = pd.DataFrame({"merchant_id": [8, 9], "accepts_from": pd.Timestamp("2015-01-01")})
    messages = pd.DataFrame({"message_id": [1], "user_id": [1], "merchant_id": [9],
                             "sent_at": [T + pd.Timedelta(days=2)]})
    return EventLog(users=users, merchants=merchants, payments=payments, scans=scans, messages=messages,
                    meta={"window_start": "2015-06-01", "window_end": "2015-07-01"})


def test_tiny_log_by_hand():
    log = tiny_log()
    assert log.validate().ok
    f = channel_funnel(log).set_index(["channel", "placement"])
    metro, campus, moments = f.loc[("poster", "metro")], f.loc[("poster", "campus")], f.loc[("moments", "")]
    assert (metro["scans"], metro["unique_scanners"], metro["anonymous_scans"]) == (4, 2, 1)
    assert (metro["conversions"], metro["buyers"], metro["revenue_cents"]) == (1, 1, 15_000)
    assert metro["rate"] == 0.25 and metro["median_minutes_to_pay"] == 4.0
    assert (campus["scans"], campus["conversions"], campus["rate"]) == (2, 1, 0.5)
    assert campus["median_minutes_to_pay"] == 10.0
    assert (moments["scans"], moments["conversions"], moments["median_minutes_to_pay"]) == (2, 1, 6.0)
    # Wilson interval of 1/4 by the textbook formula
    z = stats.norm.ppf(0.975)
    centre = (0.25 + z**2 / 8) / (1 + z**2 / 4)
    half = z / (1 + z**2 / 4) * np.sqrt(0.25 * 0.75 / 4 + z**2 / 64)
    assert metro["ci_low"] == pytest.approx(centre - half) and metro["ci_high"] == pytest.approx(centre + half)

    shares = sharing(log)
    # 3 conversions (scans 1, 5, 7); one of them (7) referred
    assert (shares.conversions, shares.referred_conversions) == (3, 1)
    assert shares.viral_coefficient == pytest.approx(1 / 3)
    gen = shares.generations.set_index("generation")
    assert gen["scans"].to_dict() == {0: 6, 1: 1, 2: 1} and gen["conversions"].to_dict() == {0: 2, 1: 1, 2: 0}
    reach = shares.reach.set_index("reach")
    assert reach.loc["direct only", "people"] == 4 + 1  # users 1-4 and one anonymous scan
    assert reach.loc["with sharing", "people"] == 6 + 1
    assert reach.loc["with sharing", "conversions"] == 3

    visits = return_visits(log).set_index("user_id")
    # campaign customers: users 1, 3, 5 at merchant 9; user 1 came back after 10 days minus 4 minutes
    assert sorted(visits.index) == [1, 3, 5]
    assert visits.loc[1, "returned"] and visits.loc[1, "days"] == pytest.approx(10 - 4 / 1440)
    assert visits.loc[1, "visits"] == 1 and visits.loc[1, "messaged"]  # 102 is the same visit (scan 1)
    assert not visits.loc[3, "returned"] and visits.loc[3, "days"] == pytest.approx(30 - (10 * 60 + 10) / 1440)
    everyone = return_visits(log, scan_only=False)
    assert len(everyone) == 4  # user 2 at merchant 8 counts when every payer is taken


def test_payments_without_scans_and_anonymous_scans():
    log = tiny_log()
    table = scan_table(log)
    assert table["anonymous"].sum() == 1 and not table.loc[table["anonymous"], "converted"].any()
    # payment 106 (no scan) is no conversion anywhere; 105 (no scan) is a return visit, not a conversion
    assert channel_funnel(log)["conversions"].sum() == 3
    no_pay = EventLog(users=log.users, scans=log.scans)
    assert channel_funnel(no_pay)["conversions"].sum() == 0


def test_a_log_without_scans_is_refused_in_one_line(tmp_path, capsys):
    log = load_example()
    bare = EventLog(users=log.users, payments=log.payments.assign(scan_id=pd.NA))
    with pytest.raises(InputError, match="no scans table"):
        channel_funnel(bare)
    folder = bare.write(tmp_path / "bare")
    assert main(["funnel", str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert "scans" in err and len(err.splitlines()) == 1


#: The true conversion rate of each channel and placement of the generated campaign below, 200 times over.
COVERAGE_RATES = {(channel, f"{placement}#{copy}"): rate for copy in range(200) for (channel, placement), rate in
                  {("poster", "metro"): 0.06, ("poster", "campus"): 0.10, ("poster", "mall"): 0.04,
                   ("official_account", ""): 0.15}.items()}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["wilson", "jeffreys"])
def test_intervals_cover_the_truth_at_their_nominal_rate(method):
    """A generated campaign with 800 placements (200 of each of four channels' true rates), 400 scans each,
    every placement's scans its own: each placement's interval covers its true rate about 95% of the time."""
    log = campaign_log(COVERAGE_RATES, 400, share_prob=0.0, seed=0)
    f = channel_funnel(log, method=method).set_index(["channel", "placement"])
    assert (f.loc[list(COVERAGE_RATES), "scans"] == 400).all()
    hits = [f.loc[key, "ci_low"] <= rate * (1 - 0.1) <= f.loc[key, "ci_high"]  # anonymous scans count, never buy
            for key, rate in COVERAGE_RATES.items()]
    coverage = float(np.mean(hits))
    # 800 intervals: a binomial 99.9% band around 0.95 is about +-0.025
    assert 0.925 <= coverage <= 0.975, coverage


def test_proportion_interval_matches_scipy():
    for k, n in [(0, 10), (3, 10), (10, 10), (57, 400)]:
        low, high = proportion_interval(k, n)
        ref = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert low == pytest.approx(ref.low) and high == pytest.approx(ref.high)
    low, high = proportion_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)
    with pytest.raises(ParameterError, match="method"):
        proportion_interval(1, 2, method="exact")


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_viral_coefficient_recovered():
    truth = 0.5 * 3.0 * 0.2 * 0.9  # share x referred scans per share x referred rate x logged in
    inside = []
    for seed in range(5):
        s = sharing(campaign_log(scans_per_channel=3000, share_prob=0.5, referred_per_share=3.0,
                                 referred_rate=0.2, seed=seed), seed=seed)
        inside.append(s.ci_low <= truth <= s.ci_high)
        assert s.ci_high - s.ci_low < 0.15
        assert s.generations["generation"].max() >= 2
    assert sum(inside) >= 4


def test_comparisons_and_ranking():
    log = campaign_log(scans_per_channel=3000, share_prob=0.0, seed=3)
    f = rank_channels(channel_funnel(log), seed=1)
    pairs = compare_channels(f)
    assert len(pairs) == 6 and (pairs["p_adjusted"] >= pairs["p_value"]).all()
    top = pairs.set_index(["first", "second"])
    assert top["significant"].sum() >= 4  # 0.04 vs 0.15 etc. are far apart at 3,000 scans each
    assert f.iloc[0]["channel"] == "official_account" and f.iloc[0]["prob_best"] > 0.95
    assert rank_channels(f, seed=1).equals(rank_channels(f, seed=1))
    bh = compare_channels(f, correction="bh")
    assert (bh["p_adjusted"] <= pairs["p_adjusted"] + 1e-12).all()


@pytest.mark.slow  # statistical recovery: the fast lane leaves it to make test
def test_follow_up_lift_recovered_and_return_curves():
    log = campaign_log(scans_per_channel=3000, return_rate=0.02, follow_up_lift=1.5, seed=7)
    visits = return_visits(log)
    lift = follow_up_lift(visits).iloc[0]
    assert lift["ci_low"] <= 1.5 <= lift["ci_high"] and lift["ci_low"] > 1.0
    curves = return_curves(visits)
    assert curves.curves.shape[1] == visits["cohort"].nunique()
    assert curves.at["returned"].between(0, 1).all()
    no_effect = follow_up_lift(return_visits(campaign_log(scans_per_channel=3000, follow_up_lift=1.0, seed=8)))
    assert no_effect.iloc[0]["ci_low"] <= 1.0 <= no_effect.iloc[0]["ci_high"]


def test_the_simulators_campaign_is_readable():
    log = load_example()
    f = channel_funnel(log)
    assert set(f["channel"]) == {"poster", "official_account", "moments"}
    assert f["conversions"].sum() == log.payments["scan_id"].notna().sum()
    assert f.set_index("placement").loc["campus", "rate"] > f.set_index("placement").loc["mall", "rate"]
    assert log.messages is not None and return_visits(log)["messaged"].any()


def test_cli_funnel_json(capsys):
    assert main(["funnel", str(example_path()), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["referred_conversions_per_conversion"], float)
    for row in out["channels"]:
        assert {"channel", "placement", "scans", "conversions", "rate", "ci_low", "ci_high"} <= set(row)
        assert row["ci_low"] <= row["rate"] <= row["ci_high"]
    assert main(["funnel", str(example_path()), "--campaign", "concert_2015"]) == 0
    assert "referred conversions per conversion" in capsys.readouterr().out


def test_cli_funnel_unknown_campaign(capsys):
    assert main(["funnel", str(example_path()), "--campaign", "opera"]) == 2
    assert "concert_2015" in capsys.readouterr().err


def test_messages_table_is_checked_like_every_table():
    log = tiny_log()
    tables = log.tables
    tables["messages"] = tables["messages"].assign(merchant_id=77)
    lines = EventLog(**tables, meta=log.meta).validate().lines()
    assert lines == ["messages.merchant_id: 1 row not found in merchants.merchant_id (examples: message_id=1)"]
