"""The handover check (docs/reliability.md, *Scale-out*) with the real alert store, on SQLite and
on PostgreSQL: owners of one events partition follow each other (each restores the last snapshot
and replays), and every transition reaches the alerts topic exactly once -- none twice, none lost.

What a previous owner published is read once from the alerts topic at the assignment and checked
in memory; the history is asked batch by batch only when that read cannot be exact. The broker is
a fake here (one alerts partition, written by the owners' producers); the real reader,
``services.alerts.main.read_published``, is tested against the real broker at the end."""

from __future__ import annotations

import collections
import datetime as dt
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.structs import TopicPartition

from services.alerts.core import load_rules
from services.alerts.main import read_published
from services.alerts.service import AlertsWorker, NotOnTopic, Published
from services.alerts.store import AlertStore
from shared.config import Settings
from shared.db import make_engine
from shared.kafka import ensure_topics, make_producer
from shared.runtime import LoopThread
from tests.support.alertsworker import CountingStore, shell

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
RULES = load_rules(
    """
rules:
  - {name: backlog, metric: calls_waiting, scope: queue, match: {queue: sales}, op: ">", value: 2, clear: 0}
  - {name: long-wait, metric: longest_wait_s, scope: queue, match: {queue: hold}, op: ">", value: 30}
""",
    name="t",
)
EVENTS = TopicPartition("events", 0)


class Broker:
    """The events partition and the alerts partition of the same number, as the owners wrote them."""

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.alerts: list[dict[str, Any]] = []
        self.exact = True  # False: as if the alerts topic had another partition count
        # transition ids follow from site and rule: a site of its own in PostgreSQL's shared history
        self.site = f"s-{uuid.uuid4().hex[:8]}"

    def add(self, etype: str, at_s: float, call: str, queue: str = "sales", **fields: Any) -> None:
        self.events.append(orjson.dumps({
            "v": 1, "id": f"e{len(self.events)}", "source": "pbx", "type": etype, "site": self.site,
            "ts": (T0 + dt.timedelta(seconds=at_s)).isoformat(), "call": call, "queue": queue, **fields,
        }))

    def read(self, number: int, offset: int, timeout_s: float) -> Published | None:
        if not self.exact:
            return None
        if offset > len(self.alerts):
            raise NotOnTopic(f"offset {offset} is past the end {len(self.alerts)}")
        return Published(frozenset(w["transition_id"] for w in self.alerts[offset:]), len(self.alerts))

    def batch(self, start: int, end: int) -> list[Any]:
        return [SimpleNamespace(topic="events", partition=0, offset=o, value=self.events[o])
                for o in range(start, end)]

    def ids(self) -> list[str]:
        return [w["transition_id"] for w in self.alerts]


class Sent:
    def __init__(self, offset: int | None) -> None:
        self.value = None if offset is None else SimpleNamespace(partition=0, offset=offset)

    def succeeded(self) -> bool:
        return self.value is not None

    def failed(self) -> bool:
        return self.value is None

    @property
    def exception(self) -> Exception | None:
        return None if self.value is not None else KafkaError("delivery timed out")


class Producer:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.lose: Callable[[dict[str, Any]], bool] = lambda w: False  # its send fails
        self.lost: list[str] = []

    def send(self, topic: str, *, key: bytes, value: bytes) -> Sent | None:
        if topic != "alerts":
            return None
        w = orjson.loads(value)
        if self.lose(w):
            self.lost.append(w["transition_id"])
            return Sent(None)
        self.broker.alerts.append(w)
        return Sent(len(self.broker.alerts) - 1)

    def flush(self) -> None:
        pass


class Consumer:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def seek(self, tp: Any, offset: int) -> None:
        pass

    def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: len(self.broker.events) for tp in tps}

    def highwater(self, tp: Any) -> int | None:
        return None  # as before any fetch: the stated end stands

    def commit(self, offsets: Any) -> None:
        pass


class Loop:
    """The real loop thread; after ``die_recording`` no transition reaches the history (the owner
    dies between publishing and recording)."""

    def __init__(self, real: LoopThread) -> None:
        self.real, self.recording = real, True

    def call(self, coro: Any) -> Any:
        return self.real.call(coro)

    def submit(self, coro: Any, *, what: str) -> None:
        if self.recording:
            self.real.submit(coro, what=what)
        else:
            coro.close()


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0

    def wall(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.mono - 1000.0)


