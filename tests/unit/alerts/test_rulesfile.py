"""Rules files: valid files load; every error of an invalid file is reported with its line."""

from __future__ import annotations

import textwrap

import pytest

from services.alerts.core import RulesError, load_rules, parse_duration
from services.alerts.core.detectors.threshold import Guard
from services.alerts.core.rules.defaults import default_rules

GOOD = """\
rules:
  - name: calls-waiting
    metric: calls_waiting
    op: ">"
    value: 10
    clear: 5
    for: 30s
    match: {queue: sales}
    labels: {lead: li}
  - name: team-occupancy
    metric: occupancy
    scope: team
    op: "<"
    value: 0.6
    for: 1m30s
    severity: info
    min_sample: 600
    when: [{metric: logged_in, op: ">=", value: 3}]
    summary: "{team}: occupancy {value:.0%}"
projects: [{name: p1, target: 100, window: {start: "08:00", end: "20:00"}}]
"""


def test_good_file_loads() -> None:
    rs = load_rules(GOOD, name="floor.yaml")
    # projects configured and no progress_lag rule: the default one is added
    assert [r.name for r in rs.rules] == ["calls-waiting", "team-occupancy", "progress-lag"]
    cw, occ, _ = rs.rules
    assert (cw.for_s, cw.clear, cw.matchers, cw.labels) == (
        30.0,
        5.0,
        (("queue", "sales"),),
        (("lead", "li"),),
    )
    assert (occ.scope, occ.for_s, occ.severity, occ.min_sample) == ("team", 90.0, "info", 600.0)
    assert occ.when == (Guard("logged_in", ">=", 3.0),)
    assert [(p.name, p.target, p.start_min, p.end_min) for p in rs.projects] == [("p1", 100.0, 480.0, 1200.0)]
    assert rs.source == "floor.yaml"


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(RulesError) as info:
        load_rules(textwrap.dedent(text), name="bad.yaml")
    assert str(info.value).startswith("bad.yaml:")
    return info.value.errors


def test_every_error_is_reported_with_its_line() -> None:
    errors = errors_of("""\
        rules:
          - name: a
            metric: calls_waiting
            op: ">"
            value: 10
            clear: 12
            for: 5x
            colour: red
          - name: a
            metric: nope
            op: "=="
            value: ten
          - name: b
            metric: calls_waiting
            scope: team
            op: ">"
            value: 1
            severity: fatal
            match: {agent: x}
          - metric: calls_waiting
            op: ">"
            value: 1
          - just a string
        other: 1
        """)
    expected = [
        (6, "clear 12 is on the firing side"),
        (7, "bad duration '5x'"),
        (8, "unknown key 'colour'"),
        (9, "duplicate rule name 'a' (first defined on line 2)"),
        (10, "unknown metric 'nope'"),
        (11, "bad op '=='"),
        (12, "expected a number, got str 'ten'"),
        (14, "metric 'calls_waiting' is not available per team"),
        (18, "unknown severity 'fatal'"),
        (19, "cannot match on 'agent' for scope team"),
        (20, "missing required key 'name'"),
        (23, "a rule must be a mapping"),
        (24, "unknown top-level key 'other'"),
    ]
    assert len(errors) == len(expected), errors
    for (line, message), (want_line, want) in zip(errors, expected, strict=True):
        assert line == want_line and want in message, (line, message)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("rules:\n  - name: [\n", 3, "YAML syntax error"),
        ("rules:\n  - name: a\n   metric: b\n", 3, "YAML syntax error"),
        ("", 1, "empty"),
        ("- 1\n", 1, "must be a mapping"),
        ("rules: {a: 1}\n", 1, "must be a list"),
        ("projects: []\n", 1, "missing top-level key 'rules'"),
        (
            "rules:\n  - {name: a, name: b, metric: calls_waiting, op: '>', value: 1}\n",
            2,
            "duplicate key 'name'",
        ),
        ("rules:\n  - {name: a, metric: calls_waiting, op: '>', value: true}\n", 2, "expected a number"),
        (
            "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: 1, when: [{metric: x, op: '>'}]}\n",
            2,
            "when item is missing value",
        ),
        (
            "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: 1, summary: '{bogus}'}\n",
            2,
            "bad summary template",
        ),
        (
            "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: 1, for: -3}\n",
            2,
            "duration must be >= 0",
        ),
    ],
)
def test_single_errors(text: str, line: int, fragment: str) -> None:
    errors = errors_of(text)
    assert len(errors) == 1 and errors[0][0] == line and fragment in errors[0][1], errors


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("90", 90.0),
        ("1h0m5s", 3605.0),
        ("0.5s", 0.5),
    ],
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", "5 minutes", "1d", "m", True, None, [1], "-5s"])
def test_bad_durations(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)


