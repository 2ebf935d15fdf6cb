"""The embedded broker's fetch against a partition's batches: when does it answer with nothing?

    .venv/bin/python -m benchmarks.broker_listing [--batches 20000,60000,100000] [--waits 25,100,500]

One fresh :class:`EmbeddedBroker` (Tansu, memory storage), one topic of one partition. For each
``--batches`` point the partition is filled up to that many batches of one 250-byte record each
(four producers, each flushing every record: one produce request, one batch per record), then for
each ``--waits`` value a reader with that ``fetch_max_wait_ms`` seeks to the last record ``--fetches``
times and polls for it for up to 3 s. Prints the round trip (median) and how many of the fetches got
nothing. Readers are plain ``KafkaConsumer``s (no widening, unlike the services' ``shared.kafka.Consumer``).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.kafka import make_producer

TOPIC = "listing"
TP = TopicPartition(TOPIC, 0)


def fill(settings: Settings, count: int, producers: int = 4, topic: str = TOPIC) -> None:
    """Add ``count`` one-record batches to partition 0 of ``topic``: each producer flushes every
    record, so each is a produce request, and a batch, of its own."""

    def produce(n: int) -> None:
        producer = make_producer(settings, linger_ms=0, acks=1)
        for _ in range(n):
            producer.send(topic, b"x" * 250, partition=0)
            producer.flush()
        producer.close()

    shares = [count // producers + (1 if i < count % producers else 0) for i in range(producers)]
    threads = [threading.Thread(target=produce, args=(n,)) for n in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def last_record_fetches(bootstrap: str, wait_ms: int, fetches: int) -> tuple[float | None, int]:
    """(median round trip in ms of the fetches that got the record, fetches that got nothing in 3 s)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=wait_ms)
    consumer.assign([TP])
    last = consumer.end_offsets([TP])[TP] - 1
    times, nothing = [], 0
    try:
        for i in range(fetches + 1):
            consumer.seek(TP, last)
            started = time.monotonic()
            got = False
            while time.monotonic() - started < 3.0:
                if consumer.poll(timeout_ms=200):
                    got = True
                    break
            if i:  # the first one also connects
                if got:
                    times.append((time.monotonic() - started) * 1000)
                else:
                    nothing += 1
    finally:
        consumer.close()
    return (statistics.median(times) if times else None), nothing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", default="20000,60000,100000")
    ap.add_argument("--waits", default="25,100,500", help="fetch_max_wait_ms values to read with")
    ap.add_argument("--fetches", type=int, default=10)
    args = ap.parse_args()
    points = sorted(int(x) for x in args.batches.split(","))
    waits = [int(x) for x in args.waits.split(",")]
    with EmbeddedBroker() as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="listing")
        admin.create_topics([NewTopic(TOPIC, 1, 1)])
        admin.close()
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        held = 0
        for point in points:
            started = time.monotonic()
            fill(settings, point - held)
            held = point
            print(f"{point:,} batches in the partition (filled in {time.monotonic() - started:.0f} s)")
            for wait in waits:
                median, nothing = last_record_fetches(broker.bootstrap, wait, args.fetches)
                shown = f"{median:6.1f} ms" if median is not None else "     -   "
                print(f"  fetch_max_wait_ms {wait:>4}: round trip p50 {shown}; "
                      f"{nothing} of {args.fetches} fetches got nothing in 3 s")


if __name__ == "__main__":
    main()
