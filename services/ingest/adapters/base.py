"""The adapter seam: vendor bytes in, canonical events out.

An adapter is a plain object fed one vendor record at a time. Contract:

* ``decode(value, key)`` returns the canonical events the record means, in event order. ``[]`` is a
  valid answer for vendor noise the adapter deliberately ignores; each adapter counts those in
  ``ignored`` (vendor kind → records) so the shell can report them.
* A record the adapter cannot read raises :class:`InvalidEvent` with a reason a person can act on;
  ingest puts the original bytes on the DLQ with that reason.
* Event ids are a pure function of the vendor record (plus, where a vendor record alone is not
  enough, of the records before it), so a redelivered vendor record yields the same ``(source, id)``
  and is dropped by dedup downstream.
* Adapters may keep small per-call state (bounded, evicted when a call finishes) and are
  deterministic: the same records in the same order give the same events. No clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, Protocol, TypeVar, runtime_checkable

from shared.events import Event, InvalidEvent, decode_event, encode_event

__all__ = [
    "Adapter",
    "AdapterBase",
    "BoundedMap",
    "InvalidEvent",
    "clip",
    "event_id",
    "parse_iso",
    "record_hash",
    "seconds",
    "shown",
    "utc_from_epoch",
]

MAX_ID: Final = 128
MAX_NAME: Final = 64

E = TypeVar("E")


@runtime_checkable
class Adapter(Protocol):
    """What ingest and replay need of a vendor adapter (see the module docstring for the contract)."""

    name: str

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]: ...


class AdapterBase:
    """Shared plumbing: the site/source every event carries and the ignored-record counter."""

    name: str = "base"

    def __init__(self, *, site: str, source: str) -> None:
        if not site or len(site) > MAX_NAME:
            raise ValueError(f"site must be 1..{MAX_NAME} characters, got {site!r}")
        if not source or len(source) > MAX_NAME:
            raise ValueError(f"source must be 1..{MAX_NAME} characters, got {source!r}")
        self.site = site
        self.source = source
        self.ignored: Counter[str] = Counter()

    def _ignore(self, kind: str) -> list[Event]:
        # Vendor vocabularies are finite, but a broken producer could invent names: cap the keys.
        if kind in self.ignored or len(self.ignored) < 256:
            self.ignored[kind] += 1
        else:
            self.ignored["(other)"] += 1
        return []

    def _make(self, cls: Callable[..., E], event_id: str, ts: dt.datetime, **fields: Any) -> E:
        """Build one event and prove it valid canonical v1 (constructors do not check lengths)."""
        try:
            event = cls(v=1, id=event_id, source=self.source, site=self.site, ts=ts, **fields)
        except ValueError as exc:  # __post_init__'s checks (offset, NUL in a key)
            raise InvalidEvent(f"cannot make a canonical event: {exc}") from None
        decode_event(encode_event(event))  # type: ignore[arg-type]  # E is always an Event
        return event


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A dict that forgets its oldest entries beyond ``limit`` (insertion order; deterministic)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.limit:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


def event_id(*parts: object) -> str:
    """Join ``parts`` with ``:``; ids longer than the contract's 128 chars keep a readable head + hash."""
    raw = ":".join(str(p) for p in parts)
    if len(raw) <= MAX_ID:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:24]
    return f"{raw[: MAX_ID - 25]}~{digest}"


def record_hash(data: bytes) -> str:
    """A short stable fingerprint of a vendor record that has no id of its own."""
    return hashlib.sha256(data).hexdigest()[:16]


def clip(text: str | None, limit: int = MAX_NAME) -> str | None:
    """Trimmed text cut to ``limit`` characters; ``None`` for empty."""
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def utc_from_epoch(value: str | float) -> dt.datetime:
    """Epoch seconds (str or number) → aware UTC datetime; ``InvalidEvent`` when not a number."""
    try:
        seconds_ = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidEvent(f"bad epoch timestamp {shown(value)}") from None
    if not 0 <= seconds_ < 10_000_000_000:
        raise InvalidEvent(f"epoch timestamp out of range: {shown(value)}")
    return dt.datetime.fromtimestamp(seconds_, tz=dt.UTC)


def parse_iso(value: object, field: str) -> dt.datetime:
    """An RFC 3339 / ISO 8601 timestamp with offset (``Z`` allowed) → aware datetime."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{field}: expected an ISO 8601 timestamp, got {shown(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{field}: bad ISO 8601 timestamp {shown(value)}") from None
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{field}: timestamp {shown(value)} has no UTC offset")
    return parsed


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for reasons that quote vendor input (a
    20,000-digit number or a 1 MB string must not become a 1 MB DLQ header, or fail to print)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        return f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seconds(value: object, field: str) -> float | None:
    """A non-negative duration in seconds from vendor text/number; ``None`` when absent or empty."""
    if value is None or value == "":
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InvalidEvent(f"{field}: expected seconds, got {shown(value)}") from None
    if not math.isfinite(out) or out < 0:
        raise InvalidEvent(f"{field}: negative, infinite or NaN duration {shown(value)}")
    return out
