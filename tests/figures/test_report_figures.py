"""Reports over the real files: ``project-daily``'s day rows equal ``floorwatch stats`` over the same
events and the raw-file computations of ``test_real_figures`` (plain Python, no project code).

The events are the ones ``floorwatch stats`` reads from the export; they are stored in the events
table as ingest stores them, the roll-ups are rebuilt from it (``floorwatch reports rebuild``'s
path), and the report is read back through ``ReportStore.report`` — the REST route's code.
"""

from __future__ import annotations

import contextlib
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


@contextlib.asynccontextmanager
async def _loaded(case: str, kind: str, tmp_path: Path
                  ) -> AsyncIterator[tuple[ReportStore, list[dict[str, Any]]]]:
    """A report store holding ``case``'s events, roll-ups rebuilt, and ``stats``'s rows for them."""
    rel, fmt, preset, zone, _ = CASES[case]
    read = stats.read_events(data_file(rel), fmt, site="real", source="file")
    defs = DefinitionSet(default=PRESETS[preset].replace(time_zone=zone))
    async with report_store(kind, tmp_path, ReportConfig(definitions=defs)) as store:
        await store_events(store.engine, read.events)
        rows = engine_rows(read, preset, zone)
        days = sorted({dt.date.fromisoformat(r["day"]) for r in rows})
        await store.rebuild(days[0], days[-1])
        yield store, rows


@pytest.fixture(params=sorted(CASES))
async def loaded(request: pytest.FixtureRequest, kind: str, tmp_path: Path
                 ) -> AsyncIterator[tuple[str, ReportStore, list[dict[str, Any]]]]:
    async with _loaded(request.param, kind, tmp_path) as (store, rows):
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


def _bank_agents(path: Path) -> dict[str, tuple[int, float]]:
    """Per server (agent) of the Anonymous Bank export, plain: calls served with times and their
    mean service time — every AGENT row with a service start, PHANTOM rows left out."""
    n: dict[str, int] = {}
    talk: dict[str, float] = {}
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if f[0] == "vru+line" or len(f) != 17 or f[12] != "AGENT" or f[13] == "0:00:00":
            continue
        server = f[16].strip()
        n[server] = n.get(server, 0) + 1
        talk[server] = talk.get(server, 0.0) + int(f[15])
    return {s: (n[s], talk[s] / n[s]) for s in n}


async def test_staff_performance_per_agent_equals_the_raw_file(kind: str, tmp_path: Path) -> None:
    async with _loaded("bank-floorwatch", kind, tmp_path) as (store, stats_rows):
        await _check_agents(store, stats_rows)


async def _check_agents(store: ReportStore, stats_rows: list[dict[str, Any]]) -> None:
    days = sorted(r["day"] for r in stats_rows)
    report = await store.report("staff-performance", {"from": dt.date.fromisoformat(days[0]),
                                                      "to": dt.date.fromisoformat(days[-1])}, Access(), NOW)
    got = {r["agent"]: (r["handled"], r["talk_s"]) for r in report if r["level"] == "agent" and r["handled"]}
    want = _bank_agents(data_file(BANK_JAN))
    assert got.keys() == want.keys() and len(want) > 20
    for agent, (n, mean) in want.items():
        assert got[agent][0] == n, agent
        assert abs(got[agent][1] - mean) <= 0.06, (agent, got[agent][1], mean)
