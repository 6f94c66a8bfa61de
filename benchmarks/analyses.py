"""The analyses on a big log, with every user (issue: performance; analyses without silent subsampling).

Simulates one log of ``--users`` users (default scenario, campaigns off), writes it as Parquet, then runs each
analysis of ``adoption effect``, ``adoption gifts`` and ``adoption diffusion`` in a fresh process (so peak
memory is its own), and the counting-process Cox fit of the marginal structural model's person-periods with
this version's ``fit_cox`` beside a git revision's (``--before``), on the same rows.

Prints one JSON object per line. Usage::

    python benchmarks/analyses.py --users 200000 [--before 4cc865d] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import source_trees

CHILD = """
import json, resource, sys, time
from adoption.log.eventlog import read_eventlog
what, folder = sys.argv[1], sys.argv[2]
log = read_eventlog(folder, validate=False)
t0 = time.perf_counter()
if what == "effect":
    from adoption.analysis.causal import ReceiptEffect
    fit = ReceiptEffect(seed=0).fit(log); n = fit.n_users_
elif what == "msm":
    from adoption.analysis.msm import MarginalStructuralCox
    fit = MarginalStructuralCox().fit(log); n = fit.n_periods_
elif what == "dose":
    from adoption.analysis.receipt_history import ReceiptDose
    fit = ReceiptDose().fit(log); n = fit.n_episodes_
elif what == "gifts":
    from adoption.analysis.gifts import GiftContagion
    fit = GiftContagion().fit(log); n = fit.n_receivers_
elif what == "diffusion":
    from adoption.analysis.network_diffusion import NetworkDiffusion
    fit = NetworkDiffusion(draws=999, seed=0).fit(log); n = len(fit.network_.ego)
print(json.dumps({"phase": "analysis", "what": what, "rows": int(n), "seconds": round(time.perf_counter() - t0, 1),
                  "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
"""

COX_CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from adoption.analysis.coxph import fit_cox
data = np.load(sys.argv[2])
X = data["X"]
t0 = time.perf_counter()
res = fit_cox(data["start"], data["stop"], data["event"], X, weights=data["w"], cluster=data["user"], penalizer=1e-4)
print(json.dumps({"phase": "cox", "source": sys.argv[3], "rows": len(X), "covariates": X.shape[1],
                  "seconds": round(time.perf_counter() - t0, 2), "coef_received": round(float(res.coef[0]), 6)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--before", default=None, help="a git revision whose fit_cox runs beside this one")
    parser.add_argument("--keep", default=None, help="a folder for the simulated log (reused when present)")
    parser.add_argument("--only", nargs="*", default=["effect", "msm", "dose", "gifts", "diffusion"])
    args = parser.parse_args()
    from adoption import Scenario
    from adoption.world.simulate import simulate_to

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "log"
        if not (folder / "users.parquet").exists():
            t0 = time.perf_counter()
            simulate_to(folder, Scenario(n_users=args.users, campaigns=False), seed=1, overwrite=True)
            print(json.dumps({"phase": "build", "users": args.users, "seconds": round(time.perf_counter() - t0, 1)}),
                  flush=True)
        for what in args.only:
            out = subprocess.run([sys.executable, "-c", CHILD, what, str(folder)], capture_output=True, text=True)
            print(out.stdout.strip() or json.dumps({"what": what, "error": out.stderr.strip().splitlines()[-1:]}),
                  flush=True)
        if args.before:
            import numpy as np
            import pandas as pd

            from adoption.analysis.msm import person_periods
            from adoption.log.eventlog import read_eventlog

            rows = person_periods(read_eventlog(folder, validate=False))
            rng = np.random.default_rng(0)
            data = Path(tmp) / "cox.npz"
            X = np.c_[rows["received"].to_numpy(float), rng.normal(size=(len(rows), 8))]
            np.savez(data, start=rows["start"].to_numpy(), stop=rows["stop"].to_numpy(),
                     event=rows["event"].to_numpy(bool), X=X, w=rng.uniform(0.5, 1.5, len(rows)),
                     user=pd.factorize(rows["user_id"])[0])
            with source_trees(args.before) as trees:
                for name, src in trees.items():
                    out = subprocess.run([sys.executable, "-c", COX_CHILD, str(src), str(data), name],
                                         capture_output=True, text=True)
                    print(out.stdout.strip() or json.dumps({"source": name, "error": out.stderr.strip()[-300:]}),
                          flush=True)


if __name__ == "__main__":
    main()
