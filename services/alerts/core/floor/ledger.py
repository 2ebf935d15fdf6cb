"""Day and interval figures: counters per business day and report interval, per queue and site.

Where the sliding window (``window.py``) answers "the last 30 minutes", the ledger answers "today"
and "09:00–09:30": the figures a report signs. Every fact of a call counts in the business day and
interval in which the call was *offered* (entered the queue; a call that never queued: where it
was answered), whenever the fact arrives — a late fact is never dropped here. Which day and
interval a time falls in follows the site's :class:`~.definitions.Definitions` (``time_zone``,
``day_start_s``, ``interval_s``).

Rows are keyed by queue name, ``""`` being the site total (every fact of every queue, plus handled
calls whose queue is unknown). The live floor keeps ``FloorConfig.ledger_days`` days; ``floorwatch
stats`` keeps them all. :func:`figures` turns a row into the published figures.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

import msgspec

from .definitions import DAY_S, Definitions

# ledger counters
(
    L_OFFERED,
    L_ANSWERED,
    L_ABANDONED,
    L_SHORT,
    L_WITHIN,
    L_WAIT,
    L_HANDLED,
    L_HANDLE,
    L_TALK,
    L_HOLD,
    L_WRAP,
    L_UNQUEUED,
    L_NO_TIMES,
    L_EXITED,
) = range(14)
L_WIDTH: Final = 14
SITE_ROW: Final = ""

_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_ZONE_STEP: Final = 900  # offsets of an IANA zone are re-read at least every 15 minutes (DST)
# (zone, offset, day start, interval) -> (lo, hi, day, interval start): the last slot looked up
_SLOTS: dict[tuple[str | None, int, int, int], tuple[float, float, str, float]] = {}


def _zone_offset(zone: str, t: float) -> int:
    off = dt.datetime.fromtimestamp(t, zoneinfo.ZoneInfo(zone)).utcoffset()
    return 0 if off is None else int(off.total_seconds())


def slot(t: float, d: Definitions, event_offset: int) -> tuple[str, float]:
    """(business day ``YYYY-MM-DD``, interval start as epoch seconds) of event time ``t``.

    ``event_offset`` (seconds east of UTC) is used when ``d.time_zone`` is None."""
    zone = d.time_zone
    key = (zone, event_offset if zone is None else 0, d.day_start_s, d.interval_s)
    hit = _SLOTS.get(key)
    if hit is not None and hit[0] <= t < hit[1]:
        return hit[2], hit[3]
    off = event_offset if zone is None else _zone_offset(zone, t)
    local = t + off
    day_n = int((local - d.day_start_s) // DAY_S)
    day = dt.date.fromordinal(_EPOCH_ORDINAL + day_n).isoformat()
    start = local - local % d.interval_s - off
    day_lo = day_n * DAY_S + d.day_start_s - off
    lo, hi = max(start, day_lo), min(start + d.interval_s, day_lo + DAY_S)
    if zone is not None:
        hi = min(hi, (t // _ZONE_STEP + 1) * _ZONE_STEP)
    if len(_SLOTS) > 1024:
        _SLOTS.clear()
    _SLOTS[key] = (lo, hi, day, start)
    return day, start


class Ledger(msgspec.Struct):
    """Per business day and per interval start: row key (queue, ``""`` = site) -> counters."""

    days: dict[str, dict[str, list[float]]] = msgspec.field(default_factory=dict)
    intervals: dict[int, dict[str, list[float]]] = msgspec.field(default_factory=dict)

    def add(self, day: str, start: float, queue: str | None, amounts: Iterable[tuple[int, float]]) -> None:
        """Add ``(counter, amount)`` pairs to the rows of ``queue`` (if any) and of the site."""
        rows = [_row(self.days, day, SITE_ROW), _row(self.intervals, int(start), SITE_ROW)]
        if queue is not None:
            rows += (_row(self.days, day, queue), _row(self.intervals, int(start), queue))
        for idx, amount in amounts:
            for row in rows:
                row[idx] += amount

    def prune(self, oldest_day: str) -> None:
        """Forget the days before ``oldest_day`` and the intervals that started a day before it."""
        for day in [k for k in self.days if k < oldest_day]:
            del self.days[day]
        floor_t = (dt.date.fromisoformat(oldest_day).toordinal() - _EPOCH_ORDINAL - 1) * DAY_S
        for start in [k for k in self.intervals if k < floor_t]:
            del self.intervals[start]


_K = TypeVar("_K", str, int)


def _row(table: dict[_K, dict[str, list[float]]], key: _K, queue: str) -> list[float]:
    rows = table.get(key)
    if rows is None:
        rows = table[key] = {}
    row = rows.get(queue)
    if row is None:
        row = rows[queue] = [0.0] * L_WIDTH
    return row


def _mean(total: float, n: float, digits: int = 1) -> float | None:
    return round(total / n, digits) if n > 0 else None


def figures(v: Sequence[float], d: Definitions) -> dict[str, Any]:
    """The published figures of one ledger row under definitions ``d``."""
    offered, answered, abandoned, short = v[L_OFFERED], v[L_ANSWERED], v[L_ABANDONED], v[L_SHORT]
    sl = d.service_level(v[L_WITHIN], offered, answered, abandoned, short)
    denom = answered + abandoned - short
    handled = v[L_HANDLED]
    return {
        "offered": int(offered),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "short_abandoned": int(short),
        "answered_in_sl": int(v[L_WITHIN]),
        "service_level": None if sl is None else round(sl, 4),
        "abandon_rate": round((abandoned - short) / denom, 4) if denom > 0 else None,
        "asa_s": _mean(v[L_WAIT], answered),
        "handled": int(handled),
        "talk_s": _mean(v[L_TALK], handled),
        "hold_s": _mean(v[L_HOLD], handled),
        "wrap_s": _mean(v[L_WRAP], handled),
        "aht_s": _mean(v[L_HANDLE], handled),
        "handled_without_times": int(v[L_NO_TIMES]),
        "unqueued": int(v[L_UNQUEUED]),
        "exited": int(v[L_EXITED]),
    }


def rows(
    site: str,
    ledger: Ledger,
    defs: Callable[[str | None], Definitions],
    event_offset: int,
    by: str = "day",
) -> list[dict[str, Any]]:
    """The ledger of ``site`` as report rows: per day (``by="day"``) or interval (``"interval"``),
    the site-total row (``queue`` None) first, then each queue by name. ``defs(queue)`` gives the
    definitions of a queue (``None``: the site's); ``event_offset`` renders times when the site's
    definitions name no zone."""
    out: list[dict[str, Any]] = []
    if by == "day":
        keyed: list[tuple[str, dict[str, Any], dict[str, list[float]]]] = [
            (day, {"day": day}, ledger.days[day]) for day in sorted(ledger.days)
        ]
    elif by == "interval":
        site_defs = defs(None)
        keyed = []
        for start in sorted(ledger.intervals):
            zone = site_defs.time_zone
            off = event_offset if zone is None else _zone_offset(zone, float(start))
            day, _ = slot(float(start), site_defs, off)
            local = dt.datetime.fromtimestamp(start, dt.timezone(dt.timedelta(seconds=off)))
            keyed.append(
                (str(start), {"day": day, "interval_start": local.isoformat()}, ledger.intervals[start])
            )
    else:
        raise ValueError(f"by must be 'day' or 'interval', got {by!r}")
    for _, where, table in keyed:
        for queue in sorted(table, key=lambda q: (q != SITE_ROW, q)):
            name = None if queue == SITE_ROW else queue
            d = defs(name)
            out.append(
                {"site": site, "queue": name, **where, **figures(table[queue], d), "definitions": d.as_dict()}
            )
    return out
