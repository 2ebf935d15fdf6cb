"""What the simulated floor is expected to do: call volumes, event rates, project plans.

The engine is configured with projects (campaigns) and their plans — target, working window,
planned curve (design.md). :func:`project_plans` derives them from the simulator's config so a
demo can load the very projects the simulator produces calls for: the target is what an
undisturbed floor is expected to convert, and the planned curve follows the arrival profile.
A ``project_slowdown`` incident then makes the progress-lag warning fire.

Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from floorwatch.sim import profile as prof
from floorwatch.sim.config import SimConfig

ANSWERED_RATIO = 0.97  # a default floor abandons 1.5-3 % of its calls


@dataclass(frozen=True)
class ProjectPlan:
    """A project as the engine is configured with it: successes ``target`` within the window,
    ``curve`` = (time, planned fraction of the target done by then), ending at (window_end, 1.0)."""

    name: str
    title: str
    target: int
    conversion: float
    queues: tuple[str, ...]
    window_start: dt.datetime
    window_end: dt.datetime
    curve: tuple[tuple[dt.datetime, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON / YAML friendly (times as RFC 3339 strings)."""
        return {
            "name": self.name,
            "title": self.title,
            "target": self.target,
            "conversion": self.conversion,
            "queues": list(self.queues),
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "curve": [[t.isoformat(), round(f, 4)] for t, f in self.curve],
        }


def expected_calls(config: SimConfig, from_min: float = 0.0, to_min: float | None = None) -> dict[str, float]:
    """Expected arrivals per queue between two minutes of one open day (no incidents)."""
    shares = sum(q.share for q in config.queues) or 1.0
    level_min = prof.integral(config.profile, config.open_min, to_min) - prof.integral(
        config.profile, config.open_min, from_min
    )
    per_min = config.calls_per_hour * config.scale / 60
    return {q.name: per_min * level_min * q.share / shares for q in config.queues}


def expected_events_per_s(config: SimConfig) -> float:
    """Average events per second of event time over the open day (no incidents)."""
    calls = expected_calls(config)
    per_call = {
        q.name: 1 + ANSWERED_RATIO * (3 + 2 * q.hold_p + q.transfer_p * 1) + (1 - ANSWERED_RATIO)
        for q in config.queues
    }
    call_events = sum(n * per_call[q] for q, n in calls.items())
    sizes = config.team_sizes()
    agent_events = sum(sizes[t.name] * _agent_events(config, t.shift[1] - t.shift[0]) for t in config.teams)
    return (call_events + agent_events) / (config.open_min * 60)


def with_event_rate(config: SimConfig, events_per_s: float) -> SimConfig:
    """The floor scaled (agents and arrivals together) to emit about ``events_per_s`` on average
    over its open day at time scale 1. The profile still applies: ~0.4x at opening, ~1.4x at peak."""
    if events_per_s <= 0:
        raise ValueError("events per second must be > 0")
    base = config.replace(scale=1.0)
    return config.replace(scale=events_per_s / expected_events_per_s(base))


def project_plans(config: SimConfig, start: dt.datetime, day: int = 0) -> list[ProjectPlan]:
    """The projects of ``config`` with their plans for ``day`` of a run started at ``start``."""
    opening = start + dt.timedelta(seconds=day * config.day_s)
    plans = []
    for p in config.projects:
        a, b = p.window if p.window is not None else (0.0, config.open_min)
        target = p.target if p.target is not None else round(_expected_successes(config, p.name, a, b))
        knots = sorted({a, b} | {m for m, _ in config.profile if a < m < b})
        done0 = prof.integral(config.profile, config.open_min, a)
        span = (prof.integral(config.profile, config.open_min, b) - done0) or 1.0
        curve = tuple(
            (
                opening + dt.timedelta(minutes=m),
                (prof.integral(config.profile, config.open_min, m) - done0) / span,
            )
            for m in knots
        )
        queues = tuple(q.name for q in config.queues if any(c == p.name for c, _ in q.campaigns))
        plans.append(
            ProjectPlan(
                p.name,
                p.title or p.name,
                target,
                p.conversion,
                queues,
                opening + dt.timedelta(minutes=a),
                opening + dt.timedelta(minutes=b),
                curve,
            )
        )
    return plans


def _expected_successes(config: SimConfig, project: str, a: float, b: float) -> float:
    calls = expected_calls(config, a, b)
    conversion = next(p.conversion for p in config.projects if p.name == project)
    total = 0.0
    for q in config.queues:
        weights = sum(w for _, w in q.campaigns)
        mine = sum(w for c, w in q.campaigns if c == project)
        if weights and mine:
            total += calls[q.name] * mine / weights
    return total * ANSWERED_RATIO * conversion


def _agent_events(config: SimConfig, shift_min: float) -> float:
    # mirrors shifts.day_plan: login + available + logout, two events per not-ready period
    periods = (shift_min >= 240) + 2 * (shift_min >= 360) + config.breaks.training_p * (shift_min >= 120)
    return 3 + 2 * periods


FLOOR_OPENING_MIN = 480  # the floor clock reads 08:00 at minute 0 of a run


def demo_projects(config: SimConfig, start: dt.datetime) -> list[dict[str, Any]]:
    """The projects of ``config`` as a rules file's ``projects:`` entries (docs/rules.md), for a
    run started at ``start``: each on the *floor clock* — a fixed ``utc_offset`` under which
    ``start`` reads 08:00 — so the plan's window and curve line up with the simulated day whatever
    the wall time. ``floorwatch up --simulate`` configures the engine with these when it is given
    no rules file, so the demo shows progress bars. Good for the first simulated day (12 h by
    default); later days open at 20:00 on that clock, outside the window."""
    since_midnight = round(start.timestamp()) % 86400
    off = (FLOOR_OPENING_MIN * 60 - since_midnight) % 86400
    off = round((off - 86400 if off > 14 * 3600 else off) / 60) * 60
    sign, mag = ("-" if off < 0 else "+"), abs(off)
    out = []
    for plan in project_plans(config, start):
        def clock(t: dt.datetime) -> str:
            minute = min(1440, round(FLOOR_OPENING_MIN + (t - start).total_seconds() / 60))
            return f"{minute // 60:02d}:{minute % 60:02d}"

        first, last = clock(plan.window_start), clock(plan.window_end)
        curve = [[clock(t), round(f, 4)] for t, f in plan.curve if first < clock(t) <= last]
        out.append({
            "name": plan.name,
            "title": plan.title,
            "target": max(1, plan.target),
            "window": {"start": first, "end": last},
            "utc_offset": f"{sign}{mag // 3600:02d}:{mag % 3600 // 60:02d}",
            "curve": curve if curve and curve[-1][1] > 0 else "linear",
            "success": True,
            "queues": list(plan.queues),
        })
    return out
