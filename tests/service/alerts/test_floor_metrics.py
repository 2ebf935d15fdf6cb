"""The alerts shell's /metrics: the floor it publishes, as Prometheus reads it.

A real ``AlertsWorker`` (fakes for Kafka and the database) applies a small floor; the exposition
is parsed back and every figure compared with a computation over the same event list written
here in plain Python, not with project code. ``promtool check metrics`` lints the exposition.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.alerts.collector import FloorCollector
from services.alerts.core import Engine, load_rules
from services.alerts.export import ExportLimits, FloorExport
from services.alerts.service import AlertsMetrics, AlertsWorker, Partition
from tests.support.tools import promtool

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
WALL = dt.datetime(2026, 11, 28, 1, 1, tzinfo=dt.UTC)
RULES = """
rules:
  - {name: backlog, metric: calls_waiting, scope: queue, op: ">", value: 0, clear: 0, severity: warning}
"""


def ev(n: int, etype: str, at: float, **fields: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"e{n}",
        "source": fields.pop("source", "pbx"),
        "type": etype,
        "ts": (T0 + dt.timedelta(seconds=at)).isoformat(),
        "site": fields.pop("site", "s1"),
        **fields,
    }


EVENTS = [
    ev(1, "agent.login", 0, agent="a1", team="t1", queues=["sales"]),
    ev(2, "agent.login", 0, agent="a2", team="t1", queues=["sales", "service"]),
    ev(3, "agent.login", 0, agent="a3", team="t2", queues=["service"]),
    ev(4, "agent.state", 1, agent="a3", state="not_ready", reason="lunch"),
    ev(5, "call.queued", 10, call="c1", queue="sales"),
    ev(6, "call.queued", 11, call="c2", queue="sales"),
    ev(7, "call.queued", 12, call="c3", queue="service"),
    ev(8, "call.answered", 15, call="c1", queue="sales", agent="a1"),
    ev(9, "call.queued", 20, call="c4", queue="sales"),
    ev(10, "call.abandoned", 51, call="c2", queue="sales"),
    ev(11, "call.answered", 42, call="c3", queue="service", agent="a2"),
    ev(9, "call.queued", 20, call="c4", queue="sales"),  # a redelivery: same (source, id)
    ev(12, "agent.login", 0, agent="b1", team="x", queues=["q"], source="other", site="s2"),
    # one call handled from end to end (talk, hold, wrap-up): the AHT components
    ev(13, "agent.login", 0, agent="a4", team="t1", queues=["sales"]),
    ev(14, "call.queued", 2, call="c5", queue="sales"),
    ev(15, "call.answered", 4, call="c5", queue="sales", agent="a4"),
    ev(16, "call.held", 6, call="c5", agent="a4"),
    ev(17, "call.resumed", 9, call="c5", agent="a4"),
    ev(18, "call.ended", 24, call="c5", agent="a4"),
    ev(19, "call.wrapped", 30, call="c5", agent="a4"),
]


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
    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.value = "events", 0, offset, value


def run_worker(limits: ExportLimits) -> tuple[FloorExport, Producer]:
    export, producer = FloorExport(limits), Producer()
    rules = load_rules(RULES, name="test")
    worker = AlertsWorker(
        consumer=None,
        producer=producer,
        store=Store(),
        loop=Loop(),  # type: ignore[arg-type]
        rules=rules,
        events_topic="events",
        control_topic="c",
        alerts_topic="alerts",
        floor_topic="floor",
        metrics=AlertsMetrics.create(CollectorRegistry()),
        floor_interval_s=0.5,
        snapshot_interval_s=1e9,
        allowed_lateness_s=2,
        wall=lambda: WALL,
        monotonic=lambda: 100.0,
        export=export,
    )
    worker.parts[0] = Partition(Engine(rules), replay_until=0)
    worker.handle([Record(i, orjson.dumps(e)) for i, e in enumerate(EVENTS)])  # type: ignore[list-item]
    worker._measure_lag = lambda mono: None  # type: ignore[method-assign]  # no consumer here
    worker.on_idle()
    return export, producer


def scrape(export: FloorExport) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    registry = CollectorRegistry()
    registry.register(FloorCollector(export))
    text = generate_latest(registry).decode()
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def expected() -> dict[str, Any]:
    """The floor of EVENTS, computed here from the list alone."""
    seen, events = set(), []
    for e in EVENTS:
        if (e["source"], e["id"]) not in seen:
            seen.add((e["source"], e["id"]))
            events.append(e)
    at = {e["id"]: dt.datetime.fromisoformat(e["ts"]).timestamp() for e in events}
    queued: dict[str, tuple[str, float]] = {}
    waits: dict[str, list[tuple[str, float]]] = {}
    counts = Counter[tuple[str, str]]()
    for e in events:
        if e["type"] == "call.queued":
            queued[e["call"]] = (e["queue"], at[e["id"]])
            counts[(e["queue"], "offered")] += 1
        elif e["type"] in ("call.answered", "call.abandoned"):
            queue, since = queued.pop(e["call"])
            kind = "answered" if e["type"] == "call.answered" else "abandoned"
            counts[(queue, kind)] += 1
            waits.setdefault(queue, []).append((kind, at[e["id"]] - since))
    # handle time of the calls wrapped: talk = ended - answered - held, hold, wrap = wrapped - ended
    times: dict[str, dict[str, float]] = {}
    for e in events:
        if e["type"] in ("call.answered", "call.held", "call.resumed", "call.ended", "call.wrapped"):
            times.setdefault(e["call"], {})[e["type"]] = at[e["id"]]
    parts = []
    for c in times.values():
        if "call.wrapped" in c:
            hold = c.get("call.resumed", 0.0) - c.get("call.held", 0.0)
            talk = c["call.ended"] - c["call.answered"] - hold
            parts.append((talk, hold, c["call.wrapped"] - c["call.ended"]))
    sales = waits["sales"]
    within = sum(1 for kind, w in sales if kind == "answered" and w <= 20)
    short = sum(1 for kind, w in sales if kind == "abandoned" and w < 5)
    return {
        "waiting": Counter(q for q, _ in queued.values()),
        "counts": counts,
        "sales_sl": within / (len(sales) - short),
        "parts": [sum(p[i] for p in parts) / len(parts) for i in range(3)],
        "pbx_s1": sum(1 for e in events if (e["source"], e["site"]) == ("pbx", "s1")),
    }


def test_floor_figures_equal_the_events() -> None:
    export, producer = run_worker(ExportLimits())
    _, samples = scrape(export)
    want = expected()
    for queue in ("sales", "service"):
        assert (
            value(samples, "floorwatch_queue_calls_waiting", site="s1", queue=queue) == want["waiting"][queue]
        )
        for kind in ("offered", "answered", "abandoned"):
            got = value(samples, f"floorwatch_queue_{kind}_calls_total", site="s1", queue=queue)
            assert (got or 0) == want["counts"][(queue, kind)], (queue, kind)
    assert value(samples, "floorwatch_queue_service_level_ratio", site="s1", queue="sales") == round(
        want["sales_sl"], 4
    )
    assert value(samples, "floorwatch_site_calls_waiting", site="s1") == sum(want["waiting"].values())
    # agents by state per team, and not ready by reason: a1 and a2 talk, a3 is at lunch
    assert value(samples, "floorwatch_team_agents", site="s1", team="t1", state="talking") == 2
    assert value(samples, "floorwatch_team_agents", site="s1", team="t2", state="not_ready") == 1
    assert value(samples, "floorwatch_team_not_ready_agents", site="s1", team="t2", reason="lunch") == 1
    # the alert the backlog caused (c4 waits in sales), by rule, severity and state
    assert (
        value(
            samples, "floorwatch_alerts_active", site="s1", rule="backlog", severity="warning", state="firing"
        )
        == 1
    )
    # freshness per source: the distinct events of pbx at s1, the newest at T0 + 51 s
    assert value(samples, "floorwatch_source_events_total", site="s1", source="pbx") == want["pbx_s1"]
    # AHT and its components (issue 12): mean talk, hold and wrap-up of the handled calls
    talk, hold, wrap = want["parts"]
    for scope, labels in (("queue", {"queue": "sales"}), ("site", {}), ("team", {"team": "t1"})):
        got = [
            value(samples, f"floorwatch_{scope}_{p}_seconds", site="s1", **labels)
            for p in ("talk", "hold", "wrap", "aht")
        ]
        assert got == [talk, hold, wrap, talk + hold + wrap], scope
    assert value(samples, "floorwatch_source_last_event_timestamp_seconds", site="s1", source="pbx") == (
        (T0 + dt.timedelta(seconds=51)).timestamp()
    )
    assert (
        value(samples, "floorwatch_source_last_received_timestamp_seconds", site="s1", source="pbx")
        == WALL.timestamp()
    )
    # the wallboard's numbers are the published snapshot's: same figures
    [snap] = [doc for topic, doc in producer.sent if topic == "floor" and doc["site"] == "s1"]
    [sales] = [q for q in snap["queues"] if q["queue"] == "sales"]
    assert (
        value(samples, "floorwatch_queue_service_level_ratio", site="s1", queue="sales")
        == (sales["service_level"])
    )
    assert value(samples, "floorwatch_floor_published_timestamp_seconds", site="s1") == WALL.timestamp()


def test_per_agent_series_only_for_the_allow_list() -> None:
    _, samples = scrape(run_worker(ExportLimits())[0])
    assert not [k for k in samples if k[0].startswith("floorwatch_agent_")]
    _, samples = scrape(run_worker(ExportLimits(agents=frozenset({"a3"})))[0])
    agents = {dict(k[1])["agent"] for k in samples if k[0].startswith("floorwatch_agent_")}
    assert agents == {"a3"}
    assert value(samples, "floorwatch_agent_state", site="s1", team="t2", agent="a3", state="not_ready") == 1
    _, samples = scrape(run_worker(ExportLimits(all_agents=True))[0])
    assert {dict(k[1])["agent"] for k in samples if k[0] == "floorwatch_agent_state"} == {
        "a1",
        "a2",
        "a3",
        "a4",
        "b1",
    }


def test_names_beyond_the_limit_count_under_other() -> None:
    export, _ = run_worker(ExportLimits(max_values=1))
    _, samples = scrape(export)
    # one site, one queue per site kept: s2's counts and the second queue go under _other
    assert (
        value(samples, "floorwatch_queue_offered_calls_total", site="s1", queue="sales") == 4
    )  # c1 c2 c4 c5
    assert value(samples, "floorwatch_queue_offered_calls_total", site="s1", queue="_other") == 1
    assert value(samples, "floorwatch_source_events_total", site="_other", source="other") == 1
    assert (value(samples, "floorwatch_metrics_other_names_total") or 0) >= 3
    # snapshot series: one site, one queue and one team per site, the rest counted as dropped (s2's
    # floor, and its queue "q", were exported before 2026-12-08: sites were not capped)
    assert {dict(k[1])["queue"] for k in samples if k[0] == "floorwatch_queue_calls_waiting"} == {"sales"}
    assert {dict(k[1])["site"] for k in samples if k[0] == "floorwatch_site_calls_waiting"} == {"s1"}
    assert value(samples, "floorwatch_metrics_dropped_names", kind="queue") == 1
    assert value(samples, "floorwatch_metrics_dropped_names", kind="site") == 1
    # counters: the kept queue and _other only, no zero series for the snapshot's other queues
    assert {dict(k[1])["queue"] for k in samples if k[0] == "floorwatch_queue_offered_calls_total"
            and dict(k[1])["site"] == "s1"} == {"sales", "_other"}


def test_exposition_passes_promtool() -> None:
    text, _ = scrape(run_worker(ExportLimits(all_agents=True))[0])
    done = subprocess.run(
        [promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
