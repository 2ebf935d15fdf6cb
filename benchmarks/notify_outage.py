"""A notification destination down for minutes: the others' latency, the failing one's queue, and
how long it takes to catch up once it is back.

    .venv/bin/python -m benchmarks.notify_outage [--seconds 300] [--every 2]

In process: the embedded Tansu broker, SQLite, the notifier (``NotifyRunner``) and two local
HTTP receivers on loopback. Every ``--every`` seconds a new alert group fires (a new rule name),
so each second of outage adds work. The ``down`` receiver hangs (each attempt runs into the
10 s time limit) for the first half of ``--seconds`` and answers 500 for the second half, then
recovers; the ``up`` receiver answers at once throughout. Prints the ``up`` receiver's latency
(transition produced → request received), the peak of ``down``'s undelivered messages against
``backlog_limit``, the time from recovery to the last alert delivered to ``down``, and checks
that every alert reached ``down`` once and in the order decided.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from services.notify.delivery import RetryPolicy
from services.notify.main import NotifyRunner, read_config
from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade
from shared.notify_tables import NotificationRow
from tests.support.receivers import HttpReceiver
from tests.unit.notify.factory import record

BACKLOG = 20


def pending(url: str, receiver: str) -> int:
    async def go() -> int:
        engine = make_engine(url)
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(NotificationRow).where(
                NotificationRow.receiver == receiver, NotificationRow.status == "pending"))).scalar_one()
        await engine.dispose()
        return int(n)

    return asyncio.run(go())


def order(url: str, receiver: str) -> list[str]:
    async def go() -> list[str]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(NotificationRow.notification_id).where(
                NotificationRow.receiver == receiver).order_by(NotificationRow.pk))).all()
        await engine.dispose()
        return [r[0] for r in rows]

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--every", type=float, default=2.0)
    args = ap.parse_args()
    broker = EmbeddedBroker().start()
    down, up = HttpReceiver(mode="hang", hang_s=15.0).start(), HttpReceiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix="bench.",
                            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'n.db'}", partitions=1)
        upgrade(settings.database_url)
        ensure_topics(settings)
        cfg = Path(tmp) / "n.yaml"
        cfg.write_text(f"""
backlog_limit: {BACKLOG}
receivers:
  - {{name: down, kind: webhook, url: "{down.url('/down')}"}}
  - {{name: up, kind: webhook, url: "{up.url('/up')}"}}
route:
  receiver: up
  group_by: [site, alertname]
  group_wait: 0s
  group_interval: 10s
  routes:
    - {{name: to-down, receiver: down, continue: true}}
    - {{name: to-up, receiver: up}}
""")
        policy = RetryPolicy(timeout_s=10.0)
        runner = NotifyRunner(settings, CollectorRegistry(), read_config(cfg), policy).start()
        while runner.worker is None or not runner.worker.parts or runner.problem() is not None:
            time.sleep(0.1)
        producer = make_producer(settings, linger_ms=0)
        sent: dict[str, float] = {}
        peak = 0
        start = time.monotonic()
        i = 0
        while (elapsed := time.monotonic() - start) < args.seconds:
            if elapsed > args.seconds / 2:
                down.mode = "fail"
            rule = f"rule-{i:04d}"
            sent[rule] = time.monotonic()
            value = orjson.dumps(record(rule, at=time.time()))
            producer.send(settings.topic("alerts"), key=b"bj-01", value=value)
            producer.flush()
            i += 1
            time.sleep(args.every)
            peak = max(peak, pending(settings.database_url, "down"))
        down.mode = "ok"
        recovered = time.monotonic()
        while {h.json["groupLabels"]["alertname"] for h in down.ok()} < set(sent):
            if time.monotonic() - recovered > 600:
                raise SystemExit("the failed destination did not catch up within 10 minutes")
            time.sleep(0.1)
        caught_up = time.monotonic() - recovered
        time.sleep(1.0)
        latency = sorted((h.at - sent[h.json["groupLabels"]["alertname"]]) * 1000 for h in up.ok())
        delivered = [a["labels"]["alertname"] for h in down.ok() for a in h.json["alerts"]]
        in_order = [h.key for h in down.ok()] == order(settings.database_url, "down")
        attempts = len(down.hits)
        runner.stop()
        producer.close()
    broker.stop()
    down.stop()
    up.stop()
    qs = statistics.quantiles(latency, n=100, method="inclusive")
    half = args.seconds / 2
    print(f"outage {args.seconds:.0f} s ({half:.0f} s hanging, {half:.0f} s answering 500), "
          f"a new alert group every {args.every:g} s: {len(sent)} groups")
    print(f"  healthy destination: {len(latency)} messages, p50 {qs[49]:.0f} ms, p99 {qs[98]:.0f} ms, "
          f"max {latency[-1]:.0f} ms")
    print(f"  failed destination: outbox peak {peak} (backlog_limit {BACKLOG}); "
          f"{attempts} requests reached it; "
          f"caught up {caught_up:.1f} s after recovery")
    print(f"  every alert delivered to it once: {sorted(delivered) == sorted(sent)}; "
          f"in the order decided: {in_order}; messages: {len(down.ok())}")


if __name__ == "__main__":
    main()
