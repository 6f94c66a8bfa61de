"""The activation table in SQL, run by DuckDB over Parquet/CSV files (or over an EventLog's frames).

The same definitions as :mod:`adoption.analysis.activation`, written once as SQL so that logs larger than memory
can be turned into an activation table: DuckDB streams the Parquet files and spills to disk. The test
suite checks that both engines give identical tables, row for row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd

from adoption.analysis.activation_columns import COLUMNS, typed_table
from adoption.errors import InputError, InvalidEventLog
from adoption.log.contract import ACTIVITY_TABLES, RECIPROCITY_HOURS, TABLES
from adoption.log.eventlog import EventLog
from adoption.log.sql import SqlLog, memory_limit_setting, open_log, validate_sql

__all__ = ["activation_table_duckdb", "connect_log"]

_DAY_US = "86400000000.0"
W, E = "CAST($w_start AS TIMESTAMP)", "CAST($w_end AS TIMESTAMP)"


def _days(a: str, b: str) -> str:
    """SQL for (a - b) in days, via whole microseconds (as the pandas engine computes it)."""
    return f"((epoch_us({a}) - epoch_us({b})) / {_DAY_US})"


@contextmanager
def connect_log(log: EventLog | str | os.PathLike[str], *, memory_limit: str | None = None,
                validate: bool = True, amount_unit: str = "cents") -> Iterator[SqlLog]:
    """The log opened in DuckDB, one typed view per table; refuses an invalid log like the pandas reader.

    A folder is read in place (``<table>.parquet``, a folder ``<table>/`` of Parquet parts, or
    ``<table>.csv``) and checked by :func:`adoption.log.sql.validate_sql` (types always; every rule unless
    ``validate=False``). An EventLog's frames are registered without copying.
    """
    if isinstance(log, EventLog):

        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'Asia/Shanghai'")
            con.execute(f"SET memory_limit = '{memory_limit_setting(memory_limit)}'")
            sql = SqlLog(con, meta=dict(log.meta))
            for name, frame in log.tables.items():
                con.register(f"frame_{name}", frame)
                present = [c for c in TABLES[name].column_names if c in frame.columns]
                con.execute(f"CREATE TEMP VIEW {name} AS SELECT {', '.join(present)} FROM frame_{name}")
                sql.columns[name] = set(present)
            yield sql
        finally:
            con.close()
        return
    with open_log(log, memory_limit=memory_limit, amount_unit=amount_unit) as sql:
        problems = validate_sql(sql) if validate else sql.problems
        if problems:
            raise InvalidEventLog(problems)
        yield sql


def _window(sql: SqlLog) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = sql.meta.get("window_start"), sql.meta.get("window_end")
    if start is None or end is None:
        parts = [f"SELECT min({c}) AS lo, max({c}) AS hi FROM {name}"
                 for name in (*ACTIVITY_TABLES, "card_bindings") if name in sql.columns
                 for c in TABLES[name].time_columns if c in sql.columns[name]]
        if not parts:
            raise InputError("event log has no timestamped events, so it has no observation window")
        lo, hi = sql.con.execute(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(parts)})").fetchone()
        if lo is None:
            raise InputError("event log has no timestamped events, so it has no observation window")
        start = start or pd.Timestamp(lo).normalize()
        end = end or pd.Timestamp(hi).normalize() + pd.Timedelta(days=1)
    try:
        return pd.Timestamp(str(start)).tz_localize(None), pd.Timestamp(str(end)).tz_localize(None)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"meta.json: window {start!r} .. {end!r} is not a pair of timestamps") from None


def activation_table_duckdb(log: EventLog | str | os.PathLike[str], definition: str, *, k: int = 3,
                            d: float = 30.0, memory_limit: str | None = None, validate: bool = True,
                            amount_unit: str = "cents") -> pd.DataFrame:
    """The activation table computed by DuckDB; see :func:`adoption.analysis.activation.activation_table`.

    A folder is validated through DuckDB first (see :func:`connect_log`), so an invalid log is refused
    with the same problems as the pandas engine gives, without loading it into memory. Text ids are
    mapped to the same dense codes as :func:`adoption.log.eventlog.encode_ids` gives.
    """

    try:
        with connect_log(log, memory_limit=memory_limit, validate=validate, amount_unit=amount_unit) as sql:
            return typed_table(_activation_sql(sql, definition, int(k), float(d))[list(COLUMNS)])
    except duckdb.OutOfMemoryException:
        raise MemoryError(f"DuckDB needed more than its memory budget ({memory_limit_setting(memory_limit)}) for "
                          "this log; give it more (--memory-limit 8GB) or use a smaller log") from None


def _reciprocity_sends(cols: dict[str, list[str]]) -> str:
    """SQL of the sends that are not a send back to a group or a person received from in the preceding
    :data:`~adoption.log.contract.RECIPROCITY_HOURS` (the ``first_action_no_reciprocity`` rule); '' if none."""
    has = cols.__contains__
    packet_cols = cols.get("red_packets", [])
    grp = "group_id" if "group_id" in packet_cols else "CAST(NULL AS BIGINT)"
    rcp = "recipient_id" if "recipient_id" in packet_cols else "CAST(NULL AS BIGINT)"
    sends, received = [], []
    if has("red_packets"):
        sends.append(f"SELECT sender_id AS user_id, sent_at AS t, {grp} AS grp, {rcp} AS other FROM red_packets")
        if has("red_packet_claims"):
            pgrp = "p.group_id" if "group_id" in packet_cols else "CAST(NULL AS BIGINT)"
            received.append(f"""SELECT c.receiver_id AS user_id, c.claimed_at AS t, {pgrp} AS grp, p.sender_id AS other
                                FROM red_packet_claims c JOIN red_packets p USING (packet_id)""")
    if has("transfers"):
        sends.append("SELECT sender_id AS user_id, sent_at AS t, CAST(NULL AS BIGINT) AS grp, receiver_id AS other "
                     "FROM transfers")
        received.append("SELECT receiver_id AS user_id, sent_at AS t, CAST(NULL AS BIGINT) AS grp, sender_id AS other "
                        "FROM transfers")
    if not sends:
        return ""
    if not received:
        return f"SELECT user_id, t FROM ({' UNION ALL '.join(sends)})"
    window_us = RECIPROCITY_HOURS * 3600e6
    return f"""
        SELECT s.user_id, s.t FROM ({' UNION ALL '.join(sends)}) s
        WHERE NOT EXISTS (
            SELECT 1 FROM ({' UNION ALL '.join(received)}) r
            WHERE r.user_id = s.user_id AND r.t < s.t AND epoch_us(s.t) - epoch_us(r.t) <= {window_us}
              AND ((s.grp IS NOT NULL AND r.grp = s.grp) OR (s.other IS NOT NULL AND r.other = s.other)))"""


def _definition_sql(definition: str, k: int, d: float, has: Callable[[str], bool],
                    cols: dict[str, set[str]]) -> str:
    """The SQL of each user's activation time by the definition's own tables (see ``activation_times``)."""
    if definition == "card_binding":
        if not has("card_bindings"):
            raise InputError("activation: definition 'card_binding' needs the card_bindings table")
        act = "SELECT user_id, min(bound_at) AS t FROM card_bindings GROUP BY user_id"
    elif definition == "k_payments":
        if not has("payments"):
            raise InputError("activation: definition 'k_payments' needs the payments table")
        act = f"""
            SELECT user_id, min(paid_at) AS t FROM (
                SELECT user_id, paid_at,
                       lag(paid_at, {int(k) - 1}) OVER (PARTITION BY user_id ORDER BY paid_at) AS earlier
                FROM payments)
            WHERE earlier IS NOT NULL AND epoch_us(paid_at) - epoch_us(earlier) <= {float(d) * 86400e6}
            GROUP BY user_id"""
    elif definition == "first_payment":
        if not has("payments"):
            raise InputError("activation: definition 'first_payment' needs the payments table")
        act = "SELECT user_id, min(paid_at) AS t FROM payments GROUP BY user_id"
    else:
        parts = [f"SELECT {u} AS user_id, {t} AS t FROM {name}" for name, u, t in
                 (("payments", "user_id", "paid_at"), ("red_packets", "sender_id", "sent_at"),
                  ("transfers", "sender_id", "sent_at")) if has(name)]
        if not parts:
            raise InputError("activation: the log has no payment actions (needs payments, red_packets or transfers)")
        if definition == "first_action_no_reciprocity":
            parts = [p for p in parts if "FROM payments" in p]
            sends = _reciprocity_sends(cols)
            if sends:
                parts.append(sends)
        act = (f"SELECT user_id, min(t) AS t FROM ({' UNION ALL '.join(parts)}) GROUP BY user_id" if parts
               else "SELECT CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS TIMESTAMP) AS t WHERE FALSE")
    return act


def _activation_sql(sql: SqlLog, definition: str, k: int, d: float) -> pd.DataFrame:
    con, cols = sql.con, sql.columns
    if "users" not in cols:
        raise InputError("activation: the log has no users table")
    w_start, w_end = _window(sql)
    window = {"w_start": w_start.to_pydatetime(), "w_end": w_end.to_pydatetime()}
    has = cols.__contains__
    # receipts
    receipt_parts = []
    if has("red_packet_claims"):
        if has("red_packets"):
            grp = "(p.group_id IS NOT NULL)" if "group_id" in cols["red_packets"] else "CAST(NULL AS BOOLEAN)"
            receipt_parts.append(f"""
                SELECT c.receiver_id AS user_id, c.claimed_at AS t, 'red_packet' AS kind, 0 AS kind_order,
                       c.amount_cents AS amount, c.packet_id AS ref, {grp} AS grp, p.sender_id AS sender
                FROM red_packet_claims c LEFT JOIN red_packets p USING (packet_id)""")
        else:
            receipt_parts.append("""
                SELECT receiver_id AS user_id, claimed_at AS t, 'red_packet' AS kind, 0 AS kind_order,
                       amount_cents AS amount, packet_id AS ref, CAST(NULL AS BOOLEAN) AS grp,
                       CAST(NULL AS BIGINT) AS sender
                FROM red_packet_claims""")
    if has("transfers"):
        receipt_parts.append("""
            SELECT receiver_id AS user_id, sent_at AS t, 'transfer' AS kind, 1 AS kind_order,
                   amount_cents AS amount, transfer_id AS ref, FALSE AS grp, sender_id AS sender
            FROM transfers""")
    if not receipt_parts:
        raise InputError("activation: the log has no receipts (needs red_packet_claims or transfers)")
    # receipts stay a view (streamed from the files); the first receipt per user is an aggregate, with
    # the same tie-break as the pandas engine: time, red packet before transfer, larger amount, lower id
    con.execute(f"CREATE TEMP VIEW receipts AS {' UNION ALL '.join(receipt_parts)}")
    con.execute("""
        CREATE TEMP TABLE first_receipt AS
        SELECT user_id, f.t AS t, f.kind AS kind, f.amount AS amount, f.grp AS grp FROM (
            SELECT user_id, min({'t': t, 'ko': kind_order, 'na': -amount, 'ref': ref, 'kind': kind,
                                 'amount': amount, 'grp': grp}) AS f
            FROM receipts GROUP BY user_id)""")
    if con.execute("SELECT count(*) FROM first_receipt").fetchone()[0] == 0:
        raise InputError("activation: the log has no receipts (red_packet_claims and transfers are empty)")
    # activation times: the definition's, and a survey's adoptions (the earlier), or the adoptions alone
    adoptions = "SELECT user_id, adopted_at AS t FROM adoptions" if has("adoptions") else None
    try:
        act = _definition_sql(definition, k, d, has, cols)
    except InputError:
        if adoptions is None:
            raise
        act = adoptions
    else:
        if adoptions is not None:
            act = f"SELECT user_id, min(t) AS t FROM (({act}) UNION ALL ({adoptions})) GROUP BY user_id"
    con.execute(f"CREATE TEMP TABLE activated AS {act}")
    left = "u.left_at" if "left_at" in cols["users"] else "CAST(NULL AS TIMESTAMP)"
    city = "u.city" if "city" in cols["users"] else "CAST(NULL AS VARCHAR)"
    con.execute(f"""
        CREATE TEMP TABLE base AS
        WITH everyone AS (SELECT user_id FROM first_receipt UNION SELECT user_id FROM activated),
        joined AS (
            SELECT e.user_id, f.t AS exposed_at, a.t AS activated_at, {left} AS left_at, {city} AS city,
                   u.joined_at, f.kind AS first_kind, f.grp AS first_group, f.amount AS first_amount_cents
            FROM everyone e LEFT JOIN first_receipt f USING (user_id) LEFT JOIN activated a USING (user_id)
            LEFT JOIN users u USING (user_id)),
        flags AS (
            SELECT *,
                coalesce(activated_at IS NOT NULL AND (exposed_at IS NULL OR activated_at < exposed_at), FALSE)
                    AS organic,
                coalesce(left_at <= exposed_at, FALSE) AS gone_before,
                coalesce(exposed_at < {W} AND activated_at < {W}, FALSE) AS never_at_risk,
                CASE WHEN coalesce(left_at < {E}, FALSE) THEN left_at ELSE {E} END AS censor
            FROM joined),
        risk AS (
            SELECT *, exposed_at IS NOT NULL AND NOT organic AND NOT gone_before AND NOT never_at_risk AS at_risk
            FROM flags),
        ev AS (SELECT *, coalesce(at_risk AND activated_at <= censor, FALSE) AS event FROM risk)
        SELECT user_id,
               CASE WHEN organic THEN 'organic' ELSE 'receipt' END AS cohort,
               exposed_at,
               CASE WHEN organic THEN NULL WHEN exposed_at < {W} THEN {_days(W, 'exposed_at')} ELSE 0.0 END
                   AS entry,
               CASE WHEN organic THEN NULL
                    ELSE {_days('CASE WHEN event THEN activated_at ELSE censor END', 'exposed_at')} END
                   AS duration,
               event AND NOT organic AS event,
               CASE WHEN organic THEN 0 WHEN event THEN 1
                    WHEN left_at IS NOT NULL AND left_at < {E} THEN 2 ELSE 0 END AS event_type,
               activated_at, first_kind, first_group, first_amount_cents, city, joined_at,
               coalesce(exposed_at, activated_at) AS t_cov
        FROM ev WHERE at_risk OR organic""", window)
    # covariates by joins and aggregates (no per-row subqueries), so big logs stream
    joins, cols_sql = [], []
    if con.execute("SELECT count(*) FROM (SELECT sender FROM receipts WHERE sender IS NOT NULL LIMIT 1)"
                   ).fetchone()[0] > 0:
        con.execute("""CREATE TEMP TABLE senders AS
            SELECT r.user_id, count(DISTINCT r.sender) AS n FROM receipts r JOIN first_receipt f USING (user_id)
            WHERE r.sender IS NOT NULL AND r.t < f.t + INTERVAL 7 DAY GROUP BY r.user_id""")
        joins.append("LEFT JOIN senders s ON s.user_id = b.user_id")
        cols_sql.append("CASE WHEN b.exposed_at IS NULL THEN NULL ELSE coalesce(s.n, 0) END AS senders_7d")
    else:
        cols_sql.append("CAST(NULL AS BIGINT) AS senders_7d")
    if has("friendships"):
        since = "since" if "since" in cols["friendships"] else "CAST(NULL AS TIMESTAMP)"
        con.execute(f"""CREATE TEMP TABLE ends AS
            SELECT e.user_id, e.friend, e.since, b.t_cov FROM (
                SELECT user_a AS user_id, user_b AS friend, {since} AS since FROM friendships
                UNION ALL SELECT user_b, user_a, {since} FROM friendships) e
            JOIN base b USING (user_id) WHERE e.since IS NULL OR e.since <= b.t_cov""")
        con.execute("CREATE TEMP TABLE friends AS SELECT user_id, count(*) AS n FROM ends GROUP BY user_id")
        joins.append("LEFT JOIN friends fr ON fr.user_id = b.user_id")
        cols_sql.append("coalesce(fr.n, 0) AS n_friends")
        # friends (as of time zero) who had activated before it
        con.execute("""CREATE TEMP TABLE paying AS
            SELECT e.user_id, count(*) AS n FROM ends e JOIN activated a ON a.user_id = e.friend
            WHERE a.t < e.t_cov GROUP BY e.user_id""")
        joins.append("LEFT JOIN paying pf ON pf.user_id = b.user_id")
        cols_sql.append("coalesce(pf.n, 0) AS paying_friends")
    else:
        cols_sql.append("CAST(NULL AS BIGINT) AS n_friends")
        cols_sql.append("CAST(NULL AS BIGINT) AS paying_friends")
    if has("group_members"):
        con.execute("CREATE TEMP TABLE memberships AS SELECT user_id, count(*) AS n FROM group_members GROUP BY user_id")
        joins.append("LEFT JOIN memberships gm ON gm.user_id = b.user_id")
        cols_sql.append("coalesce(gm.n, 0) AS n_groups")
    else:
        cols_sql.append("CAST(NULL AS BIGINT) AS n_groups")
    if has("merchants") and "city" in cols["merchants"] and \
            con.execute("SELECT count(city) FROM base").fetchone()[0] > 0:
        # accepting merchants in the city at time zero: the running count, found by an ASOF join
        con.execute("""CREATE TEMP TABLE accepting AS
            SELECT city, accepts_from, count(*) OVER (PARTITION BY city ORDER BY accepts_from
                   RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
            FROM merchants WHERE city IS NOT NULL""")
        con.execute("""CREATE TEMP TABLE nearby AS
            SELECT b.user_id, a.n FROM base b ASOF JOIN accepting a
            ON b.city = a.city AND b.t_cov >= a.accepts_from""")
        joins.append("LEFT JOIN nearby nb ON nb.user_id = b.user_id")
        cols_sql.append("CASE WHEN b.city IS NULL THEN NULL ELSE coalesce(nb.n, 0) END AS merchants_nearby")
    else:
        cols_sql.append("CAST(NULL AS BIGINT) AS merchants_nearby")
    user = "coalesce(ids.code, -1)" if "user" in sql.text_spaces else "b.user_id"
    if "user" in sql.text_spaces:  # text ids: the same dense codes as the pandas reader gives
        joins.append("LEFT JOIN ids_user ids ON ids.label = b.user_id")
    return con.execute(f"""
        SELECT {user} AS user_id, b.cohort, b.exposed_at, b.entry, b.duration, b.event, b.event_type,
               b.activated_at, b.first_kind, b.first_group, b.first_amount_cents, {cols_sql[0]}, {cols_sql[1]},
               {cols_sql[2]}, {cols_sql[3]}, b.city, {cols_sql[4]}, {_days('b.t_cov', 'b.joined_at')} AS tenure_days
        FROM base b {' '.join(joins)} ORDER BY 1""").df()
