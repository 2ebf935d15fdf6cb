"""The FloorSnapshot dict: the shape docs/wire.md promises, JSON-ready, with known values."""

from __future__ import annotations

import json

import pytest

from services.alerts.core import Engine, RuleSet

from .feed import Feed, at

CALL_KEYS = {
    "calls_waiting",
    "longest_wait_s",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_sl",
    "abandon_rate",
    "service_level",
    "asa_s",
    "aht_s",
    "talk_s",
    "hold_s",
    "wrap_s",
    "handled",
    "logged_in",
    "agents",
    "day",
}
STATES = {"available", "not_ready", "talking", "hold", "wrap"}


def test_snapshot_shape_and_values() -> None:
    eng, feed = Engine(RuleSet(())), Feed()
    for ev in [
        feed("login", 0, agent="a1", team="t1", queues=["sales"]),
        feed("queued", 1, call="c1", queue="sales"),
        feed("answered", 11, call="c1", queue="sales", agent="a1"),
        feed("queued", 20, call="c2", queue="sales"),
        feed("state", 21, agent="a1", state="not_ready", reason="lunch"),
    ]:
        eng.on_event(ev)
    snap = eng.floor_snapshot("bj-01", now=at(30))
    assert json.loads(json.dumps(snap)) == snap
    assert set(snap) == {
        "site",
        "as_of",
        "seq",
        "late_facts",
        "window_s",
        "sl_threshold_s",
        "short_abandon_s",
        "definitions",
        "totals",
        "queues",
        "teams",
        "agents",
        "projects",
    }
    assert snap["projects"] == []  # no projects configured
    assert (snap["site"], snap["as_of"], snap["seq"], snap["window_s"]) == (
        "bj-01",
        "2026-11-28T09:00:30.000+08:00",
        5,
        1800,
    )
    assert set(snap["totals"]) == CALL_KEYS | {"occupancy"}
    (queue,) = snap["queues"]
    assert set(queue) == CALL_KEYS | {"queue"}
    assert (queue["offered"], queue["answered"], queue["calls_waiting"], queue["longest_wait_s"]) == (
        2,
        1,
        1,
        10.0,
    )
    assert (queue["service_level"], queue["asa_s"], queue["abandon_rate"]) == (1.0, 10.0, 0.0)
    assert set(queue["agents"]) == STATES and queue["agents"]["talking"] == 1
    (team,) = snap["teams"]
    assert set(team) == {"team", "logged_in", "occupancy", "aht_s", "talk_s", "hold_s", "wrap_s", "agents"}
    # today's figures so far (the ledger): c1 offered at 1 s, answered after 10 s; c2 waiting
    assert queue["day"]["day"] == "2026-11-28"
    assert (queue["day"]["offered"], queue["day"]["answered"], queue["day"]["asa_s"]) == (2, 1, 10.0)
    assert (
        snap["totals"]["day"]["offered"] == 2
        and snap["definitions"]["sl_formula"] == "answered+abandoned-short"
    )
    assert team["occupancy"] == round(19 / 30, 4)  # available 0..11, talking 11..30
    (agent,) = snap["agents"]
    # on a call the agent shows talking; the not_ready it asked for applies after wrap-up
    assert agent == {
        "agent": "a1",
        "team": "t1",
        "state": "talking",
        "reason": None,
        "since": "2026-11-28T09:00:11.000+08:00",
        "queues": ["sales"],
        "call": "c1",
    }


def test_agent_since_texts_equal_rfc3339_and_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.alerts.core.floor import site_view
    from services.alerts.core.floor.times import rfc3339

    monkeypatch.setattr(site_view, "_SINCE", {})
    monkeypatch.setattr(site_view, "_SINCE_MAX", 50)
    for n in range(400):
        t, off = 1_764_291_600 + n * 0.37, (n % 3) * 3600
        assert site_view._since(t, off) == rfc3339(t, off)
        assert site_view._since(t, off) == rfc3339(t, off)  # the remembered text
        assert len(site_view._SINCE) <= 50
