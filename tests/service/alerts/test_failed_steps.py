"""What the alerts shell does when a step fails or the broker refuses what it sends (found by a
review, 2026-12-07): nothing a step could not publish is saved past (a snapshot from the failed
engine would make its transitions impossible to re-derive), a floor snapshot the producer or the
broker refuses costs that snapshot and not the service, a control command of the wrong shape is
refused before the engine keeps it in its snapshot, and a snapshot that cannot be restored makes
its partition replay from the start instead of stopping every partition."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from typing import Any

import orjson
import pytest
from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError
from kafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from services.alerts.core import Engine, load_rules
from services.alerts.service import AlertsMetrics, AlertsWorker, Partition
from shared.runtime import LoopThread
from tests.service.alerts.test_floor_metrics import RULES, WALL, ev

TP = TopicPartition("events", 0)


class Future:
    def __init__(self, error: Exception | None = None) -> None:
        self.exception = error
        self.value = None if error else type("Md", (), {"partition": 0, "offset": 0})()

    def succeeded(self) -> bool:
        return self.exception is None

    def failed(self) -> bool:
        return self.exception is not None


class Producer:
    """Refuses what ``refuse(topic, value)`` says: at once (``raise``) or after the flush (``fail``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.refuse: Any = lambda topic, value: None

    def send(self, topic: str, *, key: bytes, value: bytes) -> Future:
        how = self.refuse(topic, value)
        if how == "raise":
            raise MessageSizeTooLargeError(f"The message is {len(value)} bytes")
        if how == "fail":
            return Future(KafkaTimeoutError("Batch expired"))
        self.sent.append((topic, orjson.loads(value)))
        return Future()

    def flush(self) -> None:
        pass


class Store:
    def __init__(self) -> None:
        self.saved: list[int] = []  # next_offset of each snapshot written
        self.snapshot: tuple[int, bytes, dict[str, int], dt.datetime] | None = None

    async def record(self, transitions: Any, at: Any) -> None:
        pass

    async def known_transitions(self, ids: Any) -> set[str]:
        return set()

    async def save_snapshot(self, topic: str, partition: int, next_offset: int, data: bytes,
                            side: dict[str, int], now: dt.datetime) -> None:
        self.saved.append(next_offset)

    async def load_snapshot(self, topic: str, partition: int) -> Any:
        return self.snapshot


class Loop:
    def call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run(coro)

    def submit(self, coro: Any, *, what: str) -> None:
        coro.close()


class Consumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, Any]] = []
        self.paused: set[TopicPartition] = set()

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))

    def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.seeks.extend((tp, "beginning") for tp in tps)

    def commit(self, offsets: Any) -> None:
        pass

    def commit_async(self, offsets: Any, callback: Any = None) -> None:
        pass

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 0 for tp in tps}

    def highwater(self, tp: TopicPartition) -> int | None:
        return None


