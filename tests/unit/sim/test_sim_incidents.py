"""Incidents: the compact grammar, and each incident's measurable effect on the event stream."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floorwatch.sim.config import default_config
from floorwatch.sim.incidents import (
    AgentParks,
    AhtJump,
    ArrivalSurge,
    ProjectSlowdown,
    TeamLunch,
    parse_incident,
)
from floorwatch.sim.model import FloorSimulation
from shared.events import (
    AgentLogout,
    AgentStateChanged,
    CallAnswered,
    CallQueued,
    CallWrapped,
)

from .floorcheck import violations
from .simhelp import START, handle_times, mean, minute, of, run

# ---- grammar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "incident"),
    [
        ("aht:sales@10x1.4", AhtJump(queue="sales", at_minute=10, factor=1.4)),
        ("aht_jump:sales@10x1.4+30", AhtJump(queue="sales", at_minute=10, factor=1.4, minutes=30)),
        ("surge:service@30x2+15", ArrivalSurge(queue="service", at_minute=30, factor=2, minutes=15)),
        ("lunch:changjiang@60+45", TeamLunch(team="changjiang", at_minute=60, minutes=45)),
        ("team_lunch:hh@60.5+45/meeting", TeamLunch(team="hh", at_minute=60.5, minutes=45, reason="meeting")),
        ("park:cj003@20", AgentParks(agent="cj003", at_minute=20)),
        ("park:cj003@20/training", AgentParks(agent="cj003", at_minute=20, reason="training")),
        ("slow:kd-upgrade@30x0.5", ProjectSlowdown(project="kd-upgrade", at_minute=30, factor=0.5)),
        (
            " project_slowdown:p.1@0x0.25+5 ",
            ProjectSlowdown(project="p.1", at_minute=0, factor=0.25, minutes=5),
        ),
    ],
)
def test_the_compact_form_parses(text: str, incident: object) -> None:
    assert parse_incident(text) == incident


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("aht:sales", "expected KIND:TARGET@MINUTE"),
        ("aht:sales@10", "needs a positive factor"),
        ("aht:sales@10x0", "needs a positive factor"),
        ("boom:sales@10x2", "unknown incident kind 'boom'"),
        ("lunch:changjiang@60", "needs \\+MINUTES"),
        ("lunch:changjiang@60x2+5", "takes no xFACTOR"),
        ("park:cj003@20+5", "never comes back"),
        ("surge:sales@10x2/break", "takes no /REASON"),
        ("surge:sales@-1x2", "expected KIND"),
    ],
)
def test_bad_forms_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_incident(text)


names = st.from_regex(r"[a-z][a-z0-9_.\-]{0,15}", fullmatch=True)
minutes = st.integers(0, 10_000).map(lambda n: n / 4)
factors = st.integers(1, 4000).map(lambda n: n / 100)


@given(
    st.one_of(
        st.builds(
            AhtJump, queue=names, at_minute=minutes, factor=factors, minutes=st.none() | minutes.filter(bool)
        ),
        st.builds(ArrivalSurge, queue=names, at_minute=minutes, factor=factors, minutes=st.none()),
        st.builds(ProjectSlowdown, project=names, at_minute=minutes, factor=factors),
        st.builds(TeamLunch, team=names, at_minute=minutes, minutes=minutes.filter(bool), reason=names),
        st.builds(AgentParks, agent=names, at_minute=minutes, reason=st.sampled_from(["break", "training"])),
    )
)
def test_spec_and_parse_round_trip(incident) -> None:
    if isinstance(incident, TeamLunch | AgentParks) and not incident.reason.isidentifier():
        incident = dataclasses.replace(incident, reason="meeting")
    assert parse_incident(incident.spec()) == incident


@pytest.mark.parametrize(
    ("incident", "message"),
    [
        (AhtJump(queue="billing", at_minute=1, factor=2), "unknown queue 'billing'"),
        (TeamLunch(team="yangtze", at_minute=1, minutes=5), "unknown team 'yangtze'"),
        (AgentParks(agent="cj999", at_minute=1), "unknown agent 'cj999'"),
        (ProjectSlowdown(project="nope", at_minute=1, factor=0.5), "unknown project 'nope'"),
    ],
)
def test_an_incident_on_something_the_floor_lacks_is_refused(incident: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FloorSimulation(default_config(incidents=(incident,)), seed=1, start=START)


# ---- effects ------------------------------------------------------------------------------------


def test_aht_jump_raises_handle_time_on_its_queue_only() -> None:
    # minute:  0 ........ 120 ............... 300
    #          baseline    | aht x1.4 on sales from here on
    config = default_config(scale=3, incidents=(AhtJump(queue="sales", at_minute=120, factor=1.4),))
    events = run(config, seed=21, hours=5)
    before, after = handle_times(events, "sales", 0, 120), handle_times(events, "sales", 120, 300)
    assert mean(after) >= 1.25 * mean(before)
    other_before, other_after = (
        handle_times(events, "service", 0, 120),
        handle_times(events, "service", 120, 300),
    )
    assert 0.85 < mean(other_after) / mean(other_before) < 1.15
    assert violations(events) == []


def test_without_the_incident_handle_time_does_not_jump() -> None:
    events = run(default_config(scale=3), seed=21, hours=5)
    assert (
        0.85
        < mean(handle_times(events, "sales", 120, 300)) / mean(handle_times(events, "sales", 0, 120))
        < 1.15
    )


def test_arrival_surge_multiplies_arrivals_in_its_window_only() -> None:
    # minute:  0 ..... 120 ===== 180 ..... 240
    #                   | x2.5 on service |
    surge = ArrivalSurge(queue="service", at_minute=120, factor=2.5, minutes=60)
    base = run(default_config(scale=2), seed=3, hours=4)
    hit = run(default_config(scale=2, incidents=(surge,)), seed=3, hours=4)

    def count(events: list, lo: float, hi: float, queue: str = "service") -> int:
        return len(of(events, CallQueued, lo, hi, queue=queue))

    assert count(hit, 120, 180) >= 2.0 * count(base, 120, 180)
    assert 0.75 < count(hit, 190, 240) / count(base, 190, 240) < 1.25
    # arrivals come from per-queue streams by time change: nothing before the surge moves,
    # and other queues do not move at all
    assert of(hit, CallQueued, 0, 120, queue="service") == of(base, CallQueued, 0, 120, queue="service")
    assert _first_queued(hit, "sales") == _first_queued(base, "sales")  # transfers aside


def test_team_lunch_takes_the_whole_team_away_and_back_together() -> None:
    # minute: 150 lunch starts (agents on a call finish it first) ... 195 all back
    lunch = TeamLunch(team="huanghe", at_minute=150, minutes=45)
    events = run(default_config(incidents=(lunch,)), seed=9, hours=5)
    team = {e.agent for e in of(events, CallAnswered) if e.agent.startswith("hh")}
    assert len(team) == 10
    went = {e.agent for e in of(events, AgentStateChanged, 150, 195, state="not_ready", reason="lunch")}
    assert went == team
    # an answer up to one ring time after 150 belongs to a call connected before the lunch
    assert not [e for e in of(events, CallAnswered, 150.2, 195) if e.agent in team]
    back = of(events, AgentStateChanged, 195, 195.001, state="available")
    assert {e.agent for e in back} == team
    assert [e for e in of(events, CallAnswered, 195, 300) if e.agent in team]
    assert violations(events) == []


def test_a_parked_agent_never_takes_another_call() -> None:
    park = AgentParks(agent="cj003", at_minute=60)
    events = run(default_config(incidents=(park,)), seed=2, hours=12)
    mine = [e for e in events if getattr(e, "agent", None) == "cj003"]
    parked_at = next(e for e in mine if isinstance(e, AgentStateChanged) and minute(e) >= 60)
    assert parked_at.state == "not_ready" and parked_at.reason == "break"
    later = [e for e in mine if e.ts > parked_at.ts]
    assert [type(e) for e in later] == [AgentLogout]  # no call, no return, only the end of the shift
    assert of(mine, CallAnswered, 0, 60)  # it did work before
    undisturbed = run(default_config(), seed=2, hours=12)
    assert of(undisturbed, CallAnswered, 90, 480, agent="cj003")


def test_project_slowdown_lowers_its_conversion_only() -> None:
    # minute:  0 ........ 240 ........... 600
    #          normal      | kd-upgrade converts at x0.4
    slow = ProjectSlowdown(project="kd-upgrade", at_minute=240, factor=0.4)
    events = run(default_config(scale=3, incidents=(slow,)), seed=4, hours=10)
    campaign = {e.call: e.campaign for e in of(events, CallQueued)}

    def rate(project: str, lo: float, hi: float) -> float:
        wraps = [
            e
            for e in of(events, CallWrapped, lo, hi)
            if campaign[e.call] == project and e.outcome.code != "transferred"
        ]
        return mean([1.0 if e.outcome.success else 0.0 for e in wraps])

    assert rate("kd-upgrade", 240, 600) <= 0.6 * rate("kd-upgrade", 0, 240)
    assert rate("kd-upgrade", 0, 240) == pytest.approx(0.25, abs=0.05)
    assert rate("xyk-signup", 240, 600) == pytest.approx(rate("xyk-signup", 0, 240), abs=0.05)


def _first_queued(events: list, queue: str) -> list[float]:
    """Arrival minutes of calls that first queued on ``queue`` (not transferred there)."""
    seen: set[str] = set()
    firsts = []
    for e in of(events, CallQueued):
        if e.call not in seen and e.queue == queue:
            firsts.append(minute(e))
        seen.add(e.call)
    return firsts
