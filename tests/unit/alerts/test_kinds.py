"""The detector kinds, each driven through the engine with hand-built events and hand-computed figures."""

from __future__ import annotations

import pytest

from services.alerts.core import Engine, RuleSet, Transition
from services.alerts.core.detectors.agent_efficiency import AgentEfficiencyRule
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.aht_spike import AhtSpikeRule
from services.alerts.core.detectors.freshness import FreshnessRule
from services.alerts.core.detectors.occupancy import OccupancyRule
from services.alerts.core.detectors.progress_lag import ProgressLagRule
from services.alerts.core.detectors.seats import SeatsRule
from services.alerts.core.floor.projects import Project
from shared.events import Event, Outcome

from .feed import Feed, at, epoch


def brief(trs: list[Transition]) -> list[tuple[str, str, float]]:
    """(previous, state, seconds after T0) of each transition."""
    return [(t.previous, t.state, round(t.event_time - epoch(0), 3)) for t in trs]


def call(
    feed: Feed,
    agent: str,
    start: float,
    talk: float,
    wrap: float,
    *,
    queue: str = "sales",
    cid: str | None = None,
    **out: object,
) -> list[Event]:
    cid = cid or f"{agent}-{start}"
    outcome = Outcome(**out) if out else None  # type: ignore[arg-type]
    return [
        feed("answered", start, call=cid, queue=queue, agent=agent, wait_s=0.0),
        feed("ended", start + talk, call=cid, agent=agent, talk_s=talk),
        feed("wrapped", start + talk + wrap, call=cid, agent=agent, outcome=outcome),
    ]


def run(eng: Engine, events: list[Event], until: float | None = None) -> list[Transition]:
    out = [t for ev in sorted(events, key=lambda e: e.ts) for t in eng.on_event(ev)]
    if until is not None:
        out += eng.advance(at(until + eng.lateness))
    return out


# -- agent_state ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # 0 login, 10 break; limit 60 s: "> 60" first holds at grid second 71 (no event needed);
        # 100 available -> resolved
        (
            [("state", 10, "not_ready", "break"), ("state", 100, "available", None)],
            [(71, "firing", 61.0), (100, "resolved", None)],
        ),
        # lunch has its own limit (120 s): back at 100, never fires
        ([("state", 10, "not_ready", "lunch"), ("state", 100, "available", None)], []),
        # an unlisted reason falls to "*" (30 s): fires at 41
        ([("state", 10, "not_ready", "meeting")], [(41, "firing", 31.0)]),
        # break -> lunch at 50 restarts the clock under the lunch limit: resolved at 50, fires at 171
        (
            [("state", 10, "not_ready", "break"), ("state", 50, "not_ready", "lunch")],
            [(171, "firing", 121.0)],
        ),
    ],
)
def test_agent_state_limits_per_reason(
    steps: list[tuple[str, float, str, str | None]], expected: list[tuple[float, str, float | None]]
) -> None:
    rule = AgentStateRule(name="away", not_ready=(("break", 60.0), ("lunch", 120.0), ("*", 30.0)))
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [feed("login", 0, agent="a1", team="t1")]
    events += [feed(kind, t, agent="a1", state=state, reason=reason) for kind, t, state, reason in steps]
    got = [
        (round(tr.event_time - epoch(0)), tr.state, tr.value if tr.state == "firing" else None)
        for tr in run(eng, events, until=300)
    ]
    assert got == [(t, s, v) for t, s, v in expected]


def test_agent_state_wrap_too_long_fires_on_the_grid_and_explains() -> None:
    # 0 answered, 10 ended (wrap starts), wrap limit 30 s -> fires at 41 with no event; wrapped 50 -> resolved
    rule = AgentStateRule(name="wrap", wrap=30.0)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = run(eng, call(feed, "a1", 0, 10, 40)[:2], until=45)
    assert brief(out) == [("inactive", "firing", 41)]
    assert out[0].summary == "a1: wrap-up for 31 s > 30 s" and out[0].threshold == 30.0
    assert out[0].details["state"] == "wrap" and out[0].kind == "agent_state"
    out = eng.on_event(feed("wrapped", 50, call="a1-0", agent="a1"))
    assert brief(out) == [("firing", "resolved", 50)] and out[0].details["fired"] is True


# -- freshness ------------------------------------------------------------------------------------


