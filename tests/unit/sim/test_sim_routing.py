"""Routing: longest-idle agent with the skill; an agent who frees up takes the oldest call of
its highest-priority queue. Checked by replaying the stream with ring time 0, so a connection
is visible as ``call.answered`` at the instant it is made."""

from __future__ import annotations

import datetime as dt

from floorwatch.sim.config import default_config
from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallQueued,
    CallWrapped,
    Event,
)

from .simhelp import run


def routing_violations(events: list[Event], priority: dict[str, int]) -> tuple[list[str], int, int]:
    skills: dict[str, list[str]] = {}
    idle_since: dict[str, dt.datetime] = {}
    waiting: dict[str, dict[str, dt.datetime]] = {q: {} for q in priority}
    bad: list[str] = []
    direct = taken = 0
    for ev in events:
        match ev:
            case AgentLogin(agent=a, queues=qs):
                skills[a] = list(qs or [])
            case AgentStateChanged(agent=a, state="available"):
                idle_since[a] = ev.ts
            case AgentStateChanged(agent=a) | AgentLogout(agent=a):
                idle_since.pop(a, None)
            case CallWrapped(agent=a):
                idle_since[a] = ev.ts
            case CallQueued(call=c, queue=q):
                waiting[q][c] = ev.ts
            case CallAbandoned(call=c, queue=q):
                del waiting[q][c]
            case CallAnswered(call=c, queue=q, agent=a, wait_s=w):
                del waiting[q][c]
                if w == 0:  # connected on arrival: must be the longest idle with the skill
                    direct += 1
                    rivals = [idle_since[b] for b in idle_since if q in skills[b]]
                    if idle_since.get(a) != min(rivals):
                        bad.append(f"{ev.ts} {c}: {a} idle since {idle_since.get(a)}, longest {min(rivals)}")
                else:  # an agent freed up: must take the best waiting call of its skills
                    taken += 1
                    queued_at = ev.ts - dt.timedelta(seconds=w)
                    for other in skills[a]:
                        for d, since in waiting[other].items():
                            if (-priority[other], since) < (-priority[q], queued_at):
                                bad.append(f"{ev.ts} {a} took {c} on {q}, but {d} on {other} was ahead")
                idle_since.pop(a, None)
    return bad, direct, taken


def test_routing_follows_longest_idle_and_priority_fifo() -> None:
    # overloaded (x1.6) so that both kinds of connection happen often
    config = default_config(ring_s=(0.0, 0.0), calls_per_hour=240 * 1.6)
    priority = {q.name: q.priority or 0 for q in config.queues}
    bad, direct, taken = routing_violations(run(config, seed=6, hours=8), priority)
    assert bad == []
    assert direct > 300 and taken > 300


def test_the_routing_check_catches_a_most_recently_idle_choice() -> None:
    # forge a violation: give a direct answer to the agent who became idle last
    config = default_config(ring_s=(0.0, 0.0))
    events = run(config, seed=6, hours=3)
    priority = {q.name: q.priority or 0 for q in config.queues}
    i = next(
        i for i, e in enumerate(events)
        if isinstance(e, CallAnswered) and e.wait_s == 0 and e.queue == "sales" and i > 500
    )  # fmt: skip
    answered = events[i]
    recent = max(
        (e for e in events[:i] if isinstance(e, CallWrapped) and e.agent.startswith("cj")), key=lambda e: e.ts
    )
    forged = [*events[:i], CallAnswered(**{**_fields(answered), "agent": recent.agent})]
    bad, _, _ = routing_violations(forged, priority)
    assert bad and recent.agent in bad[-1]


def _fields(ev: Event) -> dict:
    return {f: getattr(ev, f) for f in ev.__struct_fields__}
