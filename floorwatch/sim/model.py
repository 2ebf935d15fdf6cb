"""The floor simulator: a deterministic discrete-event simulation of an inbound floor.

:class:`FloorSimulation` turns a :class:`~floorwatch.sim.config.SimConfig`, a seed and an aware
start time into an endless stream of canonical events (``shared.events``) in
non-decreasing ``ts`` order. Same config, seed and start → the same events, ids included.

How the floor works:

* Calls arrive per queue as a non-homogeneous Poisson process following the intraday profile,
  times ``scale`` and any active ``ArrivalSurge`` (time change of a unit-rate process).
* A waiting call goes to the longest-idle available agent with the skill; an agent who becomes
  available takes the oldest call of its highest-priority queue with calls waiting. Answering
  takes a short ring time. Callers whose (lognormal) patience runs out abandon (``cause: caller``).
* Not-ready periods that overlap merge into one (the reason switches to the later one); a team
  lunch or a park absorbs the personal breaks that fall inside it.
* Talk, hold and wrap-up are lognormal around the queue's means (times any ``AhtJump`` active at
  answer time). At the end of talk an agent may transfer the call: ``call.transferred``,
  ``call.ended``, and the same call id is queued again on the target queue.
* After ``call.wrapped`` an agent is available again *without* a separate ``agent.state`` event,
  unless a not-ready or logout is due: those follow at the same instant.
* Agents log in at their shift start (``agent.login`` then ``agent.state available``), take
  breaks, lunch and training (``agent.state not_ready``; a break due during a call starts after
  its wrap-up) and log out at shift end (after the call in hand).

Call order: iterate (``for ev in sim`` / ``next(sim)``) or pull slices with
:meth:`FloorSimulation.events_until`; both advance the same state. State is bounded by the floor
size and the calls in progress, never by the length of the run.

Pure: no clock, no I/O. All randomness comes from ``random.Random`` streams seeded from
``seed``, one per concern (shifts, callers, work, arrivals per queue), so an incident changes
only what it touches and a with/without comparison is fair.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from floorwatch.sim import profile as prof
from floorwatch.sim.config import FAILURE_REASONS, SERVICE_OUTCOMES, SimConfig, TeamConfig
from floorwatch.sim.incidents import AgentParks, AhtJump, ArrivalSurge, ProjectSlowdown, TeamLunch
from floorwatch.sim.shifts import PlanItem, day_plan
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
    Outcome,
)

_FOREVER = math.inf


@dataclass(eq=False, slots=True)
class _Call:
    id: str
    queue: str
    campaign: str | None
    queued_at: float
    leg: int = 0
    state: str = "waiting"  # waiting | ringing | connected
    talk_s: float = 0.0
    factor: float = 1.0


@dataclass(eq=False, slots=True)
class _Agent:
    id: str
    team: TeamConfig
    seat: str
    status: str = "off"  # off | idle | ring | talk | hold | wrap | nr
    call: _Call | None = None
    reason: str | None = None
    nr_end: float = 0.0
    nr_token: int = 0
    forced: bool = False  # the current not-ready period is a team lunch or a park
    pending: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    logout_due: bool = False
    parked: str | None = None
    plan: deque[PlanItem] = field(default_factory=deque)


class FloorSimulation:
    """Iterator of canonical events of one simulated site. See the module docstring."""

    def __init__(self, config: SimConfig, *, seed: int, start: dt.datetime, run_id: str | None = None):
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if not config.queues or not config.teams:
            raise ValueError("a floor needs at least one queue and one team")
        self.config = config
        self.start = start
        self.seed = seed
        # the start is part of the ids, so a restarted simulator is not swallowed by ingest dedup
        self.run_id = run_id or f"{seed}.{int(start.timestamp())}"
        # one stream per concern, all from the seed: an incident on one queue then changes
        # nothing else (same shifts, same arrivals elsewhere), which makes A/B runs comparable
        self._shift_rng = random.Random(f"{seed}/shifts")
        self._caller_rng = random.Random(f"{seed}/callers")
        self._work_rng = random.Random(f"{seed}/work")
        self._arrival_rng = {q.name: random.Random(f"{seed}/arrivals/{q.name}") for q in config.queues}
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._out: deque[Event] = deque()
        self._now = 0.0
        self._n_events = 0
        self._n_calls = 0
        self._queues = {q.name: q for q in config.queues}
        self._prio = {q.name: q.priority or 0 for q in config.queues}
        self._waiting: dict[str, OrderedDict[str, _Call]] = {q: OrderedDict() for q in self._queues}
        self._idle: dict[str, OrderedDict[str, _Agent]] = {q: OrderedDict() for q in self._queues}
        self._projects = {p.name: p for p in config.projects}
        self._agents, self._teams = self._build_agents()
        check_incidents(config)
        self._base_rate = self._arrival_rates()
        self._push(0.0, self._on_day, 0)
        for name in self._queues:
            self._schedule_arrival(name)
        for inc in config.incidents:
            if isinstance(inc, TeamLunch):
                self._push(inc.at_minute * 60, self._on_team_lunch, inc)
            elif isinstance(inc, AgentParks):
                self._push(inc.at_minute * 60, self._on_park, inc)

    # ---- public -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        while not self._out:
            self._step()
        return self._out.popleft()

    def events_until(self, until: dt.datetime) -> list[Event]:
        """Advance and return every not-yet-returned event with ``ts < until`` (half-open)."""
        limit = (until - self.start).total_seconds()
        batch: list[Event] = []
        while True:
            while self._out and self._out[0].ts < until:
                batch.append(self._out.popleft())
            if self._out or self._heap[0][0] >= limit:
                return batch
            self._step()

    def offset_s(self, event: Event) -> float:
        """Seconds of event time since the start."""
        return (event.ts - self.start).total_seconds()

    def sizes(self) -> dict[str, int]:
        """Sizes of the internal state (for tests and benchmarks: it must not grow with time)."""
        return {
            "scheduled": len(self._heap),
            "waiting": sum(len(w) for w in self._waiting.values()),
            "idle_entries": sum(len(i) for i in self._idle.values()),
            "pending_not_ready": sum(len(a.pending) for a in self._agents.values()),
            "plan_items": sum(len(a.plan) for a in self._agents.values()),
            "buffered": len(self._out),
        }

    # ---- engine -------------------------------------------------------------------------------

    def _push(self, at: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (round(max(at, self._now), 3), next(self._seq), fn, args))

    def _step(self) -> None:
        at, _, fn, args = heapq.heappop(self._heap)  # never empty: each day schedules the next
        self._now = at
        fn(*args)

    def _emit(self, cls: type[Any], **fields: Any) -> None:
        self._n_events += 1
        ts = self.start + dt.timedelta(seconds=self._now)
        ev = cls(
            v=1,
            id=f"{self.run_id}-{self._n_events}",
            source=self.config.source,
            ts=ts,
            site=self.config.site,
            **fields,
        )
        self._out.append(ev)

    @staticmethod
    def _lognormal(rng: random.Random, mean: float, cv: float) -> float:
        if mean <= 0:
            return 0.0
        sigma2 = math.log1p(cv * cv)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    def _minute(self) -> float:
        return self._now / 60

    # ---- set-up -------------------------------------------------------------------------------

    def _build_agents(self) -> tuple[dict[str, _Agent], dict[str, list[_Agent]]]:
        ids = iter(self.config.agent_ids())
        agents: dict[str, _Agent] = {}
        teams: dict[str, list[_Agent]] = {}
        for team in self.config.teams:
            members = []
            for i in range(self.config.team_sizes()[team.name]):
                agent = _Agent(
                    next(ids), team, seat=f"{team.prefix.upper()}-{i // 10 + 1:02d}-{i % 10 + 1:02d}"
                )
                members.append(agent)
                agents[agent.id] = agent
            teams[team.name] = members
        return agents, teams

    def _arrival_rates(self) -> dict[str, float]:
        shares = sum(q.share for q in self.config.queues) or 1.0
        per_s = self.config.calls_per_hour * self.config.scale / 3600
        return {q.name: per_s * q.share / shares for q in self.config.queues}

    # ---- days and agents ----------------------------------------------------------------------

    def _on_day(self, day: int) -> None:
        day_start = day * self.config.day_s
        for team in self.config.teams:
            for agent in self._teams[team.name]:
                was_empty = not agent.plan
                agent.plan.extend(
                    day_plan(team, self.config.breaks, day_start, self.config.day_s, self._shift_rng)
                )
                if was_empty:
                    self._push(agent.plan[0].at_s, self._on_plan, agent)
        self._push(day_start + self.config.day_s, self._on_day, day + 1)

    def _on_plan(self, agent: _Agent) -> None:
        item = agent.plan.popleft()
        if item.kind == "login":
            self._login(agent)
        elif item.kind == "logout":
            self._shift_over(agent)
        else:
            assert item.reason is not None
            self._request_not_ready(agent, item.reason, duration=item.duration_s)
        if agent.plan:
            self._push(agent.plan[0].at_s, self._on_plan, agent)

    def _login(self, agent: _Agent) -> None:
        if agent.status != "off":
            return
        team = agent.team
        self._emit(AgentLogin, agent=agent.id, team=team.name, queues=list(team.skills), seat=agent.seat)
        if agent.parked:  # parked before the shift began: straight to not ready
            agent.status = "idle"
            self._start_not_ready(agent, agent.parked, None, None)
            return
        self._emit(AgentStateChanged, agent=agent.id, state="available")
        self._become_idle(agent)

    def _shift_over(self, agent: _Agent) -> None:
        if agent.status in ("idle", "nr"):
            self._logout(agent)
        elif agent.status != "off":
            agent.logout_due = True

    def _logout(self, agent: _Agent) -> None:
        self._leave_idle(agent)
        self._emit(AgentLogout, agent=agent.id)
        agent.status, agent.reason, agent.parked, agent.logout_due = "off", None, None, False
        agent.pending.clear()
        agent.nr_token += 1

    def _on_team_lunch(self, inc: TeamLunch) -> None:
        until = (inc.at_minute + inc.minutes) * 60
        for agent in self._teams[inc.team]:
            self._request_not_ready(agent, inc.reason, until=until)

    def _on_park(self, inc: AgentParks) -> None:
        agent = self._agents[inc.agent]
        agent.parked = inc.reason
        self._request_not_ready(agent, inc.reason)

    def _request_not_ready(
        self, agent: _Agent, reason: str, *, duration: float | None = None, until: float | None = None
    ) -> None:
        """Not ready now if idle / already not ready, else after the call in hand.
        No duration and no ``until`` means until the shift ends (a parked agent)."""
        if agent.status == "off":
            return
        if agent.status in ("idle", "nr"):
            self._start_not_ready(agent, reason, duration, until)
        else:
            agent.pending.append((reason, duration, until))

    def _start_not_ready(
        self, agent: _Agent, reason: str, duration: float | None, until: float | None
    ) -> None:
        if until is not None:
            end = until
        elif duration is not None:
            end = self._now + duration
        else:
            end = _FOREVER
        forced = duration is None
        if end <= self._now or (
            agent.status == "nr" and (end <= agent.nr_end or (agent.forced and not forced))
        ):
            return  # already over, covered by the current period, or absorbed by a team lunch / park
        if agent.status != "nr" or reason != agent.reason or end == _FOREVER:  # a park is announced
            self._emit(AgentStateChanged, agent=agent.id, state="not_ready", reason=reason)
        self._leave_idle(agent)
        agent.status, agent.reason, agent.nr_end, agent.forced = "nr", reason, end, forced
        agent.nr_token += 1
        if end != _FOREVER:
            self._push(end, self._on_not_ready_over, agent, agent.nr_token)

    def _on_not_ready_over(self, agent: _Agent, token: int) -> None:
        if token != agent.nr_token or agent.status != "nr":
            return
        self._emit(AgentStateChanged, agent=agent.id, state="available")
        agent.reason = None
        self._become_idle(agent)

    def _after_work(self, agent: _Agent) -> None:
        if agent.logout_due:
            self._logout(agent)
            return
        pending, agent.pending = agent.pending, []
        agent.status = "idle"
        for reason, duration, until in pending:
            self._start_not_ready(agent, reason, duration, until)
        if agent.status == "idle":
            self._become_idle(agent)

    # ---- routing ------------------------------------------------------------------------------

    def _become_idle(self, agent: _Agent) -> None:
        """The agent is available: take the best waiting call, or join the idle lists."""
        agent.status = "idle"
        best: _Call | None = None
        best_key: tuple[int, float] | None = None
        for q in agent.team.skills:
            waiting = self._waiting[q]
            if waiting:
                call = next(iter(waiting.values()))
                key = (-self._prio[q], call.queued_at)
                if best_key is None or key < best_key:
                    best, best_key = call, key
        if best is not None:
            del self._waiting[best.queue][best.id]
            self._connect(agent, best)
            return
        for q in agent.team.skills:
            self._idle[q][agent.id] = agent  # appended last: the front is the longest idle

    def _leave_idle(self, agent: _Agent) -> None:
        for q in agent.team.skills:
            self._idle[q].pop(agent.id, None)

    def _enqueue(self, call: _Call) -> None:
        qc = self._queues[call.queue]
        call.state, call.queued_at = "waiting", self._now
        self._emit(CallQueued, call=call.id, queue=call.queue, campaign=call.campaign, priority=qc.priority)
        patience = self._lognormal(self._caller_rng, qc.patience_s, qc.patience_cv)
        self._push(self._now + patience, self._on_patience_over, call, call.leg)
        idle = self._idle[call.queue]
        if idle:
            self._connect(next(iter(idle.values())), call)
        else:
            self._waiting[call.queue][call.id] = call

    def _connect(self, agent: _Agent, call: _Call) -> None:
        self._leave_idle(agent)
        agent.status, agent.call, call.state = "ring", call, "ringing"
        lo, hi = self.config.ring_s
        self._push(self._now + self._work_rng.uniform(lo, hi), self._on_answer, agent, call)

    def _on_patience_over(self, call: _Call, leg: int) -> None:
        if call.state != "waiting" or call.leg != leg:
            return
        del self._waiting[call.queue][call.id]
        call.state = "gone"
        self._emit(
            CallAbandoned,
            call=call.id,
            queue=call.queue,
            wait_s=round(self._now - call.queued_at, 3),
            cause="caller",
        )

    # ---- arrivals -----------------------------------------------------------------------------

    def _rate(self, queue: str, at_s: float) -> float:
        day_min = (at_s / 60) % (self.config.day_s / 60)
        rate = self._base_rate[queue] * prof.level(self.config.profile, day_min, self.config.open_min)
        for inc in self.config.incidents:
            if isinstance(inc, ArrivalSurge) and inc.queue == queue and inc.active(at_s / 60):
                rate *= inc.factor
        return rate

    def _schedule_arrival(self, queue: str) -> None:
        """Next arrival by inverting the cumulative rate (time change of a unit Poisson process).

        The rate is taken per whole minute at its midpoint, which integrates the linear profile
        exactly; surges therefore act to the minute. Unlike thinning, a surge does not reshuffle
        the arrivals before it."""
        if self._base_rate[queue] <= 0 or prof.peak(self.config.profile) <= 0:
            return
        need = self._arrival_rng[queue].expovariate(1.0)
        at = self._now
        while True:
            minute = math.floor(at / 60)
            rate = self._rate(queue, minute * 60 + 30)
            room = rate * ((minute + 1) * 60 - at)
            if rate > 0 and room >= need:
                at += need / rate
                break
            need -= room
            at = (minute + 1) * 60
        self._push(at, self._on_arrival, queue)

    def _on_arrival(self, queue: str) -> None:
        self._n_calls += 1
        campaigns = self._queues[queue].campaigns
        campaign = (
            self._caller_rng.choices([c for c, _ in campaigns], [w for _, w in campaigns])[0]
            if campaigns
            else None
        )
        self._enqueue(_Call(f"c{self.run_id}-{self._n_calls}", queue, campaign, self._now))
        self._schedule_arrival(queue)

    # ---- a call in the hands of an agent ------------------------------------------------------

    def _aht_factor(self, queue: str) -> float:
        factor = 1.0
        for inc in self.config.incidents:
            if isinstance(inc, AhtJump) and inc.queue == queue and inc.active(self._minute()):
                factor *= inc.factor
        return factor

    def _on_answer(self, agent: _Agent, call: _Call) -> None:
        qc = self._queues[call.queue]
        self._emit(
            CallAnswered,
            call=call.id,
            queue=call.queue,
            agent=agent.id,
            wait_s=round(self._now - call.queued_at, 3),
        )
        agent.status, call.state = "talk", "connected"
        call.factor = self._aht_factor(call.queue)
        call.talk_s = talk = self._lognormal(self._work_rng, qc.talk_s * call.factor, qc.talk_cv)
        if self._work_rng.random() < qc.hold_p:
            before = talk * self._work_rng.uniform(0.2, 0.8)
            hold = self._lognormal(self._work_rng, qc.hold_s * call.factor, 0.6)
            self._push(self._now + before, self._on_hold, agent, call, hold, talk - before)
        else:
            self._push(self._now + talk, self._on_talk_over, agent, call)

    def _on_hold(self, agent: _Agent, call: _Call, hold: float, rest: float) -> None:
        self._emit(CallHeld, call=call.id, agent=agent.id)
        agent.status = "hold"
        self._push(self._now + hold, self._on_resume, agent, call, rest)

    def _on_resume(self, agent: _Agent, call: _Call, rest: float) -> None:
        self._emit(CallResumed, call=call.id, agent=agent.id)
        agent.status = "talk"
        self._push(self._now + rest, self._on_talk_over, agent, call)

    def _on_talk_over(self, agent: _Agent, call: _Call) -> None:
        qc = self._queues[call.queue]
        queue, campaign = call.queue, call.campaign
        transfer_to = qc.transfer_to if qc.transfer_p and self._work_rng.random() < qc.transfer_p else None
        if transfer_to is not None:
            self._emit(CallTransferred, call=call.id, agent=agent.id, to_queue=transfer_to)
        self._emit(CallEnded, call=call.id, agent=agent.id, talk_s=round(call.talk_s, 3))
        agent.status, agent.call = "wrap", None
        wrap = self._lognormal(self._work_rng, qc.wrap_s * call.factor, qc.wrap_cv)
        self._push(
            self._now + wrap, self._on_wrapped, agent, call.id, queue, campaign, transfer_to is not None
        )
        if transfer_to is not None:
            tc = self._queues[transfer_to].campaigns
            call.leg += 1
            call.queue = transfer_to
            call.campaign = (
                self._caller_rng.choices([c for c, _ in tc], [w for _, w in tc])[0] if tc else None
            )
            self._enqueue(call)

    def _on_wrapped(
        self, agent: _Agent, call_id: str, queue: str, campaign: str | None, transferred: bool
    ) -> None:
        self._emit(CallWrapped, call=call_id, agent=agent.id, outcome=self._outcome(campaign, transferred))
        self._after_work(agent)

    def _outcome(self, campaign: str | None, transferred: bool) -> Outcome:
        if transferred:
            return Outcome(code="transferred")
        if campaign is None:
            return Outcome(code=_pick(self._work_rng, SERVICE_OUTCOMES))
        project = self._projects[campaign]
        p = project.conversion
        for inc in self.config.incidents:
            if isinstance(inc, ProjectSlowdown) and inc.project == campaign and inc.active(self._minute()):
                p *= inc.factor
        if self._work_rng.random() < p:
            return Outcome(code=project.success_code, success=True)
        code = _pick(self._work_rng, FAILURE_REASONS)
        follow_up = self.start + dt.timedelta(seconds=self._now, days=1) if code == "call_back" else None
        return Outcome(code=code, success=False, follow_up_at=follow_up)


def check_incidents(config: SimConfig) -> None:
    """Raise ValueError if an incident names a queue, team, agent or project the floor lacks."""
    queues = [q.name for q in config.queues]
    teams = [t.name for t in config.teams]
    projects = [p.name for p in config.projects]
    agents: set[str] | None = None
    for inc in config.incidents:
        if isinstance(inc, AhtJump | ArrivalSurge) and inc.queue not in queues:
            raise ValueError(f"incident {inc.spec()}: unknown queue {inc.queue!r}; have {queues}")
        if isinstance(inc, TeamLunch) and inc.team not in teams:
            raise ValueError(f"incident {inc.spec()}: unknown team {inc.team!r}; have {teams}")
        if isinstance(inc, ProjectSlowdown) and inc.project not in projects:
            raise ValueError(f"incident {inc.spec()}: unknown project {inc.project!r}; have {projects}")
        if isinstance(inc, AgentParks):
            agents = agents if agents is not None else set(config.agent_ids())
            if inc.agent not in agents:
                raise ValueError(
                    f"incident {inc.spec()}: unknown agent {inc.agent!r} "
                    f"(ids are team prefix + number, e.g. {config.agent_ids()[0]})"
                )


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def events_between(
    config: SimConfig, *, seed: int, start: dt.datetime, t0: dt.datetime, t1: dt.datetime
) -> list[Event]:
    """Events with ``t0 <= ts < t1`` of the run (config, seed, start): a fresh simulation,
    so the cost grows with ``t1 - start``."""
    sim = FloorSimulation(config, seed=seed, start=start)
    sim.events_until(t0)
    return sim.events_until(t1)
