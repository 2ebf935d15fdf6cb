"""The alerts shell's watch over its engine (issue 9, defect 1): each site advances on its own
clock (a 2099 event of one site neither stops nor pushes another), and an engine step that runs
longer than ``stall_s`` turns ``/readyz`` red, with the busy time and the event lag read at
scrape time, so both keep moving while the consumer thread is stuck."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import orjson
from kafka.structs import TopicPartition
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.alerts.core import Engine, load_rules
from services.alerts.service import AlertsMetrics, AlertsWorker, Partition
from shared.events import decode_event

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
RULES = """
rules:
  - {name: long-wait, metric: longest_wait_s, scope: queue, op: ">", value: 30}
"""


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, topic: str, *, key: bytes, value: bytes) -> None:
        self.sent.append((topic, orjson.loads(value)))

    def flush(self) -> None:
        pass


class Loop:
    def submit(self, coro: Any, *, what: str) -> None:
        coro.close()


class Store:
    async def record(self, transitions: Any, at: Any) -> None:
        pass


class Record:
    def __init__(self, offset: int, value: dict[str, Any]) -> None:
        self.topic, self.partition, self.offset, self.value = "events", 0, offset, orjson.dumps(value)


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0

    def wall(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.mono - 1000.0)


def ev(n: int, site: str, ts: dt.datetime, etype: str = "call.queued", **fields: Any) -> dict[str, Any]:
    return {
        "v": 1, "id": f"e{n}", "source": site, "type": etype, "ts": ts.isoformat(), "site": site, **fields
    }


def worker(clock: Clock, engine: Engine, registry: CollectorRegistry) -> tuple[AlertsWorker, Producer]:
    producer = Producer()
    w = AlertsWorker(
        consumer=None,
        producer=producer,
        store=Store(),
        loop=Loop(),  # type: ignore[arg-type]
        rules=engine.rules,
        events_topic="events",
        control_topic="c",
        alerts_topic="alerts",
        floor_topic="floor",
        metrics=AlertsMetrics.create(registry),
        floor_interval_s=0.5,
        snapshot_interval_s=1e9,
        allowed_lateness_s=2,
        wall=clock.wall,
        monotonic=lambda: clock.mono,
        stall_s=10,
    )
    w.parts[0] = Partition(engine, replay_until=0)
    w._measure_lag = lambda mono: None  # type: ignore[method-assign]  # no consumer here
    return w, producer


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_each_site_advances_on_its_own_clock() -> None:
    clock, registry = Clock(), CollectorRegistry()
    w, producer = worker(clock, Engine(load_rules(RULES, name="t")), registry)
    y2099 = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    w.handle([
        Record(0, ev(1, "far", y2099, "agent.login", agent="a1")),  # after this, far's clock is 2099
        Record(1, ev(2, "near", T0, call="c1", queue="sales")),
    ])
    clock.mono += 31.0
    w.on_idle()  # near: 31 s later, minus the lateness: waited 29 s
    assert [t for t, _ in producer.sent if t == "alerts"] == []
    clock.mono += 2.0
    w.on_idle()
    fired = [v for t, v in producer.sent if t == "alerts"]
    assert [(v["scope"]["site"], v["state"]) for v in fired] == [("near", "firing")]
    assert dt.datetime.fromisoformat(fired[0]["event_time"]) == T0 + dt.timedelta(seconds=31)
    lag = {
        k[1][0][1]: v for k, v in samples(registry).items() if k[0] == "floorwatch_alerts_event_lag_seconds"
    }
    assert lag == {"near": 33.0, "far": (T0 - y2099).total_seconds() + 33.0}


class Stuck(Engine):
    """An engine whose ``on_event`` blocks until released: a step that does not end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered, self.release = threading.Event(), threading.Event()

    def on_event(self, ev):  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.release.wait(10)
        return super().on_event(ev)


def test_a_step_longer_than_the_limit_turns_readiness_red_and_the_lag_keeps_growing() -> None:
    clock, registry = Clock(), CollectorRegistry()
    engine = Stuck(load_rules(RULES, name="t"))
    w, _ = worker(clock, engine, registry)
    w.parts[0].clocks["near"] = (T0, clock.mono)  # a site seen before
    assert w.problem() is None
    assert samples(registry)[("floorwatch_alerts_engine_busy_seconds", ())] == 0.0
    step = threading.Thread(target=w.handle, args=([Record(0, ev(1, "near", T0, call="c1", queue="q"))],))
    step.start()
    try:
        assert engine.entered.wait(5)
        clock.mono += 10.0
        assert w.problem() is None  # at the limit, not beyond
        clock.mono += 5.0
        assert w.problem() == "the floor engine has been busy with one step for 15 s (limit 10 s)"
        seen = samples(registry)
        assert seen[("floorwatch_alerts_engine_busy_seconds", ())] == 15.0
        assert seen[("floorwatch_alerts_event_lag_seconds", (("site", "near"),))] == 15.0
    finally:
        engine.release.set()
        step.join(5)
    assert w.problem() is None
    assert samples(registry)[("floorwatch_alerts_engine_busy_seconds", ())] == 0.0


