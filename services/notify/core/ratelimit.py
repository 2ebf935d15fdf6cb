"""Rate-limit planning per receiver: when may the next message go, given what was sent.

A pure sliding-window ledger: ``allowed_at(receiver, now)`` is the earliest instant at or after
``now`` when one more message keeps within ``per_minute`` (any 60 s) and ``per_second`` (any 1 s);
``record(receiver, at)`` notes a send. The dispatcher holds a group back until its receiver is
allowed — the group meanwhile folds in new alerts — so a burst becomes fewer, larger messages
and nothing is dropped.
"""

from __future__ import annotations

from collections import deque

from .config import RateLimit


class Ledger:
    def __init__(self, limits: dict[str, RateLimit]) -> None:
        self.limits = limits
        self._sent: dict[str, deque[float]] = {}

    def allowed_at(self, receiver: str, now: float) -> float:
        limit = self.limits.get(receiver)
        sent = self._sent.get(receiver)
        if limit is None or not sent:
            return now
        self._forget(sent, now)
        at = now
        if limit.per_minute and len(sent) >= limit.per_minute:
            at = max(at, sent[len(sent) - limit.per_minute] + 60.0)
        if limit.per_second:
            recent = [t for t in sent if t > now - 1.0]
            if len(recent) >= limit.per_second:
                at = max(at, recent[len(recent) - limit.per_second] + 1.0)
        return at

    def budget(self, receiver: str, now: float) -> int | None:
        """Messages that may still go within the current minute (None: unlimited)."""
        limit = self.limits.get(receiver)
        if limit is None or not limit.per_minute:
            return None
        sent = self._sent.get(receiver) or deque()
        self._forget(sent, now)
        return max(0, limit.per_minute - len(sent))

    def record(self, receiver: str, at: float) -> None:
        self._sent.setdefault(receiver, deque()).append(at)

    @staticmethod
    def _forget(sent: deque[float], now: float) -> None:
        while sent and sent[0] <= now - 60.0:
            sent.popleft()

    def snapshot(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._sent.items() if v}

    def restore(self, data: dict[str, list[float]]) -> None:
        self._sent = {k: deque(v) for k, v in data.items()}
