"""Event-time helpers: the core keeps time as float epoch seconds and renders RFC 3339 at the edge.

Floats are cheap to compare and store; an aware ``datetime`` is only built when a record leaves the
core (floor snapshot, alert transition). The UTC offset used for rendering is the one the site's
events carry, so a Beijing floor reads ``+08:00`` on its wallboard.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

_ZONES: dict[int, dt.tzinfo] = {0: dt.UTC}
_OFFSETS: dict[dt.timezone, int] = {}
MINUTE: Final = 60


def epoch(ts: dt.datetime) -> float:
    """Seconds since the Unix epoch of an aware datetime."""
    return ts.timestamp()


def offset_s(ts: dt.datetime) -> int:
    """UTC offset of ``ts`` in whole seconds (0 when it has none)."""
    zone = ts.tzinfo
    if type(zone) is dt.timezone:  # fixed offset (what decoding RFC 3339 gives): cached, once per event
        off_s = _OFFSETS.get(zone)
        if off_s is None:
            off_s = _OFFSETS[zone] = _offset_s(ts)
        return off_s
    return _offset_s(ts)


def _offset_s(ts: dt.datetime) -> int:
    off = ts.utcoffset()
    return 0 if off is None else int(off.total_seconds())


def to_datetime(t: float, off: int = 0) -> dt.datetime:
    """The aware datetime of epoch seconds ``t``, expressed at UTC offset ``off`` seconds."""
    zone = _ZONES.get(off)
    if zone is None:
        zone = _ZONES.setdefault(off, dt.timezone(dt.timedelta(seconds=off)))
    return dt.datetime.fromtimestamp(t, tz=zone)


def rfc3339(t: float, off: int = 0) -> str:
    """RFC 3339 text with milliseconds, e.g. ``2026-11-28T09:15:02.123+08:00``."""
    return to_datetime(t, off).isoformat(timespec="milliseconds")


def minute_of(t: float) -> int:
    """Index of the wall-minute bucket holding epoch second ``t``."""
    return int(t // MINUTE)
