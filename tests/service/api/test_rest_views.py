"""REST views (queues, agents, teams, projects, rules), alert filters and silences with unsilence."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from . import samples
from .conftest import ADMIN, SUP_SALES, SUP_SH, WB_SALES
from .fakes import QueueFeed, RecordingSink


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def loaded(feed: QueueFeed, http: httpx.AsyncClient) -> httpx.AsyncClient:
    feed.floor(samples.floor("bj-01"))
    feed.floor(samples.floor("sh-02", sales_waiting=9))
    feed.alert(samples.alert("fp-sales", queue="sales"))
    feed.alert(samples.alert("fp-support", queue="support", severity="critical", rule="longest-wait"))
    feed.alert(
        samples.alert("fp-camp", queue=None, rule="progress-lag")
        | {"scope": {"site": "bj-01", "campaign": "kd-upgrade"}}
    )
    await feed.drained()
    return http


async def test_queues(loaded: httpx.AsyncClient) -> None:
    rows = (await loaded.get("/v1/queues", headers=auth(ADMIN))).json()["queues"]
    assert [(r["site"], r["queue"], r["calls_waiting"]) for r in rows] == [
        ("bj-01", "sales", 3),
        ("bj-01", "support", 7),
        ("sh-02", "sales", 9),
        ("sh-02", "support", 7),
    ]
    rows = (await loaded.get("/v1/queues", headers=auth(SUP_SALES))).json()["queues"]
    assert [(r["site"], r["queue"]) for r in rows] == [("bj-01", "sales")]
    r = await loaded.get("/v1/queues/bj-01/sales", headers=auth(WB_SALES))
    assert (r.status_code, r.json()["aht_s"]) == (200, 301.5)
    r = await loaded.get("/v1/queues/bj-01/support", headers=auth(WB_SALES))
    assert (r.status_code, r.json()) == (403, {"detail": "queue 'support' is outside this token's scope"})
    r = await loaded.get("/v1/queues/bj-01/nope", headers=auth(ADMIN))
    assert (r.status_code, r.json()) == (
        404,
        {"detail": "no queue 'nope' at site 'bj-01' in this token's scope"},
    )


async def test_agents_and_teams(loaded: httpx.AsyncClient) -> None:
    agents = (await loaded.get("/v1/agents", params={"site": "bj-01"}, headers=auth(ADMIN))).json()["agents"]
    assert [(a["agent"], a["state"]) for a in agents] == [
        ("a1", "available"),
        ("a2", "not_ready"),
        ("a3", "talking"),
    ]
    r = await loaded.get("/v1/agents", params={"state": "not_ready"}, headers=auth(SUP_SALES))
    assert [(a["site"], a["agent"], a["reason"]) for a in r.json()["agents"]] == [("bj-01", "a2", "break")]
    r = await loaded.get("/v1/agents", params={"queue": "support"}, headers=auth(SUP_SALES))
    assert r.json()["agents"] == []
    teams = (await loaded.get("/v1/teams", headers=auth(SUP_SH))).json()["teams"]
    assert [(t["site"], t["team"]) for t in teams] == [("sh-02", "t-sales"), ("sh-02", "t-support")]


async def test_projects_expose_what_exists_and_say_what_is_missing(loaded: httpx.AsyncClient) -> None:
    body = (await loaded.get("/v1/projects", headers=auth(ADMIN))).json()
    assert body["progress_available"] is False and "no project figures" in body["detail"]
    assert body["projects"] == [
        {"site": "bj-01", "project": "kd-upgrade", "progress": None, "plan": None, "alerts": ["fp-camp"]}
    ]
    # a site-wide campaign alert is not visible to a queue-scoped supervisor
    assert (await loaded.get("/v1/projects", headers=auth(SUP_SALES))).json()["projects"] == []


async def test_rules_seen_in_transitions(loaded: httpx.AsyncClient) -> None:
    body = (await loaded.get("/v1/rules", headers=auth(ADMIN))).json()
    assert body["source"] == "transitions"
    assert [(r["rule"], r["sites"]) for r in body["rules"]] == [
        ("calls-waiting", ["bj-01"]),
        ("longest-wait", ["bj-01"]),
        ("progress-lag", ["bj-01"]),
    ]
    assert (await loaded.get("/v1/rules", headers=auth(SUP_SH))).json()["rules"] == []


async def test_projects_with_progress_scoped_like_the_floor(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    feed.floor(samples.floor_with_projects("bj-01"))
    feed.floor(samples.floor_with_projects("sh-02"))
    feed.alert(
        samples.alert("fp-camp", queue=None, rule="progress-lag")
        | {"scope": {"site": "bj-01", "campaign": "kd-upgrade"}}
    )
    await feed.drained()
    body = (await http.get("/v1/projects", headers=auth(ADMIN))).json()
    assert body["progress_available"] is True and "progress against plan" in body["detail"]
    assert [(p["site"], p["project"], p["alerts"]) for p in body["projects"]] == [
        ("bj-01", "kd-upgrade", ["fp-camp"]), ("bj-01", "mixed", []), ("bj-01", "site-wide", []),
        ("sh-02", "kd-upgrade", []), ("sh-02", "mixed", []), ("sh-02", "site-wide", []),
    ]
    kd = body["projects"][0]
    assert (kd["title"], kd["done"], kd["planned"], kd["target"], kd["vs_plan"], kd["status"]) == (
        "宽带提速", 40, 50, 200, 0.8, "behind")
    assert kd["curve"][-1] == ["2026-11-28T17:00+08:00", 1.0]
    # a queue-scoped caller: only the project all of whose queues it sees; never the site-wide one
    for token in (SUP_SALES, WB_SALES):
        rows = (await http.get("/v1/projects", headers=auth(token))).json()["projects"]
        assert [(p["site"], p["project"]) for p in rows] == [("bj-01", "kd-upgrade")]
        floor = (await http.get("/v1/floor/bj-01", headers=auth(token))).json()
        assert [p["project"] for p in floor["projects"]] == ["kd-upgrade"]
    rows = (await http.get("/v1/projects", params={"site": "sh-02"}, headers=auth(SUP_SH))).json()["projects"]
    assert {p["site"] for p in rows} == {"sh-02"} and len(rows) == 3
    r = await http.get("/v1/projects", params={"site": "sh-02"}, headers=auth(SUP_SALES))
    assert r.status_code == 403


async def test_rules_as_published_by_the_engine_scoped(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    feed.floor(samples.floor_with_projects("bj-01"))
    feed.floor(samples.floor_with_projects("sh-02"))
    feed.rules(samples.ruleset("2026-11-28T09:15:00+08:00", waiting=5))
    feed.rules(samples.ruleset("2026-11-28T09:10:00+08:00", waiting=99))  # older: ignored
    await feed.drained()
    body = (await http.get("/v1/rules", headers=auth(ADMIN))).json()
    assert (body["source"], body["version"], body["rules_source"]) == ("engine", "v-5", "rules.yaml")
    assert [r["rule"] for r in body["rules"]] == ["calls-waiting", "longest-wait", "support-backlog",
                                                  "progress-lag"]
    waiting = body["rules"][0]
    assert (waiting["metric"], waiting["op"], waiting["entry"], waiting["clear"], waiting["labels"]) == (
        "calls_waiting", ">", 5, 1, {"owner": "ops"})
    assert len(body["inhibit"]) == 1 and len(body["projects"]) == 3
    # queue-scoped: not the rule matching another queue, only projects it sees, no labels, no inhibit
    body = (await http.get("/v1/rules", headers=auth(SUP_SALES))).json()
    assert [r["rule"] for r in body["rules"]] == ["calls-waiting", "longest-wait", "progress-lag"]
    assert body["rules"][2]["projects"] == ["kd-upgrade"]
    assert body["rules"][0]["labels"] == {} and body["inhibit"] == []
    assert [p["project"] for p in body["projects"]] == ["kd-upgrade"]
    # site-scoped: all rules whose names it sees (both queues exist at sh-02)
    body = (await http.get("/v1/rules", headers=auth(SUP_SH))).json()
    assert len(body["rules"]) == 4 and body["rules"][3]["projects"] == ["kd-upgrade", "mixed", "site-wide"]


async def test_alert_filters_and_one_alert(loaded: httpx.AsyncClient, feed: QueueFeed) -> None:
    def fps(r: httpx.Response) -> list[str]:
        return [a["fingerprint"] for a in r.json()["alerts"]]

    assert fps(await loaded.get("/v1/alerts", params={"queue": "support"}, headers=auth(ADMIN))) == [
        "fp-support"
    ]
    assert fps(await loaded.get("/v1/alerts", params={"rule": "calls-waiting"}, headers=auth(ADMIN))) == [
        "fp-sales"
    ]
    feed.alert(samples.alert("fp-sales", n=2) | {"ack": {"by": "alice", "at": samples.T0, "note": ""}})
    await feed.drained()
    assert fps(await loaded.get("/v1/alerts", params={"acknowledged": "true"}, headers=auth(ADMIN))) == [
        "fp-sales"
    ]
    assert "fp-sales" not in fps(
        await loaded.get("/v1/alerts", params={"acknowledged": "false"}, headers=auth(ADMIN))
    )
    r = await loaded.get("/v1/alerts/fp-sales", headers=auth(WB_SALES))
    assert r.json()["ack"]["by"] == "alice"
    r = await loaded.get("/v1/alerts/fp-support", headers=auth(WB_SALES))
    assert (r.status_code, r.json()) == (
        404,
        {"detail": "no active alert 'fp-support' in this token's scope"},
    )


async def test_silence_list_and_unsilence(loaded: httpx.AsyncClient, sink: RecordingSink) -> None:
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    body = {"matchers": {"site": "bj-01", "queue": "sales"}, "until": until, "comment": "fire drill"}
    r = await loaded.post("/v1/silences", json=body, headers=auth(SUP_SALES))
    silence_id = r.json()["command"]["silence_id"]
    listed = (await loaded.get("/v1/silences", headers=auth(WB_SALES))).json()["silences"]
    assert [(s["id"], s["created_by"], s["comment"]) for s in listed] == [(silence_id, "alice", "fire drill")]
    assert (await loaded.get("/v1/silences", headers=auth(SUP_SH))).json()["silences"] == []
    assert (await loaded.delete(f"/v1/silences/{silence_id}", headers=auth(SUP_SH))).status_code == 404

    r = await loaded.delete(f"/v1/silences/{silence_id}", headers=auth(SUP_SALES))
    assert r.status_code == 202
    site, command = sink.sent[-1]
    assert (site, command["op"], command["silence_id"], command["by"]) == (
        "bj-01",
        "unsilence",
        silence_id,
        "alice",
    )
    assert (await loaded.get("/v1/silences", headers=auth(ADMIN))).json()["silences"] == []
    r = await loaded.delete(f"/v1/silences/{silence_id}", headers=auth(SUP_SALES))
    assert (r.status_code, r.json()) == (409, {"detail": f"silence '{silence_id}' was already expired"})
    actions = [
        e["action"] for e in (await loaded.get("/v1/audit", headers=auth(SUP_SALES))).json()["entries"]
    ]
    assert actions == ["silence.expire", "silence.create"]


async def test_openapi_lists_every_rest_route(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/queues",
        "/v1/queues/{site}/{queue}",
        "/v1/agents",
        "/v1/teams",
        "/v1/projects",
        "/v1/rules",
        "/v1/audit",
        "/v1/tokens",
        "/v1/tokens/{token_id}",
        "/v1/silences/{silence_id}",
    ):
        assert path in paths
    assert (await http.get("/docs")).status_code == 200
