"""The intraday arrival profile: a piecewise-linear level over the open day.

``level`` is relative (1.0 = the configured ``calls_per_hour``); the floor is closed (level 0)
from ``open_min`` until the next opening. Pure.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right

Profile = tuple[tuple[float, float], ...]


def level(profile: Profile, minute: float, open_min: float) -> float:
    """Arrival level at ``minute`` since this day's opening."""
    if minute < 0 or minute >= open_min:
        return 0.0
    minutes = [m for m, _ in profile]
    i = bisect_right(minutes, minute)
    if i >= len(profile):
        return profile[-1][1]
    (m0, v0), (m1, v1) = profile[i - 1], profile[i]
    return v0 + (v1 - v0) * (minute - m0) / (m1 - m0)


def peak(profile: Profile) -> float:
    return max(v for _, v in profile)


def integral(profile: Profile, open_min: float, until: float | None = None) -> float:
    """∫ level d(minute) from opening to ``until`` (default: closing), in level-minutes."""
    end = open_min if until is None else min(until, open_min)
    points = sorted({0.0, end} | {m for m, _ in profile if 0 < m < end})
    total = 0.0
    for a, b in itertools.pairwise(points):
        # linear between knots, so the trapezoid rule is exact
        total += (level(profile, a, open_min) + _left_limit(profile, b, open_min)) / 2 * (b - a)
    return total


def _left_limit(profile: Profile, minute: float, open_min: float) -> float:
    # level() is 0 at open_min itself; the integral wants the value just before it
    return level(profile, min(minute, open_min - 1e-9), open_min)
