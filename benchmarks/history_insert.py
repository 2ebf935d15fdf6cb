"""What the events table's ``ix_events_ts`` index (migration 0008) costs ingest's inserts.

Two databases migrated alike, one then without ``ix_events_ts``, each pre-filled with the same
``--prefill`` (1,000,000) events of the simulator's 500-agent floor; then the next ``--batches``
(200) batches of ``--batch`` (2,000, ingest's default) events are stored through ingest's own
``EventHistory.store`` (one transaction per batch, insert-once on ``(source, event_id)``), each
batch into both databases, which one first alternating. Prints events/s of each and the ratio
with / without the index.

Run: ``python -m benchmarks.history_insert [--db sqlite|postgres] [--prefill 1000000]``
(PostgreSQL on 127.0.0.1:5432: two databases of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid

from sqlalchemy import insert, text

from benchmarks.scratch_db import event_row, pg, pg_url
from floorwatch.sim import FloorSimulation, default_config
from floorwatch.sim.config import with_agents
from services.ingest.core import Accepted, RawRecord
from services.ingest.history import EventHistory
from shared.db import make_engine
from shared.events import Event, encode_event
from shared.migrate import upgrade
from shared.tables import EventRow

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)


def simulate(n: int) -> list[Event]:
    sim = FloorSimulation(with_agents(default_config(), 500), seed=3, start=START, run_id="ins")
    out: list[Event] = []
    hour = 0
    while len(out) < n:
        hour += 1
        out += sim.events_until(START + dt.timedelta(hours=hour))
    return out[:n]


async def prefill(url: str, events: list[Event]) -> None:
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    try:
        async with engine.begin() as conn:
            for i in range(0, len(events), 5000):
                await conn.execute(insert(EventRow),
                                   [event_row(ev, i + j, now) for j, ev in enumerate(events[i:i + 5000])])
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE events"))
    finally:
        await engine.dispose()


async def measure(urls: dict[str, str], batches: list[list[Accepted]]) -> dict[str, list[float]]:
    engines = {k: make_engine(u) for k, u in urls.items()}
    stores = {k: EventHistory(e) for k, e in engines.items()}
    rates: dict[str, list[float]] = {k: [] for k in urls}
    now = dt.datetime.now(dt.UTC)
    try:
        for i, batch in enumerate(batches):
            order = list(urls) if i % 2 == 0 else list(reversed(urls))
            for k in order:
                t = time.perf_counter()
                stored = await stores[k].store(batch, now)
                rates[k].append(len(batch) / (time.perf_counter() - t))
                assert len(stored) == len(batch), "every event of a batch is new"
    finally:
        for e in engines.values():
            await e.dispose()
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--prefill", type=int, default=1_000_000)
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--batch", type=int, default=2000)
    args = p.parse_args()
    events = simulate(args.prefill + args.batches * args.batch)
    old, new = events[:args.prefill], events[args.prefill:]
    batches = [[Accepted(RawRecord("raw", 0, args.prefill + i * args.batch + j, None, None), ev,
                         encode_event(ev))
                for j, ev in enumerate(new[i * args.batch:(i + 1) * args.batch])]
               for i in range(args.batches)]
    tmp = tempfile.mkdtemp(prefix="fw-hist-")
    names: list[str] = []
    if args.db == "sqlite":
        urls = {k: f"sqlite+aiosqlite:///{tmp}/{k}.db" for k in ("with", "without")}
    else:
        names = [f"floorwatch_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        urls = {k: pg_url(n) for k, n in zip(("with", "without"), names, strict=True)}
    try:
        for n in names:
            asyncio.run(pg(f'CREATE DATABASE "{n}"'))
        for k, url in urls.items():
            upgrade(url)
            if k == "without":
                async def drop(u: str = url) -> None:
                    engine = make_engine(u)
                    async with engine.begin() as conn:
                        await conn.execute(text("DROP INDEX ix_events_ts"))
                    await engine.dispose()
                asyncio.run(drop())
            t = time.perf_counter()
            asyncio.run(prefill(url, old))
            print(f"{k} ix_events_ts: {len(old):,} events pre-filled in {time.perf_counter() - t:.0f} s",
                  flush=True)
        rates = asyncio.run(measure(urls, batches))
        med = {k: statistics.median(v) for k, v in rates.items()}
        for k, v in rates.items():
            q = statistics.quantiles(v, n=10)
            print(f"{args.db} {k} ix_events_ts: median {med[k]:,.0f} events/s "
                  f"(p10 {q[0]:,.0f}, p90 {q[-1]:,.0f}) over {len(v)} batches of {args.batch}")
        ratios = [a / b for a, b in zip(rates["with"], rates["without"], strict=True)]
        r10, r90 = statistics.quantiles(ratios, n=10)[0], statistics.quantiles(ratios, n=10)[-1]
        print(f"with / without, batch by batch: median x{statistics.median(ratios):.3f} "
              f"(p10 x{r10:.3f}, p90 x{r90:.3f})")
    finally:
        for n in names:
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
