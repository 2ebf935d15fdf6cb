"""The ingest shell: Kafka in, canonical events + history + DLQ out, offsets committed last.

Per batch (one consumer thread drives, the asyncio loop does the database work):
poll → triage (pure) → store new events in the history → look up origins of keys already held →
publish events and DLQ records → flush → commit offsets. A crash anywhere before the commit means
the batch is consumed again; the history's unique key and the origin check keep that exactly-once
in the history, and the alerts engine dedups the events topic on ``(source, id)``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter as Counter_
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError, StatementError

from services.ingest.core import (
    MAX_REASON,
    Accepted,
    Conflict,
    Decoder,
    Origin,
    RawRecord,
    Rejected,
    Triage,
    classify_known,
    triage,
)
from services.ingest.history import EventHistory
from shared.kafka import Batch, Outcome, RetryLater

logger = logging.getLogger(__name__)


@dataclass
class IngestMetrics:
    consumed: Counter
    accepted: Counter
    published: Counter
    rejected: Counter
    duplicates: Counter
    conflicts: Counter
    decoder_errors: Counter
    ignored: Counter
    db_retries: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            consumed=Counter(
                "floorwatch_ingest_records_consumed", "Raw records consumed", ["topic"], registry=registry
            ),
            accepted=Counter(
                "floorwatch_ingest_records_accepted",
                "Raw records that became canonical events (consumed = accepted + rejected + ignored)",
                registry=registry,
            ),
            published=Counter(
                "floorwatch_ingest_events_published",
                "Canonical events published",
                ["type"],
                registry=registry,
            ),
            rejected=Counter(
                "floorwatch_ingest_records_rejected",
                "Raw records sent to the DLQ",
                ["adapter"],
                registry=registry,
            ),
            duplicates=Counter(
                "floorwatch_ingest_duplicates",
                "Events dropped as duplicates of (source, id) with the same content",
                registry=registry,
            ),
            conflicts=Counter(
                "floorwatch_ingest_duplicate_conflicts",
                "Events whose (source, id) was already ingested with different content (sent to the DLQ)",
                registry=registry,
            ),
            db_retries=Counter(
                "floorwatch_ingest_db_retries",
                "Batches held back because the database was unavailable (retried; nothing committed)",
                registry=registry,
            ),
            decoder_errors=Counter(
                "floorwatch_ingest_decoder_errors",
                "Records whose decoding raised something other than a rejection (sent to the DLQ; "
                "hostile input or an adapter bug)",
                ["adapter"],
                registry=registry,
            ),
            ignored=Counter(
                "floorwatch_ingest_records_ignored",
                "Vendor records that carry no floor event",
                registry=registry,
            ),
        )


def _log_accepted(fresh: list[Any]) -> None:
    """DEBUG: where each event came from, to follow ``(source, id)`` from a raw record onwards."""
    for acc in fresh:
        ev, rec = acc.event, acc.record
        logger.debug(
            "event accepted source=%s id=%s site=%s topic=%s partition=%s offset=%s",
            ev.source, ev.id, ev.site, rec.topic, rec.partition, rec.offset,
            extra={"source": ev.source, "event_id": ev.id, "site": ev.site, "topic": rec.topic,
                   "partition": rec.partition, "offset": rec.offset},
        )


DLQ_MAX_VALUE = 900_000  # bytes of a rejected record's value kept on the DLQ (Kafka's default limit: 1 MB)
MAX_DLQ_HEADERS = 64  # of the record's own headers copied to the DLQ


def _ident(acc: Accepted) -> tuple[Origin, tuple[str, str]]:
    return (acc.record.origin, acc.key)


def _is_data_error(exc: BaseException) -> bool:
    """The database (or the driver) refused a value, as opposed to being unreachable."""
    return (isinstance(exc, DataError | UnicodeError)
            or (isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)))


def to_raw(rec: object) -> RawRecord:
    headers = tuple((k, v) for k, v in (getattr(rec, "headers", None) or ()))
    # the broker's own time (LogAppendTime, timestamp_type 1); CreateTime is only the producer's word
    stamped = getattr(rec, "timestamp_type", None) == 1 and getattr(rec, "timestamp", None) is not None
    broker_ts = rec.timestamp / 1000 if stamped else None  # type: ignore[attr-defined]
    return RawRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value, headers, broker_ts)  # type: ignore[attr-defined]


class Ingest:
    def __init__(
        self,
        *,
        adapters: Mapping[str, Decoder],
        history: EventHistory,
        producer: KafkaProducer,
        events_topic: str,
        dlq_topic: str,
        metrics: IngestMetrics,
        max_bytes: int,
        clock: Callable[[], dt.datetime],
        max_future_skew_s: float = 0.0,
    ):
        self.adapters = adapters
        self.history = history
        self.producer = producer
        self.events_topic = events_topic
        self.dlq_topic = dlq_topic
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.clock = clock
        self.max_future_skew_s = max_future_skew_s

    _triaged: tuple[Batch, Triage] | None = None  # the batch waiting for the database, decoded

    async def process(self, batch: Batch) -> Outcome:
        """Store, then send; returns the sends' :class:`Outcome` (the loop commits once it settles).

        Raises :class:`RetryLater` when the database cannot be reached: nothing was sent, and the
        loop hands the same batch again; its decoding is kept, since adapters carry state from
        record to record and must see each record once.
        """
        if self._triaged is not None and self._triaged[0] is batch:
            result = self._triaged[1]
        else:
            records = [to_raw(r) for r in batch]
            for topic, n in Counter_(rec.topic for rec in records).items():
                self.metrics.consumed.labels(topic).inc(n)
            result = triage(
                records,
                self.adapters,
                max_bytes=self.max_bytes,
                now=self.clock().timestamp(),
                max_future_skew_s=self.max_future_skew_s,
            )
            self._triaged = (batch, result)
        try:
            inserted, refused = await self._store(result.accepted)
            accepted = result.accepted
            if refused:
                accepted = [a for a in accepted if _ident(a) not in refused]
            known = [a for a in accepted if a.key not in inserted]
            duplicates, conflicts, unstored = result.in_batch_duplicates, [], []
            publish = inserted
            if known or result.repeats:
                held = await self.history.held([a.key for a in known]) if known else {}
                # held as of now: what this batch stored first
                held.update((a.key, (a.record.origin, a.payload)) for a in accepted if a.key in inserted)
                decided = classify_known(known, held, result.repeats)
                publish = inserted | {a.key for a in decided.republish}
                duplicates += decided.duplicates
                conflicts = decided.conflicts
                unstored = decided.unstored
        except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the database, not a bug of ours
            self.metrics.db_retries.inc()
            raise RetryLater(f"database unavailable: {type(exc).__name__}: {exc}"[:300]) from exc
        self._triaged = None
        # In the records' order: events stored but never published before a crash are replayed
        # beside new ones, and the engine must see a site's events in the order they came.
        fresh = [a for a in accepted if a.key in publish]
        rejected = [*result.rejected, *refused.values(), *(
            Rejected(a.record, self.adapters[a.record.topic].name,
                     "a repeat of an event whose first version in this batch the database refused; "
                     "not stored: resend it once the first is fixed") for a in unstored)]
        outcome = Outcome()
        send, topic, track = self.producer.send, self.events_topic, outcome.track
        for acc in fresh:
            track(send(topic, key=acc.event.site.encode(), value=acc.payload))
        if fresh and logger.isEnabledFor(logging.DEBUG):
            _log_accepted(fresh)
        for etype, n in Counter_(acc.event.__struct_config__.tag for acc in fresh).items():
            self.metrics.published.labels(etype).inc(n)
        for rej in rejected:
            track(self._dead_letter(rej))
        for conflict in conflicts:
            track(self._conflict(conflict))
        if duplicates:
            self.metrics.duplicates.inc(duplicates)
        self.metrics.accepted.inc(result.records_accepted)
        if result.ignored:
            self.metrics.ignored.inc(result.ignored)
        return outcome

    async def _store(
        self, accepted: list[Accepted]
    ) -> tuple[set[tuple[str, str]], dict[tuple[Origin, tuple[str, str]], Rejected]]:
        """Store the batch's events: (keys inserted, events the database refused as data).

        A refusal of the data (a value the database cannot hold) must not hold up the stream:
        the batch is then stored event by event and each refused one goes to the DLQ. Anything
        else (connection refused or lost, a timeout) means the database is unavailable: raised.
        """
        try:
            return await self.history.store(accepted, self.clock()), {}
        except Exception as exc:
            if not _is_data_error(exc):
                raise
            if len(accepted) == 1:
                acc = accepted[0]
                reason = f"the database refused the event: {type(exc).__name__}: {exc}"[:MAX_REASON]
                logger.error("database refused event source=%s id=%s: %s", *acc.key, exc)
                rejected = Rejected(acc.record, self.adapters[acc.record.topic].name, reason)
                return set(), {_ident(acc): rejected}
        inserted: set[tuple[str, str]] = set()
        refused: dict[tuple[Origin, tuple[str, str]], Rejected] = {}
        for acc in accepted:
            more, bad = await self._store([acc])
            inserted |= more
            refused.update(bad)
        return inserted, refused

    def _dead_letter(self, rej: Rejected) -> Any:
        rec = rej.record
        self.metrics.rejected.labels(rej.adapter).inc()
        if rej.unexpected:
            self.metrics.decoder_errors.labels(rej.adapter).inc()
        # An unexpected exception is hostile input or an adapter bug: loud, but the stream goes on.
        logger.log(
            logging.ERROR if rej.unexpected else logging.INFO,
            "rejected record topic=%s partition=%s offset=%s adapter=%s reason=%s",
            rec.topic, rec.partition, rec.offset, rej.adapter, rej.reason,
            extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset,
                   "adapter": rej.adapter, "reason": rej.reason},
        )
        return self._send_dlq(rec, rej.reason, rej.adapter)

    def _conflict(self, conflict: Conflict) -> Any:
        """A reused id with other content: the first version stays; this one goes to the DLQ."""
        acc = conflict.accepted
        rec, (source, eid) = acc.record, acc.key
        self.metrics.conflicts.inc()
        logger.warning(
            "duplicate id with different content source=%s id=%s first=%s first_sha256=%s sha256=%s "
            "topic=%s partition=%s offset=%s",
            source, eid, conflict.first_origin, conflict.first_hash, conflict.hash,
            rec.topic, rec.partition, rec.offset,
            extra={"source": source, "event_id": eid, "first_sha256": conflict.first_hash,
                   "sha256": conflict.hash, "topic": rec.topic, "partition": rec.partition,
                   "offset": rec.offset},
        )
        adapter = self.adapters[rec.topic].name
        return self._send_dlq(rec, conflict.reason, adapter, [
            ("conflict_event_id", eid.encode("utf-8", "replace")),
            ("conflict_first_sha256", conflict.first_hash.encode()),
            ("conflict_sha256", conflict.hash.encode()),
        ])

    def _send_dlq(self, rec: RawRecord, reason: str, adapter: str,
                  extra: list[tuple[str, bytes]] | None = None) -> Any:
        value = rec.value
        # what the producer refuses would fail the send, and the loop at every restart: a header
        # whose value is null (Java clients and librdkafka send them), a record with neither key
        # nor value (a tombstone without a key), a value so large that it and the headers pass
        # the broker's limit. The raw topic keeps the record as it came.
        kept = [(k, v if isinstance(v, bytes) else b"") for k, v in rec.headers if isinstance(k, str)]
        cut: list[tuple[str, bytes]] = []
        if value is not None and len(value) > DLQ_MAX_VALUE:
            cut = [("truncated_from_bytes", str(len(value)).encode())]
            value = value[:DLQ_MAX_VALUE]
        if value is None and rec.key is None:
            value = b""
        headers = [
            *kept[:MAX_DLQ_HEADERS],
            *cut,
            ("error", reason.encode("utf-8", "replace")),
            ("adapter", adapter.encode()),
            ("source_topic", rec.topic.encode()),
            ("source_partition", str(rec.partition).encode()),
            ("source_offset", str(rec.offset).encode()),
            *(extra or ()),
        ]
        return self.producer.send(self.dlq_topic, key=rec.key, value=value, headers=headers)
