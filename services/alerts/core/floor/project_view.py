"""Project progress against plan, as the floor snapshot carries it (``docs/wire.md``, ``projects``).

Pure figures of one project at event time ``now`` from its successes so far that local day:
the plan now (target x the planned cumulative fraction of the curve), how far ahead or behind,
the run-rate since the window opened, where that rate ends the day (projected total, and the
time the target is reached at that rate), and the successes per hour needed from now on to
still make the target. The plan curve comes along as points so a screen can draw the plan
marker (and the curve) without knowing the project's configuration.

Call order: ``pace(...)`` for the rate figures (also used by the progress-lag alert's details),
``project_progress(...)`` for the whole per-project document.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .projects import Project


@dataclass(frozen=True, slots=True)
class Pace:
    """Run-rate figures of a project at one instant (counts are successes)."""

    rate_per_h: float  # successes per working hour since the window opened
    needed_per_h: float | None  # per hour from now to the window's end to reach the target
    extra_per_h: float | None  # needed_per_h - rate_per_h (None after the window)
    projected_total: float  # done + rate x the working hours left
    projected_finish: float | None  # epoch at which the target is reached at this rate


def pace(p: Project, done: float, minute: float, now: float) -> Pace:
    """Rate figures at ``now`` (epoch), ``minute`` being ``now``'s minute of the project's local day."""
    at = min(max(minute, p.start_min), p.end_min)
    elapsed_h = (at - p.start_min) / 60
    left_h = (p.end_min - at) / 60
    rate = done / elapsed_h if elapsed_h > 0 else 0.0
    need = (p.target - done) / left_h if left_h > 0 else None
    finish = now + (p.target - done) / rate * 3600 if rate > 0 and done < p.target else None
    return Pace(
        rate_per_h=rate,
        needed_per_h=need,
        extra_per_h=None if need is None else need - rate,
        projected_total=done + rate * left_h,
        projected_finish=finish,
    )


def _status(p: Project, done: float, planned: float, minute: float) -> str:
    if minute < p.start_min:
        return "not_started"
    if minute >= p.end_min:
        return "met" if done >= p.target else "missed"
    return "ahead" if done >= planned else "behind"


def _local(p: Project, day: int, minute: float, site_offset: int) -> str:
    """RFC 3339 (minutes) of ``minute`` of local day ``day`` (1440 = the next midnight)."""
    naive = dt.datetime.combine(dt.date.fromordinal(day), dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=p.zone(site_offset)).isoformat(timespec="minutes")


def curve_points(p: Project, day: int, site_offset: int) -> list[list[Any]]:
    """``[[local time, planned fraction 0..1], ...]`` from the window's start (0) to its end (1);
    piecewise linear between points, exactly what ``Project.planned_fraction`` interpolates."""
    inner = sorted({m for m, _ in p.curve if p.start_min < m < p.end_min})
    minutes = [p.start_min, *inner, p.end_min]
    return [[_local(p, day, m, site_offset), round(p.planned_fraction(m), 4)] for m in minutes]


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def project_progress(
    p: Project, done: float, attempts: float, now: float, site_offset: int
) -> dict[str, Any]:
    """The ``projects[]`` entry of a floor snapshot for project ``p`` at epoch ``now``.

    ``done`` / ``attempts``: successes / wrap-ups with a verdict counted so far on ``now``'s local
    day. Times are rendered in the project's zone (``Project.zone``)."""
    day, minute = p.local(now, site_offset)
    fraction = p.planned_fraction(minute)
    planned = p.target * fraction
    pc = pace(p, done, minute, now)
    finish = pc.projected_finish
    return {
        "project": p.name,
        "title": p.title or p.name,
        "queues": list(p.queues),
        "campaigns": list(p.matches),
        "target": p.target,
        "window": {
            "start": _local(p, day, p.start_min, site_offset),
            "end": _local(p, day, p.end_min, site_offset),
        },
        "status": _status(p, done, planned, minute),
        "done": done,
        "attempts": attempts,
        "planned": round(planned, 1),
        "planned_fraction": round(fraction, 4),
        "done_fraction": round(done / p.target, 4),
        "vs_plan": round(done / planned, 4) if planned > 0 else None,
        "behind": round(planned - done, 1),
        "rate_per_h": round(pc.rate_per_h, 2),
        "needed_per_h": _round(pc.needed_per_h, 2),
        "extra_per_h": _round(pc.extra_per_h, 2),
        "projected_total": round(pc.projected_total, 1),
        "projected_finish": None if finish is None else p.render_time(finish, site_offset),
        "curve": curve_points(p, day, site_offset),
    }