class Rec:
    def __init__(self, topic: str, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.value = topic, 0, offset, value


def worker() -> tuple[AlertsWorker, Producer, Store, Consumer, CollectorRegistry]:
    producer, store, consumer, registry = Producer(), Store(), Consumer(), CollectorRegistry()
    w = AlertsWorker(
        consumer=consumer, producer=producer, store=store, loop=Loop(),  # type: ignore[arg-type]
        rules=load_rules(RULES, name="test"), events_topic="events", control_topic="control",
        alerts_topic="alerts", floor_topic="floor", metrics=AlertsMetrics.create(registry),
        floor_interval_s=0.5, snapshot_interval_s=1e9, allowed_lateness_s=2, wall=lambda: WALL,
        monotonic=lambda: 100.0,
    )
    w._measure_lag = lambda mono: None  # type: ignore[method-assign]
    w.parts[0] = Partition(Engine(w.rules), replay_until=0)
    return w, producer, store, consumer, registry


def queued(n: int, at: float, **fields: Any) -> Rec:
    return Rec("events", n, orjson.dumps(ev(n, "call.queued", at, call=f"c{n}", queue="sales", **fields)))


def test_a_step_whose_transitions_were_not_published_is_never_saved() -> None:
    w, producer, store, _, _ = worker()
    producer.refuse = lambda topic, value: "fail" if topic == "alerts" else None
    with pytest.raises(KafkaError, match="1 of 1 alert transitions not published"):
        w.handle([queued(0, 0)])  # type: ignore[list-item]  # backlog fires: its send fails
    assert w.failed is not None
    # closing the consumer after the failure revokes the partition (kafka-python calls the
    # listener): a save there would put the offset past the firing nobody published
    w.on_partitions_revoked([TP])
    assert store.saved == [] and w.parts == {}


def test_a_revocation_without_a_failure_saves() -> None:  # what the test above tells apart
    w, _, store, _, _ = worker()
    w.handle([queued(0, 0)])  # type: ignore[list-item]
    w.on_partitions_revoked([TP])
    assert store.saved == [1]


@pytest.mark.parametrize("how", ["raise", "fail"])
def test_a_floor_snapshot_the_producer_or_broker_refuses_costs_that_snapshot_only(how: str) -> None:
    w, producer, _, _, registry = worker()
    producer.refuse = lambda topic, value: how if topic == "floor" and b'"big"' in value else None
    w.handle([queued(0, 0), queued(1, 0.5, site="big")])  # type: ignore[list-item]
    w.on_idle()  # raised MessageSizeTooLargeError out of the loop before: the service stopped
    assert [snap["site"] for topic, snap in producer.sent if topic == "floor"] == ["s1"]
    assert registry.get_sample_value("floorwatch_floor_snapshots_refused_total") == 1
    assert registry.get_sample_value("floorwatch_floor_snapshots_total") == 1
    assert w.failed is None
    w.handle([queued(2, 1)])  # type: ignore[list-item]  # the engine goes on
    assert registry.get_sample_value("floorwatch_alerts_events_total") == 3


@pytest.mark.parametrize("bad", [
    {"matchers": {"site": 5}},  # restored as a silence, it failed every later restore
    {"matchers": ["site"]},
    {"matchers": {}},
    {"by": 7},
    {"until": "2026-11-28T02:00:00"},  # no UTC offset
    {"until": "tomorrow"},
    {"comment": {"a": 1}},
])
def test_a_control_command_of_the_wrong_shape_is_refused_and_the_snapshot_restores(
    bad: dict[str, Any],
) -> None:
    w, _, _, _, registry = worker()
    w.handle([queued(0, 0)])  # type: ignore[list-item]
    cmd = {"op": "silence", "matchers": {"site": "s1"}, "until": "2026-11-28T02:00:00+00:00",
           "at": "2026-11-28T01:00:01+00:00", "by": "lead", "comment": "", **bad}
    w.handle([Rec("control", 0, orjson.dumps(cmd))])  # type: ignore[list-item]
    assert registry.get_sample_value("floorwatch_alerts_bad_records_total", {"topic": "control"}) == 1
    Engine.restore(w.parts[0].engine.snapshot(), w.rules)  # raised ValidationError for the first


def test_a_well_formed_silence_still_applies() -> None:
    w, _, _, _, registry = worker()
    w.handle([queued(0, 0)])  # type: ignore[list-item]
    cmd = {"op": "silence", "matchers": {"site": "s1"}, "until": "2026-11-28T02:00:00+00:00",
           "at": "2026-11-28T01:00:01+00:00", "by": "lead", "comment": "lunch"}
    w.handle([Rec("control", 0, orjson.dumps(cmd))])  # type: ignore[list-item]
    assert registry.get_sample_value("floorwatch_alerts_bad_records_total", {"topic": "control"}) is None
    restored = Engine.restore(w.parts[0].engine.snapshot(), w.rules)
    assert [dt.datetime.fromisoformat(a["silenced_until"]) for a in restored.active_alerts()] == [
        dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC)]


