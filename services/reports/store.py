"""The reports' database side: roll-ups written from the events table, report queries answered
from the roll-ups (SQL sums per group; every ratio then computed by the pure core).

Rebuild: whole business days are deleted and re-folded from ``events`` (read with a lookback so
that agents already logged in and calls already waiting are known), so late and corrected events
are taken in by re-folding the days they touch: :meth:`ReportStore.refresh` finds those days from
the events stored since its watermark (``report_state.events_pk``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Table, and_, delete, func, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from services.reports.core import SiteCalendar, fold
from services.reports.core import reports as core
from services.reports.core.config import Access, ReportConfig
from services.reports.core.rollup import COUNTERS, Rollups
from shared.db import is_sqlite
from shared.events import Event, InvalidEvent, decode_event
from shared.tables import (
    HANDOVER_NOTES,
    REPORT_CONTACT_WRAPS,
    REPORT_FOLLOW_UPS,
    REPORT_NOT_READY,
    REPORT_OUTCOMES,
    REPORT_SPANS,
    REPORT_STATE,
    ROLLUP_15M,
    ROLLUP_DAY,
    AlertTransitionRow,
    EventRow,
)

logger = logging.getLogger(__name__)
UTC = dt.UTC
LOOKBACK = dt.timedelta(hours=16)  # agent state and waiting calls known from this long before a day
DAY_TABLES = (ROLLUP_15M, ROLLUP_DAY, REPORT_NOT_READY, REPORT_OUTCOMES, REPORT_FOLLOW_UPS,
              REPORT_CONTACT_WRAPS, REPORT_SPANS)
INTERVALS = {"15m": 900, "30m": 1800, "60m": 3600, "day": 0}
_CHUNK = 5000
_LOCK_KEY = 0x464C5752  # "FLWR": the advisory lock serialising roll-up writes on PostgreSQL


def _contact(payload: str) -> str | None:
    if '"contact"' not in payload and '"customer"' not in payload:
        return None
    doc = orjson.loads(payload)
    value = doc.get("contact") or doc.get("customer") or (doc.get("outcome") or {}).get("contact")
    return str(value)[:128] if value else None


class ReportStore:
    def __init__(self, engine: AsyncEngine, config: ReportConfig) -> None:
        self.engine = engine
        self.config = config
        self._sqlite = is_sqlite(str(engine.url))

    # -- writing -------------------------------------------------------------------------------
    async def rebuild(self, first: dt.date, last: dt.date, *, chunk_days: int = 7) -> dict[str, int]:
        """Re-fold business days ``first`` .. ``last`` from the events table (in chunks of days)."""
        totals: dict[str, int] = defaultdict(int)
        day = first
        while day <= last:
            end = min(last, day + dt.timedelta(days=chunk_days - 1))
            for k, v in (await self._rebuild_chunk(day, end)).items():
                totals[k] += v
            day = end + dt.timedelta(days=1)
        return dict(totals)

    async def _rebuild_chunk(self, first: dt.date, last: dt.date) -> dict[str, int]:
        cals = [*self.config.calendars.values(), SiteCalendar()]
        start = min(c.day_start(first) for c in cals) - LOOKBACK
        end = max(c.day_start(last + dt.timedelta(days=1)) for c in cals)
        # SQLite keeps the events' local wall time: read a day wider each side, filter exactly below
        lo, hi = start - dt.timedelta(days=1), end + dt.timedelta(days=1)
        async with self.engine.connect() as conn:
            stmt = (select(EventRow.payload).where(EventRow.ts >= lo, EventRow.ts < hi)
                    .order_by(EventRow.ts, EventRow.pk))
            payloads = [p for (p,) in await conn.execute(stmt)]
        # decoding and folding are CPU work: off the event loop (the API keeps serving meanwhile)
        rollups, n, bad = await asyncio.to_thread(self._fold, payloads, start, end, first, last)
        counts = await self.write(rollups, first, last)
        counts["events"] = n
        counts["undecodable"] = bad
        return counts

    def _fold(self, payloads: list[str], start: dt.datetime, end: dt.datetime, first: dt.date,
              last: dt.date) -> tuple[Rollups, int, int]:
        events: list[Event] = []
        contacts: dict[tuple[str, str], str] = {}
        bad = 0
        for payload in payloads:
            try:
                ev = decode_event(payload.encode("utf-8"))
            except InvalidEvent:
                bad += 1  # stored events passed ingest's validation; a newer schema's may not
                continue
            if not (start <= ev.ts < end):
                continue
            events.append(ev)
            contact = _contact(payload)
            if contact:
                contacts[(ev.site, getattr(ev, "call", ""))] = contact
        events.sort(key=lambda e: e.ts)  # stable: (ts, pk) order within equal instants
        until = min(end, events[-1].ts) if events else end
        rollups = fold(events, calendars=self.config.calendar_map(), definitions=self.config.definitions,
                       contacts=contacts, until=until,
                       projects=self.config.project_map()).only_days(first, last)
        return rollups, len(events), bad

    async def write(self, r: Rollups, first: dt.date, last: dt.date) -> dict[str, int]:
        """Replace business days ``first`` .. ``last`` of every roll-up table with ``r``."""
        rows15 = [_rollup_row(k, v, bucket=True) for k, v in r.rows.items()]
        rowsd = [_rollup_row(k, v, bucket=False) for k, v in r.days().items()]
        nr = [{"site": k.site, "day": k.day, "bucket": _ts(k.bucket), "team": k.team, "agent": k.agent,
               "reason": k.reason, "seconds": v} for k, v in r.reasons.items()]
        oc = [{"site": k.site, "day": k.day, "queue": k.queue, "project": k.project, "team": k.team,
               "agent": k.agent, "code": k.code, "reason": k.reason, "success": k.success, "n": n}
              for k, n in r.outcomes.items()]
        fu = [{"site": f.site, "day": f.day, "call": f.call, "contact": f.contact, "queue": f.queue,
               "project": f.project, "team": f.team, "agent": f.agent, "opened_at": f.opened_at,
               "due_at": f.due_at, "code": f.code, "reason": f.reason} for f in r.follow_ups]
        cw = [{"site": s, "day": d, "contact": c, "call": call, "at": at} for s, d, c, call, at in r.wraps]
        sp = [{"site": s.site, "day": s.day, "agent": s.agent, "team": s.team, "state": s.state,
               "reason": s.reason, "start": s.start, "end": s.end, "call": s.call} for s in r.spans]
        plan = [(ROLLUP_15M, rows15), (ROLLUP_DAY, rowsd), (REPORT_NOT_READY, nr), (REPORT_OUTCOMES, oc),
                (REPORT_FOLLOW_UPS, fu), (REPORT_CONTACT_WRAPS, cw), (REPORT_SPANS, sp)]
        async with self.engine.begin() as conn:
            if not self._sqlite:  # one writer at a time (API workers refreshing at once); SQLite locks anyway
                await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            for table, rows in plan:
                await conn.execute(delete(table).where(table.c.day >= first, table.c.day <= last))
                for i in range(0, len(rows), _CHUNK):
                    await conn.execute(table.insert(), rows[i:i + _CHUNK])
        return {t.name: len(rows) for t, rows in plan}

    async def refresh(self) -> dict[str, Any]:
        """Fold what was stored since the watermark: re-fold every business day its events touch
        (late and corrected events included). Returns the days re-folded."""
        async with self.engine.connect() as conn:
            mark = (await conn.execute(select(REPORT_STATE.c.value)
                                       .where(REPORT_STATE.c.name == "events_pk"))).scalar()
            top = (await conn.execute(select(func.max(EventRow.pk)))).scalar()
            if top is None or (mark is not None and top <= mark):
                return {"days": [], "events_pk": mark}
            rows = await conn.execute(select(EventRow.site, EventRow.payload)
                                      .where(EventRow.pk > (mark or 0), EventRow.pk <= top))
            days: set[dt.date] = set()
            for site, payload in rows:
                try:
                    ev = decode_event(payload.encode("utf-8"))
                except InvalidEvent:
                    continue
                days.add(self.config.calendar(site).business_day(ev.ts))
        for first, last in _runs(sorted(days)):
            await self.rebuild(first, last)
        async with self.engine.begin() as conn:
            await conn.execute(delete(REPORT_STATE).where(REPORT_STATE.c.name == "events_pk"))
            await conn.execute(REPORT_STATE.insert().values(name="events_pk", value=top))
        return {"days": [d.isoformat() for d in sorted(days)], "events_pk": top}

    async def event_days(self) -> tuple[dt.date, dt.date] | None:
        async with self.engine.connect() as conn:
            lo, hi = (await conn.execute(select(func.min(EventRow.ts), func.max(EventRow.ts)))).one()
        if lo is None:
            return None
        # SQLite gives back naive wall times: a day of margin each side
        return (lo.date() - dt.timedelta(days=1), hi.date() + dt.timedelta(days=1))

    # -- reading -------------------------------------------------------------------------------
    async def report(self, name: str, q: dict[str, Any], access: Access,
                     now: dt.datetime) -> list[dict[str, Any]]:
        handler = getattr(self, "_" + name.replace("-", "_"))
        rows: list[dict[str, Any]] = await handler(q, access, now)
        return rows

    async def _sums(self, table: Table, dims: Sequence[str], q: dict[str, Any], access: Access,
                    *extra: ColumnElement[bool]) -> list[tuple[dict[str, Any], dict[str, float]]]:
        cols = [table.c[d] for d in dims]
        stmt = (select(*cols, *[func.sum(table.c[c]).label(c) for c in COUNTERS])
                .where(*_where(table, q, access), *extra).group_by(*cols))
        async with self.engine.connect() as conn:
            result = await conn.execute(stmt)
            out = []
            for row in result:
                m = row._mapping
                out.append(({d: m[d] for d in dims}, {c: float(m[c] or 0.0) for c in COUNTERS}))
        return out

    async def _project_daily(self, q: dict[str, Any], access: Access,
        now: dt.datetime) -> list[dict[str, Any]]:
        interval = q.get("interval") or "day"
        step = INTERVALS[interval]
        table = ROLLUP_DAY if step == 0 else ROLLUP_15M
        dims = ["site", "queue", "project", "day"] + ([] if step == 0 else ["bucket"])
        groups = await self._sums(table, dims, q, access, table.c.queue != "")
        merged: dict[tuple[Any, ...], dict[str, float]] = {}
        for d, c in groups:
            if step == 0:
                key: tuple[Any, ...] = (d["site"], d["queue"], d["project"] or None, d["day"].isoformat())
            else:
                b = _aware(d["bucket"])
                start = dt.datetime.fromtimestamp(int(b.timestamp()) // step * step, UTC)
                key = (d["site"], d["queue"], d["project"] or None,
                       start.astimezone(self.config.calendar(d["site"]).zone).isoformat())
            for k2 in (key, (key[0], None, None, key[3])):  # the queue row and the site-total row
                have = merged.setdefault(k2, defaultdict(float))
                for k, v in c.items():
                    have[k] += v
        period = "day" if step == 0 else "interval_start"
        rows = core.project_daily(
            [({"site": k[0], "queue": k[1], "project": k[2], period: k[3]}, c)
             for k, c in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][3], kv[0][1] is None,
                                                                  str(kv[0][1]), str(kv[0][2])))],
            self.config.definitions)
        return rows

    async def _staff_performance(self, q: dict[str, Any], access: Access,
                                 now: dt.datetime) -> list[dict[str, Any]]:
        groups = await self._sums(ROLLUP_DAY, ["site", "team", "agent"], q, access, ROLLUP_DAY.c.agent != "")
        t = REPORT_NOT_READY
        stmt = (select(t.c.site, t.c.team, t.c.agent, t.c.reason, func.sum(t.c.seconds))
                .where(*_where(t, q, access)).group_by(t.c.site, t.c.team, t.c.agent, t.c.reason))
        reasons: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
        async with self.engine.connect() as conn:
            for site, team, agent, reason, secs in await conn.execute(stmt):
                reasons[(site, team, agent)][reason] = float(secs)
        return core.staff_performance(groups, reasons, self.config.definitions, self.config.costs)

    async def _project_progress(self, q: dict[str, Any], access: Access,
                                now: dt.datetime) -> list[dict[str, Any]]:
        t = ROLLUP_DAY
        groups = await self._sums(t, ["project", "day"], q, access, t.c.project != "")
        last = q["to"]
        today = self.config.calendar(q.get("site") or "").business_day(now)
        seen_last = min(last, today)
        rows = core.project_progress([({"project": d["project"], "day": d["day"].isoformat()}, c)
                                      for d, c in groups], self.config.targets(), seen_last, last)
        return rows

    async def _agent_progress(self, q: dict[str, Any], access: Access,
        now: dt.datetime) -> list[dict[str, Any]]:
        t = ROLLUP_DAY
        groups = await self._sums(t, ["site", "project", "team", "agent"], q, access,
                                  t.c.project != "", t.c.agent != "")
        n_days = (q["to"] - q["from"]).days + 1
        return core.agent_progress(groups, self.config.targets(), n_days)

    async def _failure_reasons(self, q: dict[str, Any], access: Access,
        now: dt.datetime) -> list[dict[str, Any]]:
        t = REPORT_OUTCOMES
        by = [d for d in ("project", "queue", "team", "agent") if d in (q.get("by") or ("project",))]
        cols = [t.c.site, t.c.day, *[t.c[d] for d in by], t.c.code, t.c.reason]
        stmt = (select(*cols, func.sum(t.c.n)).where(*_where(t, q, access), not_(t.c.success.is_(True)))
                .group_by(*cols))
        items = []
        async with self.engine.connect() as conn:
            for row in await conn.execute(stmt):
                m = row._mapping
                dims = {"site": m["site"], "day": m["day"].isoformat(), **{d: m[d] or None for d in by},
                        "code": m["code"], "reason": m["reason"] or None}
                items.append((dims, int(row[-1])))
        return core.failure_reasons(items)

    async def _follow_ups(self, q: dict[str, Any], access: Access,
        now: dt.datetime, *extra: ColumnElement[bool]) -> list[dict[str, Any]]:
        f, w = REPORT_FOLLOW_UPS, REPORT_CONTACT_WRAPS
        later = (select(literal(1)).where(w.c.site == f.c.site, w.c.contact == f.c.contact,
                                          w.c.at > f.c.opened_at, w.c.call != f.c.call).exists())
        stmt = select(f).where(*_where(f, q, access), not_(later), *extra).order_by(f.c.due_at, f.c.id)
        if q.get("limit"):  # overdue first = earliest due first: the first rows are the ones to keep
            stmt = stmt.limit(q["limit"] + 1)
        async with self.engine.connect() as conn:
            items = [{str(k): v for k, v in r._mapping.items()} for r in await conn.execute(stmt)]
        for it in items:
            it.pop("id")
            it["day"] = it["day"].isoformat()
            it["due_at"], it["opened_at"] = _aware(it["due_at"]), _aware(it["opened_at"])
        return core.follow_ups(items, now)

    async def _agent_log(self, q: dict[str, Any], access: Access,
        now: dt.datetime) -> list[dict[str, Any]]:
        s = REPORT_SPANS
        stmt = select(s).where(*_where(s, q, access)).order_by(s.c.agent, s.c.start)
        if q.get("limit"):
            stmt = stmt.limit(q["limit"] + 1)
        async with self.engine.connect() as conn:
            items = [{str(k): v for k, v in r._mapping.items()} for r in await conn.execute(stmt)]
        for it in items:
            it.pop("id")
            it["day"] = it["day"].isoformat()
            zone = self.config.calendar(it["site"]).zone
            it["start"], it["end"] = _aware(it["start"]).astimezone(zone), _aware(it["end"]).astimezone(zone)
            it["reason"] = it["reason"] or None
            it["call"] = it["call"] or None
        return core.agent_log(items)


    # -- the shift handover's inputs ---------------------------------------------------------
    async def shift_counters(self, site: str, start: dt.datetime, end: dt.datetime,
                             access: Access) -> dict[str, float]:
        t = ROLLUP_15M
        q = {"from": (start - dt.timedelta(days=1)).date(), "to": (end + dt.timedelta(days=1)).date(),
             "site": site}
        stmt = select(*[func.sum(t.c[c]).label(c) for c in COUNTERS]).where(
            *_where(t, q, access), t.c.queue != "", t.c.bucket >= start, t.c.bucket < end)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one()._mapping
        return {c: float(row[c] or 0.0) for c in COUNTERS}

    async def transitions(self, site: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Wire alert transitions of ``site`` from a day before ``start`` to ``end``, oldest first."""
        a = AlertTransitionRow
        stmt = (select(a.payload).where(a.site == site, a.event_time >= start - dt.timedelta(days=1),
                                        a.event_time < end + dt.timedelta(hours=14)).order_by(a.pk))
        async with self.engine.connect() as conn:
            return [orjson.loads(p) for (p,) in await conn.execute(stmt)]

    async def follow_ups_due(self, site: str, start: dt.datetime, end: dt.datetime, access: Access,
                             now: dt.datetime) -> list[dict[str, Any]]:
        f = REPORT_FOLLOW_UPS
        q = {"from": dt.date(1970, 1, 1), "to": end.date(), "site": site}
        rows = await self._follow_ups(q, access, now, f.c.due_at >= start, f.c.due_at < end)
        return rows

    async def note(self, site: str, shift: str, day: dt.date) -> dict[str, Any] | None:
        n = HANDOVER_NOTES
        stmt = (select(n.c.note, n.c.author, n.c.at)
                .where(n.c.site == site, n.c.shift == shift, n.c.day == day)
                .order_by(n.c.id.desc()).limit(1))
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return {"note": row.note, "author": row.author, "at": _aware(row.at).isoformat()}

    async def save_note(self, site: str, shift: str, day: dt.date, note: str, author: str,
                        at: dt.datetime) -> dict[str, Any]:
        async with self.engine.begin() as conn:
            await conn.execute(HANDOVER_NOTES.insert().values(site=site, shift=shift, day=day, note=note,
                                                              author=author, at=at))
        return {"note": note, "author": author, "at": at.isoformat()}


