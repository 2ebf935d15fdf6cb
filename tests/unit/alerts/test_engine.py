"""The engine: rule evaluation on events and on the clock grid, operator actions, persistence."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from services.alerts.core import (
    Engine,
    Guard,
    RulesError,
    RuleSet,
    ThresholdRule,
    Transition,
    default_rules,
    load_rules,
)
from services.alerts.core.alerting.inhibition import Inhibit
from shared.events import Event

from .feed import Feed, at, epoch

WAITING = ThresholdRule(name="calls-waiting", metric="calls_waiting", op=">", value=10, clear=5, for_s=30)
LONGEST = ThresholdRule(name="longest-wait", metric="longest_wait_s", op=">", value=90)


def brief(trs: list[Transition]) -> list[tuple[str, str, str, float]]:
    """(rule, previous, state, event time as seconds after T0) of each transition."""
    return [(t.rule, t.previous, t.state, round(t.event_time - epoch(0), 3)) for t in trs]


def eleven_waiting(feed: Feed) -> list[Event]:
    return [feed("queued", i, call=f"c{i}", queue="sales") for i in range(11)]


def test_for_duration_fires_on_the_grid_and_hysteresis_resolves() -> None:
    # t  0 ......... 10        40               50 51 52 53 54 55
    #    c0..c10 queued         grid: 30 s       answers: 10 9 8 7 6 5 waiting
    #    11 waiting -> pending  -> firing                           5 <= clear -> resolved
    eng, feed, out = Engine(RuleSet((WAITING,))), Feed(), []
    for ev in eleven_waiting(feed):
        out += eng.on_event(ev)
    out += eng.advance(at(41.9))  # grid <= 39.9: not yet
    assert brief(out) == [("calls-waiting", "inactive", "pending", 10)]
    out += eng.advance(at(42))  # grid 40 = 10 + 30
    for i in range(6):
        out += eng.on_event(feed("answered", 50 + i, call=f"c{i}", queue="sales", agent=f"a{i}"))
    assert brief(out) == [
        ("calls-waiting", "inactive", "pending", 10),
        ("calls-waiting", "pending", "firing", 40),
        ("calls-waiting", "firing", "resolved", 55),
    ]


def test_replay_without_advance_fires_at_the_same_grid_point() -> None:
    eng, feed, out = Engine(RuleSet((WAITING,))), Feed(), []
    for ev in [*eleven_waiting(feed), feed("login", 45, agent="a1")]:
        out += eng.on_event(ev)
    assert brief(out) == [
        ("calls-waiting", "inactive", "pending", 10),
        ("calls-waiting", "pending", "firing", 40),
    ]


def test_rising_wait_fires_with_no_new_events() -> None:
    eng, feed = Engine(RuleSet((LONGEST,))), Feed()
    assert eng.on_event(feed("queued", 0.5, call="c1", queue="sales")) == []
    assert eng.advance(at(92.9)) == []  # grid 90: waited 89.5 s
    out = eng.advance(at(93))  # grid 91: waited 90.5 s
    assert brief(out) == [("longest-wait", "inactive", "firing", 91)]
    assert out[0].value == pytest.approx(90.5)
    out = eng.on_event(feed("abandoned", 100, call="c1", queue="sales"))
    assert brief(out) == [("longest-wait", "firing", "resolved", 100)]


def test_pending_that_clears_resolves_unfired_and_never_firing_to_pending() -> None:
    # t  0 .. 10              20                    100
    #    11 waiting: pending  answer: 10 waiting -> resolved (never fired: details.fired = false)
    eng, feed, out = Engine(RuleSet((WAITING,))), Feed(), []
    for ev in eleven_waiting(feed):
        out += eng.on_event(ev)
    out += eng.on_event(feed("answered", 20, call="c0", queue="sales", agent="a1"))  # 10 waiting: breach over
    out += eng.advance(at(100))
    assert brief(out) == [
        ("calls-waiting", "inactive", "pending", 10),
        ("calls-waiting", "pending", "resolved", 20),
    ]
    assert out[1].details["fired"] is False and out[1].to_wire()["previous"] == "pending"
    assert out[1].transition_id == out[0].fingerprint + ":2"
    assert eng.active_alerts() == []


def test_firing_resolution_says_it_fired() -> None:
    eng, feed = Engine(RuleSet((LONGEST,))), Feed()
    eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    eng.advance(at(100))
    (tr,) = eng.on_event(feed("abandoned", 110, call="c1", queue="sales"))
    assert (tr.previous, tr.state, tr.details["fired"]) == ("firing", "resolved", True)


def test_duplicates_are_ignored_and_counted() -> None:
    eng, feed = Engine(RuleSet(())), Feed()
    ev = feed("queued", 0, call="c1", queue="sales")
    eng.on_event(ev)
    assert eng.pop_dirty_sites() == {"bj-01"}
    assert eng.on_event(ev) == []
    assert eng.duplicates == 1
    assert eng.pop_dirty_sites() == set()
    assert eng.floor_snapshot("bj-01")["totals"]["offered"] == 1


def test_wire_record_shape() -> None:
    eng, feed = Engine(RuleSet((LONGEST,))), Feed()
    eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    (tr,) = eng.advance(at(100))
    wire = tr.to_wire()
    assert list(wire) == [
        "id",
        "fingerprint",
        "rule",
        "kind",
        "severity",
        "state",
        "previous",
        "scope",
        "summary",
        "value",
        "threshold",
        "started_at",
        "updated_at",
        "event_time",
        "ack",
        "silenced_until",
        "labels",
        "details",
        "transition_id",
        "escalated",
        "inhibited_by",
        "grouped_into",
        "message",
    ]
    # the summary per language (issue 15): a catalogue key and the facts it names
    assert wire["message"]["key"] == "alert.threshold.firing"
    facts = {"queue": "sales", "metric": "longest_wait_s", "op": ">", "threshold": 90}
    assert wire["message"]["params"] | facts == wire["message"]["params"]
    assert wire["id"] == wire["fingerprint"] and re.fullmatch(r"[0-9a-f]{16}", wire["id"])
    assert wire["transition_id"] == wire["id"] + ":1"
    assert wire["scope"] == {"site": "bj-01", "queue": "sales"}
    assert (wire["kind"], wire["severity"], wire["threshold"]) == ("threshold", "warning", 90.0)
    assert wire["event_time"] == "2026-11-28T09:01:31.000+08:00" == wire["started_at"]
    assert dt.datetime.fromisoformat(wire["updated_at"]) == at(91)
    assert wire["ack"] is None and wire["silenced_until"] is None


def test_ack_and_silence_return_state_unchanged_records() -> None:
    eng, feed = Engine(RuleSet((LONGEST,))), Feed()
    eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    eng.on_event(feed("queued", 0, call="c2", queue="billing"))
    fired = eng.advance(at(100))
    assert len(fired) == 2
    fp = fired[0].fingerprint
    (ack,) = eng.ack(fp, by="li", at=at(101), note="on it")
    assert (ack.previous, ack.state) == ("firing", "firing")
    assert ack.to_wire()["ack"] == {"by": "li", "at": "2026-11-28T09:01:41.000+08:00", "note": "on it"}
    assert ack.transition_id == fp + ":2"
    assert eng.ack("0" * 16, by="li", at=at(101)) == []
    silenced = eng.silence({"queue": "billing"}, until=at(3600), at=at(102), by="li")
    assert [t.scope["queue"] for t in silenced] == ["billing"]
    assert silenced[0].silenced_until == epoch(3600) and silenced[0].state == "firing"
    out = eng.on_event(feed("abandoned", 110, call="c2", queue="billing"))
    assert [(t.state, t.silenced_until) for t in out] == [("resolved", epoch(3600))]
    assert [a["ack"]["by"] for a in eng.active_alerts()] == ["li"]


def test_replace_rules_keeps_surviving_alerts_and_resolves_removed_ones() -> None:
    eng, feed = Engine(RuleSet((LONGEST, WAITING))), Feed()
    for ev in eleven_waiting(feed):
        eng.on_event(ev)
    eng.advance(at(100))
    assert sorted(a["rule"] for a in eng.active_alerts()) == ["calls-waiting", "longest-wait"]
    stricter = ThresholdRule(name="longest-wait", metric="longest_wait_s", op=">", value=120)
    out = eng.replace_rules(RuleSet((stricter,)), at=at(101))
    assert brief(out) == [("calls-waiting", "firing", "resolved", 101)]
    assert [a["rule"] for a in eng.active_alerts()] == ["longest-wait"]
    # the surviving alert continues under the new rule: the next evaluation (grid point 99, run by the
    # event at 102 since advance(100) stopped at 98) uses clear = 120, and 99 s <= 120 resolves it
    out = eng.on_event(feed("queued", 102, call="x", queue="sales"))
    assert brief(out) == [("longest-wait", "firing", "resolved", 99)]


def test_default_rules_service_level_needs_a_sample_and_for() -> None:
    eng, feed, out = Engine(RuleSet(default_rules().rules)), Feed(), []  # no inhibition here: see below
    out += eng.on_event(feed("login", 0, agent="a1", queues=["sales"]))
    for i in range(25):  # each call waits 30 s: all outside the 20 s service level
        out += eng.on_event(feed("queued", i * 2, call=f"c{i}", queue="sales"))
        out += eng.on_event(
            feed("answered", i * 2 + 30, call=f"c{i}", queue="sales", agent="a1", wait_s=30.0)
        )
    out += eng.advance(at(300))
    sl = [b for b in brief(out) if b[0] == "service-level"]
    # the 20th answer (t = 19*2 + 30 = 68) gives the sample; pending, then firing 60 s later
    assert sl == [("service-level", "inactive", "pending", 68), ("service-level", "pending", "firing", 128)]


def test_window_sliding_resolves_a_windowed_alert_without_events() -> None:
    rule = ThresholdRule(name="abandons", metric="abandoned", op=">=", value=1)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = eng.on_event(feed("abandoned", 10, call="c1", queue="sales", wait_s=30.0))
    assert brief(out) == [("abandons", "inactive", "firing", 10)]
    assert eng.advance(at(30 * 60 - 1 + 2)) == []
    assert brief(eng.advance(at(30 * 60 + 2))) == [("abandons", "firing", "resolved", 1800)]


def test_guarded_default_no_agents_available() -> None:
    rule = ThresholdRule(
        name="nobody",
        metric="agents_available",
        op="<=",
        value=0,
        for_s=30,
        when=(Guard("calls_waiting", ">", 0),),
    )
    eng, feed, out = Engine(RuleSet((rule,))), Feed(), []
    out += eng.on_event(feed("login", 0, agent="a1", queues=["sales"]))
    out += eng.on_event(feed("state", 1, agent="a1", state="not_ready", reason="break"))
    out += eng.on_event(feed("queued", 5, call="c1", queue="sales"))
    out += eng.on_event(feed("state", 50, agent="a1", state="available"))
    assert brief(out) == [
        ("nobody", "inactive", "pending", 5),
        ("nobody", "pending", "firing", 35),
        ("nobody", "firing", "resolved", 50),
    ]


def test_sites_have_their_own_clocks() -> None:
    eng, a, b = Engine(RuleSet((LONGEST,))), Feed(site="A"), Feed(site="B", source="acd-b")
    eng.on_event(a("queued", 0, call="c1", queue="q"))
    out = eng.on_event(b("queued", 500, call="c1", queue="q"))  # B's time does not move A's grid
    assert out == []
    out = eng.on_event(a("login", 200, agent="x"))
    assert [(t.scope["site"], round(t.event_time - epoch(0))) for t in out] == [("A", 91)]
    out = eng.advance(at(700))
    assert [(t.scope["site"], round(t.event_time - epoch(0))) for t in out] == [("B", 591)]


def test_next_deadline_and_floor_snapshot() -> None:
    eng, feed = Engine(RuleSet((LONGEST,)), allowed_lateness_s=2.0), Feed()
    assert eng.next_deadline() is None
    eng.on_event(feed("queued", 10.5, call="c1", queue="sales"))
    assert eng.next_deadline() == at(11 + 2)  # waiting call: every grid second matters
    snap = eng.floor_snapshot("bj-01", now=at(20.5))
    assert (snap["as_of"], snap["totals"]["longest_wait_s"], snap["queues"][0]["calls_waiting"]) == (
        "2026-11-28T09:00:20.500+08:00",
        10.0,
        1,
    )
    assert eng.floor_snapshot("bj-01")["as_of"] == "2026-11-28T09:00:10.500+08:00"
    assert eng.floor_snapshot("nowhere")["queues"] == [] and eng.sites() == ["bj-01"]
    quiet = Engine(RuleSet(()))
    quiet.on_event(feed("login", 10, agent="a1"))
    assert quiet.next_deadline() == at(60 + 2)  # nothing per second: next minute boundary


def test_snapshot_restore_continues_identically() -> None:
    def events(feed: Feed) -> list[Event]:
        return [
            *eleven_waiting(feed),
            feed("answered", 20, call="c0", queue="sales", agent="a1"),
            feed("queued", 21, call="d", queue="sales"),
            feed("held", 25, call="c0", agent="a1"),
            feed("login", 200, agent="a2"),
            feed("abandoned", 210, call="c3", queue="sales"),
        ]

    rules = RuleSet((WAITING, LONGEST))
    whole = Engine(rules)
    expected = [t for ev in events(Feed()) for t in whole.on_event(ev)]
    first, evs = Engine(rules), events(Feed())
    got = [t for ev in evs[:12] for t in first.on_event(ev)]
    second = Engine.restore(first.snapshot(), rules)
    got += [t for ev in evs[12:] for t in second.on_event(ev)]
    assert got == expected
    assert second.snapshot() == whole.snapshot()
    assert second.on_event(evs[0]) == [] and second.duplicates == 1


def test_unknown_rule_alerts_are_dropped_on_restore() -> None:
    eng, feed = Engine(RuleSet((LONGEST,))), Feed()
    eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    eng.advance(at(100))
    restored = Engine.restore(eng.snapshot(), RuleSet((WAITING,)))
    assert restored.active_alerts() == []
    assert Engine.restore(eng.snapshot(), RuleSet((LONGEST,))).active_alerts() == eng.active_alerts()


def _dump(trs: list[Transition]) -> list[dict[str, Any]]:
    return [t.to_wire() for t in trs]


def test_an_extra_advance_within_the_lateness_changes_nothing() -> None:
    # t  0 .. 10            40                 41
    #    11 calls queued    grid: for elapsed  answer -> 10 waiting (clear = value: breach over)
    #    -> pending         -> firing          -> resolved
    # Live, advance(43) evaluates grid points 40 and 41 before the answer (ts 41 >= 43 - lateness)
    # arrives; the replay must evaluate them before the answer too, or it would drop the pending alert.
    rule = ThresholdRule(name="w", metric="calls_waiting", op=">", value=10, for_s=30)

    def run(advance_first: bool) -> list[tuple[str, str, str, float]]:
        eng, feed, out = Engine(RuleSet((rule,)), allowed_lateness_s=2.0), Feed(), []
        for ev in eleven_waiting(feed):
            out += eng.on_event(ev)
        if advance_first:
            out += eng.advance(at(43))
        out += eng.on_event(feed("answered", 41, call="c0", queue="sales", agent="a1"))
        return brief(out)

    expected = [
        ("w", "inactive", "pending", 10),
        ("w", "pending", "firing", 40),
        ("w", "firing", "resolved", 41),
    ]
    assert run(advance_first=False) == expected
    assert run(advance_first=True) == expected


NOBODY = ThresholdRule(
    name="nobody", metric="agents_available", op="<=", value=0, when=(Guard("calls_waiting", ">", 0),)
)
SL = ThresholdRule(name="sl", metric="service_level", op="<", value=0.8, min_sample=2)
INHIBIT = (Inhibit(source=(("rule", "nobody"),), target=(("rule", "sl"),), equal=("site", "queue")),)


def test_inhibition_withholds_targets_and_brings_them_back() -> None:
    # t 0  a1 logs in (sales, billing)      1  a call waits on sales      2  a1 answers another call
    #      -> sales: calls waiting, nobody available: "nobody" fires on sales
    # t 5..8 agents x0..x3 answer two sales and two billing calls after 40 s: SL 0 % on both queues
    #      -> "sl" fires on billing (published); on sales it is inhibited: tracked, withheld
    # t 20 the waiting call is abandoned: "nobody" resolves and "sl" on sales is published (unchanged)
    eng, feed = Engine(RuleSet((NOBODY, SL), inhibit=INHIBIT)), Feed()
    out = [
        *eng.on_event(feed("login", 0, agent="a1", queues=["sales", "billing"])),
        *eng.on_event(feed("queued", 1, call="w", queue="sales")),
        *eng.on_event(feed("answered", 2, call="k", queue="sales", agent="a1", wait_s=0.0)),
    ]
    assert [(t.rule, t.state) for t in out] == [("nobody", "firing")]
    for i, q in enumerate(["sales", "sales", "billing", "billing"]):
        out += eng.on_event(feed("answered", 5 + i, call=f"late{i}", queue=q, agent=f"x{i}", wait_s=40.0))
    published = [(t.rule, t.scope.get("queue"), t.state) for t in out]
    assert ("sl", "sales", "firing") not in published and ("sl", "billing", "firing") in published
    active = {(a["rule"], a["scope"].get("queue")): a for a in eng.active_alerts()}
    assert active["sl", "sales"]["state"] == "firing"  # tracked all the same
    # the waiting call is abandoned: "nobody" resolves, and "sl" on sales appears (state unchanged record)
    out = eng.on_event(feed("abandoned", 20, call="w", queue="sales"))
    assert [(t.rule, t.scope.get("queue"), t.previous, t.state) for t in out] == [
        ("nobody", "sales", "firing", "resolved"),
        ("sl", "sales", "firing", "firing"),
    ]
    assert out[1].to_wire()["inhibited_by"] is None


def test_an_inhibited_alert_already_on_screen_is_marked_once() -> None:
    eng, feed = Engine(RuleSet((NOBODY, SL), inhibit=INHIBIT)), Feed()
    out = [eng.on_event(feed("login", 0, agent="a1", queues=["sales"]))]
    for i in range(2):
        out.append(
            eng.on_event(feed("answered", 1 + i, call=f"late{i}", queue="sales", agent=f"x{i}", wait_s=40.0))
        )
    assert [(t.rule, t.state) for batch in out for t in batch] == [("sl", "firing")]
    out2 = eng.on_event(feed("answered", 5, call="k", queue="sales", agent="a1", wait_s=0.0))
    out2 += eng.on_event(feed("queued", 6, call="w", queue="sales"))
    assert [(t.rule, t.previous, t.state, t.to_wire()["inhibited_by"] is not None) for t in out2] == [
        ("nobody", "inactive", "firing", False),
        ("sl", "firing", "firing", True),  # screens drop it
    ]
    # while inhibited its resolution is not published either (screens dropped it already)
    assert eng.on_event(feed("answered", 7, call="ok", queue="sales", agent="x9", wait_s=0.0)) == []


def test_escalation_after_unacknowledged_time_on_the_grid() -> None:
    # longest wait > 90 s fires at 91; escalate_after 60 s -> at 151, warning -> critical, escalated
    rule = ThresholdRule(name="longest-wait", metric="longest_wait_s", op=">", value=90, escalate_after=60)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    eng.on_event(feed("queued", 0.5, call="c1", queue="sales"))
    out = eng.advance(at(150 + 2))
    assert brief(out) == [("longest-wait", "inactive", "firing", 91)]
    out = eng.advance(at(151 + 2))
    assert brief(out) == [("longest-wait", "firing", "firing", 151)]
    wire = out[0].to_wire()
    assert (wire["severity"], wire["escalated"], wire["labels"]) == ("critical", True, {"escalated": "true"})
    assert eng.active_alerts()[0]["severity"] == "critical"
    # an acknowledged alert does not escalate; a restored engine keeps the deadline
    eng2, feed2 = Engine(RuleSet((rule,))), Feed()
    eng2.on_event(feed2("queued", 0.5, call="c1", queue="sales"))
    (fired,) = eng2.advance(at(100))
    eng2 = Engine.restore(eng2.snapshot(), RuleSet((rule,)))
    eng2.ack(fired.fingerprint, by="li", at=at(120))
    assert eng2.advance(at(400)) == []


def test_reload_a_bad_file_never_replaces_the_good_rules_and_tracks_survive() -> None:
    good = load_rules(
        "rules:\n  - {name: aht, kind: aht_spike, recent: 5m, min_sample: 1, baseline_min: 1}\n"
    )
    eng, feed = Engine(good), Feed()
    eng.on_event(feed("answered", 0, call="c", queue="sales", agent="a1", wait_s=0.0))
    eng.on_event(feed("ended", 50, call="c", agent="a1", talk_s=50.0))
    eng.on_event(feed("wrapped", 60, call="c", agent="a1"))
    with pytest.raises(RulesError):
        eng.replace_rules(load_rules("rules:\n  - {name: aht, kind: aht_spike, recent: soon}\n"))
    assert eng.rules is good  # the shell keeps the good set: load_rules raised before replace_rules
    tuned = load_rules(
        "rules:\n  - {name: aht, kind: aht_spike, recent: 10m, min_sample: 1, baseline_min: 1}\n"
    )
    assert eng.replace_rules(tuned, at=at(70)) == []
    # same name and kind: the detector's track (the handled call) survives the reload
    assert b'"aht":{"type":"aht","scopes":{"sales"' in eng.snapshot()
