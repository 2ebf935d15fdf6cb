"""Project progress against plan: plan-curve interpolation, ahead / behind, run-rate projection,
recovery rate — hand-computed figures — and the ``projects`` of the engine's floor snapshot."""

from __future__ import annotations

import pytest

from services.alerts.core import Engine, RuleSet
from services.alerts.core.detectors.progress_lag import ProgressLagRule
from services.alerts.core.floor.project_view import curve_points, pace, project_progress
from services.alerts.core.floor.projects import Project, hourly_curve

from .feed import Feed, epoch
from .test_kinds import run, success

BJ = 8 * 3600  # the site's events carry +08:00; T0 (epoch(0)) is 09:00 in Beijing
LINEAR = Project(name="p", title="宽带提速", target=100, start_min=540, end_min=660, queues=("q",))


def test_linear_plan_behind_with_projection_and_recovery_rate() -> None:
    # 09:30, window 09:00-11:00, target 100, 20 done: plan 100 x 30/120 = 25 -> 5 behind (80 % of
    # plan); rate 20 per 0.5 h = 40/h; 80 left in 1.5 h needs 53.33/h (+13.33/h); at 40/h the day
    # ends at 20 + 40 x 1.5 = 80, and 100 is reached 80/40 = 2 h from now, at 11:30
    doc = project_progress(LINEAR, 20, 50, epoch(1800), BJ)
    assert doc == {
        "project": "p",
        "title": "宽带提速",
        "queues": ["q"],
        "campaigns": ["p"],
        "target": 100,
        "window": {"start": "2026-11-28T09:00+08:00", "end": "2026-11-28T11:00+08:00"},
        "status": "behind",
        "done": 20,
        "attempts": 50,
        "planned": 25.0,
        "planned_fraction": 0.25,
        "done_fraction": 0.2,
        "vs_plan": 0.8,
        "behind": 5.0,
        "rate_per_h": 40.0,
        "needed_per_h": 53.33,
        "extra_per_h": 13.33,
        "projected_total": 80.0,
        "projected_finish": "2026-11-28T11:30+08:00",
        "curve": [["2026-11-28T09:00+08:00", 0.0], ["2026-11-28T11:00+08:00", 1.0]],
    }


@pytest.mark.parametrize(
    ("seconds", "fraction"),
    [
        (-600, 0.0),  # 08:50, before the window
        (0, 0.0),  # 09:00
        (1800, 0.25),  # 09:30: half-way to the 10:00 knot (0.5)
        (3600, 0.5),  # 10:00
        (5400, 0.625),  # 10:30: a quarter of the way from 0.5 to 1.0
        (10800, 1.0),  # 12:00, the end
        (12000, 1.0),  # after the window
    ],
)
def test_plan_curve_is_interpolated_between_knots(seconds: float, fraction: float) -> None:
    p = Project(name="c", target=200, start_min=540, end_min=720, curve=((600, 0.5), (720, 1.0)))
    doc = project_progress(p, 0, 0, epoch(seconds), BJ)
    assert doc["planned_fraction"] == fraction
    assert doc["planned"] == 200 * fraction
    assert doc["curve"] == [
        ["2026-11-28T09:00+08:00", 0.0],
        ["2026-11-28T10:00+08:00", 0.5],
        ["2026-11-28T12:00+08:00", 1.0],
    ]


def test_hourly_weights_become_knots_and_points() -> None:
    # weights 1, 3 from 09:00: a quarter of the target by 10:00, all by 11:00
    p = Project(name="h", target=40, start_min=540, end_min=660, curve=hourly_curve(540, [1, 3]))
    assert curve_points(p, *_day_of(p)) == [
        ["2026-11-28T09:00+08:00", 0.0],
        ["2026-11-28T10:00+08:00", 0.25],
        ["2026-11-28T11:00+08:00", 1.0],
    ]
    doc = project_progress(p, 12, 12, epoch(5400), BJ)  # 10:30: 0.25 + 0.75 / 2 = 0.625 -> 25
    assert (doc["planned"], doc["status"], doc["behind"], doc["vs_plan"]) == (25.0, "behind", 13.0, 0.48)


def _day_of(p: Project) -> tuple[int, int]:
    return p.local(epoch(0), BJ)[0], BJ


def test_ahead_not_started_met_and_missed() -> None:
    ahead = project_progress(LINEAR, 40, 40, epoch(1800), BJ)
    assert (ahead["status"], ahead["behind"], ahead["vs_plan"]) == ("ahead", -15.0, 1.6)
    early = project_progress(LINEAR, 0, 0, epoch(-60), BJ)
    assert (early["status"], early["planned"], early["vs_plan"], early["rate_per_h"]) == (
        "not_started", 0.0, None, 0.0)
    assert early["needed_per_h"] == 50.0  # the whole target over the whole 2 h window
    # after the window: the rate is over the whole window; nothing is needed any more
    missed = project_progress(LINEAR, 90, 90, epoch(9000), BJ)
    assert (missed["status"], missed["rate_per_h"], missed["needed_per_h"], missed["extra_per_h"]) == (
        "missed", 45.0, None, None)
    assert missed["projected_total"] == 90.0
    assert project_progress(LINEAR, 100, 100, epoch(9000), BJ)["status"] == "met"


def test_pace_without_successes_projects_no_finish() -> None:
    pc = pace(LINEAR, 0, 570, epoch(1800))
    assert (pc.rate_per_h, pc.projected_finish, pc.projected_total) == (0.0, None, 0.0)


def test_time_zone_of_the_project_renders_its_times() -> None:
    p = Project(name="z", target=10, start_min=60, end_min=180, tz="Europe/Berlin")  # 01:00-03:00 Berlin
    doc = project_progress(p, 0, 0, epoch(0), BJ)  # 09:00 Beijing = 02:00 Berlin (winter, +01:00)
    assert doc["window"] == {"start": "2026-11-28T01:00+01:00", "end": "2026-11-28T03:00+01:00"}
    assert doc["planned_fraction"] == 0.5


def test_floor_snapshot_carries_the_sites_projects_with_counted_successes() -> None:
    project = Project(name="p", target=100, start_min=540, end_min=660, utc_offset=BJ, queues=("q",))
    other_site = Project(name="elsewhere", target=5, site="sh-02")
    rule = ProgressLagRule(name="lag", min_elapsed=600)
    eng, feed = Engine(RuleSet((rule,), projects=(project, other_site))), Feed()
    run(eng, [e for i in range(3) for e in success(feed, i, 600 + i)] + success(feed, 9, 610, ok=False))
    snap = eng.floor_snapshot("bj-01")
    [doc] = snap["projects"]
    # 09:10:10, three successes of four verdicts; plan 100 x 610/7200
    assert (doc["project"], doc["done"], doc["attempts"], doc["planned"]) == ("p", 3.0, 4.0, 8.5)
    assert doc["status"] == "behind"


def test_no_progress_rule_no_projects() -> None:
    eng, feed = Engine(RuleSet((), projects=(LINEAR,))), Feed()
    run(eng, success(feed, 1, 10))
    assert eng.floor_snapshot("bj-01")["projects"] == []
