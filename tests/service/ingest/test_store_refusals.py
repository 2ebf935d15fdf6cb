"""The ingest shell with fakes: a value the database refuses goes to the DLQ alone; a database
that cannot be reached holds the whole batch back (RetryLater) without sending anything, and the
retry decodes nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DataError, OperationalError

from services.ingest.main import CanonicalDecoder
from services.ingest.service import Ingest, IngestMetrics
from shared.kafka import RetryLater

NOW = dt.datetime(2026, 11, 28, 1, tzinfo=dt.UTC)


class Future:
    def add_callback(self, fn: Any) -> Future:
        fn(None)
        return self

    def add_errback(self, fn: Any) -> Future:
        return self


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, bytes]]] = []

    def send(self, topic: str, *, key: Any, value: bytes, headers: Any = None) -> Future:
        self.sent.append((topic, value, dict(headers or [])))
        return Future()


class History:
    """Refuses events whose id starts with ``bad`` (as PostgreSQL refuses a value it cannot hold);
    ``down`` makes every call fail as an unreachable server does."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}
        self.down = False
        self.calls = 0

    async def store(self, accepted: list[Any], now: dt.datetime) -> set[tuple[str, str]]:
        self.calls += 1
        if self.down:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        if any(a.event.id.startswith("bad") for a in accepted):
            raise DataError("INSERT", {}, ValueError("invalid byte sequence"))
        new = {a.key for a in accepted if a.key not in self.rows}
        for a in accepted:
            self.rows.setdefault(a.key, (a.record.origin, a.payload))
        return new

    async def held(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        if self.down:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))
        return {k: self.rows[k] for k in keys if k in self.rows}


class Rec:
    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = "raw", 0, offset, b"s", value
        self.headers: list[Any] = []


class CountingDecoder(CanonicalDecoder):
    decoded = 0

    def decode(self, value: bytes, key: bytes | None = None) -> list[Any]:
        CountingDecoder.decoded += 1
        return super().decode(value, key)


def event(eid: str) -> bytes:
    return orjson.dumps({"v": 1, "id": eid, "source": "pbx", "type": "agent.logout",
                         "ts": "2026-11-28T09:00:00Z", "site": "s", "agent": "a"})


def make(history: History) -> tuple[Ingest, Producer]:
    producer = Producer()
    ingest = Ingest(adapters={"raw": CountingDecoder(4096)}, history=history,  # type: ignore[arg-type]
                    producer=producer, events_topic="events", dlq_topic="dlq",  # type: ignore[arg-type]
                    metrics=IngestMetrics.create(CollectorRegistry()), max_bytes=4096, clock=lambda: NOW)
    return ingest, producer


def test_a_value_the_database_refuses_goes_to_the_dlq_and_the_rest_is_stored() -> None:
    history = History()
    ingest, producer = make(history)
    batch = [Rec(0, event("a")), Rec(1, event("bad-1")), Rec(2, event("b"))]
    asyncio.run(ingest.process(batch))  # type: ignore[arg-type]
    assert set(history.rows) == {("pbx", "a"), ("pbx", "b")}
    assert [orjson.loads(v)["id"] for t, v, _ in producer.sent if t == "events"] == ["a", "b"]
    (dlq,) = [(v, h) for t, v, h in producer.sent if t == "dlq"]
    assert orjson.loads(dlq[0])["id"] == "bad-1"
    assert b"the database refused the event" in dlq[1]["error"]


def test_an_unreachable_database_holds_the_batch_back_and_the_retry_decodes_nothing_again() -> None:
    history = History()
    ingest, producer = make(history)
    batch = [Rec(0, event("a")), Rec(1, event("b"))]
    history.down = True
    CountingDecoder.decoded = 0
    for _ in range(3):
        with pytest.raises(RetryLater, match="database unavailable"):
            asyncio.run(ingest.process(batch))  # type: ignore[arg-type]
    assert producer.sent == [] and history.rows == {}
    history.down = False
    asyncio.run(ingest.process(batch))  # type: ignore[arg-type]
    assert CountingDecoder.decoded == 2  # each record once: adapters carry state between records
    assert [orjson.loads(v)["id"] for t, v, _ in producer.sent] == ["a", "b"]
