"""adoption: how a social wallet gets out of the two-sided cold start.

Red-packet social graphs, a seeded simulator that writes an event log, survival analysis of
activation after receipt, the two-sided market and channel conversion — on simulated logs and on a
user's own logs in the same contract.

The layers, bottom to top (each imports only from layers below it; see ``docs/architecture.md``):

``errors``, ``random``, ``text``, ``processes``, ``lazy``, ``version``
    foundations shared by every layer;
:mod:`adoption.log`
    the event-log contract, reading, writing and validation (pandas and DuckDB);
:mod:`adoption.datasets`
    the bundled example log, public reference figures, synthetic logs with known truth;
:mod:`adoption.world`, :mod:`adoption.analysis`, :mod:`adoption.market`
    the simulator; the analyses of a log; the two-sided mean-field market (they never import each
    other: the world and the analyses meet only in the event log);
:mod:`adoption.plotting`
    figures of the analyses' results;
:mod:`adoption.reports`, :mod:`adoption.sweep`, :mod:`adoption.cli`
    the application: report notebooks, parameter sweeps, the command line.

The most used names are re-exported here, imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adoption.lazy import lazy_exports
from adoption.version import __version__

__getattr__, __dir__ = lazy_exports(__name__, {
    "AdoptionError": "adoption.errors", "InputError": "adoption.errors", "InvalidEventLog": "adoption.errors",
    "ParameterError": "adoption.errors", "UsageError": "adoption.errors",
    "EventLog": "adoption.log.eventlog", "read_eventlog": "adoption.log.eventlog",
    "Problem": "adoption.log.validation", "ValidationReport": "adoption.log.validation",
    "load_example": "adoption.datasets.example",
    "Scenario": "adoption.world.scenario", "simulate": "adoption.world.simulate",
    "simulate_batch": "adoption.world.simulate",
    "SocialGraph": "adoption.world.graph", "generate_graph": "adoption.world.graph",
    "activation_table": "adoption.analysis.activation",
    "campaign_report": "adoption.analysis.funnel", "channel_funnel": "adoption.analysis.funnel",
    "TwoSidedMarket": "adoption.market.model",
})

if TYPE_CHECKING:  # pragma: no cover
    from adoption.analysis.activation import activation_table
    from adoption.analysis.funnel import campaign_report, channel_funnel
    from adoption.datasets.example import load_example
    from adoption.errors import AdoptionError, InputError, InvalidEventLog, ParameterError, UsageError
    from adoption.log.eventlog import EventLog, read_eventlog
    from adoption.log.validation import Problem, ValidationReport
    from adoption.market.model import TwoSidedMarket
    from adoption.world.graph import SocialGraph, generate_graph
    from adoption.world.scenario import Scenario
    from adoption.world.simulate import simulate, simulate_batch

__all__ = [
    "AdoptionError",
    "EventLog",
    "InputError",
    "InvalidEventLog",
    "ParameterError",
    "Problem",
    "Scenario",
    "SocialGraph",
    "TwoSidedMarket",
    "UsageError",
    "ValidationReport",
    "__version__",
    "activation_table",
    "campaign_report",
    "channel_funnel",
    "generate_graph",
    "load_example",
    "read_eventlog",
    "simulate",
    "simulate_batch",
]
