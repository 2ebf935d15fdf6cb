"""The Kafka side of the API: a feed of the alerts, floor and rules topics, and the control-topic sink.

Each API instance reads both topics in full for itself (manual assignment, no consumer group):
that is what "its own group" means for a fan-out reader, without a group join (~3 s on Tansu) or
groups left behind by instances that come and go. Alerts are read from the beginning so active
alerts are rebuilt (the API dedups transitions); floor snapshots from shortly before the end, since
only the latest per site matters and the engine republishes every site at least every 5 s; the
rule set from the last record of each partition (it is one key, republished at every change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from services.api.ports import FeedItem, FeedKind
from shared.config import Settings
from shared.kafka import make_consumer

logger = logging.getLogger(__name__)
FLOOR_BACKLOG = 20  # floor records per partition read back at start


class KafkaFeed:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.kinds: dict[str, FeedKind] = {
            settings.topic("alerts"): "alert",
            settings.topic("floor"): "floor",
            settings.topic("rules"): "rules",
        }
        self._stop = threading.Event()
        self._ready_cb: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def set_ready_callback(self, callback: Callable[[], None]) -> None:
        self._ready_cb = callback

    async def aclose(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 5.0)

    def __aiter__(self) -> AsyncIterator[FeedItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FeedItem]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[list[FeedItem] | None] = asyncio.Queue(maxsize=1000)

        def put(items: list[FeedItem] | None) -> None:
            # Blocks the consumer thread when the API falls behind: Kafka holds the backlog.
            asyncio.run_coroutine_threadsafe(queue.put(items), loop).result()

        self._thread = threading.Thread(target=self._run, args=(put,), name="api-feed", daemon=True)
        self._thread.start()
        while True:
            items = await queue.get()
            if items is None:
                return
            for item in items:
                yield item

    def _assign(self, consumer: KafkaConsumer) -> dict[TopicPartition, int]:
        tps: list[TopicPartition] = []
        for topic in self.kinds:
            parts: set[int] | None = None
            while not parts and not self._stop.is_set():
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    consumer.topics()  # refresh metadata; the topic may not exist yet
                    self._stop.wait(0.2)
            tps += [TopicPartition(topic, p) for p in sorted(parts or ())]
        consumer.assign(tps)
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        begins: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
        for tp in tps:
            if self.kinds[tp.topic] == "floor":
                consumer.seek(tp, max(begins[tp], ends[tp] - FLOOR_BACKLOG))
            elif self.kinds[tp.topic] == "rules":
                consumer.seek(tp, max(begins[tp], ends[tp] - 1))
            else:
                consumer.seek(tp, begins[tp])
        return ends

    def _run(self, put: Callable[[list[FeedItem] | None], None]) -> None:
        consumer = make_consumer(self.settings, None, max_poll_records=500)
        try:
            ends = self._assign(consumer)
            ready = False
            while not self._stop.is_set():
                polled = consumer.poll(timeout_ms=100)
                items = [
                    FeedItem(self.kinds[tp.topic], (rec.key or b"").decode("utf-8", "replace"), rec.value)
                    for tp, recs in polled.items()
                    for rec in recs
                    if rec.value is not None
                ]
                if items:
                    put(items)
                if not ready and all(consumer.position(tp) >= end for tp, end in ends.items()):
                    ready = True
                    if self._ready_cb is not None:
                        self._ready_cb()
        except BaseException as exc:
            self.error = exc
            logger.exception("api feed stopped by an error")
        finally:
            consumer.close(autocommit=False)
            put(None)


class KafkaCommandSink:
    """Ack / silence requests onto the control topic, keyed by site (the engine's partition)."""

    def __init__(self, producer: KafkaProducer, topic: str, clock: Callable[[], dt.datetime]):
        self.producer = producer
        self.topic = topic
        self.clock = clock

    async def send(self, site: str, command: dict[str, Any]) -> None:
        body = {"at": self.clock().isoformat(), **command}
        future = self.producer.send(self.topic, key=site.encode(), value=orjson.dumps(body))
        await asyncio.get_running_loop().run_in_executor(None, future.get, 10)
