"""Kafka plumbing: client factories with settings that work on Apache Kafka and on Tansu alike,
topic creation, and the one-thread-owns-the-consumer batch loop.

kafka-python's consumer is not thread-safe, so :class:`BatchLoop` runs it in one thread:
``poll`` → ``handle(batch)`` → commit what was handled. A handler that raises stops the loop
without committing that batch (a bug is not bad input); the service then exits loudly and the
batch is consumed again on restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from floorwatch.shared.config import Settings

logger = logging.getLogger(__name__)

Batch = list[ConsumerRecord]


def service_topics(settings: Settings) -> list[str]:
    names = ["events", "dlq", "alerts", "floor", "control"]
    vendor = [s.topic for s in settings.sources]
    return [*settings.raw_topic_list, *vendor, *(settings.topic(n) for n in names)]


def ensure_topics(settings: Settings, topics: Iterable[str] | None = None, timeout_s: float = 30) -> None:
    """Create the topics Floorwatch uses if they are missing (idempotent)."""
    wanted = list(topics or service_topics(settings))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="floorwatch-admin")
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            logger.info("waiting for kafka bootstrap=%s error=%s", settings.kafka_bootstrap, exc)
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(t, settings.partitions, 1) for t in missing])
            except TopicAlreadyExistsError:
                pass
            logger.info("created topics %s", missing)
    finally:
        admin.close()


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": "floorwatch",
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(settings: Settings, group_id: str | None, topics: Sequence[str] = (), **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": f"floorwatch-{group_id or 'reader'}",
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": max(1000, settings.session_timeout_ms // 5),
        "max_poll_records": settings.ingest_batch,
    }
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    if topics:
        consumer.subscribe(list(topics))
    return consumer


def next_offsets(batch: Batch) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets to commit after ``batch``: last offset + 1 per partition."""
    last: dict[TopicPartition, int] = {}
    for rec in batch:
        tp = TopicPartition(rec.topic, rec.partition)
        if rec.offset >= last.get(tp, -1):
            last[tp] = rec.offset
    return {tp: OffsetAndMetadata(off + 1, "", -1) for tp, off in last.items()}


class BatchLoop:
    """Owns one consumer in one thread: poll → ``handle(batch)`` → commit.

    ``on_idle`` runs after every poll (also empty ones), in the same thread — for time-driven
    work such as ticks and coalesced publication; ``on_stop`` once on a clean stop, before the
    consumer closes (e.g. a last snapshot). ``stop()`` is idempotent; the loop finishes the
    batch in hand, commits it, and closes the consumer.
    """

    def __init__(
        self,
        consumer: KafkaConsumer,
        handle: Callable[[Batch], None],
        *,
        on_idle: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        commit: bool = True,
        poll_timeout_ms: int = 50,
        name: str = "consumer",
    ):
        self.consumer = consumer
        self._handle = handle
        self._on_idle = on_idle
        self._on_stop = on_stop
        self._commit = commit
        self._poll_timeout_ms = poll_timeout_ms
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._last: dict[TopicPartition, OffsetAndMetadata] | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> BatchLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                polled = self.consumer.poll(timeout_ms=self._poll_timeout_ms)
                batch: Batch = [rec for recs in polled.values() for rec in recs]
                if batch:
                    self._handle(batch)
                    self._last = {**(self._last or {}), **next_offsets(batch)}
                    if self._commit:
                        # Asynchronous: a commit lost to a crash only means the batch is consumed
                        # again, which every consumer here must survive anyway; waiting for the
                        # broker's answer would add a round trip to every event's latency.
                        self.consumer.commit_async(next_offsets(batch))
                if self._on_idle is not None:
                    self._on_idle()
            if self._on_stop is not None:  # a clean stop only: never after a failed batch
                self._on_stop()
            if self._commit and self._last is not None:
                self.consumer.commit(self._last)  # the final position, synchronously
        except BaseException as exc:
            self.error = exc
            logger.exception("%s loop stopped by an error; the batch in hand was not committed", self.thread.name)
            self._stop.set()
        finally:
            try:
                self.consumer.close(autocommit=False)
            except Exception:
                logger.warning("closing %s consumer failed", self.thread.name, exc_info=True)
