"""The two-sided market in mean field: critical mass, policies for the cold start, and the platform race.

:mod:`~adoption.market.model`
    :class:`TwoSidedMarket` (equilibria, the critical-mass saddle and frontier, paths) and the phase diagram;
:mod:`~adoption.market.policies`
    the smallest push of users, the smallest temporary subsidy, and what each costs;
:mod:`~adoption.market.race`
    an entrant against an incumbent, and the public WeChat Pay/Alipay figures beside it.
"""

from adoption.market.model import (
    TASTES,
    NoCriticalMass,
    Tastes,
    TwoSidedMarket,
    phase_diagram,
    uniform_saddle,
)
from adoption.market.policies import seeding_comparison, smallest_push, smallest_subsidy, subsidy_cost
from adoption.market.race import catch_up_time, public_race, race

__all__ = [
    "TASTES",
    "NoCriticalMass",
    "Tastes",
    "TwoSidedMarket",
    "catch_up_time",
    "phase_diagram",
    "public_race",
    "race",
    "seeding_comparison",
    "smallest_push",
    "smallest_subsidy",
    "subsidy_cost",
    "uniform_saddle",
]
