"""The notifier's database side: dispatcher snapshots with their offsets, and the delivery log
(outbox + attempts) of ``shared/notify_tables.py``.

``commit`` writes a partition's snapshot, the offset it covers and the new notifications in one
transaction: after a crash the notifier resumes from there, and a notification is either in the
outbox (sent, or re-sent with the same id) or was never decided (its transitions are consumed
again and decide it again, with the same id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import is_sqlite
from shared.notify_tables import NotificationAttemptRow, NotificationRow
from shared.tables import EngineSnapshotRow


@dataclass(frozen=True)
class Outgoing:
    """One outbox row, as the deliverer reads it."""

    notification_id: str
    receiver: str
    kind: str
    content_type: str
    body: str
    subject: str
    html: str
    created_at: dt.datetime
    attempts: int


class NotifyStore:
    def __init__(self, engine: AsyncEngine, group_id: str):
        self._engine = engine
        self._group = group_id
        self._dialect = sqlite if is_sqlite(str(engine.url)) else postgresql

    async def load_snapshot(self, topic: str, partition: int) -> tuple[int, bytes] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(EngineSnapshotRow.next_offset, EngineSnapshotRow.data).where(
                    EngineSnapshotRow.group_id == self._group, EngineSnapshotRow.topic == topic,
                    EngineSnapshotRow.partition == partition)
            )).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    async def commit(self, topic: str, partition: int, next_offset: int, data: bytes,
                     rows: Sequence[dict[str, Any]], now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            if rows:
                stmt = self._dialect.insert(NotificationRow).on_conflict_do_nothing(
                    index_elements=["notification_id"])
                await conn.execute(stmt, list(rows))
            snap = self._dialect.insert(EngineSnapshotRow).values(
                group_id=self._group, topic=topic, partition=partition, next_offset=next_offset, data=data,
                updated_at=now)
            snap = snap.on_conflict_do_update(
                index_elements=["group_id", "topic", "partition"],
                set_={"next_offset": next_offset, "data": data, "updated_at": now})
            await conn.execute(snap)

    async def pending(self, receiver: str, limit: int) -> list[Outgoing]:
        """The receiver's undelivered messages, oldest first (delivery is in order)."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(
                select(NotificationRow.notification_id, NotificationRow.receiver, NotificationRow.kind,
                       NotificationRow.content_type, NotificationRow.body, NotificationRow.subject,
                       NotificationRow.html, NotificationRow.created_at, NotificationRow.attempts)
                .where(NotificationRow.receiver == receiver, NotificationRow.status == "pending")
                .order_by(NotificationRow.pk).limit(limit)
            )).all()
        # SQLite hands back naive datetimes (stored as UTC)
        return [Outgoing(*r[:7], r[7] if r[7].tzinfo else r[7].replace(tzinfo=dt.UTC), r[8]) for r in rows]

    async def backlog(self, receiver: str | None = None) -> dict[str, int]:
        """Undelivered messages per receiver (of one, or all)."""
        stmt = select(NotificationRow.receiver, func.count()).where(NotificationRow.status == "pending")
        if receiver is not None:
            stmt = stmt.where(NotificationRow.receiver == receiver)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt.group_by(NotificationRow.receiver))).all()
        return {str(r[0]): int(r[1]) for r in rows}

    async def attempt(self, notification_id: str, receiver: str, *, at: dt.datetime, outcome: str,
                      status_code: int | None, error: str | None, duration_s: float) -> None:
        """Record one attempt; ``delivered`` / ``failed`` also settle the notification."""
        async with self._engine.begin() as conn:
            await conn.execute(self._dialect.insert(NotificationAttemptRow).values(
                notification_id=notification_id, receiver=receiver, at=at, outcome=outcome,
                status_code=status_code, error=error, duration_s=duration_s))
            values: dict[str, Any] = {"attempts": NotificationRow.attempts + 1, "last_error": error}
            if outcome == "delivered":
                values.update(status="delivered", delivered_at=at)
            elif outcome == "failed":
                values["status"] = "failed"
            await conn.execute(update(NotificationRow)
                               .where(NotificationRow.notification_id == notification_id).values(**values))
