"""The live fold (``ReportStore.refresh`` keeping its fold between refreshes) against whole-day
rebuilds, on SQLite and PostgreSQL: a simulated floor stored and refreshed in many small steps —
across a business-day boundary, with a late event in the middle, the store object restarted, a
rules change — then every roll-up table compared row for row with one ``rebuild`` of the same days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from floorwatch.sim import FloorSimulation, default_config
from services.reports import store as store_module
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig
from services.reports.store import DAY_TABLES, ReportStore
from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallWrapped,
    Event,
    Outcome,
)
from shared.tables import EventRow
from tests.support.reportdb import report_store, store_events

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
# the business day starts at 10:00 local: the simulated morning crosses from one day into the next
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai", 600)})


def sim_events() -> list[Event]:
    sim = FloorSimulation(default_config(), seed=11, start=START, run_id="lv")
    return sim.events_until(START + dt.timedelta(hours=4))


def contacts(events: list[Event]) -> dict[str, dict[str, str]]:
    """Every third call names a customer (20 customers: later calls close earlier follow-ups)."""
    calls = sorted({e.call for e in events if hasattr(e, "call")})
    return {c: {"contact": f"cust-{i % 20}"} for i, c in enumerate(calls) if i % 3 == 0}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReportStore]:
    async with report_store(request.param, tmp_path, CONFIG) as s:
        yield s


async def tables(store: ReportStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up table's rows without their ids, sorted (timestamps as UTC instants)."""
    out = {}
    async with store.rollups.connect() as conn:
        for t in DAY_TABLES:
            cols = [c for c in t.c if c.name != "id"]
            rows = []
            for r in await conn.execute(select(*cols)):
                rows.append(tuple(v.timestamp() if isinstance(v, dt.datetime) and v.tzinfo is not None
                                  else v.replace(tzinfo=dt.UTC).timestamp() if isinstance(v, dt.datetime)
                                  else v for v in r))
            out[t.name] = sorted(rows, key=repr)
    return out


async def same_as_rebuild(store: ReportStore, stored: list[Event]) -> None:
    days = {CONFIG.calendar(e.site).business_day(e.ts) for e in stored}
    live = await tables(store)
    await store.rebuild(min(days), max(days))
    rebuilt = await tables(store)
    for name in live:
        assert rebuilt[name], name  # every table has rows: the comparison compares something
        assert live[name] == rebuilt[name], name


async def test_refreshing_in_small_steps_equals_one_rebuild(store: ReportStore) -> None:
    events = sim_events()
    extra = contacts(events)
    assert len(events) > 2000
    # the late one: an agent-state change from early on, held back and stored mid-way
    late = next(e for e in events[300:] if isinstance(e, AgentStateChanged))
    steps = [events[i:i + 70] for i in range(0, len(events), 70)]
    results: list[dict[str, Any]] = []
    stored: list[Event] = []
    for i, step in enumerate(steps):
        batch = [e for e in step if e is not late]
        if i == len(steps) // 2:
            batch.append(late)  # stored long after its time, in the middle of the day
        if i == len(steps) // 3:
            await same_as_rebuild(store, stored)  # mid-way too (the rebuild replaces the live fold)
        if i == 2 * len(steps) // 3:
            store = ReportStore(store.engine, CONFIG, rollups=store.rollups)  # a restart: no fold in memory
        await store_events(store.engine, batch, extra, offset0=10 * i * 70)
        stored += batch
        results.append(await store.refresh())
    # memory: the first business day is closed (nothing open reaches back to it): dropped
    days = sorted({CONFIG.calendar(e.site).business_day(e.ts) for e in events})
    assert len(days) == 2  # the steps crossed a business-day boundary
    live = store._live
    assert live is not None and live.fold.floor == days[1]
    assert {k.day for k in live.fold.folder.out.rows} == {days[1]}
    assert all(k.day == days[1] for m in live.ids.values() for k in m)
    await same_as_rebuild(store, stored)
    # the paths taken: whole days only where they had to be, the rest fed to the live fold
    mid, third, restart = len(steps) // 2, len(steps) // 3, 2 * len(steps) // 3
    refolded = [i for i, r in enumerate(results) if r["incremental"] == 0]
    assert refolded == [0, third, mid, restart]
    assert results[mid]["days"] == [d.isoformat() for d in days]  # the late event: its day and after
    for i, r in enumerate(results):
        if i not in refolded:
            assert r["incremental"] == len(steps[i]) - (steps[i].count(late)), i
            assert r["days"] == []


