"""REST: the seven reports (JSON / CSV / XLSX) and the shift handover (JSON / PDF, and the
outgoing supervisor's note), read from the report roll-ups (``services/reports``) and scoped by the
caller's token in SQL — a filter narrows the scope, never widens it (docs/reports.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from services.api.auth import Principal
from services.api.deps import PrincipalDep, RuntimeDep, WriterDep
from services.api.models import errors
from services.api.rest import check_site, json_response
from services.api.rest_i18n import reader_language
from services.api.runtime import Runtime
from services.api.scoping import alert_visible, filter_floor
from services.reports.core import handover as ho
from services.reports.core.config import Access
from services.reports.core.definitions import describe
from services.reports.core.reports import REPORTS
from services.reports.export import handover_pdf, to_csv, to_xlsx
from services.reports.store import INTERVALS, ReportStore

router = APIRouter(prefix="/v1", responses=errors(401, 403, 422, 503))
Name = Annotated[str | None, Query(max_length=128)]
MAX_DAYS = 400
DEFAULT_ROWS, MAX_ROWS = 10_000, 200_000
MAX_AGENT_DAYS = 31  # failure reasons per agent: a month at most
MAX_INTERVAL_DAYS = 31  # interval rows: a month at most
# business days a caller may name: a shift's bounds and the next day are computed from one, which
# overflows Python's dates at the ends of their range (years 1 and 9999)
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
LISTS = ("follow-ups", "agent-log")  # reports that list rows rather than sum them
# reports whose rows `limit` caps: the lists, and failure-reasons, whose rows grow with the free-text
# reasons of outcomes (anyone's text from events) times days and dimensions
CAPPED = (*LISTS, "failure-reasons")
BY = ("project", "queue", "team", "agent")


def _store(runtime: Runtime) -> ReportStore:
    store: ReportStore | None = runtime.reports
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "reports need the database: this API instance was started without one")
    return store


def access_of(principal: Principal) -> Access:
    s = principal.scope
    return Access(sites=s.sites, teams=s.teams, queues=s.queues)


def _day(text: str | None, name: str, default: dt.date) -> dt.date:
    if text is None:
        return default
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{name}: expected a business day as YYYY-MM-DD, got {text!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:  # answered as a validation error of the parameter
        kind, bound = ("greater_than_equal", FIRST_DAY) if day < FIRST_DAY else ("less_than_equal", LAST_DAY)
        relation = "greater" if day < FIRST_DAY else "less"
        raise RequestValidationError([{"type": kind, "loc": ("query", name), "input": text,
                                       "msg": f"Input should be {relation} than or equal to {bound}"}])
    return day


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named ``filename`` (site and shift names are anyone's
    text): headers go out as Latin-1, so ``filename=`` carries an ASCII stand-in (other characters,
    quotes, backslashes and controls as ``_``) and ``filename*=`` the name itself (RFC 6266 / 5987)."""
    plain = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _today(runtime: Runtime, store: ReportStore, site: str | None) -> dt.date:
    return store.config.calendar(site or "").business_day(runtime.clock())


@router.get("/reports/{name}", summary="A report over business days (docs/reports.md)", tags=["reports"],
            responses=errors(404))
