"""Does the report roll-up keep up with a live stream? A producer process stores a simulated floor's
events into PostgreSQL's ``events`` table at ``--rate`` events/s (through ingest's own
``EventHistory.store``, in batches of 500, as ingest stores what it consumed) while this process
refreshes the roll-ups every ``--every`` seconds:

1. ``--seconds`` with the live fold (``ReportStore.refresh``: the fold kept between refreshes, only
   new events fed, only changed rows written),
2. then ``--refold-seconds`` (default 120; 0 skips it) with the whole-day re-fold
   (``ReportStore(..., live=False)``: every refresh re-folds the business days the new events
   touch, as refresh did before the live fold).

The floor (``--agents``, simulated from 08:00 local) is large enough that one business day holds
every event of the run, so the day keeps growing through both phases. Printed per refresh: the
events stored so far, the refresh's cost, what it folded, and the lag afterwards — events stored but
not yet folded, and the age of the oldest of them (now - its ``ingested_at``); then per phase the
refresh cost per event and the lag's median and maximum. Load average alongside.

Run: ``python -m benchmarks.rollup_live [--agents 6000] [--rate 5000] [--seconds 120] [--every 5]``
(needs PostgreSQL on 127.0.0.1:5432; a database of its own is created and dropped).
``--fold-only N``: no database — the live fold's CPU side alone (feed + take) over N batches of
``rate x every`` simulated events.

``--jitter J`` stores each event up to J simulated seconds after its time (uniformly at random), so
events reach the table out of their time order, as they do from several partitions and ingest
batches; ``--settle S`` gives the live fold's store a settle time of S seconds (docs/reports.md,
"Settling"), its clock being the simulated time the producer has stored up to.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import multiprocessing as mp
import os
import random
import resource
import statistics
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from floorwatch.sim import FloorSimulation, default_config
from floorwatch.sim.config import with_agents
from services.ingest.core import Accepted, RawRecord
from services.ingest.history import EventHistory
from services.reports.core import SiteCalendar
from services.reports.core.config import ReportConfig
from services.reports.core.live import LiveFold
from services.reports.core.rollup import new_folder
from services.reports.store import ReportStore
from shared.db import make_engine
from shared.events import encode_event
from shared.migrate import upgrade
from shared.tables import EventRow

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
PG_ADMIN = os.environ.get("FLOORWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CONFIG = ReportConfig(calendars={"bj-01": SiteCalendar("Asia/Shanghai")})
BATCH = 500


def produce(url: str, agents: int, rate: float, seconds: float, jitter: float = 0.0,
            clock: Any = None) -> None:
    """The producer process: simulate and store ``rate`` events/s for ``seconds``."""
    asyncio.run(_produce(url, agents, rate, seconds, jitter, clock))


async def _produce(url: str, agents: int, rate: float, seconds: float, jitter: float,
                   clock: Any) -> None:
    engine = make_engine(url)
    history = EventHistory(engine)
    sim = FloorSimulation(with_agents(default_config(), agents), seed=1, start=START, run_id="live")
    sim_t = START
    pending: list[Any] = []
    arriving: list[tuple[float, int, Any]] = []  # (when it is stored, tie-break, event)
    rng = random.Random(7)
    seq = 0
    offset = 0
    stored = 0
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            while len(pending) < BATCH:
                sim_t += dt.timedelta(seconds=60)
                for ev in sim.events_until(sim_t):
                    seq += 1
                    heapq.heappush(arriving, (ev.ts.timestamp() + rng.uniform(0.0, jitter), seq, ev))
                # what arrives by sim_t is complete: a later event's time, and so its arrival, is after it
                while arriving and arriving[0][0] <= sim_t.timestamp():
                    pending.append(heapq.heappop(arriving))
            came, pending = pending[:BATCH], pending[BATCH:]
            batch = [ev for _, _, ev in came]
            acc = []
            for ev in batch:
                acc.append(Accepted(RawRecord("bench", 0, offset, None, None), ev, encode_event(ev)))
                offset += 1
            await history.store(acc, dt.datetime.now(dt.UTC))
            if clock is not None:
                clock.value = came[-1][0]  # the simulated time stored up to
            stored += len(batch)
            ahead = stored / rate - (time.monotonic() - t0)
            if ahead > 0:
                await asyncio.sleep(ahead)
        el = time.monotonic() - t0
        print(f"producer: stored {stored:,} events in {el:.1f} s = {stored / el:,.0f} events/s "
              f"(simulated time reached {sim_t.astimezone(BJ):%H:%M} local)", flush=True)
    finally:
        await engine.dispose()


async def lag(store: ReportStore, mark: int) -> tuple[int, int, float]:
    """(events stored, of them not yet folded, age in s of the oldest not folded)."""
    async with store.engine.connect() as conn:
        top = (await conn.execute(select(func.max(EventRow.pk)))).scalar() or 0
        oldest = (await conn.execute(select(func.min(EventRow.ingested_at))
                                     .where(EventRow.pk > mark))).scalar()
    age = (dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return top, top - mark, age


async def phase(name: str, store: ReportStore, seconds: float, every: float) -> dict[str, Any]:
    print(f"\n{name}\n| t s | stored | refresh s | folded | how | behind (events) | behind (s) | load |")
    print("|---|---|---|---|---|---|---|---|")
    t0 = time.monotonic()
    costs: list[tuple[float, int]] = []
    behind: list[tuple[int, float]] = []
    while time.monotonic() - t0 < seconds:
        tick = time.monotonic()
        done = await store.refresh()
        el = time.monotonic() - tick
        mark = done["events_pk"] or 0
        top, n_behind, age = await lag(store, mark)
        if done["incremental"]:
            folded, how = done["incremental"], "live " + " ".join(
                f"{k} {v:.2f}" for k, v in done["seconds"].items()) + f", {done['rows_written']:,} rows, " \
                f"{done['held']:,} held"
        elif done["days"]:
            folded, how = done.get("events", 0), "re-fold " + ",".join(done["days"])
        else:
            folded, how = 0, "-"
        costs.append((el, done.get("new", 0)))
        behind.append((n_behind, age))
        print(f"| {time.monotonic() - t0:.0f} | {top:,} | {el:.2f} | {folded:,} | {how} | {n_behind:,} "
              f"| {age:.1f} | {os.getloadavg()[0]:.1f} |", flush=True)
        await asyncio.sleep(max(0.0, every - (time.monotonic() - tick)))
    spent = sum(c for c, _ in costs)
    new = sum(n for _, n in costs)
    out = {"refreshes": len(costs), "spent_s": spent, "new_events": new,
           "us_per_event": spent / new * 1e6 if new else float("nan"),
           "behind_median": statistics.median(b for b, _ in behind),
           "behind_max": max(b for b, _ in behind), "age_median": statistics.median(a for _, a in behind),
           "age_max": max(a for _, a in behind), "behind_last": behind[-1]}
    print(f"{name}: {out['refreshes']} refreshes, {spent:.1f} s refreshing for {new:,} new events = "
          f"{out['us_per_event']:.0f} µs per new event; behind: median {out['behind_median']:,} events "
          f"/ {out['age_median']:.1f} s, max {out['behind_max']:,} / {out['age_max']:.1f} s, "
          f"at the end {behind[-1][0]:,} / {behind[-1][1]:.1f} s")
    return out


def fold_only(agents: int, batch: int, batches: int) -> None:
    """The live fold's CPU side alone (no database, no producer): feed + take per batch."""
    sim = FloorSimulation(with_agents(default_config(), agents), seed=1, start=START, run_id="live")
    folder = new_folder(calendars=CONFIG.calendar_map())
    live = LiveFold(folder, START.date(), START.timestamp(), START.timestamp(), {})
    t, pending = START, []
    feed_s = take_s = 0.0
    n = rows = 0
    for _ in range(batches):
        while len(pending) < batch:
            t += dt.timedelta(seconds=60)
            pending += sim.events_until(t)
        part, pending = pending[:batch], pending[batch:]
        a = time.perf_counter()
        live.feed(part, {})
        b = time.perf_counter()
        rows += live.take().size()
        live.prune()
        feed_s += b - a
        take_s += time.perf_counter() - b
        n += len(part)
    print(f"fold only, {agents} agents, {batches} batches of {batch:,} events (to {t.astimezone(BJ):%H:%M} "
          f"local): feed {n / feed_s:,.0f} events/s, take {take_s / n * 1e6:.1f} µs per event, "
          f"together {(feed_s + take_s) / n * 1e6:.1f} µs per event; {rows / n:.2f} rows to write per "
          f"event; load average {os.getloadavg()}")


