"""The array routines' batch reductions against a sort of all the rows at once."""

import numpy as np
import pytest

from adoption.arrays import PairMinimumByIndex


@pytest.mark.parametrize("seed", range(20))
def test_pair_minimum_by_index_is_the_first_row_of_each_index_in_a_sort_by_index_and_pair(seed):
    rng = np.random.default_rng(seed)
    n, size = int(rng.integers(1, 3000)), int(rng.integers(1, 200))
    index = rng.integers(0, size, n)
    # few distinct keys (many ties on the primary), and rows roughly in order of the primary in half the seeds
    primary = rng.integers(-5, 40, n)
    secondary = rng.integers(-3, 10, n)
    if seed % 2:
        order = np.argsort(primary + rng.integers(0, 8, n), kind="stable")
        index, primary, secondary = index[order], primary[order], secondary[order]
    least = PairMinimumByIndex(size)
    cuts = np.sort(rng.integers(0, n + 1, int(rng.integers(0, 12))))
    for rows in np.split(np.arange(n), cuts):  # batches of any size, empty ones too
        least.update(index[rows], primary[rows], secondary[rows])
    found_index, found_primary, found_secondary = least.result()
    order = np.lexsort((secondary, primary, index))
    first = order[np.r_[True, index[order][1:] != index[order][:-1]]]
    np.testing.assert_array_equal(found_index, index[first])
    np.testing.assert_array_equal(found_primary, primary[first])
    np.testing.assert_array_equal(found_secondary, secondary[first])


def test_pair_minimum_by_index_of_no_rows_is_empty():
    least = PairMinimumByIndex(4)
    least.update(np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert [part.tolist() for part in least.result()] == [[], [], []]
