"""Input the stores cannot hold is refused with a 422 that says what is wrong, on SQLite and on
PostgreSQL (which refuses the NUL character in text and enforces column lengths): before, a
silence whose site was 65 characters or held a NUL was a 503 with the SQL error in its text, and
a NUL in a path or query parameter a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.api.app import create_app
from services.api.audit_sql import SqlAuditLog
from services.api.runtime import ApiOptions
from shared.config import Settings
from shared.db import make_engine

from .conftest import ADMIN, token_store
from .fakes import QueueFeed, RecordingSink

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
async def http(sql_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API with its audit log in the database (SQLite, then PostgreSQL: tests/conftest.py)."""
    engine = make_engine(sql_url)
    app = create_app(Settings(admin_token=ADMIN), feed=QueueFeed(), commands=RecordingSink(),
                     registry=CollectorRegistry(), tokens=token_store(),
                     options=ApiOptions(drain_timeout_s=1.0),
                     audit=SqlAuditLog(async_sessionmaker(engine, expire_on_commit=False)))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                    base_url="http://api.test") as client:
        yield client
    await engine.dispose()


def silence(site: str) -> dict[str, object]:
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    return {"matchers": {"site": site}, "until": until, "comment": "maintenance"}


async def test_a_silence_the_audit_log_cannot_store_is_refused_with_422(
        http: httpx.AsyncClient, sql_url: str) -> None:
    for site, said in [("s" * 65, "at most 64 characters"), ("bj\x0001", "NUL")]:
        r = await http.post("/v1/silences", headers=AUTH, json=silence(site))
        assert r.status_code == 422, (site, r.status_code, r.text)
        assert "matchers.site" in r.json()["detail"] and said in r.json()["detail"]
    try:
        r = await http.post("/v1/silences", headers=AUTH, json=silence("s" * 64))  # the longest stored
        assert r.status_code == 202, r.text
    finally:  # the PostgreSQL database is the test session's: leave its audit log as it was
        engine = make_engine(sql_url)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log WHERE site = :site"), {"site": "s" * 64})
        await engine.dispose()


@pytest.mark.parametrize(("method", "url", "where"), [
    ("GET", "/v1/audit?target=%00", ["query", "target"]),
    ("GET", "/v1/audit?action=silence.create&target=a%00b", ["query", "target"]),
    ("DELETE", "/v1/silences/%00", ["path"]),
    ("GET", "/v1/alerts/fp%00", ["path"]),
])
async def test_a_nul_in_the_path_or_query_is_refused_with_422(
        http: httpx.AsyncClient, method: str, url: str, where: list[str]) -> None:
    r = await http.request(method, url, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"loc": where, "msg": "the NUL character (%00) is not allowed",
                                   "type": "value_error"}]
    assert r.json()["detail"] == ".".join(where) + ": the NUL character (%00) is not allowed"
