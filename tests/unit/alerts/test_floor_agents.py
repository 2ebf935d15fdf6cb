"""Agent-side floor state: states, handle time, occupancy, implicit agents."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerts.core.floor.kpis import STATE_NAMES, FloorConfig
from services.alerts.core.floor.metrics import read
from services.alerts.core.floor.reducer import Floor
from services.alerts.core.floor.site_view import floor_snapshot

from .feed import Feed, epoch

SITE = "bj-01"


def run(steps: list[tuple[str, float, dict[str, Any]]]) -> Floor:
    floor, feed = Floor(config=FloorConfig()), Feed()
    for kind, t, fields in steps:
        floor.apply(feed(kind, t, **fields))
    return floor


def value(floor: Floor, kind: str, name: str, metric: str, now: float) -> float | None:
    return read(floor.sites[SITE], kind, name, metric, epoch(now))[0]


def state_of(floor: Floor, agent: str) -> str:
    return STATE_NAMES[floor.sites[SITE].agents[agent].state]


LOGIN = ("login", 0, {"agent": "a1", "team": "t1", "queues": ["sales"]})


def call(a: str, c: str, t: float) -> tuple[str, float, dict[str, Any]]:
    return ("answered", t, {"call": c, "queue": "sales", "agent": a})


def test_handle_time_is_talk_plus_hold_plus_wrap() -> None:
    # 0 answered | 10 held .. 25 resumed (hold 15) | 70 ended (talk 70-15 = 55) | 100 wrapped (wrap 30)
    floor = run(
        [
            LOGIN,
            call("a1", "c1", 0),
            ("held", 10, {"call": "c1", "agent": "a1"}),
            ("resumed", 25, {"call": "c1", "agent": "a1"}),
            ("ended", 70, {"call": "c1", "agent": "a1"}),
            ("wrapped", 100, {"call": "c1", "agent": "a1"}),
        ]
    )
    for kind, name in (("queue", "sales"), ("team", "t1"), ("site", SITE)):
        assert value(floor, kind, name, "aht_s", 120) == pytest.approx(100.0)
        assert value(floor, kind, name, "handled", 120) == 1
    totals = floor.sites[SITE].total.win.at(epoch(120))
    assert (totals[8], totals[9], totals[10]) == pytest.approx((55.0, 15.0, 30.0))  # talk, hold, wrap sums


def test_talk_s_from_the_source_wins_and_aht_averages() -> None:
    floor = run(
        [
            LOGIN,
            call("a1", "c1", 0),
            ("ended", 70, {"call": "c1", "agent": "a1", "talk_s": 40.0}),
            ("wrapped", 80, {"call": "c1", "agent": "a1"}),  # 40 + 0 + 10 = 50
            call("a1", "c2", 100),
            ("ended", 200, {"call": "c2", "agent": "a1"}),
            ("wrapped", 250, {"call": "c2", "agent": "a1"}),
        ]
    )  # 100 + 0 + 50 = 150
    assert value(floor, "queue", "sales", "aht_s", 300) == pytest.approx(100.0)


def test_call_states_then_back_to_ready_state() -> None:
    steps = [
        LOGIN,
        call("a1", "c1", 10),
        ("held", 20, {"call": "c1", "agent": "a1"}),
        ("resumed", 30, {"call": "c1", "agent": "a1"}),
        ("ended", 40, {"call": "c1", "agent": "a1"}),
        ("state", 45, {"agent": "a1", "state": "not_ready", "reason": "lunch"}),
        ("wrapped", 50, {"call": "c1", "agent": "a1"}),
    ]
    expected = ["available", "talking", "hold", "talking", "wrap", "wrap", "not_ready"]
    for i, want in enumerate(expected):
        assert state_of(run(steps[: i + 1]), "a1") == want, steps[i]
    floor = run(steps)
    a = floor.sites[SITE].agents["a1"]
    assert (a.reason, a.since) == ("lunch", epoch(50))


def test_occupancy_from_a_timeline() -> None:
    # t(s)  0          60                   150      180        240
    # a1    |available-|talking-------------|wrap----|available-|      busy 120, available 120
    # a2    |not_ready-----------------------------------------|      excluded from occupancy
    floor = run(
        [
            LOGIN,
            ("login", 0, {"agent": "a2", "team": "t1", "queues": ["sales"]}),
            ("state", 0, {"agent": "a2", "state": "not_ready", "reason": "training"}),
            call("a1", "c1", 60),
            ("ended", 150, {"call": "c1", "agent": "a1"}),
            ("wrapped", 180, {"call": "c1", "agent": "a1"}),
        ]
    )
    for kind, name in (("team", "t1"), ("site", SITE)):
        assert value(floor, kind, name, "occupancy", 240) == pytest.approx(0.5)
        # the open interval counts: at 210 a1 has been available 60 + 30 s
        assert value(floor, kind, name, "occupancy", 210) == pytest.approx(120 / 210)
        assert value(floor, kind, name, "logged_in", 240) == 2


def test_occupancy_forgets_time_outside_the_window() -> None:
    # a1 talks from 0 to 600, then stays available; at 40 min the window (minutes 11..40) is all available
    floor = run(
        [
            LOGIN,
            call("a1", "c1", 0),
            ("ended", 600, {"call": "c1", "agent": "a1"}),
            ("wrapped", 600, {"call": "c1", "agent": "a1"}),
        ]
    )
    assert value(floor, "team", "t1", "occupancy", 40 * 60) == pytest.approx(0.0)
    assert value(floor, "team", "t1", "occupancy", 1200) == pytest.approx(600 / 1200)


def test_agents_by_state_per_queue_team_and_site() -> None:
    floor = run(
        [
            LOGIN,
            ("login", 0, {"agent": "a2", "team": "t2", "queues": ["sales", "billing"]}),
            ("login", 0, {"agent": "a3", "team": "t2", "queues": ["billing"]}),
            call("a2", "c1", 5),
            ("state", 6, {"agent": "a3", "state": "not_ready", "reason": "break"}),
        ]
    )
    snap = floor_snapshot(floor.sites[SITE], floor.config, epoch(10))
    queues = {q["queue"]: q["agents"] for q in snap["queues"]}
    assert queues["sales"] == {"available": 1, "not_ready": 0, "talking": 1, "hold": 0, "wrap": 0}
    assert queues["billing"] == {"available": 0, "not_ready": 1, "talking": 1, "hold": 0, "wrap": 0}
    teams = {t["team"]: t["agents"] for t in snap["teams"]}
    assert teams["t2"] == {"available": 0, "not_ready": 1, "talking": 1, "hold": 0, "wrap": 0}
    assert snap["totals"]["agents"] == {"available": 1, "not_ready": 1, "talking": 1, "hold": 0, "wrap": 0}
    assert value(floor, "queue", "billing", "agents_available", 10) == 0


def test_unknown_agents_are_created_mid_shift() -> None:
    floor = run(
        [
            ("answered", 5, {"call": "c1", "queue": "sales", "agent": "ghost"}),
            ("ended", 7, {"call": "c2", "agent": "other"}),
        ]
    )
    site = floor.sites[SITE]
    assert state_of(floor, "ghost") == "talking"
    assert site.agents["ghost"].queues == ["sales"]  # learned from the answered call
    assert value(floor, "queue", "sales", "agents_talking", 10) == 1
    assert state_of(floor, "other") == "wrap"
    floor.apply(Feed(source="x")("wrapped", 20, call="c2", agent="other"))
    assert state_of(floor, "other") == "available"
    assert value(floor, "site", SITE, "handled", 30) == 0  # call start unknown: no handle time


def test_logout_removes_and_relogin_updates() -> None:
    floor = run([LOGIN, ("login", 5, {"agent": "a1", "team": "t9"}), ("logout", 9, {"agent": "a1"})])
    assert floor.sites[SITE].agents == {}
    assert value(floor, "team", "t1", "logged_in", 10) == 0
    assert value(floor, "team", "t9", "logged_in", 10) == 0
    floor = run([LOGIN, ("login", 5, {"agent": "a1", "team": "t9"})])
    assert value(floor, "team", "t1", "logged_in", 10) == 0
    assert value(floor, "team", "t9", "logged_in", 10) == 1
    assert floor.sites[SITE].agents["a1"].queues == ["sales"]


def test_out_of_order_agent_events_do_not_run_time_backwards() -> None:
    floor = run([LOGIN, call("a1", "c1", 50), ("state", 20, {"agent": "a1", "state": "not_ready"})])
    a = floor.sites[SITE].agents["a1"]
    assert (state_of(floor, "a1"), a.since, a.ready) == ("talking", epoch(50), 1)
    secs = floor.sites[SITE].total.state_seconds(epoch(60))
    assert min(secs) >= 0 and sum(secs) == pytest.approx(60.0)


def test_agent_time_metrics() -> None:
    floor = run([LOGIN, ("state", 10, {"agent": "a1", "state": "not_ready", "reason": "break"})])
    assert value(floor, "agent", "a1", "not_ready_s", 100) == pytest.approx(90.0)
    assert value(floor, "agent", "a1", "wrap_s", 100) == 0.0
    assert value(floor, "agent", "nobody", "state_s", 100) is None
