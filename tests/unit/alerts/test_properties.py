"""Hypothesis properties of the floor and the engine over random, messy event streams."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.alerts.core import Engine, Guard, RuleSet, ThresholdRule, Transition
from services.alerts.core.alerting.inhibition import Inhibit
from services.alerts.core.detectors.agent_efficiency import AgentEfficiencyRule
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.aht_spike import AhtSpikeRule
from services.alerts.core.detectors.freshness import FreshnessRule
from services.alerts.core.detectors.occupancy import OccupancyRule
from services.alerts.core.detectors.options import Grouping
from services.alerts.core.detectors.progress_lag import ProgressLagRule
from services.alerts.core.detectors.seats import SeatsRule
from services.alerts.core.floor.kpis import N_STATES, WIDTH
from services.alerts.core.floor.projects import Project
from services.alerts.core.floor.state import SiteFloor
from shared.events import Event, Outcome

from .feed import KINDS, T0

LATENESS = 2.0
RULES = RuleSet(
    (
        # resolve holds (keep_firing_for) on threshold and detector rules, some shorter than the
        # streams' gaps and some longer, so holds are cancelled, run out and span restores
        ThresholdRule(
            name="waiting", metric="calls_waiting", op=">", value=2, clear=1, for_s=5, keep_firing_for=4
        ),
        ThresholdRule(
            name="oldest",
            metric="longest_wait_s",
            op=">",
            value=20,
            clear=10,
            escalate_after=15,
            keep_firing_for=7.5,
        ),
        ThresholdRule(name="site-oldest", metric="longest_wait_s", scope="site", op=">", value=40, for_s=3),
        ThresholdRule(
            name="sl", metric="service_level", op="<", value=0.8, clear=0.9, min_sample=2, for_s=10
        ),
        ThresholdRule(name="abandons", metric="abandon_rate", op=">", value=0.2, min_sample=1),
        ThresholdRule(name="busy", metric="occupancy", scope="team", op=">", value=0.5, clear=0.4, for_s=3),
        ThresholdRule(
            name="away",
            metric="not_ready_s",
            scope="agent",
            op=">",
            value=30,
            for_s=2,
            group=Grouping(by="site", min=3),
        ),
        ThresholdRule(
            name="nobody",
            metric="agents_available",
            op="<=",
            value=0,
            when=(Guard("calls_waiting", ">", 0),),
            keep_firing_for=30,
        ),
        ThresholdRule(name="aht", metric="aht_s", scope="site", op=">", value=25, clear=20),
        # the detector kinds, with small parameters so that short random streams reach them
        AhtSpikeRule(
            name="spike",
            recent=60,
            half_life=120,
            min_sample=2,
            baseline_min=2,
            z=0.5,
            direction="both",
            for_s=2,
        ),
        AhtSpikeRule(name="spike-team", scope="team", recent=60, min_sample=1, baseline_min=1, z=0.1),
        OccupancyRule(
            name="band", scope="team", low=0.3, high=0.7, min_sample=10, for_s=3, keep_firing_for=90
        ),
        SeatsRule(
            name="seats",
            min_ready_share=0.5,
            min_logged_in=2,
            planned=(("t1", 2.0),),
            for_s=2,
            keep_firing_for=3,
        ),
        AgentStateRule(
            name="away-long", not_ready=(("break", 20.0), ("*", 9.0)), wrap=7.0, for_s=1, keep_firing_for=5,
            group=Grouping(min=2, clear=1),
        ),
        AgentEfficiencyRule(
            name="eff", window=600, min_ready=10, min_calls=1, min_outcomes=1, min_peers=1, z=0.5
        ),
        ProgressLagRule(name="lag", behind=0.1, behind_abs=1, min_elapsed=0, z=0.0, for_s=2),
        FreshnessRule(name="fresh", silent=25.0, max_lag=1.0),
    ),
    projects=(
        Project(name="p0", target=40, start_min=540, end_min=560, utc_offset=8 * 3600, queues=("q1",)),
    ),
    inhibit=(
        Inhibit(source=(("rule", "nobody"),), target=(("rule", "sl"),), equal=("site", "queue")),
        Inhibit(source=(("severity", "critical"),), target=(("rule", "waiting"),), equal=("queue",)),
    ),
)

step = st.tuples(
    st.sampled_from(sorted(KINDS)),
    st.integers(0, 3),
    st.integers(0, 5),
    st.integers(0, 1),
    st.one_of(st.floats(0, 12), st.floats(0, 400)),
    st.floats(0, 1.5),
    st.integers(0, 9),
)


def build(steps: list[tuple[str, int, int, int, float, float, int]]) -> list[Event]:
    """Events from drawn steps: time moves forward by ``gap``, each event may be ``back`` s early
    (out of order, within the lateness), and ``pick`` sometimes repeats an earlier event."""
    events: list[Event] = []
    clock = 0.0
    for n, (kind, agent, call, queue, gap, back, pick) in enumerate(steps):
        if pick == 0 and events:
            events.append(events[n * 7 % len(events)])  # a re-delivery (same source and id)
            continue
        clock += gap
        # call legs often use the agent's "own" call, so answer -> end -> wrap chains (handle times) happen
        own = f"c{agent}" if pick % 2 == 0 and kind not in ("queued", "abandoned") else f"c{call}"
        fields: dict[str, Any] = {"agent": f"a{agent}", "call": own, "queue": f"q{queue}"}
        if kind == "login":
            fields = {
                "agent": f"a{agent}",
                "team": f"t{agent % 2}",
                "queues": [None, ["q0"], ["q0", "q1"]][pick % 3],
            }
        elif kind in ("logout", "state"):
            fields = {"agent": f"a{agent}"}
            if kind == "state":
                fields.update(state=["available", "not_ready"][pick % 2], reason=["break", None][queue])
        elif kind in ("queued", "abandoned"):
            fields = {"call": f"c{call}", "queue": f"q{queue}"}
            if kind == "abandoned" and pick % 2:
                fields["wait_s"] = float(pick)
            if kind == "queued" and pick % 3 == 1:
                fields["campaign"] = "p0"
        elif kind == "answered":
            fields["wait_s"] = float(pick * 4) if pick % 3 == 0 else None
        else:
            del fields["queue"]
            if kind == "wrapped" and pick % 4:
                fields["outcome"] = Outcome(
                    code="sale" if pick % 2 else "no", success=[None, True, False][pick % 3]
                )
        ts = T0 + dt.timedelta(seconds=max(0.0, clock - back))
        source = "acd" if pick < 7 else "pbx"  # a second source, often silent
        events.append(KINDS[kind](v=1, id=f"e{n}", source=source, ts=ts, site="bj-01", **fields))
    return events


def check_floor(s: SiteFloor, now: float) -> None:
    assert sum(s.total.counts) == len(s.agents)  # agents are conserved across states
    assert all(c >= 0 for c in s.total.counts)
    for team, agg in s.teams.items():
        members = [a for a in s.agents.values() if a.team == team]
        assert agg.counts == [sum(1 for a in members if a.state == k) for k in range(N_STATES)]
    for name, q in s.queues.items():
        serving = [a for a in s.agents.values() if name in a.queues]
        assert q.agg.counts == [sum(1 for a in serving if a.state == k) for k in range(N_STATES)]
        assert q.oldest == min(q.waiting.values(), default=None)
        assert all(s.waiting_in[c] == name for c in q.waiting)
    assert s.calls_waiting() == sum(len(q.waiting) for q in s.queues.values())
    for agg in [s.total, *s.teams.values(), *(q.agg for q in s.queues.values())]:
        for t in (now, now + 90, now + 4000):
            totals = agg.win.at(t)
            assert len(totals) == WIDTH and min(totals) >= -1e-9  # counters never negative
            assert min(agg.state_seconds(t)) >= -1e-9


def check_groups(alerts: list[dict[str, Any]]) -> None:
    """Every mark names a firing group alert, whose figures count the firing members it lists."""
    groups = {a["fingerprint"]: a for a in alerts if "members" in a["details"]}
    for fp, g in groups.items():
        members = [a for a in alerts if a["grouped_into"] == fp]
        assert g["state"] == "firing" and g["value"] == sum(a["state"] == "firing" for a in members)
        assert sorted(m["fingerprint"] for m in g["details"]["members"]) == sorted(
            a["fingerprint"] for a in members
        )
        assert g["value"] >= g["details"]["group"]["clear"]
    assert all(a["grouped_into"] in groups for a in alerts if a["grouped_into"] is not None)


def replay(
    events: list[Event],
    advances: dict[int, float] | None = None,
    restore_at: int | None = None,
    end: float = 0.0,
    rules: RuleSet = RULES,
) -> list[dict[str, Any]]:
    """Transitions of a run; ``advances[i]`` = advance(now) before event i; restore before ``restore_at``."""
    eng, out = Engine(rules, allowed_lateness_s=LATENESS), []
    for i, ev in enumerate(events):
        if restore_at == i:
            eng = Engine.restore(eng.snapshot(), rules)
        if advances and i in advances:
            out += eng.advance(T0 + dt.timedelta(seconds=advances[i]))
        out += eng.on_event(ev)
    out += eng.advance(T0 + dt.timedelta(seconds=end))
    return [t.to_wire() for t in out]


@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=60))
def test_floor_invariants_and_lifecycle(steps: list[Any]) -> None:
    events = build(steps)
    eng = Engine(RULES, allowed_lateness_s=LATENESS)
    transitions: list[Transition] = []
    for ev in events:
        transitions += eng.on_event(ev)
        s = eng.floor.sites[ev.site]
        check_floor(s, ev.ts.timestamp())
    if events:
        transitions += eng.advance(max(e.ts for e in events) + dt.timedelta(seconds=600))
    # What a screen sees. Inhibition withholds an alert's records (design in alerting/publishing.py): one
    # that was hidden (never shown, or last shown with ``inhibited_by``) reappears with its
    # current transition, whose ``previous`` the screen did not see.
    last: dict[str, str] = {}
    hidden: set[str] = set()
    for tr in transitions:
        before = last.get(tr.fingerprint, "inactive")
        assert (tr.previous, tr.state) != ("firing", "pending")  # never back to pending
        reappearing = tr.fingerprint in hidden or (tr.fingerprint not in last and tr.previous != "inactive")
        assert reappearing or tr.previous == before or (before == "resolved" and tr.previous == "inactive")
        if tr.suppressed:
            hidden.add(tr.fingerprint)
        else:
            hidden.discard(tr.fingerprint)
        if tr.previous == tr.state:  # escalation / inhibition records leave the state unchanged
            assert tr.state in ("pending", "firing") and (reappearing or tr.previous == before)
            last[tr.fingerprint] = tr.state
            continue
        assert (tr.previous, tr.state) in {
            ("inactive", "pending"),
            ("inactive", "firing"),
            ("pending", "firing"),
            ("pending", "resolved"),  # published pending is always closed by a record
            ("firing", "resolved"),
        }
        assert tr.state != "resolved" or tr.details["fired"] is (tr.previous == "firing")
        last[tr.fingerprint] = tr.state
    check_groups(eng.active_alerts())
    active = {a["fingerprint"]: a["state"] for a in eng.active_alerts() if not a.get("inhibited_by")}
    assert all(state in ("pending", "firing") for state in active.values())
    assert all(last.get(fp) == state for fp, state in active.items() if fp not in hidden)
    assert eng.duplicates == sum(1 for i, e in enumerate(events) if e in events[:i])


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=50), st.data())
def test_replay_is_independent_of_advance_calls_and_restores(steps: list[Any], data: st.DataObject) -> None:
    events = build(steps)
    secs = [(e.ts - T0).total_seconds() for e in events]
    end = max(secs) + 700
    # an advance before event i may reach any now with now - lateness <= ts of every later event
    positions = data.draw(st.sets(st.integers(0, len(events) - 1), max_size=8))
    advances = {i: min(secs[i:]) + LATENESS * data.draw(st.floats(0, 1)) for i in positions}
    restore_at = data.draw(st.integers(0, len(events) - 1))
    expected = replay(events, end=end)
    assert replay(events, advances=advances, end=end) == expected
    assert replay(events, restore_at=restore_at, end=end) == expected
    assert replay(events, advances=advances, restore_at=restore_at, end=end) == expected


# whole calls (answer -> maybe hold -> end -> wrap) so the handle-time detector gets real samples
SPIKES = RuleSet(
    (
        AhtSpikeRule(
            name="spike",
            recent=60,
            half_life=300,
            min_sample=2,
            baseline_min=2,
            z=1.0,
            direction="both",
            for_s=5,
            keep_firing_for=20,
        ),
        AhtSpikeRule(
            name="spike-team", scope="team", recent=120, min_sample=3, baseline_min=3, z=0.5, rise=0.1
        ),
        AgentEfficiencyRule(
            name="eff", metrics=("aht_s", "calls_per_hour"), window=600, min_ready=30, min_calls=1
        ),
    )
)
whole_call = st.tuples(
    st.integers(0, 3), st.integers(0, 1), st.floats(1, 90), st.floats(0, 30), st.floats(0, 60)
)


def calls(drawn: list[tuple[int, int, float, float, float]]) -> list[Event]:
    """Each agent handles its drawn calls one after the other; the merged stream is time-ordered."""
    free = [0.0] * 4
    events: list[Event] = []
    for n, (agent, queue, gap, talk, wrap) in enumerate(drawn):
        start = free[agent] + gap
        free[agent] = start + talk + wrap
        a, c = f"a{agent}", f"k{n}"
        for i, (kind, t, fields) in enumerate(
            [
                ("answered", start, {"queue": f"q{queue}", "wait_s": 0.0}),
                ("ended", start + talk, {}),
                ("wrapped", start + talk + wrap, {"outcome": Outcome(code="sale", success=n % 3 == 0)}),
            ]
        ):
            events.append(
                KINDS[kind](
                    v=1,
                    id=f"k{n}.{i}",
                    source="acd",
                    ts=T0 + dt.timedelta(seconds=t),
                    site="bj-01",
                    call=c,
                    agent=a,
                    **fields,
                )
            )
    logins = [
        KINDS["login"](v=1, id=f"l{i}", source="acd", ts=T0, site="bj-01", agent=f"a{i}", team=f"t{i % 2}")
        for i in range(4)
    ]
    return logins + sorted(events, key=lambda e: e.ts)


@settings(max_examples=100, deadline=None)
@given(st.lists(whole_call, min_size=1, max_size=60), st.data())
def test_handle_time_detectors_replay_identically(drawn: list[Any], data: st.DataObject) -> None:
    events = calls(drawn)
    secs = [(e.ts - T0).total_seconds() for e in events]
    end = max(secs) + 700
    positions = data.draw(st.sets(st.integers(0, len(events) - 1), max_size=8))
    advances = {i: min(secs[i:]) + LATENESS * data.draw(st.floats(0, 1)) for i in positions}
    restore_at = data.draw(st.integers(0, len(events) - 1))
    expected = replay(events, end=end, rules=SPIKES)
    assert replay(events, advances=advances, restore_at=restore_at, end=end, rules=SPIKES) == expected
    last: dict[str, str] = {}
    for tr in expected:
        assert (tr["previous"], tr["state"]) != ("firing", "pending")
        assert tr["previous"] == last.get(tr["fingerprint"], "inactive") or tr["previous"] == "inactive"
        last[tr["fingerprint"]] = tr["state"]


def test_inhibition_ending_on_a_grid_point_is_recorded_where_the_source_resolves() -> None:
    """Found by the property above: `nobody` (an inhibit source) resolves at the end of its resolve
    hold, on a grid point; the record bringing back the `sl` alert it inhibited must come right
    after, at that time, however the shell splits the stream with `advance` calls."""
    steps = [("abandoned", 0, 0, 0, 0.0, 0.0, 0)] * 14 + [
        ("queued", 0, 1, 0, 0.0, 0.0, 1),
        ("answered", 0, 1, 0, 0.0, 0.0, 1),
        ("abandoned", 0, 0, 0, 60.0, 0.0, 1),
        ("abandoned", 0, 0, 0, 0.0, 0.0, 1),
        ("abandoned", 0, 0, 0, 0.0, 0.0, 1),
    ]
    events = build(steps)
    secs = [(e.ts - T0).total_seconds() for e in events]
    end = max(secs) + 700
    expected = replay(events, end=end)
    assert replay(events, advances={i: min(secs[i:]) for i in (0, 1, 16)}, end=end) == expected
    order = [(t["rule"], t["previous"], t["state"]) for t in expected]
    back = order.index(("sl", "firing", "firing"))
    assert order[back - 1] == ("nobody", "firing", "resolved")
    assert expected[back]["event_time"] == expected[back - 1]["event_time"]
