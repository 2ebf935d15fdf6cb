"""Reports over the real files: ``project-daily``'s day rows equal ``floorwatch stats`` over the same
events and the raw-file computations of ``test_real_figures`` (plain Python, no project code).

The events are the ones ``floorwatch stats`` reads from the export; they are stored in the events
table as ingest stores them, the roll-ups are rebuilt from it (``floorwatch reports rebuild``'s
path), and the report is read back through ``ReportStore.report`` — the REST route's code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from floorwatch import stats
from services.alerts.core.floor.definitions import PRESETS, DefinitionSet
from services.reports.core.config import Access, ReportConfig
from services.reports.store import ReportStore
from tests.conftest import data_file
from tests.figures.test_real_figures import (
    BANK_JAN,
    COUNTS,
    QUEUE_LOG,
    Cell,
    compare,
    engine_rows,
    expected_bank,
    expected_queue_log,
)
from tests.support.reportdb import report_store, store_events

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
# file, reader format, definitions preset, time zone of its business days, independent computation
CASES = {
    "queue-log-asterisk": (QUEUE_LOG, "asterisk-queue-log", "asterisk", "Etc/GMT+5", expected_queue_log),
    "bank-floorwatch": (BANK_JAN, "anonymous-bank", "floorwatch", "Asia/Jerusalem", expected_bank),
}
FIELDS = ("offered", "answered", "abandoned", "service_level", "asa_s", "talk_s", "hold_s", "wrap_s", "aht_s")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=sorted(CASES))
async def loaded(request: pytest.FixtureRequest, kind: str, tmp_path: Path
                 ) -> AsyncIterator[tuple[str, ReportStore, list[dict[str, Any]]]]:
    rel, fmt, preset, zone, _ = CASES[request.param]
    read = stats.read_events(data_file(rel), fmt, site="real", source="file")
    defs = DefinitionSet(default=PRESETS[preset].replace(time_zone=zone))
    async with report_store(kind, tmp_path, ReportConfig(definitions=defs)) as store:
        await store_events(store.engine, read.events)
        rows = engine_rows(read, preset, zone)
        days = sorted({dt.date.fromisoformat(r["day"]) for r in rows})
        await store.rebuild(days[0], days[-1])
        yield request.param, store, rows


def _day_rows(report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """project-daily's rows as stats names them: one per (day, queue) and the site total (queue None)."""
    return [r for r in report if r["project"] is None or r["queue"] is not None]


async def test_project_daily_equals_stats_and_the_raw_file(
        loaded: tuple[str, ReportStore, list[dict[str, Any]]]) -> None:
    case, store, stats_rows = loaded
    rel, _, preset, _, expected = CASES[case]
    days = sorted(r["day"] for r in stats_rows)
    report = await store.report("project-daily", {"from": dt.date.fromisoformat(days[0]),
                                                  "to": dt.date.fromisoformat(days[-1])}, Access(), NOW)
    rows = _day_rows(report)
    got = {(r["day"], r["queue"]): r for r in rows}
    want = {(r["day"], r["queue"]): r for r in stats_rows}
    assert got.keys() == want.keys()
    for key, s in want.items():
        for f in FIELDS:
            assert got[key][f] == s[f], (key, f, got[key][f], s[f])
    raw: dict[tuple[str, str | None], Cell] = expected(data_file(rel), preset)
    counts = tuple(k for k in COUNTS if k in rows[0])
    assert {"offered", "answered", "abandoned", "short_abandoned", "handled"} <= set(counts)
    assert compare(rows, raw, preset, counts) == []
    assert sum(r["answered"] for r in rows if r["queue"] is None) > 50
