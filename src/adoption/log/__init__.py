"""The event log: its contract, reading and writing, and validation (the bottom layer, with ``errors``).

:mod:`~adoption.log.contract`
    the tables, columns, keys and rules of the event-log contract (one source of truth);
:mod:`~adoption.log.eventlog`
    :class:`EventLog`, reading Parquet/CSV exports into it and writing it atomically;
:mod:`~adoption.log.validation`
    every contract rule checked with pandas, each problem one line;
:mod:`~adoption.log.sql`
    the same log opened in DuckDB (for logs bigger than memory) and validated in SQL;
:mod:`~adoption.log.proofs`
    what Parquet storage proves without a hash table (footer statistics, keys stored in order, claims
    merged with their packets), so that checking a log of hundreds of millions of rows takes seconds.
:mod:`~adoption.log.checked`
    logs whose files passed every rule, remembered until a file changes, so that they are not checked again.

Every layer above reads logs through this one; the simulator writes them through it.
"""

from typing import TYPE_CHECKING

from adoption.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "EventLog": "adoption.log.eventlog", "read_eventlog": "adoption.log.eventlog",
    "Problem": "adoption.log.validation", "ValidationReport": "adoption.log.validation",
    "validate_tables": "adoption.log.validation",
    "TABLES": "adoption.log.contract", "DEFINITIONS": "adoption.log.contract",
    "open_log": "adoption.log.sql", "validate_sql": "adoption.log.sql",
})

if TYPE_CHECKING:  # pragma: no cover
    from adoption.log.contract import DEFINITIONS, TABLES
    from adoption.log.eventlog import EventLog, read_eventlog
    from adoption.log.sql import open_log, validate_sql
    from adoption.log.validation import Problem, ValidationReport, validate_tables

__all__ = ["DEFINITIONS", "TABLES", "EventLog", "Problem", "ValidationReport", "open_log", "read_eventlog",
           "validate_sql", "validate_tables"]
