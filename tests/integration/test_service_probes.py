"""``floorwatch ingest`` and ``floorwatch alerts`` as processes: /readyz turns 200 once the
consumer polls (compose healthchecks rely on it), /metrics serves the service's metrics there,
and the JSON log lines (stderr is a file here) carry the alert ids."""

from __future__ import annotations

import datetime as dt
import json
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
from tests.support.kafkautil import canonical, produce
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka]

RULES = """
rules:
  - {name: backlog, metric: calls_waiting, scope: queue, op: ">", value: 1, clear: 0, severity: critical}
"""


def _wait(url: str, status: int, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == status:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} in {timeout}s (last: {last})")


def test_ingest_and_alerts_probes_and_metrics(settings: Settings, tmp_path: Path) -> None:
    ensure_topics(settings)
    upgrade(settings.database_url)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = env_for(settings, FLOORWATCH_RULES_FILE=str(rules))
    ports = {"ingest": free_port(), "alerts": free_port()}
    procs = {
        name: spawn([name, "--metrics-port", str(port)], env, tmp_path / f"{name}.log")
        for name, port in ports.items()
    }
    try:
        for port in ports.values():
            _wait(f"http://127.0.0.1:{port}/readyz", 200)
        t0 = dt.datetime.now(dt.UTC)
        events = [
            canonical(
                "call.queued",
                site="probe",
                source="pbx",
                eid=f"q{i}",
                ts=(t0 + dt.timedelta(seconds=i)).isoformat(),
                call=f"c{i}",
                queue="sales",
            )
            for i in range(3)
        ]
        produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events], b"probe")
        alerts = f"http://127.0.0.1:{ports['alerts']}/metrics"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = httpx.get(alerts, timeout=5).text
            if 'floorwatch_queue_calls_waiting{queue="sales",site="probe"} 3.0' in text and (
                "floorwatch_alerts_active{" in text
            ):
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"the floor never reached /metrics:\n{text[-3000:]}")
        assert 'floorwatch_queue_offered_calls_total{queue="sales",site="probe"} 3.0' in text
        assert (
            'floorwatch_alerts_active{rule="backlog",severity="critical",site="probe",state="firing"} 1.0'
            in text
        )
        assert (
            "floorwatch_ingest_records_accepted_total 3.0"
            in httpx.get(f"http://127.0.0.1:{ports['ingest']}/metrics", timeout=5).text
        )
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        for proc in procs.values():
            proc.wait(30)
    lines = [
        json.loads(line)
        for line in (tmp_path / "alerts.log").read_text().splitlines()
        if line.startswith("{")
    ]
    fired = [d for d in lines if d.get("rule") == "backlog" and d.get("state") == "firing"]
    assert (
        fired
        and fired[0]["service"] == "alerts"
        and fired[0]["transition_id"].startswith(fired[0]["fingerprint"])
    )
    caused = [d for d in lines if d.get("transition_id") == fired[0]["transition_id"] and "event_id" in d]
    assert caused and (caused[0]["source"], caused[0]["event_id"]) == ("pbx", "q1")
