"""The reports' database side: roll-ups written from the events table, report queries answered
from the roll-ups (SQL sums per group; every ratio then computed by the pure core).

Rebuild: whole business days are deleted and re-folded from ``events`` (read with a lookback so
that agents already logged in and calls already waiting are known). :meth:`ReportStore.refresh`
folds the events stored since its watermark (``report_state.events_pk``): into the live fold it
kept from the previous refresh (``core/live.py``), writing only the rows they change, or — late
events, a restart, another writer — by re-folding the days they touch whole (docs/reports.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import math
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table, and_, bindparam, delete, func, literal, not_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql.elements import ColumnElement

from services.reports.core import reports as core
from services.reports.core.calendar import neighbour_days
from services.reports.core.config import Access, ReportConfig
from services.reports.core.live import Delta, LiveFold
from services.reports.core.rollup import (
    COUNTERS,
    FollowUp,
    OutcomeKey,
    ReasonKey,
    RollupKey,
    Rollups,
    Span,
    _Folder,
    event_order,
    new_folder,
)
from shared.db import is_sqlite, shown_url
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
# and a day's calls, agents' states and follow-ups finished from this long after it, where the
# events go on (a rebuild cut between two days must book what one across both books)
LOOKAHEAD = dt.timedelta(hours=16)
_WIDEST_OFFSET = dt.timedelta(hours=14)  # of any UTC offset
DAY_TABLES = (ROLLUP_15M, ROLLUP_DAY, REPORT_NOT_READY, REPORT_OUTCOMES, REPORT_FOLLOW_UPS,
              REPORT_CONTACT_WRAPS, REPORT_SPANS)
INTERVALS = {"15m": 900, "30m": 1800, "60m": 3600, "day": 0}
_CHUNK = 5000
_READ_PART = 5000  # rows a rebuild reads and decodes at a time
_LOCK_KEY = 0x464C5752  # "FLWR": the advisory lock serialising roll-up writes on PostgreSQL
_GEN = "rollups_gen"  # report_state: bumped by every whole-day write (a live fold checks it)
# A rebuild's chunk of days is cut shorter where it would hold more events than this (each held
# event costs ~0.6 KiB decoded; docs/reports.md, *Known limits*)
MAX_CHUNK_EVENTS = 500_000
REFRESH_EVENTS = 200_000  # new events a refresh reads at a time (by pk): after an outage, in steps
MAX_HELD = 200_000  # events a live fold holds back at most (settling); beyond, the oldest are fed
# A roll-up database of its own (shared.db.rollups_url): its tables are made here, not by Alembic.
# Bump this when a migration changes a roll-up table; such a file is then refused at start.
ROLLUPS_SCHEMA = 1
_SCHEMA = "rollups_schema"  # report_state of such a file: the ROLLUPS_SCHEMA it was made with
_PAIRED = "paired_to"  # report_state: an id of the events database (its own report_state holds it)


def _contact(payload: str) -> str | None:
    if '"contact"' not in payload and '"customer"' not in payload:
        return None
    try:
        doc = orjson.loads(payload)
    except ValueError:  # an extra field only orjson refuses (1e999): the call has no contact here
        return None
    if not isinstance(doc, dict):
        return None
    outcome = doc.get("outcome")
    value = (doc.get("contact") or doc.get("customer")
             or (outcome.get("contact") if isinstance(outcome, dict) else None))
    # a stored row: PostgreSQL text cannot hold NUL (an extra field is not checked at ingest)
    text = str(value).replace("\x00", "")[:128] if value else ""
    return text or None


@dataclass(slots=True)
class _Live:
    """The live fold of this process and what it knows of the database: the watermark and the
    roll-up generation it wrote at, and the id of every roll-up row of its days (to update in place)."""

    fold: LiveFold
    mark: int
    gen: int
    config: ReportConfig
    ids: dict[str, dict[Any, int]]
    tail_span_ids: dict[tuple[str, dt.date, str, dt.datetime], int]  # the open spans written, by key
    # Settling (``ReportStore.settle_s``): events read but not fed yet, being younger than the
    # settle time, as (pk, event), and the last pk read. ``mark``, the stored watermark, stays
    # below the oldest held event, so a restart reads them again (and re-folds their days whole).
    held: list[tuple[int, Event]] = field(default_factory=list)
    read_to: int = 0


class ReportStore:
    def __init__(self, engine: AsyncEngine, config: ReportConfig, *, rollups: AsyncEngine | None = None,
                 live: bool = True, settle_s: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        """``engine``: the database with the events, the alert transitions and the handover notes.
        ``rollups``: where the roll-up tables are (default: ``engine``); another SQLite file is
        prepared and paired with ``engine`` on first use (:func:`prepare_rollups`).
        ``live``: keep the fold between refreshes (False: every refresh re-folds whole days).
        ``settle_s``: the live fold holds back events younger than this (than ``clock``, epoch
        seconds, or the newest event read when that is ahead), so that one stored a little out of
        order (other partitions, other ingest batches) still comes before its frontier instead of
        forcing a whole-day re-fold; the roll-ups then run that far behind the newest event
        (docs/reports.md, "Settling")."""
        self.engine = engine
        self.rollups = rollups if rollups is not None else engine
        self.config = config
        self._sqlite = is_sqlite(str(self.rollups.url))
        self._prepared = self.rollups is engine
        self._live: _Live | None = None
        self._keep_live = live
        self.settle_s = settle_s
        self._clock = clock
        self.refresh_events = REFRESH_EVENTS
        self.max_events = MAX_CHUNK_EVENTS  # a refresh's re-folds are cut as a rebuild's (rebuild())
        self._behind: int | None = None

    async def _r(self) -> AsyncEngine:
        """The roll-ups' engine, its database prepared first if it is not the events' one."""
        if not self._prepared:
            await prepare_rollups(self.engine, self.rollups)
            self._prepared = True
        return self.rollups

    async def aclose(self) -> None:
        """Dispose of the roll-ups' engine when it is not the events' one."""
        if self.rollups is not self.engine:
            await self.rollups.dispose()

    # -- writing -------------------------------------------------------------------------------
    async def rebuild(self, first: dt.date, last: dt.date, *, chunk_days: int = 7,
                      max_events: int = MAX_CHUNK_EVENTS, top: int | None = None, keep: bool = False,
                      cutoff: float | None = None, reach_back: bool = False) -> dict[str, int]:
        """Re-fold business days ``first`` .. ``last`` from the events table in chunks of up to
        ``chunk_days`` days, fewer where a chunk would hold more than ``max_events`` events (never
        less than one day: a day is folded whole). ``top``: only events with ``pk <= top``;
        ``keep``: keep the last chunk's fold as the live fold (when no stored event lies beyond
        ``last``), holding back its events after ``cutoff`` (epoch seconds) to feed later; that
        chunk holds at least the last two days, even above ``max_events``. ``reach_back`` (a
        refresh's re-fold, whose new events may end a call or state of the day before ``first``):
        when the kept chunk starts at ``first`` and its lookback holds events, it is folded from
        the day before instead (``reached_back`` in the result)."""
        chunks: list[tuple[dt.date, dt.date]] = []
        day = first
        while day <= last:
            days = chunk_days
            while days > 1:
                n = await self._count(day, min(last, day + dt.timedelta(days=days - 1)))
                if n <= max_events:
                    break
                days = max(1, min(days - 1, days * max_events // n))
            end = min(last, day + dt.timedelta(days=days - 1))
            chunks.append((day, end))
            day = end + dt.timedelta(days=1)
        if keep and len(chunks) > 1 and chunks[-1][0] == last:
            # A fold kept live holds at least its last two days, whatever the bound: a call or state
            # open at its newest event began at most LOOKBACK (under a day) before it, on the last
            # day or the one before, and the live fold books its end into a day only if it writes it.
            a, b = chunks.pop(-2)
            before = last - dt.timedelta(days=1)
            chunks[-1:] = [(a, b - dt.timedelta(days=1)), (before, last)] if a < b else [(before, last)]
        totals: dict[str, int] = defaultdict(int)
        for a, b in chunks:
            kept = keep and b == last
            done = await self._rebuild_chunk(a, b, top, kept, cutoff, reach_back and kept and a == first)
            if done is None:  # something of the day before may be open: fold it too
                done = await self._rebuild_chunk(a - dt.timedelta(days=1), b, top, kept, cutoff)
                assert done is not None
                done["reached_back"] = 1
            for k, v in done.items():
                totals[k] += v
        return dict(totals)

    def _chunk_range(self, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """A chunk of business days: from the lookback before its first day's start (the earliest
        of every calendar) to its last day's end (the latest). Its fold reads on to the lookahead."""
        cals = self.config.every_calendar()
        start = min(c.day_start(first) for c in cals) - LOOKBACK
        return start, max(c.day_start(last + dt.timedelta(days=1)) for c in cals)

    async def _count(self, first: dt.date, last: dt.date) -> int:
        """The events a chunk would hold, from ``ix_events_ts`` alone (an index-only count; events
        stored after a refresh's ``top`` are counted too, which only makes chunks smaller). On
        SQLite, which keeps local wall times, the count of a range as long, shifted by the sites'
        UTC offset."""
        start, end = self._chunk_range(first, last)
        stmt = (select(func.count()).select_from(EventRow)
                .where(EventRow.ts >= start, EventRow.ts < end + LOOKAHEAD))
        async with self.engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def _rebuild_chunk(self, first: dt.date, last: dt.date, top: int | None,
                             keep: bool, cutoff: float | None,
                             reach_back: bool = False) -> dict[str, int] | None:
        start, end = self._chunk_range(first, last)
        # SQLite keeps the events' local wall time: read a day wider each side, filter exactly below
        lo, hi = start - dt.timedelta(days=1), end + LOOKAHEAD + dt.timedelta(days=1)
        stmt = (select(EventRow.pk, EventRow.payload).where(EventRow.ts >= lo)
                .order_by(EventRow.ts, EventRow.pk))
        if top is not None:
            stmt = stmt.where(EventRow.pk <= top)
        stmt = stmt.where(EventRow.ts < hi)
        read = _Read(start, end, end + LOOKAHEAD)
        async with self.engine.connect() as conn:
            if keep:  # anything stored beyond what is read lies beyond the range too (ix_events_ts)
                later = select(EventRow.pk).where(EventRow.ts >= hi).limit(1)
                if top is not None:
                    later = later.where(EventRow.pk <= top)
                read.beyond = (await conn.execute(later)).first() is not None
            # streamed and decoded a part at a time: only the decoded events of the range are held,
            # not every payload read as well (docs/reports.md, *Known limits*)
            result = await conn.stream(stmt.execution_options(yield_per=_READ_PART))
            async for part in result.partitions():
                # decoding is CPU work: off the event loop (the API keeps serving meanwhile)
                await asyncio.to_thread(read.add, part)
        if reach_back:
            starts = max(c.day_start(first) for c in self.config.every_calendar())
            if any(self._day(ev) < first for _, ev in read.events if ev.ts < starts):
                return None  # events in the lookback: rebuild() folds from the day before instead
        # a fold kept live holds back what has not settled yet (fed at a later refresh)
        cutoff = cutoff if keep and top is not None else None
        done = await asyncio.to_thread(self._fold, read, first, last, cutoff)
        live = None
        if keep and not done.beyond and top is not None:
            live = LiveFold(done.folder, first, start.timestamp(), done.until, done.contacts)
            live.last = done.last
            live.seed(done.tail)
        counts = await self.write(done.rollups, first, last, live=live, top=top)
        if live is not None and self._live is not None and self._live.fold is live:
            self._live.held = done.held
            self._live.read_to = top
        counts["events"] = done.n
        counts["undecodable"] = done.bad
        return counts

    def _fold(self, read: _Read, first: dt.date, last: dt.date, cutoff: float | None = None) -> _Folded:
        """``cutoff``: events after it are held back (``_Folded.held``), unless that would leave
        nothing to fold or events lie beyond the range (then no live fold is kept to feed them)."""
        events, contacts, bad, beyond, end = read.events, read.contacts, read.bad, read.beyond, read.stop
        # the floor's event order (floor/order.py: time, then the step of a call's life, then id), as
        # ``floorwatch stats`` and the live engine's figures are defined in; storage order does not count
        events.sort(key=lambda x: event_order(x[1]))
        held: list[tuple[int, Event]] = []
        if cutoff is not None and not beyond:
            cut = max(_settled(events, cutoff), len(events) - MAX_HELD)
            if cut:
                events, held = events[:cut], events[cut:]
        return self._fold_events([ev for _, ev in events], contacts, bad, beyond, held, end, first, last)

    def _fold_events(self, events: list[Event], contacts: dict[tuple[str, str], str], bad: int,
                     beyond: bool, held: list[tuple[int, Event]], end: dt.datetime, first: dt.date,
                     last: dt.date) -> _Folded:
        until = min(end, events[-1].ts) if events else end
        folder = new_folder(calendars=self.config.calendar_map(), definitions=self.config.definitions,
                            contacts=contacts, projects=self.config.project_map())
        for ev in events:
            folder.feed(ev)
        tail = folder.tail(until.timestamp())
        rollups = folder.with_tail(tail).only_days(first, last)
        return _Folded(rollups, len(events), bad, folder, tail, contacts, until.timestamp(), beyond, held,
                       event_order(events[-1]) if events else None)

    async def write(self, r: Rollups, first: dt.date, last: dt.date, *, live: LiveFold | None = None,
                    top: int | None = None) -> dict[str, int]:
        """Replace business days ``first`` .. ``last`` of every roll-up table with ``r``. ``live``:
        the fold ``r`` came from, kept as this process's live fold (its rows' ids read back)."""
        tail = live.tail_spans() if live is not None else set()
        # rows made a chunk at a time as they are inserted (a week's spans alone are a million rows)
        plan: list[tuple[Table, Iterable[dict[str, Any]]]] = [
            (ROLLUP_15M, (_row15(k, v) for k, v in r.rows.items())),
            (ROLLUP_DAY, (_rowd(k, v) for k, v in r.days().items())),
            (REPORT_NOT_READY, (_nr_row(k, v) for k, v in r.reasons.items())),
            (REPORT_OUTCOMES, (_oc_row(k, n) for k, n in r.outcomes.items())),
            (REPORT_FOLLOW_UPS, (_fu_row(f) for f in r.follow_ups)),
            (REPORT_CONTACT_WRAPS, (_cw_row(w) for w in r.wraps)),
            (REPORT_SPANS, (_sp_row(x) for x in r.spans if x not in tail))]
        counts: dict[str, int] = {}
        async with (await self._r()).begin() as conn:
            if not self._sqlite:  # one writer at a time (API workers refreshing at once); SQLite locks anyway
                await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            for table, rows in plan:
                await conn.execute(delete(table).where(table.c.day >= first, table.c.day <= last))
                counts[table.name] = await _insert(conn, table, rows)
            gen = await _bump_generation(conn)
            old = self._live
            if live is not None and top is not None:
                spans = [x for x in r.spans if x in tail]
                ids = await _insert_ids(conn, REPORT_SPANS, [_sp_row(x) for x in spans])
                self._live = _Live(live, top, gen, self.config, await _load_ids(conn, first, last),
                                   {_span_key(x): i for x, i in zip(spans, ids, strict=True)})
            elif old is not None and old.gen == gen - 1 and last < old.fold.first:
                old.gen = gen  # days before the live fold's: its rows are untouched
            else:
                self._live = None  # the live fold's rows may have been replaced: it starts over
        return counts

    async def refresh(self) -> dict[str, Any]:
        """Fold what was stored since the watermark. With a live fold from the previous refresh
        (same process, nothing else wrote meanwhile) and no event older than its frontier, the new
        events are fed to it and only the rows they change are written (``incremental``: how many
        events); otherwise every business day the new events touch is re-folded whole (``days``),
        late events included, and the last of them becomes the live fold. With ``settle_s``, the
        live fold is fed only events settled by :meth:`_cutoff`; younger ones wait (``held``).
        At most ``refresh_events`` new events (by ``events.pk``) are read at a time: after an
        outage the refresh goes on in steps of that many until it has caught up (``steps``)."""
        done = await self._refresh_step()
        steps = 1
        while self._behind is not None:  # more than one step's events were stored
            upto = self._behind
            more = await self._refresh_step()
            steps += 1
            if self._behind is not None and self._behind <= upto:
                self._behind = None  # the step did not move the reading on: the rest at the next refresh
            for key in ("new", "incremental", "events"):
                more[key] = more.get(key, 0) + done.get(key, 0)
            more["days"] = sorted(set(done["days"]) | set(more["days"]))
            done = more
        if steps > 1:
            done["steps"] = steps
        return done

    async def _refresh_step(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        self._behind = None
        # the clock is read before the table: an event stored after the read is younger than it
        now = self._clock()
        live = self._live
        async with (await self._r()).connect() as conn:
            mark = (await conn.execute(select(REPORT_STATE.c.value)
                                       .where(REPORT_STATE.c.name == "events_pk"))).scalar() or 0
        async with self.engine.connect() as conn:
            if live is not None and (live.mark != mark or live.config is not self.config):
                live = self._live = None  # another writer moved the watermark, or the rules changed
            since = mark if live is None else max(mark, live.read_to)  # held events: in memory
            top = (await conn.execute(select(func.max(EventRow.pk)))).scalar()
            if top is None or (top <= since and not (live is not None and live.held)):
                return {"days": [], "events_pk": mark, "incremental": 0}
            top = max(top, since)
            # the rest at the next step (``_behind``: the last pk this step read up to)
            self._behind = since + self.refresh_events if top > since + self.refresh_events else None
            top = min(top, since + self.refresh_events)
            rows = await conn.execute(select(EventRow.pk, EventRow.payload)
                                      .where(EventRow.pk > since, EventRow.pk <= top))
            new: list[tuple[int, Event]] = []
            contacts: dict[tuple[str, str], str] = {}
            for pk, payload in rows:
                try:
                    ev = decode_event(payload.encode("utf-8"))
                except InvalidEvent:
                    continue
                new.append((pk, ev))
                contact = _contact(payload)
                if contact:
                    contacts[(ev.site, getattr(ev, "call", ""))] = contact
        new.sort(key=lambda x: event_order(x[1]))  # the floor's event order, as a rebuild reads
        cutoff = self._cutoff(now, _middle([ev.ts.timestamp() for _, ev in new]))  # new: in time order
        if self._behind is not None and new:
            # catching up a backlog, the clock is far ahead of these events and would let all of
            # them in; the next step's events, stored out of order as these were, would then be
            # late ones (a whole-day re-fold at most steps). The newest read settles them instead
            cutoff = min(cutoff, new[-1][1].ts.timestamp() - self.settle_s)
        refold = self._days(new)
        if live is not None:
            lf = live.fold
            refold |= self._days(live.held)  # for a fall-back: read, not fed
            old = [x for x in new if x[1].ts.timestamp() < lf.window_start]
            fresh = [x for x in new if x[1].ts.timestamp() >= lf.window_start]
            if fresh and lf.is_late(fresh[0][1]):
                refold |= self._live_days(lf)  # a late event inside the live fold's window
                live = self._live = None
            else:
                refold = self._days(old)
                near = await self._neighbours(old, refold, since)
                refold |= near
                if near and max(near) >= lf.floor:  # a day the live fold holds (sites' calendars apart)
                    refold |= self._live_days(lf)
                    live = self._live = None
        if live is None:  # a late event, a restart, the first refresh, another writer, rules changed
            refold |= await self._neighbours(new, refold, since)
            return await self._refold_all(refold, top, len(new), cutoff, new)
        read = 0
        for first, last in _runs(sorted(refold)):  # old days only: outside the live fold's window
            read += (await self.rebuild(first, last, top=top)).get("events", 0)
        if self._live is not live:
            refold |= self._days([*live.held, *fresh])  # not the live fold's days: they may reach back
            return await self._refold_all(refold, top, len(new), cutoff, [*live.held, *fresh])
        t1 = time.perf_counter()
        waiting = sorted([*live.held, *fresh], key=lambda x: event_order(x[1]))
        cut = _settled(waiting, cutoff)
        if len(waiting) - cut > MAX_HELD:
            cut = len(waiting) - MAX_HELD  # bounded: the oldest go in even though not settled
        feed, held = [ev for _, ev in waiting[:cut]], waiting[cut:]
        # stored, and below it everything is folded: a restart reads the held events again
        stored = _mark_below(held, top)
        if not feed and not new:  # nothing new, and nothing held has settled yet: nothing to write
            live.held, live.read_to = held, top
            return {"days": [], "events_pk": mark, "incremental": 0, "held": len(held)}
        try:
            n = await asyncio.to_thread(live.fold.feed, feed, contacts)
            t2 = time.perf_counter()
            delta = await asyncio.to_thread(live.fold.take)
            t3 = time.perf_counter()
            applied = not delta.reopened and await self._apply(live, delta, stored)
        except BaseException:
            self._live = None  # fed but not written (or half): the next refresh re-folds the days
            raise
        if not applied:
            refold |= delta.reopened | self._live_days(live.fold) | self._days(waiting)
            return await self._refold_all(refold, top, len(new), cutoff, [])
        live.held, live.read_to = held, top
        t4 = time.perf_counter()
        floor = live.fold.floor
        if live.fold.prune() != floor:  # days dropped from the fold: their rows' ids too
            floor = live.fold.floor
            live.ids = {name: {k: i for k, i in m.items() if k.day >= floor} for name, m in live.ids.items()}
        return {"days": [d.isoformat() for d in sorted(refold)], "events_pk": stored, "new": len(new),
                "incremental": n, "held": len(held), "events": read, "rows_written": delta.size(),
                "seconds": {"read": round(t1 - t0, 4), "feed": round(t2 - t1, 4), "take": round(t3 - t2, 4),
                            "write": round(t4 - t3, 4), "prune": round(time.perf_counter() - t4, 4)}}

    async def _refold_all(self, refold: set[dt.date], top: int, new: int, cutoff: float,
                          unfolded: Sequence[tuple[int, Event]]) -> dict[str, Any]:
        """Re-fold every day of ``refold`` whole; the last becomes the live fold. ``unfolded``: the
        events read since the watermark when ``refold`` does not hold the live fold's days (a
        restart, the first refresh, another writer, a rules change), else empty: those days
        already reach back as far as anything open does."""
        self._live = None
        read = 0
        days = set(refold)
        for first, last in _runs(sorted(refold)):
            keep = self._keep_live and last == max(refold)
            # one of them may end a call or state of the day before the kept run (within the
            # lookahead a rebuild of that day reads): then that day is re-folded with the run
            ends = max(c.day_start(first) for c in self.config.every_calendar()) + LOOKAHEAD
            back = keep and any(ev.ts < ends for _, ev in unfolded)
            done = await self.rebuild(first, last, max_events=self.max_events, top=top, keep=keep,
                                      cutoff=cutoff, reach_back=back)
            read += done.get("events", 0)
            if done.get("reached_back"):
                days.add(first - dt.timedelta(days=1))
        live = self._live
        held = live.held if live is not None else []
        stored = _mark_below(held, top)
        await self._set_mark(stored)
        return {"days": [d.isoformat() for d in sorted(days)], "events_pk": stored, "new": new,
                "incremental": 0, "held": len(held), "events": read}

    def _cutoff(self, now: float, ahead: float) -> float:
        """Events at or before this (epoch seconds) have settled and may be fed to the live fold:
        ``settle_s`` before the clock (``now``) or before ``ahead``, the median time of the events
        just read, whichever is later. So events stamped ahead of this machine's clock (``up
        --simulate --time-scale``, an ACD's clock running fast) settle by their own time instead of
        waiting for the clock; and a few stamped far ahead of the rest (a device whose clock runs
        fast: ingest lets them in up to ``FLOORWATCH_MAX_FUTURE_SKEW_S`` ahead) do not count as the
        floor's time. As the newest event, they would have let everything before them settle at
        once, and the live fold's frontier would have jumped ahead with them: every event after a
        late one (a whole-day re-fold) until the clock caught up."""
        return max(now, ahead) - self.settle_s if self.settle_s > 0 else math.inf

    def _day(self, ev: Event) -> dt.date:
        return self.config.calendar(ev.site).business_day(ev.ts)

    def _days(self, events: Iterable[tuple[int, Event]]) -> set[dt.date]:
        """The business days of ``(pk, event)`` pairs."""
        return {self._day(ev) for _, ev in events}

    async def _neighbours(self, events: Sequence[tuple[int, Event]], days: set[dt.date],
                          since: int) -> set[dt.date]:
        """The days next to ``days`` that ``events`` (read since the watermark, folded again with
        ``days``) may change too, as a rebuild sees them (``core.calendar.neighbour_days``). Only
        days that held events before this read (``since``: the watermark): the rest have nothing to
        change, and a day that holds only events read now is one of ``days`` already."""
        candidates = neighbour_days((ev for _, ev in events), self.config.calendar, LOOKBACK, LOOKAHEAD)
        out = set()
        # SQLite keeps each event's wall time (as ``_count`` says): there the range is widened by
        # the largest UTC offset on both sides
        wide = _WIDEST_OFFSET if self.engine.dialect.name == "sqlite" else dt.timedelta(0)
        async with self.engine.connect() as conn:
            for day in sorted(candidates - days):
                start, end = self._chunk_range(day, day)
                start += LOOKBACK  # the day itself
                has = (select(EventRow.pk).where(EventRow.ts >= start - wide, EventRow.ts < end + wide,
                                                 EventRow.pk <= since).limit(1))
                if (await conn.execute(has)).first() is not None:
                    out.add(day)
        return out

    def _live_days(self, lf: LiveFold) -> set[dt.date]:
        """The days the live fold holds: its floor to the frontier's latest business day."""
        at = dt.datetime.fromtimestamp(lf.frontier, UTC)
        newest = max([self.config.calendar(s).business_day(at) for s in lf.sites] or [lf.floor])
        return {lf.floor + dt.timedelta(days=i) for i in range((newest - lf.floor).days + 1)}

    async def _set_mark(self, top: int) -> None:
        async with (await self._r()).begin() as conn:
            await conn.execute(delete(REPORT_STATE).where(REPORT_STATE.c.name == "events_pk"))
            await conn.execute(REPORT_STATE.insert().values(name="events_pk", value=top))
        if self._live is not None:
            self._live.mark = top

    async def _apply(self, live: _Live, d: Delta, top: int) -> bool:
        """Write ``d`` and move the watermark to ``top``, in one transaction; False (nothing
        written) when another writer changed the roll-ups or the watermark since ``live`` was."""
        async with (await self._r()).begin() as conn:
            if not self._sqlite:
                await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            state = dict((await conn.execute(select(REPORT_STATE.c.name, REPORT_STATE.c.value))).all())
            if state.get("events_pk", 0) != live.mark or state.get(_GEN, 0) != live.gen:
                return False
            ids = live.ids
            await _upsert(conn, ROLLUP_15M, ids[ROLLUP_15M.name], COUNTERS, d.rows, _row15, _same)
            await _upsert(conn, ROLLUP_DAY, ids[ROLLUP_DAY.name], COUNTERS, d.days, _rowd, _same)
            await _upsert(conn, REPORT_NOT_READY, ids[REPORT_NOT_READY.name], ("seconds",), d.reasons,
                          _nr_row, _one)
            await _upsert(conn, REPORT_OUTCOMES, ids[REPORT_OUTCOMES.name], ("n",), d.outcomes, _oc_row, _one)
            # a span written open last time is the same row now (same agent, day and start): its end moves
            was = live.tail_span_ids
            closed = []
            end_ids: list[int] = []
            ends: list[Sequence[Any]] = []
            for x in d.spans:
                rid = was.pop(_span_key(x), None)
                if rid is None:
                    closed.append(_sp_row(x))
                else:
                    end_ids.append(rid)
                    ends.append((x.end,))
            still: dict[tuple[str, dt.date, str, dt.datetime], int] = {}
            opened = []
            for x in d.tail_spans:
                rid = was.pop(_span_key(x), None)
                if rid is None:
                    opened.append(x)
                else:
                    still[_span_key(x)] = rid
                    end_ids.append(rid)
                    ends.append((x.end,))
            # an open state's share of a day the fold dropped stays as written (it ends at that
            # day's end and no longer changes); only shares of the days still held can be gone
            gone = [rid for key, rid in was.items() if key[1] >= live.fold.floor]
            for i in range(0, len(gone), _CHUNK):
                await conn.execute(delete(REPORT_SPANS).where(REPORT_SPANS.c.id.in_(gone[i:i + _CHUNK])))
            await _update_by_id(conn, REPORT_SPANS, ("end",), end_ids, ends)
            ids_opened = await _insert_ids(conn, REPORT_SPANS, [_sp_row(x) for x in opened])
            still.update((_span_key(x), i) for x, i in zip(opened, ids_opened, strict=True))
            live.tail_span_ids = still
            await _insert(conn, REPORT_FOLLOW_UPS, [_fu_row(f) for f in d.follow_ups])
            await _insert(conn, REPORT_CONTACT_WRAPS, [_cw_row(w) for w in d.wraps])
            await _insert(conn, REPORT_SPANS, closed)
            await conn.execute(update(REPORT_STATE).where(REPORT_STATE.c.name == "events_pk")
                               .values(value=top))
        live.mark = top
        return True

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
        async with (await self._r()).connect() as conn:
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
        async with (await self._r()).connect() as conn:
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
        async with (await self._r()).connect() as conn:
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
        async with (await self._r()).connect() as conn:
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
        async with (await self._r()).connect() as conn:
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
        async with (await self._r()).connect() as conn:
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


def _rowd(k: RollupKey, v: list[float]) -> dict[str, Any]:
    row: dict[str, Any] = {"site": k.site, "day": k.day, "queue": k.queue, "project": k.project,
                           "team": k.team, "agent": k.agent}
    row.update(zip(COUNTERS, v, strict=True))
    return row


def _row15(k: RollupKey, v: list[float]) -> dict[str, Any]:
    return {**_rowd(k, v), "bucket": _ts(k.bucket)}


def _nr_row(k: ReasonKey, v: float) -> dict[str, Any]:
    return {"site": k.site, "day": k.day, "bucket": _ts(k.bucket), "team": k.team, "agent": k.agent,
            "reason": k.reason, "seconds": v}


def _oc_row(k: OutcomeKey, n: int) -> dict[str, Any]:
    return {"site": k.site, "day": k.day, "queue": k.queue, "project": k.project, "team": k.team,
            "agent": k.agent, "code": k.code, "reason": k.reason, "success": k.success, "n": n}


def _fu_row(f: FollowUp) -> dict[str, Any]:
    return {"site": f.site, "day": f.day, "call": f.call, "contact": f.contact, "queue": f.queue,
            "project": f.project, "team": f.team, "agent": f.agent, "opened_at": f.opened_at,
            "due_at": f.due_at, "code": f.code, "reason": f.reason}


def _cw_row(w: tuple[str, dt.date, str, str, dt.datetime]) -> dict[str, Any]:
    site, day, contact, call, at = w
    return {"site": site, "day": day, "contact": contact, "call": call, "at": at}


def _same(v: list[float]) -> list[float]:
    return v


def _one(v: Any) -> tuple[Any]:
    return (v,)


def _span_key(s: Span) -> tuple[str, dt.date, str, dt.datetime]:
    return (s.site, s.day, s.agent, s.start)


def _sp_row(s: Span) -> dict[str, Any]:
    return {"site": s.site, "day": s.day, "agent": s.agent, "team": s.team, "state": s.state,
            "reason": s.reason, "start": s.start, "end": s.end, "call": s.call}


class _Read:
    """A rebuild chunk's events as they are read: each part of rows decoded at once and its
    payloads let go, only the events from ``start`` to before ``stop`` kept (as ``(pk, event)``);
    ``beyond``: one at or after ``end`` (the chunk's last day's end) was read."""

    def __init__(self, start: dt.datetime, end: dt.datetime, stop: dt.datetime) -> None:
        self.start, self.end, self.stop = start, end, stop
        self.events: list[tuple[int, Event]] = []
        self.contacts: dict[tuple[str, str], str] = {}
        self.bad = 0
        self.beyond = False  # an event at or after ``end`` was read

    def add(self, rows: Sequence[tuple[int, str]]) -> None:
        start, end, stop = self.start, self.end, self.stop
        for pk, payload in rows:
            try:
                ev = decode_event(payload.encode("utf-8"))
            except InvalidEvent:
                self.bad += 1  # stored events passed ingest's validation; a newer schema's may not
                continue
            if ev.ts >= end:
                self.beyond = True
            if not (start <= ev.ts < stop):
                continue
            self.events.append((pk, ev))
            contact = _contact(payload)
            if contact:
                self.contacts[(ev.site, getattr(ev, "call", ""))] = contact


@dataclass(slots=True)
class _Folded:
    rollups: Rollups  # of the rebuilt days, open states booked up to ``until``
    n: int
    bad: int
    folder: _Folder
    tail: Rollups
    contacts: dict[tuple[str, str], str]
    until: float
    beyond: bool  # events stored after the range were seen (so the fold cannot go on live)
    held: list[tuple[int, Event]]  # (pk, event) not folded yet: younger than the settle time
    last: tuple[float, int, str, str] | None  # the fold order of the last event folded


async def prepare_rollups(events: AsyncEngine, rollups: AsyncEngine) -> None:
    """Make the roll-up tables in ``rollups``, a database other than the events' one, if they are
    not there, and pair it with ``events``: the events database keeps a random id, and roll-ups
    that were folded from another events database (that file removed or replaced, this one kept:
    its watermark would then skip the new events) are cleared, so the next refresh folds every
    stored event again. A file made for another ``ROLLUPS_SCHEMA`` is refused."""
    async with rollups.begin() as conn:
        for table in (*DAY_TABLES, REPORT_STATE):
            await conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                await conn.execute(CreateIndex(index, if_not_exists=True))
    async with events.begin() as conn:
        await conn.execute(_insert_new(conn, _PAIRED, secrets.randbits(62)))
        ident = (await conn.execute(select(REPORT_STATE.c.value)
                                    .where(REPORT_STATE.c.name == _PAIRED))).scalar_one()
    async with rollups.begin() as conn:
        # a write first: the transaction holds the write lock before it reads
        await conn.execute(_insert_new(conn, _SCHEMA, ROLLUPS_SCHEMA))
        state = dict((await conn.execute(select(REPORT_STATE.c.name, REPORT_STATE.c.value))).all())
        if state[_SCHEMA] != ROLLUPS_SCHEMA:
            raise RuntimeError(
                f"the report roll-ups at {shown_url(str(rollups.url))} were made for another Floorwatch "
                f"(roll-up schema {state[_SCHEMA]}, this one needs {ROLLUPS_SCHEMA}): remove that database "
                "file; the next refresh folds the roll-ups again from the events")
        if state.get(_PAIRED) == ident:
            return
        if _PAIRED in state:
            logger.warning("report roll-ups at %s were folded from another events database: cleared; "
                           "the next refresh folds every stored event again", shown_url(str(rollups.url)))
        for table in DAY_TABLES:
            await conn.execute(delete(table))
        await conn.execute(delete(REPORT_STATE).where(REPORT_STATE.c.name != _SCHEMA))
        await conn.execute(REPORT_STATE.insert().values(name=_PAIRED, value=ident))


def _insert_new(conn: AsyncConnection, name: str, value: int) -> Any:
    """``report_state`` row ``name`` = ``value`` unless the row is there already."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(REPORT_STATE).values(name=name, value=value).on_conflict_do_nothing()


async def _bump_generation(conn: AsyncConnection) -> int:
    """Every whole-day write moves the roll-ups' generation: a live fold whose rows it may have
    replaced sees it and starts over."""
    gen = (await conn.execute(select(REPORT_STATE.c.value).where(REPORT_STATE.c.name == _GEN))).scalar()
    if gen is None:
        await conn.execute(REPORT_STATE.insert().values(name=_GEN, value=1))
        return 1
    await conn.execute(update(REPORT_STATE).where(REPORT_STATE.c.name == _GEN).values(value=gen + 1))
    return int(gen) + 1


async def _insert_ids(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``, returning their ids in order."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        res = await conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        return [int(i) for (i,) in res]
    # ids drawn from the table's sequence first, so which row got which is certain
    res = await conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                  "FROM generate_series(1, :n)"), {"n": len(rows)})
    ids = [int(i) for (i,) in res]
    await _insert(conn, table, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
    return ids


async def _insert(conn: AsyncConnection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert ``rows`` (all with the same columns), taking them a chunk at a time: on PostgreSQL
    one statement over arrays per chunk, else an executemany. Returns how many there were."""
    it = iter(rows)
    n = 0
    if conn.dialect.name != "postgresql":
        while part := list(itertools.islice(it, _CHUNK)):
            await conn.execute(table.insert(), part)
            n += len(part)
        return n
    stmt = None
    cols: list[str] = []
    while part := list(itertools.islice(it, _CHUNK * 4)):
        if stmt is None:
            cols = list(part[0])
            arrays = ", ".join(f"CAST(:a{j} AS {_pg_type(conn, table, c)}[])" for j, c in enumerate(cols))
            names = ", ".join(f'"{c}"' for c in cols)
            stmt = text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})")
        await conn.execute(stmt, {f"a{j}": [r[c] for r in part] for j, c in enumerate(cols)})
        n += len(part)
    return n


