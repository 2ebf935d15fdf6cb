"""Queue-side floor metrics from small hand-made event sequences with known answers."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerts.core.floor.definitions import Definitions, DefinitionSet
from services.alerts.core.floor.kpis import FloorConfig
from services.alerts.core.floor.metrics import read
from services.alerts.core.floor.reducer import Floor

from .feed import Feed, epoch

Q = "sales"


def queue_value(floor: Floor, metric: str, now: float, queue: str = Q) -> float | None:
    return read(floor.sites["bj-01"], "queue", queue, metric, epoch(now))[0]


def run(steps: list[tuple[str, float, dict[str, Any]]], config: FloorConfig | None = None) -> Floor:
    floor, feed = Floor(config=config or FloorConfig()), Feed()
    for kind, t, fields in steps:
        floor.apply(feed(kind, t, **fields))
    return floor


def q(call: str, t: float, queue: str = Q) -> tuple[str, float, dict[str, Any]]:
    return ("queued", t, {"call": call, "queue": queue})


def ans(
    call: str, t: float, agent: str = "a1", queue: str = Q, **kw: Any
) -> tuple[str, float, dict[str, Any]]:
    return ("answered", t, {"call": call, "queue": queue, "agent": agent, **kw})


def ab(call: str, t: float, queue: str = Q, **kw: Any) -> tuple[str, float, dict[str, Any]]:
    return ("abandoned", t, {"call": call, "queue": queue, **kw})


# four calls answered after 5, 10, 20 and 30 s: 20 s is "within" (<= threshold), 30 s is not
FOUR = [
    q("c1", 0),
    q("c2", 1),
    q("c3", 2),
    q("c4", 3),
    ans("c1", 5, "a1"),
    ans("c2", 11, "a2"),
    ans("c3", 22, "a3"),
    ans("c4", 33, "a4"),
]

CASES = [
    # (name, steps, now, expected metrics)
    (
        "sl 3 of 4",
        FOUR,
        40,
        {
            "offered": 4,
            "answered": 4,
            "service_level": 0.75,
            "asa_s": 16.25,
            "abandon_rate": 0.0,
            "calls_waiting": 0,
        },
    ),
    (
        "short abandon excluded",
        [*FOUR, q("c5", 34), ab("c5", 37)],
        40,
        {"offered": 5, "abandoned": 1, "short_abandoned": 1, "service_level": 0.75, "abandon_rate": 0.0},
    ),
    (
        "long abandon counts",
        [*FOUR, q("c5", 34), ab("c5", 74)],
        80,
        {"abandoned": 1, "short_abandoned": 0, "service_level": 0.6, "abandon_rate": 0.2},
    ),
    (
        "abandon wait_s wins",
        [*FOUR, q("c5", 34), ab("c5", 74, wait_s=2.0)],
        80,
        {"short_abandoned": 1, "service_level": 0.75},
    ),
    (
        "answer wait_s wins",
        [q("c1", 0), ans("c1", 50, wait_s=12.0)],
        60,
        {"asa_s": 12.0, "service_level": 1.0},
    ),
    (
        "waiting and longest",
        [q("c1", 0), q("c2", 10), q("c3", 20), ans("c1", 30)],
        45,
        {"calls_waiting": 2, "longest_wait_s": 35.0, "offered": 3},
    ),
    ("no data is None", [q("c1", 0)], 10, {"service_level": None, "asa_s": None, "abandon_rate": None}),
    (
        "answered before queued",
        [ans("c1", 10, wait_s=4.0), q("c1", 6)],
        20,
        {"offered": 1, "answered": 1, "calls_waiting": 0, "asa_s": 4.0},
    ),
    # never seen queued, no wait: it went straight to an agent; out of the queue figures by default
    ("answered without queued", [ans("c1", 10)], 20, {"offered": 0, "answered": 0, "asa_s": None}),
    ("answered without queued, wait stated", [ans("c1", 10, wait_s=3.0)], 20, {"offered": 1, "answered": 1}),
    (
        "same fact twice",
        [q("c1", 0), q("c1", 0), ans("c1", 8), ans("c1", 8)],
        20,
        {"offered": 1, "answered": 1, "calls_waiting": 0},
    ),
    (
        "abandon of unknown call",
        [ab("c9", 10, wait_s=30.0)],
        20,
        {"offered": 1, "abandoned": 1, "calls_waiting": 0},
    ),
    ("queued twice keeps earliest", [q("c1", 5), q("c1", 0)], 10, {"offered": 1, "longest_wait_s": 10.0}),
    # window: 30 one-minute buckets; at 31 min the first minute's calls have left it
    (
        "window slides",
        [q("c1", 0), ans("c1", 10)],
        31 * 60,
        {"offered": 0, "answered": 0, "service_level": None},
    ),
    ("window keeps 29 min", [q("c1", 0), ans("c1", 10)], 29 * 60 + 59, {"offered": 1, "answered": 1}),
]


@pytest.mark.parametrize(("name", "steps", "now", "expected"), CASES, ids=[c[0] for c in CASES])
def test_queue_metrics(name: str, steps: list[Any], now: float, expected: dict[str, float | None]) -> None:
    floor = run(steps)
    got = {metric: queue_value(floor, metric, now) for metric in expected}
    assert got == pytest.approx(expected)


def test_unqueued_calls_counted_when_the_definitions_include_them() -> None:
    defs = DefinitionSet(default=Definitions(unqueued="include"))
    floor = run([ans("c1", 10)], FloorConfig(definitions=defs))
    got = {m: queue_value(floor, m, 20) for m in ("offered", "answered", "asa_s", "service_level")}
    assert got == {"offered": 1, "answered": 1, "asa_s": 0.0, "service_level": 1.0}


def test_requeue_after_transfer_moves_the_call() -> None:
    floor = run(
        [
            q("c1", 0),
            ans("c1", 5),
            ("transferred", 60, {"call": "c1", "agent": "a1", "to_queue": "billing"}),
            q("c1", 61, queue="billing"),
        ]
    )
    assert queue_value(floor, "offered", 70, "billing") == 1
    assert queue_value(floor, "calls_waiting", 70, "billing") == 1
    assert queue_value(floor, "calls_waiting", 70) == 0
    assert queue_value(floor, "answered", 70) == 1


def test_queueing_elsewhere_while_waiting_moves_without_outcome() -> None:
    floor = run([q("c1", 0), q("c1", 20, queue="billing")])
    assert queue_value(floor, "calls_waiting", 30) == 0
    assert queue_value(floor, "calls_waiting", 30, "billing") == 1
    assert (queue_value(floor, "answered", 30), queue_value(floor, "abandoned", 30)) == (0, 0)


def test_stale_queued_after_answer_is_ignored_but_a_later_requeue_counts() -> None:
    floor = run([q("c1", 0), ans("c1", 5), q("c1", 0)])
    assert (queue_value(floor, "calls_waiting", 10), queue_value(floor, "offered", 10)) == (0, 1)
    floor = run([q("c1", 0), ans("c1", 5), q("c1", 90)])
    assert (queue_value(floor, "calls_waiting", 100), queue_value(floor, "offered", 100)) == (1, 2)


def test_site_totals_sum_the_queues() -> None:
    floor = run([q("c1", 0), q("c2", 1, "billing"), ans("c1", 30), q("c3", 40, "billing")])
    site = floor.sites["bj-01"]
    assert read(site, "site", "bj-01", "offered", epoch(50)) == (3.0, 1.0)
    assert read(site, "site", "bj-01", "calls_waiting", epoch(50))[0] == 2
    assert read(site, "site", "bj-01", "longest_wait_s", epoch(50))[0] == pytest.approx(49.0)
    assert read(site, "site", "bj-01", "service_level", epoch(50)) == (0.0, 1.0)


def test_lost_calls_are_forgotten_after_max_wait() -> None:
    floor = run([q("c1", 0), q("c2", 3000)], FloorConfig(max_wait_s=3600))
    touches = floor.expire("bj-01", epoch(3660))
    assert queue_value(floor, "calls_waiting", 3660) == 1
    assert touches[("queue", Q)]
    assert queue_value(floor, "longest_wait_s", 3660) == pytest.approx(660)


def test_expire_frees_buckets_and_late_facts_for_expired_minutes_are_dropped() -> None:
    floor = run([q("c1", 0), ans("c1", 10)])
    floor.expire("bj-01", epoch(40 * 60))
    agg = floor.sites["bj-01"].queues[Q].agg
    assert agg.win.buckets == {}
    floor.apply(Feed(source="late")("queued", 5, call="c7", queue=Q))
    assert queue_value(floor, "offered", 40 * 60) == 0
