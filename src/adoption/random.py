"""Seeds and random generators: randomness only ever comes from a seed the caller passes.

Every function in ``adoption`` that draws random numbers takes ``seed=`` (an int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`) and never touches numpy's or
Python's global random state.
"""

from __future__ import annotations

import numpy as np

from adoption.errors import ParameterError

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None

__all__ = ["SeedLike", "as_generator", "spawn_seeds"]


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a numpy Generator for ``seed``; a Generator is passed through unchanged.

    Examples
    --------
    >>> int(as_generator(7).integers(100)) == int(as_generator(7).integers(100))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, int | np.integer | np.random.SeedSequence):
        if isinstance(seed, int | np.integer) and seed < 0:
            raise ParameterError(f"seed: expected a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    raise ParameterError(f"seed: expected an int or a numpy Generator, got {type(seed).__name__}")


def spawn_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent integer seeds derived from ``seed`` with :meth:`SeedSequence.spawn`.

    Examples
    --------
    >>> spawn_seeds(1, 3) == spawn_seeds(1, 3)
    True
    >>> len(set(spawn_seeds(1, 100)))
    100
    """
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]
