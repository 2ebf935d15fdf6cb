"""REST: floor, alerts, ack, silences. Every route filters by the caller's scope."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from floorwatch.services.api.auth import Principal
from floorwatch.services.api.deps import PrincipalDep, RuntimeDep, WriterDep
from floorwatch.services.api.models import Accepted, AckIn, AlertList, FloorMap, SilenceIn
from floorwatch.services.api.runtime import Runtime
from floorwatch.services.api.scoping import alert_visible, filter_floor

MAX_SILENCE = dt.timedelta(days=30)

router = APIRouter(prefix="/v1")


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def _check_site(principal: Principal, site: str) -> None:
    if not principal.scope.allows_site(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"site '{site}' is outside this token's scope")


@router.get("/floor", response_model=FloorMap, summary="Floor snapshots of every site in scope")
async def get_floors(runtime: RuntimeDep, principal: PrincipalDep,
                     site: Annotated[str | None, Query(description="only this site")] = None) -> Response:
    if site is not None:
        _check_site(principal, site)
    sites = [site] if site is not None else runtime.live.sites()
    floor = {}
    for name in sites:
        doc = runtime.live.floor(name)
        visible = filter_floor(doc, principal.scope) if doc is not None else None
        if visible is not None:
            floor[name] = visible
    return _json({"floor": floor})


@router.get("/floor/{site}", summary="The floor snapshot of one site (docs/wire.md FloorSnapshot)")
async def get_floor(site: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    _check_site(principal, site)
    doc = runtime.live.floor(site)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no floor snapshot for site '{site}' yet")
    if not principal.scope.partial:
        return Response(runtime.live.floor_raw(site), media_type="application/json")
    return _json(filter_floor(doc, principal.scope))


@router.get("/alerts", response_model=AlertList, summary="Active (pending / firing) alerts in scope")
async def get_alerts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    state: Annotated[Literal["pending", "firing"] | None, Query()] = None,
    site: Annotated[str | None, Query()] = None,
    severity: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    if site is not None:
        _check_site(principal, site)
    alerts = [
        a for a in runtime.live.alerts()
        if (state is None or a.get("state") == state)
        and (site is None or (a.get("scope") or {}).get("site") == site)
        and (severity is None or a.get("severity") == severity)
        and alert_visible(a, principal.scope, runtime.live.agent)
    ]
    return _json({"alerts": alerts})


@router.post("/alerts/{alert_id}/ack", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Acknowledge an active alert; the resulting transition arrives on the stream")
async def ack_alert(alert_id: str, runtime: RuntimeDep, principal: WriterDep,
                    body: Annotated[AckIn | None, Body()] = None) -> Accepted:
    alert = runtime.live.alert(alert_id)
    if alert is None or not alert_visible(alert, principal.scope, runtime.live.agent):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active alert '{alert_id}' in this token's scope")
    command = {"op": "ack", "fingerprint": alert.get("fingerprint") or alert_id, "by": principal.name,
               "note": (body or AckIn()).note, "request_id": uuid.uuid4().hex}
    return await _send(runtime, alert["scope"]["site"], command)


@router.post("/silences", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Silence alerts matching all matchers until a time")
async def create_silence(body: SilenceIn, runtime: RuntimeDep, principal: WriterDep) -> Accepted:
    site = body.matchers.get("site")
    if site is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "matchers must include 'site' (silences are applied per site)")
    _check_site(principal, site)
    for dimension, label in (("queues", "queue"), ("teams", "team")):
        allowed = getattr(principal.scope, dimension)
        if allowed is not None and body.matchers.get(label) not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this token is limited to {dimension} {sorted(allowed)}: add a '{label}' "
                                "matcher naming one of them")
    now = dt.datetime.now(dt.UTC)
    if body.until <= now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until must be in the future")
    if body.until - now > MAX_SILENCE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"until is more than {MAX_SILENCE.days} days ahead")
    command = {"op": "silence", "matchers": body.matchers, "until": body.until.isoformat(),
               "comment": body.comment, "by": principal.name, "request_id": uuid.uuid4().hex}
    return await _send(runtime, site, command)


async def _send(runtime: Runtime, site: str, command: dict[str, Any]) -> Accepted:
    try:
        await runtime.commands.send(site, command)
    except Exception as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"could not hand the command to the alerts engine: {exc}") from exc
    return Accepted(request_id=command["request_id"], command=command)
