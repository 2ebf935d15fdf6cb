"""``/v1/stream``: the WebSocket endpoint. One reader (client ops) and one writer (hub frames) per
connection; the writer is the only place that awaits the client. When the server lets us reach
the connection's transport (``direct.py``), the hub writes alert and floor frames to idle clients
itself and the writer only serves what it left pending (a lagging client), snapshots and controls.

Close codes: 4401 missing/invalid token, or the token was revoked while connected (sent after
accepting, so browsers can read it; the client should not retry with the same token); 4008 too
slow (a send did not complete within ``send_timeout_s``, too many resyncs, or more than
``max_controls`` replies left unread); 4009 the session was resumed on another connection; 1001
server shutting down; 1009 (from the server's WebSocket protocol) a frame larger than
``server.WS_MAX_SIZE``.

Nothing a client sends can end its connection other than by those codes, or fill the logs: every
op is answered (``error`` when wrong), anything echoed back is clipped (``MAX_ECHO_BYTES``), and
a failure while handling one message is answered with an ``error`` and logged at WARNING, without
a traceback, at most once a minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from services.api.auth import Principal, StoreUnavailable, bearer_token
from services.api.direct import transport_sink
from services.api.hub import CLOSE_TOO_SLOW, Hub, Session
from services.api.runtime import Runtime

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_SUPERSEDED = 4009
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN = 1013  # RFC 6455 "Try Again Later": the wallboard reconnects with its back-off
MAX_ECHO_BYTES = 256  # a ping's id, as JSON, is echoed only up to this size
MAX_ECHO_NAME = 64  # characters of an unknown op's name or field names quoted in an error

router = APIRouter()
# how a connection that is gone shows up in a task (uvicorn's ClientDisconnected is an OSError)
_GONE = (WebSocketDisconnect, OSError)
# a send after the server's protocol closed the connection: uvicorn raises RuntimeError
# ("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'")
_CLOSED_UNDER_US = (RuntimeError, OSError, WebSocketDisconnect)
WARN_EVERY_S = 60.0  # a message that fails to be handled is logged at most this often (per process)
_last_warning = [float("-inf")]


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.floorwatch
    raw = bearer_token(websocket.headers.get("authorization"), websocket.query_params.get("token"))
    try:
        principal = await runtime.auth.authenticate(raw)
    except StoreUnavailable:  # the token store's database away: the client reconnects later
        await websocket.accept()
        await websocket.close(CLOSE_TRY_AGAIN, "the token store is unavailable: try again soon")
        return
    await websocket.accept()
    if principal is None:
        reason = "missing token" if raw is None else "invalid or revoked token"
        await websocket.close(CLOSE_UNAUTHORIZED, reason)
        return
    if runtime.stopping:
        await websocket.close(CLOSE_GOING_AWAY, "server shutting down")
        return
    try:
        session, replay, first = await _open(websocket, runtime, principal)
    except WebSocketDisconnect:
        return
    await _serve(websocket, runtime, session, replay, first)


async def _open(websocket: WebSocket, runtime: Runtime,
                principal: Principal) -> tuple[Session, list[str], str | None]:
    """A new session, or the one named by ``?session=`` when the first message resumes it."""
    hub = runtime.hub
    wanted = websocket.query_params.get("session")
    if not wanted:
        return hub.open(principal), [], None
    first: str | None = None
    try:
        async with asyncio.timeout(runtime.options.resume_wait_s):
            message = await websocket.receive()
    except TimeoutError:
        message = {"type": "websocket.receive"}
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is not None:
        first = message["text"]
    elif message.get("bytes") is not None:
        first = message["bytes"].decode("utf-8", "replace")
    op = _parse(first) if first is not None else None
    if isinstance(op, dict) and op.get("op") == "resume":
        held = hub.find(wanted, principal)
        since = op.get("since")
        frames = None
        if held is not None and isinstance(since, int) and not isinstance(since, bool):
            frames = hub.replay(held, since)
        if frames is not None and held is not None:
            return held, frames, None
        if held is not None:
            hub.discard(held)
        fresh = hub.open(principal)
        fresh.resumed = False
        return fresh, [], None
    fresh = hub.open(principal)
    fresh.resumed = False
    return fresh, [], first


async def _serve(websocket: WebSocket, runtime: Runtime, session: Session, replay: list[str],
                 first: str | None) -> None:
    hub = runtime.hub
    gen = hub.attach(session)
    runtime.metrics.ws_clients.inc()
    try:
        for text in replay:
            await websocket.send_text(text)
        if first is not None:
            _handle_safely(hub, session, first, runtime.options.max_client_message_bytes)
        writer = asyncio.create_task(_write(websocket, runtime, session, gen))
        reader = asyncio.create_task(_read(websocket, runtime, session))
        done, pending = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if (exc := task.exception()) is not None and not isinstance(exc, _GONE):
                logger.error("websocket task failed session=%s", session.id, exc_info=exc)
    except _GONE:
        pass
    finally:
        runtime.metrics.ws_clients.dec()
        hub.detach(session, gen)


async def _write(websocket: WebSocket, runtime: Runtime, session: Session, gen: int) -> None:
    hub = runtime.hub
    opts = hub.options
    sink = None
    if runtime.fast_path:  # the private lookups are guarded (direct.py, PRIVATE_ATTRIBUTES)
        sink = transport_sink(getattr(websocket, "_receive", None), opts.direct_write_limit)
    hub.set_sink(session, gen, sink)
    flush = sink.flush if sink is not None else _nothing  # before any other write: keep the order
    own_beat = sink is None  # with a sink, the hub's ticker sends the heartbeats (Hub.beat)
    next_beat = time.monotonic() + opts.heartbeat_s
    while True:
        if session.writer_gen != gen:
            flush()
            await _close(websocket, CLOSE_SUPERSEDED, "session resumed on another connection")
            return
        if session.closing is not None:
            flush()
            await _close(websocket, session.closing, _reason(session.closing))
            return
        now = time.monotonic()
        if own_beat and now >= next_beat:
            hub.control(session, "heartbeat", {"ts": dt.datetime.now(dt.UTC).isoformat()})
            next_beat = now + opts.heartbeat_s
        text = hub.next_frame(session)
        if text is None:
            session.wake.clear()
            if not own_beat:
                await session.wake.wait()
                continue
            try:
                async with asyncio.timeout(max(0.0, next_beat - now)):
                    await session.wake.wait()
            except TimeoutError:
                pass
            continue
        session.sending = True  # until the frame is handed over, publish must not write past it
        flush()
        try:
            async with asyncio.timeout(opts.send_timeout_s):
                await websocket.send_text(text)
        except TimeoutError:  # (before the OSErrors below: TimeoutError is one)
            logger.warning("closing slow websocket client session=%s seq=%d", session.id, session.seq)
            runtime.metrics.slow_closes.inc()
            hub.close(session, CLOSE_TOO_SLOW, resumable=True)
            await _close(websocket, CLOSE_TOO_SLOW, _reason(CLOSE_TOO_SLOW))
            return
        except _CLOSED_UNDER_US:
            # the server's protocol closed the connection itself (the client sent a bad or oversized
            # frame, or went away): the reader sees the disconnect; nothing to log
            return
        finally:
            if session.writer_gen == gen:
                session.sending = False


async def _read(websocket: WebSocket, runtime: Runtime, session: Session) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None and message.get("bytes") is not None:
            text = message["bytes"].decode("utf-8", "replace")
        _handle_safely(runtime.hub, session, text or "", runtime.options.max_client_message_bytes)


def _handle_safely(hub: Hub, session: Session, text: str, max_bytes: int) -> None:
    """``_handle``, and an ``error`` reply instead of a dropped connection if it fails."""
    try:
        _handle(hub, session, text, max_bytes)
    except Exception as exc:  # noqa: BLE001 -- one bad message never ends the connection
        now = time.monotonic()
        if now - _last_warning[0] >= WARN_EVERY_S:
            _last_warning[0] = now
            logger.warning("websocket message could not be handled session=%s error=%s", session.id,
                           _clip(repr(exc), 200))
        hub.control(session, "error", {"detail": "this message could not be handled"})


def _nothing() -> None:
    return None


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _handle(hub: Hub, session: Session, text: str, max_bytes: int) -> None:
    """Apply one client op; anything wrong is answered with an ``error`` message, never a close."""
    if len(text) > max_bytes:
        hub.control(session, "error", {"detail": f"message larger than {max_bytes} bytes"})
        return
    op = _parse(text)
    if not isinstance(op, dict) or not isinstance(op.get("op"), str):
        hub.control(session, "error", {"detail": 'expected a JSON object like {"op": "ping"}'})
        return
    name = op["op"]
    if name == "ping":
        body: dict[str, Any] = {}
        if "id" in op:
            echo = _echo(op["id"])
            if echo is None:
                hub.control(session, "error", {"op": "ping", "detail": "'id' must be a JSON value of at "
                                               f"most {MAX_ECHO_BYTES} bytes"})
                return
            body["id"] = echo
        hub.control(session, "pong", body)
    elif name == "subscribe":
        _subscribe(hub, session, op)
    elif name == "resume":
        hub.control(session, "error", {"op": "resume", "detail": "resume must be the first message on a "
                                       "connection opened with ?session=<id from hello>"})
    else:
        shown = _clip(name, MAX_ECHO_NAME)
        hub.control(session, "error", {"op": shown, "detail": f"unknown op '{shown}'; expected ping, "
                                       "subscribe or resume"})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _echo(value: Any) -> Any:
    """``value`` when its JSON is at most ``MAX_ECHO_BYTES`` (and can be encoded), else None."""
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError, RecursionError):
        return None
    return orjson.Fragment(encoded) if len(encoded) <= MAX_ECHO_BYTES else None


def _subscribe(hub: Hub, session: Session, op: dict[str, Any]) -> None:
    wanted: dict[str, list[str] | None] = {}
    for key in ("sites", "teams", "queues"):
        value = op.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            hub.control(session, "error", {"op": "subscribe", "detail": f"'{key}' must be a list of strings"})
            return
        wanted[key] = value
    unknown = set(op) - {"op", "sites", "teams", "queues"}
    if unknown:
        named = [_clip(k, MAX_ECHO_NAME) for k in sorted(unknown)[:5]]
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        hub.control(session, "error", {"op": "subscribe", "detail": f"unknown fields {named}{more}"})
        return
    if hub.subscribe(session, wanted["sites"], wanted["teams"], wanted["queues"]) is None:
        opts = hub.options
        hub.control(session, "error", {"op": "subscribe", "detail": f"too many subscribes: at most "
                                       f"{opts.max_subscribes} within {opts.subscribe_window_s:g} s; "
                                       "the scope is unchanged"})


def _reason(code: int) -> str:
    return {CLOSE_TOO_SLOW: "too slow: reconnect and resume", CLOSE_GOING_AWAY: "server shutting down",
            CLOSE_UNAUTHORIZED: "token revoked"}.get(code, "closed")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        async with asyncio.timeout(2.0):
            await websocket.close(code, reason)
    except (TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
        pass
