"""The hub's fast path with in-memory sinks: idle clients get frames written by ``publish`` itself;
a client whose sink refuses falls back to the pending map (coalescing, resync) and comes back."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import orjson

from services.api.hub import Hub, HubOptions, Session

from . import samples
from .test_hub import connected, drain, feed, make, value


class MemorySink:
    """A FrameSink: keeps what it was given; refuses everything while ``full``."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.full = False

    def write_text(self, prefix: bytes, tail: bytes) -> bool:
        if self.full:
            return False
        self.frames.append(orjson.loads(prefix + tail))
        return True

    def take(self) -> list[dict[str, Any]]:
        out, self.frames = self.frames, []
        return out


def with_sink(hub: Hub) -> tuple[Session, MemorySink]:
    session = connected(hub)
    sink = MemorySink()
    hub.set_sink(session, session.writer_gen, sink)
    assert [m["type"] for m in drain(hub, session)] == ["hello"]  # the writer sends the hello...
    session.wake.clear()  # ...and waits to be woken
    return session, sink


def test_idle_clients_get_frames_from_publish_without_their_writer() -> None:
    hub, registry, _ = make()
    session, sink = with_sink(hub)
    feed(hub, "alert", samples.alert("fp-1"))
    feed(hub, "floor", samples.floor("bj-01", seq=7))
    got = sink.take()
    assert [(m["type"], m["seq"]) for m in got] == [("alert", 2), ("floor", 3)]
    assert got[0]["alert"]["fingerprint"] == "fp-1"
    assert (got[1]["site"], got[1]["floor"]["seq"]) == ("bj-01", 7)
    assert not session.pending
    assert not session.wake.is_set()  # nothing for the writer to do
    assert hub.next_frame(session) is None
    assert value(registry, "floorwatch_ws_messages_sent_total", type="alert") == 1
    assert value(registry, "floorwatch_ws_messages_sent_total", type="floor") == 1
    # the directly written frames are in the replay log with their seqs
    assert [orjson.loads(t)["seq"] for t in hub.replay(session, 1) or []] == [2, 3]


def test_a_full_client_is_coalesced_and_resynced_while_the_idle_one_is_served_at_once() -> None:
    hub, registry, _ = make(HubOptions(max_alert_backlog=3))
    lagging, lagging_sink = with_sink(hub)
    fast, fast_sink = with_sink(hub)
    lagging_sink.full = True
    for i in range(10):
        feed(hub, "floor", samples.floor("bj-01", seq=i))
        feed(hub, "alert", samples.alert(f"fp-{i}"))
        got = fast_sink.take()  # served by publish itself, every time
        assert [(m["type"], m["seq"]) for m in got] == [("floor", 2 + 2 * i), ("alert", 3 + 2 * i)]
    assert lagging_sink.frames == []
    # timeline (lagging): floor 0, fp-0..fp-2 queued, floors 1..3 coalesced into one -> fp-3 makes
    # 4 > 3 alerts -> dropped, resync owed -> floors / alerts 4..9 skipped (the resync carries them)
    assert lagging.snapshot_due == "resync"
    assert value(registry, "floorwatch_ws_dropped_total", reason="floor_coalesced") == 3
    assert value(registry, "floorwatch_ws_dropped_total", reason="alert_overflow") == 4
    assert value(registry, "floorwatch_ws_resyncs_total") == 1
    assert lagging.wake.is_set() and not fast.wake.is_set()

    # its buffer drains: the writer sends the resync; then it is back on the fast path
    lagging_sink.full = False
    got = drain(hub, lagging)
    assert [(m["type"], m["seq"]) for m in got] == [("resync", 2)]
    assert got[0]["floor"]["bj-01"]["seq"] == 9
    assert len(got[0]["alerts"]) == 10
    feed(hub, "alert", samples.alert("fp-after"))
    assert [(m["type"], m["seq"]) for m in lagging_sink.take()] == [("alert", 3)]
    assert [(m["type"], m["seq"]) for m in fast_sink.take()] == [("alert", 22)]


def test_nothing_overtakes_what_is_pending_or_being_sent() -> None:
    hub, _, _ = make()
    session, sink = with_sink(hub)
    sink.full = True
    feed(hub, "alert", samples.alert("fp-1"))  # refused -> pending
    sink.full = False
    feed(hub, "alert", samples.alert("fp-2"))  # fp-1 still pending: must queue behind it
    assert sink.frames == []
    first = hub.next_frame(session)  # the writer takes fp-1 (seq 2)...
    second = hub.next_frame(session)  # ...and fp-2 (seq 3), and is awaiting that send:
    assert first is not None and second is not None and not session.pending
    session.sending = True
    feed(hub, "alert", samples.alert("fp-3"))  # nothing pending, but fp-3 may not pass fp-2
    assert sink.frames == []
    session.sending = False
    rest = drain(hub, session)
    got = [orjson.loads(first), orjson.loads(second), *rest]
    assert [(m["alert"]["fingerprint"], m["seq"]) for m in got] == [("fp-1", 2), ("fp-2", 3), ("fp-3", 4)]
    hub.control(session, "pong", {})  # a queued control goes first too
    feed(hub, "alert", samples.alert("fp-4"))
    assert sink.frames == []
    assert [m["type"] for m in drain(hub, session)] == ["pong", "alert"]
    feed(hub, "alert", samples.alert("fp-5"))
    assert [(m["alert"]["fingerprint"], m["seq"]) for m in sink.take()] == [("fp-5", 7)]


