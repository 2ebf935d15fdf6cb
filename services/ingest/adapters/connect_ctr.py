"""Amazon Connect contact trace records (CTR) → the contact's whole lifecycle, after the fact.

A CTR arrives when a contact is over (and again whenever its attributes are updated later), so these
events are history, not live signals: use this adapter for backfill, replay and reconciliation, and
the agent event stream for the live floor.

Lifecycle, from one CTR: ``call.queued`` (``Queue.EnqueueTimestamp``) → ``call.answered``
(``Agent.ConnectedToAgentTimestamp``, ``wait_s`` = ``Queue.Duration``) → ``call.held`` /
``call.resumed`` → ``call.transferred`` (``TransferCompletedTimestamp``) → ``call.ended``
(``Agent.AfterContactWorkStartTimestamp`` or the disconnect, ``talk_s`` =
``Agent.AgentInteractionDuration``) → ``call.wrapped`` (``Agent.AfterContactWorkEndTimestamp``). A
queued contact no agent took → ``call.abandoned`` (``wait_s`` = ``Queue.Duration``; cause ``caller``
when ``DisconnectReason`` is ``CUSTOMER_DISCONNECT``).

Ids are ``ContactId:type`` and deliberately leave out ``LastUpdateTimestamp``: a redelivered CTR and
a later *version* of the same contact (updated attributes) give the same lifecycle ids, so the first
version seen wins and later versions are dropped as duplicates. The lifecycle times do not change
between versions; what a later version changes (attributes, hence an ``outcome_attribute``) is lost.

Hold: a CTR has only totals (``CustomerHoldDuration``, ``NumberOfHolds``), not when the holds were.
With ``synthesize_hold`` (default) the total becomes one ``call.held`` / ``call.resumed`` pair ending
when the agent's part ends, so handle time (talk + hold + wrap-up) adds up; set it False to emit no
hold events rather than approximate ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from services.ingest.adapters.base import AdapterBase, clip, event_id, parse_iso, seconds
from services.ingest.adapters.connect_common import (
    agent_name,
    check_agent_key,
    json_object,
    obj,
    queue_name,
)
from shared.events import (
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
    Outcome,
)


def _time(record: dict[str, Any], key: str, where: str = "") -> dt.datetime | None:
    value = record.get(key)
    return parse_iso(value, f"{where}{key}") if isinstance(value, str) and value else None


class ConnectCtrAdapter(AdapterBase):
    """One CTR → the contact's lifecycle events (see the module docstring).

    Options: ``agent_key`` (``arn`` default | ``username``, as for the agent stream); ``channels``
    (default ``["VOICE"]``); ``synthesize_hold`` (default True); ``outcome_attribute`` (a contact
    attribute holding the disposition code, put in ``call.wrapped.outcome.code``; default none).
    """

    name = "amazon-connect-ctr"

    def __init__(
        self,
        *,
        site: str,
        source: str,
        agent_key: str = "arn",
        channels: Iterable[str] = ("VOICE",),
        synthesize_hold: bool = True,
        outcome_attribute: str | None = None,
    ) -> None:
        super().__init__(site=site, source=source)
        self.agent_key = check_agent_key(agent_key)
        self.channels = frozenset(c.upper() for c in channels)
        self.synthesize_hold = synthesize_hold
        self.outcome_attribute = outcome_attribute

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        ctr = json_object(value, "Connect CTR")
        cid = ctr.get("ContactId")
        if not isinstance(cid, str) or not cid:
            hint = " (this looks like an agent event: use amazon-connect-agent)" if "EventType" in ctr else ""
            raise InvalidEvent(f"Connect CTR without ContactId{hint}")
        channel = str(ctr.get("Channel") or "").upper()
        if channel not in self.channels:
            return self._ignore(f"channel {channel or '(none)'}"[:64])
        queue, agent_part = obj(ctr, "Queue"), obj(ctr, "Agent")
        qname = queue_name(queue)
        enqueued = _time(queue, "EnqueueTimestamp", "Queue.")
        wait = seconds(queue.get("Duration"), "Queue.Duration")
        events: list[Event] = []
        if enqueued and qname:
            events.append(
                self._make(CallQueued, event_id(cid, "call.queued"), enqueued, call=cid, queue=qname)
            )
        connected = _time(agent_part, "ConnectedToAgentTimestamp", "Agent.")
        if connected is None:
            return events + self._unanswered(ctr, cid, qname, enqueued, wait)
        agent = agent_name(agent_part.get("ARN"), agent_part.get("Username"), self.agent_key)
        if agent is None:
            raise InvalidEvent("Connect CTR: Agent.ConnectedToAgentTimestamp without Agent.ARN")
        events.append(
            self._make(
                CallAnswered,
                event_id(cid, "call.answered"),
                connected,
                call=cid,
                queue=qname or "unknown",
                agent=agent,
                wait_s=wait if enqueued else None,
            )
        )
        return events + self._agent_part(ctr, cid, agent, connected)

    def _unanswered(
        self,
        ctr: dict[str, Any],
        cid: str,
        qname: str | None,
        enqueued: dt.datetime | None,
        wait: float | None,
    ) -> list[Event]:
        if not (enqueued and qname) or ctr.get("TransferCompletedTimestamp"):
            return []  # never queued, or moved on by a transfer: not an abandon
        left = (
            _time(obj(ctr, "Queue"), "DequeueTimestamp", "Queue.")
            or _time(ctr, "DisconnectTimestamp")
            or enqueued
        )
        cause = "caller" if ctr.get("DisconnectReason") == "CUSTOMER_DISCONNECT" else None
        return [
            self._make(
                CallAbandoned,
                event_id(cid, "call.abandoned"),
                left,
                call=cid,
                queue=qname,
                wait_s=wait,
                cause=cause,
            )
        ]

    def _agent_part(self, ctr: dict[str, Any], cid: str, agent: str, connected: dt.datetime) -> list[Event]:
        part = obj(ctr, "Agent")
        acw_start = _time(part, "AfterContactWorkStartTimestamp", "Agent.")
        acw_end = _time(part, "AfterContactWorkEndTimestamp", "Agent.")
        disconnect = _time(ctr, "DisconnectTimestamp")
        transferred = _time(ctr, "TransferCompletedTimestamp")
        ended = acw_start or transferred or disconnect
        if ended is None:
            return []  # still in progress (a CTR is written at the end; be safe)
        ended = max(ended, connected)
        events: list[Event] = []
        hold = seconds(part.get("CustomerHoldDuration"), "Agent.CustomerHoldDuration")
        if self.synthesize_hold and hold:
            held = max(connected, ended - dt.timedelta(seconds=hold))
            events.append(self._make(CallHeld, event_id(cid, "call.held"), held, call=cid, agent=agent))
            events.append(
                self._make(CallResumed, event_id(cid, "call.resumed"), ended, call=cid, agent=agent)
            )
        if transferred:
            at = max(transferred, connected)
            events.append(
                self._make(CallTransferred, event_id(cid, "call.transferred"), at, call=cid, agent=agent)
            )
        talk = seconds(part.get("AgentInteractionDuration"), "Agent.AgentInteractionDuration")
        events.append(
            self._make(CallEnded, event_id(cid, "call.ended"), ended, call=cid, agent=agent, talk_s=talk)
        )
        wrapped = max(acw_end or ended, ended)
        events.append(
            self._make(
                CallWrapped,
                event_id(cid, "call.wrapped"),
                wrapped,
                call=cid,
                agent=agent,
                outcome=self._outcome(ctr),
            )
        )
        return events

    def _outcome(self, ctr: dict[str, Any]) -> Outcome | None:
        if not self.outcome_attribute:
            return None
        code = obj(ctr, "Attributes").get(self.outcome_attribute)
        code = clip(code) if isinstance(code, str) else None
        return Outcome(code=code) if code else None
