"""The activation headline: the share of receivers active within the horizon, overall and by first receipt.

This is the figure the mission is about ("of those who received, 80% became active within three months"),
with its 95% interval, the median time to activation and the restricted mean, for all receivers and split
by the kind of the first receipt and by group versus one-to-one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from adoption.analysis.survival import ActivationCurve

__all__ = ["ActivationHeadline", "activation_headline"]


@dataclass(frozen=True)
class ActivationHeadline:
    """The headline rows (see :func:`activation_headline`); each a row of :attr:`ActivationCurve.headline_`."""

    horizon: float
    definition: str
    organic_adopters: int
    overall: pd.Series
    by_first_kind: pd.DataFrame
    by_group: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the overall record with ``by_first_kind`` and ``by_group_or_direct`` lists.

        Examples
        --------
        >>> from adoption import load_example
        >>> from adoption.analysis.activation import activation_table
        >>> out = activation_headline(activation_table(load_example())).to_dict()
        >>> out["cohort"], out["horizon_days"], 0 < out["cumulative_incidence"] < 1
        ('all receivers', 90.0, True)
        """
        group_names = {"True": "first receipt in a group", "False": "first receipt one-to-one"}
        return {
            **self._record(self.overall, "all receivers"),
            "definition": self.definition,
            "organic_adopters": self.organic_adopters,
            "by_first_kind": [self._record(r, f"first receipt: {r['group']}") for _, r in self.by_first_kind.iterrows()],
            "by_group_or_direct": [self._record(r, group_names.get(r["group"], "first receipt: unknown"))
                                   for _, r in self.by_group.iterrows()],
        }

    def _record(self, row: pd.Series, cohort: str) -> dict[str, Any]:
        median = row["median_days"]
        return {"cohort": cohort, "horizon_days": float(self.horizon), "n": int(row["n"]),
                "events": int(row["events"]), "cumulative_incidence": round(float(row["cumulative_incidence"]), 6),
                "ci_low": round(float(row["ci_low"]), 6), "ci_high": round(float(row["ci_high"]), 6),
                "median_days": None if not np.isfinite(median) else round(float(median), 3),
                "restricted_mean_days": round(float(row["restricted_mean_days"]), 3)}


def activation_headline(table: pd.DataFrame, horizon: float = 90.0, definition: str = "first_action"
                        ) -> ActivationHeadline:
    """Kaplan-Meier cumulative incidence at ``horizon`` for all receivers, by first kind and by group.

    Parameters
    ----------
    table : DataFrame
        An activation table (:func:`~adoption.analysis.activation.activation_table`).
    horizon : float, default 90
        Days after the first receipt.
    definition : str, default "first_action"
        The definition the table was built with (recorded, not recomputed).

    Examples
    --------
    >>> from adoption import load_example
    >>> from adoption.analysis.activation import activation_table
    >>> table = activation_table(load_example())
    >>> month, quarter = activation_headline(table, horizon=30), activation_headline(table, horizon=90)
    >>> bool(month.overall["cumulative_incidence"] < quarter.overall["cumulative_incidence"])
    True
    """
    return ActivationHeadline(
        horizon=float(horizon), definition=definition,
        organic_adopters=int((table["cohort"] == "organic").sum()),
        overall=ActivationCurve(horizon=horizon).fit(table).headline_.iloc[0],
        by_first_kind=ActivationCurve(horizon=horizon).fit(table, by="first_kind").headline_,
        by_group=ActivationCurve(horizon=horizon).fit(table, by="first_group").headline_,
    )
