"""Database plumbing shared by the services: the declarative base and the async engine factory.

The same code runs on SQLite (aiosqlite, the embedded default) and PostgreSQL (asyncpg). Tables
live beside the service that owns them (``shared/tables.py`` for the shared ones) and all hang off
:class:`Base`, so Alembic sees one metadata.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def rollups_url(database_url: str, configured: str | None = None) -> str:
    """Where the report roll-ups are kept (``FLOORWATCH_REPORTS_DATABASE_URL``): ``configured`` if
    given; for a SQLite file, a file of their own beside it (``floorwatch.db`` ->
    ``floorwatch-reports.db``), since SQLite has one write lock per file and a refresh writing a
    minute of roll-ups held up ingest's history inserts behind it; else (PostgreSQL, SQLite in
    memory) the database itself. docs/reports.md, *Where the roll-ups are kept*."""
    from pathlib import PurePath

    from sqlalchemy.engine import make_url

    if configured:
        return configured
    if not is_sqlite(database_url):
        return database_url
    url = make_url(database_url)
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:") or url.query.get("mode") == "memory":
        return database_url
    p = PurePath(path)
    beside = url.set(database=str(p.with_name(f"{p.stem}-reports{p.suffix}")))
    return beside.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """``url`` fit to print or log: its password, if any, as ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unreadable database URL>"


def make_engine(url: str, *, timeout_s: float | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL and a busy timeout so services can share it.
    ``timeout_s`` (PostgreSQL): connecting and each statement fail after that long."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if timeout_s is not None:
        kwargs["connect_args"] = {"timeout": timeout_s, "command_timeout": timeout_s,
                                  **kwargs.get("connect_args", {})}
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
