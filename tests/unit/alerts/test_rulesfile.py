"""Rules files: valid files load; every error of an invalid file is reported with its line."""

from __future__ import annotations

import textwrap

import pytest

from floorwatch.services.alerts.core import RulesError, load_rules, parse_duration
from floorwatch.services.alerts.core.defaults import default_rules
from floorwatch.services.alerts.core.rules import Guard

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
projects: [{name: p1}]
"""


def test_good_file_loads() -> None:
    rs = load_rules(GOOD, name="floor.yaml")
    assert [r.name for r in rs.rules] == ["calls-waiting", "team-occupancy"]
    cw, occ = rs.rules
    assert (cw.for_s, cw.clear, cw.matchers, cw.labels) == (
        30.0,
        5.0,
        (("queue", "sales"),),
        (("lead", "li"),),
    )
    assert (occ.scope, occ.for_s, occ.severity, occ.min_sample) == ("team", 90.0, "info", 600.0)
    assert occ.when == (Guard("logged_in", ">=", 3.0),)
    assert rs.projects == [{"name": "p1"}] and rs.source == "floor.yaml"


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
    ]
    doc = __import__("floorwatch.services.alerts.core.defaults", fromlist=["x"]).__doc__ or ""
    for name in names:
        assert f"``{name}``" in doc
    assert all(not r.problems() for r in rs.rules)
