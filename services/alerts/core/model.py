"""The shapes of live floor state: sites, queues, agents and an agent's current call leg.

Plain mutable ``msgspec.Struct``s owned by one :class:`~.floor.Floor` (so a whole floor encodes to
JSON for snapshots with no extra code). Times are float epoch seconds of event time.

``Touches`` is what a state change reports: scope ``(kind, name)`` -> a bitmask of the metric
families that may have changed there, so the engine re-evaluates only the rules that read them.
"""

from __future__ import annotations

from typing import Final

import msgspec

from .kpis import Agg
from .recent import RecentMap

# metric families (bitmask), see metrics.py for which metric belongs where
F_WAIT: Final = 1  # calls_waiting, longest_wait_s
F_WINDOW: Final = 2  # windowed counters and ratios
F_AGENTS: Final = 4  # agents by state, logged_in
F_OCC: Final = 8  # occupancy
F_AGENT: Final = 16  # one agent's own state metrics
F_HANDLE: Final = 32  # a call's handle time was booked to the scope (detector kinds)
F_PROGRESS: Final = 64  # a project's completions changed
F_SOURCE: Final = 128  # a source was heard from
# finer bits, always set together with their family's bit above: which window counters and which
# agent-state counts changed. The engine evaluates a threshold rule with no active alert only when
# a counter it reads changed (metrics.py maps metrics to these bits).
C_OFFERED: Final = 1 << 8
C_ANSWERED: Final = 1 << 9  # answered, answered within threshold, wait sum
C_ABANDONED: Final = 1 << 10  # abandoned, short abandoned
C_HANDLED: Final = 1 << 11  # handled and handle / talk / hold / wrap sums
C_STATE: Final = (1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16)  # agents in state i (kpis order)
C_LOGGED: Final = 1 << 17  # agents logged in

Scope = tuple[str, str]  # (kind, name): ("queue", "sales"), ("team", "t1"), ("site", site), ("agent", "a1")
Touches = dict[Scope, int]


class Leg(msgspec.Struct):
    """An agent's part of one call: answered -> (held/resumed)* -> ended -> wrapped."""

    call: str
    queue: str | None
    answered_at: float | None  # None when the feed started mid-call
    hold_at: float | None = None
    hold_s: float = 0.0
    ended_at: float | None = None
    talk_s: float | None = None


class HandledCall(msgspec.Struct, array_like=True):
    """One completed call with known handle time, as booked (for the detector kinds)."""

    t: float  # wrap-up completed
    queue: str | None
    team: str | None
    agent: str
    talk: float
    hold: float
    wrap: float
    code: str | None = None  # outcome code, when the wrap-up carried one
    success: bool | None = None

    @property
    def handle(self) -> float:
        return self.talk + self.hold + self.wrap


class Agent(msgspec.Struct):
    """One logged-in agent. ``ready`` is the state to return to after a call (available/not_ready)."""

    agent: str
    team: str | None
    queues: list[str]
    learn_queues: bool  # no queue list at login: learn queues from the calls the agent answers
    ready: int
    reason: str | None
    state: int
    since: float
    leg: Leg | None = None


class QueueFloor(msgspec.Struct):
    agg: Agg
    waiting: dict[str, float] = msgspec.field(default_factory=dict)  # call -> queued at
    oldest: float | None = None  # min(waiting.values()), kept up to date

    def remove(self, call: str) -> float | None:
        queued_at = self.waiting.pop(call, None)
        if queued_at is not None and queued_at == self.oldest:
            self.oldest = min(self.waiting.values(), default=None)
        return queued_at

    def put(self, call: str, queued_at: float) -> None:
        self.waiting[call] = queued_at
        if self.oldest is None or queued_at < self.oldest:
            self.oldest = queued_at


class SiteFloor(msgspec.Struct):
    """Everything known about one site (floor)."""

    site: str
    total: Agg
    resolved: RecentMap  # call -> (queue, time) of its last answer/abandon, to drop stale re-deliveries
    queues: dict[str, QueueFloor] = msgspec.field(default_factory=dict)
    agents: dict[str, Agent] = msgspec.field(default_factory=dict)
    teams: dict[str, Agg] = msgspec.field(default_factory=dict)
    waiting_in: dict[str, str] = msgspec.field(default_factory=dict)  # call -> queue it waits in
    latest: float = 0.0  # greatest event time seen
    tz: int = 0  # UTC offset (s) of the last event, used to render times
    seq: int = 0  # number of events applied; bumps whenever the floor changed
    # outbox of calls booked by the last apply(); None = not recorded (nobody drains it)
    handled: list[HandledCall] | None = None

    def calls_waiting(self) -> int:
        return len(self.waiting_in)

    def oldest_waiting(self) -> float | None:
        return min((q.oldest for q in self.queues.values() if q.oldest is not None), default=None)


def touch(touches: Touches, kind: str, name: str, mask: int) -> None:
    key = (kind, name)
    touches[key] = touches.get(key, 0) | mask
