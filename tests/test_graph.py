"""The social-graph generator and networkx interop."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from adoption import SocialGraph, generate_graph
from adoption.errors import ParameterError


@pytest.fixture(scope="module")
def graph() -> SocialGraph:
    return generate_graph(20_000, mean_degree=10, seed=11)


def test_csr_is_symmetric_without_loops_or_duplicates(graph):
    assert graph.indices.dtype == np.int32
    adj = graph.adjacency()
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert adj.max() == 1
    a, b = graph.edges()
    assert (a < b).all() and len(a) == graph.n_edges


def test_degrees_are_heavy_tailed_and_clustered(graph):
    deg = graph.degree
    assert 8 <= deg.mean() <= 12
    assert deg.max() >= 5 * deg.mean()
    assert np.percentile(deg, 99) >= 2.5 * np.median(deg)
    # a random graph with this density would have clustering ~ mean degree / n = 0.0005
    assert graph.clustering(seed=1) > 0.1


def test_friends_live_mostly_in_the_same_city(graph):
    a, b = graph.edges()
    same = (graph.city[a] == graph.city[b]).mean()
    assert same > 0.6


def test_groups_have_realistic_kinds_and_sizes(graph):
    sizes, kinds = graph.group_size, graph.group_kind
    assert set(np.unique(kinds)) == {0, 1, 2}
    family, work, friends = (sizes[kinds == k] for k in (0, 1, 2))
    assert family.min() >= 2 and family.max() <= 10 and 3 <= family.mean() <= 6
    assert work.mean() > family.mean()
    assert friends.min() >= 3
    indptr, groups = graph.user_groups()
    assert indptr[-1] == len(graph.group_members)
    # family members are all friends of each other
    fam = graph.members(int(np.flatnonzero(kinds == 0)[0]))
    assert all(set(fam) - {u} <= set(graph.neighbors(u).tolist()) for u in fam)


def test_same_seed_same_graph():
    g1, g2 = generate_graph(2_000, seed=5), generate_graph(2_000, seed=5)
    assert np.array_equal(g1.indices, g2.indices) and np.array_equal(g1.group_members, g2.group_members)
    assert not np.array_equal(generate_graph(2_000, seed=6).indices[:100], g1.indices[:100])


def test_networkx_round_trip():
    karate = nx.karate_club_graph()
    g = SocialGraph.from_networkx(karate)
    back = g.to_networkx()
    assert nx.is_isomorphic(back, nx.Graph(karate))
    assert g.n_groups > 0 and g.group_size.min() >= 3


def test_edge_list_input():
    g = SocialGraph.from_edges([(0, 1), (1, 0), (1, 2), (2, 2)], n_users=4, groups=[[0, 1, 2]])
    assert g.n_edges == 2 and g.degree.tolist() == [1, 2, 1, 0] and g.n_groups == 1
    with pytest.raises(ParameterError, match="edges"):
        SocialGraph.from_edges([(0, 5)], n_users=3)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="n_users"):
        generate_graph(1)
    with pytest.raises(ParameterError, match="mean_degree"):
        generate_graph(100, mean_degree=0)


def test_searching_in_sorted_order_finds_what_numpy_finds():
    from adoption.arrays import searchsorted_in_order

    rng = np.random.default_rng(2)
    a = np.cumsum(rng.integers(0, 3, 10_000)).astype(float)  # with repeated values
    v = np.concatenate([rng.random(50_000) * a[-1], a[::7]])  # with exact hits
    for side in ("left", "right"):
        np.testing.assert_array_equal(searchsorted_in_order(a, v, side=side), np.searchsorted(a, v, side=side))


@pytest.mark.parametrize("values", ["continuous", "rounded", "beyond_rounding", "huge_and_missing"])
def test_sorting_by_an_int_and_a_float_is_exactly_lexsort(values):
    from adoption.arrays import lexsort_int_float

    rng = np.random.default_rng(3)
    for i in range(300):
        # small arrays go to np.lexsort itself; the fast path's are from 512 rows
        m = int(rng.integers(0, 120)) if i % 3 == 0 else int(rng.integers(512, 2000))
        primary = rng.integers(0, int(rng.integers(1, 25)), m)
        secondary = {"continuous": rng.random(m),
                     "rounded": np.round(rng.random(m), 1),  # ties within a run: broken by position
                     # a huge value beside small ones: the float key cannot keep the small ones apart, and
                     # the check sends them to np.lexsort
                     "beyond_rounding": np.where(rng.random(m) < 0.1, 1e20, rng.random(m)),
                     # a span beyond floats, infinities and NaN (placed last, as np.lexsort places it)
                     "huge_and_missing": rng.choice([-1e308, 1e308, np.inf, np.nan, 0.5], m)}[values]
        np.testing.assert_array_equal(lexsort_int_float(primary, secondary), np.lexsort((secondary, primary)))


def test_the_extreme_of_each_group_is_what_sorting_finds():
    from adoption.arrays import group_extreme

    rng = np.random.default_rng(4)
    keys, values = rng.integers(0, 50, 2_000), np.round(rng.random(2_000), 2)
    order = np.lexsort((values, keys))
    first = np.r_[True, keys[order][1:] != keys[order][:-1]]
    last = np.r_[first[1:], True]
    for which, chosen in (("min", first), ("max", last)):
        found_keys, found = group_extreme(keys, values, which)
        np.testing.assert_array_equal(found_keys, keys[order][chosen])
        np.testing.assert_array_equal(found, values[order][chosen])
    assert [len(a) for a in group_extreme(np.zeros(0, dtype=int), np.zeros(0), "max")] == [0, 0]


def test_degrees_are_computed_once_and_read_only(graph):
    assert graph.degree is graph.degree
    with pytest.raises(ValueError):
        graph.degree[0] = 0
