"""Contagion baselines: exactness against reference rules and a known epidemic final size."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import brentq

from adoption import SocialGraph, generate_graph
from adoption.errors import ParameterError
from adoption.world.contagion import independent_cascade, sir, threshold_cascade


def reference_threshold(graph: nx.Graph, thresholds: dict, initial: list) -> set:
    """NDlib's ThresholdModel rule, written as plainly as possible."""
    status = {u: int(u in initial) for u in graph}
    while True:
        new = dict(status)
        for u in graph:
            neighbours = list(graph.neighbors(u))
            if status[u] == 0 and neighbours and sum(status[v] for v in neighbours) / len(neighbours) >= thresholds[u]:
                new[u] = 1
        if new == status:
            return {u for u, s in status.items() if s}
        status = new


@pytest.mark.parametrize("seed", range(5))
def test_threshold_matches_the_reference_rule(seed):
    rng = np.random.default_rng(seed)
    graph = generate_graph(600, mean_degree=6, seed=seed)
    thresholds = rng.uniform(0.05, 0.5, graph.n_users)
    initial = rng.choice(graph.n_users, 20, replace=False)
    ours = threshold_cascade(graph, thresholds, initial)
    expected = reference_threshold(graph.to_networkx(), dict(enumerate(thresholds)), initial.tolist())
    assert set(np.flatnonzero(ours.infected).tolist()) == expected


def test_sir_final_size_matches_the_percolation_equation():
    """On an Erdos-Renyi graph, the SIR attack rate solves s = 1 - exp(-c T s), T = tau / (tau + gamma)."""
    n, c, tau, gamma = 60_000, 6.0, 0.25, 1.0
    er = nx.fast_gnp_random_graph(n, c / n, seed=3)
    graph = SocialGraph.from_networkx(er, groups=[])
    transmissibility = tau / (tau + gamma)
    expected = brentq(lambda s: s - 1 + np.exp(-c * transmissibility * s), 1e-6, 1.0)
    sizes = [sir(graph, tau, gamma, np.arange(50), seed=k).final_size / n for k in range(3)]
    assert abs(np.mean(sizes) - expected) < 0.02, (sizes, expected)


def test_sir_times_start_at_zero_and_respect_edges():
    graph = SocialGraph.from_edges([(0, 1), (1, 2)], n_users=4)
    result = sir(graph, tau=50.0, gamma=0.01, initial=[0], seed=1)
    assert result.time[0] == 0.0 and result.time[0] < result.time[1] < result.time[2]
    assert not result.infected[3]


def test_independent_cascade_with_certain_transmission_reaches_the_component():
    graph = SocialGraph.from_edges([(0, 1), (1, 2), (3, 4)], n_users=5)
    assert independent_cascade(graph, 1.0, [0], seed=1).infected.tolist() == [True, True, True, False, False]


def test_bad_input():
    graph = SocialGraph.from_edges([(0, 1)], n_users=2)
    with pytest.raises(ParameterError, match="initial"):
        sir(graph, 1.0, 1.0, [5])
    with pytest.raises(ParameterError, match="tau"):
        sir(graph, 0.0, 1.0, [0])
