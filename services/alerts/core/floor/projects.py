"""Projects (campaigns) and their plans: target, working window, planned cumulative curve.

Configuration, not events (design.md): the rules file's ``projects:`` section (see
``docs/rules.md``). A call belongs to a project when its ``call.queued`` names one of the
project's ``campaigns`` (default: the project's name), or names no campaign and queued on one of
its ``queues``. A wrap-up of such a call is a success when ``outcome.success`` is true, or — with
``success_codes`` — when its outcome code is listed.

Time of day is local: the project's IANA ``tz`` (e.g. ``Asia/Shanghai``) when given, else the
fixed ``utc_offset``, else the UTC offset the site's events carry. Pure; the zone database is
read-only data of the standard library (``zoneinfo`` + the ``tzdata`` package).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass

from .times import to_datetime


@dataclass(frozen=True, slots=True)
class Project:
    """A project's plan. Minutes are minutes of the local day (``480`` = 08:00)."""

    name: str
    target: float
    start_min: float = 0.0
    end_min: float = 1440.0
    tz: str | None = None
    utc_offset: int | None = None
    curve: tuple[tuple[float, float], ...] = ()  # (minute, cumulative fraction); () = linear
    success_codes: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    site: str | None = None
    title: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"project {self.name!r}: " + "; ".join(m for _, m in problems))

    def problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if not (math.isfinite(self.target) and self.target > 0):
            out.append(("target", "target must be a number > 0"))
        if not (0 <= self.start_min < self.end_min <= 1440):
            out.append(("window", "window must be start < end within one day (00:00-24:00)"))
        if self.tz is not None:
            try:
                zoneinfo.ZoneInfo(self.tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                out.append(("tz", f"unknown time zone {self.tz!r} (use an IANA name, e.g. Asia/Shanghai)"))
        fractions = [f for _, f in self.curve]
        minutes = [m for m, _ in self.curve]
        if self.curve and (
            fractions != sorted(fractions)
            or minutes != sorted(minutes)
            or fractions[-1] <= 0
            or fractions[0] < 0
        ):
            out.append(
                ("curve", "curve points must be in time order with non-decreasing fractions, ending > 0")
            )
        return out

    @property
    def matches(self) -> tuple[str, ...]:
        return self.campaigns or (self.name,)

    def zone(self, site_offset: int) -> dt.tzinfo:
        if self.tz is not None:
            return zoneinfo.ZoneInfo(self.tz)
        off = self.utc_offset if self.utc_offset is not None else site_offset
        return dt.timezone(dt.timedelta(seconds=off))

    def local(self, t: float, site_offset: int) -> tuple[int, float]:
        """(local day ordinal, minute of that day) of epoch ``t``."""
        d = dt.datetime.fromtimestamp(t, tz=self.zone(site_offset))
        return d.toordinal(), d.hour * 60 + d.minute + (d.second + d.microsecond / 1e6) / 60

    def planned_fraction(self, minute: float) -> float:
        """Planned cumulative share of the target done by ``minute`` of the day (0..1)."""
        if minute <= self.start_min:
            return 0.0
        if minute >= self.end_min:
            return 1.0
        if not self.curve:
            return (minute - self.start_min) / (self.end_min - self.start_min)
        knots = [(self.start_min, 0.0), *self.curve, (self.end_min, self.curve[-1][1])]
        last = knots[-1][1]
        i = bisect_right([m for m, _ in knots], minute)
        (m0, f0), (m1, f1) = knots[i - 1], knots[min(i, len(knots) - 1)]
        f = f0 if m1 <= m0 else f0 + (f1 - f0) * (minute - m0) / (m1 - m0)
        return max(0.0, min(1.0, f / last))

    def render_time(self, t: float, site_offset: int) -> str:
        zone = self.zone(site_offset)
        off = zone.utcoffset(to_datetime(t))
        return to_datetime(t, int(off.total_seconds()) if off else 0).isoformat(timespec="minutes")


def hourly_curve(start_min: float, weights: list[float]) -> tuple[tuple[float, float], ...]:
    """Knots of a curve from per-hour weights starting at the window start (linear within an hour)."""
    total = sum(weights) or 1.0
    out, done = [], 0.0
    for i, w in enumerate(weights):
        done += w
        out.append((start_min + 60 * (i + 1), done / total))
    return tuple(out)


def clock_minutes(text: str) -> float:
    """Minutes of the day of ``"HH:MM"`` (``"24:00"`` allowed); raises ValueError."""
    try:
        h, m = text.strip().split(":")
        minutes = int(h) * 60 + int(m)
    except ValueError:
        raise ValueError(f"bad time of day {text!r}: use HH:MM, e.g. 08:30") from None
    if not (0 <= int(m) < 60 and 0 <= minutes <= 1440):
        raise ValueError(f"bad time of day {text!r}: use HH:MM between 00:00 and 24:00")
    return float(minutes)
