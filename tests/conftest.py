"""Fixtures for the real services: the embedded Tansu broker and PostgreSQL.

Under ``CI=true`` a missing service is a failure, never a skip: CI must prove the integration.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.broker import EmbeddedBroker
from shared.config import Settings

REPO = Path(__file__).resolve().parents[1]
# The workplace folder beside the checkout (design, founding report, real vendor data) — not the
# repository's own ``shared/`` import package. Every path to it starts from this constant.
WORKPLACE = REPO.parent / "shared"
REAL_DATA = WORKPLACE / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_DSN = os.environ.get("FLOORWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: integration tests may not skip)")
    pytest.skip(what)


def data_file(rel: str) -> Path:
    path = REAL_DATA / rel
    if not path.exists():
        unavailable(f"real data {path} is absent (it lives beside the checkout in ../shared/data)")
    return path


def start_broker(log: Path) -> EmbeddedBroker:
    """A started embedded broker logging to ``log``; unavailable (a failure under CI) if it cannot start."""
    try:
        return EmbeddedBroker(log_path=log).start()
    except Exception as exc:
        unavailable(f"embedded Tansu broker did not start: {exc}")
        raise  # not reached: unavailable() skips or fails, both by raising


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    b = start_broker(tmp_path_factory.mktemp("tansu") / "tansu.log")
    yield b
    b.stop()


@pytest.fixture
def settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings on the shared broker with a topic prefix and SQLite file of this test's own, at the
    latest schema (a service started alone refuses a database that is not)."""
    from shared.migrate import upgrade

    prefix = f"t{uuid.uuid4().hex[:8]}."
    url = f"sqlite+aiosqlite:///{tmp_path / 'fw.db'}"
    upgrade(url)
    return Settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=prefix,
        database_url=url,
        partitions=2,
    )


async def _pg_exec(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    name = f"floorwatch_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_exec(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        unavailable(f"PostgreSQL at {PG_ADMIN_DSN} is not usable: {exc}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_pg_exec(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the latest schema (the real migrations): a SQLite file of this test's own,
    then the session's PostgreSQL database (shared by the session's tests)."""
    from shared.migrate import upgrade

    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    upgrade(url)
    return url
