"""Composition root of the notifier: consumer group ``floorwatch-notify`` on the alerts topic."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

from kafka import ConsumerRebalanceListener
from prometheus_client import CollectorRegistry

from services.notify.core import NotifyConfig, load_config
from services.notify.delivery import Deliverer, Endpoint, RetryPolicy
from services.notify.metrics import NotifyMetrics
from services.notify.service import NotifyWorker
from services.notify.store import NotifyStore
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import BatchLoop, make_consumer
from shared.runtime import LoopThread, teardown

logger = logging.getLogger(__name__)
GROUP = "floorwatch-notify"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_config(path: Path, language: str | None = None,
                site_languages: Mapping[str, str] | None = None) -> NotifyConfig:
    """The notifications file; raises ``ConfigError`` with every problem and its line. Receivers
    whose file names no language speak their alerts' site's (``site_languages``), else
    ``language`` (``FLOORWATCH_LANGUAGE``)."""
    return load_config(path.read_text(encoding="utf-8"), name=str(path), language=language or "en",
                       site_languages=site_languages)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, worker: NotifyWorker):
        self.worker = worker

    def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
        self.worker.on_partitions_revoked(list(revoked))

    def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
        self.worker.on_partitions_assigned(list(assigned))


class NotifyRunner:
    """The notifier as a component: ``start()`` / ``stop()``."""

    def __init__(self, settings: Settings, registry: CollectorRegistry, config: NotifyConfig,
                 policy: RetryPolicy | None = None):
        self.settings = settings
        self.registry = registry
        self.config = config
        self.policy = policy or RetryPolicy(timeout_s=settings.notify_timeout_s,
                                            give_up_after_s=settings.notify_give_up_s)
        # Secrets are resolved before anything starts: a missing one is a clear error at start.
        self.endpoints = {r.name: Endpoint.of(r) for r in config.receivers}
        self.worker: NotifyWorker | None = None
        self.deliverer: Deliverer | None = None
        self._batch: BatchLoop | None = None
        self._stopped_by: BaseException | None = None  # the loop's error, kept by stop()
        self._loop: LoopThread | None = None
        self._db = None

    def start(self) -> NotifyRunner:
        s = self.settings
        self._loop = LoopThread("notify-loop")
        self._db = make_engine(s.database_url, timeout_s=s.alerts_db_timeout_s)
        store = NotifyStore(self._db, s.group(GROUP))
        metrics = NotifyMetrics.create(self.registry)
        self.deliverer = Deliverer(store, self.endpoints, metrics, self.policy,
                                   backlog_limit=self.config.backlog_limit, wall=utcnow)
        self._loop.call(self.deliverer.start())
        consumer = make_consumer(s, s.group(GROUP), max_poll_records=500)
        self.worker = NotifyWorker(consumer=consumer, store=store, loop=self._loop, config=self.config,
                                   topic=s.topic("alerts"), metrics=metrics, deliverer=self.deliverer,
                                   wall=utcnow, external_url=s.external_url)
        consumer.subscribe([s.topic("alerts")], listener=_Listener(self.worker))
        self._batch = BatchLoop(consumer, self.worker.handle, on_idle=self.worker.on_idle, commit=False,
                                name="notify-consumer").start()
        logger.info("notifier started receivers=%s routes=%d", ",".join(self.endpoints),
                    len(self.config.routes()))
        return self

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the consumer loop, also after ``stop()`` (the exit status)."""
        return self._batch.error if self._batch else self._stopped_by

    def problem(self) -> str | None:
        if self._batch is None:
            return "notify is not running"
        return self._batch.problem() or (self.worker.problem() if self.worker is not None else None)

    def stop(self, timeout: float = 10.0) -> None:
        batch, db, loop, deliverer = self._batch, self._db, self._loop, self.deliverer
        self._batch = self._db = self._loop = None
        if batch is not None:
            batch.stop()
            batch.join(timeout)
            self._stopped_by = batch.error
        if loop is not None and deliverer is not None:
            loop.call(deliverer.stop(), timeout)
        teardown(None, None, db, loop, timeout)
        logger.info("notifier stopped")
