"""Recurring quiet times, as Alertmanager's ``time_intervals`` define them.

Shared by the notifier (mute / active time intervals of its routes, validated with lines by its
loader) and the API (the wallboard's sound is muted by the same quiet times).

A named interval is a list of :class:`Period`; it is active when any period is. A period restricts
by ``times`` (``HH:MM``–``HH:MM``, end exclusive, in minutes of the day), ``weekdays``,
``days_of_month`` (negative counts from the month's end) and ``months``; an omitted field does not
restrict. Times are read in the period's ``location`` (an IANA zone, default UTC) — a site's
lunch break is the site's.

Pure: the caller passes the instant (epoch seconds).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS: Final = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                 "october", "november", "december")
_SEARCH_LIMIT_S: Final = 8 * 86400  # any recurring quiet time ends within a week (plus DST slack)


@dataclass(frozen=True)
class Period:
    times: tuple[tuple[int, int], ...] = ()  # (start minute, end minute) of the day, end exclusive
    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    days_of_month: tuple[tuple[int, int], ...] = ()
    months: frozenset[int] = frozenset()  # 1..12
    location: str = "UTC"

    def contains(self, at: float) -> bool:
        local = dt.datetime.fromtimestamp(at, ZoneInfo(self.location))
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.months and local.month not in self.months:
            return False
        if self.days_of_month and not self._day_ok(local):
            return False
        if self.times:
            minute = local.hour * 60 + local.minute
            return any(start <= minute < end for start, end in self.times)
        return True

    def _day_ok(self, local: dt.datetime) -> bool:
        last = calendar.monthrange(local.year, local.month)[1]
        for lo, hi in self.days_of_month:
            lo_d = lo if lo > 0 else last + 1 + lo
            hi_d = hi if hi > 0 else last + 1 + hi
            if lo_d <= local.day <= hi_d:
                return True
        return False


@dataclass(frozen=True)
class TimeInterval:
    name: str
    periods: tuple[Period, ...]

    def active(self, at: float) -> bool:
        return any(p.contains(at) for p in self.periods)


def any_active(intervals: tuple[TimeInterval, ...], at: float) -> bool:
    return any(i.active(at) for i in intervals)


def next_change(intervals: tuple[TimeInterval, ...], at: float) -> float | None:
    """The first minute boundary after ``at`` where ``any_active`` differs from its value at
    ``at``, or None when it does not change within eight days (e.g. an always-on interval)."""
    now = any_active(intervals, at)
    t = (int(at) // 60 + 1) * 60
    end = at + _SEARCH_LIMIT_S
    while t <= end:
        if any_active(intervals, t) != now:
            return float(t)
        t += 60
    return None


def parse_time(text: str) -> int:
    """Minutes of the day from ``HH:MM`` (``24:00`` allowed as an end)."""
    hh, sep, mm = text.partition(":")
    if not sep or not (hh.isdigit() and mm.isdigit()) or len(mm) != 2:
        raise ValueError(f"bad time {text!r}: use HH:MM")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or minutes > 24 * 60:
        raise ValueError(f"bad time {text!r}: use HH:MM between 00:00 and 24:00")
    return minutes


def parse_range(text: str, names: tuple[str, ...] | None, lo: int, hi: int) -> tuple[int, int]:
    """``"monday:friday"``, ``"saturday"``, ``"1:5"``, ``"-1"`` → inclusive bounds (names → index)."""
    def one(part: str) -> int:
        part = part.strip().lower()
        if names is not None and part in names:
            return names.index(part) + (1 if names is MONTHS else 0)
        try:
            value = int(part)
        except ValueError:
            known = f"; known: {', '.join(names)}" if names else ""
            raise ValueError(f"bad value {part!r}{known}") from None
        if not (lo <= value <= hi) or value == 0:
            raise ValueError(f"{value} is out of range {lo}..{hi}")
        return value

    first, sep, last = text.partition(":")
    a = one(first)
    b = one(last) if sep else a
    if (a > 0) == (b > 0) and a > b:
        raise ValueError(f"range {text!r} runs backwards")
    return a, b


def muting(doc: dict[str, object], names: list[str] | tuple[str, ...]) -> tuple[TimeInterval, ...]:
    """The named intervals of a notifications document's ``time_intervals`` (already validated
    by the notifier's loader; raises ``ValueError`` on what it cannot read)."""
    wanted = set(names)
    out = []
    for item in doc.get("time_intervals") or []:  # type: ignore[attr-defined]
        if not isinstance(item, dict) or item.get("name") not in wanted:
            continue
        periods = tuple(_period(p) for p in item.get("time_intervals") or [])
        out.append(TimeInterval(str(item["name"]), periods))
    missing = wanted - {i.name for i in out}
    if missing:
        raise ValueError(f"unknown time interval(s): {', '.join(sorted(missing))}")
    return tuple(out)


def _period(p: dict[str, object]) -> Period:
    def spans(key: str, names: tuple[str, ...] | None, lo: int, hi: int) -> list[tuple[int, int]]:
        values = p.get(key) or []
        items = [values] if isinstance(values, str) else list(values)  # type: ignore[call-overload]
        return [parse_range(str(v), names, lo, hi) for v in items]

    times = tuple((parse_time(str(t["start_time"])), parse_time(str(t["end_time"])))
                  for t in p.get("times") or [])  # type: ignore[attr-defined]
    return Period(
        times=times,
        weekdays=frozenset(v for a, b in spans("weekdays", WEEKDAYS, 1, 0) for v in range(a, b + 1)),
        days_of_month=tuple(spans("days_of_month", None, -31, 31)),
        months=frozenset(v for a, b in spans("months", MONTHS, 1, 12) for v in range(a, b + 1)),
        location=str(p.get("location") or "UTC"),
    )
