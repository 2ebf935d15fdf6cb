"""REST: floor snapshots and alerts (list, one, acknowledge). Every route filters by the caller's scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from services.api import commands
from services.api.auth import Principal
from services.api.deps import PrincipalDep, RuntimeDep, WriterDep
from services.api.models import Accepted, AckIn, AlertList, FloorMap, errors
from services.api.scoping import alert_visible, filter_floor

router = APIRouter(prefix="/v1", responses=errors(401, 403, 422, 503))
Name = Annotated[str | None, Query(max_length=128)]


def json_response(content: Any, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def check_site(principal: Principal, site: str) -> None:
    if not principal.scope.allows_site(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"site '{site}' is outside this token's scope")


@router.get("/floor", response_model=FloorMap, summary="Floor snapshots of every site in scope",
            tags=["floor"])
async def get_floors(runtime: RuntimeDep, principal: PrincipalDep,
                     site: Annotated[str | None, Query(description="only this site")] = None) -> Response:
    if site is not None:
        check_site(principal, site)
    sites = [site] if site is not None else runtime.live.sites()
    floor = {}
    for name in sites:
        doc = runtime.live.floor(name)
        visible = filter_floor(doc, principal.scope) if doc is not None else None
        if visible is not None:
            floor[name] = visible
    return json_response({"floor": floor})


@router.get("/floor/{site}", summary="The floor snapshot of one site (docs/wire.md FloorSnapshot)",
            tags=["floor"], responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}},
                                       **errors(404)})
async def get_floor(site: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    check_site(principal, site)
    doc = runtime.live.floor(site)
    visible = filter_floor(doc, principal.scope) if doc is not None else None
    if visible is None:  # unknown, or nothing of it in scope: the same answer (it may not exist)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no floor snapshot for site '{site}' in this "
                            "token's scope")
    if not principal.scope.partial:
        return Response(runtime.live.floor_raw(site), media_type="application/json")
    return json_response(visible)


@router.get("/alerts", response_model=AlertList, summary="Active (pending / firing) alerts in scope",
            tags=["alerts"])
async def get_alerts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    state: Annotated[Literal["pending", "firing"] | None, Query()] = None,
    site: Name = None,
    queue: Name = None,
    team: Name = None,
    rule: Name = None,
    severity: Annotated[str | None, Query(max_length=32)] = None,
    acknowledged: Annotated[bool | None, Query(description="only (un)acknowledged alerts")] = None,
    grouped: Annotated[bool | None, Query(description="false: without the alerts folded into a group "
                                          "alert (one row per group, as screens show them)")] = None,
    grouped_into: Annotated[str | None, Query(max_length=64,
                                              description="only the members of this group alert")] = None,
    inhibited: Annotated[bool | None, Query(description="false: without the alerts an inhibit rule "
                                            "suppresses (as screens show them)")] = None,
) -> Response:
    if site is not None:
        check_site(principal, site)
    wanted = {"state": state, "severity": severity, "rule": rule}
    where = {"site": site, "queue": queue, "team": team}

    def keep(a: dict[str, Any]) -> bool:
        scope = a.get("scope") or {}
        return (all(v is None or a.get(k) == v for k, v in wanted.items())
                and all(v is None or scope.get(k) == v for k, v in where.items())
                and (acknowledged is None or (a.get("ack") is not None) == acknowledged)
                and (grouped is None or (a.get("grouped_into") is not None) == grouped)
                and (grouped_into is None or a.get("grouped_into") == grouped_into)
                and (inhibited is None or (a.get("inhibited_by") is not None) == inhibited)
                and alert_visible(a, principal.scope, runtime.live.agent, runtime.live.floor))

    return json_response({"alerts": [a for a in runtime.live.alerts() if keep(a)]})


@router.get("/alerts/{alert_id}", summary="One active alert (its latest transition)", tags=["alerts"],
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}, **errors(404)})
async def get_alert(alert_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    alert = runtime.live.alert(alert_id)
    if alert is None or not alert_visible(alert, principal.scope, runtime.live.agent, runtime.live.floor):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active alert '{alert_id}' in this token's scope")
    return json_response(alert)


@router.post("/alerts/{alert_id}/ack", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Acknowledge an active alert; the resulting transition arrives on the stream",
             tags=["alerts"], responses=errors(400, 404, 413, 503))
async def ack_alert(alert_id: str, runtime: RuntimeDep, principal: WriterDep,
                    body: Annotated[AckIn | None, Body()] = None) -> Accepted:
    alert = runtime.live.alert(alert_id)
    if alert is None or not alert_visible(alert, principal.scope, runtime.live.agent, runtime.live.floor):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active alert '{alert_id}' in this token's scope")
    fingerprint = alert.get("fingerprint") or alert_id
    note = (body or AckIn()).note
    rid = commands.request_id()
    command = {"op": "ack", "fingerprint": fingerprint, "by": principal.name, "note": note, "request_id": rid}
    site = alert["scope"]["site"]
    await commands.audit(runtime, principal, "alert.ack", fingerprint, rid=rid, site=site,
                         scope=alert["scope"], detail={"note": note, "rule": alert.get("rule")})
    return await commands.send(runtime, principal, site, command)
