"""Route dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status

from services.api.auth import Principal, StoreUnavailable, bearer_token
from services.api.guard import INVALID_TOKEN, MISSING_TOKEN, PRINCIPAL_KEY, store_away
from services.api.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.floorwatch
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
    token: Annotated[str | None, Query(description="the token, when a header cannot be set")] = None,
) -> Principal:
    checked = request.scope.get("state", {}).get(PRINCIPAL_KEY)
    if isinstance(checked, Principal):  # a request with a body: guard.py checked the token first
        return checked
    raw = bearer_token(authorization, token)
    if raw is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING_TOKEN,
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await runtime.auth.authenticate(raw)
    except StoreUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, store_away(exc),
                            headers={"Retry-After": "5"}) from None
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, INVALID_TOKEN,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_writer(principal: PrincipalDep) -> Principal:
    if not principal.can_write:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"role '{principal.role}' is read-only: acknowledging and silencing need a "
                            "supervisor or admin token")
    return principal


WriterDep = Annotated[Principal, Depends(get_writer)]


async def get_admin(principal: PrincipalDep) -> Principal:
    if principal.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"role '{principal.role}' may not do this: it needs an admin token")
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]
