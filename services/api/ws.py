"""``/v1/stream``: the WebSocket endpoint. One reader (client ops) and one writer (hub frames) per
connection; the writer is the only place that awaits the client. When the server lets us reach
the connection's transport (``direct.py``), the hub writes alert and floor frames to idle clients
itself and the writer only serves what it left pending (a lagging client), snapshots and controls.

Close codes: 4401 missing/invalid token, or the token was revoked while connected (sent after
accepting, so browsers can read it; the client should not retry with the same token); 4008 too
slow (a send did not complete within ``send_timeout_s``, or too many resyncs); 4009 the session
was resumed on another connection; 1001 server shutting down.
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

from services.api.auth import Principal, bearer_token
from services.api.direct import transport_sink
from services.api.hub import CLOSE_TOO_SLOW, Hub, Session
from services.api.runtime import Runtime

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_SUPERSEDED = 4009
CLOSE_GOING_AWAY = 1001

router = APIRouter()


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.floorwatch
    raw = bearer_token(websocket.headers.get("authorization"), websocket.query_params.get("token"))
    principal = await runtime.auth.authenticate(raw)
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
            _handle(hub, session, first, runtime.options.max_client_message_bytes)
        writer = asyncio.create_task(_write(websocket, runtime, session, gen))
        reader = asyncio.create_task(_read(websocket, runtime, session))
        done, pending = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if (exc := task.exception()) is not None and not isinstance(exc, WebSocketDisconnect | OSError):
                logger.error("websocket task failed session=%s", session.id, exc_info=exc)
    except (WebSocketDisconnect, OSError):
        pass
    finally:
        runtime.metrics.ws_clients.dec()
        hub.detach(session, gen)


async def _write(websocket: WebSocket, runtime: Runtime, session: Session, gen: int) -> None:
    hub = runtime.hub
    opts = hub.options
    sink = transport_sink(websocket._receive, opts.direct_write_limit)
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
        except TimeoutError:
            logger.warning("closing slow websocket client session=%s seq=%d", session.id, session.seq)
            runtime.metrics.slow_closes.inc()
            hub.close(session, CLOSE_TOO_SLOW, resumable=True)
            await _close(websocket, CLOSE_TOO_SLOW, _reason(CLOSE_TOO_SLOW))
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
        _handle(runtime.hub, session, text or "", runtime.options.max_client_message_bytes)


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
        body = {"id": op["id"]} if "id" in op else {}
        hub.control(session, "pong", body)
    elif name == "subscribe":
        _subscribe(hub, session, op)
    elif name == "resume":
        hub.control(session, "error", {"op": "resume", "detail": "resume must be the first message on a "
                                       "connection opened with ?session=<id from hello>"})
    else:
        hub.control(session, "error", {"op": name, "detail": f"unknown op '{name}'; expected ping, "
                                       "subscribe or resume"})


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
        hub.control(session, "error", {"op": "subscribe", "detail": f"unknown fields {sorted(unknown)}"})
        return
    hub.subscribe(session, wanted["sites"], wanted["teams"], wanted["queues"])


def _reason(code: int) -> str:
    return {CLOSE_TOO_SLOW: "too slow: reconnect and resume", CLOSE_GOING_AWAY: "server shutting down",
            CLOSE_UNAUTHORIZED: "token revoked"}.get(code, "closed")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        async with asyncio.timeout(2.0):
            await websocket.close(code, reason)
    except (TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
        pass
