"""The notifier's delivery log as the API reads it (``/v1/notifications``): what was sent to
which receiver, its status, attempts and last error — scoped like alerts.

A notification is visible to a caller when every alert it carried is (``scoping.alert_visible``
on the scope and labels the notifier stored); an admin sees all. Robot URLs and secrets are
never in the log (the notifier resolves them at send time), so nothing here can leak them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.auth import Principal
from services.api.scoping import AgentLookup, alert_visible
from shared.notify_tables import NotificationAttemptRow, NotificationRow

STATUSES: Final = ("pending", "delivered", "failed")
MAX_LIMIT: Final = 500
PAGE: Final = 500
MAX_SCANNED: Final = 20_000

Visible = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class NotificationQuery:
    receiver: str | None = None
    route: str | None = None
    status: str | None = None
    site: str | None = None
    sites: frozenset[str] | None = None  # the caller's sites (None: all)
    before_id: int | None = None
    limit: int = 100


class NotificationLog(Protocol):
    async def query(self, query: NotificationQuery, visible: Visible) -> list[dict[str, Any]]: ...

    async def one(self, notification_id: str) -> dict[str, Any] | None: ...


def visibility(principal: Principal, agents: AgentLookup | None = None) -> Visible:
    if principal.role == "admin":
        return lambda _n: True
    scope = principal.scope

    def visible(n: dict[str, Any]) -> bool:
        alerts = n.get("scopes") or []
        return bool(alerts) and all(
            alert_visible({"scope": a.get("scope") or {}, "labels": a.get("labels") or {}}, scope, agents)
            for a in alerts)

    return visible


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def summary(row: NotificationRow) -> dict[str, Any]:
    return {
        "id": row.pk, "notification_id": row.notification_id, "route": row.route, "receiver": row.receiver,
        "kind": row.kind, "group_key": row.group_key, "status": row.status, "alert_status": row.alert_status,
        "site": row.site, "sites": row.sites, "alerts": row.alerts, "shown": row.shown,
        "fingerprints": row.fingerprints, "created_at": _time(row.created_at),
        "delivered_at": _time(row.delivered_at), "attempts": row.attempts, "last_error": row.last_error,
        "scopes": row.scopes,
    }


class SqlNotificationLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def query(self, query: NotificationQuery, visible: Visible) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        before, scanned = query.before_id, 0
        async with self._sessions() as db:
            while len(out) < query.limit and scanned < MAX_SCANNED:
                rows = (await db.execute(self._select(query, before))).scalars().all()
                for row in rows:
                    item = summary(row)
                    if visible(item):
                        out.append(item)
                        if len(out) >= query.limit:
                            break
                scanned += len(rows)
                if len(rows) < PAGE:
                    break
                before = rows[-1].pk
        return out

    async def one(self, notification_id: str) -> dict[str, Any] | None:
        async with self._sessions() as db:
            row = (await db.execute(select(NotificationRow).where(
                NotificationRow.notification_id == notification_id))).scalar_one_or_none()
            if row is None:
                return None
            attempts = (await db.execute(select(NotificationAttemptRow).where(
                NotificationAttemptRow.notification_id == notification_id)
                .order_by(NotificationAttemptRow.pk))).scalars().all()
        item = summary(row)
        item.update(content_type=row.content_type, body=row.body, subject=row.subject, attempt_log=[
            {"at": _time(a.at), "outcome": a.outcome, "status_code": a.status_code, "error": a.error,
             "duration_s": a.duration_s} for a in attempts])
        return item

    @staticmethod
    def _select(query: NotificationQuery, before: int | None) -> Select[Any]:
        stmt = select(NotificationRow).order_by(NotificationRow.pk.desc()).limit(PAGE)
        filters = ((NotificationRow.receiver, query.receiver), (NotificationRow.route, query.route),
                   (NotificationRow.status, query.status), (NotificationRow.site, query.site))
        for column, value in filters:
            if value is not None:
                stmt = stmt.where(column == value)
        if query.sites is not None:
            stmt = stmt.where(NotificationRow.site.in_(sorted(query.sites)))
        if before is not None:
            stmt = stmt.where(NotificationRow.pk < before)
        return stmt


def matches(item: dict[str, Any], query: NotificationQuery) -> bool:
    return ((query.receiver is None or item["receiver"] == query.receiver)
            and (query.route is None or item["route"] == query.route)
            and (query.status is None or item["status"] == query.status)
            and (query.site is None or item["site"] == query.site)
            and (query.sites is None or item["site"] in query.sites)
            and (query.before_id is None or item["id"] < query.before_id))


class InMemoryNotificationLog:
    """A fixed list of log entries (``summary`` shape plus ``body`` / ``attempt_log``), for tests."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = sorted(items, key=lambda i: i["id"], reverse=True)

    async def query(self, query: NotificationQuery, visible: Visible) -> list[dict[str, Any]]:
        hits = (i for i in self.items if matches(i, query) and visible(i))
        return [{k: v for k, v in i.items() if k not in ("body", "attempt_log")} for i in hits][: query.limit]

    async def one(self, notification_id: str) -> dict[str, Any] | None:
        return next((i for i in self.items if i["notification_id"] == notification_id), None)
