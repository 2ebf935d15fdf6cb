"""Reports over a year of a 500-agent floor on PostgreSQL: the time each report takes.

What is generated (say it when quoting the figures):

* ``--distinct`` (default 7) different days of a ``--agents`` (500) floor from the simulator
  (different seeds, 14 simulated hours each, every event counted), each folded into roll-ups
  by the reports core — the fold's rate (events/s, one core) is measured here too;
* those days' roll-ups laid over ``--days`` (365) consecutive business days, day ``d`` getting
  the roll-ups of simulated day ``d mod distinct`` (shifted to its date), loaded with COPY —
  i.e. the report tables hold what a year of that floor leaves in them (the event count that
  represents is printed), while only ``distinct`` days were simulated;
* then every report is asked for the whole year (and the interval and per-agent ones for the
  ranges a user asks for), ``--repeat`` times, through ``ReportStore.report`` (SQL + the pure
  formulas: what the REST endpoint does before JSON encoding), unscoped and as a one-team
  supervisor.

Also measured: ``ReportStore.rebuild`` of one simulated day from the events table (read, decode,
fold, write), i.e. what ``refresh`` costs per day it re-folds.

Run: ``python -m benchmarks.reports_year [--days 365] [--agents 500] [--keep]`` (needs PostgreSQL on
127.0.0.1:5432; a database of its own is created and dropped unless ``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
import uuid
from typing import Any

from benchmarks.scratch_db import event_row, pg, pg_url
from floorwatch.sim import FloorSimulation, default_config
from floorwatch.sim.config import with_agents
from services.reports.core import SiteCalendar, fold
from services.reports.core.config import Access, ReportConfig
from services.reports.core.rollup import COUNTERS, Rollups
from services.reports.store import ReportStore
from shared.db import make_engine
from shared.events import Event
from shared.migrate import upgrade

BJ = dt.timezone(dt.timedelta(hours=8))
FIRST = dt.date(2025, 1, 6)
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})


def simulate(agents: int, seed: int, day: dt.date) -> list[Event]:
    start = dt.datetime(day.year, day.month, day.day, 8, 0, tzinfo=BJ)
    sim = FloorSimulation(with_agents(default_config(), agents), seed=seed, start=start, run_id=f"y{seed}")
    return sim.events_until(start + dt.timedelta(hours=14))


def records(r: Rollups, shift_days: int) -> dict[str, list[tuple[Any, ...]]]:
    d = dt.timedelta(days=shift_days)
    s = shift_days * 86400
    out: dict[str, list[tuple[Any, ...]]] = {}
    out["report_rollup_15m"] = [
        (k.site, k.day + d, dt.datetime.fromtimestamp(k.bucket + s, dt.UTC), k.queue, k.project, k.team,
         k.agent, *v) for k, v in r.rows.items()]
    out["report_rollup_day"] = [
        (k.site, k.day + d, k.queue, k.project, k.team, k.agent, *v) for k, v in r.days().items()]
    out["report_not_ready"] = [
        (k.site, k.day + d, dt.datetime.fromtimestamp(k.bucket + s, dt.UTC), k.team, k.agent, k.reason, v)
        for k, v in r.reasons.items()]
    out["report_outcomes"] = [
        (k.site, k.day + d, k.queue, k.project, k.team, k.agent, k.code, k.reason, k.success, n)
        for k, n in r.outcomes.items()]
    out["report_follow_ups"] = [
        (f.site, f.day + d, f.call, f.contact, f.queue, f.project, f.team, f.agent, f.opened_at + d,
         f.due_at + d, f.code, f.reason) for f in r.follow_ups]
    out["report_spans"] = [
        (sp.site, sp.day + d, sp.agent, sp.team, sp.state, sp.reason, sp.start + d, sp.end + d, sp.call)
        for sp in r.spans]
    return out


COLUMNS = {
    "report_rollup_15m": ["site", "day", "bucket", "queue", "project", "team", "agent", *COUNTERS],
    "report_rollup_day": ["site", "day", "queue", "project", "team", "agent", *COUNTERS],
    "report_not_ready": ["site", "day", "bucket", "team", "agent", "reason", "seconds"],
    "report_outcomes": ["site", "day", "queue", "project", "team", "agent", "code", "reason", "success", "n"],
    "report_follow_ups": ["site", "day", "call", "contact", "queue", "project", "team", "agent", "opened_at",
                          "due_at", "code", "reason"],
    "report_spans": ["site", "day", "agent", "team", "state", "reason", "start", "end", "call"],
}


async def timed(store: ReportStore, name: str, q: dict[str, Any], access: Access, repeat: int,
                now: dt.datetime) -> tuple[list[float], int]:
    times = []
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        rows = await store.report(name, q, access, now)
        times.append(time.perf_counter() - t)
        n = len(rows)
    return times, n


async def main(args: argparse.Namespace) -> None:
    name = f"floorwatch_bench_{uuid.uuid4().hex[:8]}"
    await pg(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    store = ReportStore(engine, CONFIG)
    try:
        # 1. simulate the distinct days and fold them (timed: the fold alone)
        templates: list[Rollups] = []
        n_events = []
        fold_s = 0.0
        day_events: list[Event] = []
        for i in range(args.distinct):
            day = FIRST + dt.timedelta(days=i)
            events = simulate(args.agents, i + 1, day)
            t = time.perf_counter()
            r = fold(events, calendars=CONFIG.calendar_map())
            fold_s += time.perf_counter() - t
            templates.append(r.only_days(day, day))
            n_events.append(len(events))
            if i == 0:
                day_events = events
        per_day = statistics.mean(n_events)
        print(f"simulated {args.distinct} days of {args.agents} agents: {sum(n_events):,} events "
              f"({per_day:,.0f} per day); fold {sum(n_events) / fold_s:,.0f} events/s (one core)")
        # 2. lay them over the year with COPY
        t = time.perf_counter()
        counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for d in range(args.days):
                base = d % args.distinct
                recs = records(templates[base], d - base)
                for table, rows in recs.items():
                    await raw.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
                    counts[table] += len(rows)
            await raw.execute("ANALYZE")
        print(f"loaded {args.days} business days in {time.perf_counter() - t:.0f} s "
              f"(a year of this floor is ~{per_day * args.days:,.0f} events): "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        # 3. the reports
        last = FIRST + dt.timedelta(days=args.days - 1)
        year = {"from": FIRST, "to": last}
        week = {"from": last - dt.timedelta(days=6), "to": last}
        one = {"from": last, "to": last}
        team = sorted({k.team for k in templates[0].rows if k.team})[0]
        agent = sorted({k.agent for k in templates[0].rows if k.agent})[0]
        cases = [
            ("project-progress", year), ("project-daily", year), ("failure-reasons", year),
            ("follow-ups", {**year, "limit": 10_000}), ("agent-progress", year), ("staff-performance", year),
            ("staff-performance", {**year, "team": team}),
            ("agent-log", {**one, "agent": agent}), ("agent-log", {**one, "limit": 10_000}),
            ("project-daily", {**one, "interval": "15m"}), ("project-daily", {**week, "interval": "30m"}),
            ("failure-reasons", {"from": last - dt.timedelta(days=30), "to": last, "by": ("team", "agent")}),
        ]
        now = dt.datetime.combine(last, dt.time(23), dt.UTC)
        print(f"\n| report | range | scope | rows | median s | max s ({args.repeat} runs) |")
        print("|---|---|---|---|---|---|")
        scoped = Access(sites=frozenset({"bj-01"}), teams=frozenset({team}))
        for rname, q in cases:
            span = f"{(q['to'] - q['from']).days + 1} d" + "".join(
                f", {k}={v if isinstance(v, str) else ','.join(v)}" for k, v in q.items()
                if k in ("interval", "team", "agent", "by", "limit") and not isinstance(v, int)) + "".join(
                f", limit={v:,}" for k, v in q.items() if k == "limit")
            for label, access in (("all", Access()), ("one team", scoped)):
                times, n = await timed(store, rname, q, access, args.repeat, now)
                print(f"| {rname} | {span} | {label} | {n:,} | {statistics.median(times):.3f} "
                      f"| {max(times):.3f} |")
        # 4. re-folding one day from the events table (what `refresh` does per touched day)
        rows = [event_row(e, i, now, "bench") for i, e in enumerate(day_events)]
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table("events", records=[tuple(r.values()) for r in rows],
                                            columns=list(rows[0]))
        t = time.perf_counter()
        done = await store.rebuild(FIRST, FIRST)
        el = time.perf_counter() - t
        print(f"\nrebuild of one day from the events table: {done['events']:,} events in {el:.1f} s "
              f"= {done['events'] / el:,.0f} events/s (read + decode + fold + delete/insert roll-ups)")
    finally:
        await engine.dispose()
        if not args.keep:
            await pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--distinct", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    asyncio.run(main(p.parse_args()))
