"""Canonical event, schema v1: the one language every service speaks.

Each event type is a frozen ``msgspec.Struct`` tagged by its ``type`` field, so a single
decoder validates a record, picks its class and gives the core a typed value in one pass.
The field names and rules are the external contract of ``design.md``; keep them in step.

Pure: no I/O, no clock. ``decode_event`` is the only door from bytes into the system; it
raises :class:`InvalidEvent` with a human-readable reason, which ingest puts on the DLQ.
Unknown extra fields are accepted here and kept by ingest, which forwards the original
bytes (see ``services/ingest``), so a newer producer never loses data on an older Floorwatch.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1
MAX_EVENT_BYTES: Final = 64 * 1024

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# a wait, talk or handle time: up to a week. The reports place a call's offer at ``ts - wait_s``;
# 1e12 s put it before year 1 and stopped every refresh (a review, 2026-12-07)
MAX_SECONDS: Final = 7 * 86_400.0
Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]

AgentStateName = Literal["available", "not_ready"]
AbandonCause = Literal["caller", "timeout", "empty", "key"]


class InvalidEvent(ValueError):
    """The record is not a valid canonical v1 event; ``str(exc)`` says why."""


class _Base(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=False, kw_only=True):
    v: Literal[1]
    id: Id
    source: Name
    ts: dt.datetime
    site: Name

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("ts must carry a UTC offset (RFC 3339), e.g. 2026-11-28T09:15:02+08:00")
        # The dedup key and the site are database keys: PostgreSQL text cannot hold NUL.
        if "\x00" in self.id or "\x00" in self.source or "\x00" in self.site:
            raise ValueError("id, source and site must not contain NUL (\\u0000)")


class AgentLogin(_Base, frozen=True, tag="agent.login"):
    agent: Ref
    team: Name | None = None
    queues: list[Name] | None = None
    seat: Name | None = None


class AgentLogout(_Base, frozen=True, tag="agent.logout"):
    agent: Ref


class AgentStateChanged(_Base, frozen=True, tag="agent.state"):
    agent: Ref
    state: AgentStateName
    reason: Name | None = None


class CallQueued(_Base, frozen=True, tag="call.queued"):
    call: Ref
    queue: Name
    campaign: Name | None = None
    priority: int | None = None


class CallAnswered(_Base, frozen=True, tag="call.answered"):
    call: Ref
    queue: Name
    agent: Ref
    wait_s: Seconds | None = None


class CallAbandoned(_Base, frozen=True, tag="call.abandoned"):
    call: Ref
    queue: Name
    wait_s: Seconds | None = None
    cause: AbandonCause | None = None


class CallHeld(_Base, frozen=True, tag="call.held"):
    call: Ref
    agent: Ref


class CallResumed(_Base, frozen=True, tag="call.resumed"):
    call: Ref
    agent: Ref


class CallEnded(_Base, frozen=True, tag="call.ended"):
    call: Ref
    agent: Ref
    talk_s: Seconds | None = None


# The range event times may take (the floor engine's, engine.py *Bounded work*; ingest refuses
# events outside it): a time here converts to any zone and back without overflow.
EARLIEST: Final = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
LATEST: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class Outcome(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    code: Name
    success: bool | None = None
    reason: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    follow_up_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        at = self.follow_up_at
        if at is None:
            return
        # the reports book it in the site's zone: 0001-01-01 overflowed there and stopped every
        # refresh and rebuild of its day; a time without an offset has no place on the clock
        if at.tzinfo is None:
            raise ValueError("outcome.follow_up_at must carry a UTC offset (RFC 3339)")
        if not EARLIEST <= at < LATEST:
            raise ValueError("outcome.follow_up_at must lie within 1980-01-01 .. 2100-01-01")


class CallWrapped(_Base, frozen=True, tag="call.wrapped"):
    call: Ref
    agent: Ref
    outcome: Outcome | None = None


class CallTransferred(_Base, frozen=True, tag="call.transferred"):
    call: Ref
    agent: Ref
    to_queue: Name | None = None
    to_agent: Ref | None = None


Event = (
    AgentLogin
    | AgentLogout
    | AgentStateChanged
    | CallQueued
    | CallAnswered
    | CallAbandoned
    | CallHeld
    | CallResumed
    | CallEnded
    | CallWrapped
    | CallTransferred
)
EVENT_TYPES: Final[tuple[type[_Base], ...]] = (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallQueued,
    CallAnswered,
    CallAbandoned,
    CallHeld,
    CallResumed,
    CallEnded,
    CallWrapped,
    CallTransferred,
)
TYPE_NAMES: Final[frozenset[str]] = frozenset(t.__struct_config__.tag for t in EVENT_TYPES)  # type: ignore[misc]

_decoder: Final = msgspec.json.Decoder(Event)
_encoder: Final = msgspec.json.Encoder()


def decode_event(data: bytes, *, max_bytes: int = MAX_EVENT_BYTES) -> Event:
    """Validate one record and return its typed event, or raise :class:`InvalidEvent`.

    Checks, in order: size, JSON syntax, schema version, the ``type`` tag, then each field.
    """
    if len(data) > max_bytes:
        raise InvalidEvent(f"payload too large: {len(data)} bytes > limit {max_bytes}")
    try:
        event: Event = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_explain(data, str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    except RecursionError:
        # msgspec gives up at ~1,000 levels; any nesting that deep is hostile, never an event.
        raise InvalidEvent("JSON nested too deep (over ~1,000 levels of arrays/objects)") from None
    try:
        # msgspec checks the text of the fields it reads, not of unknown ones it skips; ingest
        # stores the payload as text, and invalid UTF-8 there stopped it at every restart
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    if data.find(b"\\u0000") >= 0:  # JSON writes NUL only so (a raw one is malformed); then exact
        field = _with_nul(event)
        if field is not None:
            # agents, teams, queues, reasons and codes become report rows and keys: PostgreSQL
            # text cannot hold NUL, and one such event stopped every refresh of the reports
            raise InvalidEvent(f"{field} must not contain NUL (\\u0000)")
    return event


def _with_nul(event: Event) -> str | None:
    """The first field of ``event`` whose text holds NUL, or None."""
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, str) and "\x00" in value:
            return name
        if isinstance(value, list) and any("\x00" in v for v in value):
            return name
        if isinstance(value, Outcome):
            for sub in ("code", "reason"):
                text = getattr(value, sub)
                if text is not None and "\x00" in text:
                    return f"outcome.{sub}"
    return None


def _explain(data: bytes, message: str) -> str:
    """Turn msgspec's message into one a producer's developer can act on."""
    try:
        raw = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return message
    if not isinstance(raw, dict):
        return f"an event must be a JSON object, got {type(raw).__name__}"
    version = raw.get("v")
    if version != SCHEMA_VERSION and "`$.v`" in message:
        return f"unsupported schema version v={version!r}: this Floorwatch speaks v{SCHEMA_VERSION}"
    kind = raw.get("type")
    if kind is None:
        return "missing required field `type`"
    if not isinstance(kind, str) or kind not in TYPE_NAMES:
        return f"unknown event type {kind!r}; known: {', '.join(sorted(TYPE_NAMES))}"
    return message


def encode_event(event: Event, extra: dict[str, Any] | None = None) -> bytes:
    """Canonical JSON bytes of ``event`` (with ``type``); ``extra`` fields are merged in."""
    if not extra:
        return _encoder.encode(event)
    merged = msgspec.to_builtins(event)
    merged.update({k: v for k, v in extra.items() if k not in merged})
    return _encoder.encode(merged)


def dedup_key(event: Event) -> tuple[str, str]:
    """``(source, id)``: two records with this key are the same event."""
    return (event.source, event.id)


def event_type(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the canonical event (exported to ``docs/``)."""
    schema: dict[str, Any] = msgspec.json.schema(Event)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Floorwatch canonical event v1"
    return schema
