"""The simulator's project plans as engine projects, for tests and benchmarks that feed the
simulated floor straight into the engine (as a rules file's ``projects:`` would configure them)."""

from __future__ import annotations

import datetime as dt

from floorwatch.sim import project_plans
from floorwatch.sim.config import SimConfig
from services.alerts.core.floor.projects import Project

BEIJING = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BEIJING)  # minute 0 of a simulated day: 08:00 in Beijing


def sim_projects(cfg: SimConfig, start: dt.datetime = START) -> tuple[Project, ...]:
    """The plans of ``cfg`` for a run started at ``start`` (08:00 local, UTC+8): window and curve
    in minutes of the day."""

    def minute(t: dt.datetime) -> float:
        return 480 + (t - start).total_seconds() / 60

    return tuple(
        Project(
            name=p.name,
            title=p.title,
            target=p.target,
            start_min=minute(p.window_start),
            end_min=minute(p.window_end),
            curve=tuple((minute(t), f) for t, f in p.curve),
            utc_offset=8 * 3600,
        )
        for p in project_plans(cfg, start)
    )
