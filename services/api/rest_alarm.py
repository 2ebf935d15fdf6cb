"""REST: the wallboard's audible alarm settings (any token)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.models import errors
from services.api.rest import json_response

router = APIRouter(prefix="/v1", responses=errors(401, 422, 503))


@router.get("/wallboard/sound", tags=["wallboard"],
            summary="Whether the wallboard sounds for alerts: from which severity, and whether a quiet "
            "time mutes it now")
async def wallboard_sound(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    return json_response(runtime.sound.state(runtime.clock()))
