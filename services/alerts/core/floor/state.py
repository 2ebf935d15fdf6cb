"""The shapes of live floor state: sites, queues, agents and an agent's current call leg.

Plain mutable ``msgspec.Struct``s owned by one :class:`~.reducer.Floor` (so a whole floor encodes
to JSON for snapshots with no extra code). Times are float epoch seconds of event time.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush

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
    # a leg answered again by its agent after it ended (transferred back): talk of the spans before
    # the current one (None = never reopened) and the hold seconds already in ``hold_s`` by then
    talk_before: float | None = None
    hold_before: float = 0.0
    opened_at: float | None = None  # when the floor opened the leg (its age for the open-leg limit)


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
    # lazy min-heap of (queued at, call): every waiting call has its entry; entries of calls gone
    # (or re-put) are dropped when they reach the top, and the heap is rebuilt when they are the
    # majority, so keeping ``oldest`` costs O(log n) per call instead of a scan of all waiting
    heap: list[tuple[float, str]] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.heap) < len(self.waiting):  # a snapshot from before the heap existed
            self._rebuild()

    def _rebuild(self) -> None:
        self.heap = [(at, call) for call, at in self.waiting.items()]
        heapify(self.heap)

    def remove(self, call: str) -> float | None:
        waiting = self.waiting
        queued_at = waiting.pop(call, None)
        if queued_at is None:
            return None
        heap = self.heap
        if len(heap) > 2 * len(waiting) + 32:  # mostly entries of calls gone: compact
            self._rebuild()
            heap = self.heap
        if queued_at == self.oldest:
            while heap and waiting.get(heap[0][1]) != heap[0][0]:
                heappop(heap)
            self.oldest = heap[0][0] if heap else None
        return queued_at

    def put(self, call: str, queued_at: float) -> None:
        self.waiting[call] = queued_at
        heappush(self.heap, (queued_at, call))
        oldest = self.oldest
        if oldest is None or queued_at < oldest:
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
    # (agent, call) legs recently booked or forgotten -> (queue or "", when): later leg events of
    # such a call (re-sent, or out of order after its wrap-up) must not open a ghost leg. Created
    # on first use with ``FloorConfig.recent_legs`` capacity (None in snapshots of older floors)
    done_legs: RecentMap | None = None
    legs_checked: float = 0.0  # when the open legs were last checked against ``max_leg_s``

    def calls_waiting(self) -> int:
        return len(self.waiting_in)

    def oldest_waiting(self) -> float | None:
        return min((q.oldest for q in self.queues.values() if q.oldest is not None), default=None)
