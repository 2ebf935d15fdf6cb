"""Hand-built canonical events for the floor-engine tests: ``feed("queued", 12, call=..., queue=...)``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    CallWrapped,
    Event,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 28, 9, 0, 0, tzinfo=BEIJING)  # a whole minute: window buckets align with offsets
KINDS: dict[str, type[Any]] = {
    "login": AgentLogin,
    "logout": AgentLogout,
    "state": AgentStateChanged,
    "queued": CallQueued,
    "answered": CallAnswered,
    "abandoned": CallAbandoned,
    "held": CallHeld,
    "resumed": CallResumed,
    "ended": CallEnded,
    "wrapped": CallWrapped,
    "transferred": CallTransferred,
}


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def epoch(seconds: float) -> float:
    return at(seconds).timestamp()


class Feed:
    """Numbers events 1, 2, 3... so every event built is distinct for dedup."""

    def __init__(self, site: str = "bj-01", source: str = "acd") -> None:
        self.site, self.source, self.n = site, source, 0

    def __call__(self, kind: str, seconds: float, **fields: Any) -> Event:
        self.n += 1
        event: Event = KINDS[kind](
            v=1, id=f"e{self.n}", source=self.source, ts=at(seconds), site=self.site, **fields
        )
        return event
