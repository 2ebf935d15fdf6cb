"""Composition root of the alerts service (the floor engine's shell)."""

from __future__ import annotations

import datetime as dt
import logging
import time

import orjson
from kafka import ConsumerRebalanceListener
from kafka.errors import KafkaTimeoutError
from kafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from services.alerts.collector import FloorCollector
from services.alerts.core import RuleSet
from services.alerts.export import ExportLimits, FloorExport
from services.alerts.forked import can_fork
from services.alerts.reload import RulesWatcher
from services.alerts.service import PUBLISHED_READ_LIMIT, AlertsMetrics, AlertsWorker, NotOnTopic, Published
from services.alerts.store import AlertStore
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import BatchLoop, BrokerProbe, make_consumer, make_producer
from shared.runtime import LoopThread, teardown

logger = logging.getLogger(__name__)
GROUP = "floorwatch-alerts"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, worker: AlertsWorker):
        self.worker = worker

    def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
        self.worker.on_partitions_revoked(list(revoked))

    def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
        self.worker.on_partitions_assigned(list(assigned))


def read_published(
    settings: Settings, number: int, offset: int, timeout_s: float = 10.0, limit: int = PUBLISHED_READ_LIMIT
) -> Published | None:
    """Every transition id on the alerts topic's partition ``number`` from ``offset`` to its end:
    what the previous owners of events partition ``number`` published there (same key, same
    partitioner, so the same partition number when both topics have as many partitions).

    None when that cannot be known exactly, and the caller must ask the history instead: the
    partition counts differ, records from ``offset`` on were deleted (retention), or more than
    ``limit`` records lie there (memory stays bounded). Raises KafkaTimeoutError if it is not read
    within ``timeout_s`` (which counts from the call: the offsets asked first too), and
    NotOnTopic when ``offset`` lies past the end (a recreated topic, a restarted embedded broker):
    an empty partition, a reset to an earlier offset, or a fetch's high watermark below it.

    It reads until a fetch brings nothing more, not only to the end offset the broker states: the
    embedded Tansu broker states the end of a partition whose last write was a batch of several
    records as that batch's first offset + 1."""
    alerts, events = settings.topic("alerts"), settings.topic("events")
    began = time.monotonic()

    def left_ms() -> int:
        return max(1, int((timeout_s - (time.monotonic() - began)) * 1000))

    reader = make_consumer(settings, None)
    try:
        counts = [len(reader.partitions_for_topic(t) or ()) for t in (alerts, events)]
        if counts[0] != counts[1] or not counts[0]:
            return None
        tp = TopicPartition(alerts, number)
        reader.assign([tp])
        stated_end = reader.end_offsets([tp], timeout_ms=left_ms())[tp]
        first = reader.beginning_offsets([tp], timeout_ms=left_ms())[tp]
        if first > offset:
            logger.warning("alerts partition %s: records from offset %s deleted (first: %s)",
                           number, offset, first)
            return None
        if stated_end == 0:  # never written: a fresh start, or a topic that lost its records
            if offset:
                raise NotOnTopic(f"alerts partition {number} is empty, offset {offset} is past its end")
            return Published(frozenset(), 0)
        if stated_end - offset > limit:
            logger.warning("alerts partition %s: %d records from offset %s, more than %d to hold",
                           number, stated_end - offset, offset, limit)
            return None
        # from the record before the tail: seeing it proves ``offset`` lies on this topic
        start = offset - 1 if offset > first else offset
        reader.seek(tp, start)
        ids: set[str] = set()
        read = 0
        while True:
            if time.monotonic() - began > timeout_s:
                raise KafkaTimeoutError(
                    f"alerts partition {number}: not read from {offset} in {timeout_s:.1f} s")
            got = reader.poll(timeout_ms=100)
            # Tansu may state an end one batch short, so a stated end below ``offset`` is no proof,
            # and past the end it answers nothing (no out-of-range reset); a fetch's high
            # watermark is exact there, and here
            high = reader.highwater(tp)
            if high is not None and high < offset:
                raise NotOnTopic(f"alerts partition {number} ends at {high}: offset {offset} is past its end")
            if not got and reader.position(tp) >= max(stated_end, offset):
                break
            for records in got.values():
                for rec in records:
                    if rec.offset < start:  # reset to the start: ``offset`` is past this topic's end
                        raise NotOnTopic(f"alerts partition {number} was reset to {rec.offset}: "
                                         f"offset {offset} is past its end")
                    if rec.offset < offset:
                        continue
                    read += 1
                    if read > limit:
                        logger.warning("alerts partition %s: more than %d records from offset %s to hold",
                                       number, limit, offset)
                        return None
                    try:
                        ids.add(orjson.loads(rec.value)["transition_id"])
                    except (ValueError, KeyError, TypeError):
                        continue
        end = reader.position(tp)
        logger.info("alerts partition %s: %d transitions published from offset %s to %s",
                    number, len(ids), offset, end)
        return Published(frozenset(ids), end)
    finally:
        reader.close()