def test_source_silent_fires_on_the_grid_and_resolves_when_heard_again() -> None:
    # 0 login (agents on the floor: the site is open); the source then says nothing:
    # silent 60 s -> firing at grid 60; an event at 80 resolves it
    eng, feed = Engine(RuleSet((FreshnessRule(name="silent", silent=60.0),))), Feed(source="pbx")
    out = run(eng, [feed("login", 0, agent="a1")], until=59)
    assert out == []
    out = eng.advance(at(60 + eng.lateness))
    assert brief(out) == [("inactive", "firing", 60)]
    assert out[0].scope == {"site": "bj-01", "source": "pbx"} and out[0].value == 60.0
    assert out[0].summary == "source pbx: no events for 60 s (> 60 s)"
    out = eng.on_event(feed("queued", 80, call="c1", queue="q"))
    assert brief(out) == [("firing", "resolved", 80)]


def test_source_silent_needs_an_open_site() -> None:
    eng, feed = Engine(RuleSet((FreshnessRule(name="silent", silent=60.0),))), Feed(source="pbx")
    # a call queued, nobody logged in: the floor is closed, silence is expected
    assert run(eng, [feed("queued", 0, call="c1", queue="q")], until=600) == []


def test_a_lagging_source_raises_the_alert() -> None:
    rule = FreshnessRule(name="late", silent=600.0, max_lag=30.0)
    eng, a, b = Engine(RuleSet((rule,))), Feed(source="a"), Feed(source="b")
    events = [a("login", 0, agent="x"), a("queued", 100, call="c", queue="q"), b("login", 50, agent="y")]
    out = [tr for ev in events for tr in eng.on_event(ev)]  # arrival order, not time order
    # b's event at 50 arrives when the site is at 100: 50 s behind > 30 s
    assert [(t.scope["source"], t.state, t.value) for t in out] == [("b", "firing", 50.0)]


# -- aht_spike ------------------------------------------------------------------------------------

AHT = AhtSpikeRule(
    name="aht", recent=300, half_life=1e9, min_sample=3, baseline_min=5, z=2.0, rise=0.2, direction="up"
)


def test_aht_spike_against_the_baseline_with_breakdown_and_top_agents() -> None:
    # minutes 0..9: a0..a9 each wrap one 100 s call (talk 80 + wrap 20) -> they leave the 5-minute
    # recent window and make the baseline (10 calls, AHT 100 s). b1 and b2 wrap 200 s calls (talk 170 +
    # wrap 30) at 20:00 and 20:30, b1 a second one at 23:20 (1400 s): 3 recent calls, AHT 200 s = +100 %,
    # z = ln 2 / (0.05 / sqrt 3) = 24 -> firing at 1400. At 25:00 minute 20 leaves the recent window
    # (20 <= 25 - 5): one call left < half of min_sample -> resolved at 1500.
    eng, feed = Engine(RuleSet((AHT,))), Feed()
    events = [e for k in range(10) for e in call(feed, f"a{k}", 60 * k - 100, 80, 20)]
    spikes = (("b1", 1000), ("b2", 1030), ("b1", 1200))
    events += [e for agent, start in spikes for e in call(feed, agent, start, 170, 30)]
    out = run(eng, events)
    assert brief(out) == [("inactive", "firing", 1400)]
    tr = out[0]
    assert (tr.value, tr.threshold, tr.scope) == (200.0, 100.0, {"site": "bj-01", "queue": "sales"})
    assert tr.summary == "sales: AHT 200 s vs 100 s baseline (+100%)"
    d = tr.details
    assert (d["n"], d["baseline_n"], d["change"]) == (3, 10.0, 1.0)
    assert d["talk"] == {"now_s": 170.0, "baseline_s": 80.0, "delta_s": 90.0}
    assert d["wrap"]["delta_s"] == 10.0 and d["hold"]["delta_s"] == 0.0
    assert d["top_agents"] == [
        {"agent": "b1", "n": 2, "aht_s": 200.0, "excess_s": 200.0},
        {"agent": "b2", "n": 1, "aht_s": 200.0, "excess_s": 100.0},
    ]
    out = eng.advance(at(26 * 60 + eng.lateness))
    assert brief(out) == [("firing", "resolved", 1500)]


def test_two_long_calls_at_opening_do_not_page() -> None:
    eng, feed = Engine(RuleSet((AHT,))), Feed()
    events = call(feed, "a1", 0, 900, 100) + call(feed, "a2", 5, 1200, 100)
    assert run(eng, events, until=3000) == []


