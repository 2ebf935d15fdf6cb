"""The access matrix: every route of the app × every kind of caller.

The live state holds two sites with disjoint names (queues, teams, agents, alert summaries, audit
entries, silences). For each route and caller the test asserts the status code, and that nothing in
the response (or in any WebSocket message) names something outside the caller's scope. Routes are
enumerated from ``app.routes``: a route added without a matrix entry fails
``test_every_route_has_a_matrix_entry``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.exceptions import ConnectionClosed

from services.api.app import create_app
from services.api.auth import InMemoryTokenStore, Principal, Scope
from services.api.notifications import InMemoryNotificationLog
from services.api.runtime import ApiOptions
from services.reports.core.config import ReportConfig
from services.reports.store import ReportStore
from shared.config import Settings
from shared.db import make_engine
from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallWrapped,
    Event,
    Outcome,
)
from shared.migrate import upgrade
from tests.support.reportdb import store_events

from .conftest import LiveServer
from .fakes import QueueFeed, RecordingSink

T0 = "2026-11-28T09:15:00+08:00"
ADMIN = "matrix-admin-token"

# -- the floor: two sites, nothing shared by name --------------------------------------------------
# site-a: queue X = qa-sales (served by team ta-north), qa-care (served by team T = ta-south)
SITES: dict[str, dict[str, Any]] = {
    "site-a": {
        "queues": {"qa-sales": "ta-north", "qa-care": "ta-south"},
        "agents": {"agent-an1": "ta-north", "agent-an2": "ta-north", "agent-as1": "ta-south"},
        "projects": {"proj-a-sales": ["qa-sales"], "proj-a-care": ["qa-care"], "proj-a-wide": []},
    },
    "site-b": {
        "queues": {"qb-sales": "tb-east", "qb-care": "tb-west"},
        "agents": {"agent-be1": "tb-east", "agent-bw1": "tb-west"},
        "projects": {"proj-b-sales": ["qb-sales"]},
    },
}
QUEUE_X, TEAM_T = "qa-sales", "ta-south"
REPORT_DAY = dt.date(2026, 11, 28)  # T0's business day (UTC calendar)
DAYQ = "from=2026-11-28&to=2026-11-28"


def _serves(site: str, team: str) -> list[str]:
    return [q for q, t in SITES[site]["queues"].items() if t == team]


def floor_doc(site: str, seq: int = 1) -> dict[str, Any]:
    spec = SITES[site]
    queues = [
        {
            "queue": q,
            "calls_waiting": 2,
            "longest_wait_s": 20.0,
            "offered": 50,
            "answered": 45,
            "abandoned": 2,
            "abandon_rate": 0.04,
            "service_level": 0.9,
            "asa_s": 8.0,
            "aht_s": 250.0,
            "agents": {"available": 1},
        }
        for q in spec["queues"]
    ]
    teams = [
        {"team": t, "logged_in": 1, "occupancy": 0.8, "aht_s": 250.0, "agents": {"available": 1}}
        for t in sorted(set(spec["queues"].values()))
    ]
    agents = [
        {
            "agent": a,
            "team": t,
            "state": "available",
            "reason": None,
            "since": T0,
            "queues": _serves(site, t),
            "call": None,
        }
        for a, t in spec["agents"].items()
    ]
    projects = [
        {"project": p, "title": f"title-of-{p}", "queues": qs, "campaigns": [p], "target": 100,
         "done": 10, "planned": 20, "status": "behind", "curve": [[T0, 0.0]]}
        for p, qs in spec["projects"].items()
    ]
    return {
        "site": site,
        "as_of": T0,
        "seq": seq,
        "window_s": 1800,
        "sl_threshold_s": 20,
        "totals": {"calls_waiting": 4, "offered": 100},
        "queues": queues,
        "teams": teams,
        "agents": agents,
        "projects": projects,
    }


def _rule(name: str, **match: str) -> dict[str, Any]:
    return {"rule": name, "kind": "threshold", "scope": "queue", "severity": "warning", "match": match,
            "labels": {"about": "-".join(match.values())}, "metric": "calls_waiting", "op": ">",
            "entry": 5, "clear": 2, "projects": []}


# the rule set in force: a rule per kind of name it may match, a progress rule over every project
RULESET = {
    "type": "ruleset",
    "version": "v1",
    "source": "rules.yaml",
    "published_at": T0,
    "rules": [
        _rule("rule-any"),
        _rule("rule-qa-sales", queue="qa-sales"),
        _rule("rule-qa-care", queue="qa-care"),
        _rule("rule-ta-south", team="ta-south"),
        _rule("rule-site-b", site="site-b"),
        _rule("rule-qb-sales", queue="qb-sales"),
        _rule("rule-agent-be1", agent="agent-be1"),
        {**_rule("rule-progress"), "kind": "progress_lag", "scope": "campaign",
         "projects": [p for spec in SITES.values() for p in spec["projects"]]},
    ],
    "projects": [{"project": p, "queues": q} for spec in SITES.values() for p, q in spec["projects"].items()],
    "inhibit": [{"source": {"rule": "rule-qb-sales"}, "target": {"queue": "qb-sales"}, "equal": []}],
}


def alert_doc(fp: str, site: str, n: int = 1, **where: str) -> dict[str, Any]:
    return {
        "id": fp,
        "fingerprint": fp,
        "rule": "matrix-rule",
        "kind": "threshold",
        "severity": "warning",
        "state": "firing",
        "previous": "pending",
        "scope": {"site": site, **where},
        "summary": f"summary-of-{fp}",
        "value": 3.0,
        "threshold": 2.0,
        "started_at": T0,
        "updated_at": T0,
        "event_time": T0,
        "ack": None,
        "silenced_until": None,
        "labels": {},
        "details": {},
        "transition_id": f"{fp}:{n}",
    }


# one alert per kind of scope, per site; fingerprints name what they are about
ALERTS = [
    alert_doc("fp-site-a", "site-a"),
    alert_doc("fp-qa-sales", "site-a", queue="qa-sales"),
    alert_doc("fp-qa-care", "site-a", queue="qa-care"),
    alert_doc("fp-ta-north", "site-a", team="ta-north"),
    alert_doc("fp-ta-south", "site-a", team="ta-south"),
    alert_doc("fp-agent-an1", "site-a", agent="agent-an1"),
    alert_doc("fp-agent-as1", "site-a", agent="agent-as1"),
    alert_doc("fp-site-b", "site-b"),
    alert_doc("fp-qb-sales", "site-b", queue="qb-sales"),
    alert_doc("fp-tb-east", "site-b", team="tb-east"),
    alert_doc("fp-agent-be1", "site-b", agent="agent-be1"),
    alert_doc("fp-proj-a-sales", "site-a", campaign="proj-a-sales"),
    alert_doc("fp-proj-a-care", "site-a", campaign="proj-a-care"),
    alert_doc("fp-proj-a-wide", "site-a", campaign="proj-a-wide"),
    alert_doc("fp-proj-b-sales", "site-b", campaign="proj-b-sales"),
]


def names_of(site: str) -> set[str]:
    spec = SITES[site]
    return {site, *spec["queues"], *spec["queues"].values(), *spec["agents"], *spec["projects"]}


def alert_names(fp: str) -> set[str]:
    return {fp, f"summary-of-{fp}"}


# -- callers -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    key: str
    token: str | None
    # names that must never appear in what this caller receives
    forbidden: frozenset[str] = field(default_factory=frozenset)
    # names that must appear in its /v1/floor and hello (so the search above is not vacuous)
    expected: frozenset[str] = field(default_factory=frozenset)


SITE_B = names_of("site-b") | {
    n for a in ALERTS if a["scope"]["site"] == "site-b" for n in alert_names(a["id"])
}
A_ONLY_X = (
    {"qa-care", "ta-south", "agent-as1", "proj-a-care", "proj-a-wide"}
    | alert_names("fp-qa-care")
    | alert_names("fp-ta-south")
    | alert_names("fp-agent-as1")
    | alert_names("fp-site-a")
    | alert_names("fp-ta-north")
    | alert_names("fp-proj-a-care")
    | alert_names("fp-proj-a-wide")
)
A_ONLY_T = (
    {"qa-sales", "ta-north", "agent-an1", "agent-an2", "proj-a-sales", "proj-a-wide"}
    | alert_names("fp-qa-sales")
    | alert_names("fp-ta-north")
    | alert_names("fp-agent-an1")
    | alert_names("fp-site-a")
    | alert_names("fp-qa-care")
    | alert_names("fp-proj-a-sales")
    | alert_names("fp-proj-a-wide")
)

CALLERS = [
    Caller("admin", ADMIN, expected=frozenset(names_of("site-a") | names_of("site-b"))),
    Caller("sup_site_a", "tok-sup-site-a", frozenset(SITE_B), frozenset(names_of("site-a"))),
    Caller(
        "sup_queue_x",
        "tok-sup-queue-x",
        frozenset(SITE_B | A_ONLY_X),
        frozenset({"site-a", "qa-sales", "ta-north", "agent-an1", "agent-an2", "proj-a-sales"}),
    ),
    Caller(
        "sup_team_t",
        "tok-sup-team-t",
        frozenset(SITE_B | A_ONLY_T),
        frozenset({"site-a", "qa-care", "ta-south", "agent-as1", "proj-a-care"}),
    ),
    Caller("wb_site_a", "tok-wb-site-a", frozenset(SITE_B), frozenset(names_of("site-a"))),
    Caller("none", None, frozenset(SITE_B | names_of("site-a"))),
    Caller("revoked", "tok-revoked", frozenset(SITE_B | names_of("site-a"))),
]
BY_KEY = {c.key: c for c in CALLERS}
PRINCIPALS = {
    "tok-sup-site-a": Principal("supervisor", Scope.of(sites=["site-a"]), "sup-a"),
    "tok-sup-queue-x": Principal("supervisor", Scope.of(queues=[QUEUE_X]), "sup-x"),
    "tok-sup-team-t": Principal("supervisor", Scope.of(teams=[TEAM_T]), "sup-t"),
    "tok-wb-site-a": Principal("wallboard", Scope.of(sites=["site-a"]), "wb-a"),
    "tok-revoked": Principal("admin", Scope(), "was-admin"),
}
# public routes reveal no floor data; /metrics carries site labels (counts per site) by design
PUBLIC_FORBIDDEN = frozenset((SITE_B | names_of("site-a")) - {"site-a", "site-b"})


def statuses(admin: int, site_a: int, queue_x: int, team_t: int, wb: int, anon: int = 401) -> dict[str, int]:
    return {
        "admin": admin,
        "sup_site_a": site_a,
        "sup_queue_x": queue_x,
        "sup_team_t": team_t,
        "wb_site_a": wb,
        "none": anon,
        "revoked": anon,
    }


READ = statuses(200, 200, 200, 200, 200)
PUBLIC = statuses(200, 200, 200, 200, 200, anon=200)


# -- the world each test runs in ------------------------------------------------------------------------
@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    feed: QueueFeed
    sink: RecordingSink
    store: InMemoryTokenStore
    server: LiveServer | None = None

    async def as_admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        r = await self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code < 300, r.text
        return r


def silence_body(site: str, **labels: str) -> dict[str, Any]:
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    return {"matchers": {"site": site, **labels}, "until": until, "comment": f"silence {site}"}


def notification_log() -> InMemoryNotificationLog:
    """One delivered notification per alert, as the notifier logs them (scope + labels of its alert)."""
    items = []
    for i, doc in enumerate(ALERTS, 1):
        site = doc["scope"]["site"]
        items.append({
            "id": i, "notification_id": f"n-{doc['fingerprint']}", "route": "root", "receiver": "robot",
            "kind": "wecom", "group_key": f'{{}}/root:{{site="{site}"}}', "status": "delivered",
            "alert_status": "firing", "site": site, "sites": [site], "alerts": 1, "shown": 1,
            "fingerprints": [doc["fingerprint"]], "created_at": "2026-12-01T09:00:00+00:00",
            "delivered_at": "2026-12-01T09:00:01+00:00", "attempts": 1, "last_error": None,
            "scopes": [{"scope": doc["scope"], "labels": doc.get("labels") or {}}],
            "body": f"body of {doc['fingerprint']}: {doc['summary']}", "attempt_log": [],
        })
    return InMemoryNotificationLog(items)


def history() -> list[Event]:
    """A day of stored events on both sites, naming every queue, team, agent and project: each agent
    logs in, takes a break, answers a call of each queue its team serves (in that queue's project),
    wraps it as a failure with a reason and a follow-up (the reports' rows)."""
    t0 = dt.datetime.fromisoformat(T0)
    out: list[Event] = []

    def at(minute: float) -> dt.datetime:
        return t0 + dt.timedelta(minutes=minute)

    def add(cls: type, site: str, minute: float, **kw: Any) -> None:
        out.append(cls(v=1, id=f"h{len(out)}", source="matrix", ts=at(minute), site=site, **kw))

    for site, spec in SITES.items():
        project_of = {q: p for p, qs in spec["projects"].items() for q in qs}
        for i, (agent, team) in enumerate(spec["agents"].items()):
            add(AgentLogin, site, i, agent=agent, team=team)
            add(AgentStateChanged, site, i + 1, agent=agent, state="not_ready", reason="break")
            add(AgentStateChanged, site, i + 5, agent=agent, state="available")
            for j, queue in enumerate(_serves(site, team)):
                call = f"call-{agent}-{j}"
                m = 10 + 10 * j + i
                add(CallQueued, site, m, call=call, queue=queue, campaign=project_of.get(queue))
                add(CallAnswered, site, m + 0.5, call=call, queue=queue, agent=agent, wait_s=30.0)
                add(CallEnded, site, m + 3, call=call, agent=agent)
                add(CallWrapped, site, m + 4, call=call, agent=agent, outcome=Outcome(
                    code="refused", success=False, reason=f"reason-of-{agent}",
                    follow_up_at=at(24 * 60)))
            add(AgentLogout, site, 120, agent=agent)
    return sorted(out, key=lambda e: e.ts)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    feed, sink = QueueFeed(), RecordingSink()
    store = InMemoryTokenStore(PRINCIPALS)
    [revoked] = [i for i in await store.list_tokens() if i.name == "was-admin"]
    assert await store.revoke_id(revoked.id) is not None
    url = f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    reports = ReportStore(engine, ReportConfig())
    await store_events(engine, history())
    await reports.rebuild(REPORT_DAY, REPORT_DAY)
    app = create_app(
        Settings(admin_token=ADMIN, report_refresh_s=0),
        feed=feed,
        commands=sink,
        registry=CollectorRegistry(),
        tokens=store,
        options=ApiOptions(drain_timeout_s=1.0),
        notifications=notification_log(),
        reports=reports,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            w = World(app, http, feed, sink, store)
            for site in SITES:
                feed.floor(floor_doc(site))
            for doc in ALERTS:
                feed.alert(doc)
            feed.rules(RULESET)
            await feed.drained()
            # audit entries and silences in both sites, about every kind of scope
            for fp in ("fp-qa-sales", "fp-qa-care", "fp-ta-south", "fp-qb-sales", "fp-agent-be1"):
                await w.as_admin("POST", f"/v1/alerts/{fp}/ack", {"note": f"note-{fp}"})
            await w.as_admin("POST", "/v1/silences", silence_body("site-a", queue="qa-sales"))
            await w.as_admin("POST", "/v1/silences", silence_body("site-a", team="ta-south"))
            await w.as_admin("POST", "/v1/silences", silence_body("site-b", queue="qb-care"))
            yield w
    await engine.dispose()


# -- probes: one or more requests per route; each states the status every caller gets ---------------------
@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    expect: dict[str, int]
    body: Any = None
    # prepares per-caller state and returns the path to request (e.g. a fresh token to revoke)
    setup: Callable[[World], Awaitable[str]] | None = None


async def _victim_token(w: World) -> str:
    info, _ = await w.store.create("victim", "wallboard", Scope.of(sites=["site-a"]))
    return f"/v1/tokens/{info.id}"


def _silence_setup(site: str, **labels: str) -> Callable[[World], Awaitable[str]]:
    async def setup(w: World) -> str:
        r = await w.as_admin("POST", "/v1/silences", silence_body(site, **labels))
        return f"/v1/silences/{r.json()['command']['silence_id']}"

    return setup


ACK = {"note": "checked"}
REPORT_NAMES = ("project-progress", "project-daily", "failure-reasons", "follow-ups", "agent-progress",
                "agent-log", "staff-performance")
NEW_TOKEN = {"name": "matrix-new", "role": "wallboard", "scope": {"sites": ["site-a"]}}

MATRIX: dict[tuple[str, str], list[Probe]] = {
    ("GET", "/v1/floor"): [
        Probe("GET", "/v1/floor", READ),
        Probe("GET", "/v1/floor?site=site-b", statuses(200, 403, 200, 200, 403)),
    ],
    ("GET", "/v1/floor/{site}"): [
        Probe("GET", "/v1/floor/site-a", READ),
        # nothing of site-b is in the queue / team scopes: 404, as for a site that does not exist
        Probe("GET", "/v1/floor/site-b", statuses(200, 403, 404, 404, 403)),
    ],
    ("GET", "/v1/alerts"): [
        Probe("GET", "/v1/alerts", READ),
        Probe("GET", "/v1/alerts?site=site-b", statuses(200, 403, 200, 200, 403)),
        Probe("GET", "/v1/alerts?queue=qb-sales", READ),
    ],
    ("GET", "/v1/alerts/{alert_id}"): [
        Probe("GET", "/v1/alerts/fp-qa-sales", statuses(200, 200, 200, 404, 200)),
        Probe("GET", "/v1/alerts/fp-agent-as1", statuses(200, 200, 404, 200, 200)),
        Probe("GET", "/v1/alerts/fp-qb-sales", statuses(200, 404, 404, 404, 404)),
    ],
    ("POST", "/v1/alerts/{alert_id}/ack"): [
        Probe("POST", "/v1/alerts/fp-qa-sales/ack", statuses(202, 202, 202, 404, 403), ACK),
        Probe("POST", "/v1/alerts/fp-ta-south/ack", statuses(202, 202, 404, 202, 403), ACK),
        Probe("POST", "/v1/alerts/fp-qb-sales/ack", statuses(202, 404, 404, 404, 403), ACK),
    ],
    ("POST", "/v1/silences"): [
        Probe(
            "POST",
            "/v1/silences",
            statuses(202, 202, 202, 403, 403),
            silence_body("site-a", queue="qa-sales"),
        ),
        Probe(
            "POST", "/v1/silences", statuses(202, 202, 403, 202, 403), silence_body("site-a", team="ta-south")
        ),
        Probe("POST", "/v1/silences", statuses(202, 403, 403, 403, 403), silence_body("site-b")),
    ],
    ("GET", "/v1/silences"): [Probe("GET", "/v1/silences", READ)],
    ("DELETE", "/v1/silences/{silence_id}"): [
        Probe(
            "DELETE", "", statuses(202, 202, 202, 404, 403), setup=_silence_setup("site-a", queue="qa-sales")
        ),
        Probe(
            "DELETE", "", statuses(202, 404, 404, 404, 403), setup=_silence_setup("site-b", queue="qb-care")
        ),
    ],
    ("GET", "/v1/queues"): [
        Probe("GET", "/v1/queues", READ),
        Probe("GET", "/v1/queues?site=site-b", statuses(200, 403, 200, 200, 403)),
    ],
    ("GET", "/v1/queues/{site}/{queue}"): [
        Probe("GET", "/v1/queues/site-a/qa-sales", statuses(200, 200, 200, 404, 200)),
        Probe("GET", "/v1/queues/site-a/qa-care", statuses(200, 200, 403, 200, 200)),
        Probe("GET", "/v1/queues/site-b/qb-sales", statuses(200, 403, 403, 404, 403)),
    ],
    ("GET", "/v1/agents"): [Probe("GET", "/v1/agents", READ), Probe("GET", "/v1/agents?team=tb-east", READ)],
    ("GET", "/v1/teams"): [Probe("GET", "/v1/teams", READ)],
    ("GET", "/v1/projects"): [
        Probe("GET", "/v1/projects", READ),
        Probe("GET", "/v1/projects?site=site-b", statuses(200, 403, 200, 200, 403)),
    ],
    ("GET", "/v1/rules"): [Probe("GET", "/v1/rules", READ)],
    ("POST", "/v1/tokens"): [Probe("POST", "/v1/tokens", statuses(201, 403, 403, 403, 403), NEW_TOKEN)],
    ("GET", "/v1/tokens"): [Probe("GET", "/v1/tokens", statuses(200, 403, 403, 403, 403))],
    ("DELETE", "/v1/tokens/{token_id}"): [
        Probe("DELETE", "", statuses(200, 403, 403, 403, 403), setup=_victim_token)
    ],
    ("PATCH", "/v1/tokens/{token_id}"): [
        Probe("PATCH", "", statuses(200, 403, 403, 403, 403), {"language": "zh"}, setup=_victim_token)
    ],
    ("GET", "/v1/audit"): [
        Probe("GET", "/v1/audit", statuses(200, 200, 200, 200, 403)),
        Probe("GET", "/v1/audit?site=site-b", statuses(200, 403, 200, 200, 403)),
    ],
    ("GET", "/v1/notifications"): [
        Probe("GET", "/v1/notifications", READ),
        Probe("GET", "/v1/notifications?site=site-b", statuses(200, 403, 200, 200, 403)),
    ],
    ("GET", "/v1/notifications/{notification_id}"): [
        Probe("GET", "/v1/notifications/n-fp-qa-sales", statuses(200, 200, 200, 404, 200)),
        Probe("GET", "/v1/notifications/n-fp-qb-sales", statuses(200, 404, 404, 404, 404)),
    ],
    ("GET", "/v1/wallboard/sound"): [Probe("GET", "/v1/wallboard/sound", READ)],
    # the message catalogue is public; a token only picks its language
    ("GET", "/v1/i18n"): [Probe("GET", "/v1/i18n", PUBLIC), Probe("GET", "/v1/i18n?lang=zh", PUBLIC)],
    # reports: every report unfiltered, then filtered by another site's, team's, queue's names
    ("GET", "/v1/reports/{name}"): [
        *[Probe("GET", f"/v1/reports/{n}?{DAYQ}", READ) for n in REPORT_NAMES],
        *[Probe("GET", f"/v1/reports/{n}?{DAYQ}&format={f}", READ)
          for n in ("staff-performance", "follow-ups") for f in ("csv", "xlsx")],
        *[Probe("GET", f"/v1/reports/{n}?{DAYQ}&{flt}", READ)
          for n in ("project-daily", "staff-performance", "failure-reasons", "agent-log", "follow-ups")
          for flt in ("team=tb-east", "team=ta-north", "team=ta-south", "queue=qa-care", "agent=agent-be1",
                      "project=proj-b-sales", "interval=15m")],
        Probe("GET", f"/v1/reports/failure-reasons?{DAYQ}&by=team,agent", READ),
        Probe("GET", f"/v1/reports/staff-performance?{DAYQ}&site=site-b", statuses(200, 403, 200, 200, 403)),
        Probe("GET", f"/v1/reports/no-such-report?{DAYQ}", statuses(404, 404, 404, 404, 404)),
    ],
    ("GET", "/v1/handover"): [
        Probe("GET", "/v1/handover?site=site-a&shift=day&day=2026-11-28", READ),
        Probe("GET", "/v1/handover?site=site-a&shift=day&day=2026-11-27&format=pdf", READ),
        Probe("GET", "/v1/handover?site=site-b&shift=day&day=2026-11-28", statuses(200, 403, 200, 200, 403)),
    ],
    ("POST", "/v1/handover/note"): [
        Probe("POST", "/v1/handover/note", statuses(201, 201, 201, 201, 403),
              {"site": "site-a", "shift": "day", "day": "2026-11-28", "note": "calm shift"}),
        Probe("POST", "/v1/handover/note", statuses(201, 403, 201, 201, 403),
              {"site": "site-b", "shift": "day", "day": "2026-11-28", "note": "calm shift"}),
    ],
    ("GET", "/reports/{name}"): [Probe("GET", "/reports/staff-performance", PUBLIC)],
    ("GET", "/handover"): [Probe("GET", "/handover", PUBLIC)],
    ("GET", "/healthz"): [Probe("GET", "/healthz", PUBLIC)],
    ("GET", "/readyz"): [Probe("GET", "/readyz", PUBLIC)],
    ("GET", "/metrics"): [Probe("GET", "/metrics", PUBLIC)],
    ("GET", "/openapi.json"): [Probe("GET", "/openapi.json", PUBLIC)],
    ("GET", "/docs"): [Probe("GET", "/docs", PUBLIC)],
    ("GET", "/docs/oauth2-redirect"): [Probe("GET", "/docs/oauth2-redirect", PUBLIC)],
    ("GET", "/redoc"): [Probe("GET", "/redoc", PUBLIC)],
    ("GET", "/"): [Probe("GET", "/", statuses(307, 307, 307, 307, 307, anon=307))],
    ("GET", "/wallboard"): [Probe("GET", "/wallboard", PUBLIC)],
    ("MOUNT", "/static"): [Probe("GET", "/static/wallboard.js", PUBLIC)],
    # the WebSocket has its own test below; here its entry keeps the enumeration complete
    ("WS", "/v1/stream"): [],
}
PUBLIC_ROUTES = {k for k, probes in MATRIX.items() if probes and probes[0].expect["none"] != 401}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) for every route, descending into included routers (FastAPI ≥ 0.16x keeps
    them as nested objects) — a route type the walk does not know fails the test."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            nested = getattr(route, "original_router", None)
            if nested is not None:
                yield from walk(nested.routes, prefix + route.include_context.prefix)
                continue
            kind = type(route).__name__
            path = prefix + route.path
            if kind in ("APIRoute", "Route"):
                yield from ((m, path) for m in sorted(route.methods - {"HEAD"}))
            elif kind in ("APIWebSocketRoute", "WebSocketRoute"):
                yield ("WS", path)
            elif kind == "Mount":
                yield ("MOUNT", path)
            else:
                raise AssertionError(f"route {route!r} of unknown type {kind}: add it to the matrix walk")

    return set(walk(list(app.routes), ""))


def test_every_route_has_a_matrix_entry() -> None:
    app = create_app(
        Settings(admin_token=ADMIN), feed=QueueFeed(), commands=RecordingSink(), registry=CollectorRegistry()
    )
    routes = app_routes(app)
    assert ("GET", "/v1/floor") in routes and ("WS", "/v1/stream") in routes  # the walk found routes
    assert routes - set(MATRIX) == set(), "routes without an access-matrix entry"
    assert set(MATRIX) - routes == set(), "matrix entries for routes that do not exist"


def _leaks(text: str, forbidden: frozenset[str], request_text: str) -> list[str]:
    # a 403 / 404 may echo the name the caller itself sent; that is not a leak
    return sorted(n for n in forbidden if n in text and n not in request_text)


@pytest.mark.parametrize("route", sorted(k for k in MATRIX if k[0] != "WS"), ids=lambda r: f"{r[0]} {r[1]}")
async def test_route_for_every_caller(world: World, route: tuple[str, str]) -> None:
    failures = []
    for probe in MATRIX[route]:
        for caller in CALLERS:
            path = await probe.setup(world) if probe.setup is not None else probe.path
            headers = {"Authorization": f"Bearer {caller.token}"} if caller.token else {}
            r = await world.http.request(probe.method, path, json=probe.body, headers=headers)
            request_text = path + (orjson.dumps(probe.body).decode() if probe.body is not None else "")
            want = probe.expect[caller.key]
            if r.status_code != want:
                failures.append(
                    f"{probe.method} {path} as {caller.key}: {r.status_code} != {want}: {r.text[:200]}"
                )
            # public routes answer everyone alike: they must reveal no floor data to anyone
            forbidden = PUBLIC_FORBIDDEN if route in PUBLIC_ROUTES else caller.forbidden
            if leaked := _leaks(r.text + str(r.headers), forbidden, request_text):
                failures.append(f"{probe.method} {path} as {caller.key} leaks {leaked}")
            if r.status_code >= 400:
                assert isinstance(r.json().get("detail"), str), r.text  # a readable reason, always
    assert failures == [], "\n".join(failures)


async def test_the_search_is_not_vacuous(world: World) -> None:
    """Each caller's floor and alerts do contain what it may see: the leak search looks at real data."""
    for caller in CALLERS:
        if caller.token is None or caller.key == "revoked":
            continue
        headers = {"Authorization": f"Bearer {caller.token}"}
        text = "".join(
            [
                (await world.http.get(p, headers=headers)).text
                for p in ("/v1/floor", "/v1/alerts", "/v1/agents", "/v1/queues", "/v1/teams", "/v1/projects")
            ]
        )
        missing = sorted(n for n in caller.expected if n not in text)
        assert missing == [], f"{caller.key} does not see {missing}"
    # a project's alert is seen where its progress bar is: every one of the project's queues in view
    for token, project in (("tok-sup-queue-x", "fp-proj-a-sales"), ("tok-sup-team-t", "fp-proj-a-care")):
        shown = (await world.http.get("/v1/alerts", headers={"Authorization": f"Bearer {token}"})).json()
        assert project in {a["fingerprint"] for a in shown["alerts"]}, token
    rules = (await world.http.get("/v1/rules", headers={"Authorization": f"Bearer {ADMIN}"})).text
    assert all(n in rules for n in ("rule-qb-sales", "rule-agent-be1", "proj-b-sales", "proj-a-wide"))
    mine = (await world.http.get("/v1/rules", headers={"Authorization": "Bearer tok-sup-queue-x"})).json()
    assert [r["rule"] for r in mine["rules"]] == ["rule-any", "rule-qa-sales", "rule-progress"]
    assert mine["rules"][2]["projects"] == ["proj-a-sales"]
    admin = (await world.http.get("/v1/audit", headers={"Authorization": f"Bearer {ADMIN}"})).text
    assert "note-fp-qb-sales" in admin and "note-fp-ta-south" in admin
    team_t = (await world.http.get("/v1/audit", headers={"Authorization": "Bearer tok-sup-team-t"})).json()
    assert {e["target"] for e in team_t["entries"] if e["action"] == "alert.ack"} == {"fp-ta-south"}
    silences = (
        await world.http.get("/v1/silences", headers={"Authorization": "Bearer tok-sup-queue-x"})
    ).json()
    assert [s["matchers"] for s in silences["silences"]] == [{"site": "site-a", "queue": "qa-sales"}]
    # the reports hold every caller's own rows (so the leak search above reads real report rows)
    seen = {
        (key, name): (await world.http.get(f"/v1/reports/{name}?{DAYQ}",
                                           headers={"Authorization": f"Bearer {tok}"})).json()["rows"]
        for key, tok in (("admin", ADMIN), ("team_t", "tok-sup-team-t"), ("queue_x", "tok-sup-queue-x"))
        for name in REPORT_NAMES
    }
    agents = {r["agent"] for r in seen[("admin", "staff-performance")] if r["agent"]}
    assert agents == {a for spec in SITES.values() for a in spec["agents"]}
    assert {r["agent"] for r in seen[("team_t", "staff-performance")] if r["agent"]} == {"agent-as1"}
    assert {r["agent"] for r in seen[("team_t", "follow-ups")]} == {"agent-as1"}
    assert {r["queue"] for r in seen[("queue_x", "project-daily")]} == {"qa-sales", None}
    assert {r["agent"] for r in seen[("queue_x", "follow-ups")]} == {"agent-an1", "agent-an2"}
    assert all(seen[("admin", n)] for n in REPORT_NAMES)


# -- the WebSocket: hello, then live alert and floor messages, for every caller ------------------------
async def _collect(conn: Any, until_pong: str, within: float = 5.0) -> list[dict[str, Any]]:
    out = []
    async with asyncio.timeout(within):
        while True:
            msg = orjson.loads(await conn.recv())
            out.append(msg)
            if msg["type"] == "pong" and msg.get("id") == until_pong:
                return out


async def test_stream_for_every_caller(world: World) -> None:
    server = await LiveServer(world.app).start()
    try:
        await _stream_scenario(world, server)
    finally:
        await server.stop()


async def _stream_scenario(world: World, server: LiveServer) -> None:
    conns: dict[str, Any] = {}
    for caller in CALLERS:
        url = server.ws_url + (f"?token={caller.token}" if caller.token else "")
        conns[caller.key] = await websockets.connect(url, max_size=None, ping_interval=None)
    try:
        hellos = {}
        for caller in CALLERS:
            conn = conns[caller.key]
            if caller.key in ("none", "revoked"):
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(conn.recv(), 3)
                assert info.value.rcvd is not None and info.value.rcvd.code == 4401
                continue
            hellos[caller.key] = orjson.loads(await asyncio.wait_for(conn.recv(), 3))
            assert hellos[caller.key]["type"] == "hello"
        # live traffic from both sites: new alerts of every kind and fresh floors
        for doc in ALERTS:
            world.feed.alert({**doc, "transition_id": f"{doc['id']}:2", "summary": f"summary-of-{doc['id']}"})
        for site in SITES:
            world.feed.floor(floor_doc(site, seq=2))
        await world.feed.drained()
        for key, hello in hellos.items():
            caller = BY_KEY[key]
            await conns[key].send(orjson.dumps({"op": "ping", "id": "end"}).decode())
            messages = [hello, *await _collect(conns[key], "end")]
            text = orjson.dumps(messages).decode()
            assert _leaks(text, caller.forbidden, "") == [], f"{key} leaks"
            missing = sorted(n for n in caller.expected if n not in orjson.dumps(hello).decode())
            assert missing == [], f"{key}: hello lacks {missing}"
            live = [m for m in messages if m["type"] in ("alert", "floor")]
            assert {m["type"] for m in live} == {"alert", "floor"}, f"{key} got no live data"
            # widening by subscribe is impossible: asking for site-b yields no site-b data (the new
            # hello's scope echoes the request, which is not a leak)
            ask = orjson.dumps({"op": "subscribe", "sites": ["site-b"]}).decode()
            await conns[key].send(ask)
            await conns[key].send(orjson.dumps({"op": "ping", "id": "sub"}).decode())
            after = orjson.dumps(await _collect(conns[key], "sub")).decode()
            assert _leaks(after, caller.forbidden, ask) == [], f"{key} leaks after subscribe"
    finally:
        for conn in conns.values():
            await conn.close()
