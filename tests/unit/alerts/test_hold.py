"""The resolve hold (``keep_firing_for``) and what resolved records say."""

from __future__ import annotations

import textwrap

import msgspec
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
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.seats import SeatsRule
from services.alerts.core.lifecycle import AlertState, ThresholdAlert
from shared.events import Event

from .feed import Feed, at, epoch

# calls wait and nobody is free; resolves only after 60 s of "somebody free or nobody waiting"
NOBODY = ThresholdRule(
    name="nobody",
    metric="agents_available",
    op="<=",
    value=0,
    when=(Guard("calls_waiting", ">", 0),),
    keep_firing_for=60,
)


def brief(trs: list[Transition]) -> list[tuple[str, str, float]]:
    """(previous, state, event time as seconds after T0) of each transition."""
    return [(t.previous, t.state, round(t.event_time - epoch(0), 3)) for t in trs]


# -- the state machine ----------------------------------------------------------------------------


def machine(keep_s: float, for_s: float = 0.0) -> ThresholdAlert:
    return ThresholdAlert(
        for_s, AlertState(fingerprint="f", rule="r", site="s", kind="queue", name="q"), keep_s
    )


@pytest.mark.parametrize(
    ("keep", "series", "expected"),
    [
        # no hold: the first clear observation resolves (as before)
        (0, [(0, True), (10, False)], [(0, "firing"), (10, "resolved")]),
        # hold 30: clear from 10; more clear readings do not restart the hold; resolved at 40
        (
            30,
            [(0, True), (10, False), (20, False), (39, False), (40, False)],
            [(0, "firing"), (40, "resolved")],
        ),
        # a breach at 25 cancels the hold (nothing published); clear again from 30 -> resolved at 60
        (
            30,
            [(0, True), (10, False), (25, True), (30, False), (59, False), (60, False)],
            [
                (0, "firing"),
                (60, "resolved"),
            ],
        ),
    ],
)
def test_hold_in_the_machine(
    keep: float, series: list[tuple[float, bool]], expected: list[tuple[float, str]]
) -> None:
    m, out = machine(keep), []
    for t, cond in series:
        d = m.observe(cond, 1.0, t)
        if d is not None:
            out.append((t, d.state))
    assert out == expected


def test_hold_deadline_and_tick() -> None:
    m = machine(30)
    m.observe(True, 5.0, 0)
    assert m.next_deadline() is None  # firing, no hold
    assert m.observe(False, 1.0, 10.5) is None
    assert (m.st.clear_since, m.next_deadline()) == (10.5, 40.5)
    assert m.tick(40.4) is None
    d = m.tick(40.5)  # no fresh reading: the clear condition is taken to still hold
    assert d is not None and (d.previous, d.state, d.value) == ("firing", "resolved", 1.0)
    assert m.next_deadline() is None


def test_a_pending_alert_is_not_held() -> None:
    # the hold is for firing alerts only: a pending one whose breach breaks drops at once
    m = machine(60, for_s=30)
    m.observe(True, 5.0, 0)
    d = m.observe(False, 1.0, 10)
    assert d is not None and (d.previous, d.state) == ("pending", "resolved")


# -- on the engine's grid -------------------------------------------------------------------------


def starved(feed: Feed) -> list[Event]:
    """a1 serves sales but is on a break; a call waits from 5 s: firing at 5 (no `for`)."""
    return [
        feed("login", 0, agent="a1", queues=["sales"]),
        feed("state", 1, agent="a1", state="not_ready", reason="break"),
        feed("queued", 5, call="c1", queue="sales"),
    ]


@pytest.mark.parametrize(("free_at", "resolved_at"), [(50, 110), (50.5, 111)])
def test_hold_resolves_on_the_grid_with_no_event(free_at: float, resolved_at: float) -> None:
    # t  5          free_at                 free_at + 60     (grid: the first whole second >= it)
    #    firing     a1 available: hold      no event since -> resolved by advance()
    eng, feed = Engine(RuleSet((NOBODY,))), Feed()
    out = [t for ev in starved(feed) for t in eng.on_event(ev)]
    assert eng.on_event(feed("state", free_at, agent="a1", state="available")) == []  # held: nothing yet
    assert eng.next_deadline() == at(free_at - free_at % 1 + 1 + eng.lateness)  # the grid runs each second
    assert eng.advance(at(resolved_at - 1 + eng.lateness)) == []
    out += eng.advance(at(resolved_at + eng.lateness))
    assert brief(out) == [("inactive", "firing", 5), ("firing", "resolved", resolved_at)]
    assert out[1].value == 1.0 and out[1].details["fired"] is True
    assert eng.active_alerts() == []


