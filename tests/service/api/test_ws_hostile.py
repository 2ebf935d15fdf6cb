"""/v1/stream against hostile and careless clients (issue 9, defects 4 and 7): floods of ops whose
replies are never read, huge or deeply nested ids, unknown ops with huge names, oversized frames,
protocol violations in the middle of a stream. The connection answers with an ``error`` or closes
with a documented code; memory per client stays bounded; nothing is logged at ERROR."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
import websockets
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed

from services.api.hub import Hub, HubOptions
from services.api.server import WS_MAX_SIZE
from services.api.ws import MAX_ECHO_BYTES, MAX_ECHO_NAME

from . import samples
from .conftest import ADMIN, LiveServer, recv, recv_type
from .fakes import QueueFeed


def hub_of(app: FastAPI) -> Hub:
    hub: Hub = app.state.floorwatch.hub
    return hub


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def test_big_ids_and_op_names_are_not_echoed_back(connect, caplog: pytest.LogCaptureFixture) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    await conn.send(orjson.dumps({"op": "ping", "id": "x" * 60_000}).decode())
    error = await recv_type(conn, "error")
    assert error["op"] == "ping" and str(MAX_ECHO_BYTES) in error["detail"]
    await conn.send(orjson.dumps({"op": "y" * 60_000}).decode())
    error = await recv_type(conn, "error")
    assert len(orjson.dumps(error)) < 3 * MAX_ECHO_NAME + 200
    assert error["op"] == "y" * MAX_ECHO_NAME + "…"
    fields = {f"k{i}" + "z" * 1000: 1 for i in range(50)}
    await conn.send(orjson.dumps({"op": "subscribe", **fields}).decode())
    error = await recv_type(conn, "error")
    assert len(orjson.dumps(error)) < 6 * MAX_ECHO_NAME + 200 and "and 45 more" in error["detail"]
    # what fits is echoed exactly as sent
    ident = {"n": 7, "s": "a" * 100}
    await conn.send(orjson.dumps({"op": "ping", "id": ident}).decode())
    assert (await recv_type(conn, "pong"))["id"] == ident
    assert errors_logged(caplog) == []


async def test_a_deeply_nested_id_gets_an_error_and_the_connection_stays(
        connect, caplog: pytest.LogCaptureFixture) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    nested = "[" * 300 + "]" * 300  # parses (orjson reads 1,024 deep) but cannot be written back
    await conn.send('{"op":"ping","id":' + nested + "}")
    error = await recv_type(conn, "error")
    assert error["op"] == "ping"
    await conn.send('{"op":"ping","id":1}')
    assert (await recv_type(conn, "pong"))["id"] == 1
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("hub_options", [HubOptions(send_timeout_s=60, max_controls=64)])
async def test_a_client_that_floods_ops_and_never_reads_is_closed_4008_with_its_replies_bounded(
        app: FastAPI, server: LiveServer, feed: QueueFeed, caplog: pytest.LogCaptureFixture) -> None:
    # The client reads nothing (max_queue=1: its library stops reading after one frame); big alerts
    # fill the socket buffers until the server's send to it blocks. Then it sends pings (ids as big
    # as are echoed): the pongs pile up behind the blocked send, up to max_controls; then 4008, long
    # before the 60 s send timeout.
    conn = await websockets.connect(f"{server.ws_url}?token={ADMIN}", max_queue=1, max_size=None,
                                    ping_interval=None, compression=None)
    hub = hub_of(app)
    for i in range(150):  # 150 × 200 kB: far more than the loopback socket buffers hold
        feed.alert(samples.alert(f"fp-{i}", summary="s" * 200_000))
    await feed.drained()
    most = 0
    closed_code: int | None = None
    try:
        async with asyncio.timeout(20):
            for i in range(20_000):
                await conn.send(orjson.dumps({"op": "ping", "id": f"{i:06d}" + "x" * 200}).decode())
                most = max([most, *(len(s.controls) for s in hub.sessions())])
                if any(s.closing is not None for s in hub.sessions()):
                    break
    except ConnectionClosed as exc:
        closed_code = exc.rcvd.code if exc.rcvd else None
    assert most <= 64
    sessions = hub.sessions()
    assert len(sessions) == 1
    # the server asked to close 4008; the client's unread frames may hold the close frame back
    assert closed_code in (None, 4008)
    assert sessions[0].closing == 4008 or not sessions[0].connected
    # what the replay log holds of replies is bounded too (its alert tails are shared by every client)
    replies = [tail for _, kind, tail in sessions[0].log if kind in ("pong", "error")]
    assert all(len(tail) < MAX_ECHO_BYTES + 200 for tail in replies)
    assert errors_logged(caplog) == []
    await conn.close()


async def test_a_frame_over_the_limit_closes_1009_a_big_message_under_it_gets_an_error(
        connect, caplog: pytest.LogCaptureFixture) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    await conn.send('{"op":"ping","id":"' + "x" * 100_000 + '"}')  # > 64 KiB, < WS_MAX_SIZE
    assert "larger than" in (await recv_type(conn, "error"))["detail"]
    await conn.send("x" * (WS_MAX_SIZE + 1))
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(5):
            while True:
                await conn.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("hub_options", [HubOptions(direct_write_limit=0)])
async def test_protocol_violations_mid_stream_are_not_logged_as_errors(
        feed: QueueFeed, server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    # Every frame goes through the writers (no fast path), alerts stream to 20 clients, and each
    # client breaks the protocol at once (an unmasked frame: RFC 6455 §5.1 makes the server fail
    # the connection). The writers' sends then meet a connection the server's protocol closed.
    conns = [await websockets.connect(f"{server.ws_url}?token={ADMIN}", ping_interval=None,
                                      compression=None) for _ in range(20)]
    for conn in conns:
        await recv(conn)
    stop = asyncio.Event()

    async def stream() -> None:
        i = 0
        while not stop.is_set():
            feed.alert(samples.alert(f"fp-{i % 50}", n=i + 1))
            i += 1
            await asyncio.sleep(0)

    streamer = asyncio.create_task(stream())
    try:
        await asyncio.sleep(0.2)
        for conn in conns:
            conn.transport.write(b"\x81\x05hello")  # unmasked text frame from a client
        for conn in conns:
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(10):
                    while True:
                        await conn.recv()
    finally:
        stop.set()
        await streamer
    await asyncio.sleep(0.2)
    assert errors_logged(caplog) == []


async def test_a_client_looping_subscribe_is_refused_past_the_limit(connect) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    limit = HubOptions().max_subscribes
    for _ in range(limit):  # each answered with a whole hello
        await conn.send('{"op": "subscribe"}')
        assert (await recv(conn))["type"] == "hello"
    await conn.send('{"op": "subscribe", "queues": ["sales"]}')
    error = await recv(conn)
    assert error["type"] == "error" and error["op"] == "subscribe"
    assert f"at most {limit} within 60 s" in error["detail"]
    await conn.send('{"op": "ping"}')  # the connection stays, its scope unchanged
    assert (await recv(conn))["type"] == "pong"


# The stated bound: what K hostile clients may add to the API's resident memory, per client. Measured
# ~2 MB (ping / op floods): docs/benchmarks.md. (Oversized frames: measured by the benchmark only, see there.)
MAX_MB_PER_HOSTILE_CLIENT = 8.0


@pytest.mark.parametrize("scenario", ["ping-flood", "op-flood"])
async def test_memory_per_hostile_client_stays_under_the_stated_bound(scenario: str) -> None:
    # a real API process (benchmarks/ws_hostile_memory.py), 8 clients for 3 s; before the fix one
    # never-reading client with 60 kB ping ids took the API from 149 MB to 3 GB in 12 s
    from benchmarks.ws_hostile_memory import Api, run_scenario

    api = Api()
    try:
        await api.ready()
        result = await run_scenario(api, scenario, clients=8, seconds=3.0)
    finally:
        api.stop()
    assert result["per_client_mb"] < MAX_MB_PER_HOSTILE_CLIENT, result
