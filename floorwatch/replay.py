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

from services.alerts.core.floor.order import reordered
from services.ingest.adapters import get_adapter
from services.ingest.adapters.files import Record
from services.ingest.vendor_files import iter_records
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
    path: Path, fmt: str, *, raw: bool, bound_s: float | None = None, site: str = "replay",
    source: str = "replay",
) -> Iterator[Record]:
    """The records to publish: in event-time order, or in file order when ``raw``; with ``bound_s``,
    streamed through a reorder buffer of that many seconds instead of sorted whole (records whose
    events are later than the bound go out as they come)."""
    if raw:
        yield from iter_records(path, fmt)
    elif bound_s is None:
        yield from ordered_records(path, fmt, site=site, source=source)
    else:
        yield from (rec for _, _, rec in reordered(_timed(path, fmt, site, source), bound_s,
                                                   key=lambda x: (x[0], 0, "", str(x[1]))))


def _timed(path: Path, fmt: str, site: str, source: str) -> Iterator[tuple[float, int, Record]]:
    """Each record with the earliest time of its events (a record without events keeps the time of
    the one before it) and its place in the file."""
    adapter = get_adapter(fmt, site=site, source=source)
    last = float("-inf")
    for i, rec in enumerate(iter_records(path, fmt)):
        try:
            events = adapter.decode(rec[1], rec[0])
        except InvalidEvent:
            events = []
        if events:
            last = min(ev.ts.timestamp() for ev in events)
        yield (last, i, rec)