def test_a_breach_during_the_hold_cancels_it_same_episode() -> None:
    # t  5        50              80                    100              160
    #    firing   free: hold ...  break again: breach   free: new hold   resolved (not at 110)
    eng, feed = Engine(RuleSet((NOBODY,))), Feed()
    events = [
        *starved(feed),
        feed("state", 50, agent="a1", state="available"),
        feed("state", 80, agent="a1", state="not_ready", reason="break"),
        feed("state", 100, agent="a1", state="available"),
    ]
    out = [t for ev in events for t in eng.on_event(ev)]
    out += eng.advance(at(159 + eng.lateness))
    assert brief(out) == [("inactive", "firing", 5)]  # one episode, nothing published meanwhile
    out += eng.advance(at(160 + eng.lateness))
    assert brief(out) == [("inactive", "firing", 5), ("firing", "resolved", 160)]
    assert out[1].started_at == out[0].started_at


def test_replay_resolves_at_the_hold_end_too() -> None:
    # no advance() at all: the next event (at 300) runs the grid through 110 first
    eng, feed = Engine(RuleSet((NOBODY,))), Feed()
    events = [
        *starved(feed),
        feed("state", 50, agent="a1", state="available"),
        feed("login", 300, agent="a2"),
    ]
    out = [t for ev in events for t in eng.on_event(ev)]
    assert brief(out) == [("inactive", "firing", 5), ("firing", "resolved", 110)]


@pytest.mark.parametrize("restore_after", [4, 5])
def test_snapshot_mid_hold_continues_identically(restore_after: int) -> None:
    # t  5 firing; 50 a1 free: hold; 70 a3 logs in for another queue; 110 resolved on the grid;
    #    150 a2 logs in for sales. A restore at 50 or 70 sees no sales event before 150: only the
    #    restored hold deadline can resolve it at 110.
    def events(feed: Feed) -> list[Event]:
        return [
            *starved(feed),
            feed("state", 50, agent="a1", state="available"),
            feed("login", 70, agent="a3", queues=["service"]),
            feed("login", 150, agent="a2", queues=["sales"]),
        ]

    whole = Engine(RuleSet((NOBODY,)))
    expected = [t for ev in events(Feed()) for t in whole.on_event(ev)] + whole.advance(at(200))
    first, evs = Engine(RuleSet((NOBODY,))), events(Feed())
    got = [t for ev in evs[:restore_after] for t in first.on_event(ev)]
    data = first.snapshot()
    (held,) = msgspec.json.decode(data)["alerts"]
    assert held["state"] == "firing" and held["clear_since"] == epoch(50)
    second = Engine.restore(data, RuleSet((NOBODY,)))
    got += [t for ev in evs[restore_after:] for t in second.on_event(ev)] + second.advance(at(200))
    assert got == expected
    assert brief(got) == [("inactive", "firing", 5), ("firing", "resolved", 110)]


def test_holds_due_at_the_same_grid_second_resolve_in_deadline_order_after_a_restore() -> None:
    # sales fires first (5), service second (6); service's hold starts first (50.2), sales' second
    # (50.7): both end at grid 111. A live run learnt the holds in that order, a restored engine
    # rebuilds them in alert order: the records must come out the same anyway.
    def events(feed: Feed) -> list[Event]:
        return [
            feed("login", 0, agent="a1", queues=["sales"]),
            feed("login", 0, agent="a2", queues=["service"]),
            feed("state", 1, agent="a1", state="not_ready", reason="break"),
            feed("state", 1, agent="a2", state="not_ready", reason="break"),
            feed("queued", 5, call="c1", queue="sales"),
            feed("queued", 6, call="c2", queue="service"),
            feed("state", 50.2, agent="a2", state="available"),
            feed("state", 50.7, agent="a1", state="available"),
        ]

    live = Engine(RuleSet((NOBODY,)))
    expected = [t for ev in events(Feed()) for t in live.on_event(ev)] + live.advance(at(200))
    first = Engine(RuleSet((NOBODY,)))
    got = [t for ev in events(Feed()) for t in first.on_event(ev)]
    got += Engine.restore(first.snapshot(), RuleSet((NOBODY,))).advance(at(200))
    assert got == expected
    assert [(t.scope["queue"], t.state, round(t.event_time - epoch(0))) for t in got[2:]] == [
        ("service", "resolved", 111),
        ("sales", "resolved", 111),
    ]


