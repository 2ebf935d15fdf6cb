"""The API's feed turns ready (``/readyz``, the state a new client is sent) only once it has read every
alerts record that was on the topic when it started, on the real broker.

The embedded Tansu broker states a partition's end as the first offset + 1 of its last batch. With
the alerts in one batch of 800 records and the feed taking 500 per poll, a feed that trusted that
statement turned ready after its first poll, 300 records short.
"""

from __future__ import annotations

import asyncio
import threading

import orjson
import pytest
from kafka import TopicPartition

from services.api.kafka_feed import KafkaFeed
from shared.config import Settings
from shared.kafka import ensure_topics, make_consumer, make_producer

pytestmark = pytest.mark.kafka

RECORDS = 800


def alert(n: int) -> bytes:
    fp = f"bj-01/rule/q{n}"
    return orjson.dumps({"id": fp, "fingerprint": fp, "transition_id": f"t{n}", "rule": "rule",
                         "kind": "threshold", "severity": "warning", "state": "firing",
                         "scope": {"site": "bj-01", "queue": f"q{n}"}, "value": 1.0, "threshold": 0.0,
                         "started_at": "2026-12-01T08:00:00+00:00",
                         "updated_at": "2026-12-01T08:00:00+00:00"})


async def test_the_feed_is_ready_only_after_every_alert_on_the_topic(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_checkpoint_s": 0})
    ensure_topics(settings)
    topic = settings.topic("alerts")
    producer = make_producer(settings, linger_ms=500, batch_size=4 * 1024 * 1024)
    for n in range(RECORDS):  # one key, one partition; sent within the linger: one batch
        producer.send(topic, key=b"bj-01", value=alert(n))
    producer.flush()
    producer.close()

    # the premise: the broker states the end short of what a fetch finds (else nothing is tested)
    probe = make_consumer(settings, None)
    try:
        stated = probe.end_offsets([TopicPartition(topic, p) for p in probe.partitions_for_topic(topic)])
    finally:
        probe.close()
    filled = [end for end in stated.values() if end > 0]
    assert len(filled) == 1 and filled[0] < RECORDS, f"stated ends {stated}: the records were not one batch"

    feed = KafkaFeed(settings)
    read_when_ready: list[int] = []
    ready = threading.Event()

    def on_ready() -> None:  # on the feed's thread, after the poll's records were counted
        read_when_ready.append(feed.stats["alert_records_read"])
        ready.set()

    feed.set_ready_callback(on_ready)
    received = 0
    all_received = asyncio.Event()

    async def pump() -> None:
        nonlocal received
        async for item in feed:
            received += item.kind == "alert"
            if received == RECORDS:
                all_received.set()

    task = asyncio.create_task(pump())
    try:
        assert await asyncio.get_running_loop().run_in_executor(None, ready.wait, 30), "never ready"
        assert read_when_ready == [RECORDS]
        await asyncio.wait_for(all_received.wait(), 10)  # and the pump is handed all of them
    finally:
        await feed.aclose()
        await asyncio.wait_for(task, 10)