class Consumer:
    """What the worker asks of its consumer on an assignment (offsets only)."""

    def __init__(self, end: int, high: int | None = None) -> None:
        self.end, self.high = end, high  # the stated end (ListOffsets); a fetch's high watermark
        self.seeks: list[tuple[Any, int]] = []

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))

    def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: self.end for tp in tps}

    def highwater(self, tp: Any) -> int | None:
        return self.high


class SnapshotStore(Store):
    def __init__(self, saved: tuple[int, bytes, dict[str, int], dt.datetime]) -> None:
        self.saved = saved
        self.asked: list[list[str]] = []

    async def load_snapshot(self, topic: str, partition: int) -> Any:
        return self.saved

    async def known_transitions(self, ids: list[str]) -> set[str]:
        self.asked.append(ids)
        return set()


class CallingLoop(Loop):
    def call(self, coro: Any) -> Any:
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        raise AssertionError("the fake store never awaits")


def test_a_new_owner_resumes_a_quiet_sites_clock_from_the_snapshot() -> None:
    # the previous owner: a call queued at the quiet site, its clock run 10 s on, then a snapshot
    rules = load_rules(RULES, name="t")
    old = Engine(rules)
    old.on_event(Event_("q", T0))
    old.advance({"q": T0 + dt.timedelta(seconds=10)})
    saved_at = T0 + dt.timedelta(seconds=10)
    clock, registry = Clock(), CollectorRegistry()
    clock.mono += 15.0  # the new owner takes over 15 s after the snapshot: wall = T0 + 15 s
    w, producer = worker(clock, Engine(rules), registry)
    w.parts.clear()
    store = SnapshotStore((7, old.snapshot(), {}, saved_at))
    w.store, w.loop, w.consumer = store, CallingLoop(), Consumer(end=7)  # type: ignore[assignment]
    w.on_partitions_assigned([TopicPartition("events", 0)])
    part = w.parts[0]
    # resumed where the snapshot left it (grid at T0 + 8 s: 10 s minus the lateness), run on by
    # the 5 s since it was saved, so T0 + 13 s; caught up at once (nothing after the snapshot),
    # so the grid runs to 13 s minus the lateness
    w.on_idle()
    assert not part.replaying
    assert part.engine.site_time("q") == (T0 + dt.timedelta(seconds=11)).timestamp()
    clock.mono += 20.0  # wall T0 + 35 s, no event since: the call has waited > 30 s
    w.on_idle()
    fired = [v for t, v in producer.sent if t == "alerts"]
    assert [(v["scope"]["site"], v["state"], v["event_time"]) for v in fired] == [
        ("q", "firing", (T0 + dt.timedelta(seconds=31)).isoformat(timespec="milliseconds"))
    ]
    assert store.asked  # within HANDOVER_CHECK_S of the assignment: checked against the history


def Event_(site: str, ts: dt.datetime) -> Any:

    return decode_event(orjson.dumps(ev(1, site, ts, call="c1", queue="sales")))


def test_a_stated_end_one_batch_short_does_not_end_the_replay_early() -> None:
    # Tansu states a partition's end as its last batch's first offset + 1: 8 here, for events up
    # to offset 9. The first fetch's high watermark (10) bounds the replay instead, so the clocks
    # do not start before events 8 and 9 are applied.
    rules = load_rules(RULES, name="t")
    old = Engine(rules)
    old.on_event(Event_("q", T0))
    clock, registry = Clock(), CollectorRegistry()
    w, _ = worker(clock, Engine(rules), registry)
    w.parts.clear()
    consumer = Consumer(end=8)
    w.store, w.loop, w.consumer = SnapshotStore((7, old.snapshot(), {}, T0)), CallingLoop(), consumer  # type: ignore[assignment]
    w.on_partitions_assigned([TopicPartition("events", 0)])
    part = w.parts[0]
    w.on_idle()  # no fetch answered yet: the stated end stands for now
    assert part.replay_until == 8 and part.replaying and not part.end_settled
    consumer.high = 6  # from a fetch before the assignment's: neither lowers nor settles it
    w.on_idle()
    assert part.replay_until == 8 and not part.end_settled
    consumer.high = 10
    w.handle([Record(7, ev(7, "q", T0 + dt.timedelta(seconds=1), call="c7", queue="sales"))])
    assert part.replay_until == 10 and part.replaying
    at = T0 + dt.timedelta(seconds=2)
    w.handle([Record(o, ev(o, "q", at, call=f"c{o}", queue="sales")) for o in (8, 9)])
    assert not part.replaying
