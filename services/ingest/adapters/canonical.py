"""The canonical adapter: records already in Floorwatch's own event format pass straight through."""

from __future__ import annotations

from shared.events import MAX_EVENT_BYTES, Event, decode_event


class CanonicalAdapter:
    """One canonical JSON event per record, validated by :func:`decode_event`.

    ``site`` and ``source`` are accepted for a uniform constructor but not imposed: a canonical
    event names its own site and source.
    """

    name = "canonical"

    def __init__(self, *, site: str = "-", source: str = "-", max_bytes: int = MAX_EVENT_BYTES) -> None:
        self.site = site
        self.source = source
        self.max_bytes = max_bytes
        self.ignored: dict[str, int] = {}

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        return [decode_event(value, max_bytes=self.max_bytes)]
