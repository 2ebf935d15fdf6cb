"""The notifier against the real broker and real local destinations (an HTTP receiver standing in
for the webhook and robot APIs, an aiosmtpd SMTP server): one message per group and route, a
destination that is down never holds the others up and catches up in order afterwards, a burst
to a rate-limited robot becomes a few grouped messages, and kill -9 mid-delivery re-sends at most
the message in flight, with the same idempotency id."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.notify.delivery import RetryPolicy
from services.notify.main import NotifyRunner, read_config
from shared.broker import free_port
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from shared.notify_tables import NotificationRow
from tests.support.kafkautil import produce
from tests.support.procs import env_for, spawn
from tests.support.receivers import HttpReceiver, SmtpReceiver
from tests.unit.notify.factory import record

pytestmark = [pytest.mark.kafka]


def wait_for(pred: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not met within {timeout} s")


def send(settings: Settings, records: list[dict]) -> None:  # type: ignore[type-arg]
    by_site: dict[str, list[bytes]] = {}
    for r in records:
        by_site.setdefault(r["scope"]["site"], []).append(orjson.dumps(r))
    for site, values in by_site.items():
        produce(settings, settings.topic("alerts"), values, key=site.encode())


def rows(url: str) -> list[NotificationRow]:
    async def go() -> list[NotificationRow]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            out = (await conn.execute(select(NotificationRow).order_by(NotificationRow.pk))).all()
        await engine.dispose()
        return list(out)  # type: ignore[arg-type]

    return asyncio.run(go())


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    s = SmtpReceiver().start()
    yield s
    s.stop()


def runner(settings: Settings, tmp_path: Path, config: str, **policy: float) -> NotifyRunner:
    path = tmp_path / "notify.yaml"
    path.write_text(config)
    upgrade(settings.database_url)
    ensure_topics(settings)
    r = NotifyRunner(settings, CollectorRegistry(), read_config(path), RetryPolicy(**policy)).start()
    # measured from here: the consumer group has its partitions and the loop is turning
    wait_for(lambda: r.worker is not None and len(r.worker.parts) == settings.partitions
             and r.problem() is None, what="the notifier's partitions")
    return r


def now() -> float:
    return time.time()


def test_one_message_per_group_and_route_with_each_destinations_shape(
        settings: Settings, tmp_path: Path, http: HttpReceiver, smtp: SmtpReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_TEST_HOOK_SECRET", "s3cret")
    config = f"""
receivers:
  - {{name: hook, kind: webhook, url: "{http.url('/hook')}", secret: "env:FW_TEST_HOOK_SECRET"}}
  - {{name: robot, kind: wecom, url: "{http.url('/wecom')}", language: zh}}
  - {{name: ding, kind: dingtalk, url: "{http.url('/ding?access_token=t')}",
     secret: "env:FW_TEST_HOOK_SECRET"}}
  - {{name: mail, kind: email, to: [lead@floor.test], from: fw@floor.test, smarthost: "127.0.0.1:{smtp.port}",
     starttls: false}}
