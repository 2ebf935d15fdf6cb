"""The report roll-ups in a SQLite file of their own (``shared.db.rollups_url``): SQLite has one
write lock per file, so a refresh writing roll-ups must not hold up ingest's history inserts into
the events database. The file is made on first use, paired with its events database, and refused
when made for another roll-up schema."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from floorwatch.sim import FloorSimulation, default_config
from services.reports.core import SiteCalendar
from services.reports.core.config import Access, ReportConfig
from services.reports.store import DAY_TABLES, ROLLUPS_SCHEMA, ReportStore
from shared.config import Settings
from shared.db import make_engine, rollups_url
from shared.events import Event
from shared.migrate import upgrade
from shared.tables import REPORT_SPANS, REPORT_STATE
from tests.support.reportdb import store_events

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite+aiosqlite:///./floorwatch.db", "sqlite+aiosqlite:///floorwatch-reports.db"),
    ("sqlite+aiosqlite:////var/lib/fw/main.sqlite3", "sqlite+aiosqlite:////var/lib/fw/main-reports.sqlite3"),
    ("sqlite+aiosqlite:///data", "sqlite+aiosqlite:///data-reports"),
    # in memory: nothing to put beside it
    ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
    ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ("sqlite+aiosqlite:///file:x?mode=memory&uri=true", "sqlite+aiosqlite:///file:x?mode=memory&uri=true"),
    # PostgreSQL has no per-file lock: the roll-ups stay in the database
    ("postgresql+asyncpg://fw:secret@db:5432/fw", "postgresql+asyncpg://fw:secret@db:5432/fw"),
])
def test_where_the_rollups_are_kept(url: str, expected: str) -> None:
    assert rollups_url(url) == expected


def test_the_setting_overrides_and_takes_the_same_forms_as_the_database_url() -> None:
    s = Settings(database_url="sqlite:///a.db", reports_database_url="postgres://u@h/r")
    assert s.rollups_url == "postgresql+asyncpg://u@h/r"
    assert Settings(database_url="sqlite:///a.db").rollups_url == "sqlite+aiosqlite:///a-reports.db"
    unset = Settings(database_url="sqlite:///a.db", reports_database_url="")
    assert unset.rollups_url.endswith("a-reports.db")


def _events(run_id: str, hours: float = 1.0) -> list[Event]:
    return FloorSimulation(default_config(), seed=5, start=START, run_id=run_id).events_until(
        START + dt.timedelta(hours=hours))


async def _main(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    return url


async def _spans(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(REPORT_SPANS))).scalar_one())


async def _rows(store: ReportStore) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    async with store.rollups.connect() as conn:
        for t in DAY_TABLES:
            cols = [c for c in t.c if c.name != "id"]
            out[t.name] = sorted((await conn.execute(select(*cols))).all(), key=repr)
    return out


async def test_the_rollups_go_to_their_own_file_and_none_to_the_events_file(tmp_path: Path) -> None:
    url = await _main(tmp_path / "fw.db")
    engine, rollups = make_engine(url), make_engine(rollups_url(url))
    store = ReportStore(engine, CONFIG, rollups=rollups)
    try:
        await store_events(engine, _events("a"))
        done = await store.refresh()
        assert done["days"] == ["2026-11-30"]
        assert (tmp_path / "fw-reports.db").exists()
        assert await _spans(rollups) > 0
        assert await _spans(engine) == 0  # the events database's own roll-up tables stay empty
        day = {"from": dt.date(2026, 11, 30), "to": dt.date(2026, 11, 30)}
        noon = dt.datetime(2026, 11, 30, 12, tzinfo=BJ)
        rows = await store.report("staff-performance", day, Access(), noon)
        assert rows
    finally:
        await store.aclose()
        await engine.dispose()


@pytest.mark.parametrize("locked", ["fw-reports.db", "fw.db"])
async def test_a_refresh_writing_rollups_leaves_events_inserts_free(tmp_path: Path, locked: str) -> None:
    """A transaction holding the roll-ups file's write lock (a refresh writing its rows) leaves
    inserts into the events database free; the same lock on the events file (where the roll-ups
    were kept before) holds them until it ends."""
    url = await _main(tmp_path / "fw.db")
    engine, rollups = make_engine(url), make_engine(rollups_url(url))
    store = ReportStore(engine, CONFIG, rollups=rollups)
    events = _events("a", hours=0.25)
    try:
        await store_events(engine, events[:10])
        await store.refresh()  # makes and pairs the roll-up file
        holder = sqlite3.connect(tmp_path / locked, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, until ROLLBACK
        try:
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(store_events(engine, events[10:], offset0=10), 2.0)
                took: float | None = time.perf_counter() - t0
            except TimeoutError:
                took = None
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        if locked == "fw.db":
            assert took is None, "an insert went through a write lock held on its own database file"
        else:
            assert took is not None and took < 1.0, took
    finally:
        await store.aclose()
        await engine.dispose()


async def test_rollups_folded_from_another_events_database_are_cleared(tmp_path: Path) -> None:
    """The events file removed and made again (new events from pk 1), the roll-up file kept: its
    watermark would skip the new events and its rows would be the old day's. It is cleared on
    first use and folded again: the rows equal a fold of the new events alone."""
    url = await _main(tmp_path / "fw.db")
    engine = make_engine(url)
    store = ReportStore(engine, CONFIG, rollups=make_engine(rollups_url(url)))
    await store_events(engine, _events("old", hours=2))
    await store.refresh()
    await store.aclose()
    await engine.dispose()
    for f in await asyncio.to_thread(lambda: list(tmp_path.glob("fw.db*"))):
        await asyncio.to_thread(f.unlink)
    url = await _main(tmp_path / "fw.db")
    engine = make_engine(url)
    new = _events("new", hours=0.5)
    await store_events(engine, new)
    store = ReportStore(engine, CONFIG, rollups=make_engine(rollups_url(url)))
    other_url = await _main(tmp_path / "other.db")  # the same events in a fresh pair of files
    other_engine = make_engine(other_url)
    await store_events(other_engine, new)
    other = ReportStore(other_engine, CONFIG, rollups=make_engine(rollups_url(other_url)))
    try:
        done = await store.refresh()
        assert done["events"] == len(new)  # everything folded again, from pk 1
        await other.refresh()
        assert await _rows(store) == await _rows(other)
    finally:
        for s in (store, other):
            await s.aclose()
            await s.engine.dispose()


async def test_a_rollup_file_of_another_schema_is_refused(tmp_path: Path) -> None:
    url = await _main(tmp_path / "fw.db")
    engine, rollups = make_engine(url), make_engine(rollups_url(url))
    await ReportStore(engine, CONFIG, rollups=rollups).refresh()
    async with rollups.begin() as conn:
        await conn.execute(REPORT_STATE.update().where(REPORT_STATE.c.name == "rollups_schema")
                           .values(value=ROLLUPS_SCHEMA + 1))
    try:
        with pytest.raises(RuntimeError, match=r"fw-reports\.db.*remove that database file"):
            await ReportStore(engine, CONFIG, rollups=rollups).refresh()
    finally:
        await rollups.dispose()
        await engine.dispose()
