"""Grouping: many agent alerts of one rule on one team become one team alert (alerting/grouping.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from services.alerts.core import Engine, RulesError, RuleSet, ThresholdRule, Transition, load_rules
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.options import Grouping
from services.alerts.core.rules.defaults import default_rules

from .feed import Feed, at, epoch

AWAY = AgentStateRule(
    name="away",
    not_ready=(("*", 60.0),),
    group=Grouping(min=3, summary="{count} agents of team {team} away too long"),
)
RULES = RuleSet((AWAY,))


def rows(trs: list[Transition]) -> list[tuple[str, str, str, str | None]]:
    """(team or agent, previous, state, grouped_into) of each record."""
    return [(t.scope.get("team") or t.scope["agent"], t.previous, t.state, t.grouped_into) for t in trs]


def floor(eng: Engine, feed: Feed) -> list[Transition]:
    """a1..a4 on team t1 and b1 on t2 log in at 0 and go not-ready at 10, 11, 12, 13 (b1 at 10)."""
    out: list[Transition] = []
    for agent, team in [("a1", "t1"), ("a2", "t1"), ("a3", "t1"), ("a4", "t1"), ("b1", "t2")]:
        out += eng.on_event(feed("login", 0, agent=agent, team=team))
    out += eng.on_event(feed("state", 10, agent="b1", state="not_ready", reason="lunch"))
    for i in range(4):
        out += eng.on_event(feed("state", 10 + i, agent=f"a{i + 1}", state="not_ready", reason="lunch"))
    return out


def formed(eng: Engine, feed: Feed) -> tuple[list[Transition], str]:
    assert floor(eng, feed) == []
    out = eng.advance(at(74 + 2))  # grid up to 74: not-ready > 60 s from 71 (a1, b1) to 74 (a4)
    return out, next(t.fingerprint for t in out if "team" in t.scope)


def test_group_forms_at_min_members_and_marks_them() -> None:
    # t 71  a1, b1 fire (alone)   72 a2 fires   73 a3 fires: 3 of t1 -> the group fires, a1 a2 folded
    # t 74  a4 fires into the group (group record with 4 first)
    eng, feed = Engine(RULES), Feed()
    out, group = formed(eng, feed)
    assert rows(out) == [
        ("a1", "inactive", "firing", None),
        ("b1", "inactive", "firing", None),
        ("a2", "inactive", "firing", None),
        ("t1", "inactive", "firing", None),
        ("a1", "firing", "firing", group),
        ("a2", "firing", "firing", group),
        ("a3", "inactive", "firing", group),
        ("t1", "firing", "firing", None),
        ("a4", "inactive", "firing", group),
    ]
    first, last = out[3].to_wire(), out[7].to_wire()
    assert first["event_time"] == "2026-11-28T09:01:13.000+08:00"
    assert (first["scope"], first["rule"], first["kind"]) == (
        {"site": "bj-01", "team": "t1"},
        "away",
        "agent_state",
    )
    assert (first["summary"], first["value"], first["threshold"]) == (
        "3 agents of team t1 away too long",
        3.0,
        3.0,
    )
    assert (last["value"], last["summary"]) == (4.0, "4 agents of team t1 away too long")
    members = last["details"]["members"]
    assert [m["agent"] for m in members] == ["a1", "a2", "a3", "a4"]
    assert members[0]["since"] == "2026-11-28T09:01:11.000+08:00" and members[0]["state"] == "firing"
    assert last["details"]["group"] == {"by": "team", "min": 3, "clear": 2}
    active = {a["scope"].get("agent") or a["scope"]["team"]: a["grouped_into"] for a in eng.active_alerts()}
    assert active == {"a1": group, "a2": group, "a3": group, "a4": group, "b1": None, "t1": None}


def test_group_resolves_below_clear_not_at_min() -> None:
    # t 100 a1 back: 3 left   110 a2 back: 2 left = clear, still firing (hysteresis)
    # t 120 a3 back: 1 left -> the group resolves, a4 stands alone again
    eng, feed = Engine(RULES), Feed()
    _, group = formed(eng, feed)
    out = eng.on_event(feed("state", 100, agent="a1", state="available"))
    out += eng.on_event(feed("state", 110, agent="a2", state="available"))
    assert rows(out) == [
        ("t1", "firing", "firing", None),
        ("a1", "firing", "resolved", group),
        ("t1", "firing", "firing", None),
        ("a2", "firing", "resolved", group),
    ]
    assert out[2].value == 2.0
    out = eng.on_event(feed("state", 120, agent="a3", state="available"))
    assert rows(out) == [
        ("t1", "firing", "resolved", None),
        ("a4", "firing", "firing", None),
        ("a3", "firing", "resolved", group),
    ]
    assert out[0].details["fired"] is True and out[0].value == 1.0
    # a new episode of the group: its own started_at
    out = eng.on_event(feed("state", 130, agent="a1", state="not_ready", reason="break"))
    out += eng.on_event(feed("state", 131, agent="a2", state="not_ready", reason="break"))
    out += eng.advance(at(192 + 2))  # a1 fires at 191, a2 at 192: with a4, three again
    assert rows(out) == [
        ("a1", "inactive", "firing", None),
        ("t1", "inactive", "firing", None),
        ("a1", "firing", "firing", group),
        ("a4", "firing", "firing", group),
        ("a2", "inactive", "firing", group),
    ]
    assert out[1].started_at == epoch(192)


def test_acknowledging_the_group_acknowledges_its_members() -> None:
    eng, feed = Engine(RULES), Feed()
    _, group = formed(eng, feed)
    a1 = next(a["fingerprint"] for a in eng.active_alerts() if a["scope"].get("agent") == "a1")
    eng.ack(a1, by="wang", at=at(80))  # a member acknowledged on its own keeps that ack
    out = eng.ack(group, by="li", at=at(90), note="team lunch")
    assert [(t.scope.get("team") or t.scope["agent"], t.ack and t.ack.by) for t in out] == [
        ("t1", "li"),
        ("a2", "li"),
        ("a3", "li"),
        ("a4", "li"),
    ]
    assert out[1].to_wire()["ack"] == {
        "by": "li",
        "at": "2026-11-28T09:01:30.000+08:00",
        "note": "team lunch",
    }
    acked = {
        a["scope"].get("agent") or a["scope"]["team"]: (a["ack"] or {}).get("by") for a in eng.active_alerts()
    }
    assert acked == {"a1": "wang", "a2": "li", "a3": "li", "a4": "li", "b1": None, "t1": "li"}


def test_a_silence_of_the_group_covers_its_members_while_grouped() -> None:
    eng, feed = Engine(RULES), Feed()
    formed(eng, feed)
    out = eng.silence({"site": "bj-01", "team": "t1", "rule": "away"}, until=at(3600), at=at(80), by="li")
    assert sorted(t.scope.get("team") or t.scope["agent"] for t in out) == ["a1", "a2", "a3", "a4", "t1"]
    assert {t.silenced_until for t in out} == {epoch(3600)}
    out = eng.on_event(feed("state", 100, agent="a1", state="available"))
    assert [t.silenced_until for t in out] == [epoch(3600), epoch(3600)]  # the group, a1 (still grouped)


@pytest.mark.parametrize("hold", [0.0, 30.0])
def test_restore_mid_group_continues_identically(hold: float) -> None:
    # with a resolve hold on the agent rule too: the group alert has none (restored or not)
    rules = RuleSet((dataclasses.replace(AWAY, keep_firing_for=hold),))

    def run(restores: int) -> list[dict[str, object]]:
        eng, feed = Engine(rules), Feed()
        out, _ = formed(eng, feed)
        for t, agent in [(100, "a1"), (110, "a2"), (120, "a3"), (121, "a4")]:
            if restores:
                eng, restores = Engine.restore(eng.snapshot(), rules), restores - 1
            out += eng.on_event(feed("state", t, agent=agent, state="available"))
        out += eng.on_event(feed("state", 125, agent="b2", state="available"))
        out += eng.advance(at(400))
        assert not [a for a in eng.active_alerts() if a["scope"].get("team")]
        return [t.to_wire() for t in out]

    expected = run(restores=0)
    assert any(t["scope"].get("team") and t["state"] == "resolved" for t in expected)
    assert run(restores=1) == expected
    assert run(restores=4) == expected


def test_reload_keeps_the_group_and_resolves_it_when_the_rule_loses_its_group() -> None:
    eng, feed = Engine(RULES), Feed()
    _, group = formed(eng, feed)
    assert eng.replace_rules(RuleSet((AWAY,)), at=at(80)) == []
    plain = AgentStateRule(name="away", not_ready=(("*", 60.0),))
    out = eng.replace_rules(RuleSet((plain,)), at=at(90))
    assert rows(out) == [
        ("t1", "firing", "resolved", None),
        ("a1", "firing", "firing", None),
        ("a2", "firing", "firing", None),
        ("a3", "firing", "firing", None),
        ("a4", "firing", "firing", None),
    ]
    # and a reload that adds grouping forms the group at once
    out = eng.replace_rules(RULES, at=at(95))
    assert rows(out)[0] == ("t1", "inactive", "firing", None) and out[0].fingerprint == group
    assert [t.grouped_into for t in out[1:]] == [group] * 4


def test_agents_without_a_team_or_below_min_are_not_grouped() -> None:
    eng, feed = Engine(RULES), Feed()
    for agent in ["x1", "x2", "x3"]:
        eng.on_event(feed("login", 0, agent=agent))
        eng.on_event(feed("state", 1, agent=agent, state="not_ready"))
    out = eng.advance(at(100))
    assert [t.scope.get("agent") for t in out] == ["x1", "x2", "x3"] and not any(t.grouped_into for t in out)


def test_group_by_site_and_threshold_rules() -> None:
    away = ThresholdRule(
        name="away", metric="not_ready_s", scope="agent", op=">", value=60, group=Grouping(by="site", min=2)
    )
    eng, feed = Engine(RuleSet((away,))), Feed()
    floor(eng, feed)
    out = eng.advance(at(72 + 2))  # a1 and b1 (two teams) at 71: the site group; a2 joins at 72
    sites = [t for t in out if t.scope == {"site": "bj-01"}]
    assert [(t.previous, t.summary) for t in sites] == [
        ("inactive", "2 agents: away"),
        ("firing", "3 agents: away"),
    ]
    assert sites[0].kind == "threshold"
    assert sites[0].details["members"][0]["summary"].startswith("not_ready_s")


def test_rules_file_group_key_and_its_errors() -> None:
    rules = load_rules(
        "rules:\n"
        "  - {name: away, kind: agent_state, not_ready: {'*': 30m}, group: {by: team, min: 4, clear: 2}}\n"
        "  - {name: nr, metric: not_ready_s, scope: agent, op: '>', value: 600, group: {min: 3}}\n"
    )
    assert [r.group for r in rules.rules] == [Grouping(min=4, clear=2), Grouping(min=3)]
    with pytest.raises(RulesError) as err:
        load_rules(
            "rules:\n"
            "  - {name: q, metric: calls_waiting, op: '>', value: 1, group: {min: 3}}\n"
            "  - {name: a, kind: agent_state, wrap: 5m, group: {min: 1, by: queue}}\n"
            "  - {name: s, kind: seats, group: {min: 3}}\n"
            "  - {name: b, kind: agent_state, wrap: 5m, group: {min: 3, clear: 4, colour: red}}\n"
        )
    text = str(err.value)
    for line, message in [
        (2, "group works on rules of scope agent, not queue"),
        (3, "group min must be a whole number >= 2"),
        (3, "group by 'queue': use team or site"),
        (4, "group works on rules of scope agent, not team"),
        (5, "unknown key 'colour' in group"),
    ]:
        assert re.search(rf"<file>:{line}: .*{re.escape(message)}", text), (line, message, text)
    with pytest.raises(ValueError, match="scope agent"):
        ThresholdRule(name="q", metric="calls_waiting", op=">", value=1, group=Grouping())


def test_default_agent_rules_group_by_team() -> None:
    groups = {r.name: r.group for r in default_rules().rules if r.group is not None}
    assert set(groups) == {"not-ready-too-long", "agent-efficiency"}
    assert all(g.by == "team" and g.min == 3 and g.clear_at == 2 for g in groups.values())
