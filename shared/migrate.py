"""``floorwatch db upgrade``: Alembic migrations to head, configured in code (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

logger = logging.getLogger(__name__)
# PostgreSQL up but not taking connections yet (asyncpg's names): a service waits for that
_NOT_YET = frozenset({"CannotConnectNowError", "TooManyConnectionsError"})

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``. Must not be called from a running event loop."""
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a migration against the database at ``url``."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def schema_problem(url: str, timeout_s: float = 10.0) -> str | None:
    """Why the database at ``url`` cannot serve this Floorwatch, or None: it has no Floorwatch
    schema, or one at another revision than this release's migrations end at. A service started
    on such a database failed later with a bare SQL error ("no such table") in the middle of its
    work. A database that cannot be reached is not judged here (None, logged): each service
    already waits for its database and retries. Must not be called from a running event loop."""
    quiet = logging.getLogger("alembic")  # its INFO lines ("Will assume transactional DDL.") say nothing here
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        return _schema_problem(url, timeout_s)
    finally:
        quiet.setLevel(level)


def _schema_problem(url: str, timeout_s: float) -> str | None:
    from shared.db import make_engine

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    async def current() -> set[str]:
        engine = make_engine(url, timeout_s=timeout_s)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
        finally:
            await engine.dispose()

    try:
        found = asyncio.run(asyncio.wait_for(current(), timeout_s))
    except (OSError, TimeoutError) as exc:
        logger.warning("schema not checked: the database did not answer: %r", exc)
        return None
    except Exception as exc:
        if type(exc).__name__ in _NOT_YET:
            logger.warning("schema not checked: the database is not taking connections yet: %r", exc)
            return None
        raise
    if found == heads:
        return None
    if not found:
        return "the database has no Floorwatch schema"
    return (f"the database is at schema revision {', '.join(sorted(found))}; this Floorwatch needs "
            f"{', '.join(sorted(heads))}")
