"""``create_app``: the API service's FastAPI application, wired to a Feed and a CommandSink."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.api import (
    error_texts,
    ops,
    report_pages,
    rest,
    rest_admin,
    rest_alarm,
    rest_i18n,
    rest_notifications,
    rest_reports,
    rest_silences,
    rest_views,
    wallboard,
    ws,
)
from services.api.alarm import WallboardSound
from services.api.audit import AuditLog, InMemoryAuditLog
from services.api.auth import Authenticator, InMemoryTokenStore, TokenStore
from services.api.direct import fast_path_problems
from services.api.guard import HttpGuard
from services.api.hub import Hub
from services.api.metrics import ApiMetrics
from services.api.notifications import NotificationLog
from services.api.ports import Closable, CommandSink, Feed, ReadyReporting
from services.api.runtime import ApiOptions, Runtime
from services.api.state import LiveState, Skip
from services.reports.runner import refresh_every
from services.reports.store import ReportStore
from shared.config import Settings
from shared.i18n import SiteLanguages, load_catalogue

logger = logging.getLogger(__name__)

DESCRIPTION = """Live floor state, alerts and their handling, for one call-center floor or many.

Authenticate with `Authorization: Bearer <token>` (or `?token=`). Roles: **admin** (everything,
token administration), **supervisor** (read + acknowledge / silence, within its scope of sites,
queues, teams), **wallboard** (read-only, scoped). Sites excluded by the token's own `sites` are
403; data outside the scope is never returned; a site, alert, queue or silence outside the scope
answers 404 exactly as one that does not exist. Every error has one shape, `ErrorOut`:
`{"detail": "…"}`, plus `errors` (where and what, structured) on a 422 from input validation.
Request bodies are limited to 64 KiB (413) and are not read before the token is checked. The
WebSocket `/v1/stream` is described in docs/api.md."""


def create_app(
    settings: Settings,
    *,
    feed: Feed,
    commands: CommandSink,
    registry: CollectorRegistry | None = None,
    tokens: TokenStore | None = None,
    options: ApiOptions | None = None,
    audit: AuditLog | None = None,
    metrics_relay: Callable[[], Awaitable[bytes]] | None = None,
    notifications: NotificationLog | None = None,
    reports: ReportStore | None = None,
    site_languages: Mapping[str, str] | None = None,
) -> FastAPI:
    """The API app. Nothing starts until the lifespan runs: then one task pumps ``feed`` into the
    live state and the hub, and a reaper expires detached sessions and closes the connections of
    revoked tokens; shutdown closes clients (1001), closes the feed if it can be closed, drains the
    pump for ``options.drain_timeout_s`` and then cancels it.

    ``tokens``: a :class:`TokenAdmin` (SQL or in-memory) also enables ``/v1/tokens``. ``audit``:
    where acknowledgements, silences and token changes are recorded (default: in memory).
    ``metrics_relay``: more exposition text for ``/metrics`` (``floorwatch up``: the other services').
    ``reports``: the report roll-ups (``/v1/reports``, ``/v1/handover``); with
    ``settings.report_refresh_s`` > 0 a task folds newly stored events into them that often.
    ``site_languages``: site -> its readers' default language (the rules file's
    ``definitions.sites.<site>.language``; default: those of ``reports``' rules file), before
    ``settings.language`` (``FLOORWATCH_LANGUAGE``, the default of every site)."""
    options = options or ApiOptions()
    registry = registry if registry is not None else CollectorRegistry()
    live = LiveState()
    metrics = ApiMetrics(registry, live)
    runtime = Runtime(
        settings=settings, options=options, registry=registry, metrics=metrics,
        hub=Hub(live, metrics, options.hub), auth=Authenticator(settings.admin_token,
                                                                tokens or InMemoryTokenStore()),
        feed=feed, commands=commands, audit=audit if audit is not None else InMemoryAuditLog(),
        metrics_relay=metrics_relay, notifications=notifications,
        sound=WallboardSound(settings.notify_config),
        reports=reports,
        languages=SiteLanguages(
            site_languages if site_languages is not None
            else reports.config.definitions.languages if reports is not None else {},
            settings.language),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.stopping = False
        runtime.fast_path = _fast_path(settings)
        metrics.fast_path.set(1 if runtime.fast_path else 0)
        runtime.pump = asyncio.create_task(_pump(runtime), name="floorwatch-api-pump")
        reaper = asyncio.create_task(_reap(runtime), name="floorwatch-api-reaper")
        beater = asyncio.create_task(_beat(runtime), name="floorwatch-api-heartbeat")
        tickers = [reaper, beater]
        if runtime.reports is not None and settings.report_refresh_s > 0:
            tickers.append(asyncio.create_task(_refresh_reports(runtime, settings.report_refresh_s),
                                               name="floorwatch-api-reports"))
        try:
            yield
        finally:
            await _shutdown(runtime, *tickers)

    app = FastAPI(title="Floorwatch API", version="1", lifespan=lifespan, description=DESCRIPTION)
    app.state.floorwatch = runtime
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.include_router(rest.router)
    app.include_router(rest_silences.router)
    app.include_router(rest_views.router)
    app.include_router(rest_admin.router)
    app.include_router(rest_notifications.router)
    app.include_router(rest_alarm.router)
    app.include_router(rest_i18n.router)
    app.include_router(rest_reports.router)
    app.include_router(ws.router)
    app.include_router(ops.router)
    wallboard.mount(app)
    report_pages.mount(app)
    # outermost: token before body, body limit, nosniff (guard.py)
    app.add_middleware(HttpGuard, auth=runtime.auth, max_body_bytes=settings.api_max_body_bytes,
                       languages=runtime.languages)
    return app


def _fast_path(settings: Settings) -> bool:
    """Whether the hub may write to connections directly: on unless ``FLOORWATCH_API_FAST_PATH``
    turns it off or a private attribute it reads has changed (``direct.PRIVATE_ATTRIBUTES``)."""
    if not settings.api_fast_path:
        logger.info("websocket fast path off (FLOORWATCH_API_FAST_PATH=false)")
        return False
    problems = fast_path_problems()
    if problems:
        logger.warning("websocket fast path off: the installed server no longer matches what it reads "
                       "(%s); every frame goes through its connection's writer", "; ".join(problems))
        return False
    return True


async def _refresh_reports(runtime: Runtime, every_s: float) -> None:
    """Fold newly stored events (late ones too) into the report roll-ups (docs/reports.md)."""
    assert runtime.reports is not None
    await refresh_every(runtime.reports, every_s)


async def _pump(runtime: Runtime) -> None:
    live, hub, metrics = runtime.live, runtime.hub, runtime.metrics
    if isinstance(runtime.feed, ReadyReporting):
        runtime.feed.set_ready_callback(live.mark_ready)
    try:
        async for item in runtime.feed:
            try:
                result = live.apply(item)
                if isinstance(result, Skip):
                    metrics.feed_skipped.labels(item.kind, result.reason).inc()
                    if result.reason == "invalid":
                        logger.warning("feed record ignored kind=%s site=%s reason=%s", item.kind,
                                       item.site[:64], result.detail)
                    continue
                metrics.feed.labels(item.kind).inc()
                if item.kind == "alert" and logger.isEnabledFor(logging.DEBUG):
                    _log_alert(item.value)
                if result.kind in ("alert", "floor"):  # rules: served over REST (/v1/rules), not pushed
                    hub.publish(result)
            except Exception as exc:
                metrics.feed_skipped.labels(item.kind, "failed").inc()
                logger.exception("feed record skipped: handling it raised kind=%s site=%s reason=%r",
                                 item.kind, item.site[:64], exc)
        if not runtime.stopping:
            runtime.pump_error = "the feed ended"
            logger.error("feed ended while the API is running")
    except Exception as exc:
        runtime.pump_error = f"feed pump failed: {exc!r}"
        logger.exception("feed pump failed")
        raise


def _log_alert(value: bytes) -> None:
    """DEBUG: an alert transition reached this API (to follow it by fingerprint / transition_id)."""
    import orjson

    w = orjson.loads(value)
    logger.debug("alert transition received fingerprint=%s transition_id=%s state=%s",
                 w.get("fingerprint"), w.get("transition_id"), w.get("state"),
                 extra={"fingerprint": w.get("fingerprint"), "transition_id": w.get("transition_id"),
                        "state": w.get("state"), "site": (w.get("scope") or {}).get("site")})


async def _reap(runtime: Runtime) -> None:
    loop = asyncio.get_running_loop()
    next_check = loop.time() + runtime.options.revalidate_interval_s
    while True:
        await asyncio.sleep(runtime.options.reap_interval_s)
        runtime.hub.reap()
        if loop.time() >= next_check:
            next_check = loop.time() + runtime.options.revalidate_interval_s
            try:
                await revalidate(runtime)
            except Exception:
                logger.exception("checking WebSocket sessions against the token store failed")


async def _beat(runtime: Runtime) -> None:
    """WebSocket heartbeats for every connection the hub writes to directly (``Hub.beat``)."""
    tick = min(1.0, runtime.hub.options.heartbeat_s / 2)
    while True:
        await asyncio.sleep(tick)
        try:
            runtime.hub.beat({"ts": runtime.clock().isoformat()})
        except Exception:
            logger.exception("sending WebSocket heartbeats failed")


async def revalidate(runtime: Runtime) -> int:
    """Close the sessions of credentials no longer accepted (revoked elsewhere); returns how many
    connections were closed. One store lookup per distinct credential."""
    closed = 0
    for key in runtime.hub.credentials():
        if not await runtime.auth.still_valid(key):
            closed += runtime.hub.close_key(key, ws.CLOSE_UNAUTHORIZED)
            logger.info("closed the sessions of a revoked token connections=%d", closed)
    return closed


async def _shutdown(runtime: Runtime, *tickers: asyncio.Task[None]) -> None:
    runtime.stopping = True
    runtime.hub.close_all(ws.CLOSE_GOING_AWAY)
    limit = runtime.options.drain_timeout_s
    if isinstance(runtime.feed, Closable):
        try:
            async with asyncio.timeout(limit):
                await runtime.feed.aclose()
        except TimeoutError:
            logger.warning("feed did not close within %.1f s", limit)
    pump = runtime.pump
    if pump is not None:
        done, _ = await asyncio.wait({pump}, timeout=limit)
        if not done:
            logger.warning("feed pump did not drain within %.1f s; cancelling", limit)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
    for ticker in tickers:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer, except that a 405 lists in ``Allow`` every method the path has (Starlette
    names only those of the first route it matched, e.g. ``POST`` for ``/v1/silences``)."""
    lang = await rest_i18n.reader_language(request, request.app.state.floorwatch)
    detail = error_texts.translate(exc.detail, lang, load_catalogue())
    if detail != exc.detail:  # the reader's language (issue 15); status and headers unchanged
        exc = StarletteHTTPException(exc.status_code, detail, headers=exc.headers)
    if exc.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        return await http_exception_handler(request, exc)
    allowed: set[str] = set()
    for route in request.app.router.routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(request.scope)[0] is not Match.NONE:
            allowed |= methods
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                        headers={"Allow": ", ".join(sorted(allowed))})


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A readable ``detail`` string (what is wrong, where) in the reader's language, plus FastAPI's
    structured ``errors`` (unchanged: English, for programs)."""
    lang = await rest_i18n.reader_language(request, request.app.state.floorwatch)
    cat = load_catalogue()
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(error_texts.validation_part(where, str(err.get("type")), str(err.get("msg")), lang, cat))
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(parts), "errors": errors},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