def test_the_sink_belongs_to_one_connection() -> None:
    hub, _, _ = make()
    session, old_sink = with_sink(hub)
    old_gen = session.writer_gen
    new_gen = hub.attach(session)  # resumed on a second connection
    hub.set_sink(session, old_gen, old_sink)  # a late call from the superseded writer is ignored
    feed(hub, "alert", samples.alert("fp-1"))
    assert old_sink.frames == []
    new_sink = MemorySink()
    hub.set_sink(session, new_gen, new_sink)
    feed(hub, "alert", samples.alert("fp-2"))  # behind fp-1, which the new writer has to send
    assert new_sink.frames == []
    assert [m["alert"]["fingerprint"] for m in drain(hub, session)] == ["fp-1", "fp-2"]
    feed(hub, "alert", samples.alert("fp-3"))
    assert [m["alert"]["fingerprint"] for m in new_sink.take()] == ["fp-3"]
    hub.detach(session, new_gen)
    feed(hub, "alert", samples.alert("fp-4"))  # detached: collected for a resume, not written
    assert new_sink.frames == [] and len(session.pending) == 1


def test_closing_sessions_get_nothing_written() -> None:
    hub, _, _ = make()
    session, sink = with_sink(hub)
    hub.close(session, 1001)
    feed(hub, "alert", samples.alert("fp-1"))
    assert sink.frames == []


def test_publish_outside_a_loop_leaves_the_collector_as_it_found_it() -> None:
    hub, _, _ = make()
    with_sink(hub)
    assert gc.isenabled()
    feed(hub, "alert", samples.alert("fp-1"))
    assert gc.isenabled()
    gc.disable()
    try:
        feed(hub, "alert", samples.alert("fp-2"))
        assert not gc.isenabled()  # never switched on by the hub
    finally:
        gc.enable()


async def test_a_burst_in_one_iteration_runs_without_the_collector_until_it_is_flushed() -> None:
    # publish ×3 (same iteration) | next iteration: sinks flushed, then the collector resumes
    hub, _, _ = make()
    _, sink = with_sink(hub)
    for i in range(3):
        feed(hub, "alert", samples.alert(f"fp-{i}"))
        assert not gc.isenabled()
    assert len(sink.take()) == 3
    await asyncio.sleep(0)
    assert gc.isenabled()
    hub.close_all(1001)
    assert gc.isenabled()


def test_heartbeats_come_from_the_ticker_directly_or_through_a_busy_writer() -> None:
    # t=0 sinks set | t=14 tick: nothing due | t=15 tick: idle → written, busy → queued | t=16: nothing
    hub, registry, clock = make(HubOptions(heartbeat_s=15.0))
    _, idle_sink = with_sink(hub)
    busy, busy_sink = with_sink(hub)
    plain = connected(hub)  # no sink: its writer keeps its own heartbeat timer
    drain(hub, plain)
    busy.sending = True
    clock.now += 14
    hub.beat({"ts": "t14"})
    assert idle_sink.take() == [] and not busy.controls
    clock.now += 1
    hub.beat({"ts": "t15"})
    assert idle_sink.take() == [{"type": "heartbeat", "seq": 2, "ts": "t15"}]
    assert busy_sink.take() == [] and busy.wake.is_set()
    busy.sending = False
    assert [(m["type"], m["seq"], m["ts"]) for m in drain(hub, busy)] == [("heartbeat", 2, "t15")]
    assert hub.next_frame(plain) is None
    clock.now += 1
    hub.beat({"ts": "t16"})
    assert idle_sink.take() == []
    assert value(registry, "floorwatch_ws_messages_sent_total", type="heartbeat") == 2


async def test_the_collector_pause_of_a_long_burst_is_bounded() -> None:
    # t=0 publish: pause | t=0.3: still paused | t=0.6 (> gc_pause_max_s 0.5): collector back on, and
    # no new pause for the rest of this iteration | next iteration: a new burst may pause again
    hub, _, clock = make(HubOptions(gc_pause_max_s=0.5))
    _, sink = with_sink(hub)
    try:
        feed(hub, "alert", samples.alert("fp-0"))
        assert not gc.isenabled()
        clock.now += 0.3
        feed(hub, "alert", samples.alert("fp-1"))
        assert not gc.isenabled()
        clock.now += 0.3
        feed(hub, "alert", samples.alert("fp-2"))
        assert gc.isenabled()
        feed(hub, "alert", samples.alert("fp-3"))
        assert gc.isenabled()
        assert len(sink.take()) == 4
        await asyncio.sleep(0)
        assert gc.isenabled()
        feed(hub, "alert", samples.alert("fp-4"))
        assert not gc.isenabled()
        await asyncio.sleep(0)
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_no_collector_pause_when_the_bound_is_zero() -> None:
    hub, _, _ = make(HubOptions(gc_pause_max_s=0))
    _, sink = with_sink(hub)
    feed(hub, "alert", samples.alert("fp-0"))
    assert gc.isenabled()
    assert len(sink.take()) == 1
