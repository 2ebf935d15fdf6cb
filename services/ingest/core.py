"""Ingest's decisions, as pure functions: what each consumed record becomes.

Call order per batch: :func:`triage` every record (→ accepted events or a rejection), then the
shell asks the database which keys it already holds and calls :func:`classify_known` for those;
everything new or a replay of ingest's own crashed batch is published, true duplicates are
counted and dropped. Rejections go to the DLQ with their reason; nothing is lost.

Clock skew: given ``now`` and ``max_future_skew_s`` (> 0), a record with an event dated more than
that ahead of ``now`` — or of the record's broker timestamp when the broker set it
(``LogAppendTime``) and it is later — is rejected with the reason. One event dated 2099 would
otherwise become its site's clock downstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.events import Event, InvalidEvent, dedup_key, encode_event

Origin = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    broker_ts: float | None = None  # epoch seconds, when the broker stamped it (LogAppendTime)

    @property
    def origin(self) -> Origin:
        return (self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class Accepted:
    """One canonical event out of a record; ``payload`` is what goes on the events topic."""

    record: RawRecord
    event: Event
    payload: bytes

    @property
    def key(self) -> tuple[str, str]:
        return dedup_key(self.event)


@dataclass(frozen=True, slots=True)
class Rejected:
    record: RawRecord
    adapter: str
    reason: str


@dataclass(slots=True)
class Triage:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    records_accepted: int = 0  # records that became one or more events (duplicates included)
    ignored: int = 0  # records an adapter deliberately maps to no event (vendor noise)
    in_batch_duplicates: int = 0


class Decoder:
    """What ingest needs of an adapter: bytes in, canonical events out (``InvalidEvent`` on bad input)."""

    name: str

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:  # pragma: no cover - protocol
        raise NotImplementedError


def triage(
    records: Iterable[RawRecord],
    adapters: Mapping[str, Decoder],
    *,
    max_bytes: int,
    now: float | None = None,
    max_future_skew_s: float = 0.0,
) -> Triage:
    """Decode and validate each record with its topic's adapter; drop in-batch duplicates;
    with ``now`` (epoch seconds) and a positive ``max_future_skew_s``, reject events from the
    future (module docstring)."""
    out = Triage()
    seen: set[tuple[str, str]] = set()
    for rec in records:
        adapter = adapters[rec.topic]
        if rec.value is None:
            out.rejected.append(Rejected(rec, adapter.name, "empty record (null value)"))
            continue
        if len(rec.value) > max_bytes:
            out.rejected.append(
                Rejected(rec, adapter.name, f"payload too large: {len(rec.value)} bytes > limit {max_bytes}")
            )
            continue
        try:
            events = adapter.decode(rec.value, rec.key)
        except InvalidEvent as exc:
            out.rejected.append(Rejected(rec, adapter.name, str(exc)))
            continue
        if not events:
            out.ignored += 1
            continue
        if now is not None and max_future_skew_s > 0:
            skew = _too_far_ahead(events, max(now, rec.broker_ts or now), max_future_skew_s)
            if skew is not None:
                out.rejected.append(Rejected(rec, adapter.name, skew))
                continue
        out.records_accepted += 1
        for ev in events:
            key = dedup_key(ev)
            if key in seen:
                out.in_batch_duplicates += 1
                continue
            seen.add(key)
            # Canonical input is forwarded byte for byte, so unknown extra fields survive.
            payload = rec.value if adapter.name == "canonical" else encode_event(ev)
            out.accepted.append(Accepted(rec, ev, payload))
    return out


def _too_far_ahead(events: list[Event], ref: float, limit: float) -> str | None:
    for ev in events:
        ahead = ev.ts.timestamp() - ref
        if ahead > limit:
            return (
                f"event time {ev.ts.isoformat()} is {ahead:.0f} s ahead of ingest's clock "
                f"(limit {limit:g} s, FLOORWATCH_MAX_FUTURE_SKEW_S)"
            )
    return None


def classify_known(
    accepted: Iterable[Accepted], stored: Mapping[tuple[str, str], Origin]
) -> tuple[list[Accepted], int]:
    """Split events whose key the history already holds.

    An event stored from the very same (topic, partition, offset) is ingest's own work from a batch
    that crashed before its offsets were committed: publish it again (downstream dedups on
    ``(source, id)``). Stored from anywhere else, it is a true duplicate: count it, drop it.
    Returns (to publish, duplicates).
    """
    republish: list[Accepted] = []
    duplicates = 0
    for acc in accepted:
        origin = stored.get(acc.key)
        if origin is None or origin == acc.record.origin:
            republish.append(acc)
        else:
            duplicates += 1
    return republish, duplicates
