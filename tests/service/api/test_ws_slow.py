"""A client that stops reading, over real sockets: the others are not held back; it gets closed."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import websockets
from prometheus_client import CollectorRegistry
from websockets.exceptions import ConnectionClosed

from services.api.hub import HubOptions

from . import samples
from .conftest import ADMIN, LiveServer, recv, recv_type
from .fakes import QueueFeed


@pytest.mark.parametrize("hub_options", [HubOptions(send_timeout_s=0.5, max_alert_backlog=10_000)])
async def test_stalled_client_does_not_delay_others_and_is_closed_4008(
        feed: QueueFeed, server: LiveServer, connect, registry: CollectorRegistry) -> None:
    # The stalled client's library stops reading after one buffered frame, so TCP back-pressure
    # reaches the server's writer for that client (and only that one).
    stalled = await websockets.connect(f"{server.ws_url}?token={ADMIN}", max_queue=1, max_size=None,
                                       ping_interval=None)
    fast = await connect(ADMIN)
    await recv(stalled)
    await recv(fast)

    # random hex: permessage-deflate cannot shrink it below ~100 kB a message, so 150 of them
    # are far more than the loopback socket buffers hold
    count = 150
    started = time.monotonic()
    for i in range(count):
        feed.alert(samples.alert(f"fp-{i}", summary=secrets.token_hex(100_000)))
    for i in range(count):
        msg = await recv_type(fast, "alert", within=5)
        assert msg["alert"]["fingerprint"] == f"fp-{i}"
    fast_elapsed = time.monotonic() - started

    # timeline: t0 alerts fed -> fast client has all of them (well under the 0.5 s send timeout
    # being the bound on the stalled one) -> stalled writer's send times out -> close 4008
    async with asyncio.timeout(10):
        while registry.get_sample_value("floorwatch_ws_slow_closes_total") != 1.0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polling a counter: there is nothing to wait on
    assert fast_elapsed < 5
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await stalled.recv()
    # the fast client is still served
    feed.alert(samples.alert("fp-after"))
    assert (await recv_type(fast, "alert"))["alert"]["fingerprint"] == "fp-after"
    await stalled.close()
