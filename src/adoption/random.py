"""Seeds and random generators: randomness only ever comes from a seed the caller passes.

Every function in ``adoption`` that draws random numbers takes ``seed=`` (an int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`) and never touches numpy's or
Python's global random state.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from adoption.errors import ParameterError

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None

__all__ = ["SeedLike", "as_generator", "spawn_seeds", "stepped_poisson"]


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


def stepped_poisson(start: np.ndarray, step_at: np.ndarray, rate: float, factor: float, end: np.ndarray | float,
                    rng: np.random.Generator, max_rounds: int = 200) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Events of independent Poisson processes whose rate steps from ``rate`` to ``rate * factor`` at a time.

    Unit ``i`` starts at ``start[i]``, its rate is multiplied by ``factor`` from ``step_at[i]`` on (``inf``:
    never) and it stops at ``end`` (per unit or one time). Each round yields ``(units, times)``: the next
    event of every unit still running. A wait that crosses the step restarts at the step with the new rate
    (the process is memoryless), so the hazard is exactly piecewise constant.

    Examples
    --------
    >>> rounds = list(stepped_poisson(np.zeros(3), np.full(3, np.inf), 1.0, 1.0, 5.0, as_generator(1)))
    >>> all(bool((t < 5).all()) for _, t in rounds)
    True
    """
    units = np.arange(len(start))
    now = np.asarray(start, dtype=float).copy()
    step = np.asarray(step_at, dtype=float).copy()
    stop = np.broadcast_to(np.asarray(end, dtype=float), now.shape).copy()
    for _round in range(max_rounds):
        rate_now = np.where(now >= step, rate * factor, rate)
        nxt = now + rng.exponential(1.0, len(units)) / rate_now
        crosses = (now < step) & (nxt > step)
        nxt[crosses] = step[crosses] + rng.exponential(1.0, int(crosses.sum())) / (rate * factor)
        running = nxt < stop
        if not running.any():
            return
        units, now, step, stop = units[running], nxt[running], step[running], stop[running]
        yield units, now
