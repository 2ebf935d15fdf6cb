"""Direct writes: the hub's fast path to a connection's transport (the ``FrameSink`` of ``hub.py``).

Waking one writer task per client per message is what fan-out to thousands of clients costs most
(python-websockets' ``broadcast`` avoids it the same way: write the frame to the transport without
awaiting, and leave a connection whose write buffer is above a limit to the slow path). ASGI gives
the app no transport, so ``transport_sink`` reaches it through uvicorn's Sans-I/O WebSocket
implementation (``ws="websockets-sansio"``, chosen explicitly in ``server.py``: the protocol object
is the receiver of the ASGI ``receive`` callable). Anything else — another server, uvicorn's other
implementations, a connection that negotiated permessage-deflate — gets ``None`` and is served by
its writer task as before.

What this reads that is not public API is listed in ``PRIVATE_ATTRIBUTES``. ``fast_path_problems()``
checks every entry against the installed starlette / uvicorn / websockets once, when the API starts
(``create_app``'s lifespan): any mismatch turns the fast path off for that process with one
warning naming the attribute, and ``tests/service/api/test_fast_path_guard.py`` fails naming it.
Each lookup per connection is guarded too (``transport_sink`` returns ``None`` instead of raising),
and ``FLOORWATCH_API_FAST_PATH=false`` turns the fast path off without touching any of it.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import weakref
from typing import Any, Protocol

from websockets.protocol import Protocol as SansIOProtocol

logger = logging.getLogger(__name__)

# Every private attribute the fast path reads: (owner, attribute, what it must be). Checked at
# start by fast_path_problems(); a change in an upgrade turns the fast path off, never an error.
PRIVATE_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("starlette.websockets.WebSocket", "_receive", "the ASGI receive callable the server passed in"),
    ("uvicorn WebSocketsSansIOProtocol", "receive", "a bound method: its __self__ is the protocol"),
    ("uvicorn WebSocketsSansIOProtocol", "transport", "the connection's asyncio transport"),
    ("uvicorn WebSocketsSansIOProtocol", "conn", "a websockets.protocol.Protocol (Sans-I/O)"),
    ("uvicorn WebSocketsSansIOProtocol", "handshake_complete", "bool"),
    ("uvicorn WebSocketsSansIOProtocol", "close_sent", "bool"),
    ("uvicorn WebSocketsSansIOProtocol", "disconnected", "bool"),
    ("websockets.protocol.Protocol", "extensions", "list of negotiated extensions"),
)
_PROTOCOL_FLAGS = ("handshake_complete", "close_sent", "disconnected")

_TEXT_FIN = 0x81  # FIN + opcode 1 (text); server frames are never masked (RFC 6455 §5.1)


class _Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...


_SHORT = struct.Struct("!BB").pack
_MEDIUM = struct.Struct("!BBH").pack
_LONG = struct.Struct("!BBQ").pack


def text_frame_header(length: int) -> bytes:
    """The RFC 6455 header of an unmasked, unfragmented text frame of ``length`` payload bytes."""
    if length < 126:
        return _SHORT(_TEXT_FIN, length)
    if length < 1 << 16:
        return _MEDIUM(_TEXT_FIN, 126, length)
    return _LONG(_TEXT_FIN, 127, length)


class _Flusher:
    """Flushes, once per loop iteration, every sink that wrote in the previous one: one callback
    for a whole fan-out instead of one per client (10,000 handles are ~10 ms and garbage)."""

    __slots__ = ("__weakref__", "_loop", "_sinks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._sinks: list[TransportSink] = []

    def add(self, sink: TransportSink) -> None:
        if not self._sinks:
            self._loop.call_soon(self._run)
        self._sinks.append(sink)

    def _run(self) -> None:
        sinks, self._sinks = self._sinks, []
        for sink in sinks:
            sink.flush()


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = weakref.WeakKeyDictionary()


def _flusher(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


class TransportSink:
    """Takes whole text frames for one connection's transport, or refuses without taking when the
    connection is closing or more than ``limit`` bytes are still waiting in its write buffer.

    The first frame of a loop iteration is written at once; the ones after it in the same
    iteration are batched until the next iteration (or until the batch exceeds ``limit``) and
    written with one ``transport.write``: a burst of N messages costs a client two sends, not N.
    Whoever else writes to the connection (the session's writer, a close) must ``flush()`` first
    so that nothing overtakes the batch. A batch still unwritten when the connection closes is
    dropped with it, like bytes in a socket buffer (a resume replays them)."""

    __slots__ = ("_batch", "_batched", "_flusher", "_limit", "_proto", "_transport", "_wrote")

    def __init__(self, proto: Any, transport: _Transport, limit: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._proto = proto
        self._transport = transport
        self._limit = limit
        self._flusher = _flusher(loop)
        self._batch: list[bytes] | None = None
        self._batched = 0
        self._wrote = False  # a frame went out in this loop iteration: batch the next ones

    def _closing(self) -> bool:
        return bool(self._transport.is_closing() or self._proto.close_sent or self._proto.disconnected)

    def write_text(self, prefix: bytes, tail: bytes) -> bool:
        # called once per client per message: the checks of _closing() inlined
        transport, proto = self._transport, self._proto
        if (transport.get_write_buffer_size() > self._limit or transport.is_closing() or proto.close_sent
                or proto.disconnected):
            return False
        data = b"".join((text_frame_header(len(prefix) + len(tail)), prefix, tail))
        if not self._wrote:
            self._transport.write(data)
            self._wrote = True
            self._flusher.add(self)
        elif self._batch is None:
            self._batch, self._batched = [data], len(data)
        else:
            self._batch.append(data)
            self._batched += len(data)
            if self._batched > self._limit:
                self.flush()
        return True

    def flush(self) -> None:
        """Write what was batched (nothing when the connection is closing)."""
        batch, self._batch = self._batch, None
        self._wrote = False
        if batch and not self._closing():
            self._transport.write(batch[0] if len(batch) == 1 else b"".join(batch))


def fast_path_problems() -> list[str]:
    """What no longer matches ``PRIVATE_ATTRIBUTES`` in the installed starlette / uvicorn /
    websockets, one line per attribute naming it (empty: the fast path can be used). Builds one
    unconnected uvicorn protocol object and one starlette ``WebSocket`` to look."""
    problems: list[str] = []
    try:
        from starlette.websockets import WebSocket
        from uvicorn.config import WS_PROTOCOLS, Config
        from uvicorn.importer import import_from_string
        from uvicorn.server import ServerState

        from services.api.server import WS_IMPLEMENTATION
    except Exception as exc:  # noqa: BLE001 -- an import moved: say which, never fail the start
        return [f"import failed: {exc!r}"]

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.disconnect"}

    async def send(message: Any) -> None:
        return None

    try:
        socket = WebSocket({"type": "websocket", "path": "/", "headers": []}, receive, send)
        if getattr(socket, "_receive", None) is not receive:
            problems.append("starlette.websockets.WebSocket._receive: not the receive callable passed in")
    except Exception as exc:  # noqa: BLE001 -- a finding, not a failure
        problems.append(f"starlette.websockets.WebSocket._receive: cannot check ({exc!r})")
    try:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            return None

        config = Config(app, ws=WS_IMPLEMENTATION, log_config=None, lifespan="off")
        config.load()
        protocol_class = import_from_string(WS_PROTOCOLS[WS_IMPLEMENTATION])
        proto = protocol_class(config, ServerState(), {})
    except Exception as exc:  # noqa: BLE001 -- a finding, not a failure
        return [*problems, f"uvicorn WebSocketsSansIOProtocol: cannot be built ({exc!r})"]
    if getattr(getattr(proto, "receive", None), "__self__", None) is not proto:
        problems.append("uvicorn WebSocketsSansIOProtocol.receive: not a method bound to the protocol")
    if "transport" not in vars(proto) and not hasattr(type(proto), "transport"):
        problems.append("uvicorn WebSocketsSansIOProtocol.transport: missing")
    conn = getattr(proto, "conn", None)
    if not isinstance(conn, SansIOProtocol):
        problems.append(f"uvicorn WebSocketsSansIOProtocol.conn: not a websockets Protocol ({type(conn)!r})")
    elif not isinstance(getattr(conn, "extensions", None), list):
        problems.append("websockets.protocol.Protocol.extensions: not a list")
    for name in _PROTOCOL_FLAGS:
        if not isinstance(getattr(proto, name, None), bool):
            problems.append(f"uvicorn WebSocketsSansIOProtocol.{name}: not a bool")
    return problems


def transport_sink(receive: Any, limit: int) -> TransportSink | None:
    """A sink for the connection whose ASGI ``receive`` callable is ``receive``, or None when the
    server is not uvicorn's Sans-I/O implementation in a state where raw text frames are valid
    (handshake done, no extension negotiated, not closing) or ``limit`` is not positive. Never
    raises: anything unexpected is the plain writer's job."""
    if limit <= 0 or receive is None:
        return None
    try:
        return _transport_sink(receive, limit)
    except Exception:
        logger.warning("websocket fast path unavailable for a connection (plain writer used)", exc_info=True)
        return None


def _transport_sink(receive: Any, limit: int) -> TransportSink | None:
    proto = getattr(receive, "__self__", None)
    transport: Any = getattr(proto, "transport", None)
    conn = getattr(proto, "conn", None)
    if not isinstance(conn, SansIOProtocol) or conn.extensions:
        return None
    if not all(hasattr(transport, name) for name in ("write", "get_write_buffer_size", "is_closing")):
        return None
    flags = [getattr(proto, name, None) for name in _PROTOCOL_FLAGS]
    if flags != [True, False, False]:
        return None
    return TransportSink(proto, transport, limit, asyncio.get_running_loop())
