"""kill -9 of ingest in the middle of a stream, then a restart: no event lost, none stored twice,
and every event that reached the events topic more than once carries the same (source, id)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from shared.broker import free_port
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade
from shared.tables import EventRow
from tests.support.kafkautil import canonical, read_topic
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
N = 20_000


def _rows(url: str) -> int:
    async def go() -> int:
        engine = make_engine(url)
        async with engine.connect() as conn:
            n = int((await conn.execute(select(func.count()).select_from(EventRow))).scalar_one())
        await engine.dispose()
        return n

    return asyncio.run(go())


def test_kill_9_mid_stream_loses_nothing_and_stores_once(
    settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"database_url": pg_url, "topic_prefix": settings.topic_prefix + "crash."}
    )
    upgrade(pg_url)
    ensure_topics(settings)
    before = _rows(pg_url)
    env = env_for(settings)
    log = tmp_path / "ingest.log"

    def produce_stream() -> None:
        producer = make_producer(settings)
        for i in range(N):
            ev = canonical("call.queued", call=f"c{i}", queue="sales", site=f"site-{i % 4}", eid=f"crash-{i}")
            producer.send(settings.topic("raw"), key=ev["site"].encode(), value=orjson.dumps(ev))
            if i % 2000 == 0:
                time.sleep(0.05)  # spread the stream so the kill lands in the middle of it
        producer.flush()
        producer.close()

    first = spawn(["ingest", "--metrics-port", str(free_port())], env, log)
    writer = threading.Thread(target=produce_stream)
    writer.start()
    # Wait until ingest is visibly in the middle of the stream, then kill it without warning.
    deadline = time.monotonic() + 60
    while _rows(pg_url) - before < N // 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    stored_at_kill = _rows(pg_url) - before
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    writer.join()
    assert 0 < stored_at_kill < N, f"the kill did not land mid-stream (stored {stored_at_kill})"

    second = spawn(["ingest", "--metrics-port", str(free_port())], env, log)
    try:
        deadline = time.monotonic() + 90
        while _rows(pg_url) - before < N and time.monotonic() < deadline:
            time.sleep(0.2)
        published = read_topic(settings, settings.topic("events"), N, timeout=60, settle=2.0)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()[-3000:]

    assert _rows(pg_url) - before == N  # history: every event exactly once
    ids = [orjson.loads(r.value)["id"] for r in published]
    assert set(ids) == {f"crash-{i}" for i in range(N)}  # nothing lost downstream
    # Redelivery (at-least-once) is bounded by the batch in flight at the kill.
    assert len(ids) - N <= 2 * 2000, f"{len(ids) - N} redelivered"
    assert first.returncode == -signal.SIGKILL
