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


@pytest.mark.postgres
def test_the_events_ts_index_upgrade_finishes_after_a_failed_or_interrupted_build() -> None:
    """Migration 0008 builds ``ix_events_ts`` CONCURRENTLY: a failed build leaves an INVALID index
    of that name, an interrupted one (built, revision not stamped) a valid one. Upgrading again
    must finish either way, with a valid index on ``ts``."""
    import uuid

    import asyncpg

    from tests.conftest import PG_ADMIN_DSN, _pg_exec

    name = f"floorwatch_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_exec(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"'))
    dsn = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")

    async def sql(statement: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return await conn.fetch(statement)
        finally:
            await conn.close()

    index = ("SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
             "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'ix_events_ts'")
    try:
        upgrade(url, "0007")
        # a failed CONCURRENTLY build: a unique index over duplicate values stops half-way
        asyncio.run(sql("INSERT INTO events (source, event_id, site, type, ts, payload, src_topic, "
                        "src_partition, src_offset, ingested_at) SELECT 'acd', 'e' || g, 'bj-01', "
                        "'call.queued', now(), '{}', 't', 0, g, now() FROM generate_series(1, 3) g"))
        with pytest.raises(asyncpg.UniqueViolationError):
            asyncio.run(sql("CREATE UNIQUE INDEX CONCURRENTLY ix_events_ts ON events (site)"))
        assert [r["indisvalid"] for r in asyncio.run(sql(index))] == [False]
        upgrade(url)
        (row,) = asyncio.run(sql(index))
        assert row["indisvalid"] and row["def"].endswith("USING btree (ts)")
        # an interrupted one: the index is there, the revision still 0007
        asyncio.run(sql("UPDATE alembic_version SET version_num = '0007'"))
        upgrade(url)
        assert [r["indisvalid"] for r in asyncio.run(sql(index))] == [True]
        assert _diff(url) == []
    finally:
        asyncio.run(_pg_exec(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
