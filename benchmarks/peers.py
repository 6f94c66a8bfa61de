"""Same model, same graph, same machine: adoption's CSR engine against EoN and NDlib.

Prints one JSON object per line::

    {"engine": "adoption"|"EoN"|"NDlib", "model": ..., "nodes": N, "edges": M, "seconds": s, "final_size": k}

``model`` names the shared model, so each peer row pairs with adoption's row of the same model:

* ``SIR(tau=..,gamma=..)`` — continuous-time Markovian SIR; adoption's :func:`adoption.world.contagion.sir`
  against EoN's ``fast_SIR`` (same initial infecteds).
* ``threshold(U(0.1,0.4))`` — synchronous linear threshold model; adoption's
  :func:`adoption.world.contagion.threshold_cascade` against NDlib's ``ThresholdModel`` (same thresholds, same
  initial adopters; deterministic, so final sizes must be equal).

Building the graphs (adoption's generator, networkx for the peers, NDlib's configuration) is timed
separately and reported in rows with ``"phase": "build"``. Needs the ``bench`` extra
(``make bench`` installs it from ``requirements-bench.lock``).

Usage: ``python benchmarks/peers.py --nodes 200000 [--seed 1] [--skip-ndlib]``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from adoption.world.contagion import sir, threshold_cascade
from adoption.world.graph import generate_graph


def emit(**row: object) -> None:
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--mean-degree", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tau", type=float, default=0.3)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3, help="SIR runs per engine (final size is random)")
    parser.add_argument("--skip-ndlib", action="store_true", help="NDlib's pure-Python loops are slow at 1M+")
    args = parser.parse_args()

    t0 = time.perf_counter()
    graph = generate_graph(args.nodes, mean_degree=args.mean_degree, seed=args.seed)
    build_ours = time.perf_counter() - t0
    n, m = graph.n_users, graph.n_edges
    common = {"nodes": n, "edges": m}
    emit(engine="adoption", phase="build", what="generate_graph (CSR)", seconds=round(build_ours, 3), **common)
    t0 = time.perf_counter()
    nxg = graph.to_networkx()
    emit(engine="networkx", phase="build", what="to_networkx", seconds=round(time.perf_counter() - t0, 3), **common)

    rng = np.random.default_rng(args.seed)
    initial = rng.choice(n, size=max(1, n // 1000), replace=False)
    model = f"SIR(tau={args.tau},gamma={args.gamma})"
    for r in range(args.repeats):
        t0 = time.perf_counter()
        result = sir(graph, args.tau, args.gamma, initial, seed=args.seed + r)
        emit(engine="adoption", model=model, seconds=round(time.perf_counter() - t0, 4),
             final_size=result.final_size, run=r, **common)
    import EoN

    for r in range(args.repeats):
        t0 = time.perf_counter()
        _, _, _, recovered = EoN.fast_SIR(nxg, args.tau, args.gamma, initial_infecteds=initial.tolist())
        emit(engine="EoN", model=model, seconds=round(time.perf_counter() - t0, 4),
             final_size=int(recovered[-1]), run=r, **common)

    thresholds = rng.uniform(0.1, 0.4, n)
    adopters = rng.choice(n, size=max(1, n // 50), replace=False)
    model = "threshold(U(0.1,0.4))"
    t0 = time.perf_counter()
    result = threshold_cascade(graph, thresholds, adopters)
    emit(engine="adoption", model=model, seconds=round(time.perf_counter() - t0, 4),
         final_size=result.final_size, steps=int(result.time[result.infected].max()), **common)
    if args.skip_ndlib:
        return
    import ndlib.models.epidemics as ep
    from ndlib.models.ModelConfig import Configuration

    t0 = time.perf_counter()
    ndm = ep.ThresholdModel(nxg)
    config = Configuration()
    config.add_model_initial_configuration("Infected", adopters.tolist())
    for node, value in enumerate(thresholds.tolist()):
        config.add_node_configuration("threshold", node, value)
    ndm.set_initial_status(config)
    emit(engine="NDlib", phase="build", what="ThresholdModel configuration",
         seconds=round(time.perf_counter() - t0, 3), **common)
    t0 = time.perf_counter()
    steps = 0
    while True:
        out = ndm.iteration(node_status=False)
        steps += 1
        if steps > 1 and out["status_delta"][1] == 0:
            break
    emit(engine="NDlib", model=model, seconds=round(time.perf_counter() - t0, 4),
         final_size=int(out["node_count"][1]), steps=steps - 2, **common)


if __name__ == "__main__":
    main()
