"""Report tests' databases: a migrated SQLite file or a fresh PostgreSQL database, with events
stored the way ingest stores them (``events`` rows with the canonical JSON payload)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reports.core.config import ReportConfig
from services.reports.store import ReportStore
from shared.db import make_engine, rollups_url
from shared.events import Event, encode_event, event_type
from shared.migrate import upgrade
from shared.tables import EventRow
from tests.conftest import PG_ADMIN_DSN, _pg_exec, unavailable


@contextlib.asynccontextmanager
async def report_store(kind: str, tmp_path: Path, config: ReportConfig) -> AsyncIterator[ReportStore]:
    """A ``ReportStore`` on a migrated database of its own: ``kind`` ``sqlite`` (a file under
    ``tmp_path``, its roll-ups in a file beside it, as Floorwatch keeps them: ``shared.db.rollups_url``)
    or ``postgres`` (created on the test server, dropped afterwards; the roll-ups in it)."""
    name = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    else:
        name = f"floorwatch_rep_{uuid.uuid4().hex[:10]}"
        try:
            await _pg_exec(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"')
        except Exception as exc:  # noqa: BLE001
            unavailable(f"PostgreSQL at {PG_ADMIN_DSN} is not usable: {exc}")
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    beside = rollups_url(url)
    store = ReportStore(engine, config, rollups=None if beside == url else make_engine(beside))
    try:
        yield store
    finally:
        await store.aclose()
        await engine.dispose()
        if name is not None:
            await _pg_exec(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def store_events(engine: AsyncEngine, events: Iterable[Event],
                       extra: dict[str, dict[str, str]] | None = None, offset0: int = 0) -> int:
    """Insert ``events`` into ``events`` (``extra``: call -> extra payload fields, e.g. contact)."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i, ev in enumerate(events):
        more = (extra or {}).get(getattr(ev, "call", ""), None)
        rows.append({
            "source": ev.source, "event_id": ev.id, "site": ev.site, "type": event_type(ev), "ts": ev.ts,
            "payload": encode_event(ev, more).decode("utf-8"), "src_topic": "t", "src_partition": 0,
            "src_offset": offset0 + i, "ingested_at": now,
        })
    async with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(EventRow), rows[i:i + 5000])
    return len(rows)
