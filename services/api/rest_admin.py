"""REST: token administration (admin only) and the audit log (admin: all; supervisor: its scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from services.api import commands
from services.api.audit import ACTIONS, MAX_LIMIT, AuditQuery, reader_visibility
from services.api.auth import Principal, Scope, TokenAdmin, TokenInfo
from services.api.deps import AdminDep, PrincipalDep, RuntimeDep
from services.api.models import (
    AuditList,
    TokenCreated,
    TokenIn,
    TokenLanguageIn,
    TokenList,
    TokenOut,
    TokenRevoked,
    errors,
)
from services.api.rest import check_site, json_response
from services.api.runtime import Runtime
from services.api.ws import CLOSE_UNAUTHORIZED

router = APIRouter(prefix="/v1", responses=errors(401, 403, 422, 503))
INT64_MAX = 2**63 - 1  # ids are 64-bit (BIGINT / SQLite INTEGER): larger ones are 422, not a database error


def _admin_store(runtime: RuntimeDep) -> TokenAdmin:
    store = runtime.auth.store
    if not isinstance(store, TokenAdmin):
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, "this API instance's token store cannot issue "
                            "or revoke tokens")
    return store


StoreDep = Annotated[TokenAdmin, Depends(_admin_store)]


def _detail(info: TokenInfo) -> dict[str, Any]:
    return {"name": info.name, "role": info.role, "scope": info.scope.to_json()}


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated, tags=["tokens"],
             summary="Issue a token; the response is the only time the token itself is shown",
             responses=errors(400, 413, 501, 503))
async def create_token(body: TokenIn, runtime: RuntimeDep, principal: AdminDep, store: StoreDep) -> Response:
    try:
        scope = Scope.from_json({str(k): v for k, v in body.scope.items()})
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if body.role == "admin" and scope != Scope():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an admin token cannot be scoped: give "
                            "it no scope, or make it a supervisor token")
    info, token = await store.create(body.name, body.role, scope, body.language)
    await commands.audit(runtime, principal, "token.create", str(info.id), rid=commands.request_id(),
                         detail=_detail(info))
    return json_response({**info.to_json(), "token": token}, status.HTTP_201_CREATED)


@router.get("/tokens", response_model=TokenList, tags=["tokens"], summary="Issued tokens (never the tokens "
            "themselves)", responses=errors(501))
async def list_tokens(principal: AdminDep, store: StoreDep,
                      include_revoked: Annotated[bool, Query()] = False) -> Response:
    tokens = await store.list_tokens(include_revoked=include_revoked)
    return json_response({"tokens": [t.to_json() for t in tokens]})


@router.delete("/tokens/{token_id}", response_model=TokenRevoked, tags=["tokens"],
               summary="Revoke a token: it is refused from now on and its open WebSockets are closed (4401)",
               responses=errors(404, 501, 503))
async def revoke_token(token_id: Annotated[int, Path(ge=1, le=INT64_MAX)], runtime: RuntimeDep,
                       principal: AdminDep, store: StoreDep) -> Response:
    info = await store.revoke_id(token_id)
    if info is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active token with id {token_id}")
    closed = runtime.hub.close_key(info.token_sha256, CLOSE_UNAUTHORIZED)
    await commands.audit(runtime, principal, "token.revoke", str(info.id), rid=commands.request_id(),
                         detail={**_detail(info), "closed_connections": closed})
    return json_response({**info.to_json(), "closed_connections": closed})


@router.patch("/tokens/{token_id}", response_model=TokenOut, tags=["tokens"],
              summary="Change a token's language (zh, en, or null: the site's default)",
              responses=errors(400, 404, 413, 501, 503))
async def patch_token(token_id: Annotated[int, Path(ge=1, le=INT64_MAX)], body: TokenLanguageIn,
                      runtime: RuntimeDep, principal: AdminDep, store: StoreDep) -> Response:
    changed = await store.set_language(token_id, body.language)
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active token with id {token_id}")
    info, before = changed
    await commands.audit(runtime, principal, "token.language", str(info.id), rid=commands.request_id(),
                         detail={**_detail(info), "language": info.language, "was": before})
    return json_response(info.to_json())


async def _reader(principal: PrincipalDep) -> Principal:
    if principal.role not in ("admin", "supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role '{principal.role}' may not read the audit log")
    return principal


@router.get("/audit", response_model=AuditList, tags=["audit"],
            summary="Audit log, newest first: admins see everything, supervisors their scope's entries")
async def get_audit(
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_reader)],
    action: Annotated[list[Literal[ACTIONS]] | None, Query()] = None,  # type: ignore[valid-type]
    target: Annotated[str | None, Query(max_length=128)] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=INT64_MAX,
                                           description="page: entries older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    if site is not None:
        check_site(principal, site)
    query = AuditQuery(actions=tuple(action) if action else None, target=target, site=site,
                       sites=principal.scope.sites, before_id=before_id, limit=limit)
    entries = await _query(runtime, principal, query)
    next_before = entries[-1].id if len(entries) == limit else None
    return json_response({"entries": [e.to_json() for e in entries], "next_before_id": next_before})


async def _query(runtime: Runtime, principal: Principal, query: AuditQuery) -> list[Any]:
    return await runtime.audit.query(query, reader_visibility(principal, runtime.live.agent))
