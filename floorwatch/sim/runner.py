"""The simulator's shell: pace the generated events in wall time and hand them to a sink.

Event time maps to wall time linearly: the event ``offset`` seconds after ``start`` is handed
over ``offset / time_scale`` wall seconds after the run began. ``start`` defaults to the wall
clock's now, so at ``time_scale=1`` event times are "now"; with ``time_scale > 1`` the day runs
faster and event times run ahead of the wall clock; ``math.inf`` sends as fast as the sink takes.
A sink slower than the schedule makes the run late, never lossy: due events are sent at once.

The sink is any ``(key: bytes, value: bytes) -> None``; the composition root wires the Kafka
producer (this module imports no Kafka).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from floorwatch.sim.config import SimConfig
from floorwatch.sim.model import FloorSimulation
from floorwatch.sim.plans import with_event_rate
from shared.events import encode_event

logger = logging.getLogger(__name__)

Sink = Callable[[bytes, bytes], None]


@dataclass(frozen=True)
class RunStats:
    events: int
    event_time_s: float  # event time covered (offset of the last event sent)
    max_late_s: float  # worst wall-clock lateness of an event against its schedule
    stopped: bool  # ended by ``stop`` rather than by ``duration_s``


def run_simulation(
    sink: Sink,
    *,
    config: SimConfig,
    seed: int,
    time_scale: float = 1.0,
    rate_per_s: float | None = None,
    start: dt.datetime | None = None,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_sleep_s: float = 0.2,
) -> RunStats:
    """Generate the floor and call ``sink(site, encoded event)`` for each event on schedule.

    ``rate_per_s`` scales the floor (agents and arrivals) so it emits about that many events per
    second of event time, averaged over the open day (see ``plans.with_event_rate``); the wall
    rate is that times ``time_scale``. ``duration_s`` is in event time (None = until ``stop``).
    Sleeps are cut into slices of at most ``max_sleep_s`` so ``stop`` is noticed quickly.
    """
    if not time_scale > 0:
        raise ValueError("time_scale must be > 0 (math.inf = no pacing)")
    if rate_per_s is not None:
        config = with_event_rate(config, rate_per_s)
    if start is None:
        start = dt.datetime.now(dt.UTC).astimezone()
    sim = FloorSimulation(config, seed=seed, start=start)
    key = config.site.encode()
    began = clock()
    sent, last, max_late = 0, 0.0, 0.0
    logger.info(
        "simulation started site=%s seed=%s time_scale=%s scale=%.3g agents=%d",
        config.site,
        seed,
        time_scale,
        config.scale,
        len(config.agent_ids()),
    )
    for event in sim:
        offset = sim.offset_s(event)
        if duration_s is not None and offset >= duration_s:
            break
        due = began + offset / time_scale if math.isfinite(time_scale) else began
        if not _wait_until(due, clock, sleep, stop, max_sleep_s):
            return _done(sent, last, max_late, stopped=True)
        max_late = max(max_late, clock() - due)
        sink(key, encode_event(event))
        sent, last = sent + 1, offset
    return _done(sent, last, max_late, stopped=False)


def _wait_until(
    due: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    stop: threading.Event | None,
    max_sleep_s: float,
) -> bool:
    """Sleep until ``due``; False if ``stop`` was set first."""
    while True:
        if stop is not None and stop.is_set():
            return False
        left = due - clock()
        if left <= 0:
            return True
        sleep(min(left, max_sleep_s))


def _done(sent: int, offset: float, max_late: float, *, stopped: bool) -> RunStats:
    logger.info(
        "simulation ended events=%d event_time_s=%.1f max_late_s=%.3f stopped=%s",
        sent,
        offset,
        max_late,
        stopped,
    )
    return RunStats(sent, offset, max_late, stopped)