async def get_report(
    name: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    from_: Annotated[str | None, Query(alias="from", description="first business day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="last business day (inclusive), YYYY-MM-DD")] = None,
    site: Name = None,
    project: Name = None,
    queue: Name = None,
    team: Name = None,
    agent: Name = None,
    interval: Annotated[Literal["15m", "30m", "60m", "day"], Query()] = "day",
    by: Annotated[str | None, Query(description="failure-reasons: comma-separated of project, queue, "
                                    "team, agent (default project)")] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS, description="follow-ups, agent-log and failure-reasons: "
                                "at most this many rows (overdue first / by agent and time / by day); "
                                "`truncated` says when there were more")] = DEFAULT_ROWS,
) -> Response:
    if name not in REPORTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {name!r}; reports: {', '.join(REPORTS)}")
    store = _store(runtime)
    if site is not None:
        check_site(principal, site)
    today = _today(runtime, store, site)
    first = _day(from_, "from", today)
    last = _day(to, "to", first)
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"to ({last}) is before from ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_DAYS} business days "
                            f"per request, asked for {(last - first).days + 1}")
    by_dims = tuple(b.strip() for b in (by or "project").split(",") if b.strip())
    unknown = [b for b in by_dims if b not in BY]
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"by: unknown {unknown}; allowed: {', '.join(BY)}")
    if name == "failure-reasons" and "agent" in by_dims and (last - first).days + 1 > MAX_AGENT_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"by=agent: at most {MAX_AGENT_DAYS} business days (one row per agent, reason "
                            f"and day), asked for {(last - first).days + 1}")
    if name == "project-daily" and interval != "day" and (last - first).days + 1 > MAX_INTERVAL_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"interval={interval}: at most {MAX_INTERVAL_DAYS} business days, asked for "
                            f"{(last - first).days + 1} (use interval=day for longer ranges)")
    assert interval in INTERVALS
    q: dict[str, Any] = {"from": first, "to": last, "site": site, "project": project, "queue": queue,
                         "team": team, "agent": agent, "interval": interval, "by": by_dims,
                         "limit": limit if name in CAPPED else None}
    rows = await store.report(name, q, access_of(principal), runtime.clock())
    truncated = q["limit"] is not None and len(rows) > limit
    if truncated:
        rows = rows[:limit]
    params = {**q, "from": first.isoformat(), "to": last.isoformat(), "by": list(by_dims)}
    # the files are built in a worker thread: a 200,000-row XLSX takes seconds, which on the event
    # loop would stall every other request and WebSocket push of this process
    if format == "csv":
        return Response(await asyncio.to_thread(to_csv, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": attachment(f"{name}_{first}_{last}.csv")})
    if format == "xlsx":
        return Response(await asyncio.to_thread(to_xlsx, name, rows, {"report": name, **params}),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": attachment(f"{name}_{first}_{last}.xlsx")})
    return json_response({"report": name, "params": params, "definitions": describe(store.config.definitions),
                          "rows": rows, "truncated": truncated})


class NoteIn(BaseModel):
    site: str = Field(min_length=1, max_length=64)
    shift: str = Field(min_length=1, max_length=64)
    day: dt.date
    note: str = Field(min_length=1, max_length=10_000)


async def handover_doc(runtime: Runtime, principal: Principal, site: str, shift: str,
                       day: dt.date) -> dict[str, Any]:
    store = _store(runtime)
    cal = store.config.calendar(site)
    shifts = store.config.shifts_of(site)
    names = [s.name for s in shifts]
    if shift not in names:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"shift: {shift!r} is not a shift of site {site!r}; shifts: {', '.join(names)}")
    i = names.index(shift)
    start, end = shifts[i].bounds(cal, day)
    nxt, nday = (shifts[i + 1], day) if i + 1 < len(shifts) else (shifts[0], day + dt.timedelta(days=1))
    nbounds = nxt.bounds(cal, nday)
    access = access_of(principal)
    counters = await store.shift_counters(site, start, end, access)
    visible = [t for t in await store.transitions(site, start, end)
               if alert_visible(t, principal.scope, runtime.live.agent, runtime.live.floor)]
    floor = runtime.live.floor(site)
    view = filter_floor(floor, principal.scope) if floor is not None else None
    now = runtime.clock()
    return ho.handover(
        site=site, shift=shift, day=day, start=start.astimezone(cal.zone), end=end.astimezone(cal.zone),
        kpi_rows=ho.kpis(counters, store.config.definitions.for_site(site)),
        alerts=ho.shift_alerts(visible, start, end),
        projects=ho.behind_plan((view or {}).get("projects") or []),
        follow_ups=await store.follow_ups_due(site, nbounds[0], nbounds[1], access, now),
        note=await store.note(site, shift, day), next_shift=nxt.name,
        next_bounds=(nbounds[0].astimezone(cal.zone), nbounds[1].astimezone(cal.zone)))


@router.get("/handover", summary="The shift handover of a site (JSON or PDF)", tags=["reports"])
async def get_handover(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    site: Annotated[str, Query(max_length=64)],
    shift: Annotated[str, Query(max_length=64)],
    day: Annotated[str | None, Query(description="local date the shift starts on, YYYY-MM-DD")] = None,
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
    lang: Annotated[Literal["en", "zh"] | None, Query(description="default: the reader's language")] = None,
) -> Response:
    check_site(principal, site)
    store = _store(runtime)
    the_day = _day(day, "day", store.config.calendar(site).local(runtime.clock()).date())
    doc = await handover_doc(runtime, principal, site, shift, the_day)
    if format == "pdf":
        chosen = lang or await reader_language(request, runtime, principal)
        pdf = await asyncio.to_thread(handover_pdf, doc, chosen)  # off the event loop, as the exports
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": attachment(f"handover_{site}_{shift}_{the_day}.pdf")})
    return json_response(doc)


@router.post("/handover/note", status_code=status.HTTP_201_CREATED, tags=["reports"],
             responses=errors(400, 413),
             summary="Store the outgoing supervisor's note for a site's shift (shown to the incoming one)")
async def post_note(runtime: RuntimeDep, principal: WriterDep, body: Annotated[NoteIn, Body()]) -> Response:
    check_site(principal, body.site)
    store = _store(runtime)
    names = [s.name for s in store.config.shifts_of(body.site)]
    if body.shift not in names:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"shift: {body.shift!r} is not a shift "
                            f"of site {body.site!r}; shifts: {', '.join(names)}")
    saved = await store.save_note(body.site, body.shift, body.day, body.note, principal.name, runtime.clock())
    return json_response({"site": body.site, "shift": body.shift, "day": body.day.isoformat(), **saved},
                         status.HTTP_201_CREATED)
