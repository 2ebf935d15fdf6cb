"""The alerts shell's handover check, per batch: what it adds to ``AlertsWorker.handle`` in the
first minute after an assignment (issue 14).

Three workers in one process, each owning one partition, fed the same kind of batches in turn
(interleaved, the order rotating, so load on the machine hits them alike), with the real alert
store and loop thread:

* ``no check``: assigned more than ``HANDOVER_CHECK_S`` ago (the baseline);
* ``in memory``: within the window, what previous owners published read whole from the alerts
  topic at the assignment (here: nothing, as on a fresh start) -- the check as it is now;
* ``history``: within the window, ``read_published`` not exact (unaligned topics, read failed):
  the history is asked for every batch with a transition -- what every assignment did before.

Each batch is ``--batch`` events of a floor under load plus one probe call queued on a queue of
its own and one abandoned (the rule ``calls_waiting > 0`` fires and resolves), as in
``benchmarks/alert_latency.py``: two transitions per batch. The broker is a stub (a send costs
nothing), so the figures are the engine step and the check alone.

    .venv/bin/python -m benchmarks.handover_check [--batches 2000] [--batch 40] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from typing import Any

import orjson
from kafka.structs import TopicPartition

from services.alerts.core import load_rules
from services.alerts.service import HANDOVER_CHECK_S, AlertsWorker, Published
from shared.db import make_engine
from shared.migrate import upgrade
from shared.runtime import LoopThread
from tests.support.alertsworker import CountingStore, shell

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
RULES = load_rules(
    """
rules:
  - {name: probe, metric: calls_waiting, scope: queue, match: {queue: probe}, op: ">", value: 0}
""",
    name="bench",
)
MODES = ("no check", "in memory", "history")


class Stub:
    """Producer and consumer: nothing sent (only counted), nothing to seek, an empty partition."""

    def __init__(self) -> None:
        self.alerts = 0

    def send(self, topic: str, *, key: bytes, value: bytes) -> None:
        self.alerts += topic == "alerts"

    def flush(self) -> None:
        pass

    def seek(self, tp: Any, offset: int) -> None:
        pass

    def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: 0 for tp in tps}

    def highwater(self, tp: Any) -> int | None:
        return None  # as before any fetch: the stated end stands

    def commit(self, offsets: Any) -> None:
        pass


class Rec:
    __slots__ = ("offset", "partition", "topic", "value")

    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.value = "events", 0, offset, value


class Feed:
    """Batches for one site: a steady floor of calls queued and answered on 20 queues by 400
    agents, plus one probe call that queues and is abandoned (two transitions)."""

    def __init__(self, site: str, batch: int) -> None:
        self.site, self.batch, self.n = site, batch, 0
        self.offset = 0

    def _ev(self, etype: str, at: dt.datetime, **fields: Any) -> Rec:
        self.n += 1
        value = orjson.dumps({"v": 1, "id": f"e{self.n}", "source": "pbx", "type": etype,
                              "site": self.site, "ts": at.isoformat(), **fields})
        self.offset += 1
        return Rec(self.offset - 1, value)

    def next(self, k: int) -> list[Rec]:
        at = T0 + dt.timedelta(seconds=k * 0.04)
        out = [self._ev("call.queued", at, call=f"p{k}", queue="probe")]
        for i in range(self.batch - 2):
            c = k * self.batch + i
            if i % 2 == 0:
                out.append(self._ev("call.queued", at, call=f"c{c}", queue=f"q{c % 20}"))
            else:
                out.append(self._ev("call.answered", at, call=f"c{c - 1}", queue=f"q{(c - 1) % 20}",
                                    agent=f"a{c % 400}"))
        out.append(self._ev("call.abandoned", at, call=f"p{k}", queue="probe"))
        return out


def worker(mode: str, store: CountingStore, loop: LoopThread, mono: list[float]) -> AlertsWorker:
    read = None if mode == "history" else (lambda number, offset, timeout_s: Published(frozenset(), 0))
    w = shell(
        consumer=Stub(),
        producer=Stub(),
        store=store,
        loop=loop,
        rules=RULES,
        wall=lambda: T0 + dt.timedelta(seconds=mono[0]),
        monotonic=lambda: mono[0],
        read_published=read,
    )
    w.on_partitions_assigned([TopicPartition("events", 0)])
    if mode == "no check":
        w.parts[0].assigned_at -= HANDOVER_CHECK_S + 1
    return w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=2000, help="batches per worker")
    ap.add_argument("--batch", type=int, default=40, help="events per batch")
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        loop = LoopThread("bench-loop")
        db = make_engine(url)
        mono = [1000.0]
        store = CountingStore(db, "bench")
        stamp = f"{time.time_ns() % 10**9}"  # transition ids of this run only, on a shared database
        workers = {m: worker(m, store, loop, mono) for m in MODES}
        feeds = {m: Feed(f"{m.replace(' ', '-')}-{stamp}", args.batch) for m in MODES}
        times: dict[str, list[float]] = {m: [] for m in MODES}
        asked = {m: 0 for m in MODES}
        for k in range(args.batches):
            for m in MODES[k % 3:] + MODES[:k % 3]:  # each in each place of the turn: the recording
                # a step leaves to the loop thread runs during the next one's
                batch = feeds[m].next(k)
                before = store.asked
                t = time.perf_counter()
                workers[m].handle(batch)
                times[m].append(time.perf_counter() - t)
                asked[m] += store.asked - before
            mono[0] += 0.02  # 2,000 batches: 40 s, all inside the window
        loop.drain()
        base = statistics.median(times["no check"])
        print(f"{args.batches} batches of {args.batch} events per worker; {url.split(':')[0]}")
        for m in MODES:
            ms = sorted(x * 1000 for x in times[m])
            q = statistics.quantiles(ms, n=100)
            print(f"  {m:9}  p50 {q[49]:6.2f} ms  p99 {q[98]:6.2f} ms  mean {statistics.mean(ms):6.2f} ms"
                  f"  p50 / no check {q[49] / (base * 1000):4.2f}  history asked {asked[m]} times,"
                  f" {workers[m].producer.alerts} transitions published")  # type: ignore[attr-defined]
        loop.call(db.dispose())
        loop.stop()


if __name__ == "__main__":
    main()
