"""A reference reading of a simulated event stream: replays it and lists every violation of
the call and agent lifecycle, so tests can assert the list is empty (and that it is not for a
broken stream)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

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


@dataclass
class _CallState:
    state: str  # waiting | talk | hold | ended | transferred_out | gone
    queue: str
    since: dt.datetime
    agent: str | None = None
    transferring: bool = False


@dataclass
class FloorCheck:
    violations: list[str] = field(default_factory=list)
    calls: dict[str, _CallState] = field(default_factory=dict)
    agents: dict[str, str] = field(
        default_factory=dict
    )  # off | login | available | not_ready | busy:c | wrap:c
    wraps: int = 0

    def bad(self, ev: Event, why: str) -> None:
        self.violations.append(f"{ev.ts.isoformat()} {type(ev).__name__} {why}")

    def feed(self, ev: Event) -> None:
        match ev:
            case AgentLogin(agent=a):
                if self.agents.get(a, "off") != "off":
                    self.bad(ev, f"{a} logs in twice")
                self.agents[a] = "login"
            case AgentLogout(agent=a):
                if self.agents.get(a, "off") not in ("login", "available", "not_ready"):
                    self.bad(ev, f"{a} logs out while {self.agents.get(a, 'off')}")
                self.agents[a] = "off"
            case AgentStateChanged(agent=a, state=s):
                if self.agents.get(a, "off") not in ("login", "available", "not_ready"):
                    self.bad(ev, f"{a} changes to {s} while {self.agents.get(a, 'off')}")
                self.agents[a] = s
            case CallQueued(call=c, queue=q):
                known = self.calls.get(c)
                if known is not None and known.state != "transferred_out":
                    self.bad(ev, f"{c} queued again while {known.state}")
                self.calls[c] = _CallState("waiting", q, ev.ts)
            case CallAnswered(call=c, queue=q, agent=a, wait_s=w):
                call = self._call(ev, c, "waiting")
                if call and call.queue != q:
                    self.bad(ev, f"{c} answered on {q} but waits on {call.queue}")
                if call and w is not None and abs(w - (ev.ts - call.since).total_seconds()) > 0.002:
                    self.bad(ev, f"{c} wait_s {w} does not match the queue time")
                if self.agents.get(a, "off") != "available":
                    self.bad(ev, f"{a} answers while {self.agents.get(a, 'off')}")
                self.agents[a] = f"busy:{c}"
                if call:
                    call.state, call.agent = "talk", a
            case CallAbandoned(call=c, queue=q, wait_s=w):
                call = self._call(ev, c, "waiting")
                if call and w is not None and abs(w - (ev.ts - call.since).total_seconds()) > 0.002:
                    self.bad(ev, f"{c} wait_s {w} does not match the queue time")
                if call:
                    call.state = "gone"
            case CallHeld(call=c, agent=a):
                self._move(ev, c, a, "talk", "hold")
            case CallResumed(call=c, agent=a):
                self._move(ev, c, a, "hold", "talk")
            case CallTransferred(call=c, agent=a):
                call = self._call(ev, c, "talk", a)
                if call:
                    call.transferring = True
            case CallEnded(call=c, agent=a):
                call = self._call(ev, c, "talk", a)
                if call:
                    call.state = "transferred_out" if call.transferring else "ended"
                    call.transferring = False
                if self.agents.get(a) != f"busy:{c}":
                    self.bad(ev, f"{a} ends {c} while {self.agents.get(a)}")
                self.agents[a] = f"wrap:{c}"
            case CallWrapped(call=c, agent=a):
                if self.agents.get(a) != f"wrap:{c}":
                    self.bad(ev, f"{a} wraps {c} while {self.agents.get(a)}")
                self.agents[a] = "available"
                self.wraps += 1

    def _call(self, ev: Event, c: str, state: str, agent: str | None = None) -> _CallState | None:
        call = self.calls.get(c)
        if call is None:
            self.bad(ev, f"{c} was never queued")
            return None
        if call.state != state or (agent is not None and call.agent != agent):
            self.bad(ev, f"{c} is {call.state} with {call.agent}, expected {state} with {agent}")
        return call

    def _move(self, ev: Event, c: str, a: str, before: str, after: str) -> None:
        call = self._call(ev, c, before, a)
        if call:
            call.state = after


def violations(events: Iterable[Event]) -> list[str]:
    check = FloorCheck()
    for ev in events:
        check.feed(ev)
    return check.violations