def _pg_type(conn: AsyncConnection, table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=conn.dialect))


async def _upsert(conn: AsyncConnection, table: Table, ids: dict[Any, int], values: Sequence[str],
                  items: dict[Any, Any], row: Callable[[Any, Any], dict[str, Any]],
                  vals: Callable[[Any], Sequence[Any]]) -> None:
    """Bring the rows of ``items``' keys to their new values: update columns ``values`` in place by
    id (``vals``: the value in that order), insert the new keys (``row``), delete the ones mapped
    to ``None``."""
    up_ids: list[int] = []
    up_vals: list[Sequence[Any]] = []
    ins: list[dict[str, Any]] = []
    ins_keys: list[Any] = []
    gone: list[int] = []
    for k, v in items.items():
        rid = ids.get(k)
        if v is None:
            if rid is not None:
                gone.append(ids.pop(k))
        elif rid is not None:
            up_ids.append(rid)
            up_vals.append(vals(v))
        else:
            ins.append(row(k, v))
            ins_keys.append(k)
    for i in range(0, len(gone), _CHUNK):
        await conn.execute(delete(table).where(table.c.id.in_(gone[i:i + _CHUNK])))
    await _update_by_id(conn, table, values, up_ids, up_vals)
    for k, rid in zip(ins_keys, await _insert_ids(conn, table, ins), strict=True):
        ids[k] = rid


