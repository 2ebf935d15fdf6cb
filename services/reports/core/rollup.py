"""The roll-up fold: canonical events (in event-time order) -> 15-minute roll-up rows.

Everything a report shows is a sum of counters over roll-up rows, so a report over a year reads
roll-ups, not events. One fold serves the live maintenance (kept between refreshes and fed only
new events: ``live.py``) and ``floorwatch reports rebuild`` (whole business days re-folded; also
what late events cause): docs/reports.md.

Booking rules. Every fact of a call counts in the 15-minute bucket (and so the business day) in
which the call was *offered* — entered the queue; a call that never queued: where it was answered
— whenever the fact arrives, as the floor's day ledger books it (``floor/ledger.py``: the figures
``floorwatch stats`` prints). The counting choices are the floor's ``Definitions`` for the call's
site and queue (``floor/definitions.py``, ``docs/metrics.md``):

* ``offered`` at ``call.queued`` (queue, project = the configured project the call's campaign,
  or queue, belongs to, else the campaign: ``config.ProjectMap``); a call answered or
  abandoned without a ``call.queued`` seen is offered at ``ts - wait_s``. A second
  ``call.queued`` while waiting in the same queue is a repeat; queuing again after an answer or
  abandon (a transfer back) is offered again.
* a call answered in a queue it was never seen waiting in, with no wait stated (or 0), went
  straight to an agent: with ``unqueued: exclude`` (the default) it counts in ``unqueued`` only —
  not offered, answered, service level or ASA; with ``include`` as offered and answered at 0 s.
  Its handle time counts either way.
* ``answered``, ``wait_sum``, ``answered_in_sl`` (``within``), on the answering agent and its
  team; ``abandoned`` / ``short_abandoned`` (``is_short``) when the cause counts as an abandon
  (``abandoned: caller | all``), else ``exited``. Wait = ``wait_s`` when the source gives it, else
  answer - queued.
* ``handled`` and ``talk_sum`` / ``hold_sum`` / ``wrap_sum`` per agent leg (an agent's part of a
  call: a transfer ends the transferring agent's leg), when its wrap-up is over — at
  ``call.wrapped``, or when the agent answers its next call or logs out first — to the queue the
  leg was answered from: talk = the ``talk_s`` of ``call.ended``, else end - answer - hold (none
  when the end is the answer); hold = held -> resumed time; wrap = wrap-up over - ended. A leg
  without talk time counts in ``handled_untimed`` only (kept out of the means).
* a leg the same agent answers again after it ended and before its wrap-up is over (the call was
  transferred back to that agent) is reopened and stays one handled call, as on the live floor
  (``floor/agents.py``, ``docs/metrics.md``): talk = the sum of its connected spans (each span's
  ``talk_s`` when given, else that span's end - answer - its hold), hold = all its held time, the
  seconds between an end and the next answer are neither talk nor wrap, and wrap runs from the
  last end. A leg whose earlier span had no talk time stays without times unless a later
  ``call.ended`` gives ``talk_s``. An answer stamped no later than the leg's end (or its answer)
  is a repeat, not a new span; an answer after the wrap-up is over is a new leg (a new call).
* ``outcomes`` / ``successes`` (the project's ``success_codes`` when it has them, else
  ``outcome.success`` true) at ``call.wrapped``.
* agent-state seconds (``available_s``, ``not_ready_s`` (+ per reason), ``talking_s``,
  ``holding_s``, ``wrapping_s``, ``logged_in_s``) integrate the agent's state over time, cut at
  bucket boundaries. The agent's state is talking while a call is connected, hold while held,
  wrap between ``call.ended`` and ``call.wrapped``, else the state it set (available /
  not_ready + reason) from login to logout. A leg transferred back is connected again from the
  new answer (talking); between its end and that answer the agent is in wrap, as the live floor
  shows it.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

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

from .calendar import SiteCalendar
from .config import ProjectMap
from .definitions import DefinitionSet, order_key

BUCKET_S: Final = 900
COUNTERS: Final = (
    "offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "wait_sum",
    "handled", "handled_untimed", "talk_sum", "hold_sum", "wrap_sum", "outcomes", "successes",
    "available_s", "not_ready_s", "talking_s", "holding_s", "wrapping_s", "logged_in_s",
    "exited", "unqueued",
)
(OFFERED, ANSWERED, ABANDONED, SHORT, IN_SL, WAIT_SUM, HANDLED, UNTIMED, TALK_SUM, HOLD_SUM, WRAP_SUM,
 OUTCOMES, SUCCESSES, AVAILABLE_S, NOT_READY_S, TALKING_S, HOLDING_S, WRAPPING_S, LOGGED_IN_S,
 EXITED, UNQUEUED) = range(21)
_STATE_COUNTER: Final = {"available": AVAILABLE_S, "not_ready": NOT_READY_S, "talking": TALKING_S,
                         "hold": HOLDING_S, "wrap": WRAPPING_S}
UTC: Final = dt.UTC


class RollupKey(NamedTuple):
    site: str
    day: dt.date
    bucket: int  # epoch seconds of the bucket start (UTC, a multiple of 900)
    queue: str  # "" where the figure has none (agent-state rows)
    project: str  # the call's project (ProjectMap), "" when none
    team: str
    agent: str


class ReasonKey(NamedTuple):
    site: str
    day: dt.date
    bucket: int
    team: str
    agent: str
    reason: str


class OutcomeKey(NamedTuple):
    site: str
    day: dt.date
    queue: str
    project: str
    team: str
    agent: str
    code: str
    reason: str
    success: bool | None


@dataclass(slots=True)
class FollowUp:
    site: str
    day: dt.date  # business day of the wrap that asked for it
    call: str
    contact: str
    queue: str
    project: str
    team: str
    agent: str
    opened_at: dt.datetime
    due_at: dt.datetime
    code: str
    reason: str
    closed_at: dt.datetime | None = None
    closed_by: str | None = None  # the later call whose wrap closed it


@dataclass(frozen=True, slots=True)
class Span:
    site: str
    day: dt.date
    agent: str
    team: str
    state: str  # available | not_ready | talking | hold | wrap
    reason: str
    start: dt.datetime
    end: dt.datetime
    call: str


@dataclass(slots=True)
class Rollups:
    rows: dict[RollupKey, list[float]] = field(default_factory=dict)
    reasons: dict[ReasonKey, float] = field(default_factory=dict)
    outcomes: dict[OutcomeKey, int] = field(default_factory=dict)
    follow_ups: list[FollowUp] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    # wraps of calls that name their contact (site, day, contact, call, at): what closes follow-ups
    wraps: list[tuple[str, dt.date, str, str, dt.datetime]] = field(default_factory=list)

    def days(self) -> dict[RollupKey, list[float]]:
        """The day roll-up: the 15-minute rows summed per day (``bucket`` = 0)."""
        out: dict[RollupKey, list[float]] = {}
        for key, values in self.rows.items():
            dkey = key._replace(bucket=0)
            have = out.get(dkey)
            if have is None:
                out[dkey] = list(values)
            else:
                accumulate(have, values)
        return out

    def only_days(self, first: dt.date, last: dt.date) -> Rollups:
        """What belongs to business days ``first`` .. ``last`` (a rebuild keeps only its range)."""
        return Rollups(
            rows={k: v for k, v in self.rows.items() if first <= k.day <= last},
            reasons={k: v for k, v in self.reasons.items() if first <= k.day <= last},
            outcomes={k: v for k, v in self.outcomes.items() if first <= k.day <= last},
            follow_ups=[f for f in self.follow_ups if first <= f.day <= last],
            spans=[s for s in self.spans if first <= s.day <= last],
            wraps=[w for w in self.wraps if first <= w[1] <= last],
        )


def accumulate(have: list[float], values: list[float]) -> None:
    """``have += values``, element by element: how the day roll-up sums its 15-minute rows (a day
    row summed again from its rows, in the same order, is bit-identical)."""
    have[:] = map(operator.add, have, values)


@dataclass(slots=True)
class _Call:
    """The queue side of a call: where it waits and when it was offered."""

    queue: str = ""
    project: str = ""
    contact: str = ""
    waiting: bool = False
    queued_at: float | None = None
    anchor: float | None = None  # when the call was offered: where its facts are booked
    resolved: bool = False  # answered or abandoned since it was last offered
    legs: int = 0  # agents' legs of this call not yet booked


@dataclass(slots=True)
class _Leg:
    """An agent's part of one call: answered -> (held/resumed)* -> ended -> wrapped."""

    call: str
    queue: str
    project: str
    team: str
    answered_at: float | None
    offered_at: float | None
    hold_from: float | None = None
    hold_sum: float = 0.0
    ended_at: float | None = None
    talk_s: float | None = None
    # reopened (transferred back to the same agent): talk of the spans before the current one
    # (None = never reopened) and the hold seconds already in ``hold_sum`` by then
    talk_before: float | None = None
    hold_before: float = 0.0

    @property
    def phase(self) -> str:
        if self.ended_at is not None:
            return "wrap"
        return "hold" if self.hold_from is not None else "talking"


