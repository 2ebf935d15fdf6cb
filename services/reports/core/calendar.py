"""Business days per site: a day starts at ``day_start`` local time in the site's IANA zone.

A call center's day is rarely midnight to midnight: a floor that works 07:00-01:00 wants the
calls after midnight on the day they belong to. ``SiteCalendar(tz="Asia/Shanghai",
day_start_min=360)`` puts 05:59 local on the previous business day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from shared.events import Event


@dataclass(frozen=True, slots=True)
class SiteCalendar:
    tz: str = "UTC"
    day_start_min: int = 0  # minutes after local midnight when the business day starts
    _zone: dt.tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.day_start_min < 1440:
            raise ValueError(f"day_start_min must be within 0..1439, got {self.day_start_min}")
        if self.day_start_min % 15:
            raise ValueError(f"day_start_min must be a multiple of 15 (roll-ups are 15-minute buckets), "
                             f"got {self.day_start_min}")
        try:
            zone = zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.tz!r} (use an IANA name, e.g. Asia/Shanghai)") from None
        object.__setattr__(self, "_zone", zone)

    @property
    def zone(self) -> dt.tzinfo:
        return self._zone

    def business_day(self, ts: dt.datetime) -> dt.date:
        local = ts.astimezone(self._zone) - dt.timedelta(minutes=self.day_start_min)
        return local.date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """The UTC instant business day ``day`` starts."""
        h, m = divmod(self.day_start_min, 60)
        local = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=self._zone)
        return local.astimezone(dt.UTC)

    def bounds(self, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC of the business days ``first`` .. ``last`` inclusive."""
        return self.day_start(first), self.day_start(last + dt.timedelta(days=1))

    def local(self, ts: dt.datetime) -> dt.datetime:
        return ts.astimezone(self._zone)


def neighbour_days(events: Iterable[Event], calendar: Callable[[str], SiteCalendar],
                   lookback: dt.timedelta, lookahead: dt.timedelta) -> set[dt.date]:
    """The business days next to those of ``events`` that a rebuild of those days' neighbours
    would see them in: the day before a day whose earliest event lies within ``lookahead`` of its
    start (it may end a call or state of the day before), the day after a day whose latest one
    lies within ``lookback`` of the next day's start (it may begin what the next day's events
    end), and the day a ``wait_s`` puts a call's offer on (at most a day back). Only the earliest
    and the latest event of each site's day are compared with its bounds."""
    spans: dict[tuple[str, dt.date], list[dt.datetime]] = {}
    out: set[dt.date] = set()
    for ev in events:
        cal = calendar(ev.site)
        day = cal.business_day(ev.ts)
        span = spans.get((ev.site, day))
        if span is None:
            spans[(ev.site, day)] = [ev.ts, ev.ts]
        elif ev.ts < span[0]:
            span[0] = ev.ts
        elif ev.ts > span[1]:
            span[1] = ev.ts
        wait = getattr(ev, "wait_s", None)
        if wait:
            out.add(cal.business_day(ev.ts - dt.timedelta(seconds=min(wait, 86_400.0))))
    one = dt.timedelta(days=1)
    for (site, day), (first, last) in spans.items():
        cal = calendar(site)
        if first < cal.day_start(day) + lookahead:
            out.add(day - one)
        if last >= cal.day_start(day + one) - lookback:
            out.add(day + one)
    return out
