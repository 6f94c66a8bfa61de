"""The activation table's columns and dtypes, and the definitions of activation: shared by both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.errors import ParameterError
from adoption.log.contract import DEFINITIONS

__all__ = ["COLUMNS", "HEADLINE_COLUMNS", "check_definition", "typed_table"]


#: Columns of the activation table, in order.
COLUMNS: tuple[str, ...] = (
    "user_id", "cohort", "exposed_at", "entry", "duration", "event", "event_type", "activated_at",
    "first_kind", "first_group", "first_amount_cents", "senders_7d", "n_friends", "paying_friends", "n_groups", "city",
    "merchants_nearby", "tenure_days",
)

#: The columns a headline needs (who is at risk, when, and the first receipt): the table without covariates.
HEADLINE_COLUMNS: tuple[str, ...] = COLUMNS[:COLUMNS.index("senders_7d")]


def check_definition(definition: str, k: int, d: float) -> None:
    """Refuse an unknown definition, or ``k``/``d`` that cannot define ``k_payments``."""
    if definition not in DEFINITIONS:
        raise ParameterError(f"definition: expected one of {', '.join(DEFINITIONS)}, got {definition!r}")
    if not (isinstance(k, int | np.integer) or float(k).is_integer()) or k < 1 or not (np.isfinite(d) and d > 0):
        raise ParameterError(f"k, d: expected k >= 1 payments within d > 0 days, got k={k}, d={d}")


def typed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The same dtypes from both engines (of the columns the table has); text that comes as categories (a
    table counted on a grid) stays so."""
    return table.astype({column: dtype for column, dtype in {
        "user_id": "int64", "cohort": "string", "exposed_at": "datetime64[ns]", "entry": "float64",
        "duration": "float64", "event": "bool", "event_type": "int64", "activated_at": "datetime64[ns]",
        "first_kind": "string", "first_group": "boolean", "first_amount_cents": "Int64", "senders_7d": "Int64",
        "n_friends": "Int64", "paying_friends": "Int64", "n_groups": "Int64", "city": "string", "merchants_nearby": "Int64",
        "tenure_days": "float64",
    }.items() if column in table and not isinstance(table[column].dtype, pd.CategoricalDtype)})
