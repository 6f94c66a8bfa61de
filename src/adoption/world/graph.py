"""Social graphs for the red-packet world: friends, cities, communities and chat groups.

A :class:`SocialGraph` stores an undirected friendship graph as CSR arrays (``indptr`` int64,
``indices`` int32, each edge in both directions) and chat groups as a second CSR (group -> members),
so that graphs with millions of users fit in memory and every operation is vectorized.

:func:`generate_graph` draws a graph with the features the simulator needs: users in cities of
Zipf-like sizes, tight communities inside cities (families, workplaces, neighbourhoods), heavy-tailed
degrees (a lognormal sociability), clustering from family cliques and triadic closure, and chat groups
of three kinds (family, work, friends) drawn from those communities. Any networkx graph or edge list can
be used instead (:meth:`SocialGraph.from_networkx`, :meth:`SocialGraph.from_edges`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

from adoption.arrays import run_starts, searchsorted_in_order
from adoption.errors import ParameterError
from adoption.random import SeedLike, as_generator

__all__ = ["GROUP_KINDS", "SocialGraph", "gather_rows", "generate_graph"]

#: Chat-group kinds, in the order of their integer codes.
GROUP_KINDS: tuple[str, ...] = ("family", "work", "friends")

#: Default city names (largest first); more cities get generic names.
CITY_NAMES: tuple[str, ...] = (
    "Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Chengdu", "Chongqing", "Hangzhou", "Wuhan", "Xi'an",
    "Tianjin", "Suzhou", "Nanjing", "Changsha", "Zhengzhou", "Dongguan", "Qingdao", "Shenyang", "Ningbo",
    "Kunming", "Hefei",
)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(eq=False)
class SocialGraph:
    """An undirected friendship graph in CSR form, with cities and chat groups.

    Parameters
    ----------
    indptr : ndarray of int64, shape (n_users + 1,)
        CSR row pointers; the friends of user ``i`` are ``indices[indptr[i]:indptr[i + 1]]``.
    indices : ndarray of int32
        CSR column indices; every edge appears in both directions, no self-loops or duplicates.
    city : ndarray of int16, shape (n_users,)
        City code of each user (an index into ``city_names``).
    city_names : tuple of str
        Name of each city code.
    group_indptr, group_members : ndarray
        CSR of chat groups: members of group ``g`` are ``group_members[group_indptr[g]:group_indptr[g + 1]]``.
    group_kind : ndarray of int8
        Kind of each group, an index into :data:`GROUP_KINDS`.
    urban : ndarray of bool, optional
        Whether a user lives in one of the large (tier-1) cities.

    Examples
    --------
    >>> g = SocialGraph.from_edges([(0, 1), (1, 2)], n_users=4)
    >>> g.n_users, g.n_edges, g.degree.tolist()
    (4, 2, [1, 2, 1, 0])
    """

    indptr: np.ndarray
    indices: np.ndarray
    city: np.ndarray
    city_names: tuple[str, ...] = ("City",)
    group_indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    group_members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    group_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    urban: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.indptr = np.asarray(self.indptr, dtype=np.int64)
        self.indices = np.asarray(self.indices, dtype=np.int32)
        self.city = np.asarray(self.city, dtype=np.int16)
        if self.urban is None:
            self.urban = self.city < min(4, len(self.city_names))
        if len(self.indptr) != len(self.city) + 1:
            raise ParameterError("graph: indptr must have n_users + 1 entries")

    # ----------------------------------------------------------------- sizes
    @property
    def n_users(self) -> int:
        """Number of users (nodes)."""
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        """Number of undirected friendships."""
        return len(self.indices) // 2

    @property
    def n_groups(self) -> int:
        """Number of chat groups."""
        return len(self.group_indptr) - 1

    @cached_property
    def degree(self) -> np.ndarray:
        """Number of friends of each user (computed once, read-only: the graph is not changed after it is
        built)."""
        return _read_only(np.diff(self.indptr))

    @cached_property
    def group_size(self) -> np.ndarray:
        """Number of members of each group (computed once, read-only)."""
        return _read_only(np.diff(self.group_indptr))

    def neighbors(self, user: int) -> np.ndarray:
        """Friends of one user."""
        return self.indices[self.indptr[user]:self.indptr[user + 1]]

    def members(self, group: int) -> np.ndarray:
        """Members of one chat group."""
        return self.group_members[self.group_indptr[group]:self.group_indptr[group + 1]]

    def adjacency(self) -> sp.csr_matrix:
        """The adjacency matrix as a scipy CSR matrix (shares memory with the graph)."""
        data = np.ones(len(self.indices), dtype=np.int8)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_users, self.n_users))

    def user_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of the groups each user belongs to: ``(indptr, groups)``."""
        size = self.group_size
        group_of = np.repeat(np.arange(self.n_groups, dtype=np.int32), size)
        order = np.argsort(self.group_members, kind="stable")
        counts = np.bincount(self.group_members, minlength=self.n_users)
        indptr = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return indptr, group_of[order]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Each friendship once, as arrays ``(user_a, user_b)`` with ``user_a < user_b``."""
        return _edges_once(self.indptr, self.indices)

    def clustering(self, sample: int = 2000, seed: SeedLike = 0) -> float:
        """Average local clustering coefficient, estimated on a sample of users (networkx)."""
        rng = as_generator(seed)
        nodes = rng.choice(self.n_users, size=min(sample, self.n_users), replace=False)
        sub = self.to_networkx(nodes=np.unique(np.concatenate([nodes, *[self.neighbors(u) for u in nodes]])))
        return float(nx.average_clustering(sub, nodes=nodes.tolist()))

    # ---------------------------------------------------------------- interop
    @classmethod
    def from_edges(cls, edges: Sequence[tuple[int, int]] | np.ndarray, n_users: int | None = None, *,
                   city: np.ndarray | None = None, groups: Sequence[Sequence[int]] | None = None,
                   group_kinds: Sequence[str] | None = None) -> SocialGraph:
        """Build a graph from an edge list of user indices ``0 .. n_users - 1``.

        Self-loops and duplicate edges are dropped; direction is ignored.

        Parameters
        ----------
        edges : array-like of shape (m, 2)
            Friendships.
        n_users : int, optional
            Number of users (default: largest index + 1).
        city : array-like of int, optional
            City code per user (default: all in one city).
        groups : sequence of sequences of int, optional
            Chat groups as member lists (default: none).
        group_kinds : sequence of str, optional
            Kind of each group (default: ``"friends"``).

        Examples
        --------
        >>> SocialGraph.from_edges(np.array([[0, 1], [1, 0], [2, 2]])).n_edges
        1
        """
        arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        n = int(n_users if n_users is not None else (arr.max() + 1 if len(arr) else 0))
        if len(arr) and (arr.min() < 0 or arr.max() >= n):
            raise ParameterError(f"edges: user indices must lie in 0..{n - 1}")
        indptr, indices = _csr_from_pairs(arr[:, 0], arr[:, 1], n)
        city_arr = np.zeros(n, dtype=np.int16) if city is None else np.asarray(city, dtype=np.int16)
        names = tuple(f"City {i}" for i in range(int(city_arr.max()) + 1)) if n else ("City",)
        g_indptr, g_members, g_kind = _groups_from_lists(groups or [], group_kinds)
        return cls(indptr, indices, city_arr, names, g_indptr, g_members, g_kind)

    @classmethod
    def from_networkx(cls, graph: nx.Graph, *, city_attr: str = "city",
                      groups: Sequence[Sequence[object]] | None = None) -> SocialGraph:
        """Build a graph from a networkx graph.

        Nodes are numbered in ``graph.nodes`` order; a node attribute ``city_attr`` (any hashable) becomes
        the city. Chat groups can be passed as lists of nodes; without them, every maximal clique of 3 to
        30 nodes becomes a ``friends`` group, so that group red packets have somewhere to go.

        Examples
        --------
        >>> g = SocialGraph.from_networkx(nx.karate_club_graph())
        >>> g.n_users, g.n_edges, g.n_groups > 0
        (34, 78, True)
        """
        nodes = list(graph.nodes)
        index = {node: i for i, node in enumerate(nodes)}
        edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64).reshape(-1, 2)
        labels = [graph.nodes[node].get(city_attr, 0) for node in nodes]
        uniq = list(dict.fromkeys(labels))
        city = np.array([uniq.index(label) for label in labels], dtype=np.int16)
        if groups is None:
            cliques = [c for c in nx.find_cliques(graph.to_undirected()) if 3 <= len(c) <= 30]
            member_lists = [[index[v] for v in c] for c in cliques]
        else:
            member_lists = [[index[v] for v in g] for g in groups]
        built = cls.from_edges(edges, len(nodes), city=city, groups=member_lists)
        built.city_names = tuple(str(u) for u in uniq) or ("City",)
        built.urban = np.ones(len(nodes), dtype=bool)
        return built

    def to_networkx(self, nodes: np.ndarray | None = None) -> nx.Graph:
        """The friendship graph (or the subgraph on ``nodes``) as a networkx graph with city attributes.

        Examples
        --------
        >>> g = generate_graph(300, seed=1)
        >>> G = g.to_networkx()
        >>> G.number_of_nodes(), G.number_of_edges() == g.n_edges
        (300, True)
        """
        graph = nx.Graph()
        keep = np.arange(self.n_users) if nodes is None else np.asarray(nodes)
        graph.add_nodes_from((int(u), {"city": self.city_names[self.city[u]]}) for u in keep)
        a, b = self.edges()
        if nodes is not None:
            inside = np.zeros(self.n_users, dtype=bool)
            inside[keep] = True
            mask = inside[a] & inside[b]
            a, b = a[mask], b[mask]
        graph.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        return graph


# ------------------------------------------------------------------ helpers
def gather_rows(indptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of several CSR rows at once: ``(which, entries)``, ``which`` indexing into ``rows``.

    Examples
    --------
    >>> which, entries = gather_rows(np.array([0, 2, 3]), np.array([7, 8, 9]), np.array([1, 0]))
    >>> which.tolist(), entries.tolist()
    ([0, 1, 1], [9, 7, 8])
    """
    rows = np.asarray(rows)
    sizes = indptr[rows + 1] - indptr[rows]
    which = np.repeat(np.arange(len(rows)), sizes)
    offsets = np.arange(len(which)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return which, values[indptr[rows][which] + offsets].astype(np.int64)


def _edges_once(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each undirected edge of a symmetric CSR once, as ``(a, b)`` with ``a < b``."""
    src = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
    keep = src < indices
    return src[keep], indices[keep]


def _csr_from_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric, deduplicated CSR from undirected pairs (self-loops dropped), each row's friends in
    increasing order.

    The pairs are sorted once, as ``lo * n + hi`` with ``lo < hi``; row ``i`` is then its smaller friends
    (the pairs whose ``hi`` is ``i``, in the order of their ``lo``) followed by its larger ones (the pairs
    whose ``lo`` is ``i``), so both directions are placed without sorting them again.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    keep = a != b
    codes = np.minimum(a, b)[keep] * n
    codes += np.maximum(a, b)[keep]
    del keep
    codes.sort()
    codes = codes[run_starts(codes)]
    lo = codes // n
    codes -= lo * n
    hi = codes
    smaller = np.bincount(hi, minlength=n)  # friends below each user
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(smaller + np.bincount(lo, minlength=n), out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    # larger friends: the pairs are in (lo, hi) order, so each row's run follows its smaller friends
    run = np.arange(len(lo), dtype=np.int64)
    run -= np.searchsorted(lo, lo, side="left")
    indices[indptr[lo] + smaller[lo] + run] = hi
    # smaller friends: the pairs by hi, keeping the lo order within each hi
    order = np.argsort(hi, kind="stable")
    by_hi = hi[order]
    run = np.arange(len(by_hi), dtype=np.int64)
    run -= np.searchsorted(by_hi, by_hi, side="left")
    indices[indptr[by_hi] + run] = lo[order]
    return indptr, indices


def _groups_from_lists(groups: Sequence[Sequence[int]], kinds: Sequence[str] | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lists = [np.unique(np.asarray(g, dtype=np.int64)) for g in groups]
    lists = [g for g in lists if len(g) >= 2]
    sizes = np.array([len(g) for g in lists], dtype=np.int64)
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    members = np.concatenate(lists).astype(np.int32) if lists else np.zeros(0, dtype=np.int32)
    if kinds is None:
        kind = np.full(len(lists), GROUP_KINDS.index("friends"), dtype=np.int8)
    else:
        kind = np.array([GROUP_KINDS.index(k) for k in kinds], dtype=np.int8)[: len(lists)]
    return indptr, members, kind


def _chunks(sizes_needed: int, mean: float, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """Chunk sizes in [low, high] with about the given mean that add up to at least ``sizes_needed``."""
    n = max(1, int(np.ceil(sizes_needed / mean * 1.3)) + 1)
    sizes = np.clip(np.round(rng.lognormal(np.log(mean) - 0.18, 0.6, size=n)), low, high).astype(np.int64)
    while sizes.sum() < sizes_needed:
        sizes = np.concatenate([sizes, sizes])
    return sizes


def _cut_into_groups(order: np.ndarray, key: np.ndarray, mean: float, low: int, high: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cut users (sorted so that ``key`` is contiguous) into groups that never cross a key boundary.

    Returns ``(group_id_per_position, sizes)``; positions of groups smaller than ``low`` get -1.
    """
    n = len(order)
    sizes = _chunks(n, mean, low, high, rng)
    cuts = np.cumsum(sizes)
    cuts = cuts[cuts < n]
    chunk = np.zeros(n, dtype=np.int64)
    chunk[cuts] = 1
    boundary = np.r_[False, key[order][1:] != key[order][:-1]]
    group = np.cumsum((chunk > 0) | boundary)
    counts = np.bincount(group)
    ok = counts[group] >= low
    relabel = np.full(len(counts), -1, dtype=np.int64)
    valid = np.flatnonzero(np.bincount(group[ok], minlength=len(counts)) > 0)
    relabel[valid] = np.arange(len(valid))
    return relabel[group], counts[valid]


def generate_graph(n_users: int, *, mean_degree: float = 10.0, n_cities: int = 20, community_size: float = 60.0,
                   local_share: float = 0.6, city_share: float = 0.3, degree_sigma: float = 0.9,
                   closure_share: float = 0.15, family_size: float = 4.5, work_group_size: float = 18.0,
                   work_share: float = 0.6, friend_groups_per_user: float = 0.15,
                   seed: SeedLike = None) -> SocialGraph:
    """Draw a clustered, heavy-tailed social graph with cities, communities and chat groups.

    Users live in cities of Zipf-like sizes and, inside them, in communities of about ``community_size``
    users. Each user has a lognormal sociability; friendships are drawn between users in proportion to
    their sociabilities (Chung–Lu), most of them inside the community, some inside the city, the rest
    anywhere; families are small cliques; a share of edges closes triangles. Chat groups are families,
    workplaces (drawn inside cities) and friend circles (a user and some of their friends).

    Parameters
    ----------
    n_users : int
        Number of users (>= 2).
    mean_degree : float, default 10
        Target mean number of friends.
    n_cities : int, default 20
        Number of cities.
    community_size : float, default 60
        Mean community size inside a city.
    local_share, city_share : float
        Shares of the random friendships drawn inside the community and inside the city (the rest are
        drawn across the whole country).
    degree_sigma : float, default 0.9
        Log-sd of sociability; larger gives heavier degree tails.
    closure_share : float, default 0.15
        Share of friendships made by closing a triangle (friend of a friend).
    family_size, work_group_size : float
        Mean sizes of family and work groups.
    work_share : float, default 0.6
        Share of users in a work group.
    friend_groups_per_user : float, default 0.15
        Friend circles per user.
    seed : int or numpy Generator, optional
        Source of randomness.

    Returns
    -------
    SocialGraph

    Examples
    --------
    >>> g = generate_graph(5_000, mean_degree=10, seed=42)
    >>> g.n_users, bool(8 < g.degree.mean() < 12), bool(g.degree.max() > 4 * g.degree.mean())
    (5000, True, True)
    >>> sorted(set(g.group_kind.tolist()))
    [0, 1, 2]
    """
    if n_users < 2:
        raise ParameterError(f"n_users: expected at least 2, got {n_users}")
    if not 0 < mean_degree < n_users:
        raise ParameterError(f"mean_degree: expected in (0, n_users), got {mean_degree}")
    if not (local_share >= 0 and city_share >= 0 and local_share + city_share <= 1):
        raise ParameterError("local_share, city_share: expected shares >= 0 that add up to at most 1")
    rng = as_generator(seed)
    n = int(n_users)
    n_cities = max(1, min(int(n_cities), n // 50 or 1))
    # cities with Zipf-like sizes; communities inside cities
    city_weight = 1.0 / np.arange(1, n_cities + 1) ** 0.9
    city = rng.choice(n_cities, size=n, p=city_weight / city_weight.sum()).astype(np.int16)
    order = np.argsort(city, kind="stable")
    comm_pos, _ = _cut_into_groups(order, city.astype(np.int64), community_size, 1, 10 * int(community_size), rng)
    community = np.empty(n, dtype=np.int64)
    community[order] = comm_pos
    sociability = rng.lognormal(0.0, degree_sigma, size=n)

    # families: small cliques inside communities
    fam_order = np.lexsort((rng.random(n), community))
    fam_pos, fam_sizes = _cut_into_groups(fam_order, community, family_size, 2, 10, rng)
    family = np.empty(n, dtype=np.int64)
    family[fam_order] = fam_pos
    fam_members = fam_order[fam_pos >= 0]
    fam_ids = fam_pos[fam_pos >= 0]
    fam_src, fam_dst = _clique_pairs(fam_members, fam_ids, fam_sizes)

    # Chung-Lu friendships, mostly local
    fam_mean = len(fam_src) * 2 / n
    n_random = max(0, int(round(n * max(mean_degree - fam_mean, 0.0) / 2 / (1 + closure_share))))
    src = _sample_by_weight(sociability, n_random, rng)
    scope = rng.random(n_random)
    dst = np.empty(n_random, dtype=np.int64)
    for mask, groups in ((scope < local_share, community),
                         ((scope >= local_share) & (scope < local_share + city_share), city.astype(np.int64)),
                         (scope >= local_share + city_share, np.zeros(n, dtype=np.int64))):
        dst[mask] = _sample_within(groups, sociability, groups[src[mask]], rng)
    indptr, indices = _csr_from_pairs(np.concatenate([fam_src, src]), np.concatenate([fam_dst, dst]), n)

    # triadic closure: a friend of a friend
    n_close = int(round(n_random * closure_share))
    if n_close and len(indices):
        degree = np.diff(indptr)
        a = _sample_by_weight(degree.astype(float), n_close, rng)
        b = indices[indptr[a] + (rng.random(n_close) * degree[a]).astype(np.int64)]
        deg_b = degree[b]
        c = indices[indptr[b] + (rng.random(n_close) * deg_b).astype(np.int64)]
        old_a, old_b = _edges_once(indptr, indices)  # the CSR holds both directions
        indptr, indices = _csr_from_pairs(np.concatenate([old_a, a]), np.concatenate([old_b, c]), n)
        del old_a, old_b

    # chat groups
    group_lists_members = [fam_members.astype(np.int64)]
    group_lists_ids = [fam_ids]
    group_kind = [np.full(len(fam_sizes), 0, dtype=np.int8)]
    next_id = len(fam_sizes)
    workers = np.flatnonzero(rng.random(n) < work_share)
    if len(workers) >= 3:
        w_order = workers[np.lexsort((rng.random(len(workers)), community[workers] // 4, city[workers]))]
        w_pos, w_sizes = _cut_into_groups(np.arange(len(w_order)), city[w_order].astype(np.int64),
                                          work_group_size, 3, 200, rng)
        keep = w_pos >= 0
        group_lists_members.append(w_order[keep])
        group_lists_ids.append(w_pos[keep] + next_id)
        group_kind.append(np.full(len(w_sizes), 1, dtype=np.int8))
        next_id += len(w_sizes)
    n_circles = int(round(n * friend_groups_per_user))
    degree = np.diff(indptr)
    hosts = _sample_by_weight(np.maximum(degree, 0).astype(float) * (degree >= 2), n_circles, rng)
    if len(hosts):
        want = np.minimum(np.clip(np.round(rng.lognormal(np.log(8), 0.5, len(hosts))), 2, 40).astype(np.int64),
                          degree[hosts])
        host_rep = np.repeat(hosts, want)
        picks = indices[indptr[host_rep] + (rng.random(len(host_rep)) * degree[host_rep]).astype(np.int64)]
        circle = np.repeat(np.arange(len(hosts)), want)
        members = np.concatenate([hosts, picks])
        circle_ids = np.concatenate([np.arange(len(hosts)), circle])
        codes = np.sort(circle_ids * n + members)
        codes = codes[run_starts(codes)]
        circle_ids, members = codes // n, codes % n
        sizes = np.bincount(circle_ids, minlength=len(hosts))
        ok = sizes[circle_ids] >= 3
        relabel = np.cumsum(sizes >= 3) - 1
        group_lists_members.append(members[ok])
        group_lists_ids.append(relabel[circle_ids[ok]] + next_id)
        group_kind.append(np.full(int((sizes >= 3).sum()), 2, dtype=np.int8))
    all_members = np.concatenate(group_lists_members)
    all_ids = np.concatenate(group_lists_ids)
    order = np.lexsort((all_members, all_ids))
    all_members, all_ids = all_members[order], all_ids[order]
    kinds = np.concatenate(group_kind)
    g_indptr = np.zeros(len(kinds) + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_ids, minlength=len(kinds)), out=g_indptr[1:])
    names = CITY_NAMES[:n_cities] + tuple(f"City {i}" for i in range(len(CITY_NAMES), n_cities))
    return SocialGraph(indptr, indices, city, names, g_indptr, all_members.astype(np.int32), kinds,
                       urban=city < min(4, n_cities))


def _clique_pairs(members: np.ndarray, ids: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs inside each group, for members sorted by group id."""
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    pos_in = np.arange(len(members)) - start[ids]
    size_of = sizes[ids]
    reps = size_of - pos_in - 1
    first = np.repeat(np.arange(len(members)), reps)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(reps) - reps, reps) + 1
    return members[first].astype(np.int64), members[first + offset].astype(np.int64)


def _sample_by_weight(weight: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with replacement in proportion to ``weight``."""
    cum = np.cumsum(weight, dtype=np.float64)
    if size == 0 or cum[-1] <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.minimum(searchsorted_in_order(cum, rng.random(size) * cum[-1], side="right"), len(weight) - 1)


def _sample_within(groups: np.ndarray, weight: np.ndarray, wanted: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """For each entry of ``wanted`` (a group label), a user of that group drawn in proportion to ``weight``."""
    if len(wanted) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(len(groups)), groups))
    sorted_groups = groups[order]
    cum = np.cumsum(weight[order], dtype=np.float64)
    first = searchsorted_in_order(sorted_groups, wanted, side="left")
    last = searchsorted_in_order(sorted_groups, wanted, side="right") - 1
    base = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    total = cum[last] - base
    pos = searchsorted_in_order(cum, base + rng.random(len(wanted)) * total, side="right")
    return order[np.clip(pos, first, last)]