async def test_a_rules_change_or_another_writer_refolds(store: ReportStore) -> None:
    events = sim_events()[:900]
    extra = contacts(events)
    await store_events(store.engine, events[:300], extra)
    assert (await store.refresh())["incremental"] == 0
    await store_events(store.engine, events[300:600], extra, offset0=300)
    assert (await store.refresh())["incremental"] == 300
    # new rules: the fold's definitions no longer hold, the days are re-folded with the new ones
    store.config = dataclasses.replace(CONFIG)
    await store_events(store.engine, events[600:700], extra, offset0=600)
    assert (await store.refresh())["incremental"] == 0
    # another process rebuilt a day meanwhile: the live fold's rows were replaced under it
    other = ReportStore(store.engine, store.config, rollups=store.rollups)
    day = CONFIG.calendar("bj-01").business_day(events[0].ts)
    await other.rebuild(day, day)
    await store_events(store.engine, events[700:800], extra, offset0=700)
    assert (await store.refresh())["incremental"] == 0
    await store_events(store.engine, events[800:], extra, offset0=800)
    assert (await store.refresh())["incremental"] == 100
    await same_as_rebuild(store, events)


async def test_a_wrap_with_an_unknown_call_is_taken_like_a_rebuild(store: ReportStore) -> None:
    """Wraps whose calls the fold never saw (legless: booked at the wrap) on both sides of a
    refresh; the comparison must hold for them too."""
    events = sim_events()[:1500]
    t = events[-1].ts
    odd = [CallWrapped(v=1, id=f"odd-{i}", source="t", ts=t + dt.timedelta(seconds=i), site="bj-01",
                       call=f"ghost-{i}", agent="cj001") for i in range(3)]
    await store_events(store.engine, events, contacts(events))
    await store.refresh()
    await store_events(store.engine, odd, offset0=1000)
    assert (await store.refresh())["incremental"] == 3
    await same_as_rebuild(store, [*events, *odd])


async def test_an_event_days_old_refolds_its_day_only_and_the_live_fold_goes_on(store: ReportStore) -> None:
    events = sim_events()[:1500]
    extra = contacts(events)
    await store_events(store.engine, events[:500], extra)
    await store.refresh()
    await store_events(store.engine, events[500:1000], extra, offset0=500)
    assert (await store.refresh())["incremental"] == 500
    # an agent's morning three days ago, delivered now, with the next live events
    then = events[0].ts - dt.timedelta(days=3)
    old = [AgentLogin(v=1, id="old-1", source="t", ts=then, site="bj-01", agent="zz9", team="t9"),
           AgentLogout(v=1, id="old-2", source="t", ts=then + dt.timedelta(hours=1), site="bj-01",
                       agent="zz9")]
    await store_events(store.engine, [*old, *events[1000:1200]], extra, offset0=1000)
    done = await store.refresh()
    old_day = CONFIG.calendar("bj-01").business_day(then)
    assert done["days"] == [old_day.isoformat()] and done["incremental"] == 200
    await store_events(store.engine, events[1200:], extra, offset0=1300)
    assert (await store.refresh())["incremental"] == 300
    await same_as_rebuild(store, [*old, *events])


# -- settling: events stored a little out of order ---------------------------------------------

SETTLE_S = 60.0


def arrivals(events: list[Event], seed: int = 5, late_s: float = 20.0) -> list[tuple[float, Event]]:
    """Each event with the time it is stored: its own time plus up to ``late_s`` (several
    partitions, ingest batches), so events are stored out of their time order across refreshes."""
    rng = random.Random(seed)
    return sorted(((e.ts.timestamp() + rng.uniform(0.0, late_s), e) for e in events), key=lambda x: x[0])


