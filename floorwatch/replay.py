"""``floorwatch replay``: a recorded file onto Kafka, in event-time order.

A file is ordered however its exporter wrote it (the Anonymous Bank files by VRU line, then time:
a month runs 60 times). Published in that order, a live floor sees most facts long after their
time. So each record is read first with the format's adapter — only to learn when its events
happen — and the records are published, unchanged, sorted by their earliest event time (a
stable sort: equal times and records that map to no event keep their place next to the record
before them). ``--raw`` publishes in file order, as before.

The whole file is held in memory to sort it (about 3× its size); a progress bar runs on stderr
when it is a terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from services.ingest.adapters import get_adapter
from services.ingest.adapters.files import Record, iter_records
from shared.events import InvalidEvent


def ordered_records(path: Path, fmt: str, *, site: str = "replay", source: str = "replay") -> list[Record]:
    """The records of ``path`` sorted by the earliest event time each maps to (stable)."""
    adapter = get_adapter(fmt, site=site, source=source)
    keyed: list[tuple[float, int, Record]] = []
    last = float("-inf")
    for i, rec in enumerate(iter_records(path, fmt)):
        try:
            events = adapter.decode(rec[1], rec[0])
        except InvalidEvent:
            events = []  # published anyway: ingest rejects it with its reason, onto the DLQ
        if events:
            last = min(ev.ts.timestamp() for ev in events)
        keyed.append((last, i, rec))
    keyed.sort(key=lambda x: (x[0], x[1]))
    return [rec for _, _, rec in keyed]


def records(
    path: Path, fmt: str, *, raw: bool, site: str = "replay", source: str = "replay"
) -> Iterator[Record]:
    """The records to publish: in event-time order, or in file order when ``raw``."""
    if raw:
        yield from iter_records(path, fmt)
    else:
        yield from ordered_records(path, fmt, site=site, source=source)
