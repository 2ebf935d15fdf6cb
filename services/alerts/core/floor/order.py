"""Event-time order: the order the floor's figures are defined in, and a bounded reorder buffer.

The reducer tolerates disorder (``calls.py`` and ``agents.py`` say how), but a few facts depend on
order: an end seen before its answer leaves the call without a start, a wrap-up seen before its end
books the call early. Figures that must reproduce a file are therefore computed in one order:
:func:`order_key` — event time, then the step of a call's life at equal times (a login before a
state before a queue arrival before an answer … before the wrap-up, a logout last), then
``(source, id)`` so that equal keys never depend on arrival.

:class:`ReorderBuffer` restores that order from a delivery that is out of order by at most
``bound_s`` seconds of event time: it holds each item until an item ``bound_s`` newer has been
seen, then releases the held ones in key order. Any permutation of a delivery in which no item
arrives after one more than ``bound_s`` newer comes out identical.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Generic, TypeVar

from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    CallWrapped,
    Event,
)

from .times import epoch

_STEP: Final[dict[type[Any], int]] = {
    AgentLogin: 0,
    AgentStateChanged: 1,
    CallQueued: 2,
    CallAnswered: 3,
    CallAbandoned: 3,
    CallHeld: 4,
    CallResumed: 5,
    CallEnded: 6,
    CallTransferred: 6,
    CallWrapped: 7,
    AgentLogout: 8,
}

Key = tuple[float, int, str, str]
T = TypeVar("T")


def order_key(ev: Event) -> Key:
    """(event time, step of the call's life, source, id): the floor's event order."""
    return (epoch(ev.ts), _STEP.get(type(ev), 9), ev.source, ev.id)


class ReorderBuffer(Generic[T]):
    """Items delivered up to ``bound_s`` out of event-time order, released in ``key`` order.

    ``push(item)`` returns the items now safe to release (their key time is more than ``bound_s``
    older than the newest time seen); ``flush()`` the rest at the end. An item older than what was
    already released (later than the bound) is released at once and counted in ``late``.
    """

    def __init__(self, bound_s: float, key: Callable[[T], Key]) -> None:
        if bound_s < 0:
            raise ValueError("bound_s must be >= 0")
        self.bound_s = bound_s
        self._key = key
        self._heap: list[tuple[Key, int, T]] = []
        self._n = 0
        self._newest = float("-inf")
        self._released: Key | None = None
        self.late = 0

    def push(self, item: T) -> list[T]:
        k = self._key(item)
        if self._released is not None and k < self._released:
            self.late += 1
            return [item]
        self._n += 1
        heapq.heappush(self._heap, (k, self._n, item))
        if k[0] > self._newest:
            self._newest = k[0]
        out = []
        horizon = self._newest - self.bound_s
        while self._heap and self._heap[0][0][0] < horizon:
            k0, _, it = heapq.heappop(self._heap)
            self._released = k0
            out.append(it)
        return out

    def flush(self) -> list[T]:
        out = []
        while self._heap:
            k0, _, it = heapq.heappop(self._heap)
            self._released = k0
            out.append(it)
        return out

    def __len__(self) -> int:
        return len(self._heap)


def reordered(items: Iterable[T], bound_s: float, key: Callable[[T], Key]) -> Iterator[T]:
    """``items`` through a :class:`ReorderBuffer` of ``bound_s``."""
    buf: ReorderBuffer[T] = ReorderBuffer(bound_s, key)
    for item in items:
        yield from buf.push(item)
    yield from buf.flush()
