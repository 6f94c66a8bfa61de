"""The red-packet world: scenarios, the social graph, red packets, the festival calendar and the simulator
that writes an event log; its mean field and the classic contagion baselines.

The world knows nothing of the analyses: it only writes event logs (through :mod:`adoption.log`), and
the analyses only read them.
"""

from typing import TYPE_CHECKING

from adoption.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Scenario": "adoption.world.scenario", "scenario_names": "adoption.world.scenario",
    "SocialGraph": "adoption.world.graph", "generate_graph": "adoption.world.graph",
    "simulate": "adoption.world.simulate", "simulate_batch": "adoption.world.simulate", "simulate_to": "adoption.world.simulate",
    "simulate_states": "adoption.world.simulate", "simulate_with_states": "adoption.world.simulate",
    "mean_field_path": "adoption.world.meanfield",
})

if TYPE_CHECKING:  # pragma: no cover
    from adoption.world.graph import SocialGraph, generate_graph
    from adoption.world.meanfield import mean_field_path
    from adoption.world.scenario import Scenario, scenario_names
    from adoption.world.simulate import (
        simulate,
        simulate_batch,
        simulate_states,
        simulate_to,
        simulate_with_states,
    )

__all__ = ["Scenario", "SocialGraph", "generate_graph", "mean_field_path", "scenario_names", "simulate",
           "simulate_batch", "simulate_states", "simulate_to", "simulate_with_states"]
