"""The SQL-backed token store over ``api_tokens``: lookup for the API, create / list / revoke for
the admin REST routes and ``floorwatch tokens``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.auth import (
    Principal,
    Role,
    Scope,
    TokenInfo,
    check_language,
    check_role,
    hash_token,
    new_token,
)
from services.api.tables import ApiToken

logger = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; they were written in UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


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
        info = self._info(row)
        return None if info is None else Principal(info.role, info.scope, info.name, language=info.language)

    @staticmethod
    def _info(row: ApiToken) -> TokenInfo | None:
        try:
            role = check_role(row.role)
            scope = Scope.from_json(row.scope)
        except ValueError:
            logger.exception("api token has a bad role or scope id=%s", row.id)
            return None
        created = _aware(row.created_at)
        assert created is not None
        return TokenInfo(row.id, row.name, role, scope, created, _aware(row.revoked_at),
                         token_sha256=row.token_sha256, language=row.language)

    async def create(self, name: str, role: Role, scope: Scope, language: str | None = None
                     ) -> tuple[TokenInfo, str]:
        """A new token: its info and the token itself (the only time it is visible)."""
        role = check_role(role)
        language = check_language(language)
        token = new_token()
        payload: dict[str, Any] = {k: v for k, v in scope.to_json().items() if v is not None}
        row = ApiToken(name=name, role=role, scope=payload, token_sha256=hash_token(token),
                       created_at=self._clock(), language=language)
        async with self._sessions() as db, db.begin():
            db.add(row)
            await db.flush()
        info = self._info(row)
        assert info is not None
        return info, token

    async def issue(self, name: str, role: Role, scope: Scope) -> str:
        """Create a token and return it (the only time it is visible)."""
        return (await self.create(name, role, scope))[1]

    async def list_tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        query = select(ApiToken).order_by(ApiToken.id)
        if not include_revoked:
            query = query.where(ApiToken.revoked_at.is_(None))
        async with self._sessions() as db:
            rows = (await db.execute(query)).scalars().all()
        return [info for row in rows if (info := self._info(row)) is not None]

    async def revoke_id(self, token_id: int) -> TokenInfo | None:
        """Revoke one active token; its info, or None when no active token has that id."""
        async with self._sessions() as db, db.begin():
            row = await _active_for_update(db, token_id)
            if row is None:
                return None
            row.revoked_at = self._clock()
        return self._info(row)

    async def set_language(self, token_id: int, language: str | None) -> tuple[TokenInfo, str | None] | None:
        """Change an active token's language (zh | en | None: the site's); its new info and the
        language it had, or None when no active token has that id."""
        language = check_language(language)
        async with self._sessions() as db, db.begin():
            row = await _active_for_update(db, token_id)
            if row is None:
                return None
            before, row.language = row.language, language
        info = self._info(row)
        return None if info is None else (info, before)

    async def revoke(self, name: str) -> int:
        """Revoke every active token called ``name``; returns how many."""
        async with self._sessions() as db, db.begin():
            result = await db.execute(
                update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return int(getattr(result, "rowcount", 0) or 0)


async def _active_for_update(db: AsyncSession, token_id: int) -> ApiToken | None:
    """The active (not revoked) token ``token_id``, locked for this transaction; None if none."""
    return (await db.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).with_for_update()
    )).scalar_one_or_none()