async def _update_by_id(conn: AsyncConnection, table: Table, values: Sequence[str], ids: list[int],
                        rows: list[Sequence[Any]]) -> None:
    """Set columns ``values`` of the rows ``ids`` to ``rows`` (one sequence per row, in the order
    of ``values``): on PostgreSQL one statement over arrays, on SQLite an executemany (in-process,
    fast anyway)."""
    if not ids:
        return
    if conn.dialect.name != "postgresql":
        stmt = update(table).where(table.c.id == bindparam("_id")).values(
            {c: bindparam("v_" + c) for c in values})
        await conn.execute(stmt, [{"_id": i, **{"v_" + c: x for c, x in zip(values, r, strict=True)}}
                                  for i, r in zip(ids, rows, strict=True)])
        return
    sets = ", ".join(f'"{c}" = v."{c}"' for c in values)
    arrays = ", ".join(f"CAST(:a{i} AS {_pg_type(conn, table, c)}[])" for i, c in enumerate(values))
    cols = ", ".join(f'"{c}"' for c in values)
    stmt_pg = text(f'UPDATE {table.name} AS t SET {sets} FROM unnest(CAST(:ids AS int8[]), {arrays}) '
                   f'AS v(id, {cols}) WHERE t.id = v.id')
    step = _CHUNK * 4
    for i in range(0, len(ids), step):
        params: dict[str, Any] = {"ids": ids[i:i + step]}
        for j, column in enumerate(zip(*rows[i:i + step], strict=True)):
            params[f"a{j}"] = list(column)
        await conn.execute(stmt_pg, params)