class Owners:
    """Successive owners of events partition 0 over one broker and one database."""

    def __init__(self, url: str) -> None:
        self.db = make_engine(url)
        self.loop = LoopThread("test-alerts-loop")
        self.broker, self.clock = Broker(), Clock()
        self.group = f"g-{uuid.uuid4().hex[:8]}"  # snapshots of its own in PostgreSQL's shared database

    def take(self, assign: tuple[TopicPartition, ...] = (EVENTS,), **given: Any
             ) -> tuple[AlertsWorker, CountingStore, Loop, Producer]:
        """A new owner: assigned partition 0 now (restoring the last snapshot, if any)."""
        store, loop, producer = CountingStore(self.db, self.group), Loop(self.loop), Producer(self.broker)
        w = shell(**{
            "consumer": Consumer(self.broker),
            "producer": producer,
            "store": store,
            "loop": loop,
            "rules": RULES,
            "wall": self.clock.wall,
            "monotonic": lambda: self.clock.mono,
            "read_published": self.broker.read,
            **given,
        })
        w.on_partitions_assigned(list(assign))
        return w, store, loop, producer

    def history(self, *also: str) -> set[str]:
        """Which of the transitions on the topic (and ``also``) the history holds."""
        self.loop.drain()
        return self.loop.call(AlertStore(self.db, self.group).known_transitions([*self.broker.ids(), *also]))

    def close(self) -> None:
        self.loop.drain()
        self.loop.call(self.db.dispose())
        self.loop.stop()


@pytest.fixture
def owners(sql_url: str) -> Any:
    o = Owners(sql_url)
    yield o
    o.close()


def once_each(ids: list[str]) -> dict[str, int]:
    """Transition ids on the topic more than once (empty: none twice)."""
    return {i: n for i, n in collections.Counter(ids).items() if n > 1}


def test_a_fresh_start_publishes_at_once_and_never_asks_the_history(owners: Owners) -> None:
    """No snapshot and nothing on the alerts partition: nobody can have published anything, so
    nothing is checked (the old check asked the history for every such batch for 60 s)."""
    b = owners.broker
    w, store, _, _ = owners.take()
    for i in range(3):
        b.add("call.queued", 1, f"c{i}")
    for i in range(3):
        b.add("call.answered", 2, f"c{i}", agent="a1")
    w.handle(b.batch(0, 3))
    w.handle(b.batch(3, 6))
    assert [w_["state"] for w_ in b.alerts] == ["firing", "resolved"]
    assert store.asked == 0
    assert owners.history() == set(b.ids())


def test_no_snapshot_but_transitions_on_the_topic_are_not_published_again(owners: Owners) -> None:
    """The previous owner died before its first snapshot: the new one replays from the start and
    finds its transitions on the alerts partition, recorded or not."""
    b = owners.broker
    a, _, a_loop, _ = owners.take()
    for i in range(3):
        b.add("call.queued", 1, f"c{i}")
    a.handle(b.batch(0, 3))  # firing: published and recorded
    for i in range(3):
        b.add("call.answered", 2, f"c{i}", agent="a1")
    a_loop.recording = False
    a.handle(b.batch(3, 6))  # resolved: published, then the owner dies before recording it
    assert len(b.alerts) == 2 and len(owners.history()) == 1
    owners.clock.mono += 10
    bw, store, _, _ = owners.take()
    bw.handle(b.batch(0, 6))  # the replay from the start
    for i in range(3, 6):
        b.add("call.queued", 11, f"c{i}")
    bw.handle(b.batch(6, 9))  # new: fires again
    assert once_each(b.ids()) == {}
    assert [w_["state"] for w_ in b.alerts] == ["firing", "resolved", "firing"]
    assert store.asked == 0


