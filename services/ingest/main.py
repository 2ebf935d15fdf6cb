"""Composition root of ingest: builds settings' collaborators, runs, and tears down in reverse."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry

from services.ingest.core import Decoder
from services.ingest.history import EventHistory
from services.ingest.service import Ingest, IngestMetrics
from shared.config import Settings
from shared.db import make_engine
from shared.events import Event, decode_event
from shared.kafka import BatchLoop, BrokerProbe, Outcome, make_consumer, make_producer
from shared.runtime import LoopThread, teardown

logger = logging.getLogger(__name__)
GROUP = "floorwatch-ingest"


class CanonicalDecoder:
    name = "canonical"

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        return [decode_event(value, max_bytes=self.max_bytes)]


def build_adapters(settings: Settings) -> Mapping[str, Decoder]:
    adapters: dict[str, Decoder] = {
        t: CanonicalDecoder(settings.max_event_bytes) for t in settings.raw_topic_list
    }
    for spec in settings.sources:
        from services.ingest.adapters import get_adapter

        adapters[spec.topic] = get_adapter(spec.adapter, site=spec.site, source=spec.source, **spec.options)
    return adapters


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IngestRunner:
    """ingest as a component: ``start()`` / ``stop()``; used alone or inside ``floorwatch up``."""

    def __init__(self, settings: Settings, registry: CollectorRegistry):
        self.settings = settings
        self.registry = registry
        self._loop: LoopThread | None = None
        self._batch: BatchLoop | None = None
        self._stopped_by: BaseException | None = None  # the loop's error, kept by stop()
        self._producer = None
        self._engine = None
        self._probe: BrokerProbe | None = None

    def start(self) -> IngestRunner:
        s = self.settings
        self._probe = BrokerProbe(s, s.topic("events"))
        adapters = build_adapters(s)
        self._loop = LoopThread("ingest-loop")
        self._engine = make_engine(s.database_url, timeout_s=s.ingest_db_timeout_s)
        # linger 0: each batch's events go out as soon as they are sent, not 5 ms later -- every
        # event's way to an alert passes here (docs/benchmarks.md, *what was tried for issue 14*)
        self._producer = make_producer(s, linger_ms=0)
        ingest = Ingest(
            adapters=adapters,
            history=EventHistory(self._engine),
            producer=self._producer,
            events_topic=s.topic("events"),
            dlq_topic=s.topic("dlq"),
            metrics=IngestMetrics.create(self.registry),
            max_bytes=s.max_event_bytes,
            clock=utcnow,
            max_future_skew_s=s.max_future_skew_s,
        )
        consumer = make_consumer(s, s.group(GROUP), list(adapters))
        loop = self._loop

        def handle(batch: list) -> Outcome:  # type: ignore[type-arg]
            return loop.call(ingest.process(batch))

        self._batch = BatchLoop(consumer, handle, name="ingest-consumer").start()
        logger.info("ingest started topics=%s", list(adapters))
        return self

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the consumer loop, also after ``stop()`` (the exit status)."""
        return self._batch.error if self._batch else self._stopped_by

    def problem(self) -> str | None:
        """Why the service is not ready (``/readyz``), or None."""
        if self._batch is None:
            return "ingest is not running"
        # the loop turns on through a broker outage (poll returns nothing): ask the broker too
        return self._batch.problem() or (self._probe.problem() if self._probe else None)

    def stop(self, timeout: float = 10.0) -> None:
        parts = (self._batch, self._producer, self._engine, self._loop)
        self._batch = self._producer = self._engine = self._loop = None
        teardown(*parts, timeout)
        self._stopped_by = parts[0].error if parts[0] is not None else self._stopped_by
        if self._probe is not None:
            self._probe.close()
        logger.info("ingest stopped")
