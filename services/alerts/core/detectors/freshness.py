"""``freshness``: an event source gone silent, or running behind the rest of the site.

Per source (the events' ``source`` field) of a site. Two conditions, either raises the alert:

* **silent**: no event from the source for ``silent`` seconds of event time while the site is
  open (some agent logged in, unless ``require_open: false``). In a live run ``advance(now)`` is
  driven by a clock that follows event time (newest event + wall time elapsed), so a silent feed
  shows up on the engine's grid (a wake-up at ``last + silent``); in a replay, when the next
  event of another source moves the site's clock past that instant.
* **late** (``max_lag``): the source's latest event was already ``max_lag`` seconds older than
  the newest event of the site when it arrived (a lagging adapter or replica).

The alert resolves when the source is heard from again with a fresh event.

Bounds (module constants, per site and rule): a source silent for :data:`FORGET_AFTER_S`
(7 days) of event time is forgotten — its alert, if any, resolves then as any other (``for`` /
``keep_firing_for`` as usual), and a later event makes it a new source; at most
:data:`MAX_SOURCES` (100) sources are watched — an event of a further new source is not tracked
(no alert, ever, while the site has that many) and counted in the track's ``untracked``, which
the engine's snapshot persists. So a flood of made-up source names costs bounded memory and
raises at most :data:`MAX_SOURCES` alerts, each resolved within :data:`FORGET_AFTER_S`.

YAML::

    - name: feed-silent
      kind: freshness
      silent: 5m
      max_lag: 2m        # optional
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msgspec

from shared.events import Event

from ..floor.state import HandledCall
from ..floor.touches import F_SOURCE, Touches, touch
from .base import NOTHING, Assessment, Ctx, Detector, DetectorTrack, Explanation, message, positive
from .options import Duration

CLOSED_RECHECK_S = 60.0  # while the site is closed, look again every minute
FORGET_AFTER_S = 7 * 86400.0  # a source silent this long is forgotten (its alert resolves)
MAX_SOURCES = 100  # sources watched per site and rule; events of further new sources are counted only


class SourceTrack(DetectorTrack, tag="sources"):
    last: dict[str, float] = msgspec.field(default_factory=dict)  # newest event time per source
    lag: dict[str, float] = msgspec.field(default_factory=dict)  # site newest - that event, on arrival
    untracked: int = 0  # events of new sources refused past MAX_SOURCES (0 in older snapshots)


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessRule(Detector):
    kind: ClassVar[str] = "freshness"
    about: ClassVar[str] = "event source silent or behind"
    track: ClassVar[type[DetectorTrack] | None] = SourceTrack
    scope_kinds: ClassVar[tuple[str, ...]] = ("source",)
    family: ClassVar[int] = F_SOURCE
    wakes: ClassVar[bool] = True
    observes: ClassVar[bool] = True

    silent: Duration = 300.0
    max_lag: Duration | None = None
    require_open: bool = True

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        positive(out, "silent", self.silent)
        if self.max_lag is not None:
            positive(out, "max_lag", self.max_lag)
        return out

    def _track(self, ctx: Ctx) -> SourceTrack:
        track = ctx.tracks[self.name]
        assert isinstance(track, SourceTrack)
        return track

    def observe(self, ctx: Ctx, ev: Event, t: float, handled: list[HandledCall], touches: Touches) -> None:
        track = self._track(ctx)
        prev = track.last.get(ev.source)
        if prev is None and len(track.last) >= MAX_SOURCES:
            track.untracked += 1  # past the cap: not watched (module docstring, *Bounds*)
            return
        prev_lag = track.lag.get(ev.source, 0.0)
        lag = max(0.0, ctx.floor.latest - t)
        if prev is None or t > prev:
            track.last[ev.source] = t
            track.lag[ev.source] = lag
        # the alert can only be active if the source was silent long enough, or was late: evaluate
        # then (and for a new source, to arm its wake-up); otherwise nothing can have changed
        late = self.max_lag is not None and max(lag, prev_lag) > self.max_lag
        if prev is None or t - prev >= self.silent or late:
            touch(touches, "source", ev.source, F_SOURCE)

    def names(self, ctx: Ctx) -> list[str]:
        return list(self._track(ctx).last)

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        track = self._track(ctx)
        last = track.last.get(name)
        if last is None:
            return NOTHING
        if now - last >= FORGET_AFTER_S:  # silent past the retention: forgotten, its alert resolves
            del track.last[name]
            track.lag.pop(name, None)
            return NOTHING
        if self.require_open and ctx.floor.total.logged_in == 0:
            return Assessment(False, None, self.silent)
        silence = max(0.0, now - last)
        if silence >= self.silent:
            return Assessment(True, silence, self.silent)
        lag = track.lag.get(name, 0.0)
        if self.max_lag is not None and lag > self.max_lag:
            return Assessment(True, lag, self.max_lag)
        return Assessment(False, silence, self.silent)

    def wake(self, ctx: Ctx, name: str, now: float) -> float | None:
        last = self._track(ctx).last.get(name)
        if last is None:
            return None
        if self.require_open and ctx.floor.total.logged_in == 0:
            return now + CLOSED_RECHECK_S
        due = last + self.silent
        if due > now:
            return due
        return last + FORGET_AFTER_S  # silent: look again when it is to be forgotten

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        track = self._track(ctx)
        last = track.last.get(name, now)
        silence = max(0.0, now - last)
        details = {"silent_s": round(silence, 3), "lag_s": track.lag.get(name, 0.0), "limit_s": a.threshold}
        if state == "resolved" and name not in track.last:  # forgotten (assess): silent too long
            days = FORGET_AFTER_S / 86400
            return Explanation(
                f"source {name}: cleared, silent over {days:.0f} days, no longer watched",
                {"silent_s": FORGET_AFTER_S, "lag_s": 0.0, "limit_s": FORGET_AFTER_S, "forgotten": True},
                message("alert.cleared", scope_name=name, cleared_by="no_data"),
            )
        if state == "resolved":
            return Explanation(
                f"source {name}: cleared, events flowing again",
                details,
                message("alert.source.resolved", source=name),
            )
        if a.threshold == self.silent and silence >= self.silent:
            return Explanation(
                f"source {name}: no events for {silence:.0f} s (> {self.silent:.0f} s)",
                details,
                message("alert.source.silent", source=name, silent=silence, limit=self.silent),
            )
        lag = track.lag.get(name, 0.0)
        return Explanation(
            f"source {name}: events {lag:.0f} s behind the site (> {a.threshold or 0:.0f} s)",
            details,
            message("alert.source.lag", source=name, lag=lag, limit=a.threshold or 0),
        )