def test_a_snapshot_that_cannot_be_restored_replays_its_partition_from_the_start() -> None:
    w, _, store, consumer, _ = worker()
    w.parts.clear()
    store.snapshot = (500, b'{"not": "an engine"}', {"alerts": 40}, WALL)
    control = TopicPartition("control", 0)
    w.on_partitions_assigned([TP, control])  # raised out of the listener before: every partition stopped
    assert consumer.seeks == [(TP, "beginning"), (control, "beginning")]
    part = w.parts[0]
    assert part.next_offset is None and part.alerts_from == 0
    w.handle([queued(0, 0)])  # type: ignore[list-item]
    assert part.next_offset == 1


class FailingStore(Store):
    """The history away for the first ``fail`` recordings (and for ``known_transitions`` and
    snapshot writes while ``away``)."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail
        self.away = False
        self.recorded: list[str] = []

    async def record(self, transitions: Any, at: Any) -> None:
        if self.fail and transitions:
            self.fail -= 1
            raise ConnectionResetError(104, "Connection reset by peer")
        self.recorded.extend(t["transition_id"] for t in transitions)

    async def known_transitions(self, ids: Any) -> set[str]:
        if self.away:
            raise ConnectionResetError(104, "Connection reset by peer")
        return set()

    async def save_snapshot(self, topic: str, partition: int, next_offset: int, data: bytes,
                            side: dict[str, int], now: dt.datetime) -> None:
        if self.away:
            raise ConnectionResetError(104, "Connection reset by peer")
        await super().save_snapshot(topic, partition, next_offset, data, side, now)


def test_no_snapshot_is_written_past_transitions_not_recorded_and_the_service_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The history is written off the latency path. A snapshot written past a recording that did
    not happen would make those transitions impossible to re-derive: they would never be in the
    history. So the snapshot waits for the recordings queued before it. Until 2026-12-08 a
    recording was tried three times in 3 s and then failed the save, which stopped the service:
    a database restart took the alerts down. Now it is tried until done; a save that cannot wait
    (a revocation, a stop) gives up after SAVE_WAIT_S without raising, and is not written."""
    monkeypatch.setattr("services.alerts.service.SAVE_WAIT_S", 0.3)
    loop = LoopThread("test-failed-recording")
    try:
        w, _, _, _, registry = worker()
        store = FailingStore(fail=10**9)
        w.store, w.loop, w.record_retry_s = store, loop, 0.01  # type: ignore[assignment]
        w.handle([queued(0, 0)])  # type: ignore[list-item]  # backlog fires: its recording fails
        w.save_all()  # raised the recording's error before, and the loop stopped
        assert store.saved == [] and w.failed is None
        assert registry.get_sample_value("floorwatch_alerts_snapshot_failures_total") == 1
        assert registry.get_sample_value("floorwatch_alerts_unrecorded_transitions") == 1
        assert "the alert history is behind: 1 transitions not recorded yet (ConnectionResetError" in (
            w.problem() or "")
        w.handle([queued(1, 1)])  # type: ignore[list-item]  # the live path goes on
        store.fail = 0  # the database is back: the recording that kept trying gets through
        deadline = time.monotonic() + 5
        while w.problem() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert w.problem() is None and len(store.recorded) == 1
        assert registry.get_sample_value("floorwatch_alerts_unrecorded_transitions") == 0
        w.save_all()
        assert store.saved == [2]
    finally:
        loop.drain()
        loop.stop()