async def _load_ids(conn: AsyncConnection, first: dt.date, last: dt.date) -> dict[str, dict[Any, int]]:
    """The id of every keyed roll-up row of days ``first`` .. ``last``, by its fold key."""
    out: dict[str, dict[Any, int]] = {}
    for table in (ROLLUP_15M, ROLLUP_DAY, REPORT_NOT_READY, REPORT_OUTCOMES):
        c = table.c
        res = await conn.execute(select(table).where(c.day >= first, c.day <= last))
        ids: dict[Any, int] = {}
        for r in res:
            m = r._mapping
            if table is ROLLUP_15M or table is ROLLUP_DAY:
                bucket = int(_aware(m["bucket"]).timestamp()) if table is ROLLUP_15M else 0
                key: Any = RollupKey(m["site"], m["day"], bucket, m["queue"], m["project"], m["team"],
                                     m["agent"])
            elif table is REPORT_NOT_READY:
                key = ReasonKey(m["site"], m["day"], int(_aware(m["bucket"]).timestamp()), m["team"],
                                m["agent"], m["reason"])
            else:
                key = OutcomeKey(m["site"], m["day"], m["queue"], m["project"], m["team"], m["agent"],
                                 m["code"], m["reason"], m["success"])
            ids[key] = m["id"]
        out[table.name] = ids
    return out


def _ts(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, UTC)


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _mark_below(held: Sequence[tuple[int, Event]], top: int) -> int:
    """The watermark to store: every event at or below it is folded. Below the oldest held event
    (``(pk, event)`` pairs read but not fed), so that a restart reads the held ones again."""
    return min(pk for pk, _ in held) - 1 if held else top


def _middle(times: Sequence[float]) -> float:
    """The median of event times in ascending order (the lower of two middles; -inf for none)."""
    return times[(len(times) - 1) // 2] if times else -math.inf


def _settled(events: Sequence[tuple[int, Event]], cutoff: float) -> int:
    """How many of ``events`` (in event order) are at or before ``cutoff``: a prefix."""
    lo, hi = 0, len(events)
    while lo < hi:
        mid = (lo + hi) // 2
        if events[mid][1].ts.timestamp() <= cutoff:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _runs(days: Iterable[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    run: list[dt.date] = []
    for d in days:
        if run and d - run[-1] > dt.timedelta(days=1):
            yield run[0], run[-1]
            run = []
        run.append(d)
    if run:
        yield run[0], run[-1]