def _three_owners(owners: Owners) -> tuple[list[str], int]:
    """A runs past its window and snapshots, then publishes up to its death: a transition recorded
    in the history, one whose send failed (recorded, never on the topic), one raised by its clock
    and published but not recorded. B restores A's snapshot, replays part of the rest, publishes
    what A lost, snapshots in its own window, dies. C restores B's snapshot and runs on."""
    b, clock = owners.broker, owners.clock
    a, _, a_loop, a_producer = owners.take()
    for i in range(3):
        b.add("call.queued", 0, f"c{i}")
    for i in range(3):
        b.add("call.answered", 1, f"c{i}", agent="a1")
    a.handle(b.batch(0, 6))  # backlog firing, resolved
    clock.mono += 61  # past A's window
    a.on_idle()
    a.save_all()  # snapshot: events 0-6, its later transitions lie from alerts offset 2 on
    b.add("call.queued", 62, "h1", queue="hold")  # nobody answers: long-wait at 93 s
    for i in range(3, 6):
        b.add("call.queued", 62, f"c{i}")
    a.handle(b.batch(6, 10))  # backlog firing #2: published and recorded
    fired = [w_["transition_id"] for w_ in b.alerts]
    for i in range(3, 6):
        b.add("call.answered", 63, f"c{i}", agent="a1")
    a_producer.lose = lambda w: w["state"] == "resolved"  # its send fails: A's step fails
    with pytest.raises(KafkaError, match="1 of 1 alert transitions not published"):
        a.handle(b.batch(10, 13))
    assert a.failed is not None  # A stops: no snapshot is saved from this engine any more
    assert b.ids() == fired and len(a_producer.lost) == 1
    assert a_producer.lost[0] not in owners.history(*a_producer.lost)
    clock.mono = 1096.0
    a_loop.recording = False
    a.on_idle()  # a tick already under way as A stops: long-wait published, never recorded
    assert [w_["rule"] for w_ in b.alerts][-1] == "long-wait" and b.ids()[-1] not in owners.history()
    b.add("call.queued", 97, "c6")  # on the partition before B is assigned: B replays it too
    clock.mono = 1100.0
    bw, b_store, _, _ = owners.take()
    bw.handle(b.batch(6, 10))  # replay: backlog firing #2 again
    bw.handle(b.batch(10, 13))  # replay: resolved #2, which A lost
    bw.save_all()  # B's snapshot, still replaying and in its window; then B dies
    asked = b_store.asked
    clock.mono = 1105.0
    cw, c_store, _, _ = owners.take()
    cw.handle(b.batch(13, 14))
    clock.mono = 1140.0
    cw.on_idle()  # C's clock re-derives long-wait
    for i in range(7, 9):
        b.add("call.queued", 141, f"c{i}")
    cw.handle(b.batch(14, 16))  # c6, c7, c8 waiting: backlog firing #3, C's own
    return b.ids(), asked + c_store.asked


def test_three_owners_publish_every_transition_once_without_asking_the_history(owners: Owners) -> None:
    ids, asked = _three_owners(owners)
    assert once_each(ids) == {}
    states = [(w_["rule"], w_["state"]) for w_ in owners.broker.alerts]
    assert states == [
        ("backlog", "firing"), ("backlog", "resolved"), ("backlog", "firing"), ("long-wait", "firing"),
        ("backlog", "resolved"),  # lost by A, published by B
        ("backlog", "firing"),  # C's own
    ]
    assert asked == 0
    assert owners.history() == set(ids)


@pytest.mark.parametrize("read", ["misaligned", "failed"])
def test_without_an_exact_read_the_history_is_asked(owners: Owners, read: str) -> None:
    """Alerts and events topics not aligned (``read_published`` answers None), or the read failed:
    the history alone answers, batch by batch, as before -- what was recorded is not published
    again."""
    b = owners.broker
    if read == "misaligned":
        b.exact = False
    else:
        def fail(number: int, offset: int, timeout_s: float) -> Published:
            raise KafkaTimeoutError("not read")
        b.read = fail  # type: ignore[method-assign]
    a, _, _, _ = owners.take()
    for i in range(3):
        b.add("call.queued", 1, f"c{i}")
    a.handle(b.batch(0, 3))
    owners.history()  # recorded
    owners.clock.mono += 5
    bw, store, _, _ = owners.take()
    bw.handle(b.batch(0, 3))
    assert len(b.alerts) == 1 and store.asked == 1


