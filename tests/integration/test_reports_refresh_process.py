"""``floorwatch reports refresh --every S``: the report refresh as a process of its own (what
``floorwatch up`` runs at a lower priority instead of the API's task). It keeps its live fold
between refreshes, goes on after new events, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from floorwatch.sim import FloorSimulation, default_config
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig
from shared.tables import REPORT_SPANS, REPORT_STATE
from tests.support.reportdb import report_store, store_events

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})


async def _watermark(engine) -> int:  # type: ignore[no-untyped-def]
    """The roll-ups' watermark (0 while the process has not made a roll-up file of its own yet)."""
    async with engine.connect() as conn:
        try:
            got = (await conn.execute(select(REPORT_STATE.c.value)
                                      .where(REPORT_STATE.c.name == "events_pk"))).scalar()
        except OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            got = 0
    return int(got or 0)


def _start(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOORWATCH_DATABASE_URL": url, "FLOORWATCH_REPORT_SETTLE_S": "0",
           "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "floorwatch.cli", "reports", "refresh",
                                 "--every", "0.5", "--log-level", "INFO"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def _text(log: Path) -> str:
    return log.read_text()


async def _wait_for(engine, pk: int, proc: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while await _watermark(engine) < pk:
        assert proc.poll() is None, _text(log)
        assert time.monotonic() < deadline, _text(log)
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_refresh_every_keeps_folding_and_stops_on_sigterm(kind: str, tmp_path: Path) -> None:
    events = FloorSimulation(default_config(), seed=3, start=START, run_id="rp").events_until(
        START + dt.timedelta(hours=2))
    half = len(events) // 2
    async with report_store(kind, tmp_path, CONFIG) as store:
        await store_events(store.engine, events[:half])
        log = tmp_path / "refresh.log"
        proc = _start(store.engine.url.render_as_string(hide_password=False), log)
        try:
            await _wait_for(store.rollups, half, proc, log)
            async with store.rollups.connect() as conn:
                assert (await conn.execute(select(func.count()).select_from(REPORT_SPANS))).scalar()
            if kind == "sqlite":  # the roll-ups went to the file beside the events', none to it
                assert store.rollups is not store.engine
                async with store.engine.connect() as conn:
                    assert not (await conn.execute(select(func.count()).select_from(REPORT_SPANS))).scalar()
            await store_events(store.engine, events[half:], offset0=half)
            await _wait_for(store.rollups, len(events), proc, log)  # the loop went on
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 30) == 0, _text(log)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = _text(log)
    # the first refresh re-folds the day; the next one feeds the live fold it kept (not a re-fold)
    assert text.count("report roll-ups re-folded") == 1, text
    assert "report refresh stopped" in text


def test_every_must_be_positive() -> None:
    out = subprocess.run([sys.executable, "-m", "floorwatch.cli", "reports", "refresh", "--every", "0"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "above 0" in out.stderr
