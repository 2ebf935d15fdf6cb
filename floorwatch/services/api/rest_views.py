"""REST: views cut from the latest floor snapshots — queues, agents, teams — plus projects and rules.

Everything is derived from what the feed delivered (``LiveState``) and filtered by the caller's
scope exactly as the floor is (``scoping.filter_floor``): a row the caller may not see is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from floorwatch.services.api.auth import Principal
from floorwatch.services.api.deps import PrincipalDep, RuntimeDep
from floorwatch.services.api.models import AgentList, ProjectList, QueueList, RuleList, TeamList
from floorwatch.services.api.rest import check_site, json_response
from floorwatch.services.api.runtime import Runtime
from floorwatch.services.api.scoping import alert_visible, filter_floor

router = APIRouter(prefix="/v1")
Name = Annotated[str | None, Query(max_length=128)]

PROJECTS_GAP = ("floor snapshots (docs/wire.md) carry no project figures yet, so progress against plan "
                "cannot be shown; listed are the projects named by active alerts in scope")
RULES_SOURCE = "transitions"
RULES_GAP = ("the alerts service does not publish its rule set; these are the rules seen in alert "
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


@router.get("/queues/{site}/{queue}", summary="One queue's figures", tags=["floor"])
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
            tags=["floor"], description=PROJECTS_GAP)
async def list_projects(runtime: RuntimeDep, principal: PrincipalDep, site: Name = None) -> Response:
    if site is not None:
        check_site(principal, site)
    found: dict[tuple[str, str], list[str]] = {}
    for alert in runtime.live.alerts():
        scope = alert.get("scope") or {}
        name = scope.get("campaign") or (alert.get("labels") or {}).get("project")
        if not name or (site is not None and scope.get("site") != site):
            continue
        if alert_visible(alert, principal.scope, runtime.live.agent):
            found.setdefault((scope["site"], name), []).append(alert.get("fingerprint") or alert["id"])
    projects = [{"site": s, "project": p, "progress": None, "plan": None, "alerts": fps}
                for (s, p), fps in sorted(found.items())]
    return json_response({"projects": projects, "progress_available": False, "detail": PROJECTS_GAP})


@router.get("/rules", response_model=RuleList, summary="The alert rules in effect, as far as the API knows",
            tags=["alerts"], description=RULES_GAP)
async def list_rules(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    scope = principal.scope
    # a site the scope does not name is shown only when the caller sees something there
    visible = {name for name, _ in _floors(runtime, principal, None)}
    rules = []
    for info, sites in runtime.live.rules():
        seen = sorted(s for s in sites if scope.allows_site(s) and (scope.sites is not None or s in visible))
        if seen:
            row = {**info, "sites": seen}
            if scope.partial:
                row["labels"] = {}  # labels may name queues or teams outside a partial scope
            rules.append(row)
    return json_response({"rules": rules, "source": RULES_SOURCE, "detail": RULES_GAP})
