"""adoption: how a social wallet gets out of the two-sided cold start.

Red-packet social graphs, a seeded simulator that writes an event log, survival analysis of
activation after receipt, the two-sided market and channel conversion — on simulated logs and on a
user's own logs in the same contract.

The public API is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from adoption.errors import AdoptionError, InputError, InvalidEventLog, ParameterError, UsageError
from adoption.eventlog import EventLog, read_eventlog
from adoption.example import load_example
from adoption.funnel import campaign_report, channel_funnel
from adoption.graph import SocialGraph, generate_graph
from adoption.market import TwoSidedMarket
from adoption.scenario import Scenario
from adoption.simulate import simulate
from adoption.validation import Problem, ValidationReport

__version__ = "0.1.0"

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
    "campaign_report",
    "channel_funnel",
    "generate_graph",
    "load_example",
    "read_eventlog",
    "simulate",
]
