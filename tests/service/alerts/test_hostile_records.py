"""The alerts shell meets records it cannot handle (issue 9): each is counted, logged with its
reason and skipped; the records after it are applied, and nothing stops the consumer."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry

from services.alerts.core import Engine, load_rules
from services.alerts.service import AlertsMetrics, AlertsWorker, Partition
from tests.service.alerts.test_floor_metrics import RULES, WALL, Loop, Producer, Store, ev


class Rec:
    def __init__(self, topic: str, offset: int, value: bytes | None) -> None:
        self.topic, self.partition, self.offset, self.value = topic, 0, offset, value


class BrokenEngine(Engine):
    """An engine with a bug that one event meets (the shell must not die of it)."""

    def on_event(self, event):  # type: ignore[no-untyped-def]
        if event.id == "boom":
            raise ZeroDivisionError("a bug met by this event")
        return super().on_event(event)


def test_unreadable_and_failing_records_are_skipped_and_counted() -> None:
    rules = load_rules(RULES, name="test")
    registry = CollectorRegistry()
    worker = AlertsWorker(
        consumer=None, producer=Producer(), store=Store(), loop=Loop(),  # type: ignore[arg-type]
        rules=rules, events_topic="events", control_topic="control", alerts_topic="alerts",
        floor_topic="floor", metrics=AlertsMetrics.create(registry), floor_interval_s=0.5,
        snapshot_interval_s=1e9, allowed_lateness_s=2, wall=lambda: WALL, monotonic=lambda: 100.0,
    )
    worker.parts[0] = Partition(BrokenEngine(rules), replay_until=0)
    batch = [
        Rec("events", 0, orjson.dumps(ev(1, "call.queued", 0, call="c1", queue="sales"))),
        Rec("events", 1, None),  # a tombstone: decode_event(None) raised TypeError
        Rec("events", 2, b'{"v":1,"x":' + b"[" * 3000 + b"]" * 3000 + b"}"),  # RecursionError before
        Rec("events", 3, orjson.dumps({**ev(2, "call.queued", 1, call="c2", queue="sales"), "id": "boom"})),
        Rec("control", 0, b'{"op": "ack", "at": "2026-11-28T01:00:00+00:00", "fingerprint": {}, "by": 1}'),
        Rec("control", 1, b"[" * 3000 + b"]" * 3000),
        Rec("events", 4, orjson.dumps(ev(3, "call.queued", 2, call="c3", queue="sales"))),
    ]
    worker.handle(batch)  # type: ignore[arg-type]
    value = registry.get_sample_value
    assert value("floorwatch_alerts_events_total") == 2  # c1 and c3: the stream went on
    assert value("floorwatch_alerts_bad_records_total", {"topic": "events"}) == 1  # the nested one
    assert value("floorwatch_alerts_failed_records_total", {"topic": "events"}) == 2  # tombstone, boom
    assert (value("floorwatch_alerts_bad_records_total", {"topic": "control"}) or 0) + (
        value("floorwatch_alerts_failed_records_total", {"topic": "control"}) or 0) == 2
    part = worker.parts[0]
    assert part.next_offset == 5 and part.control_offset == 2  # every record is behind us
    assert part.engine.floor_snapshot("s1")["queues"][0]["calls_waiting"] == 2  # c1, c3