class AlertsRunner:
    """The alerts service as a component: ``start()`` / ``stop()``."""

    def __init__(self, settings: Settings, registry: CollectorRegistry, rules: RuleSet):
        self.settings = settings
        self.registry = registry
        self.rules = rules
        self.worker: AlertsWorker | None = None
        self._batch: BatchLoop | None = None
        self._stopped_by: BaseException | None = None  # the loop's error, kept by stop()
        self._loop: LoopThread | None = None
        self._db = None
        self._producer = None
        self._probe: BrokerProbe | None = None

    def start(self) -> AlertsRunner:
        s = self.settings
        self._probe = BrokerProbe(s, s.topic("events"))
        self._loop = LoopThread("alerts-loop")
        self._db = make_engine(s.database_url, timeout_s=s.alerts_db_timeout_s)
        self._producer = make_producer(s, acks=1, linger_ms=0)
        consumer = make_consumer(s, s.group(GROUP))
        export = FloorExport(ExportLimits.parse(s.metrics_agents, s.metrics_max_values))
        self.registry.register(FloorCollector(export))
        self.worker = AlertsWorker(
            consumer=consumer,
            producer=self._producer,
            store=AlertStore(self._db, s.group(GROUP)),
            loop=self._loop,
            rules=self.rules,
            events_topic=s.topic("events"),
            control_topic=s.topic("control"),
            alerts_topic=s.topic("alerts"),
            floor_topic=s.topic("floor"),
            metrics=AlertsMetrics.create(self.registry),
            floor_interval_s=s.floor_interval_s,
            snapshot_interval_s=s.snapshot_interval_s,
            allowed_lateness_s=s.allowed_lateness_s,
            wall=utcnow,
            rules_watcher=RulesWatcher(s.rules_file, clock=time.monotonic) if s.rules_file else None,
            rules_topic=s.topic("rules"),
            export=export,
            stall_s=s.engine_stall_s,
            horizon_s=s.engine_horizon_s,
            max_sites=s.engine_max_sites,
            read_published=lambda number, offset, timeout_s: read_published(s, number, offset, timeout_s),
            # past max_poll_interval_ms the consumer leaves its group (and the read comes back)
            read_budget_s=s.max_poll_interval_ms / 2000,
            fork_snapshots=s.snapshot_fork and can_fork(),
        )
        consumer.subscribe([s.topic("events"), s.topic("control")], listener=_Listener(self.worker))
        self._batch = BatchLoop(
            consumer,
            self.worker.handle,
            on_idle=self.worker.on_idle,
            on_stop=self.worker.save_all,
            commit=False,
            name="alerts-consumer",
        ).start()
        logger.info("alerts started rules=%d", len(self.rules.rules))
        return self

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the consumer loop, also after ``stop()`` (the exit status)."""
        return self._batch.error if self._batch else self._stopped_by

    def problem(self) -> str | None:
        """Why the service is not ready (``/readyz``), or None."""
        if self._batch is None or self.worker is None:
            return "alerts is not running"
        # the loop turns on through a broker outage (poll returns nothing): ask the broker too
        return (
            self._batch.problem()
            or self.worker.problem()
            or (self._probe.problem() if self._probe else None)
        )

    def stop(self, timeout: float = 10.0) -> None:
        parts = (self._batch, self._producer, self._db, self._loop)
        self._batch = self._producer = self._db = self._loop = None
        teardown(*parts, timeout)
        self._stopped_by = parts[0].error if parts[0] is not None else self._stopped_by
        if self._probe is not None:
            self._probe.close()
        logger.info("alerts stopped")
