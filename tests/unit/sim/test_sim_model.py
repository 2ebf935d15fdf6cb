"""The generator: determinism, wire round-trip, ordering, lifecycle, plausibility, bounded state."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floorwatch.sim.config import default_config
from floorwatch.sim.incidents import AgentParks, AhtJump, ArrivalSurge, TeamLunch
from floorwatch.sim.model import FloorSimulation, events_between
from floorwatch.sim.plans import expected_events_per_s, project_plans
from shared.events import (
    EVENT_TYPES,
    AgentLogin,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallWrapped,
    decode_event,
    encode_event,
)

from .floorcheck import violations
from .simhelp import START, mean, minute, of, run


@pytest.fixture(scope="module")
def day() -> list:
    """One full default day (08:00-20:00), seed 1."""
    return run(default_config(), seed=1, hours=12)


def test_same_seed_same_events_and_other_seed_other_events() -> None:
    a = [encode_event(e) for e in run(default_config(), seed=7, hours=3)]
    b = [encode_event(e) for e in run(default_config(), seed=7, hours=3)]
    c = [encode_event(e) for e in run(default_config(), seed=8, hours=3)]
    assert a == b
    assert len(a) > 500
    assert a != c


def test_every_event_round_trips_through_the_wire_and_all_types_occur(day: list) -> None:
    for ev in day:
        assert decode_event(encode_event(ev)) == ev
    assert {type(e) for e in day} == set(EVENT_TYPES)


def test_events_are_time_ordered_with_unique_ids_from_the_sim_source(day: list) -> None:
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(day))
    assert len({e.id for e in day}) == len(day)
    assert {(e.source, e.site) for e in day} == {("sim", "bj-01")}
    assert all(e.ts.utcoffset() == dt.timedelta(hours=8) for e in day)


def test_the_start_is_part_of_the_ids_so_a_restart_is_not_deduplicated() -> None:
    first = FloorSimulation(default_config(), seed=1, start=START)
    later = FloorSimulation(default_config(), seed=1, start=START + dt.timedelta(hours=1))
    assert next(first).id != next(later).id


def test_slices_of_events_until_are_the_iterator_cut_in_pieces() -> None:
    whole = list(itertools.islice(FloorSimulation(default_config(), seed=3, start=START), 3000))
    sim = FloorSimulation(default_config(), seed=3, start=START)
    pieces = []
    for m in range(0, 600, 7):
        pieces += sim.events_until(START + dt.timedelta(minutes=m))
    pieces += sim.events_until(START + dt.timedelta(minutes=600))
    assert pieces[: len(whole)] == whole
    last = pieces[-1].ts
    assert all(e.ts < START + dt.timedelta(minutes=600) for e in pieces)
    assert next(sim).ts >= START + dt.timedelta(minutes=600) > last


def test_events_between_is_the_half_open_window() -> None:
    t0, t1 = START + dt.timedelta(minutes=60), START + dt.timedelta(minutes=90)
    window = events_between(default_config(), seed=2, start=START, t0=t0, t1=t1)
    everything = run(default_config(), seed=2, hours=2)
    assert window == [e for e in everything if t0 <= e.ts < t1]
    assert window


def test_call_and_agent_lifecycle_hold_for_a_full_day(day: list) -> None:
    assert violations(day) == []


def test_the_lifecycle_check_does_catch_an_agent_answering_on_break(day: list) -> None:
    # guard against a vacuous checker: move one answer into the agent's break
    breaks = of(day, AgentStateChanged, state="not_ready")
    pause = breaks[0]
    first_call = of(day, CallQueued, minute(pause))[0]
    forged = CallAnswered(
        v=1, id="forged", source="sim", ts=first_call.ts + dt.timedelta(seconds=1), site="bj-01",
        call=first_call.call, queue=first_call.queue, agent=pause.agent, wait_s=1.0,
    )  # fmt: skip
    stream = sorted([*day, forged], key=lambda e: e.ts)
    assert any(f"{pause.agent} answers while not_ready" in v for v in violations(stream))


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    agents_scale=st.sampled_from([0.2, 0.5, 1.0, 1.5]),
    load=st.floats(0.3, 2.5),
    incidents=st.lists(
        st.one_of(
            st.builds(AhtJump, queue=st.sampled_from(["sales", "vip"]), at_minute=st.floats(0, 200),
                      factor=st.floats(0.5, 3)),
            st.builds(ArrivalSurge, queue=st.just("service"), at_minute=st.floats(0, 200),
                      factor=st.floats(0.5, 4), minutes=st.floats(1, 60)),
            st.builds(TeamLunch, team=st.sampled_from(["changjiang", "taishan"]),
                      at_minute=st.floats(0, 200), minutes=st.floats(1, 90)),
            st.builds(AgentParks, agent=st.just("cj001"), at_minute=st.floats(0, 200)),
        ),
        max_size=3,
    ),
)  # fmt: skip
def test_lifecycle_holds_for_any_seed_size_load_and_incidents(seed, agents_scale, load, incidents) -> None:
    config = default_config(scale=agents_scale, calls_per_hour=240 * load, incidents=tuple(incidents))
    events = run(config, seed=seed, hours=5)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(events))
    assert violations(events) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_default_day_is_plausible(seed: int) -> None:
    events = run(default_config(), seed=seed, hours=12)
    queued = {e.call for e in of(events, CallQueued)}  # a transferred call queues twice
    abandoned = of(events, CallAbandoned)
    answered = of(events, CallAnswered)
    assert 1500 < len(queued) < 2250  # ~1850 expected from 240/h at peak and the profile
    assert 0.003 < len(abandoned) / len(queued) < 0.08
    assert mean([e.wait_s for e in answered]) < 30
    assert all(e.cause == "caller" for e in abandoned)
    leg_queue = {(e.call, e.agent): e.queue for e in answered}
    sales_talk = [e.talk_s for e in of(events, CallEnded) if leg_queue[(e.call, e.agent)] == "sales"]
    assert 0.9 * 240 < mean(sales_talk) < 1.1 * 240  # configured sales talk mean: 240 s
    outcomes = Counter(e.outcome.success for e in of(events, CallWrapped))
    assert outcomes[True] > 0 and outcomes[False] > 0 and outcomes[None] > 0


def test_the_intraday_profile_shows_in_the_arrivals() -> None:
    # scale 3 gives ~500 calls an hour at the peak, so the shape is far above the noise
    events = run(default_config(scale=3), seed=5, hours=12)

    def per_hour(lo: float) -> int:
        return len(of(events, CallQueued, lo, lo + 60))

    opening, morning, lunch, afternoon, evening = (per_hour(m) for m in (0, 120, 240, 390, 660))
    assert afternoon > 1.8 * opening  # morning ramp: mean level 0.43 in the first hour, ~0.97 at 15:00
    assert lunch < 0.9 * morning and lunch < 0.8 * afternoon  # lunch dip
    assert evening < 0.4 * afternoon


def test_agents_log_in_for_their_shift_and_take_breaks_and_lunch(day: list) -> None:
    logins = of(day, AgentLogin)
    assert len(logins) == 34
    late = [e for e in logins if e.team == "zhujiang"]
    assert all(200 <= minute(e) <= 220 for e in late)  # 11:30 shift, +-5 min
    reasons = Counter(e.reason for e in of(day, AgentStateChanged, state="not_ready"))
    assert reasons["lunch"] == 34
    assert reasons["break"] >= 60


def test_expected_event_rate_matches_the_simulation(day: list) -> None:
    per_s = len(day) / (12 * 3600)
    assert expected_events_per_s(default_config()) == pytest.approx(per_s, rel=0.1)


def test_an_undisturbed_floor_meets_its_project_targets() -> None:
    config = default_config(scale=2)
    events = run(config, seed=11, hours=12)
    calls = {e.call: e.campaign for e in of(events, CallQueued)}
    done = Counter(calls[e.call] for e in of(events, CallWrapped) if e.outcome.success)
    for plan in project_plans(config, START):
        assert done[plan.name] == pytest.approx(plan.target, rel=0.2), plan.name
        assert plan.curve[0][1] == 0.0 and plan.curve[-1][1] == pytest.approx(1.0)
        assert plan.window_start == START


def test_state_stays_bounded_over_many_days() -> None:
    sim = FloorSimulation(default_config(), seed=4, start=START)
    peaks = []
    for d in range(4):
        peak: Counter = Counter()
        for h in range(1, 13):
            sim.events_until(START + dt.timedelta(hours=12 * d + h))
            for k, v in sim.sizes().items():
                peak[k] = max(peak[k], v)
        peaks.append(peak)
    for key in peaks[0]:
        assert peaks[3][key] <= 2 * peaks[0][key] + 10, key
    assert peaks[3]["scheduled"] < 200


def test_a_start_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        FloorSimulation(default_config(), seed=1, start=dt.datetime(2026, 11, 28, 8))  # noqa: DTZ001
