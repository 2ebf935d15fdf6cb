"""Alembic environment: runs migrations on the async engine Floorwatch uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import shared.notify_tables
import shared.tables  # noqa: F401 - registers the shared tables on Base.metadata
from shared.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _import_service_tables() -> None:
    # Tables owned by a service register themselves on the same metadata.
    import services.api.tables  # noqa: F401


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online(url: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


_import_service_tables()
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online(config.get_main_option("sqlalchemy.url") or ""))
