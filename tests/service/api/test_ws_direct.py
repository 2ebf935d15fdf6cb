"""The fast path over real sockets: uvicorn's default WebSocket implementation gives the hub a
transport to write to; a client that stops reading falls back to its writer (coalesced floors, a
resync) while the others keep getting every frame at once."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.protocol import Protocol, Side, State

from services.api.direct import TransportSink, text_frame_header
from services.api.hub import Hub, HubOptions

from . import samples
from .conftest import ADMIN, LiveServer, recv
from .fakes import QueueFeed


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536, 200_000])
def test_frame_header_is_read_back_by_a_websockets_client(length: int) -> None:
    payload = b"x" * length
    client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    client.receive_data(text_frame_header(length) + payload + text_frame_header(2) + b"ok")
    frames = client.events_received()
    assert [(f.opcode.name, f.fin, bytes(f.data)) for f in frames] == [("TEXT", True, payload),
                                                                       ("TEXT", True, b"ok")]


def hub_of(app: FastAPI) -> Hub:
    hub: Hub = app.state.floorwatch.hub
    return hub


async def open_client(server: LiveServer, **kw: Any) -> websockets.ClientConnection:
    return await websockets.connect(f"{server.ws_url}?token={ADMIN}", max_size=None, ping_interval=None,
                                    **kw)


async def test_uvicorn_connections_get_a_sink_unless_deflate_was_negotiated(
        app: FastAPI, feed: QueueFeed) -> None:
    # the API's server declines permessage-deflate; one that accepts it must not use the fast path
    server = await LiveServer(app, ws_per_message_deflate=True).start()
    plain = await open_client(server, compression=None)
    deflated = await open_client(server)  # the client offers permessage-deflate, uvicorn accepts
    try:
        for conn in (plain, deflated):
            assert (await recv(conn))["type"] == "hello"
        sinks = {s.id: s.sink for s in hub_of(app).sessions()}
        assert sorted(type(s).__name__ for s in sinks.values()) == ["NoneType", "TransportSink"]
        feed.alert(samples.alert("fp-1"))
        for conn in (plain, deflated):
            msg = await recv(conn)
            assert (msg["type"], msg["seq"], msg["alert"]["fingerprint"]) == ("alert", 2, "fp-1")
    finally:
        await plain.close()
        await deflated.close()
        await server.stop()


@pytest.mark.parametrize("hub_options", [HubOptions(max_alert_backlog=20, max_resyncs=1000,
                                                    send_timeout_s=30)])
async def test_a_client_that_stops_reading_is_coalesced_and_resynced_the_others_are_not_held(
        app: FastAPI, server: LiveServer, feed: QueueFeed, registry: CollectorRegistry) -> None:
    # max_queue=1: the stalled client's library stops reading after one buffered frame, so its
    # socket buffers fill, then the server's transport buffer: the hub's sink refuses it.
    stalled = await open_client(server, compression=None, max_queue=1)
    fast = await open_client(server, compression=None)
    fast_got: list[dict[str, Any]] = []

    async def read_fast() -> None:
        while True:
            fast_got.append(await recv(fast, within=30))

    reader = asyncio.create_task(read_fast())
    try:
        assert (await recv(stalled))["type"] == "hello"
        async with asyncio.timeout(5):
            while not fast_got:  # noqa: ASYNC110 -- the reader task fills it
                await asyncio.sleep(0.01)
        assert all(isinstance(s.sink, TransportSink) for s in hub_of(app).sessions())

        count = 150  # 150 × 200 kB: far more than the loopback socket buffers hold
        for i in range(count):
            feed.floor(samples.floor("bj-01", seq=i))
            feed.alert(samples.alert(f"fp-{i}", summary=secrets.token_hex(100_000)))
            await feed.drained()
        async with asyncio.timeout(10):
            while len(fast_got) < 1 + 2 * count:  # noqa: ASYNC110 -- the reader task fills it
                await asyncio.sleep(0.01)
        assert [m["seq"] for m in fast_got] == list(range(1, 2 + 2 * count))
        assert [m.get("floor", {}).get("seq") for m in fast_got[1::2]] == list(range(count))
        assert [m["alert"]["id"] for m in fast_got[2::2]] == [f"fp-{i}" for i in range(count)]

        def metric(name: str, **labels: str) -> float:
            return registry.get_sample_value(name, labels) or 0.0

        assert metric("floorwatch_ws_dropped_total", reason="floor_coalesced") >= 1
        assert metric("floorwatch_ws_dropped_total", reason="alert_overflow") >= 1
        assert metric("floorwatch_ws_resyncs_total") >= 1
        assert metric("floorwatch_ws_slow_closes_total") == 0

        # timeline (stalled): frames until its buffers filled -> floors coalesced, alerts queued ->
        # backlog > 5: dropped, resync owed, everything after skipped -> it reads again: the frames
        # it had, then the resync built now (the latest floor, every alert), then the live stream
        seen = [await recv(stalled, within=10)]
        while seen[-1]["type"] != "resync":
            seen.append(await recv(stalled, within=10))
        assert seen[-1]["floor"]["bj-01"]["seq"] == count - 1
        assert {a["id"] for a in seen[-1]["alerts"]} == {f"fp-{i}" for i in range(count)}
        assert [m["type"] for m in seen].count("floor") < count
        feed.alert(samples.alert("fp-after"))
        seen.append(await recv(stalled))
        assert seen[-1]["alert"]["id"] == "fp-after"
        assert [m["seq"] for m in seen] == list(range(2, 2 + len(seen)))
        async with asyncio.timeout(5):
            while fast_got[-1]["type"] != "alert" or fast_got[-1]["alert"]["id"] != "fp-after":  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await stalled.close()
        await fast.close()



class FakeTransport:
    """The part of an asyncio transport a TransportSink uses; ``buffered`` plays the kernel."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


class FakeConnection:
    close_sent = False
    disconnected = False


def frames_of(data: bytes) -> list[bytes]:
    client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    client.receive_data(data)
    return [bytes(f.data) for f in client.events_received()]


async def test_transport_sink_batches_a_loop_iteration_into_one_write() -> None:
    transport = FakeTransport()
    sink = TransportSink(FakeConnection(), transport, 100, asyncio.get_running_loop())
    for seq in (1, 2, 3):
        assert sink.write_text(b'{"seq":%d' % seq, b"}")
    # the first frame goes out at once, the rest of this loop iteration's in one write after it
    assert [frames_of(w) for w in transport.writes] == [[b'{"seq":1}']]
    await asyncio.sleep(0)
    assert [frames_of(w) for w in transport.writes] == [[b'{"seq":1}'], [b'{"seq":2}', b'{"seq":3}']]
    # a batch over the limit is written at once; a full write buffer refuses without taking
    transport.writes.clear()
    for data in (b"w", b"x" * 60, b"y" * 60):
        assert sink.write_text(data, b"")
    assert [frames_of(w) for w in transport.writes] == [[b"w"], [b"x" * 60, b"y" * 60]]
    await asyncio.sleep(0)
    transport.writes.clear()
    transport.buffered = 101
    assert not sink.write_text(b"z", b"")
    transport.buffered = 0
    assert sink.write_text(b"a", b"") and sink.write_text(b"b", b"")
    transport.closing = True  # the connection went away before the flush: the batch is dropped
    await asyncio.sleep(0)
    assert [frames_of(w) for w in transport.writes] == [[b"a"]]
    assert not sink.write_text(b"z", b"")
