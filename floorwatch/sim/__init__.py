"""The built-in floor simulator (docs/simulator.md).

* ``model.FloorSimulation`` — the pure, deterministic event generator;
* ``config`` / ``incidents`` / ``plans`` — what the floor looks like, scripted disturbances,
  and the project plans the engine can be configured with;
* ``runner.run_simulation`` — the thin shell that paces events in wall time into a sink;
* ``cli`` — the options of ``floorwatch simulate``.
"""

from floorwatch.sim.config import SimConfig, default_config
from floorwatch.sim.incidents import parse_incident
from floorwatch.sim.model import FloorSimulation, events_between
from floorwatch.sim.plans import ProjectPlan, project_plans

__all__ = [
    "FloorSimulation",
    "ProjectPlan",
    "SimConfig",
    "default_config",
    "events_between",
    "parse_incident",
    "project_plans",
]
