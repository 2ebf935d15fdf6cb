"""A sliding window of per-minute counter vectors, keyed by event time.

The window at time ``now`` is the ``minutes`` wall-minute buckets ending with the one holding
``now`` (the current, partial minute included), so it spans between ``minutes - 1`` and
``minutes`` whole minutes. Buckets later than ``now`` (events slightly ahead of the reader) count.

Call order: :meth:`Window.add` as facts arrive (any order), :meth:`Window.expire` when the owner's
event-time clock passes a minute boundary, :meth:`Window.at` to read (pure, any time). A value
added to a bucket that has already been expired is dropped and ``add`` returns ``False``: it is
older than the window and would not count anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import add

import msgspec

from .times import minute_of

_FAR = 2**62


class Window(msgspec.Struct):
    """Per-minute buckets of ``width`` float counters plus their running total."""

    minutes: int
    width: int
    buckets: dict[int, list[float]] = msgspec.field(default_factory=dict)
    total: list[float] = msgspec.field(default_factory=list)
    horizon: int = -_FAR  # buckets with key <= horizon have been expired and never reopen
    oldest: int = _FAR

    def __post_init__(self) -> None:
        if not self.total:
            self.total = [0.0] * self.width

    def add(self, t: float, idx: int, amount: float) -> bool:
        """Add ``amount`` to counter ``idx`` in the bucket of event time ``t``."""
        return self.add_many(t, ((idx, amount),))

    def add_many(self, t: float, amounts: Iterable[tuple[int, float]]) -> bool:
        """Add each ``(idx, amount)`` in the bucket of event time ``t`` (one bucket lookup)."""
        bucket = self.row(minute_of(t))
        if bucket is None:
            return False
        total = self.total
        for idx, amount in amounts:
            bucket[idx] += amount
            total[idx] += amount
        return True

    def row(self, m: int) -> list[float] | None:
        """The bucket of minute ``m`` to add to (created empty), or None when it was expired.
        Whoever adds to it adds the same amounts to ``total``."""
        if m <= self.horizon:
            return None
        bucket = self.buckets.get(m)
        if bucket is None:
            bucket = self.buckets[m] = [0.0] * self.width
            if m < self.oldest:
                self.oldest = m
        return bucket

    def expire(self, now: float) -> None:
        """Drop buckets that left the window at ``now``; the total is re-summed (no float drift)."""
        lo = minute_of(now) - self.minutes
        if lo <= self.horizon:
            return
        self.horizon = lo
        if self.oldest > lo:
            return
        for key in [k for k in self.buckets if k <= lo]:
            del self.buckets[key]
        self.oldest = min(self.buckets, default=_FAR)
        self.total = column_sums(self.buckets.values(), self.width)

    def at(self, now: float) -> Sequence[float]:
        """Counter totals of the window ending at ``now``; read-only view, do not mutate."""
        lo = minute_of(now) - self.minutes
        if self.oldest > lo:
            return self.total
        return column_sums((b for k, b in self.buckets.items() if k > lo), self.width)

    def start(self, now: float) -> float:
        """Epoch second where the window ending at ``now`` begins."""
        return float((minute_of(now) - self.minutes + 1) * 60)


def column_sums(rows: Iterable[Sequence[float]], width: int) -> list[float]:
    # column by column, each summed left to right from 0.0 (the same floats as a running sum over
    # the rows; reduce, not sum(): from Python 3.12 sum() compensates and rounds differently)
    out = [reduce(add, column, 0.0) for column in zip(*rows, strict=False)]
    return out + [0.0] * (width - len(out))  # no rows: all zeros (every row has ``width`` counters)
