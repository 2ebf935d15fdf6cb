"""A report rebuild's peak memory and time over a week of a round-the-clock floor.

What is generated (say it when quoting the figures): the simulator's ``--agents`` (500) floor
working round the clock (its shifts log agents in and out) for ``--days`` (7) days from
2026-11-30 08:00 Beijing time, every event stored in the events table the way ingest stores it
(canonical JSON payload), in a SQLite file (``--db``, kept for later runs: generating a week takes
minutes) or, with ``--pg``, in a PostgreSQL database of its own (dropped afterwards unless
``--keep``).

Then, for each ``--chunk-days`` and ``--max-events`` value, ``ReportStore.rebuild`` of the
whole range runs in a fresh process (``--child``): its peak RSS (``getrusage``), the RSS before
the rebuild, the wall time, the events it read, and a digest of every roll-up table's rows
after it, so that runs with other chunk sizes (or other code) can be compared for the same
output.

With ``--refresh-events N ...`` it measures ``ReportStore.refresh`` instead, with the roll-ups
emptied first (as when their file was lost, or a week's events were stored while nothing
refreshed): every stored event is new, read ``N`` at a time.

Run: ``python -m benchmarks.rebuild_memory [--days 7] [--agents 500] [--chunk-days 7 1]
[--max-events 500000] [--refresh-events 200000] [--pg]`` (the database is migrated to this
release's schema first).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import itertools
import json
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from benchmarks.scratch_db import event_row, pg, pg_url
from floorwatch.sim import FloorSimulation, default_config
from floorwatch.sim.config import with_agents
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig
from services.reports.store import DAY_TABLES, MAX_CHUNK_EVENTS, ReportStore
from shared.db import make_engine, rollups_url
from shared.migrate import upgrade
from shared.tables import REPORT_STATE, EventRow

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def generate(url: str, days: int, agents: int) -> int:
    """Simulate and store the floor, an hour at a time (the generator's memory stays small)."""
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sim = FloorSimulation(with_agents(default_config(), agents), seed=7, start=START, run_id="week")
    now = dt.datetime.now(dt.UTC)
    n = 0
    try:
        for hour in range(1, days * 24 + 1):
            rows = [event_row(ev, n + i, now)
                    for i, ev in enumerate(sim.events_until(START + dt.timedelta(hours=hour)))]
            async with engine.begin() as conn:
                for i in range(0, len(rows), 5000):
                    await conn.execute(insert(EventRow), rows[i:i + 5000])
            n += len(rows)
            if hour % 24 == 0:
                print(f"  day {hour // 24}: {n:,} events stored", flush=True)
    finally:
        await engine.dispose()
    return n


async def digest(store: ReportStore) -> str:
    """A digest of every roll-up table's rows (ids left out), in a stable order."""
    h = hashlib.sha256()
    async with store.rollups.connect() as conn:
        for table in DAY_TABLES:
            cols = [c for c in table.c if c.name != "id"]
            rows = sorted(tuple(str(v) for v in r) for r in (await conn.execute(select(*cols))).all())
            h.update(f"{table.name}:{len(rows)}\n".encode())
            for r in rows:
                h.update(("\t".join(r) + "\n").encode())
    return h.hexdigest()[:16]


async def child(url: str, days: int, chunk_days: int, max_events: int,
                refresh_events: int) -> dict[str, object]:
    engine = make_engine(url)
    beside = rollups_url(url)
    store = ReportStore(engine, CONFIG, rollups=None if beside == url else make_engine(beside))
    first = START.date()
    last = first + dt.timedelta(days=days - 1)
    try:
        if refresh_events:  # every stored event new: as when the roll-ups were lost, or never kept
            async with (await store._r()).begin() as conn:
                await conn.execute(delete(REPORT_STATE).where(REPORT_STATE.c.name == "events_pk"))
                for table in DAY_TABLES:
                    await conn.execute(delete(table))
            store.refresh_events = refresh_events
        before = current_mib()
        t = time.perf_counter()
        if refresh_events:
            done = await store.refresh()
            counts = {"events": done.get("new", 0), "steps": done.get("steps", 1)}
        else:
            counts = await store.rebuild(first, last, chunk_days=chunk_days, max_events=max_events)
        wall = time.perf_counter() - t
        peak = peak_mib()
        return {"what": (f"refresh_events={refresh_events:,} ({counts['steps']} steps)" if refresh_events
                         else f"rebuild chunk_days={chunk_days} max_events={max_events:,}"),
                "rss_before_mib": round(before), "peak_rss_mib": round(peak),
                "seconds": round(wall, 1), "events_read": counts.get("events", 0),
                "digest": await digest(store)}
    finally:
        await store.aclose()
        await engine.dispose()


async def count(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(EventRow))).scalar_one())
    finally:
        await engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--chunk-days", type=int, nargs="+", default=[7, 1])
    p.add_argument("--max-events", type=int, nargs="+", default=[MAX_CHUNK_EVENTS],
                   help="ReportStore.rebuild's max_events (each value run with each --chunk-days)")
    p.add_argument("--refresh-events", type=int, nargs="+",
                   help="instead of rebuilds: a refresh of emptied roll-ups (every stored event new), "
                        "with ReportStore.refresh_events set to each value")
    p.add_argument("--db", default="/tmp/floorwatch_rebuild_week.db", help="the SQLite file (made if absent)")
    p.add_argument("--pg", action="store_true", help="a PostgreSQL database of its own instead")
    p.add_argument("--keep", action="store_true", help="with --pg: keep the database (its name is printed)")
    p.add_argument("--child", help=argparse.SUPPRESS)  # the database URL: run one rebuild, print JSON
    args = p.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.days, args.chunk_days[0], args.max_events[0],
                                           (args.refresh_events or [0])[0]))))
        return
    name = None
    if args.pg:
        name = f"floorwatch_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg(f'CREATE DATABASE "{name}"'))
        url = pg_url(name)
    else:
        url = f"sqlite+aiosqlite:///{args.db}"
    try:
        if name is not None or not Path(args.db).exists():
            t = time.perf_counter()
            print(f"generating {args.days} days of a {args.agents}-agent floor into {url} ...", flush=True)
            n = asyncio.run(generate(url, args.days, args.agents))
            print(f"  {n:,} events in {time.perf_counter() - t:.0f} s", flush=True)
        else:
            t = time.perf_counter()
            upgrade(url)  # a file made by an earlier release: this one's schema (indexes) first
            print(f"{url}: {asyncio.run(count(url)):,} events (made earlier; delete the file to regenerate); "
                  f"migrated in {time.perf_counter() - t:.1f} s")
        runs = ([["--refresh-events", str(n)] for n in args.refresh_events] if args.refresh_events else
                [["--chunk-days", str(c), "--max-events", str(m)]
                 for c, m in itertools.product(args.chunk_days, args.max_events)])
        for flags in runs:
            out = subprocess.run([sys.executable, "-m", "benchmarks.rebuild_memory", "--child", url,
                                  "--days", str(args.days), *flags],
                                 check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['what']}: "
                  f"peak RSS {r['rss_before_mib']} -> {r['peak_rss_mib']} MiB, "
                  f"{r['seconds']} s, {r['events_read']:,} events read, roll-ups {r['digest']}", flush=True)
    finally:
        if name is not None and not args.keep:
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif name is not None:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