def test_replace_rules_with_a_shorter_hold_applies_to_a_running_hold() -> None:
    eng, feed = Engine(RuleSet((NOBODY,))), Feed()
    for ev in [*starved(feed), feed("state", 50, agent="a1", state="available")]:
        eng.on_event(ev)
    shorter = RuleSet((ThresholdRule(**{**_fields(NOBODY), "keep_firing_for": 10.0}),))
    assert eng.replace_rules(shorter) == []  # kept, still firing
    assert brief(eng.advance(at(70))) == [("firing", "resolved", 60)]


def _fields(rule: ThresholdRule) -> dict[str, object]:
    keys = ("name", "metric", "op", "value", "when", "keep_firing_for")
    return {k: getattr(rule, k) for k in keys}


def test_detector_kinds_hold_too() -> None:
    # t  0 login, 10 break (limit 60 s) -> firing at grid 71; 100 available -> hold 30 s -> resolved 130
    rule = AgentStateRule(name="away", not_ready=(("break", 60.0),), keep_firing_for=30)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [
        feed("login", 0, agent="a1", team="t1"),
        feed("state", 10, agent="a1", state="not_ready", reason="break"),
        feed("state", 100, agent="a1", state="available"),
    ]
    out = [t for ev in events for t in eng.on_event(ev)]
    out += eng.advance(at(129 + eng.lateness))
    assert brief(out) == [("inactive", "firing", 71)]
    out += eng.advance(at(130 + eng.lateness))
    assert brief(out) == [("inactive", "firing", 71), ("firing", "resolved", 130)]
    assert out[1].summary == "a1: cleared, now available" and out[1].details["keep_firing_for"] == 30


# -- resolved records say what cleared ------------------------------------------------------------


def test_threshold_resolution_says_it_cleared_against_the_clear_threshold() -> None:
    rules = default_rules()
    longest = rules.by_name("longest-wait")
    assert isinstance(longest, ThresholdRule) and longest.keep_firing_for == 60
    # t  0 c1 queued, 80 c2 queued; 91 c1 waited > 90 s: firing; 100 c1 abandoned, c2 waited 20 s
    #    <= 60: hold; 120 c2 answered (still clear); 160 = 100 + 60: resolved, nobody waiting (0 s)
    eng, feed = Engine(RuleSet((longest,))), Feed()
    out = eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    out += eng.on_event(feed("queued", 80, call="c2", queue="sales"))
    out += eng.on_event(feed("abandoned", 100, call="c1", queue="sales"))
    out += eng.on_event(feed("answered", 120, call="c2", queue="sales", agent="a1"))
    out += eng.advance(at(170))
    assert brief(out) == [("inactive", "firing", 91), ("firing", "resolved", 160)]
    assert out[0].summary == "sales: oldest call waiting 91 s (> 90 s)"
    res = out[1]
    assert res.summary == "sales: cleared, oldest call waiting 0 s (<= 60 s)" and res.value == 0.0
    assert res.details["cleared_by"] == "metric" and res.details["reason"] == "longest_wait_s 0 <= 60 (clear)"
    assert res.details["keep_firing_for"] == 60 and res.threshold == 90


