"""Amazon Connect agent event stream (Kinesis) → canonical events.

Each record is one agent event: ``LOGIN``, ``LOGOUT``, ``STATE_CHANGE`` or ``HEART_BEAT``, with the
agent's ``PreviousAgentSnapshot`` and ``CurrentAgentSnapshot``. The adapter diffs the two:

* ``AgentStatus`` — ``Available`` (or any status of type ``ROUTABLE``) → ``agent.state available``;
  any other named status (``Lunch``, ``Break``, ``Offline``…) → ``not_ready`` with the lower-cased
  name as reason. ``NextAgentStatus`` (a status queued behind the current contacts) is not a change
  yet and is ignored.
* ``Contacts`` — per ``ContactId``: → ``CONNECTED`` = ``call.answered``; ``CONNECTED`` ↔
  ``CONNECTED_ONHOLD`` = ``call.held`` / ``call.resumed``; ``CONNECTED`` → ``ENDED`` = ``call.ended``
  (the agent enters after-contact work; ``AgentStatus`` stays ``Available`` meanwhile); ``ENDED`` →
  gone = ``call.wrapped`` (ACW over); ``CONNECTED`` → gone = ``call.ended`` + ``call.wrapped``.

Ids are ``EventId:ContactId:type`` (``EventId:agent.state`` …), so a redelivered record dedups.
``HEART_BEAT`` only re-asserts a status the adapter has not seen for that agent (after a restart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from services.ingest.adapters.base import AdapterBase, BoundedMap, clip, event_id, parse_iso
from services.ingest.adapters.connect_common import (
    agent_name,
    check_agent_key,
    json_object,
    obj,
    queue_name,
)
from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallResumed,
    CallWrapped,
    Event,
    InvalidEvent,
)

Status = tuple[str, str | None]
_TALKING = ("CONNECTED", "CONNECTED_ONHOLD")


def status_of(snapshot: dict[str, Any]) -> Status | None:
    st = obj(snapshot, "AgentStatus")
    name, kind = st.get("Name"), st.get("Type")
    if not isinstance(name, str) and not isinstance(kind, str):
        return None
    if kind == "ROUTABLE" or name == "Available":
        return ("available", None)
    return ("not_ready", clip((name or kind or "").lower()))


def _team(config: dict[str, Any]) -> str | None:
    groups = obj(config, "AgentHierarchyGroups")
    names = [
        obj(groups, f"Level{i}").get("Name") or obj(groups, f"Level{i}").get("GroupName") for i in range(1, 6)
    ]
    named = [n for n in names if isinstance(n, str) and n.strip()]
    return clip(named[-1]) if named else None  # the deepest level is the agent's own team


def _queues(config: dict[str, Any]) -> list[str] | None:
    inbound = obj(config, "RoutingProfile").get("InboundQueues")
    names = [
        n
        for q in (inbound if isinstance(inbound, list) else [])
        if isinstance(q, dict) and (n := clip(q.get("Name") if isinstance(q.get("Name"), str) else None))
    ]
    return names or None


class ConnectAgentAdapter(AdapterBase):
    """Agent event stream records → agent states and the agent's side of each contact.

    Options: ``agent_key`` (``arn`` = the agent id at the end of ``AgentARN``, default, the same
    id the CTR adapter uses; ``username`` = the CCP user name); ``channels`` (contact channels
    mapped to call events, default ``["VOICE"]``); ``max_agents`` (statuses remembered, default
    100 000).
    """

    name = "amazon-connect-agent"

    def __init__(
        self,
        *,
        site: str,
        source: str,
        agent_key: str = "arn",
        channels: Iterable[str] = ("VOICE",),
        max_agents: int = 100_000,
    ) -> None:
        super().__init__(site=site, source=source)
        self.agent_key = check_agent_key(agent_key)
        self.channels = frozenset(c.upper() for c in channels)
        self._known: BoundedMap[str, Status] = BoundedMap(max_agents)

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        doc = json_object(value, "Connect agent event")
        kind = doc.get("EventType")
        if not isinstance(kind, str):
            hint = ""
            if "ContactId" in doc:
                hint = " (this looks like a contact trace record: use amazon-connect-ctr)"
            elif "eventType" in doc or "detail" in doc:
                hint = " (this looks like an EventBridge contact event, which no adapter maps yet)"
            raise InvalidEvent(f"Connect agent event without EventType{hint}")
        event_key = doc.get("EventId")
        if not isinstance(event_key, str) or not event_key:
            raise InvalidEvent("Connect agent event without EventId")
        ts = parse_iso(doc.get("EventTimestamp"), "EventTimestamp")
        cur, prev = obj(doc, "CurrentAgentSnapshot"), obj(doc, "PreviousAgentSnapshot")
        config = obj(cur, "Configuration") or obj(prev, "Configuration")
        agent = agent_name(doc.get("AgentARN"), config.get("Username"), self.agent_key)
        if agent is None:
            raise InvalidEvent("Connect agent event without AgentARN")
        if kind == "LOGIN":
            self._known.pop(agent)
            return [
                self._make(
                    AgentLogin,
                    event_id(event_key, "agent.login"),
                    ts,
                    agent=agent,
                    team=_team(config),
                    queues=_queues(config),
                )
            ]
        if kind == "LOGOUT":
            self._known.pop(agent)
            return [self._make(AgentLogout, event_id(event_key, "agent.logout"), ts, agent=agent)]
        if kind not in ("STATE_CHANGE", "HEART_BEAT"):
            return self._ignore(kind[:64])
        events = [] if kind == "HEART_BEAT" else self._contacts(event_key, ts, agent, prev, cur)
        events += self._status(event_key, ts, agent, prev, cur, heartbeat=kind == "HEART_BEAT")
        return events or self._ignore(f"{kind} (no change)")

    def _status(
        self,
        key: str,
        ts: dt.datetime,
        agent: str,
        prev: dict[str, Any],
        cur: dict[str, Any],
        *,
        heartbeat: bool,
    ) -> list[Event]:
        now = status_of(cur)
        if now is None:
            return []
        known = self._known.get(agent)
        self._known.put(agent, now)
        changed = now != known if heartbeat else (now != status_of(prev) or now != known)
        if not changed:
            return []
        started = obj(cur, "AgentStatus").get("StartTimestamp")
        # The status has held since its StartTimestamp, also when a heartbeat is what tells us.
        at = parse_iso(started, "AgentStatus.StartTimestamp") if isinstance(started, str) else ts
        state, reason = now
        return [
            self._make(
                AgentStateChanged, event_id(key, "agent.state"), at, agent=agent, state=state, reason=reason
            )
        ]

    def _by_id(self, snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        contacts = snapshot.get("Contacts")
        for c in contacts if isinstance(contacts, list) else []:
            if (
                isinstance(c, dict)
                and isinstance(c.get("ContactId"), str)
                and str(c.get("Channel", "")).upper() in self.channels
            ):
                out[c["ContactId"]] = c
        return out

    def _contacts(
        self, key: str, ts: dt.datetime, agent: str, prev: dict[str, Any], cur: dict[str, Any]
    ) -> list[Event]:
        before, after = self._by_id(prev), self._by_id(cur)
        events: list[Event] = []
        for contact_id in [*before, *(c for c in after if c not in before)]:
            events += self._contact(key, ts, agent, contact_id, before.get(contact_id), after.get(contact_id))
        return events

    def _contact(
        self,
        key: str,
        ts: dt.datetime,
        agent: str,
        cid: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> list[Event]:
        was = (old or {}).get("State")
        now = (new or {}).get("State")
        contact = new or old or {}
        since = contact.get("StateStartTimestamp") if new else None
        at = parse_iso(since, "StateStartTimestamp") if isinstance(since, str) else ts

        def make(cls: Callable[..., Event], tag: str, when: dt.datetime = at, **fields: Any) -> Event:
            return self._make(cls, event_id(key, cid, tag), when, call=cid, agent=agent, **fields)

        out: list[Event] = []
        if now in _TALKING and was not in _TALKING:
            out.append(self._answered(key, cid, agent, contact, at))
        if now == "CONNECTED_ONHOLD" and was != "CONNECTED_ONHOLD":
            out.append(make(CallHeld, "call.held"))
        if now == "CONNECTED" and was == "CONNECTED_ONHOLD":
            out.append(make(CallResumed, "call.resumed"))
        if was in _TALKING and now in ("ENDED", None):
            out.append(make(CallEnded, "call.ended", talk_s=self._talk(contact, at)))
        if was in (*_TALKING, "ENDED") and now is None:
            out.append(make(CallWrapped, "call.wrapped", ts))
        return out

    def _answered(self, key: str, cid: str, agent: str, contact: dict[str, Any], at: dt.datetime) -> Event:
        queue = queue_name(obj(contact, "Queue")) or "unknown"
        wait = None
        queued, connected = contact.get("QueueTimestamp"), contact.get("ConnectedToAgentTimestamp")
        if isinstance(queued, str) and isinstance(connected, str):
            wait = max(
                0.0,
                (
                    parse_iso(connected, "ConnectedToAgentTimestamp") - parse_iso(queued, "QueueTimestamp")
                ).total_seconds(),
            )
        return self._make(
            CallAnswered,
            event_id(key, cid, "call.answered"),
            at,
            call=cid,
            queue=queue,
            agent=agent,
            wait_s=wait,
        )

    @staticmethod
    def _talk(contact: dict[str, Any], end: dt.datetime) -> float | None:
        connected = contact.get("ConnectedToAgentTimestamp")
        if not isinstance(connected, str):
            return None
        return max(0.0, (end - parse_iso(connected, "ConnectedToAgentTimestamp")).total_seconds())
