"""Keep long-lived WebSocket connection state out of the garbage collector's way.

Every connection leaves a few hundred tracked objects (the server's protocol, its tasks, the
session) that live as long as the client. At 10,000 clients a full collection walks all of them
and takes 0.6-0.7 s on the project's machine, during which no alert goes out. ``gc.freeze()`` moves
every object tracked right now into the permanent generation, which collections skip: call it
once every ``step`` newly attached connections, so what is already connected stops being scanned.

What it costs, and how it stays bounded:

* A frozen object is still freed by reference counting; only *cyclic* garbage among frozen
  objects waits. A connection that ends leaves such cycles (protocol <-> transport, tasks). After
  ``step`` connections have ended since the last freeze, ``gc.unfreeze()`` hands everything back
  to the oldest generation, so the next full collection reclaims them (one long pause then, at a
  time of churn); the next ``step`` attaches freeze again. Memory held by ended connections is
  thus bounded by ``step`` connections' worth.
* Young cyclic garbage is collected (``gc.collect(1)``, cheap) just before freezing, so it is not
  frozen with the live state.

The hub calls ``attached()`` when a connection is handed its sink and ``detached()`` when it ends;
nothing here reads a clock or does I/O. ``step = 0`` turns it off.
"""

from __future__ import annotations

import gc
from collections.abc import Callable


class GcFreezer:
    __slots__ = ("_collect", "_freeze", "_unfreeze", "attached_since", "detached_since", "freezes",
                 "step", "unfreezes")

    def __init__(self, step: int, *, freeze: Callable[[], None] = gc.freeze,
                 unfreeze: Callable[[], None] = gc.unfreeze,
                 collect: Callable[[int], object] = gc.collect) -> None:
        if step < 0:
            raise ValueError(f"gc freeze step must be >= 0, got {step}")
        self.step = step
        self.attached_since = 0  # connections attached since the last freeze
        self.detached_since = 0  # connections ended since the last freeze (or unfreeze)
        self.freezes = 0
        self.unfreezes = 0
        self._freeze = freeze
        self._unfreeze = unfreeze
        self._collect = collect

    def attached(self) -> bool:
        """A connection became long-lived; True when this call froze the heap."""
        if not self.step:
            return False
        self.attached_since += 1
        if self.attached_since < self.step:
            return False
        self.attached_since = 0
        self.detached_since = 0
        self._collect(1)
        self._freeze()
        self.freezes += 1
        return True

    def detached(self) -> bool:
        """A connection ended; True when this call unfroze the heap (its garbage may be cyclic)."""
        if not self.step:
            return False
        self.detached_since += 1
        if self.detached_since < self.step:
            return False
        self.detached_since = 0
        self._unfreeze()
        self.unfreezes += 1
        return True
