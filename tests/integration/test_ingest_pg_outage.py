"""PostgreSQL unreachable under a running ingest (issue 9): it must not commit offsets for what it
has not stored, keep retrying, report not-ready, and lose nothing once the database is back.

The shared PostgreSQL server is never stopped (others use it): ingest reaches it through a TCP
proxy that the test cuts and restores. ``reset``: connections are refused and reset (a database
that went away); ``stall``: nothing is answered any more (a partition; only timeouts notice).
"""

from __future__ import annotations

import asyncio
import json
import time

import orjson
import pytest
from kafka import KafkaConsumer
from kafka.structs import TopicPartition
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from services.ingest.main import GROUP, IngestRunner
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from shared.tables import EventRow
from tests.support.kafkautil import canonical, produce, read_topic
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
BEFORE, DURING = 200, 300


def rows(url: str, prefix: str) -> int:
    async def go() -> int:
        engine = make_engine(url)
        async with engine.connect() as conn:
            stmt = select(func.count()).select_from(EventRow).where(EventRow.event_id.like(f"{prefix}%"))
            n = (await conn.execute(stmt)).scalar_one()
        await engine.dispose()
        return int(n)

    return asyncio.run(go())


def committed(settings: Settings) -> int:
    """Offsets the ingest group has committed on the raw topic, over all partitions."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=settings.group(GROUP),
                             enable_auto_commit=False)
    try:
        topic = settings.topic("raw")
        parts = consumer.partitions_for_topic(topic) or set()
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in parts)
    finally:
        consumer.close(autocommit=False)


def wait_for(what: str, check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("mode", ["reset", "stall"])
def test_ingest_holds_back_while_postgres_is_unreachable_and_loses_nothing(
    settings: Settings, pg_url: str, mode: str
) -> None:
    upgrade(pg_url)
    prefix = f"pg-{mode}-{settings.topic_prefix}"
    host_port = pg_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    with TcpProxy((host, int(port))) as proxy:
        proxied = pg_url.replace(f"@{host_port}/", f"@{proxy.address}/")
        settings = settings.model_copy(update={"database_url": proxied, "ingest_db_timeout_s": 2.0})
        ensure_topics(settings)
        registry = CollectorRegistry()
        runner = IngestRunner(settings, registry).start()
        events = [canonical("call.queued", call=f"c{i}", queue="sales", eid=f"{prefix}{i}")
                  for i in range(BEFORE + DURING)]
        try:
            produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events[:BEFORE]])
            wait_for("the first events stored", lambda: rows(pg_url, prefix) == BEFORE)
            wait_for("their offsets committed", lambda: committed(settings) == BEFORE)

            # Timeline: cut ── produce 300 ── ≥ 8 s: nothing stored, nothing committed, not ready
            #           ── restore ── all 500 stored and published once, offsets at 500, ready.
            proxy.cut(mode)  # type: ignore[arg-type]
            produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events[BEFORE:]])
            wait_for("ingest to report the database",
                     lambda: "database unavailable" in (runner.problem() or ""), timeout=30)
            time.sleep(8)
            assert runner.failed is None
            assert "database unavailable" in (runner.problem() or "")
            assert rows(pg_url, prefix) == BEFORE
            assert committed(settings) == BEFORE  # nothing committed that is not stored
            assert len(read_topic(settings, settings.topic("events"), BEFORE, settle=0.5)) == BEFORE

            proxy.restore()
            wait_for("every event stored", lambda: rows(pg_url, prefix) == BEFORE + DURING, timeout=60)
            wait_for("every offset committed", lambda: committed(settings) == BEFORE + DURING)
            wait_for("ingest ready again", lambda: runner.problem() is None)
            published = read_topic(settings, settings.topic("events"), BEFORE + DURING, settle=1.0)
        finally:
            runner.stop()
    assert runner.failed is None
    ids = [json.loads(r.value)["id"] for r in published]
    assert sorted(ids) == sorted(e["id"] for e in events)  # none lost, none published twice
    assert (registry.get_sample_value("floorwatch_ingest_db_retries_total") or 0) >= 1
    assert registry.get_sample_value("floorwatch_ingest_records_consumed_total",
                                     {"topic": settings.topic("raw")}) == BEFORE + DURING
