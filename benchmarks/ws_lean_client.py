"""Lean WebSocket clients for the fan-out benchmark: one ``asyncio.Protocol`` per connection that
parses RFC 6455 frame headers itself and timestamps in ``data_received``.

Why not a client library: with thousands of clients in a few processes on the same 2 cores as the
server, a full client (a task and a future per message, UTF-8 validation, a reader loop) costs as
much CPU as the server's fan-out, and its receive timestamps measure its own scheduling. Here a
message costs one header parse and one ``orjson.loads``; the timestamp is taken when the bytes
reach the process (``time.monotonic()``: CLOCK_MONOTONIC, the same clock in every process on
Linux, so it can be compared with the sender's stamp carried in the alert).

Limits (fine for a benchmark against our own server, not a general client): server frames only
(unmasked), no fragmentation (uvicorn sends every message as one frame), pings are not answered
(the benchmark server runs without keepalive pings), a close frame just closes the socket.
``deflate=True`` offers permessage-deflate like a browser does and inflates what the server
compresses (one ``zlib`` decompressor per connection, context takeover as negotiated).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import zlib
from typing import Any

import orjson

_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.2: appended before inflating a message
_ALERT = b'{"type":"alert","seq":'  # how the hub starts every alert message
_ID = b',"alert":{"id":"'


class Recorder:
    """What one client process saw: receive times per alert id, hellos, resyncs, seq gaps."""

    def __init__(self, expected: int) -> None:
        self.times: dict[str, list[float]] = {}
        self.hellos = 0
        self.resyncs = 0
        self.gaps = 0
        self.deflated = 0
        self.expected = expected
        self.all_hello = asyncio.Event()

    def message(self, client: LeanClient, payload: bytes, now: float) -> None:
        if payload.startswith(_ALERT):  # the hot path: read seq and id off the envelope's bytes
            comma = payload.index(b",", len(_ALERT))
            self._seq(client, int(payload[len(_ALERT):comma]))
            if payload.startswith(_ID, comma):
                start = comma + len(_ID)
                fp = payload[start:payload.index(b'"', start)].decode()
            else:  # another field order: decode it all
                fp = orjson.loads(payload)["alert"]["id"]
            self.times.setdefault(fp, []).append(now)
            return
        doc = orjson.loads(payload)
        if isinstance(doc.get("seq"), int):
            self._seq(client, doc["seq"])
        kind = doc.get("type")
        if kind == "hello":
            self.deflated += client.deflate_ok
            self.hellos += 1
            if self.hellos == self.expected:
                self.all_hello.set()
        elif kind == "resync":  # what a resync snapshot carries counts as delivered, at its time
            self.resyncs += 1
            for alert in doc.get("alerts", ()):
                self.times.setdefault(alert["id"], []).append(now)

    def _seq(self, client: LeanClient, seq: int) -> None:
        if client.seq and seq != client.seq + 1:
            self.gaps += 1
        client.seq = seq

    def report(self) -> dict[str, Any]:
        return {"times": self.times, "hellos": self.hellos, "resyncs": self.resyncs, "gaps": self.gaps,
                "deflated": self.deflated}


class LeanClient(asyncio.Protocol):
    __slots__ = ("buf", "deflate_ok", "inflater", "open", "recorder", "request", "seq", "transport")

    def __init__(self, recorder: Recorder, request: bytes) -> None:
        self.recorder = recorder
        self.request = request
        self.transport: Any = None
        self.buf = b""
        self.open = False
        self.seq = 0
        self.deflate_ok = False
        self.inflater: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            head = buf[:end].lower()
            if not head.startswith(b"http/1.1 101"):
                self.transport.close()
                return
            self.open = True
            if b"permessage-deflate" in head:
                self.deflate_ok = True
                self.inflater = zlib.decompressobj(-15)
            buf = buf[end + 4:]
        self.buf = self._frames(buf, now)

    def _frames(self, buf: bytes, now: float) -> bytes:
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2:pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2:pos + 10], "big"), pos + 10
            if size - start < length:
                break
            payload = buf[start:start + length]
            pos = start + length
            if b0 & 0x40:  # RSV1: a compressed message
                payload = self.inflater.decompress(payload + _TAIL)
            opcode = b0 & 0x0F
            if opcode == 1:
                self.recorder.message(self, payload, now)
            elif opcode == 8:
                self.transport.close()
                return b""
        return buf[pos:] if pos < size else b""


def upgrade_request(port: int, path: str, deflate: bool) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if deflate:  # what Chrome and Firefox send
        lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def connect_all(port: int, path: str, count: int, deflate: bool, recorder: Recorder,
                      batch: int = 100) -> list[Any]:
    """Open ``count`` connections, ``batch`` at a time; returns their transports."""
    loop = asyncio.get_running_loop()
    transports: list[Any] = []
    for i in range(0, count, batch):
        made = await asyncio.gather(*(
            loop.create_connection(lambda: LeanClient(recorder, upgrade_request(port, path, deflate)),
                                   "127.0.0.1", port)
            for _ in range(min(batch, count - i))))
        transports += [t for t, _ in made]
    return transports
