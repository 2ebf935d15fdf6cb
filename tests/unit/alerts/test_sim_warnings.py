"""The four warnings on the simulated floor: incidents raise them, a calm day stays quiet.

The simulator (``floorwatch.sim``) is fed straight into the engine with the default rules and the
simulator's own project plans (as the rules file's ``projects:`` would give them). Minute 0 is
08:00 in Beijing. Runs are deterministic (fixed seed); bounds leave room for other seeds.
"""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from floorwatch.sim import FloorSimulation, default_config, parse_incident
from services.alerts.core import Engine, RuleSet, Transition, default_rules
from tests.support.simfloor import START, sim_projects


def simulate(*incidents: str, minutes: float = 720, seed: int = 1) -> list[Transition]:
    cfg = default_config(incidents=tuple(parse_incident(s) for s in incidents))
    base = default_rules()
    eng = Engine(RuleSet(base.rules, projects=sim_projects(cfg), inhibit=base.inhibit))
    out: list[Transition] = []
    for ev in FloorSimulation(cfg, seed=seed, start=START).events_until(
        START + dt.timedelta(minutes=minutes)
    ):
        out += eng.on_event(ev)
    out += eng.advance(START + dt.timedelta(minutes=minutes))
    return out


def minute(tr: Transition) -> float:
    return (tr.event_time - START.timestamp()) / 60


def episodes(out: list[Transition], rule: str, **scope: str) -> list[tuple[str, float]]:
    """(firing | resolved, minute) of the alerts that fired (pending ones that cleared are left out)."""
    return [
        (t.state, round(minute(t), 1))
        for t in out
        if t.rule == rule
        and (t.state == "firing" or (t.state == "resolved" and t.details["fired"]))
        and all(t.scope.get(k) == v for k, v in scope.items())
    ]


def test_aht_incident_raises_aht_spike_on_that_queue_and_it_resolves() -> None:
    # sales calls answered from 10:30 (minute 150) to 11:30 take 1.5x as long. The first such calls
    # complete ~5 min later; the 15-minute recent window needs ~half of its calls inflated.
    out = simulate("aht:sales@150x1.5+60", minutes=330)
    got = episodes(out, "aht-spike", queue="sales")
    assert got and got[0][0] == "firing" and 150 < got[0][1] <= 170, got
    assert got[1][0] == "resolved" and 210 < got[1][1] <= 260, got
    first = next(t for t in out if t.rule == "aht-spike" and t.state == "firing")
    assert first.value is not None and first.threshold is not None and first.value / first.threshold > 1.25
    assert first.details["talk"]["delta_s"] > 0 and first.details["top_agents"]
    assert first.summary.startswith("sales: AHT ")
    assert not [t for t in out if t.rule == "aht-spike" and t.scope.get("queue") != "sales"]


def test_team_lunch_raises_the_seats_warning() -> None:
    # changjiang (10 agents) goes to lunch together at 10:30 for 45 min: staffed seats drop to 0
    out = simulate("lunch:changjiang@150+45", minutes=240)
    got = episodes(out, "seats", team="changjiang")
    assert got[:2] and got[0][0] == "firing" and 150 < got[0][1] <= 160, got
    assert got[1][0] == "resolved" and 195 <= got[1][1] <= 200, got
    fired = next(
        t for t in out if t.rule == "seats" and t.state == "firing" and t.scope.get("team") == "changjiang"
    )
    assert fired.details["reasons"].get("lunch", 0) >= 7


def test_parked_agent_raises_not_ready_too_long() -> None:
    # cj003 goes not_ready/break at 09:00 (after the call in hand) and never comes back: break > 15 min
    out = simulate("park:cj003@60", minutes=120)
    got = episodes(out, "not-ready-too-long", agent="cj003")
    assert got and got[0][0] == "firing" and 75 <= got[0][1] <= 85, got
    fired = next(t for t in out if t.rule == "not-ready-too-long" and t.state == "firing")
    assert fired.details["reason"] == "break" and fired.value is not None and fired.value > 900


def test_project_slowdown_raises_progress_lag() -> None:
    # kd-upgrade converts at 30 % of its rate from 10:00: the gap to the plan grows ~9 successes an hour
    out = simulate("slow:kd-upgrade@120x0.3", minutes=300)
    got = episodes(out, "progress-lag", campaign="kd-upgrade")
    assert got and got[0][0] == "firing" and 120 < got[0][1] <= 240, got
    fired = next(t for t in out if t.rule == "progress-lag" and t.state == "firing")
    d = fired.details
    assert d["done"] < d["planned"] and d["extra_per_h"] > 0 and d["projected_total"] < d["target"]
    assert not [t for t in out if t.rule == "progress-lag" and t.scope.get("campaign") != "kd-upgrade"]


# Calm days (seeds 1-4, default config) fired, per day: seats 4-6 (staggered lunches put up to 8 of
# 10 agents of a team away at once), agent-efficiency 0-2, occupancy 0-2 (info), progress-lag 0-1,
# aht-spike 0, not-ready-too-long 0, source-silent 0. Bounds: about twice the worst seen.
CALM_BOUNDS = {
    "seats": 12,
    "agent-efficiency": 5,
    "occupancy": 5,
    "progress-lag": 2,
    "aht-spike": 2,
    "aht-spike-team": 2,
    "not-ready-too-long": 2,
    "source-silent": 0,
}


@pytest.mark.parametrize("seed", [1, 3])
def test_a_calm_day_raises_few_warnings(seed: int) -> None:
    out = simulate(seed=seed)
    fired = collections.Counter(t.rule for t in out if t.state == "firing" and t.previous != "firing")
    for rule, bound in CALM_BOUNDS.items():
        assert fired[rule] <= bound, (rule, fired)
