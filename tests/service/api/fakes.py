"""In-memory fakes of the API's ports (no mocks): a queue-backed Feed and a recording CommandSink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from services.api.ports import FeedItem, FeedKind

_END = object()


class QueueFeed:
    """A Feed fed by the test: ``alert(doc)`` / ``floor(doc)`` / ``rules(doc)`` /
    ``put(kind, site, bytes)``."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.ready_callback: Callable[[], None] | None = None
        self.closed = False

    def put(self, kind: FeedKind, site: str, value: bytes) -> None:
        self._queue.put_nowait(FeedItem(kind, site, value))

    def alert(self, doc: dict[str, Any]) -> None:
        self.put("alert", doc["scope"]["site"], orjson.dumps(doc))

    def floor(self, doc: dict[str, Any]) -> None:
        self.put("floor", doc["site"], orjson.dumps(doc))

    def rules(self, doc: dict[str, Any]) -> None:
        self.put("rules", "ruleset", orjson.dumps(doc))

    def set_ready_callback(self, callback: Callable[[], None]) -> None:
        self.ready_callback = callback

    async def aclose(self) -> None:
        self.closed = True
        self._queue.put_nowait(_END)

    async def drained(self) -> None:
        """Wait until the pump has processed everything put so far."""
        await self._queue.join()

    def __aiter__(self) -> AsyncIterator[FeedItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FeedItem]:
        while True:
            item = await self._queue.get()
            if item is _END:
                self._queue.task_done()
                return
            yield item
            # the pump asks for the next item only once it has applied and published this one
            self._queue.task_done()


class RecordingSink:
    """A CommandSink that records ``(site, command)``; ``fail`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None
        self._arrived = asyncio.Event()

    async def send(self, site: str, command: dict[str, Any]) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((site, command))
        self._arrived.set()

    async def wait(self, count: int = 1, within: float = 5.0) -> list[tuple[str, dict[str, Any]]]:
        async with asyncio.timeout(within):
            while len(self.sent) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.sent
