"""The documented search behind the default scenario's value parameters (docs/calibration.md).

Targets, from public figures: about 80% of receivers active within 90 days of their first receipt (the
share of receivers with a first own payment action within 90 days; 0.80 +- 0.04), and a market that
tips with red packets but stays small without them (no_red_packets ends with at most a third of the
default's active users). The search varies ``value_money`` (what money waiting is worth) and ``cost_mean``
(the mean cost of adopting) over a grid, two seeds each at 20,000 users, and prints one JSON line per point;
the default is the point nearest the 0.80 target among those whose counterfactual stalls. The 90-day share is
the truth's ``activated_90d_receivers``: receivers not held out, not active at their first receipt, followed
90 days.

Usage: ``python docs/calibrate_default.py`` (about a minute).
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from adoption.world.engine import run_world
from adoption.world.scenario import Scenario
from adoption.world.truth import effect_truth


def main() -> None:
    for value_money, cost_mean in itertools.product([3.8, 4.2, 4.6], [6.8, 7.2, 7.6]):
        rows = []
        for seed in (1, 2):
            params = {"n_users": 20_000, "campaigns": False, "value_money": value_money, "cost_mean": cost_mean}
            d = run_world(Scenario.named("default", **params), None, seed)
            n = run_world(Scenario.named("no_red_packets", **params), None, seed)
            rows.append((effect_truth(d)["activated_90d_receivers"], np.mean(d.active < d.n_days), np.mean(n.active < n.n_days)))
        a, users_d, users_n = (float(np.mean(c)) for c in zip(*rows, strict=True))
        print(json.dumps({"value_money": value_money, "cost_mean": cost_mean, "activation_90d": round(a, 3),
                          "users_active_end_default": round(users_d, 3),
                          "users_active_end_no_red_packets": round(users_n, 3),
                          "stall_ratio": round(users_n / users_d, 3)}), flush=True)


if __name__ == "__main__":
    main()
