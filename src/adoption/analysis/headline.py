"""The activation headline: the share of receivers active within the horizon, overall and by first receipt.

This is the figure the mission is about ("of those who received, 80% became active within three months"),
with its 95% interval, for all receivers and split by the kind of the first receipt and by group versus
one-to-one. The headline ``cumulative_incidence`` is the share who activated *before leaving*
(Aalen–Johansen, leaving a competing event): the share of receivers who did become active.
``cumulative_incidence_no_leaving`` (1 − Kaplan–Meier, leaving as censoring) is the share who would have
activated if nobody had left; the median and the restricted mean are read from that curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from adoption.analysis.survival import WEIGHT, ActivationCurve, CompetingRisks, receipt_cohort, represented

__all__ = ["DEFINITION_MEANINGS", "ActivationHeadline", "activation_headline", "headline_by_definition"]

#: What each activation definition measures, in one sentence (the conversion report and the CLI print it).
DEFINITION_MEANINGS: dict[str, str] = {
    "first_action": "the first own payment action: a merchant payment, a red packet sent or a transfer sent (often a packet straight back)",
    "first_action_no_reciprocity": "the first own action that is not sending back, within 24 hours, to a group or a person the user just received from",
    "first_payment": "the first payment to a merchant: the wallet used as a wallet",
    "card_binding": "a bank card bound (needed to spend or withdraw received money; some bind only to withdraw)",
    "k_payments": "k merchant payments within d days (default 3 in 30): a habit, not a try",
}


#: The columns of an activation table the headline's curves read.
CURVE_COLUMNS: tuple[str, ...] = ("cohort", "entry", "duration", "event", "event_type", "first_kind", "first_group")


def _receivers(table: pd.DataFrame) -> pd.DataFrame:
    """The receivers at risk, with only :data:`CURVE_COLUMNS`: each fit selects and copies rows of this
    narrow frame, not of the whole table (ten fits of ten million rows); its text columns as categories,
    which each fit compares and groups by a code instead of a string per row."""
    receivers = receipt_cohort(table[[c for c in (*CURVE_COLUMNS, WEIGHT) if c in table.columns]])
    text = [c for c in ("cohort", "first_kind") if c in receivers and not isinstance(receivers[c].dtype,
                                                                                       pd.CategoricalDtype)]
    return receivers.astype(dict.fromkeys(text, "category")) if text else receivers


@dataclass(frozen=True)
class ActivationHeadline:
    """The headline rows (see :func:`activation_headline`); each a row of :attr:`ActivationCurve.headline_`."""

    horizon: float
    definition: str
    organic_adopters: int
    overall: pd.Series
    by_first_kind: pd.DataFrame
    by_group: pd.DataFrame
    competing: dict[str, pd.DataFrame]

    def table(self) -> pd.DataFrame:
        """The overall headline, both ways: before leaving (the headline) and if nobody left.

        Examples
        --------
        >>> from adoption import load_example
        >>> from adoption.analysis.activation import activation_table
        >>> activation_headline(activation_table(load_example())).table().index.tolist()
        ['activated before leaving (Aalen-Johansen)', 'if nobody left (1 - Kaplan-Meier)']
        """
        r = self.to_dict()
        return pd.DataFrame({
            "cumulative_incidence": [r["cumulative_incidence"], r["cumulative_incidence_no_leaving"]],
            "ci_low": [r["ci_low"], r["no_leaving_ci_low"]], "ci_high": [r["ci_high"], r["no_leaving_ci_high"]],
            "left_first": [r["leaving"], None]},
            index=["activated before leaving (Aalen-Johansen)", "if nobody left (1 - Kaplan-Meier)"])

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
        overall = self.competing["overall"].iloc[0]
        by_kind = self.competing["by_first_kind"].set_index("group")
        by_group = self.competing["by_group"].set_index("group")
        return {
            **self._record(self.overall, overall, "all receivers"),
            "definition": self.definition,
            "organic_adopters": self.organic_adopters,
            "by_first_kind": [self._record(r, by_kind.loc[r["group"]], f"first receipt: {r['group']}")
                              for _, r in self.by_first_kind.iterrows()],
            "by_group_or_direct": [self._record(r, by_group.loc[r["group"]],
                                                group_names.get(r["group"], "first receipt: unknown"))
                                   for _, r in self.by_group.iterrows()],
        }

    def _record(self, km: pd.Series, aj: pd.Series, cohort: str) -> dict[str, Any]:
        median = km["median_days"]
        return {"cohort": cohort, "horizon_days": float(self.horizon), "n": int(km["n"]), "events": int(km["events"]),
                "cumulative_incidence": round(float(aj["cumulative_incidence"]), 6),
                "ci_low": round(float(aj["ci_low"]), 6), "ci_high": round(float(aj["ci_high"]), 6),
                "leaving": round(float(aj["leaving"]), 6),
                "cumulative_incidence_no_leaving": round(float(km["cumulative_incidence"]), 6),
                "no_leaving_ci_low": round(float(km["ci_low"]), 6), "no_leaving_ci_high": round(float(km["ci_high"]), 6),
                "median_days": None if not np.isfinite(median) else round(float(median), 3),
                "restricted_mean_days": round(float(km["restricted_mean_days"]), 3)}


def activation_headline(table: pd.DataFrame, horizon: float = 90.0, definition: str = "first_action"
                        ) -> ActivationHeadline:
    """The share of receivers active within ``horizon`` (before leaving, and if nobody left), for all
    receivers, by first kind and by group.

    Parameters
    ----------
    table : DataFrame
        An activation table (:func:`~adoption.analysis.activation.activation_table`), or one counted on the
        fits' grid (:func:`~adoption.analysis.activation_sql.headline_tables_duckdb`).
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
    # the columns the curves read, once: each fit below selects and copies rows of this narrow frame only
    receivers = _receivers(table)

    def curve() -> ActivationCurve:  # only the horizon is read: fitted up to it (the same figures, faster)
        return ActivationCurve(horizon=horizon, follow_up="horizon")

    def competing() -> CompetingRisks:
        return CompetingRisks(horizon=horizon, follow_up="horizon")

    return ActivationHeadline(
        horizon=float(horizon), definition=definition,
        organic_adopters=represented(table[(table["cohort"] == "organic").to_numpy(dtype=bool, na_value=False)]),
        overall=curve().fit(receivers).headline_.iloc[0],
        by_first_kind=curve().fit(receivers, by="first_kind").headline_,
        by_group=curve().fit(receivers, by="first_group").headline_,
        competing={"overall": competing().fit(receivers).headline_,
                   "by_first_kind": competing().fit(receivers, by="first_kind").headline_,
                   "by_group": competing().fit(receivers, by="first_group").headline_},
    )