def _where(table: Table, q: dict[str, Any], access: Access) -> list[ColumnElement[bool]]:
    c = table.c
    out: list[ColumnElement[bool]] = [c.day >= q["from"], c.day <= q["to"]]
    for dim, col in (("site", "site"), ("queue", "queue"), ("project", "project"), ("team", "team"),
                     ("agent", "agent")):
        if q.get(dim) and col in c:
            out.append(c[col] == q[dim])
    for allowed, col in ((access.sites, "site"), (access.teams, "team"), (access.queues, "queue")):
        if allowed is None:
            continue
        if col not in c:
            out.append(literal(False))  # the table does not name the restricted dimension: nothing
        else:
            out.append(c[col].in_(sorted(allowed)) if allowed else literal(False))
    return [and_(*out)]


def _rollup_row(k: Any, v: list[float], *, bucket: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"site": k.site, "day": k.day, "queue": k.queue, "project": k.project,
                           "team": k.team, "agent": k.agent}
    if bucket:
        row["bucket"] = _ts(k.bucket)
    row.update(zip(COUNTERS, v, strict=True))
    return row


def _ts(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, UTC)


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _runs(days: Iterable[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    run: list[dt.date] = []
    for d in days:
        if run and d - run[-1] > dt.timedelta(days=1):
            yield run[0], run[-1]
            run = []
        run.append(d)
    if run:
        yield run[0], run[-1]
