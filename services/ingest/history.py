"""Event history in the database: insert-once on ``(source, event_id)``, and the dedup look-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.core import Accepted, Stored
from shared.db import is_sqlite
from shared.events import event_type
from shared.tables import EventRow

_LOOKUP_CHUNK = 200


class EventHistory:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        dialect = sqlite if is_sqlite(str(engine.url)) else postgresql
        self._insert = (
            dialect.insert(EventRow)
            .on_conflict_do_nothing(index_elements=["source", "event_id"])
            .returning(EventRow.source, EventRow.event_id)
        )

    async def store(self, accepted: Sequence[Accepted], now: dt.datetime) -> set[tuple[str, str]]:
        """Insert what is new, in one transaction; return the keys that were inserted."""
        if not accepted:
            return set()
        rows = [
            {
                "source": a.event.source,
                "event_id": a.event.id,
                "site": a.event.site,
                "type": event_type(a.event),
                "ts": a.event.ts,
                "payload": a.payload.decode("utf-8"),
                "src_topic": a.record.topic,
                "src_partition": a.record.partition,
                "src_offset": a.record.offset,
                "ingested_at": now,
            }
            for a in accepted
        ]
        async with self._engine.begin() as conn:
            result = await conn.execute(self._insert, rows)
            return {(r[0], r[1]) for r in result.all()}

    async def held(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
        """Where each already-stored key was consumed from, and the payload stored for it."""
        found: dict[tuple[str, str], Stored] = {}
        async with self._engine.connect() as conn:
            for i in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[i : i + _LOOKUP_CHUNK]
                cond = or_(*(and_(EventRow.source == s, EventRow.event_id == e) for s, e in chunk))
                stmt = select(
                    EventRow.source,
                    EventRow.event_id,
                    EventRow.src_topic,
                    EventRow.src_partition,
                    EventRow.src_offset,
                    EventRow.payload,
                ).where(cond)
                for s, e, topic, part, off, payload in (await conn.execute(stmt)).all():
                    found[(s, e)] = ((topic, part, off), payload.encode("utf-8"))
        return found
