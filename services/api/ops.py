"""Operational endpoints: liveness, readiness, Prometheus metrics (unauthenticated, for probes and
scrapers; they reveal counts, not floor data)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import RuntimeDep
from services.api.models import HealthOut, ReadyOut, errors

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness: the process answers", response_model=HealthOut)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready once the feed delivered a record or reported it caught up",
            response_model=ReadyOut, responses=errors(503))
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    if runtime.pump_error is not None:
        return JSONResponse({"detail": runtime.pump_error}, status_code=503)
    if runtime.stopping:
        return JSONResponse({"detail": "shutting down"}, status_code=503)
    if not runtime.live.ready:
        return JSONResponse({"detail": "waiting for the first feed record (or the feed's caught-up signal)"},
                            status_code=503)
    # a feed cut off from the broker delivers nothing and says nothing: ask it (off the loop)
    check = getattr(runtime.feed, "problem", None)
    if check is not None:
        problem = await asyncio.to_thread(check)
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics (text exposition format)",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text format 0.0.4 / 1.0.0"}})
async def metrics(runtime: RuntimeDep) -> Response:
    body = generate_latest(runtime.registry)
    if runtime.metrics_relay is not None:
        body += await runtime.metrics_relay()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