route:
  receiver: hook
  group_by: [site, alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - {{name: to-hook, receiver: hook, continue: true}}
    - {{name: to-robot, receiver: robot, continue: true}}
    - {{name: to-ding, receiver: ding, continue: true}}
    - {{name: to-mail, receiver: mail}}
"""
    r = runner(settings, tmp_path, config)
    try:
        t = now()
        fired = [record("aht-spike", queue=q, at=t) for q in ("sales", "support", "vip")]
        fired += [record("backlog", queue=q, at=t) for q in ("sales", "support")]
        send(settings, fired + fired[:2])  # the first two again: same transition ids, dropped
        wait_for(lambda: len(http.ok("/hook")) >= 2 and len(smtp.messages) >= 2, what="firing messages")
        time.sleep(2.5)  # a second look at each group: nothing changed, nothing more is sent
        assert len(http.ok("/hook")) == 2 and len(http.ok("/wecom")) == 2 and len(http.ok("/ding")) == 2
        assert len(smtp.messages) == 2

        by_rule = {h.json["groupLabels"]["alertname"]: h for h in http.ok("/hook")}
        assert sorted(by_rule) == ["aht-spike", "backlog"]
        doc = by_rule["aht-spike"].json
        assert doc["version"] == "4" and doc["status"] == "firing" and doc["receiver"] == "hook"
        assert sorted(a["labels"]["queue"] for a in doc["alerts"]) == ["sales", "support", "vip"]
        assert {a["fingerprint"] for a in doc["alerts"]} == {f["fingerprint"] for f in fired[:3]}
        hit = by_rule["aht-spike"]
        stamp = hit.headers["X-Floorwatch-Timestamp"]
        mac = hmac.new(b"s3cret", f"{stamp}.".encode() + hit.body, hashlib.sha256).hexdigest()
        assert hit.headers["X-Floorwatch-Signature"] == f"sha256={mac}"

        wecom = http.ok("/wecom")[0].json
        assert wecom["msgtype"] == "markdown" and "告警" in wecom["markdown"]["content"]
        ding = http.ok("/ding")[0]
        assert "access_token=t" in ding.path and "&timestamp=" in ding.path and "&sign=" in ding.path
        mail = email.message_from_bytes(smtp.messages[0][2], policy=email.policy.default)
        assert mail["Subject"].startswith("[Floorwatch] FIRING") and mail.is_multipart()
        assert {p.get_content_type() for p in mail.iter_parts()} == {"text/plain", "text/html"}
        assert mail["Message-ID"].startswith("<p")

        t2 = now()
        send(settings, [record(f["rule"], state="resolved", queue=f["scope"]["queue"], at=t2, started=t)
                        for f in fired])
        wait_for(lambda: len(http.ok("/hook")) >= 4 and len(smtp.messages) >= 4, what="resolved messages")
        time.sleep(2.5)
        hook = http.ok("/hook")
        assert [h.json["status"] for h in hook] == ["firing", "firing", "resolved", "resolved"]
        assert len(http.ok("/wecom")) == 4 and len(http.ok("/ding")) == 4 and len(smtp.messages) == 4
        keys = [h.key for h in http.ok()]
        assert len(keys) == len(set(keys)) == 12  # every message once, each its own idempotency id
        logged = rows(settings.database_url)
        assert len(logged) == 16 and all(row.status == "delivered" for row in logged)
        assert all("s3cret" not in (row.body + (row.last_error or "")) for row in logged)
    finally:
        r.stop()


def test_a_destination_down_does_not_hold_up_the_others_and_catches_up_in_order(
        settings: Settings, tmp_path: Path, http: HttpReceiver) -> None:
    # The outage: /down hangs (first third), answers 500 (second third), then recovers.
    # Meanwhile a new alert group fires every 0.5 s; /up must get each within a second.
    good = HttpReceiver().start()
    config = f"""
backlog_limit: 5
receivers:
  - {{name: down, kind: webhook, url: "{http.url('/down')}"}}
  - {{name: up, kind: webhook, url: "{good.url('/up')}"}}
route:
  receiver: up
  group_by: [site, alertname]
  group_wait: 0s
  group_interval: 1s
  routes:
    - {{name: to-down, receiver: down, continue: true}}
    - {{name: to-up, receiver: up}}
"""
    outage_s = 12.0
    http.mode, http.hang_s = "hang", 2.0
    r = runner(settings, tmp_path, config, timeout_s=1.0, max_backoff_s=1.0)
    sent_at: dict[str, float] = {}
    max_pending = 0
    try:
        start = time.monotonic()
        i = 0
        while (elapsed := time.monotonic() - start) < outage_s:
            if elapsed > outage_s / 3:
                http.mode = "fail"
            rule = f"rule-{i:03d}"
            sent_at[rule] = time.monotonic()
            send(settings, [record(rule, at=now())])
            i += 1
            time.sleep(0.5)
            max_pending = max(max_pending, sum(1 for row in rows(settings.database_url)
                                               if row.receiver == "down" and row.status == "pending"))
        http.mode = "ok"
        recovered = time.monotonic()
        wait_for(lambda: {h.json["groupLabels"]["alertname"] for h in http.ok("/down")} >= set(sent_at),
                 timeout=60, what="the failed destination catching up")
        caught_up = time.monotonic() - recovered
        wait_for(lambda: len(good.ok("/up")) >= len(sent_at), what="the healthy destination")
        latency = [h.at - sent_at[h.json["groupLabels"]["alertname"]] for h in good.ok("/up")]
        print(f"\nhealthy destination during the outage: {len(latency)} messages, "
              f"median {statistics.median(latency) * 1000:.0f} ms, max {max(latency) * 1000:.0f} ms; "
              f"failed one caught up {caught_up:.1f} s after recovery; "
              f"its outbox peaked at {max_pending} (limit 5)")
        assert max(latency) < 1.0, latency
        delivered = [a["labels"]["alertname"] for h in http.ok("/down") for a in h.json["alerts"]]
        assert sorted(delivered) == sorted(sent_at)  # every alert once, none lost
        order = [row.notification_id for row in rows(settings.database_url) if row.receiver == "down"]
        assert [h.key for h in http.ok("/down")] == order  # delivered in the order decided
        assert max_pending <= 5 + 2
    finally:
        r.stop()
        good.stop()


def test_a_burst_to_a_rate_limited_robot_becomes_a_few_grouped_messages(
        settings: Settings, tmp_path: Path, http: HttpReceiver) -> None:
    config = f"""
receivers:
  - {{name: robot, kind: wecom, url: "{http.url('/wecom')}"}}
route:
  receiver: robot
  group_by: [site, alertname, agent]
  group_wait: 1s
  group_interval: 1m
"""
    r = runner(settings, tmp_path, config)
    try:
        t = now()
        burst = [record("agent-idle", queue=None, agent=f"a{i:04d}", at=t + i * 0.001) for i in range(1000)]
        send(settings, burst)
        wait_for(lambda: sum(row.alerts for row in rows(settings.database_url)) >= 1000, what="all alerts")
        wait_for(lambda: all(row.status == "delivered" for row in rows(settings.database_url)),
                 what="delivery")
        time.sleep(2.0)
        logged = rows(settings.database_url)
        requests = http.ok("/wecom")
        print(f"\nburst: 1000 transitions -> {len(requests)} WeCom message(s) "
              f"({', '.join(str(row.alerts) for row in logged)} alerts each)")
        assert sum(row.alerts for row in logged) == 1000  # grouped, none dropped
        assert len(requests) <= 20  # the robot's 20 a minute
        assert len(requests) == len(logged)
        for h in requests:
            assert len(h.json["markdown"]["content"].encode()) <= 4096
    finally:
        r.stop()


@pytest.mark.postgres
def test_kill_9_during_delivery_resends_only_the_message_in_flight_with_the_same_id(
        settings: Settings, pg_url: str, tmp_path: Path, http: HttpReceiver) -> None:
    settings = settings.model_copy(
        update={"database_url": pg_url, "topic_prefix": settings.topic_prefix + "k."})
    upgrade(pg_url)
    ensure_topics(settings)
    path = tmp_path / "notify.yaml"
    path.write_text(f"""
receivers:
  - {{name: hook, kind: webhook, url: "{http.url('/hook')}"}}
route: {{receiver: hook, group_by: [site, alertname], group_wait: 0s, group_interval: 1s}}
""")
    env = env_for(settings, FLOORWATCH_NOTIFY_CONFIG=str(path))
    log = tmp_path / "notify.log"
    http.mode, http.hang_s = "slow", 4.0  # takes the message, answers late: the kill comes first
    first = spawn(["notify", "--metrics-port", str(free_port())], env, log)
    second = None
    try:
        t = now()
        # a burst: 12 groups of 5 alerts; the kill comes while the first message is in flight and
        # the rest of the burst is being consumed and decided; 3 more groups after the restart
        groups = [f"rule-{i:02d}" for i in range(15)]
        queues = [f"q{j}" for j in range(5)]
        send(settings, [record(g, queue=q, at=t) for g in groups[:12] for q in queues])
        wait_for(lambda: http.started >= 1, what="a delivery in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        http.mode = "ok"
        send(settings, [record(g, queue=q, at=t + 1) for g in groups[12:] for q in queues])
        second = spawn(["notify", "--metrics-port", str(free_port())], env, log)

        def complete() -> bool:
            got: dict[str, set[str]] = {}
            for h in http.ok():
                got.setdefault(h.json["groupLabels"]["alertname"], set()).update(
                    a["labels"]["queue"] for a in h.json["alerts"])
            return all(got.get(g) == set(queues) for g in groups)

        wait_for(complete, timeout=60, what="every alert of every group delivered after the restart")
        time.sleep(2.0)
        copies = Counter(h.key for h in http.hits)
        logged = rows(pg_url)
        assert sorted(copies) == sorted(row.notification_id for row in logged)  # each decided once
        resent = [k for k, n in copies.items() if n > 1]
        assert len(resent) <= 1 and all(copies[k] == 2 for k in resent)  # at most one resend
        for key in resent:  # the resend is the same message: same id, same body
            bodies = {h.body for h in http.hits if h.key == key}
            assert len(bodies) == 1
        assert all(row.status == "delivered" for row in rows(pg_url))
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(20)
