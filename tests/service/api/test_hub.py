"""The hub on its own: fan-out, coalescing, overflow → resync, stuck clients, replay. No sockets."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from services.api.auth import Principal, Scope
from services.api.hub import CLOSE_TOO_SLOW, Hub, HubOptions, Session, frame
from services.api.metrics import ApiMetrics
from services.api.ports import FeedItem
from services.api.state import LiveState, Update

from . import samples

ADMIN = Principal("admin", Scope(), "admin", key="k-admin")
SALES = Principal("supervisor", Scope.of(sites=["bj-01"], queues=["sales"]), "alice", key="k-alice")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(options: HubOptions | None = None) -> tuple[Hub, CollectorRegistry, Clock]:
    registry = CollectorRegistry()
    live = LiveState()
    clock = Clock()
    return Hub(live, ApiMetrics(registry, live), options, clock=clock), registry, clock


def feed(hub: Hub, kind: str, doc: dict[str, Any]) -> None:
    site = doc["site"] if kind == "floor" else doc["scope"]["site"]
    update = hub.live.apply(FeedItem(kind, site, orjson.dumps(doc)))  # type: ignore[arg-type]
    assert isinstance(update, Update)
    hub.publish(update)


def drain(hub: Hub, session: Session) -> list[dict[str, Any]]:
    out = []
    while (text := hub.next_frame(session)) is not None:
        out.append(orjson.loads(text))
    return out


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def connected(hub: Hub, principal: Principal = ADMIN) -> Session:
    session = hub.open(principal)
    hub.attach(session)
    return session


def test_frame_splices_valid_json() -> None:
    spliced = frame("alert", 42, ',"alert":{"a":1}}')
    assert orjson.loads(spliced) == {"type": "alert", "seq": 42, "alert": {"a": 1}}
    assert orjson.loads(frame("heartbeat", 1, "}")) == {"type": "heartbeat", "seq": 1}


def test_a_client_that_never_reads_does_not_hold_back_the_others() -> None:
    hub, _, _ = make()
    stuck, fast = connected(hub), connected(hub)
    drain(hub, stuck)  # its hello; it reads nothing after that
    drain(hub, fast)
    for i in range(300):
        feed(hub, "floor", samples.floor("bj-01", seq=i))
        feed(hub, "alert", samples.alert(f"fp-{i}"))
        # the fast client is served right away every time, whatever the other one does
        got = drain(hub, fast)
        assert [m["type"] for m in got] == ["floor", "alert"]
        assert got[1]["alert"]["fingerprint"] == f"fp-{i}"


def test_floor_updates_coalesce_per_site_for_a_lagging_client() -> None:
    hub, registry, _ = make()
    session = connected(hub)
    drain(hub, session)
    for i in range(50):
        feed(hub, "floor", samples.floor("bj-01", seq=i, as_of=f"2026-11-28T09:{i:02d}:00+08:00"))
        feed(hub, "floor", samples.floor("sh-02", seq=i, as_of=f"2026-11-28T09:{i:02d}:00+08:00"))
    got = drain(hub, session)
    assert [(m["type"], m["site"], m["floor"]["seq"]) for m in got] == [("floor", "bj-01", 49),
                                                                        ("floor", "sh-02", 49)]
    assert [m["seq"] for m in got] == [2, 3]
    assert value(registry, "floorwatch_ws_dropped_total", reason="floor_coalesced") == 98


def test_alert_overflow_becomes_a_counted_resync() -> None:
    hub, registry, _ = make(HubOptions(max_alert_backlog=5))
    session = connected(hub)
    drain(hub, session)
    for i in range(8):
        feed(hub, "alert", samples.alert(f"fp-{i}"))
    got = drain(hub, session)
    # timeline: fp-0..fp-5 queued -> 6 > 5 -> dropped, resync owed; fp-6, fp-7 go into the resync
    assert [m["type"] for m in got] == ["resync"]
    assert sorted(a["fingerprint"] for a in got[0]["alerts"]) == [f"fp-{i}" for i in range(8)]
    assert got[0]["seq"] == 2
    assert value(registry, "floorwatch_ws_resyncs_total") == 1
    assert value(registry, "floorwatch_ws_dropped_total", reason="alert_overflow") == 6
    feed(hub, "alert", samples.alert("fp-after"))
    assert [m["alert"]["fingerprint"] for m in drain(hub, session)] == ["fp-after"]


def test_a_client_that_stays_stuck_is_closed_with_4008() -> None:
    hub, registry, clock = make(HubOptions(max_alert_backlog=2, max_resyncs=2, resync_window_s=60))
    session = connected(hub)
    drain(hub, session)
    for round_ in range(3):
        clock.now += 10
        for i in range(3):
            feed(hub, "alert", samples.alert(f"fp-{round_}-{i}"))
        assert session.closing is None if round_ < 2 else session.closing == CLOSE_TOO_SLOW
        drain(hub, session)  # it catches up with the resync, then falls behind again
    assert value(registry, "floorwatch_ws_slow_closes_total") == 1
    # once its connection is gone the session waits for a resume, with a clean slate
    hub.detach(session, session.writer_gen)
    assert hub.find(session.id, ADMIN) is session
    assert session.closing is None


def test_a_session_closed_for_shutdown_is_not_resumable() -> None:
    hub, _, _ = make()
    session = connected(hub)
    hub.close_all(1001)
    assert session.closing == 1001
    hub.detach(session, session.writer_gen)
    assert hub.find(session.id, ADMIN) is None


def test_resyncs_spread_out_in_time_do_not_close() -> None:
    hub, _, clock = make(HubOptions(max_alert_backlog=2, max_resyncs=1, resync_window_s=30))
    session = connected(hub)
    drain(hub, session)
    for round_ in range(4):
        clock.now += 31
        for i in range(3):
            feed(hub, "alert", samples.alert(f"fp-{round_}-{i}"))
        drain(hub, session)
    assert session.closing is None


def test_scoped_sessions_get_only_their_slice_encoded_once_per_scope() -> None:
    hub, _, _ = make()
    sessions = [connected(hub, SALES) for _ in range(3)]
    admin = connected(hub)
    for s in [*sessions, admin]:
        drain(hub, s)
    feed(hub, "floor", samples.floor("bj-01"))
    feed(hub, "alert", samples.alert("fp-support", queue="support"))
    tails = {id(s.pending[("floor", "bj-01")][1]) for s in sessions}
    assert len(tails) == 1  # one encoding shared by the three sales sessions
    for s in sessions:
        got = drain(hub, s)
        assert [m["type"] for m in got] == ["floor"]
        assert [q["queue"] for q in got[0]["floor"]["queues"]] == ["sales"]
    assert [m["type"] for m in drain(hub, admin)] == ["floor", "alert"]


def test_replay_covers_the_log_or_says_no() -> None:
    hub, _, _ = make(HubOptions(replay_size=4))
    session = connected(hub)
    sent = [hub.next_frame(session)]  # the hello, seq 1
    for i in range(6):
        feed(hub, "alert", samples.alert(f"fp-{i}"))
    sent += [hub.next_frame(session) for _ in range(6)]  # seq 2..7
    assert hub.next_frame(session) is None
    assert hub.replay(session, 7) == []
    assert hub.replay(session, 5) == sent[5:]
    assert hub.replay(session, 3) == sent[3:]  # oldest logged is seq 4
    assert hub.replay(session, 2) is None
    assert hub.replay(session, 8) is None
    assert hub.replay(session, -1) is None


def test_detached_sessions_expire_and_count_what_they_lose() -> None:
    hub, registry, clock = make(HubOptions(resume_ttl_s=30))
    session = connected(hub)
    drain(hub, session)
    hub.detach(session, session.writer_gen)
    feed(hub, "alert", samples.alert("fp-1"))
    clock.now += 29
    hub.reap()
    assert hub.find(session.id, ADMIN) is session
    clock.now += 2
    hub.reap()
    assert hub.find(session.id, ADMIN) is None
    assert value(registry, "floorwatch_ws_dropped_total", reason="session_expired") == 1


class LaxState(LiveState):
    """A LiveState that also holds one alert and one floor snapshot it was never fed: shapes that
    ``scoping.py`` cannot read, as a state missing one of its checks would hold them."""

    def alerts(self) -> list[dict[str, Any]]:
        return [*super().alerts(), samples.alert("fp-bad") | {"labels": "x", "scope": {"site": "bj-01"}}]

    def sites(self) -> list[str]:
        return [*super().sites(), "sh-02"]

    def floor(self, site: str) -> dict[str, Any] | None:
        return samples.floor("sh-02") | {"agents": "x"} if site == "sh-02" else super().floor(site)


SALES_BOTH = Principal("supervisor", Scope.of(sites=["bj-01", "sh-02"], queues=["sales"]), "sam", key="k-sam")


def test_what_scoping_cannot_judge_is_hidden_from_that_scope_only() -> None:
    registry = CollectorRegistry()
    live = LaxState()
    hub = Hub(live, ApiMetrics(registry, live))
    feed(hub, "floor", samples.floor("bj-01"))
    scoped, admin = connected(hub, SALES_BOTH), connected(hub)
    hello = drain(hub, scoped)  # a hello leaves out what it cannot judge, and is sent
    assert [m["type"] for m in hello] == ["hello"]
    assert list(hello[0]["floor"]) == ["bj-01"] and hello[0]["alerts"] == []
    assert [a["fingerprint"] for a in drain(hub, admin)[0]["alerts"]] == ["fp-bad"]
    bad = samples.alert("fp-bad2", queue=None) | {"labels": "x"}
    hub.publish(Update("alert", "bj-01", bad, orjson.dumps(bad)))  # the fan-out goes on
    feed(hub, "alert", samples.alert("fp-ok"))
    assert [m["alert"]["fingerprint"] for m in drain(hub, scoped)] == ["fp-ok"]
    assert [m["alert"]["fingerprint"] for m in drain(hub, admin)] == ["fp-bad2", "fp-ok"]


def test_snapshots_are_logged_as_marks_and_a_resume_across_one_gets_no_replay() -> None:
    hub, _, clock = make()
    big = samples.floor()
    big["agents"] = [samples.agent_row(f"a{i:04d}", "t-sales", ["sales"]) for i in range(500)]  # ~70 KB
    feed(hub, "floor", big)
    session = connected(hub, Principal("wallboard", Scope.of(sites=["bj-01"]), "tv", key="k-tv"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):  # a client looping {"op": "subscribe"} and reading each hello
            clock.now += 60  # (slowly enough not to be refused)
            hub.subscribe(session, None, None, None)
            assert orjson.loads(hub.next_frame(session) or "")["type"] == "hello"
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1024 * 1024, held  # 200 hellos of ~70 KB were 14 MB in the log
    feed(hub, "alert", samples.alert("fp-1"))
    sent = hub.next_frame(session)
    assert hub.replay(session, session.seq - 1) == [sent]  # after the last hello: covered
    assert hub.replay(session, session.seq - 2) is None  # across it: a fresh hello instead


def test_subscribes_beyond_the_limit_are_refused_and_change_nothing() -> None:
    hub, _, clock = make(HubOptions(max_subscribes=3, subscribe_window_s=60))
    session = connected(hub)
    drain(hub, session)
    for _ in range(3):
        assert hub.subscribe(session, None, None, ["sales"]) is not None
        drain(hub, session)
    assert hub.subscribe(session, None, None, ["support"]) is None
    assert session.snapshot_due is None and session.scope.queues == frozenset({"sales"})
    clock.now += 61  # the window has passed: allowed again
    assert hub.subscribe(session, None, None, ["support"]) == Scope.of(queues=["support"])


def test_an_agent_alert_s_resolve_reaches_the_screens_that_showed_it_after_the_agent_left() -> None:
    hub, _, _ = make()
    feed(hub, "floor", samples.floor())
    team = Principal("supervisor", Scope.of(sites=["bj-01"], teams=["t-sales"]), "tom", key="k-tom")
    other = Principal("supervisor", Scope.of(sites=["bj-01"], teams=["t-support"]), "sue", key="k-sue")
    shown, queue, not_shown = connected(hub, team), connected(hub, SALES), connected(hub, other)
    for s in (shown, queue, not_shown):
        drain(hub, s)
    feed(hub, "alert", samples.alert("fp-a1", queue=None, agent="a1", rule="agent-eff", n=1))
    gone = samples.floor(seq=2, as_of="2026-11-28T09:16:00+08:00")  # a1 logged out
    gone["agents"] = [a for a in gone["agents"] if a["agent"] != "a1"]
    feed(hub, "floor", gone)
    feed(hub, "alert", samples.alert("fp-a1", queue=None, agent="a1", rule="agent-eff", state="resolved",
                                     n=2))
    for s in (shown, queue):
        got = [(m["alert"]["fingerprint"], m["alert"]["state"]) for m in drain(hub, s) if "alert" in m]
        assert got == [("fp-a1", "firing"), ("fp-a1", "resolved")]
    assert [m["type"] for m in drain(hub, not_shown)] == ["floor"]
    # the agent back in another team: its next alert is decided by where it is now
    moved = samples.floor(seq=3, as_of="2026-11-28T09:17:00+08:00")
    moved["agents"] = [samples.agent_row("a1", "t-support", ["support"])]
    feed(hub, "floor", moved)
    feed(hub, "alert", samples.alert("fp-a1", queue=None, agent="a1", rule="agent-eff", n=3))
    assert [m["type"] for m in drain(hub, shown)] == ["floor"]
    assert [m["type"] for m in drain(hub, not_shown)] == ["floor", "alert"]


def test_sessions_with_equal_scopes_share_one_and_an_alert_is_judged_once_per_scope() -> None:
    """A token store that builds a principal per connection gives equal scopes as distinct
    objects; the fan-out decides visibility per scope object, so it decided once per session."""
    hub, _, _ = make()
    feed(hub, "floor", samples.floor("bj-01"))
    sessions = []
    for i in range(5):  # equal scopes, each its own object
        s = connected(hub, Principal("supervisor", Scope.of(sites=["bj-01"], queues=["sales"]), f"u{i}",
                                     key=f"k{i}"))
        drain(hub, s)
        sessions.append(s)
    other = connected(hub, SALES)
    drain(hub, other)
    assert len({id(s.scope) for s in [*sessions, other]}) == 1
    judged = []
    real = hub._alert_visible

    def counted(*args: Any) -> bool:
        judged.append(args[1])
        return real(*args)

    hub._alert_visible = counted  # type: ignore[method-assign]
    feed(hub, "alert", samples.alert("fp-1"))
    assert len(judged) == 1
    assert all(drain(hub, s)[0]["alert"]["fingerprint"] == "fp-1" for s in [*sessions, other])
