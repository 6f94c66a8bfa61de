"""adoption: how a social wallet gets out of the two-sided cold start.

Red-packet social graphs, a seeded simulator that writes an event log, survival analysis of
activation after receipt, the two-sided market and channel conversion — on simulated logs and on a
user's own logs in the same contract.

The public API is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Where each public name lives; imported on first use (PEP 562), so that ``import adoption`` and the
#: command line's ``--help`` load no scientific library.
_EXPORTS: dict[str, str] = {
    "AdoptionError": "adoption.errors", "InputError": "adoption.errors", "InvalidEventLog": "adoption.errors",
    "ParameterError": "adoption.errors", "UsageError": "adoption.errors",
    "EventLog": "adoption.eventlog", "read_eventlog": "adoption.eventlog",
    "load_example": "adoption.example",
    "campaign_report": "adoption.funnel", "channel_funnel": "adoption.funnel",
    "SocialGraph": "adoption.graph", "generate_graph": "adoption.graph",
    "TwoSidedMarket": "adoption.market",
    "Scenario": "adoption.scenario",
    "simulate": "adoption.simulate",
    "Problem": "adoption.validation", "ValidationReport": "adoption.validation",
}

if TYPE_CHECKING:  # pragma: no cover
    from adoption.errors import AdoptionError, InputError, InvalidEventLog, ParameterError, UsageError
    from adoption.eventlog import EventLog, read_eventlog
    from adoption.example import load_example
    from adoption.funnel import campaign_report, channel_funnel
    from adoption.graph import SocialGraph, generate_graph
    from adoption.market import TwoSidedMarket
    from adoption.scenario import Scenario
    from adoption.simulate import simulate
    from adoption.validation import Problem, ValidationReport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adoption' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


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
