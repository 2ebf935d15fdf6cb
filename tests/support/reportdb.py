"""Report tests' databases: a migrated SQLite file or a fresh PostgreSQL database, with events
stored the way ingest stores them (``events`` rows with the canonical JSON payload)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events import Event, encode_event, event_type
from shared.tables import EventRow


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