@dataclass(slots=True)
class _Agent:
    team: str = ""
    logged_in: bool = False
    base: str = "available"
    reason: str = ""
    legs: dict[str, _Leg] = field(default_factory=dict)  # call -> the agent's leg of it
    state: str | None = None  # effective state, None = logged out
    state_reason: str = ""
    state_call: str = ""
    since: float = 0.0

    def effective(self) -> tuple[str | None, str, str]:
        legs = self.legs
        if legs:
            for want in ("talking", "hold", "wrap"):
                for call, leg in legs.items():
                    if leg.phase == want:
                        return want, "", call
        if not self.logged_in:
            return None, "", ""
        return self.base, (self.reason if self.base == "not_ready" else ""), ""


class _Folder:
    def __init__(self, calendars: Mapping[str, SiteCalendar], defs: DefinitionSet,
                 contacts: Mapping[tuple[str, str], str], projects: ProjectMap) -> None:
        self.calendars = calendars
        self.projects = projects
        self.default_calendar = SiteCalendar()
        self.defs = defs
        self.contacts = contacts
        self.out = Rollups()
        self.calls: dict[tuple[str, str], _Call] = {}
        self.agents: dict[tuple[str, str], _Agent] = {}
        self.open_follow_ups: dict[tuple[str, str], list[FollowUp]] = {}
        self._days: dict[tuple[str, int], dt.date] = {}
        # what changed since the live fold last took it (services/reports/core/live.py)
        self.dirty: set[RollupKey] = set()
        self.dirty_reasons: set[ReasonKey] = set()
        self.dirty_outcomes: set[OutcomeKey] = set()
        self.by_day: dict[RollupKey, list[RollupKey]] = {}  # day key -> its 15-minute keys, in order
        self.pos: dict[RollupKey, int] = {}  # a 15-minute key's place in its day key's list

    # -- helpers ---------------------------------------------------------------------------------
    def day_of(self, site: str, bucket: int) -> dt.date:
        key = (site, bucket)
        day = self._days.get(key)
        if day is None:
            cal = self.calendars.get(site, self.default_calendar)
            day = self._days[key] = cal.business_day(dt.datetime.fromtimestamp(bucket, UTC))
        return day

    def add(self, site: str, t: float, queue: str, project: str, team: str, agent: str,
            *amounts: tuple[int, float]) -> None:
        bucket = int(t // BUCKET_S) * BUCKET_S
        key = RollupKey(site, self.day_of(site, bucket), bucket, queue, project, team, agent)
        row = self.out.rows.get(key)
        if row is None:
            row = self.out.rows[key] = [0.0] * len(COUNTERS)
            same_day = self.by_day.setdefault(key._replace(bucket=0), [])
            self.pos[key] = len(same_day)
            same_day.append(key)
        self.dirty.add(key)
        for i, v in amounts:
            row[i] += v

    def call(self, site: str, call: str) -> _Call:
        c = self.calls.get((site, call))
        if c is None:
            c = self.calls[(site, call)] = _Call(contact=self.contacts.get((site, call), ""))
        return c

    def agent(self, site: str, agent: str) -> _Agent:
        a = self.agents.get((site, agent))
        if a is None:
            a = self.agents[(site, agent)] = _Agent()
        return a

    # -- agent time ------------------------------------------------------------------------------
    def restate(self, site: str, name: str, a: _Agent, t: float) -> None:
        """Close the agent's current state at ``t`` (booking its seconds) and enter the new one."""
        state, reason, call = a.effective()
        if (state, reason, call) == (a.state, a.state_reason, a.state_call):
            return
        self.accrue(site, name, a, t)
        a.state, a.state_reason, a.state_call, a.since = state, reason, call, t

    def accrue(self, site: str, name: str, a: _Agent, t: float) -> None:
        if a.state is None or t <= a.since:
            a.since = max(a.since, t)
            return
        counter = _STATE_COUNTER[a.state]
        start = a.since
        piece_start = start
        piece_day = self.day_of(site, int(start // BUCKET_S) * BUCKET_S)
        while start < t:
            bucket = int(start // BUCKET_S) * BUCKET_S
            day = self.day_of(site, bucket)
            if day != piece_day:
                self.span(site, piece_day, name, a, piece_start, start)
                piece_start, piece_day = start, day
            end = min(t, float(bucket + BUCKET_S))
            secs = end - start
            self.add(site, start, "", "", a.team, name, (counter, secs), (LOGGED_IN_S, secs))
            if a.state == "not_ready":
                rkey = ReasonKey(site, day, bucket, a.team, name, a.state_reason)
                self.out.reasons[rkey] = self.out.reasons.get(rkey, 0.0) + secs
                self.dirty_reasons.add(rkey)
            start = end
        self.span(site, piece_day, name, a, piece_start, t)
        a.since = t

    def span(self, site: str, day: dt.date, name: str, a: _Agent, start: float, end: float) -> None:
        if end > start and a.state is not None:
            self.out.spans.append(Span(site, day, name, a.team, a.state, a.state_reason,
                                       dt.datetime.fromtimestamp(start, UTC),
                                       dt.datetime.fromtimestamp(end, UTC), a.state_call))

    # -- events ----------------------------------------------------------------------------------
    def offer(self, site: str, c: _Call, queue: str, t: float) -> None:
        c.queue, c.waiting, c.queued_at, c.anchor, c.resolved = queue, True, t, t, False
        self.add(site, t, queue, c.project, "", "", (OFFERED, 1.0))

    def leg(self, site: str, name: str, a: _Agent, call: str) -> _Leg:
        """The agent's leg of ``call``, created (start unknown) when the answer was not seen."""
        leg = a.legs.get(call)
        if leg is None:
            c = self.call(site, call)
            leg = a.legs[call] = _Leg(call, c.queue if c.queue else "", c.project, a.team, None, c.anchor)
            c.legs += 1
        return leg

    def feed(self, ev: Event) -> None:
        t = ev.ts.timestamp()
        site = ev.site
        if isinstance(ev, CallQueued):
            c = self.call(site, ev.call)
            if c.waiting and c.queue == ev.queue:
                return  # a repeat while waiting
            project = self.projects.project_of(site, ev.campaign, ev.queue)
            if project:
                c.project = project
            self.offer(site, c, ev.queue, t)
        elif isinstance(ev, CallAnswered):
            self.answered(site, ev, t)
        elif isinstance(ev, CallAbandoned):
            c = self.call(site, ev.call)
            if not (c.waiting and c.queue == ev.queue):
                if c.queue == ev.queue and c.resolved:
                    return  # already resolved in this queue
                self.offer(site, c, ev.queue, t - (ev.wait_s or 0.0))
            wait = ev.wait_s if ev.wait_s is not None else max(0.0, t - (c.queued_at or t))
            c.waiting, c.resolved = False, True
            defs = self.defs.for_queue(site, ev.queue)
            at = c.anchor if c.anchor is not None else t
            if defs.counts_as_abandon(ev.cause):
                short = 1.0 if defs.is_short(wait) else 0.0
                self.add(site, at, ev.queue, c.project, "", "", (ABANDONED, 1.0), (SHORT, short))
            else:
                self.add(site, at, ev.queue, c.project, "", "", (EXITED, 1.0))
            if c.legs == 0:
                self.calls.pop((site, ev.call), None)
        elif isinstance(ev, CallHeld | CallResumed):
            a = self.agent(site, ev.agent)
            leg = self.leg(site, ev.agent, a, ev.call)
            if leg.ended_at is None:
                if isinstance(ev, CallHeld):
                    if leg.hold_from is None:
                        leg.hold_from = t
                elif leg.hold_from is not None:
                    leg.hold_sum += max(0.0, t - leg.hold_from)
                    leg.hold_from = None
            self.restate(site, ev.agent, a, t)
        elif isinstance(ev, CallEnded | CallTransferred):
            a = self.agent(site, ev.agent)
            leg = self.leg(site, ev.agent, a, ev.call)
            talk = ev.talk_s if isinstance(ev, CallEnded) else None
            if leg.ended_at is not None:
                if talk is not None:  # the source's own figure wins over a transfer's estimate
                    before = leg.talk_before
                    leg.talk_s = talk if before is None else before + talk
                return
            _end(leg, max(t, a.since), talk)
            self.restate(site, ev.agent, a, t)
        elif isinstance(ev, CallWrapped):
            self.wrapped(site, ev, t)
        elif isinstance(ev, AgentLogin):
            a = self.agent(site, ev.agent)
            if ev.team is not None and ev.team != a.team:
                self.accrue(site, ev.agent, a, t)  # time so far stays with the old team
                a.team = ev.team
            a.logged_in, a.base, a.reason = True, "available", ""
            self.restate(site, ev.agent, a, t)
        elif isinstance(ev, AgentLogout):
            a = self.agent(site, ev.agent)
            a.logged_in = False
            for leg in [x for x in a.legs.values() if x.ended_at is not None]:
                self.book(site, ev.agent, a, leg, t)  # an ended call still in wrap-up: booked now
            self.restate(site, ev.agent, a, t)
        elif isinstance(ev, AgentStateChanged):
            a = self.agent(site, ev.agent)
            a.logged_in = True
            a.base, a.reason = ev.state, (ev.reason or "") if ev.state == "not_ready" else ""
            self.restate(site, ev.agent, a, t)

    def answered(self, site: str, ev: CallAnswered, t: float) -> None:
        c = self.call(site, ev.call)
        defs = self.defs.for_queue(site, ev.queue)
        a = self.agent(site, ev.agent)
        counted = True
        unqueued = False
        if not (c.waiting and c.queue == ev.queue):
            if c.resolved and c.queue == ev.queue:
                counted = False  # a second answer of the same offer
            elif not ev.wait_s and defs.unqueued == "exclude":
                unqueued = True  # straight to an agent: not a queue figure
                c.queue, c.anchor, c.resolved = ev.queue, t, True
            else:
                self.offer(site, c, ev.queue, t - (ev.wait_s or 0.0))
        if counted:
            wait = ev.wait_s if ev.wait_s is not None else max(0.0, t - (c.queued_at or t))
            c.waiting, c.resolved = False, True
            at = c.anchor if c.anchor is not None else t
            if unqueued:
                self.add(site, at, ev.queue, c.project, a.team, ev.agent, (UNQUEUED, 1.0))
            else:
                in_sl = 1.0 if defs.within(wait) else 0.0
                self.add(site, at, ev.queue, c.project, a.team, ev.agent,
                         (ANSWERED, 1.0), (WAIT_SUM, wait), (IN_SL, in_sl))
        leg = a.legs.get(ev.call)
        if leg is not None:  # repeated, or arrived after later events of the call, or transferred back
            ended = leg.ended_at
            if ended is not None and t > ended and (leg.answered_at is None or t > leg.answered_at):
                _reopen(leg, t)  # answered again before its wrap-up: connected again
                self.restate(site, ev.agent, a, t)
                return
            if leg.answered_at is None and ended is None:
                leg.answered_at, leg.queue = t, ev.queue
            if leg.offered_at is None:
                leg.offered_at = c.anchor
            return
        for done in [x for x in a.legs.values() if x.ended_at is not None]:
            self.book(site, ev.agent, a, done, t)  # next call started: previous wrap-ups are over
        a.legs[ev.call] = _Leg(ev.call, ev.queue, c.project, a.team, t, c.anchor)
        c.legs += 1
        self.restate(site, ev.agent, a, t)

    def book(self, site: str, name: str, a: _Agent, leg: _Leg, t: float) -> None:
        """Book the handle time of ``leg`` (wrap-up over at ``t``) and drop it from the agent."""
        t = max(t, a.since)
        if leg.ended_at is None:
            _end(leg, t, None)
        a.legs.pop(leg.call, None)
        c = self.calls.get((site, leg.call))
        if c is not None:
            c.legs -= 1
            if c.legs <= 0 and not c.waiting:
                self.calls.pop((site, leg.call), None)
        at = next(x for x in (leg.offered_at, leg.answered_at, leg.ended_at, t) if x is not None)
        if leg.talk_s is None or leg.ended_at is None:
            self.add(site, at, leg.queue, leg.project, leg.team, name, (UNTIMED, 1.0))
            return
        wrap = max(0.0, t - leg.ended_at)
        self.add(site, at, leg.queue, leg.project, leg.team, name,
                 (HANDLED, 1.0), (TALK_SUM, leg.talk_s), (HOLD_SUM, leg.hold_sum), (WRAP_SUM, wrap))

    def wrapped(self, site: str, ev: CallWrapped, t: float) -> None:
        a = self.agent(site, ev.agent)
        leg = a.legs.get(ev.call)
        c = self.calls.get((site, ev.call))
        named = (c.contact if c is not None else "") or self.contacts.get((site, ev.call), "")
        if leg is not None:
            queue, project, team = leg.queue, leg.project, leg.team
            at = next(x for x in (leg.offered_at, leg.answered_at, leg.ended_at, t) if x is not None)
            self.book(site, ev.agent, a, leg, t)
        else:  # its handle time was booked already (a later answer or a logout ended the wrap-up)
            queue = c.queue if c is not None else ""
            project = c.project if c is not None else ""
            team = a.team
            at = c.anchor if c is not None and c.anchor is not None else t
        out = ev.outcome
        success = None if out is None else self.projects.verdict(project, out.code, out.success)
        if out is not None:
            self.add(site, at, queue, project, team, ev.agent,
                     (OUTCOMES, 1.0), *(((SUCCESSES, 1.0),) if success else ()))
        day = self.day_of(site, int(at // BUCKET_S) * BUCKET_S)
        contact = named or ev.call
        if named:
            self.out.wraps.append((site, day, named, ev.call, ev.ts.astimezone(UTC)))
        # a later call of the same contact closes its open follow-ups
        for f in self.open_follow_ups.pop((site, contact), []):
            if f.call != ev.call and f.opened_at.timestamp() < t:
                f.closed_at, f.closed_by = ev.ts.astimezone(UTC), ev.call
            else:
                self.open_follow_ups.setdefault((site, contact), []).append(f)
        if out is not None:
            okey = OutcomeKey(site, day, queue, project, team, ev.agent, out.code, out.reason or "",
                              success)
            self.out.outcomes[okey] = self.out.outcomes.get(okey, 0) + 1
            self.dirty_outcomes.add(okey)
            if out.follow_up_at is not None:
                f = FollowUp(site, day, ev.call, contact, queue, project, team, ev.agent,
                             ev.ts.astimezone(UTC), out.follow_up_at.astimezone(UTC), out.code,
                             out.reason or "")
                self.out.follow_ups.append(f)
                self.open_follow_ups.setdefault((site, contact), []).append(f)
        self.restate(site, ev.agent, a, t)

    def finish(self, until: float | None) -> None:
        if until is None:
            return
        for (site, name), a in self.agents.items():
            if a.state is not None and a.since < until:
                self.accrue(site, name, a, until)

    def tail(self, until: float) -> Rollups:
        """What :meth:`finish` would book at ``until`` — the open states' time so far — booked into
        a separate ``Rollups`` instead, the folder left as it was (so it can be fed on). Each key
        gets one amount per counter, so ``out + tail`` equals ``finish`` bit for bit."""
        saved = (self.out, self.dirty, self.dirty_reasons, self.by_day, self.pos)
        self.out, self.dirty, self.dirty_reasons, self.by_day, self.pos = Rollups(), set(), set(), {}, {}
        try:
            for (site, name), a in self.agents.items():
                if a.state is not None and a.since < until:
                    since = a.since
                    self.accrue(site, name, a, until)
                    a.since = since
            return self.out
        finally:
            self.out, self.dirty, self.dirty_reasons, self.by_day, self.pos = saved

    def with_tail(self, t: Rollups) -> Rollups:
        """``out`` with :meth:`tail`'s ``t`` added: what :meth:`finish` would leave, the folder
        left as it was."""
        rows = dict(self.out.rows)
        for k, v in t.rows.items():
            have = rows.get(k)
            rows[k] = v if have is None else [a + b for a, b in zip(have, v, strict=True)]
        reasons = dict(self.out.reasons)
        for rk, secs in t.reasons.items():
            reasons[rk] = reasons[rk] + secs if rk in reasons else secs
        return Rollups(rows=rows, reasons=reasons, outcomes=dict(self.out.outcomes),
                       follow_ups=list(self.out.follow_ups), spans=[*self.out.spans, *t.spans],
                       wraps=list(self.out.wraps))


def _reopen(leg: _Leg, t: float) -> None:
    """The agent answered ``leg`` again at ``t`` after it ended (transferred back): a new span."""
    if leg.talk_s is None or leg.answered_at is None:
        leg.answered_at = None  # the earlier span had no times: neither has the call
        leg.talk_before = None
    else:
        leg.answered_at = t
        leg.talk_before = leg.talk_s  # talk_s already includes the spans before it
        leg.hold_before = leg.hold_sum
    leg.ended_at = None
    leg.talk_s = None


def _end(leg: _Leg, t: float, talk_s: float | None) -> None:
    if leg.hold_from is not None:
        leg.hold_sum += max(0.0, t - leg.hold_from)
        leg.hold_from = None
    leg.ended_at = t
    before = leg.talk_before
    if before is not None:  # a reopened leg: this span's talk adds to the earlier spans'
        if talk_s is not None:
            leg.talk_s = before + talk_s
        elif leg.answered_at is not None:
            leg.talk_s = before + max(0.0, t - leg.answered_at - (leg.hold_sum - leg.hold_before))
    elif talk_s is not None:
        leg.talk_s = talk_s
    elif leg.answered_at is not None and not (t == leg.answered_at and leg.hold_sum == 0.0):
        leg.talk_s = max(0.0, t - leg.answered_at - leg.hold_sum)


def event_order(ev: Event) -> tuple[float, int, str, str]:
    """The order events are folded in: the floor's (``floor/order.py``: event time, then the step
    of a call's life, then source and id), the order ``floorwatch stats`` and the live figures are
    defined in; where they were stored plays no part."""
    return order_key(ev)


def fold(events: Iterable[Event], *, calendars: Mapping[str, SiteCalendar] | None = None,
         definitions: DefinitionSet | None = None,
         contacts: Mapping[tuple[str, str], str] | None = None,
         until: dt.datetime | None = None, projects: ProjectMap | None = None) -> Rollups:
    """Fold ``events`` (in event-time order) into roll-ups. ``until``: agents still in a state
    then have their time booked up to it (a rebuild passes the end of its range, or now).
    ``contacts``: the customer / contact of a call, ``(site, call) -> contact`` (events carry it
    as an extra field; see docs/reports.md); a call without one is its own contact.
    ``projects``: which project a call counts for and what is a success (default: the call's
    campaign; ``outcome.success``)."""
    folder = new_folder(calendars=calendars, definitions=definitions, contacts=contacts, projects=projects)
    for ev in events:
        folder.feed(ev)
    folder.finish(until.timestamp() if until is not None else None)
    return folder.out


def new_folder(*, calendars: Mapping[str, SiteCalendar] | None = None,
               definitions: DefinitionSet | None = None,
               contacts: Mapping[tuple[str, str], str] | None = None,
               projects: ProjectMap | None = None) -> _Folder:
    """An empty folder (what :func:`fold` feeds), for a caller that keeps feeding it (``live.py``)."""
    # not ``calendars or {}``: a calendar map that knows its sites from the definitions (config.py's
    # _Calendars) is empty to len() and would be replaced by UTC days
    return _Folder({} if calendars is None else calendars, definitions or DefinitionSet(),
                   {} if contacts is None else contacts, projects or ProjectMap())
