"""The API's Kafka feed against an in-memory stand-in for kafka-python's consumer (no broker):
a checkpoint that cannot be written leaves the feed running, and reading the checkpoints at
start neither waits for alerts partitions that hold nothing nor keeps every record read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from kafka.structs import TopicPartition

import shared.kafka
from services.api import kafka_feed
from services.api.checkpoint import AlertMirror
from services.api.kafka_feed import KafkaFeed
from services.api.ports import FeedItem
from shared.config import Settings

SETTINGS = Settings(api_checkpoint_s=0.05)
ALERTS = SETTINGS.topic("alerts")
CHECKPOINTS = SETTINGS.topic("alerts-checkpoint")


def alert(n: int) -> bytes:
    return orjson.dumps({"id": f"a{n}", "fingerprint": f"a{n}", "transition_id": f"t{n}", "rule": "r",
                         "kind": "threshold", "severity": "warning", "state": "firing",
                         "scope": {"site": "bj-01"}, "started_at": "2026-12-01T09:00:00+00:00"})


class Record:
    def __init__(self, value: bytes, offset: int) -> None:
        self.value = value
        self.offset = offset
        self.key = b"bj-01"


class FakeConsumer:
    """Topics as lists of values per partition; ``poll`` returns up to 500 records per partition."""

    def __init__(self, logs: dict[TopicPartition, list[bytes]]) -> None:
        self.logs = logs
        self.assigned: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.polled = 0

    def topics(self) -> set[str]:
        return {tp.topic for tp in self.logs}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.logs if tp.topic == topic}

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = list(tps)

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.logs[tp]) for tp in tps}

    def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 0 for tp in tps}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.logs[tp])

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Record]]:
        out = {}
        for tp in self.assigned:
            start = self.positions[tp]
            batch = self.logs[tp][start:start + 500]
            if batch:
                out[tp] = [Record(v, start + n) for n, v in enumerate(batch)]
                self.positions[tp] = start + len(batch)
                self.polled += len(batch)
        return out

    def close(self, autocommit: bool = False) -> None:
        pass


def topics(alerts: int = 1) -> dict[TopicPartition, list[bytes]]:
    """Every topic the feed reads, one partition each (``alerts`` for the alerts topic), empty."""
    logs = {TopicPartition(ALERTS, p): [] for p in range(alerts)}
    for name in ("floor", "rules", "alerts-checkpoint"):
        logs[TopicPartition(SETTINGS.topic(name), 0)] = []
    return logs


async def next_items(items: AsyncIterator[FeedItem], count: int) -> list[FeedItem]:
    return [await asyncio.wait_for(anext(items), 5.0) for _ in range(count)]


async def until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


class SizeRefusingProducer:
    """A producer whose ``send`` refuses every record at once, as kafka-python does for a record
    over ``max_request_size``."""

    def __init__(self, attempts: list[str]) -> None:
        self.attempts = attempts

    def send(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts.append("send")
        raise MessageSizeTooLargeError("the message is 5000000 bytes when serialized")

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.mark.parametrize("failure", ["producer cannot be built", "send refuses the record"])
async def test_a_checkpoint_that_cannot_be_written_leaves_the_feed_running(
        monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    logs = topics()
    logs[TopicPartition(ALERTS, 0)].append(alert(0))
    monkeypatch.setattr(kafka_feed, "make_consumer", lambda *a, **k: FakeConsumer(logs))
    producer_options: list[dict[str, Any]] = []
    attempts: list[str] = []

    def make_producer(settings: Settings, **options: Any) -> SizeRefusingProducer:
        producer_options.append(options)
        if failure == "producer cannot be built":
            attempts.append("build")
            raise KafkaTimeoutError("Bootstrap failed")
        return SizeRefusingProducer(attempts)

    monkeypatch.setattr(shared.kafka, "make_producer", make_producer)
    feed = KafkaFeed(SETTINGS)
    items = aiter(feed)
    try:
        assert [i.value for i in await next_items(items, 1)] == [alert(0)]
        await until(lambda: len(attempts) >= 2)  # failed, and tried again an interval later
        logs[TopicPartition(ALERTS, 0)].append(alert(1))
        assert [i.value for i in await next_items(items, 1)] == [alert(1)]
        assert feed.error is None
        assert feed.stats["checkpoint_failures"] >= 2
    finally:
        await feed.aclose()
    # the waits of the feed's thread on the broker are bounded well below kafka-python's 30 s / 60 s
    assert producer_options and all(
        o["max_block_ms"] <= 5000 and o["bootstrap_timeout_ms"] <= 5000 for o in producer_options)


def checkpoint_records(count: int) -> list[bytes]:
    """``count`` complete checkpoints of alerts partition 0 (one record each), oldest first."""
    mirror = AlertMirror()
    mirror.apply(alert(0), 0)
    one = mirror.encode(ALERTS, 0, "ID", "t")[0]
    return [one.replace(b'"ID"', f'"id{n}"'.encode()) for n in range(count)]


def test_an_alerts_partition_holding_nothing_is_not_waited_for() -> None:
    logs = topics(alerts=3)  # partition 0 has its record and checkpoints; 1 and 2 are empty
    logs[TopicPartition(ALERTS, 0)].append(alert(0))
    logs[TopicPartition(CHECKPOINTS, 0)] += checkpoint_records(30_000)
    consumer = FakeConsumer(logs)
    found = KafkaFeed(SETTINGS)._load_checkpoints(consumer)  # type: ignore[arg-type]
    assert list(found) == [0]
    assert consumer.polled == kafka_feed.CHECKPOINT_WINDOW  # the last window only, not the topic


class SilentConsumer(FakeConsumer):
    """A broker that answers every fetch with nothing (a partition it cannot list in time)."""

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Record]]:
        return {}


def test_reading_the_checkpoints_at_start_has_one_deadline_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    logs = topics()
    logs[TopicPartition(ALERTS, 0)].append(alert(0))
    logs[TopicPartition(CHECKPOINTS, 0)] += checkpoint_records(30_000)
    monkeypatch.setattr(kafka_feed, "CHECKPOINT_READ_S", 0.3)
    # 0 ─ window 1,000 read for 0.3 s: nothing arrives ─ 0.3 give up: use what was read (nothing)
    # (a deadline per window would go on: 4,000 to 0.6, 16,000 to 0.9, 64,000 to 1.2)
    started = time.monotonic()
    found = KafkaFeed(SETTINGS)._load_checkpoints(SilentConsumer(logs))  # type: ignore[arg-type]
    assert found == {}
    assert time.monotonic() - started < 0.6
