"""One delivery attempt is bounded and every error in it is an attempt: a server that trickles
its answer is cut off at the attempt's time limit, and a URL httpx refuses is recorded, retried
and given up on like any other failure (it used to escape and loop on the same message forever).
The store is an in-memory fake."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from services.notify.core import load_config
from services.notify.delivery import Deliverer, Endpoint, RetryPolicy, resolve
from services.notify.metrics import NotifyMetrics
from services.notify.store import Outgoing

NOW = dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC)


class FakeStore:
    def __init__(self) -> None:
        self.attempts: list[dict[str, Any]] = []

    async def attempt(self, notification_id: str, receiver: str, **kw: Any) -> None:
        self.attempts.append({"id": notification_id, **kw})


def deliverer(url: str, store: FakeStore, **policy: float) -> Deliverer:
    cfg = load_config("receivers:\n  - {name: hook, kind: webhook, url: 'env:HOOK'}\n"
                      "route: {receiver: hook}\n")
    endpoint = Endpoint.of(cfg.receiver("hook"), {"HOOK": url})
    return Deliverer(store, {"hook": endpoint}, NotifyMetrics.create(CollectorRegistry()),  # type: ignore[arg-type]
                     RetryPolicy(**policy), backlog_limit=5, wall=lambda: NOW)


def message() -> Outgoing:
    created = NOW - dt.timedelta(minutes=1)
    return Outgoing("p0-abc-1", "root", "hook", "webhook", "application/json", "{}", "", "", created, 0)


async def _deliver(d: Deliverer) -> None:
    d._http = httpx.AsyncClient(timeout=d.policy.timeout_s)  # what start() makes, without the tasks
    try:
        await asyncio.wait_for(d._deliver(message()), 20)
    finally:
        await d._http.aclose()


def test_a_server_trickling_its_answer_is_cut_off_at_the_attempts_time_limit() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(1000)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):  # one byte every 0.5 s: each read is within httpx's 1 s timeout
            await asyncio.sleep(0.5)
            if writer.is_closing():
                return
            writer.write(b"x")

    async def go() -> float:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        d = deliverer(f"http://127.0.0.1:{port}/", store, timeout_s=1.0, give_up_after_s=0.0)
        t0 = time.monotonic()
        try:
            await _deliver(d)
        finally:
            took = time.monotonic() - t0
            server.close()
            for w in writers:
                w.close()
            await server.wait_closed()
            await asyncio.sleep(0.6)  # the handler sees its writer closed and ends
        return took

    store = FakeStore()
    took = asyncio.run(go())
    assert took < 3.0
    [attempt] = store.attempts
    assert attempt["outcome"] == "failed" and "1 s" in attempt["error"]


def test_a_url_httpx_refuses_is_a_recorded_failed_attempt() -> None:
    store = FakeStore()
    # give_up_after_s=0: the first failed attempt is already past the give-up age
    asyncio.run(_deliver(deliverer("http://127.0.0.1:99999/", store, timeout_s=1.0, give_up_after_s=0.0)))
    [attempt] = store.attempts
    assert attempt["outcome"] == "failed" and attempt["error"].startswith("gave up after 1 attempts")


def test_an_env_secret_is_stripped_of_surrounding_whitespace() -> None:
    assert resolve("env:HOOK", {"HOOK": "https://hook.example/x\n"}) == "https://hook.example/x"
