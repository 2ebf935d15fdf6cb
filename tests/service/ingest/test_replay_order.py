"""Ingest after a crash: a batch consumed again holds events stored before the crash (but maybe
never published) beside new ones. All go to the events topic — in the records' order, since the
engine applies a site's events in the order it receives them (found by the kill -9 fault run,
docs/reliability.md: first copies of one site's events came out of order)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from services.ingest.core import Accepted, Origin
from services.ingest.main import CanonicalDecoder
from services.ingest.service import Ingest, IngestMetrics

TOPIC = "raw"


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[Any, ...] = ()


class FakeHistory:
    """The event history's contract (services/ingest/history.py) in a dict."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[Origin, bytes]] = {}

    async def store(self, accepted: Sequence[Accepted], now: dt.datetime) -> set[tuple[str, str]]:
        new = {a.key for a in accepted if a.key not in self.rows}
        for a in accepted:
            self.rows.setdefault(a.key, (a.record.origin, a.payload))
        return new

    async def held(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[Origin, bytes]]:
        return {k: self.rows[k] for k in keys if k in self.rows}


class Done:
    def add_callback(self, fn: Any) -> None:
        fn(None)

    def add_errback(self, fn: Any) -> None:
        pass


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"", headers: Any = None) -> Done:
        self.sent.append((topic, value))
        return Done()


def _event(i: int) -> bytes:
    return orjson.dumps({
        "v": 1, "id": f"e{i}", "source": "test", "type": "call.queued", "site": "s1",
        "ts": f"2026-12-01T09:00:{i:02d}+00:00", "call": f"c{i}", "queue": "sales",
    })


def _ingest(history: FakeHistory, producer: FakeProducer) -> Ingest:
    return Ingest(
        adapters={TOPIC: CanonicalDecoder(64 * 1024)},
        history=history,  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        events_topic="events",
        dlq_topic="dlq",
        metrics=IngestMetrics.create(CollectorRegistry()),
        max_bytes=64 * 1024,
        clock=lambda: dt.datetime.now(dt.UTC),
    )


def test_a_batch_consumed_again_is_published_in_record_order() -> None:
    records = [Rec(TOPIC, 0, i, b"s1", _event(i)) for i in range(10)]
    history, producer = FakeHistory(), FakeProducer()
    # before the crash: records 0..6 were stored (their publication may or may not have happened)
    asyncio.run(_ingest(history, FakeProducer()).process(records[:7]))  # type: ignore[arg-type]
    # after the restart the whole batch comes again, with 7..9 new
    asyncio.run(_ingest(history, producer).process(records))  # type: ignore[arg-type]
    ids = [orjson.loads(v)["id"] for topic, v in producer.sent if topic == "events"]
    assert ids == [f"e{i}" for i in range(10)]


def test_a_true_duplicate_from_elsewhere_is_still_dropped() -> None:
    history, producer = FakeHistory(), FakeProducer()
    asyncio.run(_ingest(history, FakeProducer()).process([Rec(TOPIC, 0, 0, b"s1", _event(1))]))  # type: ignore[list-item]
    # the same (source, id) at another offset: a source bug, not ingest's own replay
    batch = [Rec(TOPIC, 0, 5, b"s1", _event(1)), Rec(TOPIC, 0, 6, b"s1", _event(2))]
    asyncio.run(_ingest(history, producer).process(batch))  # type: ignore[arg-type]
    assert [orjson.loads(v)["id"] for _, v in producer.sent] == ["e2"]
