"""Bounded "seen recently" memories with O(1) operations and a plain, encodable shape.

Two generations: new keys go to ``young``; when it holds ``capacity // 2`` keys it becomes
``old`` and the previous ``old`` is forgotten. So at least the last ``capacity // 2`` and at most
the last ``capacity`` keys are remembered — enough for dedup of re-deliveries, which arrive close
to the original.
"""

from __future__ import annotations

import msgspec


class RecentKeys(msgspec.Struct):
    """Set of recently seen keys (e.g. ``source\\x00id`` for event dedup)."""

    capacity: int
    # dicts used as insertion-ordered sets, so a snapshot's bytes do not depend on hash order
    young: dict[str, None] = msgspec.field(default_factory=dict)
    old: dict[str, None] = msgspec.field(default_factory=dict)

    def add(self, key: str) -> bool:
        """Remember ``key``; ``False`` if it was already remembered (a duplicate)."""
        if key in self.young or key in self.old:
            return False
        self.young[key] = None
        if len(self.young) >= max(1, self.capacity // 2):
            self.old, self.young = self.young, {}
        return True

    def __len__(self) -> int:
        return len(self.young) + len(self.old)


class RecentMap(msgspec.Struct):
    """Map of recently seen keys to ``(name, time)`` facts, e.g. where and when a call was resolved."""

    capacity: int
    young: dict[str, tuple[str, float]] = msgspec.field(default_factory=dict)
    old: dict[str, tuple[str, float]] = msgspec.field(default_factory=dict)

    def get(self, key: str) -> tuple[str, float] | None:
        hit = self.young.get(key)
        return hit if hit is not None else self.old.get(key)

    def put(self, key: str, value: tuple[str, float]) -> None:
        self.young[key] = value
        if len(self.young) >= max(1, self.capacity // 2):
            self.old, self.young = self.young, {}
