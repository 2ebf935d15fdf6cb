"""ingest against the real broker and a real database: valid events through, bad ones to the DLQ
with reasons, duplicates once, history stored once."""

from __future__ import annotations

import asyncio
import hashlib
import json

import orjson
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from services.ingest.main import IngestRunner
from shared.config import Settings
from shared.db import make_engine
from shared.events import decode_event, encode_event
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade
from shared.tables import EventRow
from tests.support.kafkautil import canonical, produce, read_topic

pytestmark = pytest.mark.kafka

BAD = {
    b"not json at all": "not valid JSON",
    b"[1, 2]": "must be a JSON object",
    orjson.dumps(canonical("call.queued", call="c9", queue=7)): "Expected `str`",
    orjson.dumps(
        {**canonical("call.queued", call="c9"), "queue": None} | {"queue": "q"} | {"call": None}
    ): "Expected `str`",
    orjson.dumps(
        {k: v for k, v in canonical("call.answered", call="c9", queue="q").items()}
    ): "missing required field `agent`",
    orjson.dumps(canonical("call.teleported", call="c9")): "unknown event type",
    orjson.dumps(canonical("call.queued", call="c9", queue="q", ts="yesterday")): "RFC3339",
    orjson.dumps(canonical("call.queued", call="c9", queue="q", ts="2026-11-28T09:00:00")): "UTC offset",
    orjson.dumps({**canonical("call.queued", call="c9", queue="q"), "v": 2}): "unsupported schema version",
    orjson.dumps(canonical("call.queued", call="c9", queue="q", blob="x" * 70_000)): "payload too large",
    # Issue 9, defect 2: a poison pill (RecursionError) that crashed ingest on every restart.
    orjson.dumps(canonical("call.queued", call="c9", queue="q", deep=None)).replace(
        b'"deep":null', b'"deep":' + b"[" * 1000 + b"]" * 1000
    ): "nested too deep",
    # PostgreSQL text cannot hold NUL: it would have failed the history insert of the whole batch.
    orjson.dumps(canonical("call.queued", call="c9", queue="q", eid="nul\x00id")): "must not contain NUL",
}


def _count_rows(url: str) -> int:
    async def go() -> int:
        engine = make_engine(url)
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(EventRow))).scalar_one()
        await engine.dispose()
        return int(n)

    return asyncio.run(go())