async def rebuilt_elsewhere(kind: str, tmp_path: Path, events: list[Event],
                            extra: dict[str, dict[str, str]]) -> dict[str, list[tuple[Any, ...]]]:
    """The roll-up tables of one rebuild of ``events`` in a database of its own (``tmp_path``: an
    existing directory other than the first database's)."""
    async with report_store(kind, tmp_path, CONFIG) as other:
        await store_events(other.engine, events, extra)
        days = {CONFIG.calendar(e.site).business_day(e.ts) for e in events}
        await other.rebuild(min(days), max(days))
        return await tables(other)


@pytest.mark.parametrize("settle_s", [0.0, SETTLE_S])
async def test_events_stored_out_of_order_settle_instead_of_refolding(
        store: ReportStore, settle_s: float, tmp_path: Path) -> None:
    events = sim_events()
    extra = contacts(events)
    now = [0.0]
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=settle_s, clock=lambda: now[0])
    kind = "sqlite" if store._sqlite else "postgres"
    mid = tmp_path / "mid"
    mid.mkdir()
    came = arrivals(events)
    step_s = 120.0
    t = came[0][0]
    stored: list[Event] = []
    results: list[dict[str, Any]] = []
    i = 0
    while i < len(came):
        t = min(t + step_s, came[-1][0])  # the last step ends with the last arrival
        batch = []
        while i < len(came) and came[i][0] <= t:
            batch.append(came[i][1])
            i += 1
        now[0] = t
        await store_events(store.engine, batch, extra, offset0=len(stored))
        stored += batch
        results.append(await store.refresh())
        if len(results) == 40:  # mid-way: the rows are a rebuild of exactly what has settled
            fed = [e for e in stored if e.ts.timestamp() <= t - settle_s]
            assert results[-1]["held"] == len(stored) - len(fed)
            assert len(fed) < len(stored) or not settle_s  # something is held back indeed
            assert await tables(store) == await rebuilt_elsewhere(kind, mid, fed, extra)
    refolded = [k for k, r in enumerate(results) if r["incremental"] == 0 and r["new"]]
    if settle_s == 0:
        # the premise: without settling, the late arrivals force whole-day re-folds again and again
        assert len(refolded) > 10, refolded
        return
    assert refolded == [0]  # the first refresh only: no fold in memory yet
    assert results[-1]["held"] > 0
    # the floor goes quiet: later refreshes feed what was held once it has settled, nothing is left out
    now[0] = t + settle_s + 25.0
    last = await store.refresh()
    assert last["incremental"] == results[-1]["held"] and last["held"] == 0 and last["new"] == 0
    assert last["events_pk"] == len(events)  # the watermark now covers every stored event
    await same_as_rebuild(store, stored)


async def test_a_restart_reads_held_events_again(store: ReportStore) -> None:
    events = sim_events()[:1200]
    extra = contacts(events)
    now = [events[800].ts.timestamp()]
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=SETTLE_S, clock=lambda: now[0])
    await store_events(store.engine, events[:900], extra)
    first = await store.refresh()
    held = first["held"]
    assert held > 0 and first["events_pk"] < 900  # the watermark stays below the held events
    # a restart: the held events were never written; the new process must fold them
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=SETTLE_S, clock=lambda: now[0])
    now[0] = events[-1].ts.timestamp() + SETTLE_S + 1
    await store_events(store.engine, events[900:], extra, offset0=900)
    done = await store.refresh()
    assert done["incremental"] == 0 and done["new"] == 300 + held  # re-read, re-folded whole
    await same_as_rebuild(store, events)


