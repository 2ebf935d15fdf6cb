"""Ingest throughput against a bare kafka-python pass-through of the same topic, in the same run.

    .venv/bin/python -m benchmarks.ingest_throughput [--events 100000] [--db sqlite|postgres]

Both sides read the same pre-filled raw topic from the start:
* baseline: consume → produce every record unchanged to another topic (client defaults, linger_ms=5);
* ingest: the real service (decode, validate, dedup, history in the database, publish, commit).
Prints records/s of each and the ratio ingest / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid

import orjson
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import CollectorRegistry

from services.ingest.main import IngestRunner
from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade


def fill(settings: Settings, n: int) -> None:
    producer = make_producer(settings, acks=1, linger_ms=20)
    base = {
        "v": 1,
        "source": "bench",
        "type": "call.answered",
        "ts": "2026-11-28T09:00:00.250+08:00",
        "queue": "sales",
        "agent": "a17",
        "wait_s": 12.5,
    }
    for i in range(n):
        site = f"site-{i % 8}"
        producer.send(
            settings.topic("raw"),
            key=site.encode(),
            value=orjson.dumps({**base, "id": f"b{i}", "site": site, "call": f"c{i}"}),
        )
    producer.flush()
    producer.close()


def passthrough(settings: Settings, n: int) -> float:
    consumer = KafkaConsumer(
        settings.topic("raw"),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"bench-pass-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_poll_interval_ms=10_000,
        session_timeout_ms=10_000,
    )
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    out = settings.topic("passthrough")
    seen = 0
    start = None
    while seen < n:
        for recs in consumer.poll(timeout_ms=100).values():
            if start is None:
                start = time.perf_counter()
            for r in recs:
                producer.send(out, key=r.key, value=r.value)
            seen += len(recs)
        if seen:
            consumer.commit()
    producer.flush()
    elapsed = time.perf_counter() - (start or time.perf_counter())
    consumer.close()
    producer.close()
    return n / elapsed


def ingest(settings: Settings, n: int) -> float:
    registry = CollectorRegistry()
    runner = IngestRunner(settings, registry).start()
    start = None
    try:
        while True:
            consumed = (
                registry.get_sample_value(
                    "floorwatch_ingest_records_consumed_total", {"topic": settings.topic("raw")}
                )
                or 0
            )
            if consumed and start is None:
                start = time.perf_counter()
            published = (
                registry.get_sample_value(
                    "floorwatch_ingest_events_published_total", {"type": "call.answered"}
                )
                or 0
            )
            if published >= n:
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - (start or 0)
    finally:
        runner.stop()
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--ingest-only", action="store_true", help="skip the baseline (for profiling)")
    ap.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{os.path.join(tmp, 'bench.db')}" if args.db == "sqlite" else args.pg
        settings = Settings(
            kafka_bootstrap=broker.bootstrap,
            database_url=db,
            partitions=3,
            topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
        )
        upgrade(db)
        ensure_topics(settings, [*ensure_list(settings), settings.topic("passthrough")])
        fill(settings, args.events)
        base = passthrough(settings, args.events) if not args.ingest_only else float("nan")
        ours = ingest(settings, args.events)
        if args.db == "postgres":
            asyncio.run(_cleanup(db, settings))
    print(f"events={args.events} db={args.db}")
    print(f"baseline pass-through: {base:,.0f} records/s")
    print(f"ingest (validate+dedup+history+publish+commit): {ours:,.0f} records/s")
    print(f"ratio ingest/baseline: {ours / base:.2f}")


def ensure_list(settings: Settings) -> list[str]:
    from shared.kafka import service_topics

    return service_topics(settings)


async def _cleanup(url: str, settings: Settings) -> None:
    from sqlalchemy import delete

    from shared.db import make_engine
    from shared.tables import EventRow

    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(EventRow).where(EventRow.source == "bench"))
    await engine.dispose()


if __name__ == "__main__":
    main()
