"""End to end with the notifier: `floorwatch up --rules FILE`, where the rules file also carries
the `notifications:` section, starts the notifier beside the other services; events on the raw
topic trip a rule and the webhook receiver (a local HTTP server) gets the Alertmanager-format
message, then the resolved one; the API lists the deliveries and relays the notifier's metrics."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from shared.config import Settings
from tests.support.kafkautil import canonical, produce
from tests.support.receivers import HttpReceiver
from tests.support.upproc import TOKEN, Up

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]

RULES = """
rules:
  - name: queue-backlog
    metric: calls_waiting
    scope: queue
    op: ">"
    value: 2
    clear: 0
    severity: critical
    summary: "{{queue}}: {{value:.0f}} calls waiting"
notifications:
  receivers:
    - {{name: ops, kind: webhook, url: "{url}"}}
  route: {{receiver: ops, group_by: [site, alertname], group_wait: 0s, group_interval: 1s}}
"""


def wait_for(pred: Callable[[], bool], timeout: float, what: str, up: Up) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s\n{up.tail()}")


def test_up_runs_the_notifier_from_the_rules_file_and_a_webhook_gets_the_alert(
        settings: Settings, pg_url: str, tmp_path: Path) -> None:
    settings = settings.model_copy(
        update={"database_url": pg_url, "topic_prefix": settings.topic_prefix + "n."})
    hook = HttpReceiver().start()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=hook.url("/hook")))
    up = Up(settings, tmp_path, "--rules", str(rules))
    try:
        up.wait_ready()
        now = dt.datetime.now(dt.UTC)
        ts = lambda s: (now + dt.timedelta(seconds=s)).isoformat()  # noqa: E731
        events = [canonical("agent.login", site="e2e", ts=ts(0), agent="a1", team="t1", queues=["sales"])]
        events += [canonical("call.queued", site="e2e", ts=ts(0.1 * i), call=f"c{i}", queue="sales")
                   for i in range(4)]
        produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events], key=b"e2e")
        wait_for(lambda: len(hook.ok()) >= 1, 60, "the firing message", up)
        doc = hook.ok()[0].json
        assert doc["version"] == "4" and doc["status"] == "firing"
        assert doc["alerts"][0]["labels"]["alertname"] == "queue-backlog"
        assert doc["alerts"][0]["labels"]["queue"] == "sales"

        answered = [canonical("call.answered", site="e2e", ts=ts(5 + i), call=f"c{i}", queue="sales",
                              agent="a1") for i in range(4)]
        produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in answered], key=b"e2e")
        wait_for(lambda: len(hook.ok()) >= 2, 60, "the resolved message", up)
        assert hook.ok()[1].json["status"] == "resolved"

        auth = {"Authorization": f"Bearer {TOKEN}"}
        log = httpx.get(f"{up.base}/v1/notifications", headers=auth, timeout=10).json()["notifications"]
        assert [(n["status"], n["alert_status"]) for n in log] == [("delivered", "resolved"),
                                                                   ("delivered", "firing")]
        metrics = httpx.get(f"{up.base}/metrics", timeout=10).text
        assert "floorwatch_notify_attempts_total" in metrics  # relayed from the notifier child
    finally:
        code = up.stop()
        hook.stop()
    assert code == 0, up.tail()
