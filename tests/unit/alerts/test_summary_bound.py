"""A summary is at most SUMMARY_MAX_CHARS long: a template that renders longer is refused at load,
and a render that a large value makes longer is cut, so no transition outgrows what the producer
sends (an alert that fires must not stop the service)."""

from __future__ import annotations

import pytest

from services.alerts.core import RulesError, load_rules
from services.alerts.core.detectors.threshold import SUMMARY_MAX_CHARS, ThresholdRule

RULE = 'rules:\n  - {{name: a, metric: calls_waiting, op: ">", value: 1, {key}: {template}}}\n'


@pytest.mark.parametrize(
    ("key", "template", "fragment"),
    [
        ("summary", "'{value:>10000000}'", "summary template too long: a width or precision over 1000"),
        ("summary", "'{value:.5000f}'", "summary template too long: a width or precision over 1000"),
        ("summary", "'{value:>{value}}'", "summary template too long: a placeholder inside the format spec"),
        ("summary", "'" + "x" * 1001 + "'", "summary template too long: 1001 characters (max 1000)"),
        ("summary", "{en: ok, zh: '" + "排" * 1001 + "'}", "summary (zh) template too long: 1001 characters"),
        ("resolved_summary", "'{reason:>2000}'", "resolved_summary template too long: a width or precision"),
    ],
)
def test_a_summary_template_that_renders_too_long_is_refused_at_load(
    key: str, template: str, fragment: str
) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(RULE.format(key=key, template=template))
    assert [line for line, _ in info.value.errors] == [2]
    assert fragment in info.value.errors[0][1]


def test_a_template_of_1000_characters_loads_and_one_more_is_refused() -> None:
    ruleset = load_rules(RULE.format(key="summary", template="'{value:>1000}'"))
    rule = ruleset.rules[0]
    assert isinstance(rule, ThresholdRule)
    assert rule.render(5.0, {"site": "s", "queue": "q"}) == " " * 997 + "5.0"
    with pytest.raises(RulesError, match=r"too long: 1001 characters \(max 1000\)"):
        load_rules(RULE.format(key="summary", template="'{value:>1000}.'"))


def test_a_render_over_the_bound_is_cut() -> None:
    # four {value:f}: 32 characters for the load's sample value, 1,236 for 1e300
    text = RULE.format(key="summary", template="'{value:f}{value:f}{value:f}{value:f}'")
    text = text.replace("}\n", ", resolved_summary: '{value:f}{value:f}{value:f}{value:f}'}\n")
    rule = load_rules(text).rules[0]
    assert isinstance(rule, ThresholdRule)
    scope = {"site": "s", "queue": "q"}
    summary = rule.render(1e300, scope)
    assert len(summary) == SUMMARY_MAX_CHARS and summary.endswith("…")
    assert summary.startswith(f"{1e300:f}")
    said = rule.said(1e300, scope)["text"]
    assert said == {"zh": summary, "en": summary}
    cleared = {"cleared_by": "metric", "reason": "calls_waiting 1e300 <= 1"}
    assert rule.render_resolved(1e300, scope, cleared, fired=True) == summary
    assert rule.said_resolved(1e300, scope, cleared, fired=True)["text"]["en"] == summary
    assert rule.render(2.5, scope) == "2.500000" * 4  # short renders are untouched


GROUPED = ("rules:\n  - {{name: nr, kind: agent_state, not_ready: {{'*': 30m}},"
           " group: {{by: team, min: 2, summary: {template}}}}}\n")


@pytest.mark.parametrize(("template", "fragment"), [
    ("'{count:>10000000}'", "group summary too long: a width or precision over 1000"),
    ("'{team:>{count}}'", "group summary too long: a placeholder inside the format spec"),
    ("'" + "x" * 1001 + "'", "group summary too long: 1001 characters (max 1000)"),
])
def test_a_group_summary_that_renders_too_long_is_refused_at_load(template: str, fragment: str) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(GROUPED.format(template=template))
    assert fragment in info.value.errors[0][1]


def test_a_group_summary_render_over_the_bound_is_cut() -> None:
    rule = load_rules(GROUPED.format(template="'{team} {count} not ready'")).rules[0]
    assert rule.group is not None
    text = rule.group.render(3, "nr", "s", "t" * 2000)
    assert len(text) == SUMMARY_MAX_CHARS and text.endswith("…")