def test_the_reads_at_an_assignment_share_one_time_budget(owners: Owners) -> None:
    """Each read gets what is left of one budget (the service passes half the consumer's
    max_poll_interval_ms: past it kafka-python leaves the group, and the same reads would come
    back at the next assignment). A partition left unread is checked against the history."""
    clock, given = owners.clock, []

    def slow(number: int, offset: int, timeout_s: float) -> Published:
        given.append((number, timeout_s))
        clock.mono += 2.0
        return Published(frozenset(), 0)

    three = tuple(TopicPartition("events", n) for n in range(3))
    w, _, _, _ = owners.take(three, read_published=slow, read_budget_s=2.5)
    w.handle([])
    assert given == [(0, 2.5), (1, 0.5)]
    assert [w.parts[n].exact for n in range(3)] == [True, True, False]


def test_an_alerts_offset_past_the_end_is_forgotten(owners: Owners) -> None:
    """The alerts topic came back empty (recreated; the embedded broker restarted) under a
    snapshot that notes an offset on it. The new owner asks the history, and does not hand the
    stale offset on (noted again, it would send every later owner past the end, or, once the
    topic has grown past it, past what lies before it): the next one reads the topic from 0."""
    b, clock = owners.broker, owners.clock
    a, _, _, _ = owners.take()
    for i in range(3):
        b.add("call.queued", 1, f"c{i}")
    a.handle(b.batch(0, 3))  # firing
    clock.mono += 61
    a.on_idle()
    a.save_all()  # notes alerts offset 1
    b.alerts.clear()
    clock.mono += 1
    bw, store, _, _ = owners.take()
    assert bw.parts[0].alerts_from == 1
    for i in range(3):
        b.add("call.answered", 2, f"c{i}", agent="a1")
    bw.handle(b.batch(3, 6))  # resolved: checked against the history
    assert store.asked == 1 and [w_["state"] for w_ in b.alerts] == ["resolved"]
    assert bw.parts[0].alerts_from == 0
    bw.save_all()  # in its window: the topic's start noted, not the stale offset
    cw, _, _, _ = owners.take()
    cw.handle([])
    assert cw.parts[0].alerts_from == 0 and cw.parts[0].exact
    assert cw.parts[0].published_ids == frozenset(b.ids())
    clock.mono += 61
    bw.on_idle()
    bw.save_all()  # past its window: what it published itself
    dw, _, _, _ = owners.take()
    assert dw.parts[0].alerts_from == 1


# -- the reader of the alerts topic, on the real broker -------------------------------------------------
@pytest.mark.kafka
def test_read_published_reads_all_or_says_it_cannot(settings: Settings) -> None:
    ensure_topics(settings)
    topic = settings.topic("alerts")
    assert read_published(settings, 1, 0) == Published(frozenset(), 0)  # a fresh start
    producer = make_producer(settings)
    for n in range(5):  # one batch: Tansu then states the partition's end as 1
        producer.send(topic, partition=1, value=orjson.dumps({"transition_id": f"fp:{n}"}))
    producer.send(topic, partition=1, value=b"not json")
    producer.flush()
    everything = Published(frozenset(f"fp:{n}" for n in range(5)), 6)
    assert read_published(settings, 1, 0) == everything
    assert read_published(settings, 1, 2) == Published(frozenset({"fp:2", "fp:3", "fp:4"}), 6)
    assert read_published(settings, 1, 6) == Published(frozenset(), 6)
    assert read_published(settings, 1, 0, limit=6) == everything
    assert read_published(settings, 1, 0, limit=5) is None  # more than it may hold: ask the history
    began = time.monotonic()
    with pytest.raises(NotOnTopic):  # past the end: not this topic's offset
        read_published(settings, 1, 9, timeout_s=30.0)
    assert time.monotonic() - began < 10  # told apart from a slow read, not timed out
    for n in range(5, 8):  # one record at a time
        producer.send(topic, partition=1, value=orjson.dumps({"transition_id": f"fp:{n}"}))
        producer.flush()
    producer.close()
    assert read_published(settings, 1, 6) == Published(frozenset({"fp:5", "fp:6", "fp:7"}), 9)
    assert read_published(settings, 0, 0) == Published(frozenset(), 0)
    with pytest.raises(NotOnTopic):  # an empty partition: at once
        read_published(settings, 0, 3)


@pytest.mark.kafka
def test_read_published_needs_aligned_partitions(settings: Settings) -> None:
    ensure_topics(settings.model_copy(update={"partitions": 3}), [settings.topic("alerts")])
    ensure_topics(settings, [settings.topic("events")])
    assert read_published(settings, 0, 0) is None
