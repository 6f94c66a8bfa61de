"""Normal (Wald) intervals: the 95% quantile of the standard normal, and an estimate's interval from its
standard error. An interval of this kind assumes the estimate is about normal around the truth (a large
sample); a transformed scale (log hazard ratio, logit) is the caller's to choose and to transform back."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

__all__ = ["Z95", "normal_interval"]

#: The standard normal's 97.5% quantile (``scipy.stats.norm.ppf(0.975)``, one bit from the standard library's
#: ``NormalDist().inv_cdf``): a two-sided 95% interval is the estimate ± Z95 standard errors.
Z95: float = 1.959963984540054

Number = TypeVar("Number", float, np.ndarray)


def normal_interval(value: Number, se: Number, z: float = Z95) -> tuple[Number, Number]:
    """``(value - z se, value + z se)``: the 95% interval by default, elementwise for arrays.

    Examples
    --------
    >>> low, high = normal_interval(0.5, 0.1)
    >>> round(low, 4), round(high, 4)
    (0.304, 0.696)
    >>> [round(float(b), 2) for b in normal_interval(np.array([0.0, 1.0]), np.array([1.0, 0.5]))[1]]
    [1.96, 1.98]
    """
    return value - z * se, value + z * se
