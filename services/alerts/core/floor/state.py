"""The shapes of live floor state: sites, queues, agents and an agent's current call leg.

Plain mutable ``msgspec.Struct``s owned by one :class:`~.reducer.Floor` (so a whole floor encodes
to JSON for snapshots with no extra code). Times are float epoch seconds of event time.
"""

from __future__ import annotations

import msgspec

from .kpis import Agg
from .ledger import Ledger
from .recent import RecentMap


class Leg(msgspec.Struct):
    """An agent's part of one call: answered -> (held/resumed)* -> ended -> wrapped."""

    call: str
    queue: str | None
    answered_at: float | None  # None when the feed started mid-call
    hold_at: float | None = None
    hold_s: float = 0.0
    ended_at: float | None = None
    talk_s: float | None = None
    offered_at: float | None = None  # when the call was offered: its day and interval in the ledger


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
    leg: Leg | None = None  # the call the agent took last
    others: list[Leg] = msgspec.field(default_factory=list)  # further open legs (consult, 2nd line)
    leaving: bool = False  # logged out during a call: leaves the floor when its last leg is booked

    def legs(self) -> list[Leg]:
        """Every open leg, the latest first."""
        return [self.leg, *self.others] if self.leg is not None else list(self.others)

    def find(self, call: str) -> Leg | None:
        leg = self.leg
        if leg is not None and leg.call == call:
            return leg
        for other in self.others:
            if other.call == call:
                return other
        return None


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
    ledger: Ledger = msgspec.field(default_factory=Ledger)  # day and interval figures
    late: int = 0  # facts older than the window when they arrived (still in the ledger)
    roster: int = 0  # bumped when an agent joins or leaves the floor or changes team
    # outbox of calls booked by the last apply(); None = not recorded (nobody drains it)
    handled: list[HandledCall] | None = None

    def calls_waiting(self) -> int:
        return len(self.waiting_in)

    def oldest_waiting(self) -> float | None:
        return min((q.oldest for q in self.queues.values() if q.oldest is not None), default=None)
