"""The token store's database away (a restart, a failover): until 2026-12-08 every request and
every WebSocket connection that needed a token failed with 500, so a wallboard that reconnected
during a database restart stayed dark. Now a credential the store accepted within
STORE_AWAY_GRACE_S is still accepted, and one it cannot check gets a 503 (REST) or a close
"try again later" (WebSocket, code 1013: the wallboard reconnects with its back-off)."""

from __future__ import annotations

import httpx
import pytest
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api.app import create_app
from services.api.auth import STORE_AWAY_GRACE_S, Authenticator, Principal, StoreUnavailable
from services.api.runtime import ApiOptions
from shared.config import Settings

from .conftest import ADMIN, SUP_SALES, WB_SALES, LiveServer, token_store
from .fakes import QueueFeed, RecordingSink


class Flaky:
    """The in-memory token store, or a store whose database is away (``away``)."""

    def __init__(self) -> None:
        self.inner = token_store()
        self.away = False

    async def lookup(self, token_sha256: str) -> Principal | None:
        if self.away:
            raise ConnectionRefusedError(111, "Connection refused")
        return await self.inner.lookup(token_sha256)


async def test_what_the_store_accepted_lately_is_accepted_while_it_is_away() -> None:
    clock = [0.0]
    store = Flaky()
    auth = Authenticator(ADMIN, store, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert (await auth.authenticate(SUP_SALES)).name == "alice"  # type: ignore[union-attr]
    store.away = True
    clock[0] = STORE_AWAY_GRACE_S - 1
    assert (await auth.authenticate(SUP_SALES)).name == "alice"  # type: ignore[union-attr]
    with pytest.raises(StoreUnavailable, match="ConnectionRefusedError"):
        await auth.authenticate(WB_SALES)  # never accepted: cannot be checked
    clock[0] = STORE_AWAY_GRACE_S + 1
    with pytest.raises(StoreUnavailable):
        await auth.authenticate(SUP_SALES)  # accepted too long ago
    assert (await auth.authenticate(ADMIN)).role == "admin"  # type: ignore[union-attr]
    store.away = False
    assert (await auth.authenticate(SUP_SALES)).name == "alice"  # type: ignore[union-attr]
    store.inner = type(store.inner)({})  # revoked meanwhile: forgotten, also for a later outage
    assert await auth.authenticate(SUP_SALES) is None
    store.away = True
    with pytest.raises(StoreUnavailable):
        await auth.authenticate(SUP_SALES)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def app(flaky: Flaky) -> FastAPI:  # conftest's `http` serves this app
    return create_app(Settings(admin_token=ADMIN), feed=QueueFeed(), commands=RecordingSink(),
                      registry=CollectorRegistry(), tokens=flaky,  # type: ignore[arg-type]
                      options=ApiOptions(drain_timeout_s=1.0))


async def test_rest_answers_503_for_a_token_it_cannot_check_and_serves_one_accepted_lately(
    http: httpx.AsyncClient, flaky: Flaky,
) -> None:
    assert (await http.get("/v1/alerts", params={"token": SUP_SALES})).status_code == 200
    flaky.away = True
    assert (await http.get("/v1/alerts", params={"token": SUP_SALES})).status_code == 200
    for answer in (await http.get("/v1/alerts", params={"token": WB_SALES}),  # a route's dependency
                   await http.post("/v1/silences", params={"token": WB_SALES}, json={})):  # the guard
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert "the token store is unavailable" in answer.json()["detail"]


async def test_a_websocket_that_cannot_be_checked_is_told_to_try_again(app: FastAPI, flaky: Flaky) -> None:
    server = await LiveServer(app).start()
    try:
        flaky.away = True
        async with websockets.connect(f"{server.ws_url}?token={WB_SALES}") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        await server.stop()
