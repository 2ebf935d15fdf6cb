"""GET /v1/silences lists every silence still active, however many silence entries (short silences
created and expired since) are newer in the audit log — in memory and over SQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.api.app import create_app
from services.api.audit import AuditEntry, AuditLog, InMemoryAuditLog
from services.api.audit_sql import SqlAuditLog
from services.api.runtime import ApiOptions
from shared.config import Settings
from shared.db import make_engine, sessions
from shared.migrate import upgrade

from .conftest import ADMIN, SUP_SALES, token_store
from .fakes import QueueFeed, RecordingSink

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(params=["memory", "sql"])
async def audit(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuditLog]:
    if request.param == "memory":
        yield InMemoryAuditLog()
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    yield SqlAuditLog(sessions(engine))
    await engine.dispose()


@pytest.fixture
async def http(audit: AuditLog) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(admin_token=ADMIN), feed=QueueFeed(), commands=RecordingSink(),
                     registry=CollectorRegistry(), tokens=token_store(), audit=audit,
                     options=ApiOptions(drain_timeout_s=1.0))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                    base_url="http://api.test") as c:
        yield c


def in_days(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


async def silence(http: httpx.AsyncClient, days: float, **matchers: str) -> str:
    r = await http.post("/v1/silences", headers=AUTH, json={
        "matchers": {"site": "bj-01", **matchers}, "until": in_days(days), "comment": "c"})
    assert r.status_code == 202, r.text
    return str(r.json()["command"]["silence_id"])


async def short_silences(audit: AuditLog, n: int) -> None:
    """``n`` silences created and expired (two entries each), recorded as the API records them."""
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        for action in ("silence.create", "silence.expire"):
            await audit.record(AuditEntry(
                at=now, actor="alice", role="supervisor", action=action, target=f"short-{i}",
                request_id=f"r-{action}-{i}", site="bj-01", scope={"site": "bj-01", "queue": "sales"},
                detail={"matchers": {"site": "bj-01", "queue": "sales"}, "until": in_days(1), "comment": ""}))


async def test_an_active_silence_stays_listed_behind_many_newer_entries(http: httpx.AsyncClient,
                                                                         audit: AuditLog) -> None:
    long = await silence(http, 29, queue="sales")
    await short_silences(audit, 600)  # 1,200 newer entries: more than were read before
    middle = await silence(http, 2, queue="sales")
    await short_silences(audit, 300)
    gone = await silence(http, 2, queue="sales")
    assert (await http.delete(f"/v1/silences/{gone}", headers=AUTH)).status_code == 202
    listed = (await http.get("/v1/silences", headers=AUTH)).json()["silences"]
    assert [s["id"] for s in listed] == [middle, long]  # newest first, nothing expired
    mine = (await http.get("/v1/silences", headers={"Authorization": f"Bearer {SUP_SALES}"})).json()
    assert [s["id"] for s in mine["silences"]] == [middle, long]
    assert (await http.delete(f"/v1/silences/{long}", headers=AUTH)).status_code == 202
    listed = (await http.get("/v1/silences", headers=AUTH)).json()["silences"]
    assert [s["id"] for s in listed] == [middle]