def headline_by_definition(source: Any, horizon: float = 90.0, *, engine: str = "pandas", k: int = 3,
                           d: float = 30.0, tables: dict[str, pd.DataFrame | None] | None = None,
                           memory_limit: str | None = None, validate: bool = True,
                           headlines: dict[str, ActivationHeadline] | None = None) -> pd.DataFrame:
    """The headline under every activation definition the log supports, side by side, with what each measures.

    Parameters
    ----------
    source : EventLog or path
        The log (a folder with ``engine="duckdb"``).
    horizon : float, default 90
    engine : {"pandas", "duckdb"}
    k, d : of the ``k_payments`` definition.
    tables : dict, optional
        Activation tables already built, by definition (not built again); or counted on the fits' grid
        (:func:`~adoption.analysis.activation_sql.headline_tables_duckdb`). A definition mapped to None
        was tried already and the log has no table for it: it is left out, not tried again.
    memory_limit : str, optional
        DuckDB's memory budget (``engine="duckdb"``).
    validate : bool, default True
        With ``engine="duckdb"``: check every contract rule first (False when the log was checked already).
        The DuckDB engine opens the log once and builds every missing table in one pass, counted on the
        fits' grid when the cohort is big (:func:`~adoption.analysis.activation_sql.headline_tables_duckdb`).
    headlines : dict, optional
        Headlines already fitted at this horizon, by definition (:func:`activation_headline`): their overall
        rows are used, not fitted again.

    Returns
    -------
    DataFrame indexed by definition: ``meaning``, ``n``, ``cumulative_incidence`` (before leaving) with
    ``ci_low``/``ci_high``, ``cumulative_incidence_no_leaving``; a definition whose table the log lacks is
    left out.

    Examples
    --------
    >>> from adoption import load_example
    >>> table = headline_by_definition(load_example())
    >>> bool(table.loc["first_action", "cumulative_incidence"] > table.loc["k_payments", "cumulative_incidence"])
    True
    """
    from adoption.errors import InputError, ParameterError
    from adoption.log.contract import DEFINITIONS

    if engine not in ("pandas", "duckdb"):
        raise ParameterError(f"engine: expected 'pandas' or 'duckdb', got {engine!r}")
    tables = dict(tables or {})
    known = {definition: headline for definition, headline in (headlines or {}).items()
             if headline.horizon == float(horizon)}
    missing = [definition for definition in DEFINITIONS if definition not in tables and definition not in known]
    if missing and engine == "duckdb":  # what every missing headline reads, from one opening of the log
        from adoption.analysis.activation_sql import headline_tables_duckdb

        tables.update(headline_tables_duckdb(source, missing, k=k, d=d, memory_limit=memory_limit,
                                             validate=validate, optional=missing,
                                             until=dict.fromkeys(missing, horizon)))
    elif missing:  # every missing table from one pass over the receipts
        from adoption.analysis.activation import activation_tables

        tables.update(activation_tables(source, missing, k=k, d=d, covariates=(), optional=missing))
    rows = {}
    for definition in DEFINITIONS:
        if definition in known:
            headline = known[definition]
            rows[definition] = _definition_row(definition, headline.competing["overall"].iloc[0], headline.overall,
                                               k, d)
            continue
        try:
            table = tables.get(definition)
            if table is None:
                continue  # the log has no table for it
            # only the horizon is read: fitted up to it (the same figures, faster)
            receivers = _receivers(table)
            aj = CompetingRisks(horizon=horizon, follow_up="horizon").fit(receivers).headline_.iloc[0]
        except InputError:
            continue
        km = ActivationCurve(horizon=horizon, follow_up="horizon").fit(receivers).headline_.iloc[0]
        rows[definition] = _definition_row(definition, aj, km, k, d)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("definition")


def _definition_row(definition: str, aj: pd.Series, km: pd.Series, k: int, d: float) -> dict[str, Any]:
    """One row of :func:`headline_by_definition` from the overall Aalen–Johansen and Kaplan–Meier rows."""
    return {"meaning": DEFINITION_MEANINGS[definition] if definition != "k_payments" else
            DEFINITION_MEANINGS[definition].replace("(default 3 in 30)", f"({k} in {d:g})"),
            "n": int(aj["n"]), "cumulative_incidence": float(aj["cumulative_incidence"]),
            "ci_low": float(aj["ci_low"]), "ci_high": float(aj["ci_high"]),
            "cumulative_incidence_no_leaving": float(km["cumulative_incidence"])}
