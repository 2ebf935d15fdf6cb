"""Grouping stays bounded for big teams (alerting/grouping.py): a group record lists at most
MEMBERS_LISTED members, and a member joining costs a bounded amount of description work."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from services.alerts.core import Engine, RuleSet, Transition
from services.alerts.core.alerting import grouping, records
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.options import Grouping

from .feed import Feed, at

AWAY = AgentStateRule(
    name="away",
    not_ready=(("*", 60.0),),
    group=Grouping(min=3, summary="{count} agents of team {team} away too long"),
)
RULES = RuleSet((AWAY,))


def team(eng: Engine, feed: Feed, n: int, start: float = 0) -> list[Transition]:
    """Agents m0000.. of team t1 log in and go not-ready one per second from ``start + 10``."""
    out: list[Transition] = []
    for i in range(n):
        out += eng.on_event(feed("login", start, agent=f"m{i:04d}", team="t1"))
    for i in range(n):
        out += eng.on_event(
            feed("state", start + 10 + i, agent=f"m{i:04d}", state="not_ready", reason="lunch")
        )
    return out


def group_records(trs: list[Transition]) -> list[Transition]:
    return [t for t in trs if "team" in t.scope]


def test_group_record_lists_at_most_the_first_members() -> None:
    n = 130
    eng, feed = Engine(RULES), Feed()
    out = team(eng, feed, n)
    out += eng.advance(at(10 + n + 80))  # everybody not-ready > 60 s: all fire, the group too
    groups = group_records(out)
    assert groups and groups[-1].value == n
    for t in groups:
        members = t.details["members"]
        assert len(members) <= 50
        total = len(members) + t.details.get("members_more", 0)
        assert total >= len(members)
    last = groups[-1].details
    assert [m["agent"] for m in last["members"]] == [f"m{i:04d}" for i in range(50)]  # longest active first
    assert last["members_more"] == n - 50
    assert last["count"] == n
    # a small group lists everybody and carries no members_more
    first = groups[0].details
    assert len(first["members"]) == 3 and "members_more" not in first
    big = max(len(msgspec.json.encode(t.to_wire())) for t in groups)
    assert big < 64 * 1024
    assert grouping.MEMBERS_LISTED == 50  # as documented in docs/rules.md


def describes_for_team(n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = [0]
    real = records.describe

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(grouping, "describe", counting)
    eng, feed = Engine(RULES), Feed()
    for i in range(n):
        eng.on_event(feed("login", 0, agent=f"m{i:04d}", team="t1"))
    for i in range(n):
        eng.on_event(feed("state", 10, agent=f"m{i:04d}", state="not_ready", reason="lunch"))
    calls[0] = 0
    out = eng.advance(at(80))  # all n fire at the same grid point, joining the group one by one
    assert group_records(out)[-1].value == n
    monkeypatch.setattr(grouping, "describe", real)
    return calls[0]


def test_members_joining_cost_linear_description_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # before: each member joining re-described every member (n²/2); now at most MEMBERS_LISTED each
    small, large = describes_for_team(150, monkeypatch), describes_for_team(300, monkeypatch)
    assert large <= 2.5 * small
    assert large <= 300 * (grouping.MEMBERS_LISTED + 1)


def test_restored_big_group_continues_like_the_original() -> None:
    n = 70
    eng, feed = Engine(RULES), Feed()
    team(eng, feed, n)
    eng.advance(at(10 + n + 80))
    copy = Engine.restore(eng.snapshot(), RULES)

    def go(e: Engine) -> list[dict[str, Any]]:
        f = Feed()
        f.n = 100_000
        out = e.on_event(f("state", 300, agent="m0003", state="available"))
        out += e.on_event(f("login", 301, agent="late", team="t1"))
        out += e.on_event(f("state", 302, agent="late", state="not_ready", reason="lunch"))
        out += e.advance(at(400))
        for i in range(n):
            out += e.on_event(f("state", 401 + i, agent=f"m{i:04d}", state="available"))
        out += e.advance(at(1200))
        return [t.to_wire() for t in out]

    a, b = go(eng), go(copy)
    assert a == b
    # the restored group's records are bounded and ordered like the original's
    regrouped = [t for t in a if "team" in t["scope"] and t["state"] == "firing"]
    assert regrouped
    for t in regrouped:
        total = len(t["details"]["members"]) + t["details"].get("members_more", 0)
        assert len(t["details"]["members"]) == min(total, 50)
    assert [m["agent"] for m in regrouped[0]["details"]["members"]][:3] == ["m0000", "m0001", "m0002"]
    assert any(t["state"] == "resolved" and "team" in t["scope"] for t in a)
    assert eng.snapshot() == copy.snapshot()
