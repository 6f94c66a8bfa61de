"""The Aalen–Johansen estimator of ``adoption`` beside lifelines', on the tables a headline fits.

A headline fits the cumulative incidence of activation with leaving as a competing event. lifelines'
``AalenJohansenFitter`` fits one cause at a time (so twice), each with a Kaplan–Meier fit and an event table
of its own, and jitters every event time at random where two causes share one; ``adoption``'s
:func:`adoption.analysis.survival.aalen_johansen` fits both causes from one event table. Both are timed on
the same weighted rows with delayed entry: times on the one-minute grid (as a big cohort is fitted, where
causes tie) and continuous times (no tie, where the two give the same curves). Prints one JSON object per
line::

    {"rows": n, "times": "grid" | "continuous", "lifelines_seconds": a, "adoption_seconds": b,
     "difference_at_horizon": d}

``difference_at_horizon``: ours less lifelines' cumulative incidence of activation at 90 days, what a
headline reads (lifelines' jitter moves tied event times apart, and its Aalen–Johansen counts a row
entering at an event time as at risk for it).

Usage: ``python benchmarks/competing_risks.py [--rows 10000 100000 1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from lifelines import AalenJohansenFitter

from adoption.analysis.survival import GRID_DAYS, aalen_johansen

#: Days at which a headline reads the incidence.
HORIZON = 90.0


def _table(rows: int, grid: bool, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    entry = rng.exponential(5, rows) * (rng.random(rows) < 0.3)
    duration = entry + rng.exponential(40, rows) + 1e-6
    if grid:
        entry, duration = np.floor(entry / GRID_DAYS) * GRID_DAYS, np.ceil(duration / GRID_DAYS) * GRID_DAYS
        duration = np.maximum(duration, entry + 1e-9)
    kind = rng.choice([0, 1, 2], size=rows, p=[0.3, 0.6, 0.1])
    weight = rng.integers(1, 5, rows).astype(float)
    return entry, duration, kind, weight


def _lifelines(entry: np.ndarray, duration: np.ndarray, kind: np.ndarray, weight: np.ndarray
               ) -> dict[int, AalenJohansenFitter]:
    """Both causes as a headline needs them, one lifelines fit each."""
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the jitter's warning
        for cause in (1, 2):
            fitted[cause] = AalenJohansenFitter(calculate_variance=False, seed=0).fit(
                duration, kind, event_of_interest=cause, entry=entry, weights=weight)
    return fitted


def _best(function, table: tuple[np.ndarray, ...], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function(*table)
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for rows in args.rows:
        for grid in (True, False):
            table = _table(rows, grid)
            lifelines_seconds, fitted = _best(_lifelines, table, args.repeat)
            adoption_seconds, ours = _best(aalen_johansen, table, args.repeat)
            curve = fitted[1].cumulative_density_.iloc[:, 0]
            theirs, mine = curve[curve.index <= HORIZON].iloc[-1], ours.loc[ours.index <= HORIZON, "cif_1"].iloc[-1]
            print(json.dumps({"rows": rows, "times": "grid" if grid else "continuous",
                              "lifelines_seconds": round(lifelines_seconds, 4),
                              "adoption_seconds": round(adoption_seconds, 4),
                              "difference_at_horizon": float(mine - theirs)}), flush=True)


if __name__ == "__main__":
    main()
