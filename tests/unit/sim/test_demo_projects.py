"""`floorwatch up --simulate` without a rules file: the simulator's projects on its floor clock,
added to the built-in rules, so the demo's engine shows progress against plan."""

from __future__ import annotations

import datetime as dt
import json

from floorwatch.cli import with_demo_projects
from floorwatch.sim.config import default_config
from floorwatch.sim.model import FloorSimulation
from floorwatch.sim.plans import demo_projects
from services.alerts.core import Engine
from services.alerts.core.rules.defaults import default_rules

START = dt.datetime(2026, 11, 28, 15, 37, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_projects_run_on_the_floor_clock() -> None:
    # 15:37:20 +08:00 is 07:37:20 UTC: at +00:23 (to the minute) the run starts at 08:00
    projects = demo_projects(default_config(), START)
    assert [p["name"] for p in projects] == ["kd-upgrade", "xyk-signup", "vip-retention"]
    kd = projects[0]
    assert (kd["utc_offset"], kd["window"], kd["queues"], kd["title"]) == (
        "+00:23", {"start": "08:00", "end": "20:00"}, ["sales"], "宽带提速")
    assert kd["curve"][-1] == ["20:00", 1.0] and kd["target"] > 0
    late = demo_projects(default_config(), dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.UTC))
    assert late[0]["utc_offset"] == "+09:00"  # 23:00 UTC + 9 h = 08:00


def test_engine_with_demo_projects_shows_progress_of_the_simulated_floor() -> None:
    rules = with_demo_projects(default_rules(), json.dumps(demo_projects(default_config(), START)))
    assert "progress-lag" in [r.name for r in rules.rules] and len(rules.projects) == 3
    assert len(rules.rules) == len(default_rules().rules)  # the default set already has progress-lag
    eng = Engine(rules)
    sim = FloorSimulation(default_config(), seed=1, start=START)
    for ev in sim.events_until(START + dt.timedelta(minutes=90)):
        eng.on_event(ev)
    kd = next(p for p in eng.floor_snapshot("bj-01")["projects"] if p["project"] == "kd-upgrade")
    # 90 minutes into the day on the floor clock (09:30): successes counted, a plan to compare with
    assert kd["window"]["start"].endswith("T08:00+00:23")
    assert kd["done"] > 0 and kd["planned"] > 0 and kd["status"] in ("ahead", "behind")
    assert 0.5 < kd["vs_plan"] < 2
