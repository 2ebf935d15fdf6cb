"""Which fetch answers make ``shared.kafka.Consumer`` widen its wait: the rule, without a broker.

The broker-backed tests (tests/integration/test_embedded_broker_large_partition.py) show the
widening against the embedded broker; these pin the rule itself. In particular, an empty answer
to a fetch sent at the end of the partition must not count: the embedded broker gives a waiting
fetch's later looks only what is left of the wait, so such answers come now and then on a quiet,
small partition, and counting them widened an ordinary run's alerts reader from 25 to 200 ms.
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
from kafka.structs import TopicPartition

import shared.kafka as kafka_mod
from shared.kafka import EMPTY_TO_WIDEN, Consumer

TP = TopicPartition("floorwatch.raw.v1", 0)


@pytest.fixture
def consumer() -> Consumer:
    """A Consumer's fetch watch on stand-ins for kafka-python's fetcher and subscription state
    (no client, no sockets): only what the watch reads and writes."""
    c = Consumer.__new__(Consumer)
    c.config = {"client_id": "floorwatch-test"}
    c._fetcher = SimpleNamespace(config={"fetch_max_wait_ms": 25},
                                 _handle_fetch_response=lambda *args: None)
    c._subscription = SimpleNamespace(assignment={TP: SimpleNamespace(highwater=None)})
    c._watch_fetches()
    return c


def answer(high_watermark: int, records: bytes = b"", error: int = 0) -> SimpleNamespace:
    part = SimpleNamespace(partition_index=TP.partition, error_code=error, records=records,
                           high_watermark=high_watermark)
    return SimpleNamespace(responses=[SimpleNamespace(topic=TP.topic, partitions=[part])])


def feed(c: Consumer, count: int, *, offset: int, last_highwater: int | None, **kw: object) -> None:
    c._subscription.assignment[TP].highwater = last_highwater
    for _ in range(count):
        c._check_answer({TP: offset}, time.monotonic(), answer(**kw))  # type: ignore[arg-type]


def test_empty_answers_to_fetches_sent_behind_widen_the_wait(
    consumer: Consumer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.kafka"):
        feed(consumer, EMPTY_TO_WIDEN - 1, offset=100, last_highwater=500, high_watermark=600)
        assert consumer.fetch_wait_ms == 25
        feed(consumer, 1, offset=100, last_highwater=500, high_watermark=600)
    assert consumer.fetch_wait_ms == 50
    assert "floorwatch.raw.v1[0]" in caplog.text and "25 -> 50 ms" in caplog.text


def test_empty_answers_to_fetches_sent_at_the_end_do_not_count(consumer: Consumer) -> None:
    # the last answer's high watermark was the fetch offset: the fetch waited, news came late
    feed(consumer, 10, offset=500, last_highwater=500, high_watermark=510)
    feed(consumer, 10, offset=500, last_highwater=None, high_watermark=510)  # no answer yet
    assert consumer.fetch_wait_ms == 25


def test_answers_with_records_errors_or_nothing_more_do_not_count(consumer: Consumer) -> None:
    feed(consumer, 10, offset=100, last_highwater=500, high_watermark=600, records=b"batch")
    feed(consumer, 10, offset=100, last_highwater=500, high_watermark=600, error=1)
    feed(consumer, 10, offset=100, last_highwater=500, high_watermark=100)
    assert consumer.fetch_wait_ms == 25


def test_answers_to_fetches_sent_before_a_widening_do_not_count(consumer: Consumer) -> None:
    feed(consumer, EMPTY_TO_WIDEN, offset=100, last_highwater=500, high_watermark=600)
    assert consumer.fetch_wait_ms == 50
    consumer._subscription.assignment[TP].highwater = 500
    sent_before = time.monotonic() - 1.0  # before the widening
    for _ in range(10):
        consumer._check_answer({TP: 100}, sent_before, answer(600))  # type: ignore[arg-type]
    assert consumer.fetch_wait_ms == 50


def test_empty_answers_spread_wider_than_the_window_do_not_add_up(consumer: Consumer) -> None:
    now = 1000.0
    for _ in range(EMPTY_TO_WIDEN * 3):
        consumer._empty_answer(now, [TP])
        now += kafka_mod.EMPTY_WITHIN_S / (EMPTY_TO_WIDEN - 1) + 0.1
    assert consumer.fetch_wait_ms == 25
    for _ in range(EMPTY_TO_WIDEN):  # the same count within the window
        consumer._empty_answer(now, [TP])
        now += 1.0
    assert consumer.fetch_wait_ms == 50


def test_the_wait_doubles_up_to_the_cap_and_then_stays(
    consumer: Consumer, caplog: pytest.LogCaptureFixture
) -> None:
    waits = []
    with caplog.at_level(logging.WARNING, logger="shared.kafka"):
        for _ in range(12):
            consumer._widened_at = 0.0  # every answer counts, as if sent after the widening
            feed(consumer, EMPTY_TO_WIDEN, offset=100, last_highwater=500, high_watermark=600)
            waits.append(consumer.fetch_wait_ms)
    assert waits == [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000]
    assert [r.levelno for r in caplog.records].count(logging.ERROR) == 1


def test_the_watch_sees_every_fetch_answer_and_hands_it_on(consumer: Consumer) -> None:
    """The watch wraps the fetcher's answer handler: the answer still reaches it, and a check that
    fails (a malformed answer) does not keep it from it."""
    handled = []
    consumer._fetcher._handle_fetch_response = lambda *args: handled.append(args)
    consumer._watch_fetches()
    consumer._subscription.assignment[TP].highwater = 500
    for _ in range(EMPTY_TO_WIDEN):
        consumer._fetcher._handle_fetch_response(0, {TP: 100}, time.monotonic(), answer(600))
    assert consumer.fetch_wait_ms == 50 and len(handled) == EMPTY_TO_WIDEN
    consumer._fetcher._handle_fetch_response(0, {TP: 100}, time.monotonic(), object())
    assert len(handled) == EMPTY_TO_WIDEN + 1
