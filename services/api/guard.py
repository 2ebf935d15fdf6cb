"""The API's outermost HTTP layer (plain ASGI, before routing and before any body is read).

* **Token before body.** A request that carries a body (``Content-Length`` > 0 or
  ``Transfer-Encoding``) to ``/v1/…`` is authenticated from its headers / query first: without a
  valid token it is answered 401 at once and none of its body is read (FastAPI would otherwise
  read and parse the whole body before the route's token dependency runs). The principal found is
  handed to the route's dependency (``deps.get_principal``), so the token is looked up once.
* **Body limit.** A body larger than ``max_body_bytes`` (``FLOORWATCH_API_MAX_BODY_BYTES``, 64 KiB;
  the largest valid body, a silence with 16 matchers and a 1,000-character comment, is ~5 KB) is
  answered 413: at once when ``Content-Length`` says so, else as soon as the bytes read pass the
  limit. At most ``max_body_bytes`` (plus one chunk of the server's) of a body is ever held.
* **No NUL.** A path or query parameter holding the NUL character (``%00``) is answered 422, as a
  validation error of that parameter: no database stores it (PostgreSQL refuses it in text), and
  no name or id of the API contains one. ``?token=`` excepted: it is only ever hashed.
* **nosniff.** Every HTTP response carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from services.api.auth import Authenticator, Principal, StoreUnavailable, bearer_token
from services.api.error_texts import translate, validation_part
from shared.i18n import SiteLanguages, choose_language, load_catalogue, one_site

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PRINCIPAL_KEY = "floorwatch.principal"  # in scope["state"]: the principal the guard authenticated
MISSING_TOKEN = "missing token: send 'Authorization: Bearer <token>' or '?token=<token>'"
INVALID_TOKEN = "invalid or revoked token"


def store_away(exc: StoreUnavailable) -> str:
    """The 503's detail when a token cannot be checked (the token store's database away)."""
    return f"the token store is unavailable, so the token cannot be checked; try again soon: {exc}"
NOSNIFF = (b"x-content-type-options", b"nosniff")
NUL_REFUSED = "the NUL character (%00) is not allowed"


class HttpGuard:
    def __init__(self, app: ASGIApp, auth: Authenticator, max_body_bytes: int,
                 languages: SiteLanguages | None = None) -> None:
        self.app = app
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        # the site defaults for the answers' detail (error_texts.py)
        self.languages = languages or SiteLanguages()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_nosniff(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", ()) if h[0].lower() != NOSNIFF[0]]
                message = {**message, "headers": [*headers, NOSNIFF]}
            await send(message)

        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        principal: Principal | None = None

        def language() -> str:  # the reader's: token's, site's, browser's
            query = scope.get("query_string", b"")
            scoped = principal.scope.sites if principal is not None else None
            site = one_site(_query_value(query, "site"), scoped)
            return choose_language(
                page=_query_value(query, "lang"),
                token=principal.language if principal is not None else None,
                site=self.languages.of(site),
                accept=headers.get(b"accept-language", b"").decode("latin-1") or None,
            )

        def said(detail: str) -> str:
            return str(translate(detail, language(), load_catalogue()))

        where = _nul_in(scope)
        if where is not None:  # answered as FastAPI answers a parameter that fails validation
            lang = language()
            detail = validation_part(".".join(where), "value_error", NUL_REFUSED, lang, load_catalogue())
            await _answer(send_nosniff, 422, detail, errors=[{"loc": where, "msg": NUL_REFUSED,
                                                              "type": "value_error"}])
            return
        length = _content_length(headers)
        if length is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send_nosniff)  # no body: nothing to guard
            return
        if scope.get("path", "").startswith("/v1/"):
            query = _query_value(scope.get("query_string", b""), "token")
            raw = bearer_token(headers.get(b"authorization", b"").decode("latin-1") or None, query)
            try:
                principal = await self.auth.authenticate(raw)
            except StoreUnavailable as exc:
                await _answer(send_nosniff, 503, said(store_away(exc)), [(b"retry-after", b"5")])
                return
            if principal is None:
                challenge = "Bearer" if raw is None else 'Bearer error="invalid_token"'
                await _answer(send_nosniff, 401, said(MISSING_TOKEN if raw is None else INVALID_TOKEN),
                              [(b"www-authenticate", challenge.encode())])
                return
            scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        limit = self.max_body_bytes
        if length is not None and length > limit:
            await _answer(send_nosniff, 413, said(_too_large(limit)))
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            # past the limit: answer 413 here and tell the app the client left (whatever it answers
            # to that is dropped); nothing more of the body is read
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _answer(send_nosniff, 413, said(_too_large(limit)))
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send_nosniff(message)

        await self.app(scope, counted, send_unless_refused)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None  # the server refuses a malformed length before the app sees the request
    return length if length > 0 else None


def _nul_in(scope: Scope) -> list[str] | None:
    """Where the request's path or query string holds a NUL character: ``["path"]`` or
    ``["query", name]``; None when nowhere. Not ``token``: a token is only ever hashed, and one
    that is wrong is a 401 (or ignored, after an ``Authorization`` header)."""
    from urllib.parse import parse_qsl

    if "\x00" in scope.get("path", ""):
        return ["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if ("\x00" in name or "\x00" in value) and name != "token":
            return ["query", name.replace("\x00", "")[:64]]
    return None


def _query_value(query: bytes, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query.decode("latin-1"), keep_blank_values=False).get(name)
    return values[-1] if values else None


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None,
                  errors: list[dict[str, Any]] | None = None) -> None:
    body = orjson.dumps({"detail": detail} if errors is None else {"detail": detail, "errors": errors})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
