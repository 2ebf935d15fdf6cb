"""SqlTokenStore over SQLite (the same code runs on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from services.api.auth import Authenticator, Scope, hash_token
from services.api.tables import ApiToken
from services.api.tokens_sql import SqlTokenStore
from shared.db import make_engine, sessions


async def test_issue_lookup_revoke(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ApiToken.__table__.create)
        store = SqlTokenStore(sessions(engine))
        token = await store.issue("tv-3", "wallboard", Scope.of(sites=["bj-01"], queues=["sales"]))
        principal = await store.lookup(hash_token(token))
        assert principal is not None
        assert (principal.role, principal.name) == ("wallboard", "tv-3")
        assert principal.scope == Scope.of(sites=["bj-01"], queues=["sales"])
        assert principal.scope.teams is None
        assert await store.lookup(hash_token(token + "x")) is None

        auth = Authenticator("admin-secret", store)
        assert (await auth.authenticate(token)).role == "wallboard"  # type: ignore[union-attr]
        assert (await auth.authenticate("admin-secret")).role == "admin"  # type: ignore[union-attr]

        assert await store.revoke("tv-3") == 1
        assert await store.lookup(hash_token(token)) is None
        assert await auth.authenticate(token) is None
    finally:
        await engine.dispose()
