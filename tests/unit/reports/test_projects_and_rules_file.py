"""The reports read the same rules file as the live engine: its ``projects:`` decide which project
a call counts for (by campaign, or by queue for calls without one) and what is a success (a
project's ``success`` codes), and its ``definitions:`` decide how the floor counts. Checked on a
simulated day against a plain computation over the events and against the live engine's own
project progress at the end of the day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from floorwatch.sim import FloorSimulation, default_config
from services.alerts.core import Engine
from services.alerts.core.rules.reader import load_rules
from services.reports.core.config import ReportConfig
from services.reports.core.rollup import COUNTERS
from services.reports.settings import report_config
from shared.config import Settings
from shared.events import CallAnswered, CallQueued, CallWrapped, Event

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
DAY = dt.date(2026, 11, 30)
RULES = """\
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 50}
projects:
  - name: upgrade                  # a project named apart from its campaign
    target: 40
    window: {start: "08:00", end: "20:00"}
    tz: Asia/Shanghai
    campaigns: [kd-upgrade]
    success: [sale]                # codes, not the outcome's own flag
  - name: help-desk                # calls without a campaign, by queue
    target: 100
    window: {start: "08:00", end: "20:00"}
    tz: Asia/Shanghai
    queues: [service]
    success: [resolved]
definitions:
  sl_threshold_s: 7
  time_zone: Asia/Shanghai
"""
SUCCESSES = COUNTERS.index("successes")
ANSWERED, IN_SL = COUNTERS.index("answered"), COUNTERS.index("answered_in_sl")


def day_events() -> list[Event]:
    sim = FloorSimulation(default_config(), seed=11, start=START, run_id="pr")
    return sorted(sim.events_until(START + dt.timedelta(hours=6)), key=lambda e: e.ts)


def config_from(tmp_path: Path) -> ReportConfig:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return report_config(Settings(rules_file=path))


def test_successes_per_project_follow_the_rules_files_projects(tmp_path: Path) -> None:
    from services.reports.core import fold

    cfg = config_from(tmp_path)
    events = day_events()
    r = fold(events, calendars=cfg.calendar_map(), definitions=cfg.definitions, projects=cfg.project_map())
    ours: Counter[str] = Counter()
    for key, values in r.days().items():
        ours[key.project] += int(values[SUCCESSES])
    # independent: the first call.queued names the call's campaign (or, without one, its queue)
    link: dict[str, str] = {}
    for e in events:
        if isinstance(e, CallQueued):
            link[e.call] = {"kd-upgrade": "upgrade"}.get(e.campaign or "", e.campaign or "") if e.campaign \
                else ("help-desk" if e.queue == "service" else link.get(e.call, ""))
    codes = {"upgrade": {"sale"}, "help-desk": {"resolved"}}
    theirs: Counter[str] = Counter()
    for e in events:
        if isinstance(e, CallWrapped) and e.outcome is not None and e.call in link:
            p = link[e.call]
            ok = e.outcome.code in codes[p] if p in codes else e.outcome.success is True
            theirs[p] += 1 if ok else 0
    assert theirs["upgrade"] > 0 and theirs["help-desk"] > 0  # the day exercises both projects
    assert {k: v for k, v in ours.items() if v} == {k: v for k, v in theirs.items() if v}
    # the failure-reasons table carries the same verdict
    assert all(k.success == (k.code == "resolved") for k in r.outcomes if k.project == "help-desk")
    # targets are per project name
    assert cfg.targets() == {"upgrade": 40, "help-desk": 100}


def test_reports_count_with_the_rules_files_definitions(tmp_path: Path) -> None:
    from services.reports.core import fold

    cfg = config_from(tmp_path)
    assert cfg.definitions.default.sl_threshold_s == 7
    events = day_events()
    r = fold(events, calendars=cfg.calendar_map(), definitions=cfg.definitions, projects=cfg.project_map())
    in_sl = sum(v[IN_SL] for k, v in r.days().items() if k.queue)
    queued = {e.call: e.ts for e in events if isinstance(e, CallQueued)}
    theirs = 0
    for e in events:
        if isinstance(e, CallAnswered) and e.call in queued:
            wait = e.wait_s if e.wait_s is not None else (e.ts - queued[e.call]).total_seconds()
            theirs += 1 if wait <= 7 else 0
    assert in_sl == theirs
    assert 0 < in_sl < sum(v[ANSWERED] for k, v in r.days().items() if k.queue)


def test_project_progress_equals_the_live_floors(tmp_path: Path) -> None:
    from services.reports.core import fold

    cfg = config_from(tmp_path)
    rules = load_rules(RULES, name="rules.yaml")
    events = day_events()
    eng = Engine(rules)
    for e in events:
        eng.on_event(e)
    live = {p["project"]: p["done"] for p in eng.floor_snapshot("bj-01")["projects"]}
    r = fold(events, calendars=cfg.calendar_map(), definitions=cfg.definitions, projects=cfg.project_map())
    ours: Counter[str] = Counter()
    for key, values in r.days().items():
        if key.day == DAY:
            ours[key.project] += int(values[SUCCESSES])
    assert set(live) == {"upgrade", "help-desk"}
    assert live["upgrade"] > 0
    assert {p: ours[p] for p in live} == {p: int(v) for p, v in live.items()}
