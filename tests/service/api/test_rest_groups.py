"""Group alerts through the API: the engine's real transitions fed to REST, and an ack of the
group handed back to the engine (the path the alerts service runs, without Kafka)."""

from __future__ import annotations

import datetime as dt

import httpx

from services.alerts.core import Engine, RuleSet
from services.alerts.core.detectors.agent_state import AgentStateRule
from services.alerts.core.detectors.options import Grouping
from shared.events import AgentLogin, AgentStateChanged, Event

from .conftest import ADMIN
from .fakes import QueueFeed, RecordingSink

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
AWAY = RuleSet((AgentStateRule(name="away", not_ready=(("*", 60.0),), group=Grouping(min=3)),))


def events() -> list[Event]:
    """a1..a4 of team t1 and b1 of t2 go not-ready at 10 s; not-ready > 60 s fires at 71 s."""
    out: list[Event] = []
    for n, (agent, team) in enumerate([("a1", "t1"), ("a2", "t1"), ("a3", "t1"), ("a4", "t1"), ("b1", "t2")]):
        common = {"v": 1, "source": "acd", "site": "bj-01", "agent": agent}
        out.append(AgentLogin(id=f"l{n}", ts=T0, team=team, **common))
        later = T0 + dt.timedelta(seconds=10)
        out.append(AgentStateChanged(id=f"s{n}", ts=later, state="not_ready", **common))
    return out


async def test_group_alert_and_its_members_over_rest(
    feed: QueueFeed, sink: RecordingSink, http: httpx.AsyncClient
) -> None:
    eng = Engine(AWAY)
    for ev in events():
        eng.on_event(ev)
    for tr in eng.advance(T0 + dt.timedelta(seconds=80)):
        feed.alert(tr.to_wire())
    await feed.drained()
    auth = {"Authorization": f"Bearer {ADMIN}"}

    everything = (await http.get("/v1/alerts", headers=auth)).json()["alerts"]
    assert len(everything) == 6  # four members, b1 alone, the group
    rows = (await http.get("/v1/alerts", params={"grouped": "false"}, headers=auth)).json()["alerts"]
    assert sorted(a["scope"].get("team") or a["scope"]["agent"] for a in rows) == ["b1", "t1"]
    group = next(a for a in rows if "team" in a["scope"])
    assert (group["value"], group["summary"]) == (4.0, "4 agents of team t1: away")
    members = (await http.get("/v1/alerts", params={"grouped_into": group["id"]}, headers=auth)).json()
    assert [a["scope"]["agent"] for a in members["alerts"]] == ["a1", "a2", "a3", "a4"]

    r = await http.post(f"/v1/alerts/{group['id']}/ack", json={"note": "team lunch"}, headers=auth)
    assert r.status_code == 202, r.text
    [(_, command)] = sink.sent
    at = T0 + dt.timedelta(seconds=90)
    for tr in eng.ack(command["fingerprint"], by=command["by"], note=command["note"], at=at):
        feed.alert(tr.to_wire())
    await feed.drained()
    after = (await http.get("/v1/alerts", params={"acknowledged": "true"}, headers=auth)).json()["alerts"]
    names = sorted(a["scope"].get("team") or a["scope"]["agent"] for a in after)
    assert names == ["a1", "a2", "a3", "a4", "t1"]
