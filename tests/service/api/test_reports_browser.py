"""The report and handover pages in a real Chromium (Playwright) against a real uvicorn server over
report roll-ups of a simulated floor: zh and en, charts drawn, a filter applied through the form,
CSV / XLSX downloads opened and checked against the JSON, the handover note saved and its PDF
read back with pdftotext. Skipped without Chromium / Playwright, except under CI=true."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from floorwatch.sim import FloorSimulation, default_config
from services.reports.store import ReportStore
from shared.db import make_engine
from shared.migrate import upgrade
from tests.support.reportdb import store_events

from .conftest import ADMIN, LiveServer
from .test_reports_api import CONFIG, START, build_app
from .test_wallboard_browser import ARTIFACTS, browser, unavailable  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
DAY = "from=2026-11-30&to=2026-11-30"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    events = FloorSimulation(default_config(), seed=5, start=START, run_id="web").events_until(
        START + dt.timedelta(hours=2))
    await store_events(engine, events)
    store = ReportStore(engine, CONFIG)
    await store.rebuild(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    live = await LiveServer(build_app(store)).start()
    try:
        yield live
    finally:
        await live.stop()
        await engine.dispose()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:  # noqa: F811
    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP violations and script errors show on the console; failed loads are checked by URL below
    pg.on("console", lambda m: errors.append(m.text)
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    yield pg
    await context.close()
    assert errors == [], errors


async def wait_js(pg: Any, expr: str, within: float = 15.0) -> None:
    """Poll ``expr`` (page.wait_for_function evaluates strings in the page, which its CSP forbids)."""
    async with asyncio.timeout(within):
        while not await pg.evaluate(expr):  # noqa: ASYNC110 - polling the page, not our own state
            await asyncio.sleep(0.1)


async def api_rows(server: LiveServer, path: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as c:
        r = await c.get(server.url + path, headers={"Authorization": f"Bearer {ADMIN}"})
        rows: list[dict[str, Any]] = r.json()["rows"]
        return rows


async def loaded(pg: Any) -> dict[str, Any]:
    await wait_js(pg, "window.FW_REPORT && window.FW_REPORT.ready")
    state: dict[str, Any] = await pg.evaluate(
        "({rows: window.FW_REPORT.rows, chart: window.FW_REPORT.chart})")
    return state


async def test_report_pages_zh_en_chart_filter_and_downloads(server: LiveServer, page: Any) -> None:
    from openpyxl import load_workbook

    # English: the staff performance leaderboard, its chart drawn on a canvas
    await page.goto(f"{server.url}/reports/staff-performance?token={ADMIN}&lang=en&{DAY}")
    state = await loaded(page)
    want = await api_rows(server, f"/v1/reports/staff-performance?{DAY}")
    assert state["rows"] == want and len(want) > 10
    assert state["chart"] and await page.locator("#chart canvas").count() >= 1
    assert await page.locator("h1").inner_text() == "Staff performance daily report"
    assert await page.locator("#table tbody tr").count() == len(want)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "reports-staff-en.png"), full_page=True)
    # the CSV and XLSX downloads hold the same rows
    async with page.expect_download() as info:
        await page.click("#csv")
    path = await (await info.value).path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["agent"] or None for r in parsed] == [r["agent"] for r in want]
    assert [int(r["calls"]) for r in parsed] == [r["calls"] for r in want]
    async with page.expect_download() as info:
        await page.click("#xlsx")
    download = await info.value
    assert download.suggested_filename == "staff-performance_2026-11-30_2026-11-30.xlsx"
    ws = load_workbook(io.BytesIO(await asyncio.to_thread(Path(await download.path()).read_bytes))).active
    assert ws is not None
    table = list(ws.iter_rows(values_only=True))
    got = [dict(zip(table[0], t, strict=True))["successes"] for t in table[1:]]
    assert got == [r["successes"] for r in want]

    # Chinese: the project daily report; then a filter applied through the form
    await page.goto(f"{server.url}/reports/project-daily?token={ADMIN}&lang=zh&{DAY}")
    state = await loaded(page)
    assert await page.locator("h1").inner_text() == "项目日报"
    assert "服务水平" in await page.locator("#table thead").inner_text()
    assert state["chart"] and await page.locator("#chart canvas").count() >= 1
    await page.fill("input[name=queue]", "service")
    await page.click("button[type=submit]")
    await page.wait_for_url("**queue=service**")
    state = await loaded(page)
    assert "queue=service" in page.url and "lang=zh" in page.url
    assert state["rows"] == await api_rows(server, f"/v1/reports/project-daily?{DAY}&queue=service")
    assert state["rows"] and {r["queue"] for r in state["rows"]} <= {"service", None}
    await page.screenshot(path=str(ARTIFACTS / "reports-daily-zh.png"), full_page=True)

    # the agent log drawn as a timeline
    agent = want[0]["agent"]
    await page.goto(f"{server.url}/reports/agent-log?token={ADMIN}&lang=en&{DAY}&agent={agent}")
    state = await loaded(page)
    assert state["chart"] and await page.locator(".timeline div").count() == len(state["rows"]) > 0


async def test_handover_page_note_and_pdf(server: LiveServer, page: Any) -> None:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed: scripts/system-deps.sh installs it")
    await page.goto(f"{server.url}/handover?token={ADMIN}&lang=zh&site=bj-01&shift=early&day=2026-11-30")
    await wait_js(page, "!!(window.FW_HANDOVER && window.FW_HANDOVER.ready && window.FW_HANDOVER.doc)")
    assert await page.locator("h1").inner_text() == "交接班"
    await page.fill("#note", "sales 队列下午需要加人")
    await page.click("#save")
    await wait_js(page, "document.getElementById('note-shown').textContent.includes('加人')")
    async with page.expect_download() as info:
        await page.click("#pdf")
    pdf = await asyncio.to_thread(Path(await (await info.value).path()).read_bytes)
    out = await asyncio.to_thread(subprocess.run, ["pdftotext", "-", "-"], input=pdf, capture_output=True,
                                  check=True)
    text = out.stdout.decode()
    assert "交接班报告" in text and "sales 队列下午需要加人" in text
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "handover-zh.png"), full_page=True)


async def cells(pg: Any, column: str) -> list[str]:
    """The texts of one column of the report table (``FW_REPORT_COLUMNS``: the field of each)."""
    return list(await pg.evaluate(
        "(col) => { const i = window.FW_REPORT_COLUMNS.indexOf(col); return i < 0 ? [] : "
        "[...document.querySelectorAll('#table tbody tr')].map((tr) => tr.children[i].textContent); }",
        column))

async def test_report_cells_that_are_our_words_read_in_chinese(server: LiveServer, page: Any) -> None:
    """States, a row's level (agent / team) and the not-ready reasons Floorwatch knows are words
    of ours, not data: on a zh page they read in Chinese; names from the data stay as they are."""
    from shared.i18n import load_catalogue

    zh = load_catalogue().texts["zh"]
    await page.goto(f"{server.url}/reports/staff-performance?token={ADMIN}&lang=zh&{DAY}")
    state = await loaded(page)
    levels = await cells(page, "level")
    assert len(levels) == len(state["rows"]) > 0
    assert levels == [zh[f"report.{r['level']}"] for r in state["rows"]] and "agent" not in levels

    rows = await api_rows(server, f"/v1/reports/agent-log?{DAY}")
    agent = next(r["agent"] for r in rows if r["state"] == "not_ready" and r["reason"])
    await page.goto(f"{server.url}/reports/agent-log?token={ADMIN}&lang=zh&{DAY}&agent={agent}")
    state = await loaded(page)
    states, reasons = await cells(page, "state"), await cells(page, "reason")
    assert len(states) == len(state["rows"]) > 0
    for row, s, why in zip(state["rows"], states, reasons, strict=True):
        assert s == (zh.get(f"report.{row['state']}") or zh[f"term.state.{row['state']}"]), (row, s)
        known = zh.get(f"term.reason.{row['reason']}") if row["reason"] else None
        assert why == (known or row["reason"] or "–"), (row, why)
    assert any(r["reason"] and f"term.reason.{r['reason']}" in zh for r in state["rows"])
