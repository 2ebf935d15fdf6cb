"""Agent call legs under odd feeds: events after the wrap-up, transfers back to the same agent,
lost ``call.ended`` (bounded open legs), and snapshots of the new leg state.

Every expected figure is computed here, in plain Python, from the events of the test.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from services.alerts.core.floor.kpis import (
    HANDLE_SUM,
    HANDLED,
    HOLD_SUM,
    STATE_NAMES,
    TALK_SUM,
    WRAP_SUM,
    FloorConfig,
)
from services.alerts.core.floor.reducer import Floor

from .feed import Feed, epoch

SITE = "bj-01"
Step = tuple[str, float, dict[str, Any]]


def run(steps: list[Step], floor: Floor | None = None, feed: Feed | None = None) -> Floor:
    floor = floor or Floor(config=FloorConfig())
    feed = feed or Feed()
    for kind, t, fields in steps:
        floor.apply(feed(kind, t, **fields))
    return floor


def sums(floor: Floor, now: float) -> dict[str, float]:
    row = floor.sites[SITE].total.win.at(epoch(now))
    return {
        "handled": row[HANDLED],
        "handle": row[HANDLE_SUM],
        "talk": row[TALK_SUM],
        "hold": row[HOLD_SUM],
        "wrap": row[WRAP_SUM],
    }


def state(floor: Floor, agent: str = "a1") -> str:
    return STATE_NAMES[floor.sites[SITE].agents[agent].state]


def leg_calls(floor: Floor, agent: str = "a1") -> list[str]:
    return [leg.call for leg in floor.sites[SITE].agents[agent].legs()]


def times(steps: list[Step], kind: str, call: str) -> list[float]:
    return [t for k, t, f in steps if k == kind and f.get("call") == call]


LOGIN: Step = ("login", 0, {"agent": "a1", "team": "t1", "queues": ["q"]})


def ev(kind: str, t: float, call: str, agent: str = "a1", **more: Any) -> Step:
    fields: dict[str, Any] = {"call": call, "agent": agent, **more}
    if kind == "answered":
        fields.setdefault("queue", "q")
    return (kind, t, fields)


# --- finding 1: leg events after the wrap-up open no ghost leg ----------------------------------


def test_call_ended_arriving_after_the_wrap_up_opens_no_ghost_leg() -> None:
    steps = [
        LOGIN,
        ("queued", 1, {"call": "c1", "queue": "q"}),
        ev("answered", 5, "c1"),
        ev("wrapped", 100, "c1"),
        ev("ended", 99, "c1", talk_s=94.0),  # arrives after the wrap-up
    ]
    floor = run(steps)
    assert state(floor) == "available" and leg_calls(floor) == []
    # the next call's answer must not book the call a second time
    floor = run([ev("answered", 1000, "c9")], floor, Feed(source="b"))
    (answered,) = times(steps, "answered", "c1")
    (wrapped,) = times(steps, "wrapped", "c1")
    got = sums(floor, 1000)
    assert got["handled"] == 1  # one call wrapped up
    assert got["handle"] == pytest.approx(wrapped - answered)  # no hold: handle = wrap-up - answer


def test_a_re_sent_call_ended_after_the_wrap_up_is_ignored() -> None:
    steps = [
        LOGIN,
        ev("answered", 5, "c1"),
        ev("ended", 99, "c1", talk_s=94.0),
        ev("wrapped", 100, "c1"),
        ev("ended", 99, "c1", talk_s=94.0),  # re-sent by the ACD under a new id
        ev("answered", 1000, "c9"),
    ]
    floor = run(steps)
    (wrapped,) = times(steps, "wrapped", "c1")
    ended = times(steps, "ended", "c1")[0]
    talk = next(f["talk_s"] for k, _, f in steps if k == "ended")
    got = sums(floor, 1000)
    assert (got["handled"], got["talk"], got["wrap"]) == pytest.approx((1, talk, wrapped - ended))
    assert leg_calls(floor) == ["c9"]


@pytest.mark.parametrize("kind", ["held", "resumed", "transferred", "ended", "answered"])
def test_any_stale_leg_event_after_the_wrap_up_leaves_the_agent_ready(kind: str) -> None:
    late = ev(kind, 30, "c1")  # stamped during the call, delivered after its wrap-up
    steps = [LOGIN, ev("answered", 5, "c1"), ev("ended", 60, "c1"), ev("wrapped", 70, "c1"), late]
    floor = run(steps)
    assert state(floor) == "available" and leg_calls(floor) == []
    assert sums(floor, 100)["handled"] == 1


def test_a_late_leg_event_does_not_bring_back_an_agent_who_left() -> None:
    steps = [
        LOGIN,
        ev("answered", 5, "c1"),
        ev("ended", 60, "c1"),
        ev("wrapped", 70, "c1"),
        ("logout", 80, {"agent": "a1"}),
        ev("ended", 60, "c1"),
        ev("wrapped", 70, "c1"),
        ev("answered", 5, "c1"),
    ]
    floor = run(steps)
    assert "a1" not in floor.sites[SITE].agents and floor.sites[SITE].total.logged_in == 0


def test_the_same_call_answered_again_after_its_wrap_up_is_a_new_leg() -> None:
    # transferred away, wrapped up (its transfer re-sent late), then the call comes back to the
    # same agent: two handled legs
    steps = [
        LOGIN,
        ev("answered", 5, "c1"),
        ev("transferred", 50, "c1", to_queue="q"),
        ev("wrapped", 55, "c1"),
        ev("transferred", 50, "c1", to_queue="q"),  # re-sent
        ev("answered", 200, "c1"),
        ev("ended", 260, "c1"),
        ev("wrapped", 270, "c1"),
    ]
    floor = run(steps[:5])
    assert state(floor) == "available" and leg_calls(floor) == []
    floor = run(steps[5:], floor, Feed(source="b"))
    a1, a2 = times(steps, "answered", "c1")
    w1, w2 = times(steps, "wrapped", "c1")
    e1 = next(t for k, t, f in steps if k == "transferred")
    (e2,) = times(steps, "ended", "c1")
    got = sums(floor, 300)
    assert got["handled"] == 2
    assert got["talk"] == pytest.approx((e1 - a1) + (e2 - a2))
    assert got["wrap"] == pytest.approx((w1 - e1) + (w2 - e2))
    assert state(floor) == "available"


# --- finding 2: transferred back to the same agent before the wrap-up ---------------------------


def test_a_call_transferred_back_to_the_same_agent_keeps_adding_talk() -> None:
    steps = [
        LOGIN,
        ("queued", 1, {"call": "c2", "queue": "q"}),
        ev("answered", 5, "c2"),
        ev("held", 20, "c2"),
        ev("resumed", 30, "c2"),
        ev("transferred", 65, "c2", to_agent="a1"),
        ev("answered", 66, "c2"),
        ev("held", 100, "c2"),
        ev("resumed", 112, "c2"),
        ev("ended", 365, "c2"),
        ev("wrapped", 375, "c2"),
    ]
    floor = run(steps[:7])
    assert state(floor) == "talking"  # talking again, not in wrap-up
    floor = run(steps[7:], floor, Feed(source="b"))
    # talk = the connected spans (answer -> end/transfer) less their hold; wrap = wrapped - last end
    ans = times(steps, "answered", "c2")
    ends = [t for k, t, f in steps if k in ("transferred", "ended")]
    holds = list(zip(times(steps, "held", "c2"), times(steps, "resumed", "c2"), strict=True))
    hold = sum(r - h for h, r in holds)
    talk = sum(e - a for a, e in zip(ans, ends, strict=True)) - hold
    wrap = times(steps, "wrapped", "c2")[0] - ends[-1]
    got = sums(floor, 400)
    assert (got["handled"], got["talk"], got["hold"], got["wrap"]) == pytest.approx((1, talk, hold, wrap))
    assert got["handle"] == pytest.approx(talk + hold + wrap)


def test_transferred_back_with_the_sources_talk_s_adds_it_to_the_first_span() -> None:
    steps = [
        LOGIN,
        ev("answered", 5, "c2"),
        ev("transferred", 65, "c2", to_agent="a1"),
        ev("answered", 70, "c2"),
        ev("ended", 200, "c2", talk_s=120.0),
        ev("wrapped", 210, "c2"),
    ]
    floor = run(steps)
    first = 65 - 5
    got = sums(floor, 300)
    assert (got["talk"], got["wrap"]) == pytest.approx((first + 120.0, 210 - 200))


def test_a_repeated_answer_after_the_end_is_not_a_transfer_back_a_later_one_is() -> None:
    steps = [
        LOGIN,
        ev("answered", 5, "c1"),
        ev("ended", 65, "c1"),
        ev("answered", 5, "c1"),  # the same answer again (its time is before the end)
    ]
    floor = run(steps)
    assert state(floor) == "wrap"
    later = [ev("answered", 80, "c1"), ev("ended", 100, "c1"), ev("wrapped", 110, "c1")]
    floor = run(later[:1], floor, Feed(source="b"))
    assert state(floor) == "talking"
    floor = run(later[1:], floor, Feed(source="c"))
    got = sums(floor, 200)
    assert (got["handled"], got["talk"], got["wrap"]) == pytest.approx((1, (65 - 5) + (100 - 80), 110 - 100))


# --- finding 3: open legs are bounded --------------------------------------------------------


def test_open_legs_per_agent_are_capped_when_call_ended_is_lost() -> None:
    cfg = FloorConfig()
    n = 200
    steps = [LOGIN] + [ev("answered", 1 + i, f"c{i}") for i in range(n)]  # no call.ended ever
    floor = run(steps, Floor(config=cfg))
    kept = leg_calls(floor)
    assert len(kept) == cfg.max_legs
    assert sorted(kept) == sorted(f"c{i}" for i in range(n - cfg.max_legs, n))  # the newest
    assert state(floor) == "talking"
    # a forgotten leg's late end opens nothing again
    floor = run([ev("ended", 50, "c0")], floor, Feed(source="b"))
    assert len(leg_calls(floor)) == cfg.max_legs and "c0" not in leg_calls(floor)


def test_legs_connected_past_the_age_limit_are_forgotten_and_a_logged_out_agent_leaves() -> None:
    cfg = FloorConfig()
    steps = [LOGIN, ev("answered", 10, "c1"), ev("held", 20, "c1"), ("logout", 30, {"agent": "a1"})]
    floor = run(steps, Floor(config=cfg))
    s = floor.sites[SITE]
    floor.expire(SITE, epoch(10 + cfg.max_leg_s - 60))  # not yet that old
    assert "a1" in s.agents and leg_calls(floor) == ["c1"]
    # legs are checked every max_leg_s / 8 of event time: gone by then at the latest
    floor.expire(SITE, epoch(10 + cfg.max_leg_s * 9 / 8 + 60))
    assert "a1" not in s.agents and s.total.logged_in == 0
    assert s.total.counts == [0, 0, 0, 0, 0]


def test_an_agent_left_on_a_lost_call_returns_to_its_ready_state_after_the_age_limit() -> None:
    cfg = FloorConfig()
    steps = [
        LOGIN,
        ev("answered", 10, "c1"),
        ("state", 20, {"agent": "a1", "state": "not_ready", "reason": "break"}),
    ]
    floor = run(steps, Floor(config=cfg))
    floor.expire(SITE, epoch(10 + cfg.max_leg_s + 60))
    assert state(floor) == "not_ready" and leg_calls(floor) == []


# --- snapshots -------------------------------------------------------------------------------


def _messy_floor() -> Floor:
    return run(
        [
            LOGIN,
            ("queued", 1, {"call": "c1", "queue": "q"}),
            ("queued", 1, {"call": "c3", "queue": "q"}),
            ev("answered", 5, "c1"),
            ev("ended", 60, "c1"),
            ev("wrapped", 70, "c1"),
            ev("answered", 80, "c2"),
            ev("transferred", 90, "c2", to_agent="a1"),
            ev("answered", 95, "c2"),
        ]
    )


def test_new_leg_state_round_trips_through_a_snapshot() -> None:
    floor = _messy_floor()
    s = floor.sites[SITE]
    assert s.done_legs is not None and len(s.done_legs.young) + len(s.done_legs.old) == 1
    assert s.agents["a1"].leg is not None and s.agents["a1"].leg.talk_before == 90 - 80
    back = msgspec.json.decode(msgspec.json.encode(floor), type=Floor)
    assert back == floor
    # and the restored floor behaves like the live one
    more = [ev("ended", 60, "c1"), ev("ended", 150, "c2"), ev("wrapped", 160, "c2")]
    for f in (floor, back):
        run(more, f, Feed(source="b"))
    assert sums(back, 200) == sums(floor, 200)
    assert sums(back, 200)["talk"] == pytest.approx((60 - 5) + (90 - 80) + (150 - 95))


def test_a_snapshot_from_before_the_new_fields_restores() -> None:
    floor = _messy_floor()
    doc = msgspec.json.decode(msgspec.json.encode(floor))
    site = doc["sites"][SITE]
    del site["done_legs"], site["legs_checked"]
    for q in site["queues"].values():
        del q["heap"]
    leg = site["agents"]["a1"]["leg"]
    for key in ("talk_before", "hold_before", "opened_at"):
        del leg[key]
    for key in ("max_legs", "max_leg_s"):
        del doc["config"][key]
    old = msgspec.json.decode(msgspec.json.encode(doc), type=Floor)
    s = old.sites[SITE]
    assert s.done_legs is None and s.queues["q"].heap == [(epoch(1), "c3")]
    assert old.config == FloorConfig()
    run([("abandoned", 100, {"call": "c3", "queue": "q"})], old, Feed(source="b"))
    assert s.queues["q"].oldest is None and s.oldest_waiting() is None
