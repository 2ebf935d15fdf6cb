"""Shared helpers of the simulator tests: a fixed start and event-stream arithmetic."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable

from floorwatch.sim.config import SimConfig
from floorwatch.sim.model import FloorSimulation
from shared.events import CallAnswered, CallWrapped, Event

BEIJING = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 28, 8, 0, tzinfo=BEIJING)  # minute 0 = 08:00 on the floor clock


def run(config: SimConfig, *, seed: int = 1, hours: float = 12.0) -> list[Event]:
    sim = FloorSimulation(config, seed=seed, start=START)
    return sim.events_until(START + dt.timedelta(hours=hours))


def minute(ev: Event) -> float:
    return (ev.ts - START).total_seconds() / 60


def of(
    events: Iterable[Event], cls: type, lo: float = 0.0, hi: float = float("inf"), **fields: object
) -> list:
    """Events of type ``cls`` with ``lo <= minute < hi`` whose fields equal ``fields``."""
    return [
        e
        for e in events
        if isinstance(e, cls) and lo <= minute(e) < hi and all(getattr(e, k) == v for k, v in fields.items())
    ]


def handle_times(events: list[Event], queue: str, lo: float, hi: float) -> list[float]:
    """Answer → wrap-up seconds (talk + hold + wrap) of calls answered on ``queue`` in [lo, hi)."""
    open_legs: dict[tuple[str, str], dt.datetime] = {}
    out = []
    for e in events:
        if isinstance(e, CallAnswered) and e.queue == queue and lo <= minute(e) < hi:
            open_legs[(e.call, e.agent)] = e.ts
        elif isinstance(e, CallWrapped) and (e.call, e.agent) in open_legs:
            out.append((e.ts - open_legs.pop((e.call, e.agent))).total_seconds())
    return out


def mean(values: list[float]) -> float:
    assert values, "no samples"
    return statistics.fmean(values)