def test_aht_drop_with_direction_down() -> None:
    rule = AhtSpikeRule(
        name="aht", recent=300, half_life=1e9, min_sample=3, baseline_min=5, z=2.0, fall=0.3, direction="down"
    )
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [e for k in range(10) for e in call(feed, f"a{k}", 60 * k - 100, 80, 20)]
    events += [
        e for k, start in enumerate((1200, 1230, 1260)) for e in call(feed, f"b{k}", start - 50, 40, 10)
    ]
    out = run(eng, events)
    assert brief(out) == [("inactive", "firing", 1260)] and out[0].summary.endswith("(\u221250%)")


# -- occupancy and seats --------------------------------------------------------------------------


def test_occupancy_band_low_side_with_sample_and_hysteresis() -> None:
    # a1 (team t1) available from 0: occupancy 0; staffed seconds reach min_sample 600 at 600 -> firing.
    # a1 talks from 600 on: at minute m the window holds busy (60m - 600) of 60m staffed seconds;
    # firing clears at low + margin = 0.53: 1200 -> 0.500, 1260 -> 0.524, 1320 -> 0.545 -> resolved
    rule = OccupancyRule(name="occ", scope="team", low=0.5, high=0.9, margin=0.03, min_sample=600)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = run(
        eng, [feed("login", 0, agent="a1", team="t1"), feed("answered", 600, call="c", queue="q", agent="a1")]
    )
    out += eng.advance(at(1400))
    assert brief(out) == [("inactive", "firing", 600), ("firing", "resolved", 1320)]
    assert out[0].summary == "t1: occupancy 0% below 50% (idle seats)" and out[0].threshold == 0.5
    assert out[1].value == pytest.approx(720 / 1320)


def test_seats_fire_when_a_team_goes_away_together() -> None:
    # 4 agents of t1; share 0.5 asks floor(0.5 * 4) = 2 staffed seats: the third at lunch (t = 12) leaves 1
    rule = SeatsRule(name="seats", scope="team", min_ready_share=0.5, min_logged_in=3)
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [feed("login", 0, agent=f"a{i}", team="t1") for i in range(4)]
    events += [feed("state", 10 + i, agent=f"a{i}", state="not_ready", reason="lunch") for i in range(3)]
    events += [feed("state", 50, agent="a0", state="available")]
    out = run(eng, events)
    assert brief(out) == [("inactive", "firing", 12), ("firing", "resolved", 50)]
    assert (out[0].value, out[0].threshold) == (1.0, 2.0)
    assert out[0].summary == "t1: 1 of 4 seats staffed, 2 needed (lunch 3)"
    assert out[0].details["reasons"] == {"lunch": 3}


def test_seats_against_a_plan() -> None:
    rule = SeatsRule(name="seats", scope="team", min_ready_share=0.0, planned=(("t1", 3.0),))
    eng, feed = Engine(RuleSet((rule,))), Feed()
    out = run(eng, [feed("login", 0, agent="a0", team="t1"), feed("login", 5, agent="a1", team="t1")])
    assert [(t.state, t.value, t.threshold) for t in out] == [("firing", 1.0, 3.0)]


# -- progress_lag ---------------------------------------------------------------------------------

# T0 is 09:00 in Beijing: a project working 09:00-11:00 (minutes 540-660), linear, target 100
PROJECT = Project(name="p", target=100, start_min=540, end_min=660, utc_offset=8 * 3600, queues=("q",))
LAG = ProgressLagRule(name="lag", behind=0.2, behind_abs=2, min_elapsed=600, z=0.0)


def success(feed: Feed, n: int, t: float, *, campaign: str | None = "p", ok: bool = True) -> list[Event]:
    return [
        feed("queued", t - 5, call=f"s{n}", queue="q", campaign=campaign),
        *call(feed, f"x{n}", t - 3, 1, 2, queue="q", cid=f"s{n}", code="sale" if ok else "no", success=ok),
    ]


