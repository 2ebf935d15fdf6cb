"""The alerts shell's watch over its engine (issue 9, defect 1): each site advances on its own
clock (a 2099 event of one site neither stops nor pushes another), and an engine step that runs
longer than ``stall_s`` turns ``/readyz`` red, with the busy time and the event lag read at
scrape time, so both keep moving while the consumer thread is stuck."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.alerts.core import Engine, load_rules
from services.alerts.service import AlertsMetrics, AlertsWorker, Partition

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
