"""The reports REST contract: JSON shape, CSV and XLSX equal to the JSON rows, errors that say what
is wrong, the shift handover (JSON, PDF read back with pdftotext, the outgoing note)."""

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
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from floorwatch.sim import FloorSimulation, default_config
from services.api.app import create_app
from services.api.runtime import ApiOptions
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig, Shift
from services.reports.store import ReportStore
from shared.config import Settings
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import unavailable
from tests.support.reportdb import store_events

from .conftest import ADMIN, SUP_SALES, WB_SALES, token_store
from .fakes import QueueFeed, RecordingSink

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")},
                      shifts={"bj-01": (Shift("early", 8 * 60, 16 * 60), Shift("late", 16 * 60, 24 * 60))})
DAYQ = "from=2026-11-30&to=2026-11-30"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def build_app(reports: ReportStore | None) -> FastAPI:
    return create_app(Settings(admin_token=ADMIN, report_refresh_s=0), feed=QueueFeed(),
                      commands=RecordingSink(), registry=CollectorRegistry(), tokens=token_store(),
                      options=ApiOptions(drain_timeout_s=1.0), reports=reports)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('rep') / 'r.db'}"
    upgrade(url)

    async def fill() -> None:
        engine = make_engine(url)
        events = FloorSimulation(default_config(), seed=3, start=START, run_id="api").events_until(
            START + dt.timedelta(hours=2))
        await store_events(engine, events)
        await ReportStore(engine, CONFIG).rebuild(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
        await engine.dispose()

    asyncio.run(fill())
    return url


@pytest.fixture
async def http(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(db_url)
    app = build_app(ReportStore(engine, CONFIG))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                    base_url="http://api.test") as c:
        yield c
    await engine.dispose()


async def test_json_csv_and_xlsx_carry_the_same_rows(http: httpx.AsyncClient) -> None:
    from openpyxl import load_workbook

    doc = (await http.get(f"/v1/reports/project-daily?{DAYQ}", headers=AUTH)).json()
    assert doc["report"] == "project-daily" and doc["params"]["from"] == "2026-11-30"
    assert doc["definitions"]["sl_threshold_s"] == 20.0
    rows = doc["rows"]
    assert rows and {"site", "queue", "project", "day", "offered", "answered", "abandoned", "service_level",
                     "asa_s", "talk_s", "hold_s", "wrap_s", "aht_s"} <= set(rows[0])
    r = await http.get(f"/v1/reports/project-daily?{DAYQ}&format=csv", headers=AUTH)
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert len(parsed) == len(rows)
    for a, b in zip(parsed, rows, strict=True):
        assert int(a["offered"]) == b["offered"] and (a["queue"] or None) == b["queue"]
    x = await http.get(f"/v1/reports/project-daily?{DAYQ}&format=xlsx", headers=AUTH)
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws is not None
    table = list(ws.iter_rows(values_only=True))
    head = list(table[0])
    assert [dict(zip(head, t, strict=True))["answered"] for t in table[1:]] == [r["answered"] for r in rows]


async def test_row_lists_are_capped_and_say_so(http: httpx.AsyncClient) -> None:
    full = (await http.get(f"/v1/reports/follow-ups?{DAYQ}", headers=AUTH)).json()
    assert full["truncated"] is False and len(full["rows"]) > 3
    dues = [r["due_at"] for r in full["rows"]]
    assert dues == sorted(dues)  # overdue first: the earliest due first
    cut = (await http.get(f"/v1/reports/follow-ups?{DAYQ}&limit=3", headers=AUTH)).json()
    assert cut["truncated"] is True
    assert [r["call"] for r in cut["rows"]] == [r["call"] for r in full["rows"][:3]]


async def test_errors_say_what_is_wrong(http: httpx.AsyncClient, db_url: str) -> None:
    cases = {
        "/v1/reports/nope": (404, "project-daily"),
        "/v1/reports/project-daily?from=2026-13-01": (422, "YYYY-MM-DD"),
        "/v1/reports/project-daily?from=2026-11-30&to=2026-11-01": (422, "before"),
        "/v1/reports/project-daily?from=2024-01-01&to=2026-01-01": (422, "at most"),
        "/v1/reports/failure-reasons?by=colour": (422, "colour"),
        "/v1/reports/failure-reasons?from=2026-01-01&to=2026-03-01&by=agent": (422, "by=agent"),
        "/v1/reports/project-daily?from=2026-01-01&to=2026-03-01&interval=15m": (422, "interval=day"),
        "/v1/reports/project-daily?interval=7m": (422, "interval"),
        "/v1/handover?site=bj-01&shift=noon": (422, "early, late"),
    }
    for path, (code, text) in cases.items():
        r = await http.get(path, headers=AUTH)
        assert r.status_code == code, (path, r.text)
        assert text in r.json()["detail"], (path, r.text)
    app = build_app(None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as c:
        r = await c.get("/v1/reports/project-daily", headers=AUTH)
        assert r.status_code == 503 and "database" in r.json()["detail"]


async def test_days_at_the_ends_of_the_calendar_are_a_422_not_a_500(db_url: str) -> None:
    engine = make_engine(db_url)
    app = build_app(ReportStore(engine, CONFIG))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is an answer here
    late, early = "less than or equal to 9998-12-31", "greater than or equal to 1900-01-01"
    cases = {  # a shift's bounds, or the next shift's day, overflowed Python's dates: 500
        "/v1/handover?site=bj-01&shift=late&day=9999-12-31": f"query.day: Input should be {late}",
        "/v1/handover?site=bj-01&shift=early&day=9999-12-31": f"query.day: Input should be {late}",
        "/v1/handover?site=bj-01&shift=early&day=0001-01-01": f"query.day: Input should be {early}",
        "/v1/reports/project-daily?from=0001-01-01&to=0001-01-01": f"query.from: Input should be {early}",
    }
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://api.test") as c:
            for path, detail in cases.items():
                r = await c.get(path, headers=AUTH)
                assert r.status_code == 422, (path, r.status_code, r.text)
                assert r.json()["detail"] == detail, path
            r = await c.get("/v1/handover?site=bj-01&shift=late&day=9998-12-31", headers=AUTH)
            assert r.status_code == 200, r.text  # the last day named is served
    finally:
        await engine.dispose()


async def test_handover_json_pdf_and_note(http: httpx.AsyncClient) -> None:
    q = "site=bj-01&shift=early&day=2026-11-30"
    doc = (await http.get(f"/v1/handover?{q}", headers=AUTH)).json()
    assert doc["start"] == "2026-11-30T08:00:00+08:00" and doc["end"] == "2026-11-30T16:00:00+08:00"
    kpi = {k["kpi"]: k for k in doc["kpis"]}
    day = (await http.get(f"/v1/reports/project-daily?{DAYQ}", headers=AUTH)).json()["rows"]
    # the simulated two hours lie inside the early shift: the shift's offered = the day's
    assert kpi["offered"]["value"] == sum(r["offered"] for r in day if r["queue"] is None) > 0
    assert doc["follow_ups_next_shift"]["shift"] == "late" and doc["note"] is None
    note = {"site": "bj-01", "shift": "early", "day": "2026-11-30", "note": "队列拥堵 15:00"}
    r = await http.post("/v1/handover/note", headers={"Authorization": f"Bearer {SUP_SALES}"}, json=note)
    assert r.status_code == 201, r.text
    r = await http.post("/v1/handover/note", headers={"Authorization": f"Bearer {WB_SALES}"},
                        json={"site": "bj-01", "shift": "early", "day": "2026-11-30", "note": "x"})
    assert r.status_code == 403
    doc = (await http.get(f"/v1/handover?{q}", headers=AUTH)).json()
    assert doc["note"]["note"] == "队列拥堵 15:00" and doc["note"]["author"] == "alice"
    pdf = await http.get(f"/v1/handover?{q}&format=pdf&lang=zh", headers=AUTH)
    assert pdf.headers["content-type"] == "application/pdf"
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed: scripts/system-deps.sh installs it")
    text = await asyncio.to_thread(lambda: subprocess.run(["pdftotext", "-", "-"], input=pdf.content,
                                                          capture_output=True, check=True).stdout)
    body = text.decode("utf-8")
    assert "交接班报告" in body and "队列拥堵 15:00" in body and "bj-01" in body
    assert f"offered: {kpi['offered']['value']}" in body


def test_pdf_without_a_cjk_font_falls_back_to_latin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.reports import export

    monkeypatch.setattr(export, "CJK_FONTS", (tmp_path / "absent.ttc",))
    doc = {"site": "s", "shift": "d", "day": "2026-11-30", "start": "a", "end": "b", "kpis": [],
           "alerts": {"raised": [], "acknowledged": [], "open": []}, "projects_behind": [],
           "follow_ups_next_shift": {"shift": "n", "items": []}, "note": None}
    assert export.handover_pdf(doc, "zh").startswith(b"%PDF")


async def test_handover_alerts_raised_acknowledged_and_open(db_url: str) -> None:
    """Stored alert transitions of the shift: raised in it, acknowledged in it (who, when, note),
    still open at its end; out-of-scope alerts are not shown to a queue-scoped supervisor."""
    import orjson
    from sqlalchemy import insert

    from shared.tables import AlertTransitionRow

    def tr(fp: str, n: int, state: str, previous: str, at: str, queue: str,
           ack: dict[str, str] | None = None) -> dict[str, object]:
        doc = {"fingerprint": fp, "id": fp, "rule": f"rule-{fp}", "kind": "threshold", "severity": "warning",
               "state": state, "previous": previous, "scope": {"site": "bj-01", "queue": queue},
               "summary": f"summary {fp}", "started_at": at, "updated_at": at, "event_time": at, "ack": ack,
               "transition_id": f"{fp}:{n}"}
        if fp == "fp-b":  # a transition with its summary per language (issue 15); the others have none
            doc |= {"rule": "no-agents-available", "message": message}
        return {"transition_id": f"{fp}:{n}", "fingerprint": fp, "rule": doc["rule"], "kind": "threshold",
                "severity": "warning", "state": state, "site": "bj-01", "scope": doc["scope"],
                "event_time": dt.datetime.fromisoformat(at), "payload": orjson.dumps(doc).decode(),
                "recorded_at": dt.datetime.now(dt.UTC)}

    message = {"key": "alert.no-agents-available.firing", "params": {"queue": "vip"}}
    rows = [
        tr("fp-old", 1, "firing", "pending", "2026-11-30T07:00:00+08:00", "sales"),  # before, still open
        tr("fp-a", 1, "firing", "pending", "2026-11-30T09:00:00+08:00", "sales"),
        tr("fp-a", 2, "firing", "firing", "2026-11-30T09:05:00+08:00", "sales",
           {"by": "alice", "at": "2026-11-30T09:05:00+08:00", "note": "moved two agents"}),
        tr("fp-a", 3, "resolved", "firing", "2026-11-30T09:30:00+08:00", "sales"),
        tr("fp-b", 1, "firing", "pending", "2026-11-30T15:00:00+08:00", "vip"),
        tr("fp-late", 1, "firing", "pending", "2026-11-30T17:00:00+08:00", "sales"),  # next shift
    ]
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(insert(AlertTransitionRow), rows)
    app = build_app(ReportStore(engine, CONFIG))
    try:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://api.test") as c:
            q = "/v1/handover?site=bj-01&shift=early&day=2026-11-30"
            doc = (await c.get(q, headers=AUTH)).json()["alerts"]
            assert [a["fingerprint"] for a in doc["raised"]] == ["fp-a", "fp-b"]
            assert [(a["fingerprint"], a["ack"]["by"], a["ack"]["note"]) for a in doc["acknowledged"]] == [
                ("fp-a", "alice", "moved two agents")]
            assert sorted(a["fingerprint"] for a in doc["open"]) == ["fp-b", "fp-old"]
            mine = (await c.get(q, headers={"Authorization": f"Bearer {SUP_SALES}"})).json()["alerts"]
            assert [a["fingerprint"] for a in mine["raised"]] == ["fp-a"]
            assert [a["fingerprint"] for a in mine["open"]] == ["fp-old"]
            b = next(a for a in doc["raised"] if a["fingerprint"] == "fp-b")
            assert b["message"] == message and b["summary"] == "summary fp-b"
            # the PDF in the reader's language (no lang=: the browser's here): the alert's Chinese text
            pdf = await c.get(q + "&format=pdf", headers={**AUTH, "Accept-Language": "zh-CN,zh"})
            if shutil.which("pdftotext") is None:
                unavailable("pdftotext (poppler-utils) is not installed: scripts/system-deps.sh installs it")
            text = (await asyncio.to_thread(lambda: subprocess.run(
                ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout)).decode()
            assert "无空闲坐席 vip：有来电排队，但没有空闲坐席" in text and "summary fp-a" in text
    finally:
        async with engine.begin() as conn:
            from sqlalchemy import delete

            await conn.execute(delete(AlertTransitionRow))
        await engine.dispose()


async def test_failure_reasons_are_capped_by_limit_and_say_so(http: httpx.AsyncClient) -> None:
    full = (await http.get(f"/v1/reports/failure-reasons?{DAYQ}&by=project,queue,team", headers=AUTH)).json()
    assert full["truncated"] is False and len(full["rows"]) > 3
    cut = (await http.get(f"/v1/reports/failure-reasons?{DAYQ}&by=project,queue,team&limit=3",
                          headers=AUTH)).json()
    assert cut["truncated"] is True and cut["params"]["limit"] == 3
    assert cut["rows"] == full["rows"][:3]  # the first rows in the report's order (by day)
    x = await http.get(f"/v1/reports/failure-reasons?{DAYQ}&by=project,queue,team&limit=3&format=csv",
                       headers=AUTH)
    assert len(list(csv.DictReader(io.StringIO(x.text)))) == 3


async def test_exports_are_built_off_the_event_loop(http: httpx.AsyncClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a 200,000-row XLSX takes seconds to build: on the loop it would stall every request and push
    from services.api import rest_reports

    on_loop: dict[str, bool] = {}

    def spy(name: str, build: Any) -> Any:
        def run(*args: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop[name] = True
            except RuntimeError:  # no running loop in this thread: a worker thread
                on_loop[name] = False
            return build(*args)
        return run

    for name in ("to_csv", "to_xlsx", "handover_pdf"):
        monkeypatch.setattr(rest_reports, name, spy(name, getattr(rest_reports, name)))
    for path in (f"/v1/reports/project-daily?{DAYQ}&format=csv",
                 f"/v1/reports/project-daily?{DAYQ}&format=xlsx",
                 "/v1/handover?site=bj-01&shift=early&day=2026-11-30&format=pdf"):
        assert (await http.get(path, headers=AUTH)).status_code == 200, path
    assert on_loop == {"to_csv": False, "to_xlsx": False, "handover_pdf": False}


async def test_filters_echoed_into_the_xlsx_are_text_never_formulas(http: httpx.AsyncClient) -> None:
    from openpyxl import load_workbook

    r = await http.get("/v1/reports/project-daily", headers=AUTH, params={
        "from": "2026-11-30", "to": "2026-11-30", "format": "xlsx",
        "project": "=HYPERLINK(\"http://evil.example\",\"x\")", "team": "a\x01b"})
    assert r.status_code == 200, r.text  # a control character was an IllegalCharacterError: 500
    params = load_workbook(io.BytesIO(r.content))["params"]
    cells = {row[0].value: row[1] for row in params.iter_rows()}
    assert cells["project"].data_type == "s"
    assert cells["project"].value == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert cells["team"].value == "a\ufffdb"


async def test_downloads_of_non_latin_names_are_named_in_ascii_and_utf8(db_url: str) -> None:
    engine = make_engine(db_url)
    config = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")},
                          shifts={"bj-01": (Shift("早班", 8 * 60, 16 * 60),
                                            Shift('"晚"班', 16 * 60, 24 * 60))})
    app = build_app(ReportStore(engine, config))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is an answer here
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://api.test") as c:
            for shift, plain, utf8 in (("早班", "__", "%E6%97%A9%E7%8F%AD"),
                                       ('"晚"班', "____", "%22%E6%99%9A%22%E7%8F%AD")):
                r = await c.get("/v1/handover", params={"site": "bj-01", "shift": shift, "day": "2026-11-30",
                                                        "format": "pdf"}, headers=AUTH)
                assert r.status_code == 200, r.text  # a header Starlette cannot encode as Latin-1: 500
                assert r.content.startswith(b"%PDF")
                assert r.headers["content-disposition"] == (
                    f'attachment; filename="handover_bj-01_{plain}_2026-11-30.pdf"; '
                    f"filename*=UTF-8''handover_bj-01_{utf8}_2026-11-30.pdf")
    finally:
        await engine.dispose()
