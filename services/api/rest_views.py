"""REST: views cut from the latest floor snapshots — queues, agents, teams — plus projects and rules.

Everything is derived from what the feed delivered (``LiveState``) and filtered by the caller's
scope exactly as the floor is (``scoping.filter_floor``): a row the caller may not see is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.api.auth import Principal, Scope
from services.api.deps import PrincipalDep, RuntimeDep
from services.api.models import AgentList, ProjectList, QueueList, RuleList, TeamList, errors
from services.api.rest import check_site, json_response
from services.api.runtime import Runtime
from services.api.scoping import alert_visible, filter_floor

router = APIRouter(prefix="/v1", responses=errors(401, 403, 422, 503))
Name = Annotated[str | None, Query(max_length=128)]

PROJECTS_DOC = ("projects of every site in scope with their progress against plan, from the latest floor "
                "snapshots (docs/wire.md, projects): done vs planned now, status, run-rate projection, the "
                "rate needed to recover, the plan curve; plus the active alerts about each project")
PROJECTS_GAP = ("floor snapshots (docs/wire.md) carry no project figures (an alerts service older than this "
                "API), so progress against plan cannot be shown; listed are the projects named by active "
                "alerts in scope")
RULES_DOC = ("the rule set in force, as the alerts service publishes it at start and on every reload "
             "(docs/wire.md, rule set); rules naming a site, queue, team, agent or project outside the "
             "token's scope are left out")
RULES_SOURCE = "transitions"
RULES_GAP = ("the alerts service has not published its rule set (yet); these are the rules seen in alert "
             "transitions since this API instance started (a rule that never fired is not listed)")


def _floors(runtime: Runtime, principal: Principal, site: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    if site is not None:
        check_site(principal, site)
    for name in [site] if site is not None else runtime.live.sites():
        doc = runtime.live.floor(name)
        visible = filter_floor(doc, principal.scope) if doc is not None else None
        if visible is not None:
            yield name, visible


def _rows(runtime: Runtime, principal: Principal, site: str | None, key: str) -> list[dict[str, Any]]:
    return [{"site": name, **row}
            for name, doc in _floors(runtime, principal, site) for row in doc.get(key) or []]


@router.get("/queues", response_model=QueueList, summary="Queue figures of every site in scope",
            tags=["floor"])
async def list_queues(runtime: RuntimeDep, principal: PrincipalDep, site: Name = None) -> Response:
    return json_response({"queues": _rows(runtime, principal, site, "queues")})


@router.get("/queues/{site}/{queue}", summary="One queue's figures", tags=["floor"],
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}, **errors(404)})
async def get_queue(site: str, queue: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    check_site(principal, site)
    allowed = principal.scope.queues
    if allowed is not None and queue not in allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"queue '{queue}' is outside this token's scope")
    for row in _rows(runtime, principal, site, "queues"):
        if row.get("queue") == queue:
            return json_response(row)
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        f"no queue '{queue}' at site '{site}' in this token's scope")


@router.get("/agents", response_model=AgentList, summary="Logged-in agents in scope, with their state",
            tags=["floor"])
async def list_agents(runtime: RuntimeDep, principal: PrincipalDep, site: Name = None, team: Name = None,
                      queue: Name = None, state: Name = None) -> Response:
    agents = [a for a in _rows(runtime, principal, site, "agents")
              if (team is None or a.get("team") == team) and (state is None or a.get("state") == state)
              and (queue is None or queue in (a.get("queues") or ()))]
    return json_response({"agents": agents})


@router.get("/teams", response_model=TeamList, summary="Team figures of every site in scope", tags=["floor"])
async def list_teams(runtime: RuntimeDep, principal: PrincipalDep, site: Name = None) -> Response:
    return json_response({"teams": _rows(runtime, principal, site, "teams")})


@router.get("/projects", response_model=ProjectList, summary="Projects (campaigns) and their progress",
            tags=["floor"], description=PROJECTS_DOC)
async def list_projects(runtime: RuntimeDep, principal: PrincipalDep, site: Name = None) -> Response:
    floors = list(_floors(runtime, principal, site))
    alerts: dict[tuple[str, str], list[str]] = {}
    for alert in runtime.live.alerts():
        scope = alert.get("scope") or {}
        name = scope.get("campaign") or (alert.get("labels") or {}).get("project")
        if not name or (site is not None and scope.get("site") != site):
            continue
        if alert_visible(alert, principal.scope, runtime.live.agent, runtime.live.floor):
            alerts.setdefault((scope["site"], name), []).append(alert.get("fingerprint") or alert["id"])
    if floors and all("projects" in doc for _, doc in floors):
        projects = [{"site": name, **p, "alerts": alerts.get((name, p.get("project")), [])}
                    for name, doc in floors for p in doc["projects"] or []]
        return json_response({"projects": projects, "progress_available": True, "detail": PROJECTS_DOC})
    rows = [{"site": s, "project": p, "progress": None, "plan": None, "alerts": fps}
            for (s, p), fps in sorted(alerts.items())]
    return json_response({"projects": rows, "progress_available": False, "detail": PROJECTS_GAP})


@router.get("/rules", response_model=RuleList, summary="The alert rules in effect", tags=["alerts"],
            description=RULES_DOC)
async def list_rules(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    scope = principal.scope
    floors = list(_floors(runtime, principal, None))
    ruleset = runtime.live.ruleset()
    if ruleset is not None:
        return json_response(_engine_rules(ruleset, scope, floors))
    # a site the scope does not name is shown only when the caller sees something there
    visible = {name for name, _ in floors}
    rules = []
    for info, sites in runtime.live.rules():
        seen = sorted(s for s in sites if scope.allows_site(s) and (scope.sites is not None or s in visible))
        if seen:
            row = {**info, "sites": seen}
            if scope.partial:
                row["labels"] = {}  # labels may name queues or teams outside a partial scope
            rules.append(row)
    return json_response({"rules": rules, "source": RULES_SOURCE, "detail": RULES_GAP})


def _engine_rules(ruleset: dict[str, Any], scope: Scope, floors: list[tuple[str, dict[str, Any]]]
                  ) -> dict[str, Any]:
    """The published rule set cut to ``scope``: an unrestricted caller sees it all; otherwise a rule
    (or project) is listed only when every name it matches on is one the caller sees."""
    whole = scope.sites is None and not scope.partial
    seen: dict[str, set[Any]] = {"site": {name for name, _ in floors}, "queue": set(), "team": set(),
                                 "agent": set(), "campaign": set()}
    for _, doc in floors:
        for key, rows in (("queue", "queues"), ("team", "teams"), ("agent", "agents"),
                          ("campaign", "projects")):
            seen[key] |= {row.get("project" if key == "campaign" else key) for row in doc.get(rows) or []}
    if scope.sites is not None:
        seen["site"] |= set(scope.sites)

    def shown(match: dict[str, Any]) -> bool:
        return whole or all(v in seen.get(k, ()) for k, v in match.items())

    rules = []
    for rule in ruleset.get("rules") or []:
        if not shown(rule.get("match") or {}):
            continue
        row = dict(rule)
        if not whole:
            row["projects"] = [p for p in rule.get("projects") or [] if p in seen["campaign"]]
            if scope.partial:
                row["labels"] = {}  # labels may name queues or teams outside a partial scope
        rules.append(row)
    projects = [p for p in ruleset.get("projects") or [] if whole or p.get("project") in seen["campaign"]]
    inhibit = (ruleset.get("inhibit") or []) if whole else []  # inhibit rules name rules and labels
    return {"rules": rules, "projects": projects, "inhibit": inhibit,
            "source": "engine", "version": ruleset.get("version"), "rules_source": ruleset.get("source"),
            "published_at": ruleset.get("published_at"), "detail": RULES_DOC}
