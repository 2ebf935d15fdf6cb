"""Periodic engine snapshots are written on the event loop, not waited for by the consumer thread
(issue 14: on a busy machine each save held the engine for 40-120 ms every 5 s, waiting behind the
transitions queued on the loop). What must still hold: offsets are committed only once their
snapshot is written, a failed write stops the consumer loop as before, a save on revocation lands
after the periodic one still being written, and writes never pile up. Encoded in a forked child
(``services/alerts/forked.py``), the bytes are the engine's at the fork, and a failed child costs
that one snapshot, not the service."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import threading
import time
from typing import Any

import orjson
import pytest

from services.alerts.core import Engine, load_rules
from services.alerts.service import AlertsWorker, Partition
from shared.runtime import LoopThread
from tests.support.alertsworker import shell

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
RULES = load_rules(
    "rules:\n  - {name: waiting, metric: calls_waiting, scope: queue, op: '>', value: 5}\n", name="t"
)


class Producer:
    def send(self, topic: str, *, key: bytes, value: bytes) -> None:
        pass

    def flush(self) -> None:
        pass


class Consumer:
    def __init__(self) -> None:
        self.committed: list[tuple[str, dict[int, int]]] = []  # ("sync" | "async", partition -> offset)

    def commit(self, offsets: Any) -> None:
        self.committed.append(("sync", {tp.partition: o.offset for tp, o in offsets.items()}))

    def commit_async(self, offsets: Any, callback: Any = None) -> None:
        self.committed.append(("async", {tp.partition: o.offset for tp, o in offsets.items()}))


class GatedStore:
    """Snapshot writes that wait for ``gate`` (a slow database) and may fail."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started: list[int] = []  # next_offset of each write, in the order they began
        self.written: list[int] = []  # ... and in the order they were written
        self.fail: BaseException | None = None

    async def save_snapshot(self, topic: str, partition: int, next_offset: int, data: bytes,
                            side: dict[str, int], now: dt.datetime) -> None:
        self.started.append(next_offset)
        await asyncio.to_thread(self.gate.wait, 10)
        if self.fail is not None:
            raise self.fail
        self.written.append(next_offset)

    async def record(self, transitions: Any, now: dt.datetime) -> None:
        pass


class Record:
    def __init__(self, offset: int) -> None:
        self.topic, self.partition, self.offset = "events", 0, offset
        self.value = orjson.dumps({
            "v": 1, "id": f"e{offset}", "source": "s", "type": "call.queued", "site": "s",
            "ts": (T0 + dt.timedelta(seconds=offset)).isoformat(), "call": f"c{offset}", "queue": "q",
        })


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0

    def wall(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.mono - 1000.0)


STORES: list[GatedStore] = []


@pytest.fixture
def loop() -> Any:
    real = LoopThread("test-snapshot-loop")
    yield real
    for store in STORES:  # let a write a failed test left at the gate finish
        store.gate.set()
    STORES.clear()
    real.drain()
    real.stop()


def setup(loop: LoopThread) -> tuple[AlertsWorker, GatedStore, Consumer, Clock]:
    store, consumer, clock = GatedStore(), Consumer(), Clock()
    STORES.append(store)
    w = shell(consumer=consumer, producer=Producer(), store=store, loop=loop, rules=RULES,
              wall=clock.wall, monotonic=lambda: clock.mono, snapshot_interval_s=5.0)
    w.parts[0] = Partition(Engine(RULES), replay_until=0)
    return w, store, consumer, clock


