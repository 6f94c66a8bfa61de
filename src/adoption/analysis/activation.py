"""The activation table: one row per user at risk of activating after their first receipt.

This is where an event log becomes time-to-event data, following the conventions in the design notes:

* **time zero** — the user's first receipt: the earlier of their first red-packet claim and their first
  transfer received (later receipts do not move it);
* **the event** — the user's first own payment action (``definition="first_action"``: a payment to a
  merchant, a red packet sent or a transfer sent), or the first card binding (``"card_binding"``), or the
  first time the user has made ``k`` payments within ``d`` days (``"k_payments"``);
* **organic adopters** — users whose event comes before any receipt (or who never received) — are not
  at risk; they are kept in the table with ``cohort="organic"`` for comparisons;
* **censoring** — at the end of the observation window or when the user leaves (``left_at``); leaving is
  also recorded as a competing event (``event_type == 2``);
* **delayed entry** — a user first exposed before the window starts enters the risk set late
  (``entry > 0``, left truncation); one who also activated before the window was never observed at risk
  and is dropped;
* **covariates known at time zero** — first receipt kind (red packet or transfer), group or one-to-one,
  amount, friends, friends who already pay, groups, city, accepting merchants in the city, tenure; plus ``senders_7d``, the distinct
  senders in the first 7 days (a landmark covariate: it is only known 7 days after time zero).

Two engines give identical tables: ``"pandas"`` for logs in memory and ``"duckdb"``, which runs the same
logic as SQL over Parquet files, for logs that do not fit in memory.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from adoption.analysis.activation_columns import COLUMNS, HEADLINE_COLUMNS, check_definition, typed_table
from adoption.analysis.events import activation_times, as_days, first_receipts, receipts
from adoption.errors import InputError, ParameterError
from adoption.log.contract import DEFINITIONS, Definition
from adoption.log.eventlog import EventLog, read_eventlog

__all__ = ["COLUMNS", "DEFINITIONS", "activation_table", "activation_tables"]


def activation_table(log: EventLog | str | os.PathLike[str], definition: Definition = "first_action", *,
                     k: int = 3, d: float = 30.0, engine: Literal["pandas", "duckdb"] = "pandas",
                     memory_limit: str | None = None, validate: bool = True, covariates: bool = True) -> pd.DataFrame:
    """One row per receiver at risk (``cohort="receipt"``) and per organic adopter (``cohort="organic"``).

    Parameters
    ----------
    log : EventLog or path
        The event log, or (for ``engine="duckdb"``) the folder of its Parquet/CSV files.
    definition : {"first_action", "card_binding", "k_payments"}
        What counts as activation.
    k, d : int, float
        For ``"k_payments"``: activation is the first time the user has made ``k`` payments within ``d`` days.
    engine : {"pandas", "duckdb"}
        Where the work is done; both give the same table.
    memory_limit : str, optional
        DuckDB's memory budget (such as "8GB"; default :data:`adoption.log.sql.DEFAULT_MEMORY_LIMIT`), beyond
        which it spills to disk; a query that cannot fit raises MemoryError naming it.
    validate : bool, default True
        With ``engine="duckdb"`` and a folder: check every contract rule first (types are always checked).
    covariates : bool, default True
        False: only the columns a headline reads (:data:`~adoption.analysis.activation_columns.HEADLINE_COLUMNS`:
        who is at risk, when, and the first receipt), without measuring the covariates.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`. Times in days: ``entry`` (delayed entry, 0 unless exposed before the
        window), ``duration`` (from time zero to the event or censoring), ``event`` (activated while
        observed), ``event_type`` (0 censored, 1 activated, 2 left first). For organic adopters
        ``duration`` is NaN and ``activated_at`` their activation.

    Examples
    --------
    >>> from adoption import load_example
    >>> table = activation_table(load_example())
    >>> sorted(table["cohort"].unique())
    ['organic', 'receipt']
    >>> bool((table.loc[table.cohort == "receipt", "duration"] >= 0).all())
    True
    """
    check_definition(definition, k, d)
    if engine == "duckdb":
        from adoption.analysis.activation_sql import activation_table_duckdb

        return activation_table_duckdb(log, definition, k=int(k), d=float(d), memory_limit=memory_limit,
                                       validate=validate, covariates=covariates)
    if engine != "pandas":
        raise ParameterError(f"engine: expected 'pandas' or 'duckdb', got {engine!r}")
    return activation_tables(log, [definition], k=k, d=d, covariates=[definition] if covariates else [])[definition]


def activation_tables(log: EventLog | str | os.PathLike[str], definitions: Sequence[str], *, k: int = 3,
                      d: float = 30.0, covariates: Collection[str] | None = None,
                      optional: Collection[str] = ()) -> dict[str, pd.DataFrame]:
    """The activation tables of several definitions (pandas engine), sharing their receipts: every receipt
    and each receiver's first are found once, not once per definition (the DuckDB engine's counterpart is
    :func:`~adoption.analysis.activation_sql.activation_tables_duckdb`).

    Parameters
    ----------
    log : EventLog or path
        The log (a folder is read and checked: :func:`~adoption.log.eventlog.read_eventlog`).
    definitions : sequence of str
        Definitions of activation (:data:`adoption.log.contract.DEFINITIONS`).
    k, d : of the ``k_payments`` definition.
    covariates : collection of str, optional
        The definitions whose tables carry the covariates; the others have only the columns of
        :data:`~adoption.analysis.activation_columns.HEADLINE_COLUMNS`, all a headline reads. Default: every
        definition.
    optional : collection of str, default ()
        Definitions left out where the log cannot define them (it lacks their table, or has no receipts);
        any other is refused with the reason.

    Returns
    -------
    dict of str to DataFrame
        The table of each definition, in the order asked.

    Examples
    --------
    >>> from adoption import load_example
    >>> tables = activation_tables(load_example(), ["first_action", "card_binding"], covariates=["first_action"])
    >>> [len(t.columns) for t in tables.values()]
    [18, 11]
    >>> tables["card_binding"].equals(activation_table(load_example(), "card_binding", covariates=False))
    True
    """
    wanted = list(dict.fromkeys(definitions))
    for definition in wanted:
        check_definition(definition, k, d)
    if not isinstance(log, EventLog):
        log = read_eventlog(Path(log))
    with_covariates = set(wanted if covariates is None else covariates)
    try:
        received = receipts(log)
    except InputError:  # (no receipts: no definition has a table)
        if set(wanted) <= set(optional):
            return {}
        raise
    first = first_receipts(received)
    out = {}
    for definition in wanted:
        try:
            out[definition] = _pandas_table(log, definition, k, d, definition in with_covariates,
                                            received=received, first=first)
        except InputError:
            if definition not in optional:
                raise
    return out


# ------------------------------------------------------------------ pandas
def _pandas_table(log: EventLog, definition: str, k: int, d: float, covariates: bool, received: pd.DataFrame,
                  first: pd.DataFrame) -> pd.DataFrame:
    """One definition's table, from the log's receipts and each receiver's first (:func:`receipts`,
    :func:`first_receipts`)."""
    window_start, window_end = log.window
    activated = activation_times(log, definition, k, d)
    users = log.users.set_index("user_id")

    everyone = first.index.union(activated.index)
    exposed = first["t"].reindex(everyone)
    act = activated.reindex(everyone)
    left = users["left_at"].reindex(everyone) if "left_at" in users else pd.Series(pd.NaT, index=everyone)
    table = pd.DataFrame(index=everyone)
    table["exposed_at"] = exposed
    table["activated_at"] = act
    organic = act.notna() & (exposed.isna() | (act < exposed))
    gone_before = left <= exposed
    never_at_risk = (exposed < window_start) & (act < window_start)
    at_risk = exposed.notna() & ~organic & ~gone_before & ~never_at_risk
    censor = pd.Series(window_end, index=everyone).where(~(left < window_end), left)
    event = at_risk & (act <= censor)
    stop = act.where(event, censor)
    table["entry"] = np.where(exposed < window_start, as_days(window_start - exposed), 0.0)
    table["duration"] = as_days(stop - exposed)
    table["event"] = event.to_numpy()
    left_first = ~event & left.notna() & (left < window_end)
    table["event_type"] = np.where(event, 1, np.where(left_first, 2, 0)).astype(np.int64)
    table["cohort"] = np.where(organic, "organic", "receipt")
    table = table[at_risk | organic].copy()
    org = (table["cohort"] == "organic").to_numpy()
    table.loc[org, ["entry", "duration"]] = np.nan
    table.loc[org, "event"] = False
    table.loc[org, "event_type"] = 0
    # covariates are measured at time zero (at activation for organic adopters never exposed)
    t_cov = table["exposed_at"].fillna(table["activated_at"])

    table["first_kind"] = first["kind"].reindex(table.index)
    table["first_group"] = first["group"].reindex(table.index).astype("boolean")
    table["first_amount_cents"] = first["amount"].reindex(table.index).astype("Int64")
    if not covariates:
        return _by_user(table, HEADLINE_COLUMNS)
    # distinct senders in the first 7 days
    r = received[["user_id", "t", "sender"]].merge(first["t"].rename("t0"), left_on="user_id", right_index=True)
    in_week = r[(r["t"] < r["t0"] + pd.Timedelta(days=7)) & r["sender"].notna()]
    senders = in_week.groupby("user_id")["sender"].nunique()
    has_senders = received["sender"].notna().any()
    table["senders_7d"] = (senders.reindex(table.index).fillna(0).astype("Int64") if has_senders
                           else pd.array([pd.NA] * len(table), dtype="Int64"))
    table.loc[table["exposed_at"].isna(), "senders_7d"] = pd.NA
    table["n_friends"], table["paying_friends"] = _friends_at(log, t_cov, activated)
    table["n_groups"] = _groups_of(log, table.index)
    table["city"] = users["city"].reindex(table.index).astype("string") if "city" in users else pd.NA
    table["city"] = table["city"].astype("string")
    table["merchants_nearby"] = _merchants_at(log, t_cov, table["city"])
    table["tenure_days"] = as_days(t_cov - users["joined_at"].reindex(table.index))
    return _by_user(table, COLUMNS)


def _by_user(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The table (indexed by user) as rows in user order with ``columns``, typed as both engines type them."""
    table = table.reset_index().rename(columns={"index": "user_id"})
    return typed_table(table.sort_values("user_id", ignore_index=True)[list(columns)])


def _friends_at(log: EventLog, t0: pd.Series, activated: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Friends as of ``t0``, and those of them who had activated before ``t0`` (the wallet's peer value then)."""
    if log.friendships is None:
        missing = pd.Series(pd.NA, index=t0.index, dtype="Int64")
        return missing, missing.copy()
    f = log.friendships
    since = f["since"] if "since" in f else pd.Series(pd.NaT, index=f.index)
    ends = pd.DataFrame({"user_id": np.r_[f["user_a"].to_numpy(), f["user_b"].to_numpy()],
                         "friend": np.r_[f["user_b"].to_numpy(), f["user_a"].to_numpy()],
                         "since": np.r_[since.to_numpy(), since.to_numpy()]})
    ends = ends.merge(t0.rename("t0"), left_on="user_id", right_index=True)
    known = (ends["since"].isna() | (ends["since"] <= ends["t0"])).to_numpy(dtype=bool)
    paying = known & (ends["friend"].map(activated) < ends["t0"]).to_numpy(dtype=bool)

    def count(mask: np.ndarray) -> pd.Series:
        return ends[mask].groupby("user_id").size().reindex(t0.index, fill_value=0).astype("Int64")

    return count(known), count(paying)


def _groups_of(log: EventLog, index: pd.Index) -> pd.Series:
    if log.group_members is None:
        return pd.Series(pd.NA, index=index, dtype="Int64")
    return log.group_members.groupby("user_id").size().reindex(index, fill_value=0).astype("Int64")


def _merchants_at(log: EventLog, t0: pd.Series, city: pd.Series) -> pd.Series:
    m = log.merchants
    if m is None or "city" not in m or city.isna().all():
        return pd.Series(pd.NA, index=t0.index, dtype="Int64")
    out = pd.Series(0, index=t0.index, dtype="Int64")
    out[city.isna()] = pd.NA
    for name, accepts in m.groupby("city")["accepts_from"]:
        times = np.sort(accepts.to_numpy())
        here = (city == name).fillna(False).to_numpy(dtype=bool)
        out[here] = np.searchsorted(times, t0[here].to_numpy(), side="right")
    return out