def _run_ingest(settings: Settings, values: list[bytes], expect_events: int, expect_dlq: int):
    ensure_topics(settings)
    produce(settings, settings.topic("raw"), values)
    runner = IngestRunner(settings, CollectorRegistry()).start()
    try:
        events = read_topic(settings, settings.topic("events"), expect_events, settle=1.0)
        dlq = read_topic(settings, settings.topic("dlq"), expect_dlq, settle=0.5)
    finally:
        runner.stop()
    assert runner.failed is None
    return events, dlq


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_valid_through_bad_to_dlq_duplicates_once(
    settings: Settings, db: str, request: pytest.FixtureRequest
) -> None:
    if db == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
    good = [canonical("call.queued", call=f"c{i}", queue="sales", extra_field={"kept": i}) for i in range(5)]
    values = [orjson.dumps(e) for e in good]
    values += [orjson.dumps(good[0]), orjson.dumps(good[3])]  # redelivered duplicates
    values += list(BAD)
    upgrade(settings.database_url)
    before = _count_rows(settings.database_url)

    events, dlq = _run_ingest(settings, values, expect_events=5, expect_dlq=len(BAD))

    assert sorted(json.loads(r.value)["id"] for r in events) == sorted(e["id"] for e in good)
    # unknown extra fields survive, key is the site
    assert all(json.loads(r.value)["extra_field"]["kept"] >= 0 for r in events)
    assert {r.key for r in events} == {b"bj-01"}
    assert len(dlq) == len(BAD)
    reasons = {r.value: dict(r.headers)["error"].decode() for r in dlq}
    for value, expected in BAD.items():
        assert expected in reasons[value], (value[:60], reasons[value])
    for r in dlq:
        h = dict(r.headers)
        assert h["adapter"] == b"canonical"
        assert h["source_topic"] == settings.topic("raw").encode()
        assert int(h["source_offset"]) >= 0
    assert _count_rows(settings.database_url) - before == 5


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_reused_id_with_other_content_goes_to_the_dlq_with_both_hashes(
    settings: Settings, db: str, request: pytest.FixtureRequest
) -> None:
    """Issue 9, defect 11: such a record was counted as a duplicate and dropped silently."""
    if db == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
    upgrade(settings.database_url)
    first = canonical("call.queued", call="c1", queue="sales", eid=f"reuse-{settings.topic_prefix}")
    changed = {**first, "queue": "care"}
    ensure_topics(settings)
    registry = CollectorRegistry()
    runner = IngestRunner(settings, registry).start()
    try:
        produce(settings, settings.topic("raw"), [orjson.dumps(first)])
        read_topic(settings, settings.topic("events"), 1)  # stored: the next ones meet the history
        # across batches (the history holds the first) and within one batch (changed twice)
        produce(settings, settings.topic("raw"), [orjson.dumps(changed), orjson.dumps(first),
                                                  orjson.dumps(changed)])
        dlq = read_topic(settings, settings.topic("dlq"), 2, settle=1.0)
        events = read_topic(settings, settings.topic("events"), 1, settle=0.5)
    finally:
        runner.stop()
    assert runner.failed is None
    assert [json.loads(r.value) for r in events] == [first]  # the first version stays

    def sha(doc: dict[str, object]) -> str:
        return hashlib.sha256(encode_event(decode_event(orjson.dumps(doc)))).hexdigest()

    assert len(dlq) == 2
    for r in dlq:
        h = dict(r.headers)
        assert json.loads(r.value) == changed
        assert h["conflict_first_sha256"].decode() == sha(first)
        assert h["conflict_sha256"].decode() == sha(changed) != sha(first)
        assert h["conflict_event_id"].decode() == first["id"]
        assert "duplicate id with different content" in h["error"].decode()
    value = registry.get_sample_value
    assert value("floorwatch_ingest_duplicate_conflicts_total") == 2
    assert value("floorwatch_ingest_duplicates_total") == 1  # `first` again: a plain duplicate


class _RawName(str):
    """A header name the producer writes as bytes that are not UTF-8: Apache Kafka's broker and
    its Java client take such a record (the client reads the name with U+FFFD in place)."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"trace-\xff\xfe"


def test_a_header_name_that_is_not_utf8_neither_stops_nor_loses_its_batch(settings: Settings) -> None:
    """kafka-python refused to read such a record (CorruptRecordError out of every poll): ingest
    stayed at its offset at every restart, and so did every record of its batch after it."""
    ensure_topics(settings)
    good = [canonical("call.queued", call=f"c{i}", queue="sales") for i in range(4)]
    hostile_bad = b"not json, and a hostile header name"
    producer = make_producer(settings, linger_ms=200)  # all in one batch, the hostile ones inside
    sends = [(orjson.dumps(good[0]), []), (orjson.dumps(good[1]), [(_RawName("x"), b"v")]),
             (hostile_bad, [(_RawName("x"), b"v"), ("ok", b"1")]), (orjson.dumps(good[2]), []),
             (orjson.dumps(good[3]), [])]
    for value, headers in sends:
        producer.send(settings.topic("raw"), key=b"bj-01", value=value, headers=headers)
    producer.flush()
    producer.close()
    runner = IngestRunner(settings, CollectorRegistry()).start()
    try:
        events = read_topic(settings, settings.topic("events"), len(good), settle=1.0)
        dlq = read_topic(settings, settings.topic("dlq"), 1, settle=0.5)
    finally:
        runner.stop()
    assert runner.failed is None
    assert sorted(json.loads(r.value)["id"] for r in events) == sorted(e["id"] for e in good)
    assert [r.value for r in dlq] == [hostile_bad]
    headers = dict(dlq[0].headers)
    assert "not valid JSON" in headers["error"].decode()
    # its own headers go with it, the name read as the Java client reads it
    assert headers["trace-\ufffd\ufffd"] == b"v" and headers["ok"] == b"1"