def test_progress_lag_against_the_linear_plan() -> None:
    # nothing done: from 09:10 (min_elapsed) the plan asks 100 * 600/7200 = 8.33 -> firing at 600.
    # successes wrap at 610..619 (plan 8.47 at 610 rising 1/72 per s); firing clears at half thresholds:
    # short < 1 or done >= 0.9 * plan. 7th at 616: plan 8.556, short 1.56 -> still firing;
    # 8th at 617: plan 8.569, short 0.57 -> resolved
    eng, feed = Engine(RuleSet((LAG,), projects=(PROJECT,))), Feed()
    out = run(eng, [feed("login", 0, agent="a")], until=600)
    assert brief(out) == [("inactive", "firing", 600)]
    d = out[0].details
    assert (out[0].value, round(out[0].threshold or 0, 2), d["rate_per_h"], d["projected_finish"]) == (
        0.0,
        8.33,
        0.0,
        None,
    )
    assert d["needed_per_h"] == round(100 / (6600 / 3600), 2)  # 54.55 per hour for the rest of the window
    out = run(eng, [e for i in range(10) for e in success(feed, i, 610 + i)])
    assert brief(out) == [("firing", "resolved", 617)]


def test_progress_counts_only_the_projects_calls_once() -> None:
    eng, feed = Engine(RuleSet((LAG,), projects=(PROJECT,))), Feed()
    events = success(feed, 1, 100) + success(feed, 2, 110, campaign="other") + success(feed, 3, 120, ok=False)
    events += success(feed, 4, 130, campaign=None)  # no campaign, but queued on the project's queue
    run(eng, events)
    track = eng.snapshot()
    assert b'"done":{"p":2.0}' in track and b'"tried":{"p":3.0}' in track


# -- agent_efficiency -----------------------------------------------------------------------------


def test_agent_far_below_team_peers_in_calls_per_hour() -> None:
    # a1..a5 handle 6 calls of 60 s in the first 10 minutes, a6 only 2; all ready for 600 s at 600:
    # calls/h = 6 n -> [36 x 5, 12]; median 36, MAD 0 -> floor 5 % of 36 = 1.8; a6: z = -13.3, -67 %
    rule = AgentEfficiencyRule(
        name="eff",
        metrics=("calls_per_hour",),
        window=1200,
        min_ready=600,
        min_peers=4,
        z=3.0,
        min_change=0.5,
    )
    eng, feed = Engine(RuleSet((rule,))), Feed()
    events = [feed("login", 0, agent=f"a{i}", team="t1") for i in range(1, 7)]
    for i in range(1, 7):
        for k in range(6 if i < 6 else 2):
            events += call(feed, f"a{i}", 1 + 60 * k, 50, 9)
    out = run(eng, events, until=600)
    assert brief(out) == [("inactive", "firing", 600)]
    tr = out[0]
    assert tr.scope == {"site": "bj-01", "agent": "a6"} and (tr.value, tr.threshold) == (12.0, 36.0)
    assert tr.summary == "a6: 12.0 calls/h vs t1 median 36.0 (\u221267%), n=5 peers"
    assert tr.details["n_peers"] == 5 and tr.details["z"] == pytest.approx(-13.33, abs=0.01)


@pytest.mark.parametrize("move", ["none", "join", "logout"])
def test_agent_efficiency_peers_follow_team_changes_and_logouts(move: str) -> None:
    # a6 slow (2 calls) against fast peers (6 calls each) of team t1, min_peers 5; the figures count
    # from 350 ready seconds, so the first verdict is at the 600 grid point. Peers come from a team
    # index built at the 300 grid point, before these changes: a5 joining t1 from t2 at 320 gives a6
    # its 5th peer (fires); a1 logging out at 400 leaves it 4 (no alert: a1's 400 ready seconds
    # would still count if the index kept it)
    rule = AgentEfficiencyRule(
        name="eff",
        metrics=("calls_per_hour",),
        window=1200,
        min_ready=350,
        min_peers=5,
        z=3.0,
        min_change=0.5,
    )
    eng, feed = Engine(RuleSet((rule,))), Feed()
    teams = {f"a{i}": "t2" if move == "join" and i == 5 else "t1" for i in range(1, 7)}
    events = [feed("login", 0, agent=agent, team=team) for agent, team in teams.items()]
    for i in range(1, 7):
        for k in range(6 if i < 6 else 2):
            events += call(feed, f"a{i}", 1 + 60 * k, 50, 9)
    if move == "join":
        events.append(feed("login", 320, agent="a5", team="t1"))
    elif move == "logout":
        events.append(feed("logout", 400, agent="a1"))
    out = run(eng, events, until=600)
    if move == "logout":
        assert out == []
    else:
        assert brief(out) == [("inactive", "firing", 600)]
        assert out[0].scope["agent"] == "a6" and out[0].details["n_peers"] == 5
