"""The SQL-backed :class:`AuditLog` over ``audit_log`` (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.audit import AuditEntry, AuditQuery, Visible
from services.api.tables import AuditRow

PAGE = 500
MAX_SCANNED = 20_000  # a scoped reader's filter never scans more than this many rows per request


class SqlAuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, entry: AuditEntry) -> AuditEntry:
        row = AuditRow(at=entry.at, actor=entry.actor, role=entry.role, action=entry.action,
                       target=entry.target, site=entry.site, scope=entry.scope, detail=entry.detail,
                       request_id=entry.request_id)
        async with self._sessions() as db, db.begin():
            db.add(row)
            await db.flush()
            new_id = row.id
        return replace(entry, id=new_id)

    async def query(self, query: AuditQuery, visible: Visible) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        before = query.before_id
        scanned = 0
        async with self._sessions() as db:
            while len(out) < query.limit and scanned < MAX_SCANNED:
                rows = (await db.execute(self._select(query, before))).scalars().all()
                for row in rows:
                    entry = _entry(row)
                    if visible(entry):
                        out.append(entry)
                        if len(out) >= query.limit:
                            break
                scanned += len(rows)
                if len(rows) < PAGE:
                    break
                before = rows[-1].id
        return out

    @staticmethod
    def _select(query: AuditQuery, before: int | None) -> Select[AuditRow]:
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(PAGE)
        if query.actions is not None:
            stmt = stmt.where(AuditRow.action.in_(query.actions))
        if query.target is not None:
            stmt = stmt.where(AuditRow.target == query.target)
        if query.targets is not None:
            stmt = stmt.where(AuditRow.target.in_(sorted(query.targets)))
        if query.sites is not None:
            stmt = stmt.where(AuditRow.site.in_(sorted(query.sites)))
        if query.site is not None:
            stmt = stmt.where(AuditRow.site == query.site)
        if before is not None:
            stmt = stmt.where(AuditRow.id < before)
        return stmt


def _entry(row: AuditRow) -> AuditEntry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=dt.UTC)
    return AuditEntry(at=at, actor=row.actor, role=row.role, action=row.action, target=row.target,
                      request_id=row.request_id, site=row.site, scope=row.scope, detail=row.detail or {},
                      id=row.id)
