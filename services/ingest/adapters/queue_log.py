"""Asterisk ``queue_log``: the stock pipe format and the PBXware table export (CSV).

Two layouts carry the same verbs:

* ``pipe`` — stock Asterisk ``epoch|callid|queue|agent|event|data1|data2|…``; what each ``dataN``
  means depends on the verb (e.g. ``CONNECT|holdtime|bridged-uniqueid|ringtime``).
* ``pbxware-csv`` — the ``queue_log`` table export of Bicom PBXware:
  ``uid,date_time,callid,queue_name,type,event,param1,param2,param3,entpos,expos,htime,ttime,time``.
  The vendor normalised the numbers: the queue wait is in ``htime`` and the talk time in ``ttime``
  for every verb; ``param1..3`` are *not* stock ``data1..3`` (``ENTERQUEUE``/``ABANDON`` ``param1``
  is the caller number, ``CONNECT`` ``param2`` the member channel's uniqueid). ``time`` is local wall
  time (UTC-5, sometimes one second off ``date_time``) and is not used; ``date_time`` is epoch UTC.

``layout="auto"`` (default) sniffs each record. The mapping is stateless: every verb carries what
its canonical event needs. See ``docs/adapters.md`` for the table and what is ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from services.ingest.adapters.base import (
    AdapterBase,
    clip,
    event_id,
    record_hash,
    seconds,
    utc_from_epoch,
)
from shared.events import (
    AbandonCause,
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    CallWrapped,
    Event,
    InvalidEvent,
)

Layout = Literal["auto", "pipe", "pbxware-csv"]
CSV_COLUMNS: Final = (
    "uid",
    "date_time",
    "callid",
    "queue_name",
    "type",
    "event",
    "param1",
    "param2",
    "param3",
    "entpos",
    "expos",
    "htime",
    "ttime",
    "time",
)

# Verbs deliberately mapped to nothing: ring attempts, housekeeping and PBXware's outbound
# (OUT*) verbs, which describe agent-dialled calls outside any queue.
IGNORED_VERBS: Final = frozenset(
    {
        "RINGNOANSWER",
        "RINGCANCELED",
        "AGENTDUMP",
        "CONFIGRELOAD",
        "QUEUESTART",
        "SYSCOMPAT",
        "INFO",
        "DID",
        "ENTERQUEUE_AGENT",
        "OUTDIAL",
        "OUTANSWER",
        "OUTCANCEL",
        "OUTCHANUNAVAIL",
        "OUTCONGESTION",
        "OUTTRANSFER",
        "OUTBUSY",
        "OUTNOANSWER",
    }
)
_EXIT_CAUSES: Final[dict[str, AbandonCause]] = {
    "ABANDON": "caller",
    "EXITWITHTIMEOUT": "timeout",
    "EXITEMPTY": "empty",
    "EXITWITHKEY": "key",
}
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    """One queue_log row with layout differences removed: waits and talk already picked out."""

    id_base: str
    epoch: str
    callid: str | None
    queue: str | None
    agent: str | None
    verb: str
    data: tuple[str, ...]
    wait_s: float | None
    talk_s: float | None


def _none(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "NONE") else value


def _field(data: tuple[str, ...], n: int) -> str | None:
    return data[n - 1] if len(data) >= n and data[n - 1] != "" else None


def _stock_times(verb: str, data: tuple[str, ...]) -> tuple[float | None, float | None]:
    """(wait, talk) from stock ``dataN`` fields, per verb (Asterisk queue_log documentation)."""
    if verb == "CONNECT":
        return seconds(_field(data, 1), "CONNECT holdtime"), None
    if verb in ("COMPLETEAGENT", "COMPLETECALLER"):
        return seconds(_field(data, 1), "holdtime"), seconds(_field(data, 2), "calltime")
    if verb in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
        return seconds(_field(data, 3), "waittime"), None
    if verb == "EXITWITHKEY":
        return seconds(_field(data, 4), "waittime"), None
    if verb in ("TRANSFER", "BLINDTRANSFER"):
        return seconds(_field(data, 3), "holdtime"), seconds(_field(data, 4), "calltime")
    if verb == "ATTENDEDTRANSFER":
        # Its leading fields vary by Asterisk version (BRIDGE|id / APP|name / LINK|ch1|ch2 / old
        # channel); all end in holdtime|calltime|origposition.
        tail = [d for d in data if _NUMBER.match(d)]
        if len(tail) >= 3 and data[-3:] == tuple(tail[-3:]):
            return seconds(tail[-3], "holdtime"), seconds(tail[-2], "calltime")
    return None, None


def parse_pipe(line: str) -> QueueLogRow:
    parts = line.split("|")
    if len(parts) < 5:
        raise InvalidEvent(
            f"queue_log pipe record needs 5+ fields (epoch|callid|queue|agent|event), got {len(parts)}"
        )
    epoch, callid, queue, agent, verb, *data = parts
    verb = verb.strip().upper()
    wait, talk = _stock_times(verb, tuple(data))
    base = event_id(epoch.strip(), callid.strip(), verb, record_hash(line.encode()))
    return QueueLogRow(
        base, epoch.strip(), _none(callid), _none(queue), _none(agent), verb, tuple(data), wait, talk
    )


def parse_pbxware_csv(line: str) -> QueueLogRow:
    try:
        rows = list(csv.reader([line]))
    except csv.Error as exc:
        raise InvalidEvent(f"PBXware queue_log CSV row unreadable: {exc}") from None
    if not rows or len(rows[0]) != len(CSV_COLUMNS):
        got = len(rows[0]) if rows else 0
        raise InvalidEvent(
            f"PBXware queue_log CSV row needs {len(CSV_COLUMNS)} columns ({','.join(CSV_COLUMNS)}), got {got}"
        )
    row = dict(zip(CSV_COLUMNS, rows[0], strict=True))
    if not row["uid"].strip().isdigit():
        raise InvalidEvent(f"PBXware queue_log CSV: uid must be a number, got {row['uid']!r}")
    return QueueLogRow(
        id_base=event_id("uid", row["uid"].strip()),
        epoch=row["date_time"].strip(),
        callid=_none(row["callid"]),
        queue=_none(row["queue_name"]),
        agent=_none(row["type"]),
        verb=row["event"].strip().upper(),
        data=(row["param1"], row["param2"], row["param3"]),
        wait_s=seconds(row["htime"].strip() or None, "htime"),
        talk_s=seconds(row["ttime"].strip() or None, "ttime"),
    )


def sniff_layout(line: str) -> Literal["pipe", "pbxware-csv"]:
    head = line.split("|", 1)[0]
    if "|" in line and _NUMBER.match(head.strip()):
        return "pipe"
    return "pbxware-csv"


class QueueLogAdapter(AdapterBase):
    """Asterisk ``queue_log`` rows → canonical events (stateless; one row per record).

    Options: ``layout`` (``auto`` | ``pipe`` | ``pbxware-csv``); ``emit_wrapped`` (default True:
    queue_log has no after-call-work record, so ``call.wrapped`` follows ``call.ended`` at the same
    instant; set False when another source reports wrap-up); ``callback_context`` (default
    ``callback-agent``: PBXware lists callback agents as members ``Local/<n>@callback-agent`` but
    answers as ``Agent/<n>``; such members are reported as ``Agent/<n>``; None to keep them as is).
    """

    name = "asterisk-queue-log"

    def __init__(
        self,
        *,
        site: str,
        source: str,
        layout: Layout = "auto",
        emit_wrapped: bool = True,
        callback_context: str | None = "callback-agent",
    ) -> None:
        super().__init__(site=site, source=source)
        if layout not in ("auto", "pipe", "pbxware-csv"):
            raise ValueError(f"layout must be auto, pipe or pbxware-csv, got {layout!r}")
        self.layout = layout
        self.emit_wrapped = emit_wrapped
        self._callback = (
            re.compile(rf"^Local/([^@/]+)@{re.escape(callback_context)}(?:/n)?$")
            if callback_context
            else None
        )
        self._handlers: dict[str, Callable[[QueueLogRow], list[Event]]] = {
            "ENTERQUEUE": self._queued,
            "CONNECT": self._answered,
            "COMPLETEAGENT": self._completed,
            "COMPLETECALLER": self._completed,
            "TRANSFER": self._transferred,
            "BLINDTRANSFER": self._transferred,
            "ATTENDEDTRANSFER": self._transferred,
            "ADDMEMBER": self._login,
            "AGENTLOGIN": self._login,
            "AGENTCALLBACKLOGIN": self._login,
            "REMOVEMEMBER": self._logout,
            "AGENTLOGOFF": self._logout,
            "AGENTCALLBACKLOGOFF": self._logout,
            "PAUSE": self._paused,
            "PAUSEALL": self._paused,
            "UNPAUSE": self._unpaused,
            "UNPAUSEALL": self._unpaused,
        }
        for verb in _EXIT_CAUSES:
            self._handlers[verb] = self._abandoned

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        line = value.decode("utf-8", errors="replace").strip("\r\n\ufeff ")
        if not line:
            raise InvalidEvent("empty queue_log record")
        if "\n" in line or "\r" in line:
            raise InvalidEvent("a queue_log record is one line; this one has a line break inside")
        if line.startswith("uid,") and "event" in line:
            return self._ignore("(csv header)")
        layout = self.layout if self.layout != "auto" else sniff_layout(line)
        row = parse_pipe(line) if layout == "pipe" else parse_pbxware_csv(line)
        if not row.verb:
            raise InvalidEvent("queue_log record without an event verb")
        handler = self._handlers.get(row.verb)
        if handler is None:
            # Known noise and verbs this version does not know are counted, not rejected: a new
            # Asterisk verb must not fill the DLQ.
            return self._ignore(row.verb if row.verb in IGNORED_VERBS else f"(unknown) {row.verb}"[:64])
        return handler(row)

    # -- helpers -----------------------------------------------------------------------------

    def _ts(self, row: QueueLogRow) -> dt.datetime:
        return utc_from_epoch(row.epoch)

    def _need(
        self, row: QueueLogRow, *, call: bool = False, queue: bool = False, agent: bool = False
    ) -> None:
        missing = [
            n
            for n, want, have in (
                ("callid", call, row.callid),
                ("queue", queue, row.queue),
                ("agent", agent, row.agent),
            )
            if want and not have
        ]
        if missing:
            raise InvalidEvent(f"queue_log {row.verb} without {' and '.join(missing)}")

    def _agent(self, row: QueueLogRow) -> str:
        agent = row.agent or ""
        match = self._callback.match(agent) if self._callback else None
        return f"Agent/{match.group(1)}" if match else agent

    def _ended(self, row: QueueLogRow) -> list[Event]:
        ts, call, agent = self._ts(row), row.callid, self._agent(row)
        events: list[Event] = [
            self._make(
                CallEnded, event_id(row.id_base, "call.ended"), ts, call=call, agent=agent, talk_s=row.talk_s
            )
        ]
        if self.emit_wrapped:
            events.append(
                self._make(CallWrapped, event_id(row.id_base, "call.wrapped"), ts, call=call, agent=agent)
            )
        return events

    # -- verbs -------------------------------------------------------------------------------

    def _queued(self, row: QueueLogRow) -> list[Event]:
        self._need(row, call=True, queue=True)
        return [
            self._make(
                CallQueued,
                event_id(row.id_base, "call.queued"),
                self._ts(row),
                call=row.callid,
                queue=row.queue,
            )
        ]

    def _answered(self, row: QueueLogRow) -> list[Event]:
        self._need(row, call=True, queue=True, agent=True)
        return [
            self._make(
                CallAnswered,
                event_id(row.id_base, "call.answered"),
                self._ts(row),
                call=row.callid,
                queue=row.queue,
                agent=self._agent(row),
                wait_s=row.wait_s,
            )
        ]

    def _completed(self, row: QueueLogRow) -> list[Event]:
        self._need(row, call=True, agent=True)
        return self._ended(row)

    def _abandoned(self, row: QueueLogRow) -> list[Event]:
        self._need(row, call=True, queue=True)
        return [
            self._make(
                CallAbandoned,
                event_id(row.id_base, "call.abandoned"),
                self._ts(row),
                call=row.callid,
                queue=row.queue,
                wait_s=row.wait_s,
                cause=_EXIT_CAUSES[row.verb],
            )
        ]

    def _transferred(self, row: QueueLogRow) -> list[Event]:
        # In queue_log a transfer replaces COMPLETE*: the agent's part of the call is over.
        self._need(row, call=True, agent=True)
        moved = self._make(
            CallTransferred,
            event_id(row.id_base, "call.transferred"),
            self._ts(row),
            call=row.callid,
            agent=self._agent(row),
        )
        return [moved, *self._ended(row)]

    def _login(self, row: QueueLogRow) -> list[Event]:
        self._need(row, agent=True)
        queues = [row.queue] if row.queue and row.verb == "ADDMEMBER" else None
        return [
            self._make(
                AgentLogin,
                event_id(row.id_base, "agent.login"),
                self._ts(row),
                agent=self._agent(row),
                queues=queues,
            )
        ]

    def _logout(self, row: QueueLogRow) -> list[Event]:
        self._need(row, agent=True)
        return [
            self._make(
                AgentLogout, event_id(row.id_base, "agent.logout"), self._ts(row), agent=self._agent(row)
            )
        ]

    def _paused(self, row: QueueLogRow) -> list[Event]:
        self._need(row, agent=True)
        reason = clip(_field(row.data, 1))
        return [
            self._make(
                AgentStateChanged,
                event_id(row.id_base, "agent.state"),
                self._ts(row),
                agent=self._agent(row),
                state="not_ready",
                reason=reason,
            )
        ]

    def _unpaused(self, row: QueueLogRow) -> list[Event]:
        self._need(row, agent=True)
        return [
            self._make(
                AgentStateChanged,
                event_id(row.id_base, "agent.state"),
                self._ts(row),
                agent=self._agent(row),
                state="available",
            )
        ]
