"""Classic contagion models on a :class:`~adoption.world.graph.SocialGraph`, vectorized over CSR arrays.

These run the same models as the peer libraries (EoN, NDlib) so that speed and results can be compared
on one graph (``benchmarks/peers.py``), and they are small, well-understood baselines for teaching:

* :func:`sir` — continuous-time Markovian SIR (per-edge transmission rate ``tau``, recovery rate
  ``gamma``), as in EoN's ``fast_SIR``. Each infected node draws its infectious period; each edge out of it
  draws a transmission delay and transmits if the delay is shorter than the period; infection times are
  then shortest paths from the initial infecteds (scipy's Dijkstra). This is exact for the Markovian
  model and touches every edge once.
* :func:`threshold_cascade` — the linear threshold model with synchronous updates, as in NDlib's
  ``ThresholdModel``: a node adopts when the share of adopting neighbours reaches its threshold.
  Deterministic given the initial adopters; every edge is touched at most once.
* :func:`independent_cascade` — each new adopter gets one chance to convert each neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator
from adoption.world.graph import SocialGraph, gather_rows

__all__ = ["ContagionResult", "independent_cascade", "sir", "threshold_cascade"]


@dataclass
class ContagionResult:
    """Outcome of a contagion run.

    Attributes
    ----------
    infected : ndarray of bool
        Nodes ever infected (adopted), initial ones included.
    time : ndarray of float
        Infection time (SIR) or step (cascades) per node; ``inf`` if never infected.
    """

    infected: np.ndarray
    time: np.ndarray

    @property
    def final_size(self) -> int:
        """Number of nodes ever infected, the initial ones included."""
        return int(self.infected.sum())


def _initial(graph: SocialGraph, initial: np.ndarray) -> np.ndarray:
    seeds = np.unique(np.asarray(initial, dtype=np.int64))
    if len(seeds) == 0 or seeds.min() < 0 or seeds.max() >= graph.n_users:
        raise ParameterError(f"initial: expected at least one node index in 0..{graph.n_users - 1}")
    return seeds


def _expand(graph: SocialGraph, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (node, neighbour) pairs for the given nodes, from the CSR arrays."""
    which, neighbour = gather_rows(graph.indptr, graph.indices, nodes)
    return nodes[which], neighbour


def sir(graph: SocialGraph, tau: float, gamma: float, initial: np.ndarray, seed: SeedLike = None) -> ContagionResult:
    """Markovian SIR: transmission at rate ``tau`` per edge, recovery at rate ``gamma``.

    Parameters
    ----------
    graph : SocialGraph
        The contact graph.
    tau, gamma : float
        Per-edge transmission rate and recovery rate (> 0).
    initial : array of int
        Initially infected nodes (infected at time 0).
    seed : int or numpy Generator, optional
        Source of randomness.

    Returns
    -------
    ContagionResult
        ``time`` holds infection times.

    Examples
    --------
    >>> from adoption.world.graph import generate_graph
    >>> g = generate_graph(5_000, seed=1)
    >>> r = sir(g, tau=0.5, gamma=1.0, initial=np.arange(20), seed=1)
    >>> r.final_size > 2_000, float(r.time[0])
    (True, 0.0)
    """
    if tau <= 0 or gamma <= 0:
        raise ParameterError("tau, gamma: expected rates > 0")
    seeds = _initial(graph, initial)
    rng = as_generator(seed)
    n = graph.n_users
    period = rng.exponential(1.0 / gamma, n)
    delay = rng.exponential(1.0 / tau, len(graph.indices))
    src = np.repeat(np.arange(n, dtype=np.int32), graph.degree)
    keep = delay < period[src]
    counts = np.bincount(src[keep], minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    transmit = sp.csr_matrix((delay[keep], graph.indices[keep], indptr), shape=(n, n))
    time = dijkstra(transmit, directed=True, indices=seeds, min_only=True)
    return ContagionResult(np.isfinite(time), time)


def threshold_cascade(graph: SocialGraph, threshold: np.ndarray | float, initial: np.ndarray) -> ContagionResult:
    """Linear threshold model with synchronous updates (NDlib's ``ThresholdModel`` rule).

    A node without the behaviour adopts at step ``k + 1`` when, after step ``k``, the share of its
    neighbours who have adopted is at least its threshold. Nodes without neighbours never adopt.

    Examples
    --------
    >>> g = SocialGraph.from_edges([(0, 1), (1, 2), (2, 3)], n_users=4)
    >>> threshold_cascade(g, 0.5, [0]).time.tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    seeds = _initial(graph, initial)
    n = graph.n_users
    theta = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,))
    deg = graph.degree
    infected = np.zeros(n, dtype=bool)
    infected[seeds] = True
    time = np.full(n, np.inf)
    time[seeds] = 0.0
    counts = np.zeros(n, dtype=np.int64)
    frontier, step = seeds, 0
    while len(frontier):
        step += 1
        _, neighbour = _expand(graph, frontier)
        new_counts = np.bincount(neighbour, minlength=n)
        counts += new_counts
        touched = np.flatnonzero(new_counts)
        touched = touched[~infected[touched]]
        ratio = counts[touched].astype(np.float64) / deg[touched]
        frontier = touched[ratio >= theta[touched]]
        infected[frontier] = True
        time[frontier] = step
    return ContagionResult(infected, time)


def independent_cascade(graph: SocialGraph, p: float | None, initial: np.ndarray,
                        seed: SeedLike = None) -> ContagionResult:
    """Independent cascade: each new adopter converts each susceptible neighbour with probability ``p``.

    With ``p=None`` the probability from node ``u`` is ``1 / degree(u)`` (NDlib's default).

    Examples
    --------
    >>> g = SocialGraph.from_edges([(0, 1), (1, 2)], n_users=3)
    >>> independent_cascade(g, 1.0, [0], seed=0).final_size
    3
    """
    seeds = _initial(graph, initial)
    rng = as_generator(seed)
    n = graph.n_users
    infected = np.zeros(n, dtype=bool)
    infected[seeds] = True
    time = np.full(n, np.inf)
    time[seeds] = 0.0
    frontier, step = seeds, 0
    while len(frontier):
        step += 1
        owner, neighbour = _expand(graph, frontier)
        prob = 1.0 / graph.degree[owner] if p is None else np.full(len(owner), p)
        hit = neighbour[(rng.random(len(owner)) < prob) & ~infected[neighbour]]
        frontier = np.unique(hit)
        infected[frontier] = True
        time[frontier] = step
    return ContagionResult(infected, time)
