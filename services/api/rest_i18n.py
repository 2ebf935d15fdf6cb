"""REST: the message catalogue for the browser pages, and the reader's language.

``GET /v1/i18n`` answers the one catalogue (``shared/i18n/locales``, the same texts the services
render) and the language chosen for this reader: ``?lang=`` for this page, else the token's
language, else the site default — the site's own ``language:`` (rules file,
``definitions.sites.<site>``) when the request names one site (``?site=``) or the token's scope is
one site, else ``FLOORWATCH_LANGUAGE`` — else the browser's ``Accept-Language``.
A token is optional (the catalogue is no secret); an unknown one only does not count.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from services.api.auth import Principal, StoreUnavailable, bearer_token
from services.api.deps import RuntimeDep
from services.api.models import errors
from services.api.runtime import Runtime
from shared.i18n import LANGS, choose_language, load_catalogue, one_site

router = APIRouter(prefix="/v1", responses=errors(422))


async def reader_language(request: Request, runtime: Runtime, principal: Principal | None = None) -> str:
    """The language of the reader of ``request`` (the module docstring's order)."""
    page = request.query_params.get("lang")
    if principal is None:
        raw = bearer_token(request.headers.get("authorization"), request.query_params.get("token"))
        try:
            principal = await runtime.auth.authenticate(raw) if raw else None
        except StoreUnavailable:  # the token only picks the language: the others decide
            principal = None
    scoped = principal.scope.sites if principal is not None else None
    site = one_site(request.query_params.get("site"), scoped)
    return choose_language(
        page=page,
        token=principal.language if principal is not None else None,
        site=runtime.languages.of(site),
        accept=request.headers.get("accept-language"),
    )


@router.get("/i18n", summary="the message catalogue and the reader's language", tags=["i18n"])
async def catalogue(
    request: Request,
    runtime: RuntimeDep,
    lang: Annotated[str | None, Query(max_length=16, description="zh or en: this page's language")] = None,
    site: Annotated[str | None, Query(max_length=200, description="the one site the page shows")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <token>, optional")] = None,
    token: Annotated[str | None, Query(max_length=512, description="the token, optional")] = None,
) -> dict[str, Any]:
    del lang, site, authorization, token  # read from the request by reader_language (the same for every page)
    cat = load_catalogue()
    return {
        "language": await reader_language(request, runtime),
        "languages": list(LANGS),
        "texts": {lang: dict(cat.texts[lang]) for lang in LANGS},
    }
