"""The Alembic migrations build exactly the schema the typed tables describe, on SQLite and
PostgreSQL (so the same code runs on both)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import shared.notify_tables
import shared.tables  # noqa: F401
from shared.db import Base, make_engine
from shared.migrate import upgrade


def _diff(url: str) -> list[object]:
    async def go() -> list[object]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(go())


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrated_schema_matches_the_tables(db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url)
    upgrade(url)  # idempotent
    assert _diff(url) == []
