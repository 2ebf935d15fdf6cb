"""Ingest's decisions, as pure functions: what each consumed record becomes.

Call order per batch: :func:`triage` every record (→ accepted events or a rejection), then the
shell asks the database which keys it already holds and calls :func:`classify_known` for those;
everything new or a replay of ingest's own crashed batch is published, true duplicates are
counted and dropped. Rejections go to the DLQ with their reason; nothing is lost.

A duplicate ``(source, id)`` whose content differs from the version held (a source that reuses an
id for another event — a bug someone must see) is a :class:`Conflict`: the first version stays,
the record goes to the DLQ with both versions' content hashes (``docs/ingest.md``).

Clock skew: given ``now``, a record with an event dated outside 1980-01-01 .. 2100-01-01 (what the
floor engine accepts) is rejected with the reason, and, with a positive ``max_future_skew_s``, so
is one dated more than that ahead of ``now`` — or of the record's broker timestamp when the broker
set it (``LogAppendTime``) and it is later. One event dated 2099 would otherwise become its site's
clock downstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.events import Event, InvalidEvent, decode_event, dedup_key, encode_event

Origin = tuple[str, int, int]  # topic, partition, offset
Stored = tuple[Origin, bytes]  # where a held event was consumed from, and its stored payload
MAX_REASON = 1000  # characters of a rejection reason (it travels in a DLQ header)


def content_hash(event: Event) -> str:
    """SHA-256 of the event's canonical encoding: equal for the same event however its JSON was
    spelled (key order, spacing, number format); unknown extra fields do not count."""
    return hashlib.sha256(encode_event(event)).hexdigest()


def payload_hash(payload: bytes) -> str:
    """:func:`content_hash` of a stored payload (the raw bytes' hash if it no longer decodes)."""
    try:
        return content_hash(decode_event(payload, max_bytes=len(payload) + 1))
    except InvalidEvent:
        return hashlib.sha256(payload).hexdigest()


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

    @property
    def content_hash(self) -> str:
        return content_hash(self.event)


@dataclass(frozen=True, slots=True)
class Conflict:
    """An event whose ``(source, id)`` is already held with different content: DLQ, both hashes."""

    accepted: Accepted
    first_origin: Origin
    first_hash: str
    hash: str

    @property
    def reason(self) -> str:
        source, eid = self.accepted.key
        topic, part, offset = self.first_origin
        return (
            f"duplicate id with different content: ({source!r}, {eid!r}) was first ingested from "
            f"{topic}[{part}]@{offset} with content sha256 {self.first_hash}; this version's is {self.hash}"
        )[:MAX_REASON]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record ingest cannot accept, for the DLQ. ``unexpected``: the decoder raised something
    other than ``InvalidEvent`` — hostile input or an adapter bug; the shell logs it loudly."""

    record: RawRecord
    adapter: str
    reason: str
    unexpected: bool = False


def unexpected_reason(exc: BaseException) -> str:
    """The DLQ reason for an exception other than ``InvalidEvent``: its type and message, bounded."""
    text = f"decoder failed: {type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


@dataclass(slots=True)
class Triage:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    records_accepted: int = 0  # records that became one or more events (duplicates included)
    ignored: int = 0  # records an adapter deliberately maps to no event (vendor noise)
    in_batch_duplicates: int = 0
    # Later events of the batch whose (source, id) an earlier record of the batch already has:
    # duplicates or conflicts, for :func:`classify_known` to decide against the version held.
    repeats: list[Accepted] = field(default_factory=list)


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
    future (module docstring).

    Never raises for a record: whatever its adapter raises (``InvalidEvent``, or anything else —
    ``RecursionError`` on deep nesting, a ``KeyError`` of an adapter bug) makes that record a
    :class:`Rejected` with the reason, and the records around it go on.
    """
    out = Triage()
    seen: dict[tuple[str, str], Accepted] = {}
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
            # Canonical input is forwarded byte for byte, so unknown extra fields survive.
            decoded = [
                (ev, rec.value if adapter.name == "canonical" else encode_event(ev)) for ev in events
            ]
        except InvalidEvent as exc:
            out.rejected.append(Rejected(rec, adapter.name, str(exc)[:MAX_REASON]))
            continue
        except Exception as exc:  # noqa: BLE001 - one record must never stop the consumer (issue 9)
            out.rejected.append(Rejected(rec, adapter.name, unexpected_reason(exc), unexpected=True))
            continue
        if not decoded:
            out.ignored += 1
            continue
        if now is not None:
            skew = _bad_time(events, max(now, rec.broker_ts or now), max_future_skew_s)
            if skew is not None:
                out.rejected.append(Rejected(rec, adapter.name, skew))
                continue
        out.records_accepted += 1
        for ev, payload in decoded:
            acc = Accepted(rec, ev, payload)
            first = seen.get(acc.key)
            if first is None:
                seen[acc.key] = acc
                out.accepted.append(acc)
            elif first.record is rec:  # one record, one event twice: an adapter's echo
                out.in_batch_duplicates += 1
            else:  # decided against the version held, once the history has answered
                out.repeats.append(acc)
    return out


@dataclass(slots=True)
class Known:
    """What :func:`classify_known` decided about events whose key the history already holds."""

    republish: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    # repeats whose first version in the batch is not stored (the database refused it): not
    # duplicates of anything kept, so they go to the DLQ rather than nowhere
    unstored: list[Accepted] = field(default_factory=list)


EARLIEST_TS = 315_532_800.0  # 1980-01-01T00:00:00Z: the floor engine's range (engine.py, *Bounded work*)
LATEST_TS = 4_102_444_800.0  # 2100-01-01T00:00:00Z, excluded


def _bad_time(events: list[Event], ref: float, limit: float) -> str | None:
    for ev in events:
        t = ev.ts.timestamp()
        if not EARLIEST_TS <= t < LATEST_TS:
            return f"event time {ev.ts.isoformat()} is outside 1980-01-01 .. 2100-01-01"
        ahead = t - ref
        if limit > 0 and ahead > limit:
            return (
                f"event time {ev.ts.isoformat()} is {ahead:.0f} s ahead of ingest's clock "
                f"(limit {limit:g} s, FLOORWATCH_MAX_FUTURE_SKEW_S)"
            )
    return None


def classify_known(
    accepted: Iterable[Accepted], held: Mapping[tuple[str, str], Stored], repeats: Iterable[Accepted] = ()
) -> Known:
    """Decide about events whose key the history holds (``held``: where from, and the payload).

    An event stored from the very same (topic, partition, offset) is ingest's own work from a batch
    that crashed before its offsets were committed: publish it again (downstream dedups on
    ``(source, id)``). Stored from anywhere else with the same content, it is a true duplicate:
    count it, drop it; with other content, a :class:`Conflict`. ``repeats`` (a key seen earlier in
    the same batch; ``held`` then has the version kept) are never published again; one whose key
    ``held`` lacks (the first version was refused by the database) is ``unstored``.
    """
    out = Known()
    for acc in accepted:
        stored = held.get(acc.key)
        if stored is None or stored[0] == acc.record.origin:
            out.republish.append(acc)
        else:
            _compare(acc, stored, out)
    for acc in repeats:
        stored = held.get(acc.key)
        if stored is None:
            out.unstored.append(acc)
        else:
            _compare(acc, stored, out)
    return out


def _compare(acc: Accepted, stored: Stored, out: Known) -> None:
    first_hash, this_hash = payload_hash(stored[1]), acc.content_hash
    if first_hash == this_hash:
        out.duplicates += 1
    else:
        out.conflicts.append(Conflict(acc, stored[0], first_hash, this_hash))
