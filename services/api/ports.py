"""The API service's seams: what it consumes (``Feed``) and where it sends commands (``CommandSink``).

The API never imports the alerts or ingest services; the composition root (``main.py``) wires a
Kafka-backed feed and sink in production, tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

FeedKind = Literal["alert", "floor", "rules", "checkpoint"]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One record from the alerts service: an alert transition, a floor snapshot or the rule set
    in force, as JSON bytes exactly as published (docs/wire.md). ``site`` is the record key
    (``ruleset`` for the rule set). ``checkpoint``: what a start from an alerts checkpoint
    restores besides its active alerts (transition ids seen, rules seen; ``checkpoint.py``)."""

    kind: FeedKind
    site: str
    value: bytes


class Feed(Protocol):
    """An async iterator of :class:`FeedItem`. Iteration ends when the feed is closed.

    The API runs one pump task that does ``async for item in feed``; items must be yielded in
    the order they were published per site.
    """

    def __aiter__(self) -> AsyncIterator[FeedItem]: ...


@runtime_checkable
class ReadyReporting(Protocol):
    """Optional: a feed that knows when it has caught up (e.g. reached the end offsets) says so.

    The pump calls ``set_ready_callback(cb)`` once before iterating; the feed calls ``cb()`` from
    any thread when it is caught up, which makes ``/readyz`` answer 200 even if no record came.
    """

    def set_ready_callback(self, callback: Callable[[], None]) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Optional: a feed that can be asked to stop; called on shutdown before the pump is drained."""

    async def aclose(self) -> None: ...


class CommandSink(Protocol):
    """Where ack / silence requests go. The engine applies them and publishes the resulting
    transition, which comes back through the :class:`Feed`.

    Commands (JSON-able dicts), keyed by ``site``:

    * ``{"op": "ack", "fingerprint", "by", "note", "request_id"}``
    * ``{"op": "silence", "matchers": {label: value}, "until": RFC 3339, "comment", "by", "request_id"}``
    """

    async def send(self, site: str, command: dict[str, Any]) -> None: ...
