"""Bounded memories (event dedup, resolved calls) and floor configuration checks."""

from __future__ import annotations

import pytest

from services.alerts.core import Engine, FloorConfig, RuleSet
from services.alerts.core.floor.recent import RecentKeys, RecentMap

from .feed import Feed


def test_recent_keys_remember_at_least_half_the_capacity() -> None:
    keys = RecentKeys(capacity=10)
    assert all(keys.add(f"k{i}") for i in range(12))
    assert len(keys) <= 10
    assert not any(keys.add(f"k{i}") for i in range(7, 12))  # the last capacity/2 are always remembered
    assert keys.add("k0")  # long forgotten


def test_recent_map_keeps_latest_value() -> None:
    m = RecentMap(capacity=4)
    m.put("c1", ("q1", 1.0))
    m.put("c2", ("q1", 2.0))  # young is full: becomes old
    m.put("c1", ("q2", 3.0))
    assert m.get("c1") == ("q2", 3.0) and m.get("c2") == ("q1", 2.0) and m.get("c3") is None


def test_engine_dedup_memory_is_bounded() -> None:
    eng, feed = Engine(RuleSet(()), dedup_capacity=4), Feed()
    first = feed("queued", 0, call="c0", queue="q")
    events = [first] + [feed("queued", i, call=f"c{i}", queue="q") for i in range(1, 6)]
    for ev in events:
        eng.on_event(ev)
    assert eng.on_event(events[-1]) == [] and eng.duplicates == 1
    eng.on_event(first)  # forgotten: processed again, but the floor recognises the repeated fact
    assert eng.duplicates == 1
    assert eng.floor_snapshot("bj-01")["totals"]["offered"] == 6


@pytest.mark.parametrize(
    "kwargs",
    [{"window_s": 90}, {"window_s": 0}, {"sl_threshold_s": -1}, {"recent_calls": 1}, {"max_wait_s": 0}],
)
def test_bad_floor_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FloorConfig(**kwargs)  # type: ignore[arg-type]
