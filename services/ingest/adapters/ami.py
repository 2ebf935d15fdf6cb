"""Asterisk Manager Interface (AMI) events → canonical events.

One record is one AMI event block: ``Key: Value`` lines (``Event: AgentConnect``, ``Uniqueid: …``).
The queue events carry the call's story (``QueueCallerJoin`` → ``AgentConnect`` → ``AgentComplete``);
channel, dialplan, RTCP and device events are noise here and are counted in ``ignored``.

Ids are ``Uniqueid:Event:SequenceNumber`` (a hash of the block when there is no SequenceNumber). AMI
prints an event once per manager session, so the same event can arrive twice: the adapter remembers
the answers it gave for recent blocks and repeats them for a redelivered one, byte for byte, without
touching its call state again.

Time: with ``timestampevents = yes`` in ``manager.conf`` every event has a ``Timestamp`` header and
that is used. Without it, the adapter estimates, deterministically from the events alone: a
channel's ``Uniqueid`` starts with its creation epoch, the member channel is created when it starts
ringing (so connect ≈ ``DestUniqueid`` + ``RingTime``), completion = connect + ``TalkTime``; any other
event takes the latest time evidence seen so far. Evidence before 1980-01-01 or from 2100-01-01 on,
or more than a day ahead of the current estimate, is ignored (the estimate only moves forward, so one
garbled block could otherwise hold it in the future). Enable ``timestampevents`` for exact times.

Call state is written only after a record's events are made, so a rejected record leaves it as it
was. Values the state keeps are first checked against the canonical limits (ids 128, names 64
characters), so oversized values cannot fill memory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.ingest.adapters.base import (
    MAX_ID,
    MAX_NAME,
    AdapterBase,
    BoundedMap,
    clip,
    event_id,
    record_hash,
    seconds,
    utc_from_epoch,
)
from shared.events import (
    EARLIEST,
    LATEST,
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
    InvalidEvent,
)

_KEY_LINE = re.compile(rb"^[A-Za-z][\w()./-]*:(?: |$)")
_UNIQUEID_EPOCH = re.compile(r"(\d{9,11})\.\d+$")
_EVIDENCE_FROM = EARLIEST.timestamp()
_EVIDENCE_UNTIL = LATEST.timestamp()  # excluded
_MAX_LEAP_S = 86_400.0  # evidence further ahead of the estimate than this is ignored


def iter_ami_blocks(data: bytes) -> Iterator[bytes]:
    """The AMI event / response blocks in a raw AMI stream or a console capture.

    A block is a run of ``Key: Value`` lines; anything else (blank lines, the capture's
    ``<-- Examining AMI event: -->`` markers, verbose dialplan lines, the AMI banner) ends it. Only
    runs that contain an ``Event:`` or ``Response:`` line are blocks.
    """
    block: list[bytes] = []
    for raw in data.splitlines():
        line = raw.rstrip(b"\r")
        if _KEY_LINE.match(line):
            block.append(line)
            continue
        if block:
            yield from _finish(block)
            block = []
    if block:
        yield from _finish(block)


def _finish(block: list[bytes]) -> Iterator[bytes]:
    if any(line.startswith((b"Event:", b"Response:")) for line in block):
        yield b"\n".join(block) + b"\n"


def parse_block(value: bytes) -> dict[str, str]:
    """``Key: Value`` lines → dict (the first of repeated keys wins); ``InvalidEvent`` otherwise."""
    fields: dict[str, str] = {}
    for line in value.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        key, sep, val = line.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            raise InvalidEvent(f"not an AMI 'Key: Value' line: {line[:80]!r}")
        fields.setdefault(key, val.strip())
    if not fields:
        raise InvalidEvent("empty AMI record")
    return fields


@dataclass(slots=True)
class _Call:
    queue: str
    joined: float | None
    agent: str | None = None
    connected: float | None = None
    agent_uid: str | None = None
    left: tuple[float | None, str] | None = None  # (when, id of the QueueCallerLeave) until resolved


class AmiAdapter(AdapterBase):
    """AMI event blocks → canonical events, keeping a little state per queued call.

    Options: ``emit_wrapped`` (default True: AMI has no after-call-work event, so ``call.wrapped``
    follows ``call.ended`` at once; False when another source reports wrap-up); ``max_calls``
    (calls tracked at once, default 10 000, oldest forgotten first); ``replay_window`` (recent
    blocks whose answers are remembered for redelivery, default 4096).
    """

    name = "asterisk-ami"

    def __init__(
        self,
        *,
        site: str,
        source: str,
        emit_wrapped: bool = True,
        max_calls: int = 10_000,
        replay_window: int = 4096,
    ) -> None:
        super().__init__(site=site, source=source)
        self.emit_wrapped = emit_wrapped
        self.redelivered = 0
        self._calls: BoundedMap[str, _Call] = BoundedMap(max_calls)
        self._agent_side: BoundedMap[str, str] = BoundedMap(max_calls)  # member channel uid → caller uid
        self._answers: BoundedMap[str, tuple[list[Event], str | None]] = BoundedMap(replay_window)
        self._clock: float | None = None

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        f = parse_block(value)
        name = f.get("Event")
        if name is None:
            if "Response" in f:
                return self._ignore("(Response)")
            raise InvalidEvent("AMI block without an 'Event:' line")
        seq = f.get("SequenceNumber")
        base = event_id(f.get("Uniqueid") or "-", name, seq) if seq else event_id(name, record_hash(value))
        cached = self._answers.get(base)
        if cached is not None:
            self.redelivered += 1
            events, ignored_as = cached
            if ignored_as:
                self._ignore(ignored_as)
            return list(events)
        clock = self._clock
        self._observe(f)
        handler = getattr(self, f"_on_{name.lower()}", None)
        try:
            events = handler(f, base) if handler else []
        except BaseException:
            self._clock = clock  # a rejected record leaves no trace, not even its time evidence
            raise
        ignored_as = None if events else name[:64]  # includes state-only events (Leave, Hangup)
        if ignored_as:
            self._ignore(ignored_as)
        self._answers.put(base, (list(events), ignored_as))
        return events

    # -- time ----------------------------------------------------------------------------------

    def _observe(self, f: dict[str, str]) -> None:
        """Advance the evidence clock from a Timestamp header or channel creation epochs.

        Evidence outside 1980-01-01 .. 2100-01-01, or more than a day ahead of the current
        estimate, is ignored: the clock never moves back, so one garbled value would otherwise
        date every later event that relies on the estimate.
        """
        seen: list[float] = []
        if "Timestamp" in f:
            seen.append(utc_from_epoch(f["Timestamp"]).timestamp())
        for k in ("Uniqueid", "DestUniqueid", "Linkedid"):
            m = _UNIQUEID_EPOCH.search(f.get(k, ""))
            if m:
                seen.append(float(m.group(1)))
        for when in seen:
            if not _EVIDENCE_FROM <= when < _EVIDENCE_UNTIL:
                continue
            if self._clock is None or self._clock < when <= self._clock + _MAX_LEAP_S:
                self._clock = when

    def _when(self, f: dict[str, str], estimate: float | None = None) -> float:
        if "Timestamp" in f:
            return utc_from_epoch(f["Timestamp"]).timestamp()
        when = estimate if estimate is not None else self._clock
        if when is None:
            raise InvalidEvent(
                f"AMI {f.get('Event')}: no Timestamp header and no time evidence yet (enable timestampevents)"
            )
        return when

    @staticmethod
    def _at(when: float) -> dt.datetime:
        return utc_from_epoch(when)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _need(f: dict[str, str], *keys: str) -> list[str]:
        missing = [k for k in keys if not f.get(k)]
        if missing:
            raise InvalidEvent(f"AMI {f.get('Event')} without {', '.join(missing)}")
        return [f[k] for k in keys]

    @staticmethod
    def _check_length(f: dict[str, str], field: str, value: str | None, limit: int) -> None:
        """Reject a value longer than the canonical limit before the adapter keeps it."""
        if value is not None and len(value) > limit:
            raise InvalidEvent(
                f"AMI {f.get('Event')}: {field} is {len(value):,} characters, more than {limit}"
            )

    def _check_call(self, f: dict[str, str], uid: str, queue: str | None = None) -> None:
        self._check_length(f, "Uniqueid", uid, MAX_ID)
        self._check_length(f, "Queue", queue, MAX_NAME)

    @staticmethod
    def _member(f: dict[str, str]) -> str:
        member = f.get("MemberName") or f.get("Interface") or f.get("Location") or f.get("Name")
        if not member:
            raise InvalidEvent(f"AMI {f.get('Event')} without MemberName/Interface")
        AmiAdapter._check_length(f, "member (MemberName/Interface)", member, MAX_ID)
        return member

    def _unresolved_leave(self, uid: str, call: _Call) -> list[Event]:
        """A caller left the queue and neither AgentConnect nor QueueCallerAbandon followed."""
        if call.left is None:
            return []
        when, leave_id = call.left
        wait = (
            when - call.joined
            if when is not None and call.joined is not None and when >= call.joined
            else None
        )
        at = when if when is not None else self._when({})
        abandoned = self._make(
            CallAbandoned,
            event_id(leave_id, "call.abandoned"),
            self._at(at),
            call=uid,
            queue=call.queue,
            wait_s=wait,
        )
        call.left = None
        return [abandoned]

    # -- queue events (Asterisk 12+ names, with the 1.8/11 aliases) ---------------------------

    def _on_queuecallerjoin(self, f: dict[str, str], base: str) -> list[Event]:
        uid, queue = self._need(f, "Uniqueid", "Queue")
        self._check_call(f, uid, queue)
        when = self._when(f)
        queued = self._make(CallQueued, event_id(base, "call.queued"), self._at(when), call=uid, queue=queue)
        events: list[Event] = []
        previous = self._calls.get(uid)
        if previous is not None:
            events += self._unresolved_leave(uid, previous)
        self._calls.put(uid, _Call(queue=queue, joined=when))
        events.append(queued)
        return events

    _on_join = _on_queuecallerjoin

    def _on_queuecallerleave(self, f: dict[str, str], base: str) -> list[Event]:
        call = self._calls.get(f.get("Uniqueid", ""))
        if call is not None and call.agent is None:
            call.left = (self._when(f) if "Timestamp" in f else self._clock, base)
        return []  # resolved by AgentConnect, QueueCallerAbandon, a new join or the Hangup

    _on_leave = _on_queuecallerleave

    def _on_queuecallerabandon(self, f: dict[str, str], base: str) -> list[Event]:
        uid, queue = self._need(f, "Uniqueid", "Queue")
        self._check_call(f, uid, queue)
        wait = seconds(f.get("HoldTime"), "HoldTime")
        call = self._calls.get(uid)
        estimate = call.joined + wait if call and call.joined is not None and wait is not None else None
        when = self._when(f, estimate)
        abandoned = self._make(
            CallAbandoned,
            event_id(base, "call.abandoned"),
            self._at(when),
            call=uid,
            queue=queue,
            wait_s=wait,
            cause="caller",
        )
        self._calls.pop(uid)
        return [abandoned]

    def _on_agentconnect(self, f: dict[str, str], base: str) -> list[Event]:
        uid, queue = self._need(f, "Uniqueid", "Queue")
        self._check_call(f, uid, queue)
        agent = self._member(f)
        self._check_length(f, "DestUniqueid", f.get("DestUniqueid"), MAX_ID)
        wait = seconds(f.get("HoldTime"), "HoldTime")
        ring = seconds(f.get("RingTime"), "RingTime")
        m = _UNIQUEID_EPOCH.search(f.get("DestUniqueid", ""))
        when = self._when(f, float(m.group(1)) + (ring or 0.0) if m else None)
        answered = self._make(
            CallAnswered,
            event_id(base, "call.answered"),
            self._at(when),
            call=uid,
            queue=queue,
            agent=agent,
            wait_s=wait,
        )
        call = self._calls.get(uid) or _Call(queue=queue, joined=None)
        call.agent, call.connected, call.left, call.agent_uid = agent, when, None, f.get("DestUniqueid")
        self._calls.put(uid, call)
        if call.agent_uid:
            self._agent_side.put(call.agent_uid, uid)
        return [answered]

    def _on_agentcomplete(self, f: dict[str, str], base: str) -> list[Event]:
        (uid,) = self._need(f, "Uniqueid")
        self._check_call(f, uid)
        agent = self._member(f)
        talk = seconds(f.get("TalkTime"), "TalkTime")
        call = self._calls.get(uid)
        connected = call.connected if call else None
        when = self._at(
            self._when(f, connected + talk if connected is not None and talk is not None else None)
        )
        events: list[Event] = []
        if f.get("Reason", "").lower() == "transfer":
            events.append(
                self._make(CallTransferred, event_id(base, "call.transferred"), when, call=uid, agent=agent)
            )
        events.append(
            self._make(CallEnded, event_id(base, "call.ended"), when, call=uid, agent=agent, talk_s=talk)
        )
        if self.emit_wrapped:
            events.append(
                self._make(CallWrapped, event_id(base, "call.wrapped"), when, call=uid, agent=agent)
            )
        self._calls.pop(uid)
        if call is not None and call.agent_uid:
            self._agent_side.pop(call.agent_uid)
        return events

    def _on_hangup(self, f: dict[str, str], base: str) -> list[Event]:
        uid = f.get("Uniqueid", "")
        call = self._calls.get(uid)
        if call is None or call.agent is not None:
            return []  # not a waiting caller; AgentComplete closes answered calls
        events = self._unresolved_leave(uid, call)
        self._calls.pop(uid)
        return events

    def _hold(self, f: dict[str, str], base: str, cls: Callable[..., Event]) -> list[Event]:
        uid = f.get("Uniqueid", "")
        caller = uid if uid in self._calls else self._agent_side.get(uid)
        call = self._calls.get(caller) if caller else None
        if caller is None or call is None or call.agent is None:
            return []
        tag = "call.held" if cls is CallHeld else "call.resumed"
        return [self._make(cls, event_id(base, tag), self._at(self._when(f)), call=caller, agent=call.agent)]

    def _on_hold(self, f: dict[str, str], base: str) -> list[Event]:
        return self._hold(f, base, CallHeld)

    def _on_unhold(self, f: dict[str, str], base: str) -> list[Event]:
        return self._hold(f, base, CallResumed)

    # -- members and agents ---------------------------------------------------------------------

    def _on_queuememberadded(self, f: dict[str, str], base: str) -> list[Event]:
        (queue,) = self._need(f, "Queue")
        at = self._at(self._when(f))
        return [
            self._make(AgentLogin, event_id(base, "agent.login"), at, agent=self._member(f), queues=[queue])
        ]

    def _on_queuememberremoved(self, f: dict[str, str], base: str) -> list[Event]:
        return [
            self._make(
                AgentLogout, event_id(base, "agent.logout"), self._at(self._when(f)), agent=self._member(f)
            )
        ]

    def _on_queuememberpause(self, f: dict[str, str], base: str) -> list[Event]:
        paused = f.get("Paused", "").strip().lower() in ("1", "true", "yes")
        reason = clip(f.get("PausedReason") or f.get("Reason")) if paused else None
        return [
            self._make(
                AgentStateChanged,
                event_id(base, "agent.state"),
                self._at(self._when(f)),
                agent=self._member(f),
                state="not_ready" if paused else "available",
                reason=reason,
            )
        ]

    _on_queuememberpaused = _on_queuememberpause

    @staticmethod
    def _agent_name(f: dict[str, str]) -> str:
        (agent,) = AmiAdapter._need(f, "Agent")
        return agent if "/" in agent else f"Agent/{agent}"

    def _on_agentlogin(self, f: dict[str, str], base: str) -> list[Event]:
        return [
            self._make(
                AgentLogin, event_id(base, "agent.login"), self._at(self._when(f)), agent=self._agent_name(f)
            )
        ]

    def _on_agentlogoff(self, f: dict[str, str], base: str) -> list[Event]:
        return [
            self._make(
                AgentLogout,
                event_id(base, "agent.logout"),
                self._at(self._when(f)),
                agent=self._agent_name(f),
            )
        ]
