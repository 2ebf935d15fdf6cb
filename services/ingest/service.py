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

from services.ingest.core import Decoder, RawRecord, Rejected, classify_known, triage
from services.ingest.history import EventHistory
from shared.kafka import Batch, Outcome

logger = logging.getLogger(__name__)


@dataclass
class IngestMetrics:
    consumed: Counter
    accepted: Counter
    published: Counter
    rejected: Counter
    duplicates: Counter
    ignored: Counter

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
                "Events dropped as duplicates of (source, id)",
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


def to_raw(rec: object) -> RawRecord:
    headers = tuple((k, v) for k, v in (getattr(rec, "headers", None) or ()))
    return RawRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value, headers)  # type: ignore[attr-defined]


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
    ):
        self.adapters = adapters
        self.history = history
        self.producer = producer
        self.events_topic = events_topic
        self.dlq_topic = dlq_topic
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.clock = clock

    async def process(self, batch: Batch) -> Outcome:
        """Store, then send; returns the sends' :class:`Outcome` (the loop commits once it settles)."""
        records = [to_raw(r) for r in batch]
        for topic, n in Counter_(rec.topic for rec in records).items():
            self.metrics.consumed.labels(topic).inc(n)
        result = triage(records, self.adapters, max_bytes=self.max_bytes)
        inserted = await self.history.store(result.accepted, self.clock())
        known = [a for a in result.accepted if a.key not in inserted]
        duplicates = result.in_batch_duplicates
        if known:
            origins = await self.history.origins([a.key for a in known])
            replayed, dup = classify_known(known, origins)
            inserted = inserted | {a.key for a in replayed}
            duplicates += dup
        # In the records' order: after a crash, events stored but never published are replayed
        # beside new ones, and the engine must see a site's events in the order they came
        # (docs/reliability.md, "kill -9").
        fresh = [a for a in result.accepted if a.key in inserted]
        outcome = Outcome()
        send, topic, track = self.producer.send, self.events_topic, outcome.track
        for acc in fresh:
            track(send(topic, key=acc.event.site.encode(), value=acc.payload))
        if fresh and logger.isEnabledFor(logging.DEBUG):
            _log_accepted(fresh)
        for etype, n in Counter_(acc.event.__struct_config__.tag for acc in fresh).items():
            self.metrics.published.labels(etype).inc(n)
        for rej in result.rejected:
            track(self._dead_letter(rej))
        if duplicates:
            self.metrics.duplicates.inc(duplicates)
        self.metrics.accepted.inc(result.records_accepted)
        if result.ignored:
            self.metrics.ignored.inc(result.ignored)
        return outcome

    def _dead_letter(self, rej: Rejected) -> Any:
        rec = rej.record
        headers = [
            *rec.headers,
            ("error", rej.reason.encode()),
            ("adapter", rej.adapter.encode()),
            ("source_topic", rec.topic.encode()),
            ("source_partition", str(rec.partition).encode()),
            ("source_offset", str(rec.offset).encode()),
        ]
        self.metrics.rejected.labels(rej.adapter).inc()
        logger.info(
            "rejected record topic=%s partition=%s offset=%s adapter=%s reason=%s",
            rec.topic, rec.partition, rec.offset, rej.adapter, rej.reason,
            extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset,
                   "adapter": rej.adapter, "reason": rej.reason},
        )
        return self.producer.send(self.dlq_topic, key=rec.key, value=rec.value, headers=headers)
