"""kill -9 of the alerts service, then a restart: the floor state is not lost (restored from the
snapshot + replay of the events after it) and no alert is raised twice (transition ids are
deterministic; a transition re-derived in the replay is not published again, or, if it was never
recorded, is republished with the same id for consumers to drop)."""

from __future__ import annotations

import collections
import datetime as dt
import signal
import time
from pathlib import Path

import orjson
import pytest

from shared.broker import free_port
from shared.config import Settings
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from tests.support.kafkautil import canonical, produce, read_topic
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

RULES = """
rules:
  - name: backlog
    metric: calls_waiting
    op: ">"
    value: 2
    clear: 0
"""


def _floor(settings: Settings, site: str, expect: int):  # type: ignore[no-untyped-def]
    recs = read_topic(settings, settings.topic("floor"), expect, timeout=30)
    return [orjson.loads(r.value) for r in recs if r.key == site.encode()]


def _wait_for(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _transitions(settings: Settings) -> list[dict]:  # type: ignore[type-arg]
    return [
        orjson.loads(r.value)
        for r in read_topic(settings, settings.topic("alerts"), 0, timeout=10, settle=0.5)
    ]


def test_kill_9_then_restart_keeps_state_and_raises_no_alert_twice(
    settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"database_url": pg_url, "topic_prefix": settings.topic_prefix + "ac."}
    )
    upgrade(pg_url)
    ensure_topics(settings)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = env_for(settings, FLOORWATCH_RULES_FILE=str(rules), FLOORWATCH_SNAPSHOT_INTERVAL_S="0.5")
    log = tmp_path / "alerts.log"
    events_topic = settings.topic("events")
    t0 = dt.datetime.now(dt.UTC)

    def ev(etype: str, s: float, **fields: object) -> bytes:
        return orjson.dumps(
            canonical(etype, site="crash", ts=(t0 + dt.timedelta(seconds=s)).isoformat(), **fields)
        )

    first = spawn(["alerts", "--metrics-port", str(free_port())], env, log)
    try:
        # sales: 4 waiting → fires before the kill, and a snapshot covers it.
        produce(
            settings,
            events_topic,
            [ev("call.queued", i, call=f"s{i}", queue="sales") for i in range(4)],
            b"crash",
        )
        _wait_for(lambda: any(t["state"] == "firing" for t in _transitions(settings)))
        time.sleep(1.5)  # at least one snapshot after it
        # service: 3 waiting → fires; the kill follows at once, likely before the next snapshot.
        produce(
            settings,
            events_topic,
            [ev("call.queued", 10 + i, call=f"v{i}", queue="service") for i in range(3)],
            b"crash",
        )
        _wait_for(lambda: sum(t["state"] == "firing" for t in _transitions(settings)) >= 2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second = spawn(["alerts", "--metrics-port", str(free_port())], env, log)
    try:
        # One more call on sales: a restored floor says 5 waiting (a lost one would say 1).
        produce(settings, events_topic, [ev("call.queued", 20, call="s4", queue="sales")], b"crash")
        _wait_for(
            lambda: any(
                q["queue"] == "sales" and q["calls_waiting"] == 5
                for snap in _floor(settings, "crash", 1)
                for q in snap["queues"]
            )
        )
        answers = [ev("call.answered", 30 + i, call=f"s{i}", queue="sales", agent="a1") for i in range(5)]
        answers += [ev("call.answered", 40 + i, call=f"v{i}", queue="service", agent="a2") for i in range(3)]
        produce(settings, events_topic, answers, b"crash")
        _wait_for(lambda: sum(t["state"] == "resolved" for t in _transitions(settings)) >= 2)
        time.sleep(1.0)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()[-3000:]

    transitions = _transitions(settings)
    distinct = {t["transition_id"]: t for t in transitions}
    per_alert = collections.defaultdict(list)
    for t in distinct.values():
        per_alert[t["scope"]["queue"]].append(t["state"])
    assert {q: sorted(states) for q, states in per_alert.items()} == {
        "sales": ["firing", "resolved"],
        "service": ["firing", "resolved"],
    }
    # A republished transition (never recorded before the kill) keeps its id: consumers drop it.
    assert len(transitions) - len(distinct) <= 1