def test_a_periodic_snapshot_the_database_refuses_costs_that_snapshot_only() -> None:
    loop = LoopThread("test-failed-snapshot")
    try:
        w, _, _, _, registry = worker()
        store = FailingStore(fail=0)
        store.away = True
        w.store, w.loop = store, loop  # type: ignore[assignment]
        w.snapshot_interval_s = 0.0
        w.handle([queued(0, 0)])  # type: ignore[list-item]
        w.on_idle()  # starts the periodic write, which fails
        loop.drain()
        w.on_idle()  # settles it: raised out of the loop before, the service stopped
        assert w.failed is None and store.saved == []
        assert registry.get_sample_value("floorwatch_alerts_snapshot_failures_total") == 1
        store.away = False  # the write started meanwhile, and the next ones, are saved
        loop.drain()
        w.on_idle()
        assert store.saved and set(store.saved) == {1} and w.failed is None
    finally:
        loop.drain()
        loop.stop()


def test_with_the_history_away_a_handover_check_publishes_rather_than_stops() -> None:
    w, producer, _, _, _ = worker()
    store = FailingStore(fail=0)
    store.away = True
    w.store = store  # type: ignore[assignment]
    w.parts[0].assigned_at = 100.0  # just assigned: its transitions are checked against the history
    w.handle([queued(0, 0)])  # type: ignore[list-item]  # known_transitions raised out of the step
    assert w.failed is None
    assert [t["state"] for topic, t in producer.sent if topic == "alerts"] == ["firing"]


def test_past_the_transitions_kept_for_the_history_the_step_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("services.alerts.service.MAX_UNRECORDED", 0)
    w, _, _, _, _ = worker()
    with pytest.raises(RuntimeError, match="wait for the history"):
        w.handle([queued(0, 0)])  # type: ignore[list-item]


def test_a_partition_whose_snapshot_cannot_be_read_waits_paused_and_is_taken_on_later() -> None:
    """A rebalance (or a start) while the database is away: the snapshot read raised out of the
    rebalance listener, kafka-python raised that out of poll, and the service stopped."""
    clock = [100.0]
    w, _, store, consumer, _ = worker()
    w.monotonic = lambda: clock[0]  # type: ignore[method-assign]
    w.parts.clear()
    store.snapshot = (5, Engine(w.rules).snapshot(), {"control": 3}, WALL)
    away = [True]

    async def load(topic: str, partition: int) -> Any:
        if away[0]:
            raise ConnectionResetError(104, "Connection reset by peer")
        return store.snapshot

    store.load_snapshot = load  # type: ignore[method-assign]
    control = TopicPartition("control", 0)
    w.on_partitions_assigned([TP, control])
    assert consumer.paused == {TP, control} and w.parts == {} and consumer.seeks == []
    assert "partitions [0] wait for their snapshots (the database: ConnectionResetError" in (
        w.problem() or "")
    w.handle([queued(0, 0)])  # type: ignore[list-item]  # fetched before the pause: not applied
    clock[0] += 0.5
    w.on_idle()  # not yet tried again
    away[0] = False
    w.on_idle()
    assert w.parts == {}
    clock[0] += 1.0
    w.on_idle()
    assert 0 in w.parts and w.parts[0].next_offset == 5
    assert consumer.seeks == [(TP, 5), (control, 3)] and consumer.paused == set()
    assert w.problem() is None and w.failed is None


def test_a_partition_waiting_for_its_snapshot_waits_longer_each_time_and_forgets_it_when_revoked() -> None:
    clock = [100.0]
    w, _, store, _, _ = worker()
    w.monotonic = lambda: clock[0]  # type: ignore[method-assign]
    w.parts.clear()
    tries: list[float] = []

    async def load(topic: str, partition: int) -> Any:
        tries.append(clock[0])
        raise ConnectionResetError(104, "Connection reset by peer")

    store.load_snapshot = load  # type: ignore[method-assign]
    w.on_partitions_assigned([TP])
    for _ in range(400):
        clock[0] += 0.25
        w.on_idle()
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[:5] == [1.0, 2.0, 4.0, 8.0, 10.0] and max(gaps) == 10.0  # 1 s doubled, at most 10 s
    w.on_partitions_revoked([TP])
    assert w.problem() is None
    before = len(tries)
    clock[0] += 60
    w.on_idle()
    assert len(tries) == before  # revoked: not read any more
