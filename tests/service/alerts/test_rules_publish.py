"""The alerts shell publishes the rule set in force: at start, after a reload, and periodically."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from services.alerts.core.rules.reader import load_rules
from services.alerts.reload import RulesWatcher
from services.alerts.service import RULES_REPUBLISH_S, AlertsMetrics, AlertsWorker

RULES = 'rules:\n  - {{name: backlog, metric: calls_waiting, op: ">", value: {v}, clear: 2}}\n'
WALL = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, Any]]] = []

    def send(self, topic: str, *, key: bytes, value: bytes) -> None:
        self.sent.append((topic, key, orjson.loads(value)))

    def flush(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_rule_set_published_at_start_on_reload_and_every_ten_minutes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(v=5))
    os.utime(path, (1000, 1000))
    clock, producer = Clock(), Producer()
    worker = AlertsWorker(
        consumer=None, producer=producer, store=None, loop=None,  # type: ignore[arg-type]
        rules=load_rules(path.read_text(), name=str(path)), events_topic="e", control_topic="c",
        alerts_topic="a", floor_topic="f", metrics=AlertsMetrics.create(CollectorRegistry()),
        floor_interval_s=0.5, snapshot_interval_s=1e9, allowed_lateness_s=2, wall=lambda: WALL,
        monotonic=clock, rules_watcher=RulesWatcher(path, interval_s=1, clock=clock), rules_topic="r",
    )
    # t=0: the first idle turn publishes; t=1: nothing new
    worker.on_idle()
    clock.t = 1
    worker.on_idle()
    [(topic, key, doc)] = producer.sent
    assert (topic, key, doc["type"], doc["source"]) == ("r", b"ruleset", "ruleset", str(path))
    assert (doc["rules"][0]["entry"], doc["rules"][0]["clear"], doc["published_at"]) == (
        5, 2, "2026-11-28T01:00:00+00:00")
    # t=3: the file changed -> the new rule set goes out at once, with a new version
    path.write_text(RULES.format(v=7))
    os.utime(path, (1001, 1001))
    clock.t = 3
    worker.on_idle()
    assert len(producer.sent) == 2
    fresh = producer.sent[1][2]
    assert fresh["rules"][0]["entry"] == 7 and fresh["version"] != doc["version"]
    # unchanged: republished RULES_REPUBLISH_S after the last publication, not before
    clock.t = 3 + RULES_REPUBLISH_S - 1
    worker.on_idle()
    assert len(producer.sent) == 2
    clock.t = 3 + RULES_REPUBLISH_S
    worker.on_idle()
    assert len(producer.sent) == 3 and producer.sent[2][2]["version"] == fresh["version"]