def test_defaults_are_valid_and_documented() -> None:
    rs = default_rules()
    names = [r.name for r in rs.rules]
    assert names == [
        "calls-waiting",
        "longest-wait",
        "longest-wait-critical",
        "service-level",
        "abandon-rate",
        "no-agents-available",
        "aht-spike",
        "aht-spike-team",
        "occupancy",
        "seats",
        "agent-efficiency",
        "not-ready-too-long",
        "progress-lag",
        "source-silent",
    ]
    doc = __import__("services.alerts.core.rules.defaults", fromlist=["x"]).__doc__ or ""
    for name in names:
        assert f"``{name}``" in doc
    assert all(not r.problems() for r in rs.rules)


KINDS_FILE = """\
rules:
  - {name: aht, kind: aht_spike, scope: team, recent: 10m, rise: 0.3, direction: both, for: 2m}
  - {name: occ, kind: occupancy, low: 0.5, high: 0.9, min_sample: 3600}
  - {name: seats, kind: seats, planned: {changjiang: 8, "*": 4}, tolerance: 1}
  - {name: eff, kind: agent_efficiency, metrics: [calls_per_hour], peers: site}
  - name: away
    kind: agent_state
    not_ready: {break: 15m, lunch: 1h}
    wrap: 2m
    escalate_after: 10m
  - {name: fresh, kind: freshness, silent: 2m, max_lag: 30s, require_open: false}
projects:
  - name: kd-upgrade
    target: 600
    window: {start: "08:00", end: 20:00}
    tz: Asia/Shanghai
    curve: {hourly: [1, 1, 2, 2]}
    success: [sale, signed]
    campaigns: [kd, kd-upgrade]
  - name: vip
    target: 40
    window: {start: "09:30", end: "18:00"}
    utc_offset: "+08:00"
    curve: [["12:00", 0.25], ["18:00", 1]]
    queues: [vip]
inhibit:
  - {source: {rule: aht}, target: {kind: agent_efficiency}, equal: [site, team]}
"""


def test_kinds_projects_and_inhibit_load() -> None:
    rs = load_rules(KINDS_FILE, name="kinds.yaml")
    by = {r.name: r for r in rs.rules}
    assert [r.kind for r in rs.rules] == [
        "aht_spike", "occupancy", "seats", "agent_efficiency", "agent_state", "freshness", "progress_lag",
    ]  # fmt: skip
    aht = by["aht"]
    assert (aht.scope, aht.for_s, aht.recent, aht.direction) == (
        "team",
        120.0,
        600.0,
        "both",
    )
    assert by["seats"].planned == (("changjiang", 8.0), ("*", 4.0))
    assert by["eff"].peers == "site"
    assert by["away"].not_ready == (("break", 900.0), ("lunch", 3600.0))
    assert (by["away"].wrap, by["away"].escalate_after) == (120.0, 600.0)
    assert by["fresh"].require_open is False
    kd, vip = rs.projects
    # "20:00" unquoted is YAML 1.1 base-60 (1200); it is read from the text as a time of day anyway
    assert (kd.start_min, kd.end_min, kd.tz, kd.success_codes, kd.campaigns) == (
        480.0, 1200.0, "Asia/Shanghai", ("sale", "signed"), ("kd", "kd-upgrade"),
    )  # fmt: skip
    assert kd.curve == ((540.0, 1 / 6), (600.0, 2 / 6), (660.0, 4 / 6), (720.0, 1.0))
    assert kd.planned_fraction(510) == pytest.approx(1 / 12) and kd.planned_fraction(900) == 1.0
    assert (vip.utc_offset, vip.queues, vip.planned_fraction(720)) == (8 * 3600, ("vip",), 0.25)
    assert rs.inhibit[0].target == (("kind", "agent_efficiency"),) and rs.inhibit[0].equal == ("site", "team")


def test_kind_errors_are_reported_with_lines() -> None:
    errors = errors_of("""\
        rules:
          - {name: a, kind: aht_spike, scope: agent}
          - {name: b, kind: occupancy, low: 0.9, high: 0.5}
          - {name: c, kind: nope}
          - {name: d, kind: agent_state, not_ready: {break: soon}}
          - {name: e, kind: seats, colour: red, escalate_after: soon}
          - {name: f, kind: agent_efficiency, metrics: [speed]}
        projects:
          - {name: p, target: 0, window: {start: "09:00", end: "25:00"}, tz: Mars/Olympus}
          - {name: q, target: 5}
          - {name: q, target: 6}
        inhibit:
          - {source: {rule: a}}
        """)
    expected = [
        (2, "kind aht_spike works per queue, team, site, not 'agent'"),
        (3, "need 0 <= low < high"),
        (4, "unknown kind 'nope'"),
        (5, "bad duration 'soon'"),
        (6, "bad duration 'soon'"),
        (6, "unknown key 'colour' for kind seats"),
        (7, "unknown metric 'speed'"),
        (9, "bad time of day '25:00'"),  # the first error of a project hides the rest of it
        (11, "duplicate project name 'q' (first on line 10)"),
        (13, "inhibit rule is missing 'target'"),
    ]
    assert len(errors) == len(expected), errors
    for (line, message), (want_line, want) in zip(errors, expected, strict=True):
        assert line == want_line and want in message, (line, message)