async def main(args: argparse.Namespace) -> None:
    import asyncpg

    if args.fold_only:
        fold_only(args.agents, int(args.rate * args.every), args.fold_only)
        return

    name = f"floorwatch_live_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    ctx = mp.get_context("spawn")
    clock = ctx.Value("d", START.timestamp())  # the simulated time stored up to (the store's clock)
    producer = ctx.Process(target=produce, args=(url, args.agents, args.rate,
                                                 args.seconds + args.refold_seconds + 5, args.jitter, clock))
    try:
        print(f"{args.agents} agents, {args.rate:,.0f} events/s stored (up to {args.jitter:g} s late), "
              f"refresh every {args.every} s, settle {args.settle:g} s; "
              f"load average at the start {os.getloadavg()}")
        producer.start()
        live = ReportStore(engine, CONFIG, settle_s=args.settle, clock=lambda: clock.value)
        await phase("1. live fold", live, args.seconds, args.every)
        lf = live._live
        if lf is not None:
            print(f"live fold holds: {lf.fold.memory()}; this process's max RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.refold_seconds:
            await phase("2. whole-day re-fold", ReportStore(engine, CONFIG, live=False),
                        args.refold_seconds, args.every)
        producer.join(timeout=60)
        print(f"load average at the end {os.getloadavg()}")
    finally:
        if producer.is_alive():
            producer.terminate()
        await engine.dispose()
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=6000)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--every", type=float, default=5)
    p.add_argument("--refold-seconds", type=float, default=120, help="phase 2's length (0: skip it)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--jitter", type=float, default=0.0,
                   help="store each event up to this many simulated seconds after its time")
    p.add_argument("--settle", type=float, default=0.0, help="the live fold's settle time (simulated s)")
    p.add_argument("--fold-only", type=int, default=0, metavar="BATCHES",
                   help="measure the fold's CPU side alone: BATCHES refreshes' worth (rate x every)")
    asyncio.run(main(p.parse_args()))
