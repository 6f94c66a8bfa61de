"""The stylized two-sided market's policies, CPU seconds side by side with an earlier revision.

What the story and cold-start reports and the market tests ask of :class:`adoption.market.TwoSidedMarket`,
for three markets (the story's, a slower one with adoption rates 0.3, and a knife-edge one whose benefits equal
its prices): the smallest push, the smallest subsidy of each side (bisections over ``tips``), the seeding
comparison (``time_to_tip`` over 4,001-point paths), whether a 7 x 7 grid of starts tips, and the frontier.
Each source runs in a fresh process (``OMP_NUM_THREADS=1``), once for this checkout and once for ``--before
REV``, alternately, and prints one JSON object per line: CPU seconds and the answers (pushes and subsidies to
six digits, the grid's count of starts that tip), which should agree but for the knife-edge market (see
``TwoSidedMarket.tips``).

Usage: ``python benchmarks/market.py [--before REV] [--repeat 2]``
"""

from __future__ import annotations

import argparse

from revisions import print_alternately

POLICIES = r"""
import json, time
import numpy as np
from adoption.market import TwoSidedMarket
from adoption.market.policies import seeding_comparison, smallest_push, smallest_subsidy

markets = {"story": TwoSidedMarket(2.0, 1.5, 0.3, 0.2), "slow": TwoSidedMarket(2.0, 1.5, 0.3, 0.2, l_users=0.3, l_merchants=0.3),
           "knife_edge": TwoSidedMarket(2.0, 2.0, 1.0, 1.0)}
answers = {}
cpu0 = time.process_time()
for name, market in markets.items():
    table = seeding_comparison(market)
    answers[name] = {"push": round(float(smallest_push(market, (0.02, 0.03))), 6),
                     "subsidies": [round(float(smallest_subsidy(market, side, duration=10.0)), 6) for side in ("users", "merchants")],
                     "time_to_tip": table["time_to_tip"].round(2).tolist(),
                     "tips_of_49": sum(bool(market.tips(u, m)) for u in np.linspace(0, 0.6, 7) for m in np.linspace(0, 0.6, 7))}
    if name != "knife_edge":
        answers[name]["frontier_mid"] = market.frontier().iloc[100].round(6).tolist()
print(json.dumps({"cpu_seconds": round(time.process_time() - cpu0, 2), "answers": answers}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="also run this git revision (the code before a change)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print_alternately(POLICIES, [], args.before, args.repeat)


if __name__ == "__main__":
    main()