async def test_what_a_live_fold_holds_back_is_bounded(store: ReportStore,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A settle time longer than what is stored: beyond ``MAX_HELD`` the oldest are fed anyway."""
    monkeypatch.setattr(store_module, "MAX_HELD", 50)
    events = sim_events()[:900]
    extra = contacts(events)
    now = [events[0].ts.timestamp()]
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=1e6, clock=lambda: now[0])
    await store_events(store.engine, events[:600], extra)
    first = await store.refresh()
    assert first["incremental"] == 0 and first["held"] == 50  # the whole-day fold holds 50 at most
    await store_events(store.engine, events[600:], extra, offset0=600)
    done = await store.refresh()
    assert done["incremental"] == 300 and done["held"] == 50
    now[0] = events[-1].ts.timestamp() + 1e6
    assert (await store.refresh())["incremental"] == 50
    await same_as_rebuild(store, events)


async def test_events_ahead_of_the_clock_settle_by_their_own_time(store: ReportStore) -> None:
    """A floor simulated faster than life (or an ACD whose clock runs fast) stamps events ahead of
    this machine's clock: they settle ``settle_s`` behind the median time of the events each
    refresh reads, not wait for the clock."""
    events = sim_events()
    extra = contacts(events)
    behind = events[0].ts.timestamp() - 3600  # this machine's clock, an hour behind the events
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=SETTLE_S, clock=lambda: behind)
    steps = [events[i:i + 200] for i in range(0, len(events), 200)]
    results = []
    for i, step in enumerate(steps):
        await store_events(store.engine, step, extra, offset0=200 * i)
        results.append(await store.refresh())
        times = sorted(e.ts.timestamp() for e in step)
        middle = times[(len(times) - 1) // 2]  # the median of what the refresh read (the lower one)
        assert results[-1]["held"] == sum(1 for e in events[:200 * i + len(step)]
                                         if e.ts.timestamp() > middle - SETTLE_S), i
    assert [k for k, r in enumerate(results) if r["incremental"] == 0] == [0]


async def test_an_event_stamped_far_ahead_does_not_unsettle_the_rest(store: ReportStore) -> None:
    """Events stored up to the settle time out of order, and among them one stamped 5 minutes ahead
    of the moment it is stored (a device whose clock runs fast; ingest lets such events in up to
    FLOORWATCH_MAX_FUTURE_SKEW_S ahead). It waits for its time; the others settle as before, with
    no whole-day re-fold after the first refresh (had it counted as the floor's newest time,
    everything before it would have been fed at once, and the next refreshes re-folded the day);
    in the end the tables equal a rebuild."""
    events = sim_events()
    extra = contacts(events)
    came = arrivals(events, late_s=SETTLE_S)
    third = len(came) // 3
    at = came[third][0]
    pick = next(e for _, e in came[third:] if isinstance(e, AgentStateChanged))
    ahead = msgspec.structs.replace(pick, id=pick.id + "-ahead",
                                    ts=dt.datetime.fromtimestamp(at + 300.0, dt.UTC))
    came.insert(third + 1, (at, ahead))
    now = [0.0]
    store = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=SETTLE_S, clock=lambda: now[0])
    t, i, stored, results = came[0][0], 0, [], []
    while i < len(came):
        t = min(t + 120.0, came[-1][0])
        batch = []
        while i < len(came) and came[i][0] <= t:
            batch.append(came[i][1])
            i += 1
        now[0] = t
        await store_events(store.engine, batch, extra, offset0=len(stored))
        stored += batch
        results.append(await store.refresh())
    assert [k for k, r in enumerate(results) if r["incremental"] == 0 and r["new"]] == [0]
    now[0] = t + SETTLE_S + 400.0
    await store.refresh()
    await same_as_rebuild(store, stored)


async def test_a_refresh_after_an_outage_reads_in_bounded_steps(store: ReportStore) -> None:
    """More new events than ``refresh_events``: one refresh reads them that many at a time (first
    a whole-day fold, then the live fold fed step by step) and ends caught up, equal to a rebuild."""
    events = sim_events()
    extra = contacts(events)
    await store_events(store.engine, events[:1000], extra)
    store.refresh_events = 300
    first = await store.refresh()
    assert first["steps"] == 4 and first["events_pk"] == 1000
    assert first["incremental"] == 100 + 300 * 2  # after the first step's fold, the live fold is fed
    await store_events(store.engine, events[1000:], extra, offset0=1000)
    behind = len(events) - 1000
    done = await store.refresh()
    assert done["steps"] == -(-behind // 300) and done["incremental"] == behind and done["days"] == []
    assert done["events_pk"] == len(events)
    await same_as_rebuild(store, events)


async def test_a_backlog_stored_out_of_order_is_caught_up_without_refolding(store: ReportStore) -> None:
    """After an outage the clock is far ahead of the backlog, so every event of a step had settled
    and all were fed; the next step's first events, stored out of order as all of them are, were
    then late ones: a whole-day re-fold at most steps (5 of 9 in a review's run). While behind, the
    newest event read settles a step's events instead of the clock."""
    events = sim_events()
    stored = [e for _, e in arrivals(events, late_s=20.0)]  # stored up to 20 s after their time
    now = stored[-1].ts.timestamp() + 3600  # the refresher was down for an hour
    live = ReportStore(store.engine, CONFIG, rollups=store.rollups, settle_s=SETTLE_S, clock=lambda: now)
    live.refresh_events = 300
    extra = contacts(events)
    await store_events(live.engine, stored[:300], extra)
    await live.refresh()
    await store_events(live.engine, stored[300:], extra, offset0=300)
    done = await live.refresh()
    assert done["steps"] == -(-(len(stored) - 300) // 300)
    assert done["days"] == [] and done["incremental"] == len(stored) - 300
    await same_as_rebuild(live, events)


@pytest.mark.parametrize("how", ["cut", "restart", "gap"])
async def test_calls_open_across_the_day_boundary_are_booked_when_the_fold_starts_after_it(
        store: ReportStore, how: str) -> None:
    """The fold kept live starts at its first day: a call offered on the day before and finished
    later is booked into a day it does not write. Two ways to get such a fold, just after the
    business day turned: a re-fold of both days cut by ``max_events`` (the kept chunk only the new
    day), and a restart whose first refresh reads only the new day's events (``gap``: checked
    right then, for the calls that ended before it). Either way the calls open at the boundary
    must end up in their day, equal to a rebuild, and the live fold goes on without re-folding."""
    events = sim_events()
    extra = contacts(events)
    turn = START + dt.timedelta(hours=2)  # 10:00 local: the business day turns
    before = [e for e in events if e.ts < turn]
    just_after = [e for e in events if turn <= e.ts < turn + dt.timedelta(minutes=2)]
    rest = [e for e in events if e.ts >= turn + dt.timedelta(minutes=2)]
    day = CONFIG.calendar("bj-01").business_day
    assert {day(e.ts) for e in before} == {day(START)} and {day(e.ts) for e in just_after} == {day(turn)}
    # some calls queued before the turn end after the first refresh's events: the case at issue
    open_calls = {e.call for e in before if hasattr(e, "call")} - {
        e.call for e in before if isinstance(e, CallWrapped)}
    assert open_calls & {e.call for e in rest if isinstance(e, CallWrapped)}
    if how == "cut":
        store.max_events = len(before) // 2  # both days together are over it: cut into two chunks
        await store_events(store.engine, before + just_after, extra)
        assert (await store.refresh())["days"] == [day(START).isoformat(), day(turn).isoformat()]
    else:
        await store_events(store.engine, before, extra)
        await store.refresh()
        await store_events(store.engine, just_after, extra, offset0=len(before))
        store = ReportStore(store.engine, CONFIG, rollups=store.rollups)  # a restart
        # its new events are all of the new day, but end calls of the day before: both re-folded
        assert (await store.refresh())["days"] == [day(START).isoformat(), day(turn).isoformat()]
        if how == "gap":  # what ended between the last refresh and the restart is there at once
            await same_as_rebuild(store, before + just_after)
            return
    stored = before + just_after
    refolds = []
    i = 0
    while i < len(rest):
        j = min(i + 200, len(rest))
        while j < len(rest) and rest[j].ts == rest[j - 1].ts:
            j += 1  # a second's events in one step: one stored later comes first in the fold order
        await store_events(store.engine, rest[i:j], extra, offset0=len(stored))
        stored += rest[i:j]
        if (await store.refresh())["incremental"] == 0:
            refolds.append(i)
        i = j
    await same_as_rebuild(store, stored)
    assert refolds == []  # the kept fold held both days: the live fold went on


async def test_an_agent_in_one_state_for_two_days_does_not_make_every_refresh_refold(
        store: ReportStore) -> None:
    """The live fold forgets state older than 32 h (KEEP_S) when it drops closed days, yet an agent
    can stay in one state longer (logged in over a weekend). The open state's share of a dropped
    day was written while the fold held that day and does not change: booking it again as the
    open state's provisional tail must not re-fold the day at every refresh."""
    def ev(cls: type, i: int, minutes: float, **kw: object) -> Event:
        at = START + dt.timedelta(minutes=minutes)
        return cls(v=1, id=f"long-{i}", source="t", ts=at, site="bj-01", **kw)  # type: ignore[no-any-return]

    events = [ev(AgentLogin, 0, 0, agent="idle", team="t1"), ev(AgentLogin, 1, 0, agent="busy", team="t1")]
    for k in range(96):  # a call every 30 min for 48 h, answered by the busy agent
        m = 30 * k + 1
        events += [ev(CallQueued, 10 * k + 2, m, call=f"c{k}", queue="q"),
                   ev(CallAnswered, 10 * k + 3, m + 0.1, call=f"c{k}", queue="q", agent="busy", wait_s=5.0),
                   ev(CallWrapped, 10 * k + 4, m + 5, call=f"c{k}", agent="busy")]
    refolds, stored = [], 0
    for step in range(24):  # a refresh every 2 h of events
        until = START + dt.timedelta(hours=2 * (step + 1))
        batch = [e for e in events[stored:] if e.ts < until]
        await store_events(store.engine, batch, offset0=stored)
        stored += len(batch)
        done = await store.refresh()
        if step and done["incremental"] == 0:
            refolds.append(step)
    live = await tables(store)
    days = {CONFIG.calendar("bj-01").business_day(e.ts) for e in events[:stored]}
    await store.rebuild(min(days), max(days))
    assert live == await tables(store) and live["report_rollup_15m"] and live["report_spans"]
    assert refolds == []


async def test_events_stored_with_nul_or_a_follow_up_out_of_range_do_not_stop_the_reports(
        store: ReportStore) -> None:
    """Ingest let these in until 2026-12-07 (a review found them): NUL in an agent's name, a team,
    a contact, and a follow-up in year 1. On PostgreSQL the NUL made every refresh (and rebuild)
    fail, and the follow-up overflowed on both backends: the reports stopped for good. Now the
    events are unreadable, as for any stored event that is no longer valid, and skipped; a contact
    (an extra field) loses its NUL."""
    def ev(cls: type, i: int, minutes: float, **kw: object) -> Event:
        at = START + dt.timedelta(minutes=minutes)
        return cls(v=1, id=f"h-{i}", source="t", ts=at, site="bj-01", **kw)  # type: ignore[no-any-return]

    hostile = [
        ev(AgentLogin, 0, 0, agent="a\x00b", team="t1"),
        ev(AgentLogin, 1, 0, agent="c", team="t\x00"),
        ev(CallWrapped, 2, 1, call="c9", agent="ok", outcome=Outcome(code="x")),
    ]
    fine = [
        ev(AgentLogin, 10, 0, agent="ok", team="t1"),
        ev(CallQueued, 11, 1, call="c1", queue="q"),
        ev(CallAnswered, 12, 1.1, call="c1", queue="q", agent="ok", wait_s=4.0),
        ev(CallWrapped, 13, 3, call="c1", agent="ok",
           outcome=Outcome(code="callback", follow_up_at=START + dt.timedelta(days=1))),
    ]
    await store_events(store.engine, hostile + fine, extra={"c1": {"contact": "cu\x00st"}})
    async with store.engine.begin() as conn:  # the year-1 follow-up, as ingest stored it then
        await conn.execute(update(EventRow).where(EventRow.event_id == "h-2").values(
            payload=func.replace(EventRow.payload, '"follow_up_at":null',
                                 '"follow_up_at":"0001-01-01T00:00:00+01:00"')))
    for step in range(3):
        later = [ev(AgentStateChanged, 20 + step, 10 + step, agent="ok", state="available")]
        await store_events(store.engine, later, offset0=100 + step)
        await store.refresh()  # raised on PostgreSQL at every step (and on both with the year-1 one)
    async with store.rollups.connect() as conn:
        t = store_module.REPORT_FOLLOW_UPS
        follow_ups = [tuple(r) for r in await conn.execute(select(t.c.call, t.c.contact))]
    assert follow_ups == [("c1", "cust")]
    live = await tables(store)
    agents = {r[2] for r in live["report_spans"]}
    assert agents == {"ok"}, agents


async def test_an_event_of_the_same_second_stored_after_one_later_in_fold_order_refolds(
        store: ReportStore) -> None:
    """A call.answered is folded at one refresh, its call.queued of the same second is stored
    after it (another subsystem, or a source that stamps to the second). The rebuild folds the
    queue first (the fold order: time, then the step of the call's life); the live fold took the
    queued event as not late, being no older, and booked the call as answered without being
    offered, then left it waiting. Now it is late, and its day is re-folded."""
    def ev(cls: type, i: int, minutes: float, **kw: object) -> Event:
        at = START + dt.timedelta(minutes=minutes)
        return cls(v=1, id=f"s-{i}", source="t", ts=at, site="bj-01", **kw)  # type: ignore[no-any-return]

    first = [ev(AgentLogin, 0, 0, agent="a1", team="t1"),
             ev(CallAnswered, 2, 1, call="c1", queue="q1", agent="a1")]
    second = [ev(CallQueued, 1, 1, call="c1", queue="q1"),
              ev(CallEnded, 3, 3, call="c1", agent="a1"),
              ev(CallWrapped, 4, 4, call="c1", agent="a1")]
    await store_events(store.engine, first)
    await store.refresh()
    await store_events(store.engine, second, offset0=10)
    done = await store.refresh()
    assert done["incremental"] == 0 and done["days"]  # re-folded, not fed
    live = await tables(store)
    day = CONFIG.calendar("bj-01").business_day(START)
    await store.rebuild(day, day)
    assert live == await tables(store) and live["report_rollup_15m"]


UTC_DAYS = ReportConfig()  # business days from 00:00 UTC


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def utc_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReportStore]:
    async with report_store(request.param, tmp_path, UTC_DAYS) as s:
        yield s


async def equal_to_rebuild(store: ReportStore, first: dt.date, last: dt.date) -> None:
    live = await tables(store)
    await store.rebuild(first, last)
    rebuilt = await tables(store)
    assert live == rebuilt and live["report_rollup_15m"]


def utc_event(cls: type, i: int, at: dt.datetime, **kw: object) -> Event:
    return cls(v=1, id=f"n-{i}", source="t", ts=at, site="s1", **kw)  # type: ignore[no-any-return]


H, M = dt.timedelta(hours=1), dt.timedelta(minutes=1)
D = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


async def test_an_old_event_refolds_the_days_next_to_its_own_that_it_changes(utc_store: ReportStore) -> None:
    """Events stored days late, before the live fold's window: a rebuild of a day reads 16 h on
    either side, so such an event can change the day after (a login of 23:00 whose logout after
    midnight was folded already) and the day before (the wrap after midnight of a call of the day
    before). Only the event's own day was re-folded (a review found it)."""
    e = utc_event
    far = D + dt.timedelta(days=3, hours=9)  # the floor works on D+3 today
    n1 = D + dt.timedelta(days=1)
    stored = [e(AgentLogout, 1, n1 + H, agent="z"),
              e(AgentLogin, 2, D + 22 * H, agent="a", team="t"),
              e(CallQueued, 3, D + 23 * H + 50 * M, call="c", queue="q"),
              e(CallAnswered, 4, D + 23 * H + 51 * M, call="c", queue="q", agent="a"),
              e(CallEnded, 5, D + 23 * H + 59 * M, call="c", agent="a"),
              e(AgentLogout, 6, n1 + 2 * H, agent="a"),
              e(AgentLogin, 7, far, agent="y", team="t"),
              e(AgentStateChanged, 8, far + H, agent="y", state="not_ready", reason="lunch")]
    await store_events(utc_store.engine, stored)
    await utc_store.refresh()
    late_login = [e(AgentLogin, 10, D + 23 * H, agent="z", team="t"),  # its logout is on D+1
                  e(AgentStateChanged, 11, far + 2 * H, agent="y", state="available")]
    await store_events(utc_store.engine, late_login, offset0=100)
    assert (await utc_store.refresh())["days"] == [D.date().isoformat(), n1.date().isoformat()]
    sale = Outcome(code="sale", success=True)
    late_wrap = [e(CallWrapped, 12, n1 + 10 * M, call="c", agent="a", outcome=sale),
                 e(AgentStateChanged, 13, far + 3 * H, agent="y", state="not_ready", reason="x")]
    await store_events(utc_store.engine, late_wrap, offset0=200)  # the wrap of D's call, on D+1
    assert (await utc_store.refresh())["days"] == [D.date().isoformat(), n1.date().isoformat()]
    await equal_to_rebuild(utc_store, D.date(), far.date())


async def test_a_late_event_that_books_into_the_day_before_the_fold_refolds_it(
        utc_store: ReportStore) -> None:
    """An abandon at 00:05 after 10 minutes of waiting, stored after the live fold dropped the day
    before: its offer belongs to that day. The late event re-folded the fold's days only, from the
    new day on, and the offer was lost (since e8ff0d6, found by a review)."""
    e = utc_event
    t = D + dt.timedelta(days=1)
    await store_events(utc_store.engine, [e(AgentLogin, 1, t - 4 * H, agent="a", team="t"),
                                          e(AgentLogout, 2, t - H, agent="a"),
                                          e(AgentLogin, 3, t + M, agent="b", team="t")])
    await utc_store.refresh()
    await store_events(utc_store.engine, [e(AgentStateChanged, 4, t + 30 * M, agent="b", state="not_ready",
                                            reason="x")], offset0=10)
    await utc_store.refresh()
    assert utc_store._live is not None and utc_store._live.fold.floor == t.date()  # the day before: dropped
    await store_events(utc_store.engine, [e(CallAbandoned, 5, t + 5 * M, call="c9", queue="q", wait_s=600.0)],
                       offset0=20)
    assert (await utc_store.refresh())["days"] == [D.date().isoformat(), t.date().isoformat()]
    await equal_to_rebuild(utc_store, D.date(), t.date())


@pytest.mark.parametrize("restart", [False, True])
async def test_a_late_login_changes_the_next_day_also_after_a_restart(
        store: ReportStore, restart: bool) -> None:
    """A login of the last hour of a day, stored after its logout of the next day was folded: the
    next day must book the time logged in. With no live fold (a restart, another writer) the
    re-fold took the login's own day only (found by a review of the fix above)."""
    d0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=BJ)  # business day starts 10:00 local
    nxt = d0 + dt.timedelta(days=1)

    def ev(cls: type, i: int, at: dt.datetime, **kw: object) -> Event:
        return cls(v=1, id=f"r-{i}", source="t", ts=at, site="bj-01", **kw)  # type: ignore[no-any-return]

    await store_events(store.engine, [
        ev(AgentLogin, 0, d0 + dt.timedelta(hours=1), agent="a0", team="t1"),
        ev(AgentLogin, 1, nxt + dt.timedelta(minutes=5), agent="a9", team="t1"),
        ev(AgentLogout, 2, nxt + dt.timedelta(minutes=30), agent="a2"),
        ev(AgentStateChanged, 3, nxt + dt.timedelta(hours=2), agent="a9", state="available")])
    await store.refresh()
    if restart:
        store = ReportStore(store.engine, CONFIG, rollups=store.rollups)
    await store_events(store.engine, [ev(AgentLogin, 4, nxt - dt.timedelta(hours=1), agent="a2", team="t1")],
                       offset0=10)
    await store.refresh()
    live = await tables(store)
    await store.rebuild(d0.date(), nxt.date())
    assert live == await tables(store) and live["report_spans"]
