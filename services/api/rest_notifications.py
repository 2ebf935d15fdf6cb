"""REST: the notifier's delivery log (admin: all; supervisor and wallboard: their scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.models import errors
from services.api.notifications import MAX_LIMIT, STATUSES, NotificationQuery, visibility
from services.api.rest import check_site, json_response

router = APIRouter(prefix="/v1", responses=errors(401, 403, 422, 503))


@router.get("/notifications", tags=["notifications"],
            summary="Notifications sent (webhooks, chat robots, email), newest first, with status and "
            "last error")
async def list_notifications(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    receiver: Annotated[str | None, Query(max_length=128)] = None,
    route: Annotated[str | None, Query(max_length=128)] = None,
    status_: Annotated[Literal[STATUSES] | None, Query(alias="status")] = None,  # type: ignore[valid-type]
    site: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1,
                                           description="page: entries older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    if site is not None:
        check_site(principal, site)
    log = runtime.notifications
    if log is None:
        return json_response({"notifications": [], "next_before_id": None})
    query = NotificationQuery(receiver=receiver, route=route, status=status_, site=site,
                              sites=principal.scope.sites, before_id=before_id, limit=limit)
    items = await log.query(query, visibility(principal, runtime.live.agent))
    next_before = items[-1]["id"] if len(items) == limit else None
    return json_response({"notifications": items, "next_before_id": next_before})


@router.get("/notifications/{notification_id}", tags=["notifications"], responses=errors(404),
            summary="One notification: the exact body sent and every delivery attempt")
async def get_notification(notification_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    item: dict[str, Any] | None = None
    if runtime.notifications is not None:
        item = await runtime.notifications.one(notification_id)
    if item is None or not visibility(principal, runtime.live.agent)(item):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {notification_id!r} in your scope")
    return json_response(item)
