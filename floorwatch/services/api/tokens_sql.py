"""The SQL-backed :class:`TokenStore` over ``api_tokens``, plus issue / revoke for the CLI."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from floorwatch.services.api.auth import ROLES, Principal, Role, Scope, hash_token
from floorwatch.services.api.tables import ApiToken

logger = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqlTokenStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def lookup(self, token_sha256: str) -> Principal | None:
        async with self._sessions() as db:
            row = (await db.execute(
                select(ApiToken).where(ApiToken.token_sha256 == token_sha256, ApiToken.revoked_at.is_(None))
            )).scalar_one_or_none()
        if row is None:
            return None
        role = next((r for r in ROLES if r == row.role), None)
        if role is None:
            logger.error("api token has an unknown role id=%s role=%s", row.id, row.role)
            return None
        try:
            scope = Scope.from_json(row.scope)
        except ValueError:
            logger.exception("api token has a bad scope id=%s", row.id)
            return None
        return Principal(role, scope, row.name)

    async def issue(self, name: str, role: Role, scope: Scope) -> str:
        """Create a token and return it (the only time it is visible)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        token = secrets.token_urlsafe(32)
        payload: dict[str, Any] = {k: v for k, v in scope.to_json().items() if v is not None}
        async with self._sessions() as db, db.begin():
            db.add(ApiToken(name=name, role=role, scope=payload, token_sha256=hash_token(token),
                            created_at=self._clock()))
        return token

    async def revoke(self, name: str) -> int:
        """Revoke every active token called ``name``; returns how many."""
        async with self._sessions() as db, db.begin():
            result = await db.execute(
                update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return int(getattr(result, "rowcount", 0) or 0)
