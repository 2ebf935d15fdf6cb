"""The Kafka side of the API: a feed of the alerts, floor and rules topics, and the control-topic sink.

Each API instance reads the topics for itself (manual assignment, no consumer group):
that is what "its own group" means for a fan-out reader, without a group join (~3 s on Tansu) or
groups left behind by instances that come and go. Alerts are read from the latest checkpoint of
each partition (``checkpoint.py``: the active alerts as of an offset) and from its beginning where
there is none, so active alerts are rebuilt (the API dedups transitions); floor snapshots from
shortly before the end, since only the latest per site matters and the engine republishes every
site at least every 5 s; the rule set from the last record of each partition (it is one key,
republished at every change). Every ``api_checkpoint_s`` the feed writes a checkpoint of each
alerts partition it has read further since its last one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from services.api.checkpoint import AlertMirror, Checkpoint, CheckpointPicker
from services.api.ports import FeedItem, FeedKind
from shared.config import Settings
from shared.kafka import BrokerProbe, fetched_end, make_consumer

logger = logging.getLogger(__name__)
FLOOR_BACKLOG = 20  # floor records per partition read back at start
CHECKPOINT_WINDOW = 1000  # checkpoint records per partition read back at start (×4 while too few)
CHECKPOINT_READ_S = 30.0  # longest the checkpoints are read at start, in all (then: what was read)
CHECKPOINT_BLOCK_MS = 2_000  # longest a checkpoint write may hold the feed's thread (connect, metadata)


class KafkaFeed:
    def __init__(self, settings: Settings, *, use_checkpoints: bool = True):
        """``use_checkpoints=False`` reads every alerts partition from its beginning (what an API
        without checkpoints did; the reference of tests and benchmarks)."""
        self.settings = settings
        self.use_checkpoints = use_checkpoints
        self.kinds: dict[str, FeedKind] = {
            settings.topic("alerts"): "alert",
            settings.topic("floor"): "floor",
            settings.topic("rules"): "rules",
        }
        self._stop = threading.Event()
        self._ready_cb: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._probe = BrokerProbe(settings, settings.topic("alerts"))
        self.checkpoint_topic = settings.topic("alerts-checkpoint")
        self._mirrors: dict[int, AlertMirror] = {}
        self._written: dict[int, int | None] = {}  # alerts partition -> offset of our last checkpoint
        self._checkpoint_parts = 0  # partitions of the checkpoint topic (0: it does not exist)
        self._producer: KafkaProducer | None = None
        self.stats = {"alert_records_read": 0, "checkpoints_used": 0, "checkpoints_written": 0,
                      "restored_items": 0, "checkpoint_failures": 0}

    def problem(self) -> str | None:
        """Why the feed cannot be trusted to be current (``/readyz``): the broker is unreachable.
        Blocks for up to the probe's timeout: call it off the event loop."""
        return self._probe.problem()

    def set_ready_callback(self, callback: Callable[[], None]) -> None:
        self._ready_cb = callback

    async def aclose(self) -> None:
        self._stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self._probe.close)
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

    def _assign(self, consumer: KafkaConsumer) -> tuple[dict[TopicPartition, int], list[FeedItem]]:
        """Assign and position every partition; returns the end offsets (caught up when reached)
        and what the checkpoints restore, to yield before anything read."""
        checkpoints: dict[int, Checkpoint] = {}
        if self.use_checkpoints:
            checkpoints = self._verified(self._load_checkpoints(consumer))
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
        restored: list[FeedItem] = []
        for tp in tps:
            if self.kinds[tp.topic] == "floor":
                consumer.seek(tp, max(begins[tp], ends[tp] - FLOOR_BACKLOG))
            elif self.kinds[tp.topic] == "rules":
                consumer.seek(tp, max(begins[tp], ends[tp] - 1))
            else:
                mirror = self._mirrors[tp.partition] = AlertMirror()
                ckpt = checkpoints.get(tp.partition)
                if ckpt is None:
                    consumer.seek(tp, begins[tp])
                    self._written[tp.partition] = None
                    continue
                mirror.restore(ckpt)
                restored += ckpt.items()
                self._written[tp.partition] = ckpt.offset
                consumer.seek(tp, max(begins[tp], ckpt.offset))
                self.stats["checkpoints_used"] += 1
                logger.info("alerts partition %s starts from its checkpoint offset=%s active=%d tail=%d",
                            tp.partition, ckpt.offset, len(ckpt.alerts), ends[tp] - ckpt.offset)
        return ends, restored

    def _load_checkpoints(self, consumer: KafkaConsumer) -> dict[int, Checkpoint]:
        """The latest complete checkpoint per alerts partition, from the last records of the
        checkpoint topic (a window widened while some alerts partition holding records has none
        and more is left), within ``CHECKPOINT_READ_S`` in all."""
        consumer.topics()  # refresh metadata: the topic may have been created since the client started
        parts = consumer.partitions_for_topic(self.checkpoint_topic)
        self._checkpoint_parts = len(parts or ())
        if not parts:
            return {}
        alerts = [TopicPartition(self.settings.topic("alerts"), p)
                  for p in sorted(consumer.partitions_for_topic(self.settings.topic("alerts")) or ())]
        alert_ends: dict[TopicPartition, int] = consumer.end_offsets(alerts) if alerts else {}
        alert_begins: dict[TopicPartition, int] = consumer.beginning_offsets(alerts) if alerts else {}
        # a partition holding no record has nothing to checkpoint, and may never have had one
        wanted = {tp.partition for tp in alerts if alert_ends[tp] > alert_begins[tp]}
        tps = [TopicPartition(self.checkpoint_topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        begins: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
        picker = CheckpointPicker(self.settings.topic("alerts"))  # holds the best found, not what was read
        window = CHECKPOINT_WINDOW
        deadline = time.monotonic() + CHECKPOINT_READ_S
        while True:
            for tp in tps:
                consumer.seek(tp, max(begins[tp], ends[tp] - window))
            # to the end offsets and then until a poll is empty: Tansu can report a partition's
            # end one short after a batch of several records (seen: 2 for 3 records)
            polled: dict[Any, Any] = {None: None}
            while polled or any(consumer.position(tp) < ends[tp] for tp in tps):
                if self._stop.is_set() or time.monotonic() > deadline:
                    logger.warning("reading the alerts checkpoints took over %s s: using what was read",
                                   CHECKPOINT_READ_S)
                    return picker.latest()
                polled = consumer.poll(timeout_ms=200)
                for recs in polled.values():
                    for rec in recs:
                        picker.add(rec.value)
            found = picker.latest()
            whole = all(ends[tp] - window <= begins[tp] for tp in tps)
            if whole or wanted <= set(found) or self._stop.is_set():
                return found
            window *= 4

    def _verified(self, found: dict[int, Checkpoint]) -> dict[int, Checkpoint]:
        """The checkpoints that match the alerts topic as it is: the record just before each one's
        offset is there and is a transition the checkpoint has seen. Otherwise (the topic was
        recreated, or that record is past retention) the partition is read from its beginning.
        Not the end offsets: Tansu reports a partition's end as the start of its last batch."""
        topic = self.settings.topic("alerts")
        want = {TopicPartition(topic, p): c for p, c in found.items() if c.offset > 0}
        if not want:
            return found
        # a consumer of its own: pausing / seeking the feed's consumer here left it stalled
        probe = make_consumer(self.settings, None, max_poll_records=10)
        first: dict[TopicPartition, Any] = {}
        try:
            probe.assign(list(want))
            for tp, ckpt in want.items():
                probe.seek(tp, ckpt.offset - 1)
            deadline = time.monotonic() + CHECKPOINT_READ_S
            while len(first) < len(want) and time.monotonic() < deadline and not self._stop.is_set():
                for tp, recs in probe.poll(timeout_ms=200).items():
                    if recs and tp not in first:
                        first[tp] = recs[0]
        finally:
            probe.close(autocommit=False)
        kept = {p: c for p, c in found.items() if c.offset == 0}
        for tp, ckpt in want.items():
            rec = first.get(tp)
            if rec is not None and rec.offset == ckpt.offset - 1 and _seen_by(ckpt, rec.value):
                kept[tp.partition] = ckpt
            else:
                logger.warning("alerts checkpoint does not match the topic: partition read from its "
                               "beginning partition=%s offset=%s found=%s", tp.partition, ckpt.offset,
                               None if rec is None else rec.offset)
        return kept

    def _checkpoint(self, now: float, every_s: float, last: float) -> float:
        """Write a checkpoint of every alerts partition read further since our last one, when
        ``every_s`` has passed since ``last``; returns when this was last done. A failure is
        logged and counted, and the next interval tries again: checkpoints only shorten the next
        start, so they must never stop the feed, nor hold its thread for long."""
        if every_s <= 0 or now - last < every_s or not self._checkpoint_parts:
            return last
        try:
            self._write_checkpoints()
        except Exception as exc:  # noqa: BLE001 - any failure here must leave the feed running
            self.stats["checkpoint_failures"] += 1
            logger.warning("writing the alerts checkpoints failed: retried in %s s reason=%r", every_s, exc)
        return now

    def _write_checkpoints(self) -> None:
        written_at = dt.datetime.now(dt.UTC).isoformat()
        topic = self.settings.topic("alerts")
        if self._producer is None:
            from shared.kafka import make_producer

            # bounded waits: the broker unreachable or the topic's metadata missing would
            # otherwise block this thread, which carries the alerts, for 30 s to build and 60 s a send
            self._producer = make_producer(self.settings, linger_ms=0, max_block_ms=CHECKPOINT_BLOCK_MS,
                                           bootstrap_timeout_ms=CHECKPOINT_BLOCK_MS)
        for partition, mirror in self._mirrors.items():
            if mirror.position is None or mirror.position == self._written.get(partition):
                continue
            ckpt_id = f"{uuid.uuid4().hex[:12]}-{partition}-{mirror.position}"
            for value in mirror.encode(topic, partition, ckpt_id, written_at):
                # not flushed here: this thread carries the alerts (the producer's own thread sends)
                self._producer.send(self.checkpoint_topic, key=f"{topic}/{partition}".encode(), value=value,
                                    partition=partition % self._checkpoint_parts
                                    ).add_errback(self._not_written, partition)
            self._written[partition] = mirror.position
            self.stats["checkpoints_written"] += 1

    def _not_written(self, partition: int, exc: BaseException) -> None:
        """A checkpoint record was not written: the next interval writes the partition again."""
        self._written[partition] = None
        logger.warning("writing an alerts checkpoint failed partition=%s reason=%r", partition, exc)

    def _run(self, put: Callable[[list[FeedItem] | None], None]) -> None:
        consumer = make_consumer(self.settings, None, max_poll_records=500)
        every_s = self.settings.api_checkpoint_s
        try:
            ends, restored = self._assign(consumer)
            if restored:
                self.stats["restored_items"] = len(restored)
                put(restored)
            ready = False
            settled: set[TopicPartition] = set()  # partitions whose end a fetch has stated exactly
            checkpointed = time.monotonic()
            while not self._stop.is_set():
                polled = consumer.poll(timeout_ms=100)
                items = []
                for tp, recs in polled.items():
                    kind = self.kinds[tp.topic]
                    for rec in recs:
                        if rec.value is None:
                            continue
                        if kind == "alert":
                            self.stats["alert_records_read"] += 1
                            if not self._mirrors[tp.partition].apply(rec.value, rec.offset):
                                continue  # a redelivered transition: LiveState would drop it too
                        items.append(FeedItem(kind, (rec.key or b"").decode("utf-8", "replace"), rec.value))
                if items:
                    put(items)
                if not ready and _caught_up(consumer, ends, settled):
                    ready = True
                    if self._ready_cb is not None:
                        self._ready_cb()
                if ready:
                    checkpointed = self._checkpoint(time.monotonic(), every_s, checkpointed)
        except BaseException as exc:
            self.error = exc
            logger.exception("api feed stopped by an error")
        finally:
            consumer.close(autocommit=False)
            if self._producer is not None:
                self._producer.close(5)
            put(None)


def _caught_up(
    consumer: KafkaConsumer, ends: dict[TopicPartition, int], settled: set[TopicPartition]
) -> bool:
    """Whether every partition has been read to where it ended when the feed started: each end
    as stated is raised, once (``settled``), to where a fetch found it (``fetched_end``; records
    of Tansu's last batch can still be waiting in the client). A partition no fetch has answered
    yet is not caught up."""
    for tp, end in ends.items():
        if tp not in settled:
            found = fetched_end(consumer, tp, end)
            if found is None:
                return False
            ends[tp] = end = found
            settled.add(tp)
        if consumer.position(tp) < end:
            return False
    return True


def _seen_by(ckpt: Checkpoint, value: bytes | None) -> bool:
    """Whether ``value`` (the record before the checkpoint's offset) is one the checkpoint read: its
    transition id is among the checkpoint's recent ones (a record without one cannot be told)."""
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return True
    tid = doc.get("transition_id") if isinstance(doc, dict) else None
    return not isinstance(tid, str) or tid in set(ckpt.recent_ids)


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
