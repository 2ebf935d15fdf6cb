"""Small helpers for tests that talk to the real broker."""

from __future__ import annotations

import itertools
import time
from typing import Any

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from shared.config import Settings
from shared.kafka import make_producer

_seq = itertools.count()


def canonical(
    etype: str,
    *,
    site: str = "bj-01",
    source: str = "test",
    ts: str = "2026-11-28T09:00:00+08:00",
    eid: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "v": 1,
        "id": eid or f"e{next(_seq)}",
        "source": source,
        "type": etype,
        "ts": ts,
        "site": site,
        **fields,
    }


def produce(settings: Settings, topic: str, values: list[bytes], key: bytes | None = b"bj-01") -> None:
    producer = make_producer(settings)
    for v in values:
        producer.send(topic, key=key, value=v)
    producer.flush()
    producer.close()


def read_topic(
    settings: Settings, topic: str, expect: int, timeout: float = 20.0, settle: float = 0.0
) -> list[Any]:
    """All records of ``topic`` from the beginning, waiting until at least ``expect`` arrived
    (then ``settle`` seconds more, to catch extras that must not be there)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        auto_offset_reset="earliest",
    )
    deadline = time.monotonic() + timeout
    parts: set[int] | None = None
    while not parts and time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            time.sleep(0.1)
    if not parts:
        consumer.close()
        raise AssertionError(f"topic {topic} does not exist")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out: list[Any] = []
    settle_until: float | None = None
    while time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=100).values():
            out.extend(recs)
        if len(out) >= expect:
            if settle_until is None:
                settle_until = time.monotonic() + settle
            if time.monotonic() >= settle_until:
                break
    consumer.close()
    return out
