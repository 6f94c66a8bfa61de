"""Bass fits with their profile-likelihood intervals, CPU seconds side by side with an earlier revision.

The work of the Bass coverage tests (``tests/test_diffusion.py``): 120 fits, each with the profile of every
parameter, on the tests' own series: 40 seeds of the stochastic Bass process seen for 10 periods and for 15
(binomial likelihood, the market size free), and 40 noisy 40-period curves (least squares). Almost all of a
fit's time is in the profiles: each point of a profile re-optimises the other parameters by Nelder-Mead on a
dozen periods, so the count of loss evaluations is printed beside the CPU seconds. Each source runs in a fresh
process (``OMP_NUM_THREADS=1``), once for this checkout and once for ``--before REV``, alternately, and prints
one JSON object per line: CPU seconds, loss evaluations, the coverage of each kind of series (p, q and the
market size; p and q for the noisy curves, whose noise can carry the adopters seen past the market size, as in
the tests), and a digest of the 120 summaries.

Usage: ``python benchmarks/bass.py [--before REV] [--repeat 2]``
"""

from __future__ import annotations

import argparse

from revisions import ROOT, print_alternately

FITS = r"""
import hashlib, json, sys, time
import numpy as np
from scipy import optimize
sys.path.insert(0, sys.argv[1])
from test_diffusion import P, Q, SIZE, _bass_process, _noisy_bass
from adoption.analysis import diffusion

evaluations = 0
minimize = optimize.minimize

def counted(*args, **kwargs):
    global evaluations
    result = minimize(*args, **kwargs)
    evaluations += result.nfev
    return result

diffusion.optimize.minimize = counted
cases = [("binomial_10", {}, _bass_process(seed, 10)) for seed in range(40)]
cases += [("binomial_15", {}, _bass_process(seed, 15)) for seed in range(40)]
cases += [("least_squares", {"likelihood": "least_squares"}, _noisy_bass(seed)) for seed in range(40)]
digest, hits = hashlib.sha256(), {}
cpu0 = time.process_time()
summaries = [(kind, diffusion.BassModel(**options).fit(t, y).summary_) for kind, options, (t, y) in cases]
cpu = time.process_time() - cpu0
for kind, summary in summaries:
    digest.update(np.ascontiguousarray(summary.to_numpy(), dtype=float).tobytes())
    truth = {"p": P, "q": Q} if kind == "least_squares" else {"p": P, "q": Q, "market_size": SIZE}
    covered = [summary.loc[name, "ci_low"] <= value <= summary.loc[name, "ci_high"] for name, value in truth.items()]
    hits.setdefault(kind, []).append(covered)
coverage = {kind: np.mean(rows, axis=0).round(3).tolist() for kind, rows in hits.items()}
print(json.dumps({"cpu_seconds": round(cpu, 2), "loss_evaluations": evaluations, "coverage": coverage,
                  "digest": digest.hexdigest()[:16]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="also run this git revision (the code before a change)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print_alternately(FITS, [str(ROOT / "tests")], args.before, args.repeat)


if __name__ == "__main__":
    main()
