"""REST: silences — create, list the active ones, expire (unsilence).

The API keeps no silence state of its own: a silence is known from its ``silence.create`` audit
entry (who, matchers, until), and is expired by a ``silence.expire`` entry plus an ``unsilence``
command to the engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from services.api import commands
from services.api.audit import AuditEntry, AuditQuery, reader_visibility
from services.api.auth import Principal
from services.api.deps import PrincipalDep, RuntimeDep, WriterDep
from services.api.models import Accepted, SilenceIn, SilenceList, errors
from services.api.rest import check_site, json_response
from services.api.runtime import Runtime

MAX_SILENCE = dt.timedelta(days=30)
SCOPE_LABELS = ("queue", "team", "agent")
LISTED = 1000  # active silences listed at most
PAGE = 500  # silence.create entries read per query while listing (and their expirations, in one more)
# a silence lives at most MAX_SILENCE from its creation; the margin covers API instances whose clocks
# (which stamp the audit entries) disagree
WINDOW = MAX_SILENCE + dt.timedelta(days=1)

router = APIRouter(prefix="/v1/silences", tags=["silences"], responses=errors(401, 403, 422, 503))


def check_matchers(principal: Principal, matchers: dict[str, str]) -> str:
    """The silence's site, once the matchers are known to stay inside the caller's scope."""
    site = matchers.get("site")
    if site is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "matchers must include 'site' (silences are applied per site)")
    check_site(principal, site)
    for dimension, label in (("queues", "queue"), ("teams", "team")):
        allowed = getattr(principal.scope, dimension)
        if allowed is not None and matchers.get(label) not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this token is limited to {dimension} {sorted(allowed)}: add a '{label}' "
                                "matcher naming one of them")
    return site


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Silence alerts matching all matchers until a time", responses=errors(400, 413, 503))
async def create_silence(body: SilenceIn, runtime: RuntimeDep, principal: WriterDep) -> Accepted:
    site = check_matchers(principal, body.matchers)
    now = runtime.clock()
    if body.until <= now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until must be in the future")
    if body.until - now > MAX_SILENCE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"until is more than {MAX_SILENCE.days} days ahead")
    rid = commands.request_id()
    silence_id = commands.request_id()
    command = {"op": "silence", "silence_id": silence_id, "matchers": body.matchers,
               "until": body.until.isoformat(), "comment": body.comment, "by": principal.name,
               "request_id": rid}
    await commands.audit(runtime, principal, "silence.create", silence_id, rid=rid, site=site,
                         scope=_scope_of(body.matchers),
                         detail={"matchers": body.matchers, "until": body.until.isoformat(),
                                 "comment": body.comment})
    return await commands.send(runtime, principal, site, command)


@router.get("", response_model=SilenceList, summary="Silences created through the API that have not "
            "expired or been expired, in scope")
async def list_silences(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Every active silence, however many other silence entries are newer: the creations of the last
    ``WINDOW`` (older ones have ended) are read page by page, newest first, each page's expirations
    looked up by target. Per request: memory of one page plus the listed silences (≤ ``LISTED``);
    work of one query per ``PAGE`` creations of the window, plus one for their expirations."""
    now = runtime.clock()
    visible = reader_visibility(principal, runtime.live.agent)
    silences: list[dict[str, Any]] = []
    before: int | None = None
    while len(silences) < LISTED:
        # visibility is applied here, not in the query: a query filtering by it may stop early (it
        # bounds the rows it scans), and the next page could not tell where to go on from
        page = await runtime.audit.query(AuditQuery(actions=("silence.create",), sites=principal.scope.sites,
                                                    before_id=before, limit=PAGE), lambda _entry: True)
        recent = [e for e in page if e.at > now - WINDOW]
        active = [e for e in recent if visible(e) and dt.datetime.fromisoformat(e.detail["until"]) > now]
        expired = await _expired(runtime, [e.target for e in active])
        silences += [_silence(e) for e in active if e.target not in expired][: LISTED - len(silences)]
        if len(page) < PAGE or len(recent) < len(page) or page[-1].id is None:
            break  # the log is read to its start, or to creations too old to be active
        before = page[-1].id
    return json_response({"silences": silences})


async def _expired(runtime: Runtime, targets: list[str]) -> set[str]:
    """Which of ``targets`` (silence ids) have a ``silence.expire`` entry."""
    expired: set[str] = set()
    before: int | None = None
    while targets:  # one query, but for racing DELETEs that recorded an expiry twice
        query = AuditQuery(actions=("silence.expire",), targets=tuple(targets), before_id=before,
                           limit=len(targets))
        found = await runtime.audit.query(query, lambda _entry: True)
        expired |= {e.target for e in found}
        if len(found) < len(targets) or len(expired) == len(targets) or found[-1].id is None:
            break
        before = found[-1].id
    return expired


@router.delete("/{silence_id}", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
               summary="Expire a silence now (unsilence); the engine applies it",
               responses=errors(404, 409, 503))
async def expire_silence(silence_id: str, runtime: RuntimeDep, principal: WriterDep) -> Accepted:
    created = await _find(runtime, principal, silence_id, "silence.create")
    if created is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no silence '{silence_id}' in this token's scope")
    matchers: dict[str, str] = created.detail["matchers"]
    site = check_matchers(principal, matchers)
    if await _find(runtime, principal, silence_id, "silence.expire") is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"silence '{silence_id}' was already expired")
    rid = commands.request_id()
    command = {"op": "unsilence", "silence_id": silence_id, "matchers": matchers, "by": principal.name,
               "request_id": rid}
    await commands.audit(runtime, principal, "silence.expire", silence_id, rid=rid, site=site,
                         scope=created.scope, detail={"matchers": matchers})
    return await commands.send(runtime, principal, site, command)


async def _find(runtime: Runtime, principal: Principal, silence_id: str, action: str) -> AuditEntry | None:
    found = await runtime.audit.query(AuditQuery(actions=(action,), target=silence_id, limit=1),
                                      reader_visibility(principal, runtime.live.agent))
    return found[0] if found else None


def _scope_of(matchers: dict[str, str]) -> dict[str, Any]:
    return {k: matchers[k] for k in ("site", *SCOPE_LABELS) if k in matchers}


def _silence(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.target, "matchers": entry.detail["matchers"], "until": entry.detail["until"],
            "comment": entry.detail.get("comment", ""), "created_by": entry.actor,
            "created_at": entry.at.isoformat()}
