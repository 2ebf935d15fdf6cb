"""Records a review found could stop ingest at every restart or vanish without a DLQ entry
(2026-12-07): invalid UTF-8 where the decoder does not look, a DLQ send the producer refuses
(a header with a null value, a tombstone without a key, a value too large), a repeat of an event
the database refused, and a wait no call has (which later stopped the reports)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from services.ingest.service import DLQ_MAX_VALUE, Ingest
from tests.service.ingest.test_store_refusals import Future, History, Rec, event, make


class CheckingProducer:
    """Refuses what kafka-python 3.0.12's ``KafkaProducer.send`` refuses before any network
    work (``kafka/producer/kafka.py``: neither key nor value; a header that is not (str, bytes))."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, bytes, dict[str, bytes]]] = []

    def send(self, topic: str, *, key: Any, value: Any, headers: Any = None) -> Future:
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")
        if not all(isinstance(h, tuple) and isinstance(h[0], str) and isinstance(h[1], bytes)
                   for h in headers or []):
            raise TypeError("All headers items must be (str, bytes) tuples")
        self.sent.append((topic, key, value, dict(headers or [])))
        return Future()


def checking() -> tuple[Ingest, CheckingProducer, History]:
    history = History()
    ingest, _ = make(history)
    producer = CheckingProducer()
    ingest.producer = producer  # type: ignore[assignment]
    return ingest, producer, history


def dlq(producer: CheckingProducer) -> list[tuple[Any, bytes, dict[str, bytes]]]:
    return [(k, v, h) for t, k, v, h in producer.sent if t == "dlq"]


def test_invalid_utf8_in_a_field_the_decoder_skips_goes_to_the_dlq() -> None:
    ingest, producer, history = checking()
    bad = event("x")[:-1] + b',"contact":"\xff"}'  # msgspec skips unknown fields without reading them
    asyncio.run(ingest.process([Rec(0, bad), Rec(1, event("ok"))]))  # type: ignore[list-item]
    assert set(history.rows) == {("pbx", "ok")}  # raised UnicodeDecodeError while storing before
    ((_, value, headers),) = dlq(producer)
    assert value == bad and headers["error"].startswith(b"not valid UTF-8")


def test_what_the_producer_would_refuse_still_reaches_the_dlq() -> None:
    ingest, producer, _ = checking()
    nulls = Rec(0, b"not json")
    nulls.headers = [("trace", None), ("origin", b"pbx-7")]  # a header with a null value
    tombstone = Rec(1, None)  # type: ignore[arg-type]
    tombstone.key = None
    huge = Rec(2, b"x" * (DLQ_MAX_VALUE + 10))
    asyncio.run(ingest.process([nulls, tombstone, huge]))  # type: ignore[list-item]  # raised before
    (_, v0, h0), (k1, v1, h1), (_, v2, h2) = dlq(producer)
    assert v0 == b"not json" and h0["trace"] == b"" and h0["origin"] == b"pbx-7"
    assert k1 is None and v1 == b"" and h1["error"] == b"empty record (null value)"
    assert len(v2) == DLQ_MAX_VALUE and h2["truncated_from_bytes"] == str(DLQ_MAX_VALUE + 10).encode()


def test_a_repeat_of_an_event_the_database_refused_goes_to_the_dlq_too() -> None:
    ingest, producer, history = checking()
    first = event("bad-1")
    again = orjson.dumps({**orjson.loads(first), "agent": "b"})  # the same key, other content
    asyncio.run(ingest.process([Rec(0, first), Rec(1, again)]))  # type: ignore[list-item]
    assert history.rows == {}
    errors = [h["error"] for _, _, h in dlq(producer)]
    assert len(errors) == 2  # the repeat was counted as a duplicate of nothing, and dropped
    assert errors[1].startswith(b"a repeat of an event whose first version in this batch the database")


def test_a_wait_no_call_has_is_refused() -> None:
    ingest, producer, history = checking()
    # the reports put this offer before year 1, and stopped
    abandon = {"v": 1, "id": "w", "source": "pbx", "type": "call.abandoned", "ts": "2026-11-28T09:00:00Z",
               "site": "s", "call": "c", "queue": "q", "wait_s": 1e12}
    asyncio.run(ingest.process([Rec(0, orjson.dumps(abandon))]))  # type: ignore[list-item]
    assert history.rows == {}
    ((_, _, headers),) = dlq(producer)
    assert b"<= 604800" in headers["error"]
