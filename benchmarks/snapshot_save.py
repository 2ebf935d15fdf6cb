"""How long a periodic engine snapshot holds up the alerts service's consumer thread.

    .venv/bin/python -m benchmarks.snapshot_save [--db URL] [--rounds 8]

Builds ``engine_throughput``'s floor (5,000 agents, 200 queues, 200,000 events through the engine
with all default rules), then, per round and in the same process, times on the calling thread:

* encoding the engine (``Engine.snapshot()``), the part that has to run there;
* ``AlertsWorker._save`` waiting for the database write, as every periodic save did before;
* ``AlertsWorker._save`` with the write on the event loop (``wait=False``), the engine encoded in
  the consumer thread (``FLOORWATCH_SNAPSHOT_FORK=false``);
* the same with the engine encoded in a forked child (``services/alerts/forked.py``, the
  default): the thread pays for the fork only.

Each write is waited for outside the timing, so rounds do not overlap.

The store is the real ``AlertStore`` on the database given (default: a fresh SQLite file; e.g.
``--db postgresql+asyncpg://postgres@127.0.0.1:5432/test``), migrated to the current schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from typing import Any

from benchmarks.engine_throughput import floor_events
from services.alerts.core import Engine, default_rules
from services.alerts.service import Partition
from services.alerts.store import AlertStore
from shared.db import make_engine, shown_url
from shared.migrate import upgrade
from shared.runtime import LoopThread
from tests.support.alertsworker import shell


class _Producer:
    def send(self, *args: Any, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass


class _Consumer:
    def commit(self, offsets: Any) -> None:
        pass

    def commit_async(self, offsets: Any, callback: Any = None) -> None:
        pass


def _ms(xs: list[float]) -> str:
    lo, mid, hi = (x * 1000 for x in (min(xs), statistics.median(xs), max(xs)))
    return f"median {mid:5.0f} ms (min {lo:.0f}, max {hi:.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--queues", type=int, default=200)
    ap.add_argument("--events", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/snapshots.db"
        upgrade(url)
        engine = Engine(default_rules())
        for ev in floor_events(args.agents, args.queues, args.events, 120.0):
            engine.on_event(ev)
        loop = LoopThread("snapshot-bench")
        db = make_engine(url)
        group = f"bench-{os.getpid()}"
        w = shell(consumer=_Consumer(), producer=_Producer(), store=AlertStore(db, group), loop=loop,
                  rules=engine.rules, wall=lambda: dt.datetime.now(dt.UTC))
        part = Partition(engine, replay_until=0)
        part.next_offset = args.events
        w.parts[0] = part
        load_at_start = os.getloadavg()[0]
        encode: list[float] = []
        waited: list[float] = []
        on_loop: list[float] = []
        forked: list[float] = []
        size = 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            size = len(engine.snapshot())
            encode.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            w._save(0, part, wait=True)
            waited.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            w._save(0, part, wait=False)
            on_loop.append(time.perf_counter() - t0)
            w._finish_save(0)
            w.fork_snapshots = True
            t0 = time.perf_counter()
            w._save(0, part, wait=False)
            forked.append(time.perf_counter() - t0)
            w._finish_save(0)
            assert w.fork_snapshots, "the encoder child failed"
            w.fork_snapshots = False
        print(f"database {shown_url(url)}; floor of {args.agents:,} agents after {args.events:,} events; "
              f"snapshot {size / 2**20:.1f} MiB; {args.rounds} rounds")
        print(f"  encoding alone                      {_ms(encode)}")
        print(f"  consumer thread, write waited for   {_ms(waited)}")
        print(f"  consumer thread, write on the loop  {_ms(on_loop)}")
        print(f"  ... encoded in a forked child       {_ms(forked)}")
        print(f"  load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
              f"({os.cpu_count()} cores)")
        loop.call(db.dispose())
        loop.stop()


if __name__ == "__main__":
    main()