def test_cleared_reason_names_the_guard_and_the_metric() -> None:
    rule = ThresholdRule(**{**_fields(NOBODY), "keep_firing_for": 0.0})
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = [t for ev in starved(feed) for t in eng.on_event(ev)]
    out += eng.on_event(feed("abandoned", 20, call="c1", queue="sales"))  # nobody waits any more
    assert out[1].summary == "sales: cleared: calls_waiting 0 <= 0"
    assert (out[1].details["cleared_by"], out[1].details["reason"]) == ("when", "calls_waiting 0 <= 0")
    out += eng.on_event(feed("queued", 30, call="c2", queue="sales"))
    out += eng.on_event(feed("state", 40, agent="a1", state="available"))
    assert out[3].summary == "sales: cleared: agents_available 1 > 0"


def test_default_no_agents_resolution_and_unfired_pending() -> None:
    rule = default_rules().by_name("no-agents-available")
    assert isinstance(rule, ThresholdRule) and (rule.for_s, rule.keep_firing_for) == (60, 120)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = [t for ev in starved(feed) for t in eng.on_event(ev)]
    out += eng.on_event(feed("state", 30, agent="a1", state="available"))  # pending drops, never fired
    assert brief(out) == [("inactive", "pending", 5), ("pending", "resolved", 30)]
    assert out[1].summary == "sales: cleared before firing: agents_available 1 > 0"
    out += eng.on_event(feed("state", 31, agent="a1", state="not_ready", reason="break"))
    out += eng.advance(at(91 + eng.lateness))  # pending from 31, firing at 91
    out += eng.on_event(feed("state", 100, agent="a1", state="available"))
    out += eng.advance(at(220 + eng.lateness))
    assert brief(out)[2:] == [
        ("inactive", "pending", 31),
        ("pending", "firing", 91),
        ("firing", "resolved", 220),
    ]
    assert out[-1].summary == "sales: cleared, 1 agent(s) available"


def test_detector_resolution_says_it_cleared() -> None:
    rule = SeatsRule(name="seats", scope="team", min_ready_share=0.5, min_logged_in=3)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [feed("login", 0, agent=f"a{i}", team="t1") for i in range(4)]
    events += [feed("state", 10 + i, agent=f"a{i}", state="not_ready", reason="lunch") for i in range(3)]
    events += [feed("state", 50, agent="a0", state="available")]
    out = [t for ev in events for t in eng.on_event(ev)]
    assert [t.summary for t in out] == [
        "t1: 1 of 4 seats staffed, 2 needed (lunch 3)",
        "t1: cleared, 2 of 4 seats staffed (2 needed)",
    ]


# -- rules files ----------------------------------------------------------------------------------


def test_keep_firing_for_loads_for_threshold_and_kinds() -> None:
    rs = load_rules(
        textwrap.dedent("""\
        rules:
          - {name: w, metric: calls_waiting, op: ">", value: 10, keep_firing_for: 1m30s,
             resolved_summary: "{queue}: back to {value:.0f} ({reason})"}
          - {name: s, kind: seats, keep_firing_for: 2m}
          - {name: n, metric: calls_waiting, op: ">", value: 1}
        """)
    )
    w, s, n = rs.rules
    assert (w.keep_firing_for, s.keep_firing_for, n.keep_firing_for) == (90.0, 120.0, 0.0)
    assert isinstance(w, ThresholdRule) and w.resolved_summary.startswith("{queue}")


def test_keep_firing_for_errors_have_their_line() -> None:
    with pytest.raises(RulesError) as info:
        load_rules(
            textwrap.dedent("""\
            rules:
              - name: a
                metric: calls_waiting
                op: ">"
                value: 10
                keep_firing_for: soon
              - {name: b, metric: calls_waiting, op: ">", value: 1, keep_firing_for: -5}
              - {name: c, kind: seats, keep_firing_for: [1]}
              - {name: d, kind: seats, keep_firing_for: later}
              - {name: e, metric: calls_waiting, op: ">", value: 1, resolved_summary: "{nope}"}
            """),
            name="bad.yaml",
        )
    got = info.value.errors
    expected = [
        (6, "bad duration 'soon'"),
        (7, "duration must be >= 0"),
        (8, "expected a duration, got a list"),
        (9, "bad duration 'later'"),
        (10, "bad resolved_summary template"),
    ]
    assert len(got) == len(expected), got
    for (line, message), (want_line, want) in zip(got, expected, strict=True):
        assert line == want_line and want in message, (line, message)
