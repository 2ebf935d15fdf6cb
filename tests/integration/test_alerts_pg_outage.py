"""PostgreSQL unreachable under a running alerts service: the live path (events in, alert
transitions out to the screens) must not depend on the history. Until 2026-12-08 a recording
that failed three times in 3 s, or one failed snapshot write, stopped the service (and
`floorwatch up` with it): a database restart took the floor's alerts down.

Checked here: while the database is away, the service keeps turning events into transitions on
the alerts topic, does not fail, and says on /readyz that the history is behind; no snapshot is
saved past transitions not yet in the history; once it is back, every transition published
during the outage is in the history, exactly once, and snapshots are saved again.

The shared PostgreSQL server is never stopped: the service reaches it through a TCP proxy the
test cuts (``reset``: a database that went away; ``stall``: one that answers nothing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import orjson
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.alerts.core.rules.reader import load_rules
from services.alerts.main import GROUP, AlertsRunner
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from shared.tables import AlertTransitionRow, EngineSnapshotRow
from tests.integration.test_ingest_pg_outage import wait_for
from tests.support.kafkautil import canonical, produce, read_topic
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

RULES = """
rules:
  - name: any-call-waiting
    metric: calls_waiting
    op: '>'
    value: 0
    summary: '{queue}: {value:.0f} waiting'
"""


def history(url: str, site: str, group: str) -> tuple[list[str], dt.datetime | None]:
    """(transition ids recorded for ``site``, when the group's newest snapshot was saved)."""
    async def go() -> tuple[list[str], dt.datetime | None]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                ids = (await conn.execute(select(AlertTransitionRow.transition_id)
                                          .where(AlertTransitionRow.site == site))).scalars().all()
                saved = (await conn.execute(select(EngineSnapshotRow.updated_at)
                                            .where(EngineSnapshotRow.group_id == group))).scalars().all()
        finally:
            await engine.dispose()
        return list(ids), max(saved, default=None)

    return asyncio.run(go())


def firing(settings: Settings, site: str, queues: int) -> dict[str, dict]:
    """The firing transitions of ``site`` on the alerts topic, by queue, once ``queues`` are there."""
    out: dict[str, dict] = {}

    def look() -> bool:
        for r in read_topic(settings, settings.topic("alerts"), 0, timeout=2.0):
            doc = json.loads(r.value)
            if doc["scope"].get("site") == site and doc["state"] == "firing":
                out[doc["scope"]["queue"]] = doc
        return len(out) >= queues

    wait_for(f"{queues} firing alerts of {site}", look, timeout=30)
    return out


def queued(site: str, queue: str) -> bytes:
    now = dt.datetime.now(dt.UTC).isoformat()
    return orjson.dumps(canonical("call.queued", site=site, call=f"{queue}-c", queue=queue, ts=now))


@pytest.mark.parametrize("mode", ["reset", "stall"])
def test_alerts_go_on_while_postgres_is_unreachable_and_the_history_catches_up(
    settings: Settings, pg_url: str, mode: str
) -> None:
    upgrade(pg_url)
    site = f"pg-{mode}-{settings.topic_prefix}".replace(".", "")
    host_port = pg_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    with TcpProxy((host, int(port))) as proxy:
        proxied = pg_url.replace(f"@{host_port}/", f"@{proxy.address}/")
        settings = settings.model_copy(update={
            "database_url": proxied, "snapshot_interval_s": 0.5, "partitions": 1,
            "alerts_db_timeout_s": 2.0})
        ensure_topics(settings)
        group = settings.group(GROUP)
        runner = AlertsRunner(settings, CollectorRegistry(), load_rules(RULES)).start()
        worker = runner.worker
        assert worker is not None
        worker.record_retry_s = 0.2
        try:
            produce(settings, settings.topic("events"), [queued(site, "q0")], key=site.encode())
            firing(settings, site, 1)
            wait_for("the first transition recorded", lambda: len(history(pg_url, site, group)[0]) == 1)
            wait_for("a snapshot saved", lambda: history(pg_url, site, group)[1] is not None)

            proxy.cut(mode)  # type: ignore[arg-type]
            cut_at = dt.datetime.now(dt.UTC)
            for q in ("q1", "q2", "q3"):
                produce(settings, settings.topic("events"), [queued(site, q)], key=site.encode())
                time.sleep(1.0)
            during = firing(settings, site, 4)  # published while the database is away
            time.sleep(6.0)  # snapshots due every 0.5 s, recordings retried every 0.2 s and more
            assert runner.failed is None
            assert "history" in (runner.problem() or ""), runner.problem()
            ids, saved = history(pg_url, site, group)
            assert len(ids) == 1
            assert saved is not None and saved < cut_at  # nothing saved during the outage

            proxy.restore()
            want = sorted(d["transition_id"] for d in during.values())
            wait_for("every transition recorded", lambda: sorted(history(pg_url, site, group)[0]) == want)
            wait_for("a snapshot saved after the outage",
                     lambda: (history(pg_url, site, group)[1] or cut_at) > cut_at)
            wait_for("ready again", lambda: runner.problem() is None, timeout=30)
            assert runner.failed is None
        finally:
            runner.stop()
    assert runner.failed is None
