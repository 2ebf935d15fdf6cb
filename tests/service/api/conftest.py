"""Fixtures for the API service tests: fakes for the ports, the app over ASGI, and a real uvicorn
server in this event loop for WebSocket and browser tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection

from services.api.app import create_app
from services.api.auth import InMemoryTokenStore, Principal, Scope
from services.api.hub import HubOptions
from services.api.runtime import ApiOptions
from services.api.server import server_config
from shared.config import Settings

from .fakes import QueueFeed, RecordingSink

ADMIN = "admin-token-0123456789"
SUP_SALES = "supervisor-sales-token"  # supervisor, site bj-01, queue sales
WB_SALES = "wallboard-sales-token"  # wallboard, site bj-01, queue sales
SUP_SH = "supervisor-sh-token"  # supervisor, site sh-02 only


def token_store() -> InMemoryTokenStore:
    return InMemoryTokenStore({
        SUP_SALES: Principal("supervisor", Scope.of(sites=["bj-01"], queues=["sales"]), "alice"),
        WB_SALES: Principal("wallboard", Scope.of(sites=["bj-01"], queues=["sales"]), "tv-1"),
        SUP_SH: Principal("supervisor", Scope.of(sites=["sh-02"]), "bob"),
    })


@pytest.fixture
def feed() -> QueueFeed:
    return QueueFeed()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions()


@pytest.fixture
def app(feed: QueueFeed, sink: RecordingSink, registry: CollectorRegistry,
        hub_options: HubOptions) -> FastAPI:
    options = ApiOptions(hub=hub_options, drain_timeout_s=1.0, resume_wait_s=2.0)
    return create_app(Settings(admin_token=ADMIN), feed=feed, commands=sink, registry=registry,
                      tokens=token_store(), options=options)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI with its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port, in the test's event loop."""

    def __init__(self, app: FastAPI, **overrides: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        # the API's own server configuration (services/api/server.py), as `floorwatch api` runs it
        config = server_config(app, lifespan="on", ws_ping_interval=None, **overrides)
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    async def start(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        async with asyncio.timeout(10):
            while not self.server.started:
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            async with asyncio.timeout(10):
                await self.task
        self.sock.close()


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[LiveServer]:
    live = await LiveServer(app).start()
    try:
        yield live
    finally:
        await live.stop()


@pytest.fixture
async def connect(server: LiveServer) -> AsyncIterator[Callable[..., Any]]:
    """``await connect(token, **query)`` -> an open client connection (closed at teardown)."""
    opened: list[ClientConnection] = []

    async def _connect(token: str | None = ADMIN, headers: dict[str, str] | None = None,
                       **query: str | int) -> ClientConnection:
        params = dict(query)
        if token is not None:
            params["token"] = token
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        conn = await websockets.connect(server.ws_url + (f"?{qs}" if qs else ""),
                                        additional_headers=headers, max_size=None, ping_interval=None)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        await conn.close()


async def recv(conn: ClientConnection, within: float = 3.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        return orjson.loads(await conn.recv())


async def recv_type(conn: ClientConnection, kind: str, within: float = 3.0) -> dict[str, Any]:
    """The next message of type ``kind``, skipping heartbeats and floor updates."""
    async with asyncio.timeout(within):
        while True:
            msg = orjson.loads(await conn.recv())
            if msg["type"] == kind:
                return msg
