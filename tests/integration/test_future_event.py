"""Issue 9, defect 1: one valid event dated 2099 used to freeze alerting for every site of its
partition. Real ``floorwatch ingest`` and ``floorwatch alerts`` processes on the real broker, one
partition (so the sites share it):

* through ingest, the 2099 event lands in the DLQ with the reason (the clock-skew bound);
* put straight on the events topic (as an ingest with the bound off would), it moves only its own
  site's clock: another site's time-based alert (a call waiting > 3 s, raised by the engine's
  clock grid, not by an event) still fires a few seconds after its call queued, ``/readyz`` stays
  200 and the other site's event lag stays small.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import httpx
import orjson
import pytest

from shared.broker import free_port
from shared.config import Settings
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from tests.support.kafkautil import canonical, produce, read_topic
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka]

RULES = """
rules:
  - {name: long-wait, metric: longest_wait_s, scope: queue, op: ">", value: 3}
"""


def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"port {port} not ready in {timeout} s")


def test_a_2099_event_goes_to_the_dlq_and_never_stops_another_sites_alerts(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"partitions": 1})
    ensure_topics(settings)
    upgrade(settings.database_url)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = env_for(settings, FLOORWATCH_RULES_FILE=str(rules), FLOORWATCH_MAX_FUTURE_SKEW_S="300")
    ports = {"ingest": free_port(), "alerts": free_port()}
    procs = {
        name: spawn([name, "--metrics-port", str(port)], env, tmp_path / f"{name}.log")
        for name, port in ports.items()
    }
    try:
        for port in ports.values():
            _wait_ready(port)
        y2099 = "2099-01-01T00:00:00+00:00"
        far = canonical("agent.login", site="far", source="pbx-far", eid="f1", ts=y2099, agent="a1")
        # through ingest: refused, into the DLQ with the reason
        produce(settings, settings.topic("raw"), [orjson.dumps(far)], b"far")
        dlq = read_topic(settings, settings.topic("dlq"), 1, timeout=30)
        assert len(dlq) == 1 and orjson.loads(dlq[0].value)["id"] == "f1"
        error = dict(dlq[0].headers)["error"].decode()
        assert error.startswith(f"event time {y2099} is ") and "ahead of ingest's clock (limit 300 s" in error
        # straight onto the events topic, then a call queues at another site of the same partition
        far2 = canonical("agent.login", site="far", source="pbx-far", eid="f2", ts=y2099, agent="a2")
        produce(settings, settings.topic("events"), [orjson.dumps(far2)], b"far")
        time.sleep(1.0)  # the engine has taken it (before the fix: stepping towards 2099 from here)
        t0 = dt.datetime.now(dt.UTC)
        queued = canonical(
            "call.queued", site="near", source="pbx-near", eid="n1", ts=t0.isoformat(), call="c1",
            queue="sales",
        )
        produce(settings, settings.topic("raw"), [orjson.dumps(queued)], b"near")
        records = read_topic(settings, settings.topic("alerts"), 1, timeout=30)
        alerts = [orjson.loads(r.value) for r in records]
        near = [a for a in alerts if a["scope"]["site"] == "near"]
        assert [(a["rule"], a["state"]) for a in near] == [("long-wait", "firing")], alerts
        fired_at = dt.datetime.fromisoformat(near[0]["event_time"])
        # raised by the grid at the near site's own time: 3-5 s after the call queued (lateness 2 s)
        assert 3 <= (fired_at - t0).total_seconds() <= 6, (fired_at, t0)
        assert httpx.get(f"http://127.0.0.1:{ports['alerts']}/readyz", timeout=5).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{ports['alerts']}/metrics", timeout=5).text
        lag = {
            line.split('site="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("floorwatch_alerts_event_lag_seconds{")
        }
        assert 0 <= lag["near"] < 30, lag
        assert lag["far"] < -1e9, lag  # the far site's own clock is in 2099: its lag says so
        assert "floorwatch_alerts_engine_busy_seconds" in metrics
        ingest = httpx.get(f"http://127.0.0.1:{ports['ingest']}/metrics", timeout=5).text
        assert 'floorwatch_ingest_records_rejected_total{adapter="canonical"} 1.0' in ingest
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        for proc in procs.values():
            proc.wait(30)
