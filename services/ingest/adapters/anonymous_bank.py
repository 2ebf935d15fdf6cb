"""The Technion "Anonymous Bank" call-center records (Israel, 1999) → canonical call events.

One tab-separated row per call, 17 fields: ``vru+line call_id customer_id priority type date
vru_entry vru_exit vru_time q_start q_exit q_time outcome ser_start ser_exit ser_time server``.
Times are local wall-clock ``H:MM:SS`` without a zone (option ``tz``, default ``Asia/Jerusalem``);
``date`` is ``YYMMDD`` of the VRU entry; durations are seconds. ``0:00:00`` means "did not happen":
a call with ``q_start`` 0:00:00 never queued (it went straight from the VRU to an agent, or hung
up in the VRU).

Per row: queued → ``call.queued`` (queue = service ``type``, ``priority``); outcome ``AGENT`` →
``call.answered`` (agent = ``server``, ``wait_s`` = ``q_time``, 0 when never queued) +
``call.ended`` (``talk_s`` = ``ser_time``) + ``call.wrapped`` (the data has no wrap-up: at the same
instant); ``HANG`` after queueing → ``call.abandoned`` (cause ``caller``, ``wait_s`` = ``q_time``);
``HANG`` in the VRU → nothing. ``PHANTOM`` rows are, per the data's description, virtual calls to be
ignored: ``phantom="skip"`` (default) maps them to nothing; ``phantom="abandon"`` keeps their queue
arrival and closes it with a ``call.abandoned`` without cause.

Each time is placed on the first day that keeps the call's timeline in order, so services that
cross midnight (``ser_exit`` < ``ser_start``) end on the next day; the data's 1–2 s clock skew
between ``q_exit`` and ``ser_start`` is not mistaken for a day change (only a step back of more than
12 h is).

About 2 % of ``AGENT`` rows name no agent (``server`` = ``NO_SERVER``, mostly short calls that
never queued). They are still answered calls, so they keep the vendor's ``NO_SERVER`` as the agent
id: consumers that rank agents should leave that id out.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.ingest.adapters.base import AdapterBase, clip, event_id, shown
from shared.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallWrapped,
    Event,
    InvalidEvent,
)

FIELDS: Final = (
    "vru+line",
    "call_id",
    "customer_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
)
NOT_HAPPENED: Final = "0:00:00"
_HMS = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")
_HALF_DAY: Final = dt.timedelta(hours=12)


def _hms(value: str, field: str) -> dt.time:
    m = _HMS.match(value)
    if not m or int(m.group(1)) > 23:
        raise InvalidEvent(f"{field}: expected H:MM:SS, got {value!r}")
    return dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _count(value: str, field: str) -> int:
    # ASCII digits only ("²" is a digit to str.isdigit, not to int); 9 digits is 31 years of seconds.
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidEvent(f"{field}: expected a whole number (at most 9 digits), got {shown(value)}")
    return int(value)


def _after(prev: dt.datetime, clock: dt.time) -> dt.datetime:
    """``clock`` on the day that keeps the timeline moving forward from ``prev`` (naive local)."""
    candidate = dt.datetime.combine(prev.date(), clock)
    return candidate + dt.timedelta(days=1) if candidate < prev - _HALF_DAY else candidate


class AnonymousBankAdapter(AdapterBase):
    """Technion Anonymous Bank rows → queued / answered / ended / wrapped / abandoned.

    Options: ``tz`` (IANA zone of the local times, default ``Asia/Jerusalem``); ``phantom``
    (``skip`` default | ``abandon``, see the module docstring).
    """

    name = "anonymous-bank"

    def __init__(
        self,
        *,
        site: str,
        source: str,
        tz: str = "Asia/Jerusalem",
        phantom: Literal["skip", "abandon"] = "skip",
    ) -> None:
        super().__init__(site=site, source=source)
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r} (an IANA name such as Asia/Jerusalem)") from None
        if phantom not in ("skip", "abandon"):
            raise ValueError(f"phantom must be 'skip' or 'abandon', got {phantom!r}")
        self.phantom = phantom

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        line = value.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("vru+line"):
            return self._ignore("(header)")
        parts = line.split("\t")
        if len(parts) != len(FIELDS):
            raise InvalidEvent(self._shape_error(parts))
        row = dict(zip(FIELDS, (p.strip() for p in parts), strict=True))
        outcome = row["outcome"]
        if outcome not in ("AGENT", "HANG", "PHANTOM"):
            raise InvalidEvent(f"outcome: expected AGENT, HANG or PHANTOM, got {outcome!r}")
        return self._events(row, outcome)

    @staticmethod
    def _shape_error(parts: list[str]) -> str:
        reason = f"expected {len(FIELDS)} tab-separated fields, got {len(parts)}"
        spaced = [(i, p) for i, p in enumerate(parts) if re.search(r"\S\s{2,}\S|\S \S", p)]
        if spaced:
            i, p = spaced[0]
            reason += (
                f" (field {i + 1} {p!r} has spaces where a TAB belongs; the columns after it are shifted)"
            )
        return reason

    def _events(self, row: dict[str, str], outcome: str) -> list[Event]:
        date = row["date"]
        if not re.fullmatch(r"\d{6}", date):
            raise InvalidEvent(f"date: expected YYMMDD, got {date!r}")
        yy, mm, dd = int(date[:2]), int(date[2:4]), int(date[4:])
        try:
            day = dt.date(1900 + yy if yy >= 70 else 2000 + yy, mm, dd)
        except ValueError:
            raise InvalidEvent(f"date: no such day {date!r}") from None
        line, call_id = row["vru+line"], row["call_id"]
        if not line or not call_id:
            raise InvalidEvent("vru+line and call_id must not be empty")
        call = f"{date}-{line}-{call_id}"
        queue = clip(row["type"])
        if queue is None:
            raise InvalidEvent("type (the service queue) is empty")
        priority = _count(row["priority"], "priority")
        # The timeline in local wall time; each step lands on the day that keeps it in order.
        t = dt.datetime.combine(day, _hms(row["vru_entry"], "vru_entry"))
        vru_exit = t = _after(t, _hms(row["vru_exit"], "vru_exit"))
        queued = row["q_start"] != NOT_HAPPENED
        q_start = q_exit = None
        if queued:
            q_start = t = _after(t, _hms(row["q_start"], "q_start"))
            q_exit = t = _after(t, _hms(row["q_exit"], "q_exit"))
        q_time = float(_count(row["q_time"], "q_time"))
        events: list[Event] = []
        if outcome == "PHANTOM" and self.phantom == "skip":
            return self._ignore("PHANTOM")
        if queued:
            events.append(
                self._make(
                    CallQueued,
                    event_id(call, "call.queued"),
                    self._zone(q_start),
                    call=call,
                    queue=queue,
                    priority=priority,
                )
            )
        if outcome == "AGENT":
            events += self._served(row, call, queue, t, vru_exit, q_start, q_time if queued else 0.0)
        elif queued:
            cause = "caller" if outcome == "HANG" else None
            events.append(
                self._make(
                    CallAbandoned,
                    event_id(call, "call.abandoned"),
                    self._zone(q_exit),
                    call=call,
                    queue=queue,
                    wait_s=q_time,
                    cause=cause,
                )
            )
        return events or self._ignore(f"{outcome} before queueing")

    def _served(
        self,
        row: dict[str, str],
        call: str,
        queue: str,
        t: dt.datetime,
        vru_exit: dt.datetime,
        q_start: dt.datetime | None,
        wait: float,
    ) -> list[Event]:
        agent = clip(row["server"], 128)
        if agent is None:
            raise InvalidEvent("outcome AGENT with an empty server (agent) field")
        talk: float | None = None
        if row["ser_start"] != NOT_HAPPENED:
            start = _after(t, _hms(row["ser_start"], "ser_start"))
            end = _after(start, _hms(row["ser_exit"], "ser_exit"))
            talk = float(_count(row["ser_time"], "ser_time"))
            # ser_start is often 1-2 s before q_exit (two clocks); never before the queue arrival.
            answered = max(start, q_start) if q_start else start
        else:
            answered = end = t if q_start else vru_exit  # served, but the service times are missing
        at, until = self._zone(answered), self._zone(max(end, answered))
        return [
            self._make(
                CallAnswered,
                event_id(call, "call.answered"),
                at,
                call=call,
                queue=queue,
                agent=agent,
                wait_s=wait,
            ),
            self._make(CallEnded, event_id(call, "call.ended"), until, call=call, agent=agent, talk_s=talk),
            self._make(CallWrapped, event_id(call, "call.wrapped"), until, call=call, agent=agent),
        ]

    def _zone(self, local: dt.datetime | None) -> dt.datetime:
        assert local is not None  # callers pass times they established
        return local.replace(tzinfo=self.tz)
