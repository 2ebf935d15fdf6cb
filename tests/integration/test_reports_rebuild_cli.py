"""``floorwatch reports rebuild --max-events N``: the bound on what a rebuild holds in memory,
given on the command line, cuts the rebuild into shorter chunks without changing the roll-ups;
a bound below 1, or not a number, is refused with the reason."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from floorwatch.sim import FloorSimulation, default_config
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig
from tests.integration.test_reports_store import rollup_rows
from tests.support.reportdb import report_store, store_events

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)


def _rebuild(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOORWATCH_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "floorwatch.cli", "reports", "rebuild", *flags],
                          env=env, capture_output=True, text=True, timeout=300)


async def test_max_events_cuts_the_rebuild_and_keeps_the_roll_ups(tmp_path: Path) -> None:
    # The CLI folds with its own default calendar (UTC): its days end at 08:00 in Beijing, with the
    # floor at work, so calls and agents' states are open at every cut. ``config`` only reads back.
    config = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})
    async with report_store("sqlite", tmp_path, config) as store:
        events = FloorSimulation(default_config(), seed=7, start=START, run_id="cli").events_until(
            START + dt.timedelta(days=2, hours=4))
        await store_events(store.engine, events)
        url = str(store.engine.url)
        read = {}
        rows = {}
        for most in (len(events) * 2, len(events) // 3):
            done = _rebuild(url, "--max-events", str(most))
            assert done.returncode == 0, done.stderr
            found = re.search(r"from (\d+) events", done.stdout)
            assert found, done.stdout
            read[most] = int(found.group(1))
            rows[most] = await rollup_rows(store)
        one, cut = len(events) * 2, len(events) // 3
        # cut into days: each folds the 16 h before and after it again
        assert read[one] <= len(events) < read[cut]
        assert rows[cut] == rows[one]
        for bad, reason in (("0", "must be at least 1, not 0"),
                            ("lots", "expected a whole number, got 'lots'")):
            refused = _rebuild(url, "--max-events", bad)
            assert refused.returncode == 2
            assert f"--max-events: {reason}" in refused.stderr
