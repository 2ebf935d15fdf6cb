"""The benchmarks' scratch databases: PostgreSQL databases of their own on the test server
(created and dropped through its admin database), and event rows stored the way ingest stores them."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from shared.events import Event, encode_event, event_type

PG_ADMIN = os.environ.get("FLOORWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def pg(sql: str) -> None:
    """Run one statement on the admin database (``CREATE DATABASE``, ``DROP DATABASE``)."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(name: str) -> str:
    """The SQLAlchemy (asyncpg) URL of database ``name`` on the admin database's server."""
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


def event_row(ev: Event, offset: int, now: dt.datetime, topic: str = "raw") -> dict[str, Any]:
    """An ``events`` row for ``ev`` (canonical JSON payload), consumed at ``offset`` of ``topic``."""
    return {"source": ev.source, "event_id": ev.id, "site": ev.site, "type": event_type(ev), "ts": ev.ts,
            "payload": encode_event(ev).decode("utf-8"), "src_topic": topic, "src_partition": 0,
            "src_offset": offset, "ingested_at": now}
