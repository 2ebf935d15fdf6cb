"""Wake-ups: the event times at which detectors asked to be evaluated again with no new event.

Per site, ``"rule\\x00scope name"`` -> event time (persisted in snapshots), plus a heap of
``(time, key)`` to find the next one; re-arming a key supersedes its earlier entry, which stays
in the heap and is skipped when popped. Call order (the engine's): ``arm(...)`` after each
assessment of a detector with ``wakes``; ``first(site)`` to plan the next grid point (it may be
a superseded entry: the grid point is then one with nothing to wake); ``due(site, now)`` on a
grid point, consumed lazily (evaluating what it yields may arm new wake-ups).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator


class Wakes:
    def __init__(self, at: dict[str, dict[str, float]] | None = None) -> None:
        self.at: dict[str, dict[str, float]] = {} if at is None else at  # site -> key -> time
        self._heap = {site: sorted((t, k) for k, t in w.items()) for site, w in self.at.items()}

    def arm(self, site: str, rule: str, name: str, at: float | None) -> None:
        """Ask for an evaluation of ``rule`` for scope ``name`` at event time ``at`` (None: no need)."""
        if at is None:
            return
        wakes = self.at.setdefault(site, {})
        key = f"{rule}\x00{name}"
        if wakes.get(key) == at:
            return
        wakes[key] = at
        heapq.heappush(self._heap.setdefault(site, []), (at, key))

    def first(self, site: str) -> float | None:
        heap = self._heap.get(site)
        return heap[0][0] if heap else None

    def due(self, site: str, now: float) -> Iterator[tuple[str, str]]:
        """``(rule, scope name)`` of every wake-up of ``site`` due by ``now``, earliest first."""
        heap = self._heap.get(site)
        wakes = self.at.get(site)
        while heap and wakes is not None and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            if wakes.get(key) != at:
                continue  # superseded by a later arming
            del wakes[key]
            rule, name = key.split("\x00", 1)
            yield rule, name