def in_thread(fn: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def until(cond: Any, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_the_consumer_thread_does_not_wait_for_the_write(loop: LoopThread) -> None:
    w, store, consumer, clock = setup(loop)
    w.handle([Record(0), Record(1)])
    clock.mono += 5.0
    step = in_thread(w.on_idle)
    step.join(2.0)
    assert not step.is_alive(), "on_idle waited for the database"
    until(lambda: store.started == [2])
    assert store.written == []
    assert consumer.committed == []  # not before the snapshot is written
    w.on_idle()  # still being written: nothing to commit yet, and no second write
    assert consumer.committed == [] and store.started == [2]
    store.gate.set()
    until(lambda: store.written == [2])
    until(lambda: (w.on_idle(), consumer.committed)[1] != [])
    assert consumer.committed == [("async", {0: 2})]


def test_writes_do_not_pile_up_while_one_is_slow(loop: LoopThread) -> None:
    w, store, _consumer, clock = setup(loop)
    w.handle([Record(0)])
    for n in range(1, 4):
        clock.mono += 5.0
        w.handle([Record(n)])
        w.on_idle()
        until(lambda: store.started == [2])
    assert store.started == [2]  # the intervals that found it still being written skipped theirs
    store.gate.set()
    until(lambda: store.written == [2])
    w.on_idle()
    clock.mono += 5.0
    w.on_idle()
    until(lambda: store.written == [2, 4])


def test_a_failed_write_costs_that_snapshot_and_the_next_one_is_written(loop: LoopThread) -> None:
    """Until 2026-12-08 a failed write stopped the loop at the next step: the database away
    stopped the alerts. Now it costs that snapshot (a restart would replay from the one before)."""
    w, store, consumer, clock = setup(loop)
    w.handle([Record(0)])
    store.fail = OSError("disk full")
    clock.mono += 5.0
    w.on_idle()
    store.gate.set()
    until(lambda: w._saving[0][0].done())
    w.on_idle()
    assert w.failed is None and store.written == [] and consumer.committed == []
    store.fail = None
    w.handle([Record(1)])
    clock.mono += 5.0
    w.on_idle()
    until(lambda: w._saving[0][0].done())
    w.on_idle()
    assert store.written == [2] and consumer.committed


def test_a_save_on_revocation_lands_after_the_periodic_one(loop: LoopThread) -> None:
    from kafka.structs import TopicPartition

    w, store, consumer, clock = setup(loop)
    w.handle([Record(0)])
    clock.mono += 5.0
    w.on_idle()  # periodic write of offset 1, held at the gate
    until(lambda: store.started == [1])
    w.handle([Record(1), Record(2)])
    revoke = in_thread(w.on_partitions_revoked, [TopicPartition("events", 0)])
    revoke.join(0.5)
    assert revoke.is_alive(), "the revocation's save did not wait for the periodic write"
    assert store.started == [1]
    store.gate.set()
    revoke.join(5.0)
    assert not revoke.is_alive()
    assert store.written == [1, 3]  # in order: the newer snapshot is the one that stays
    w.on_idle()
    assert consumer.committed == []  # a revoked partition's offsets are not committed


# -- encoded in a forked child ------------------------------------------------------------------


class KeptStore(GatedStore):
    def __init__(self) -> None:
        super().__init__()
        self.gate.set()
        self.data: list[bytes] = []

    async def save_snapshot(self, topic: str, partition: int, next_offset: int, data: bytes,
                            side: dict[str, int], now: dt.datetime) -> None:
        self.data.append(data)
        await super().save_snapshot(topic, partition, next_offset, data, side, now)


def test_the_child_encodes_the_engine_as_it_was_at_the_fork(loop: LoopThread) -> None:
    w, _store, consumer, clock = setup(loop)
    store = KeptStore()
    w.store, w.fork_snapshots = store, True  # type: ignore[assignment]
    w.handle([Record(n) for n in range(10)])
    clock.mono += 5.0
    w.on_idle()  # forks last: the engine here is still as the child saw it
    expected = w.parts[0].engine.snapshot()
    w.handle([Record(10)])  # the parent moves on while the child encodes: not in the snapshot
    until(lambda: store.written == [10])
    assert store.data == [expected] and w.parts[0].engine.snapshot() != expected
    until(lambda: (w.on_idle(), consumer.committed)[1] != [])
    assert consumer.committed == [("async", {0: 10})] and w.fork_snapshots


def test_a_failed_child_costs_one_snapshot_not_the_service(loop: LoopThread, caplog: Any) -> None:
    w, _store, consumer, clock = setup(loop)
    store = KeptStore()
    w.store, w.fork_snapshots = store, True  # type: ignore[assignment]
    w.handle([Record(0)])

    def broken() -> bytes:
        raise RuntimeError("encoder bug")

    w.parts[0].engine.snapshot = broken  # type: ignore[method-assign]  # the child's copy raises
    clock.mono += 5.0
    w.on_idle()
    until(lambda: w._saving[0][0].done())
    w.on_idle()  # settles: logged, not raised; no commit, nothing written
    assert store.written == [] and consumer.committed == [] and not w.fork_snapshots
    assert "snapshot of partition 0 not saved" in caplog.text and "exit status 70" in caplog.text
    del w.parts[0].engine.snapshot
    clock.mono += 5.0
    w.on_idle()  # the next one is encoded in the consumer thread
    until(lambda: store.written == [1])
    assert store.data == [w.parts[0].engine.snapshot()]


def test_encode_forked_gives_the_bytes_or_fails_in_time() -> None:
    from services.alerts.forked import ForkedEncodeFailed, encode_forked

    big = bytes(range(256)) * 40_000  # 10 MB: more than a pipe holds
    assert encode_forked(lambda: big, timeout_s=30).result(30) == big

    def slow() -> bytes:
        time.sleep(30)
        return b""

    began = time.monotonic()
    with pytest.raises(ForkedEncodeFailed, match="timed out"):
        encode_forked(slow, timeout_s=0.5).result(10)
    assert time.monotonic() - began < 5  # killed at its deadline, and reaped

    def dies() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b""

    with pytest.raises(ForkedEncodeFailed, match="killed by signal 9"):
        encode_forked(dies, timeout_s=30).result(30)

    def leaves() -> bytes:  # exit status 0, nothing delivered
        os._exit(0)

    with pytest.raises(ForkedEncodeFailed, match="nothing came"):
        encode_forked(leaves, timeout_s=30).result(30)
