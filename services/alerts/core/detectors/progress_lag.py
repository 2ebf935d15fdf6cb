"""``progress_lag``: a project completes slower than its plan (the founding report's first warning).

Per project (scope ``campaign``) of the rules file's ``projects:`` section. Successes are counted
per local day (see ``floor/projects.py`` for what belongs to a project and what is a success; a wrap-up
is counted once per call and agent). At every minute boundary inside the project's working
window, once ``min_elapsed`` of it has passed, actual successes are compared with the plan *now*
(``target × planned cumulative fraction``). Behind means short of the plan by at least the
``behind`` ratio **and** by at least ``behind_abs`` successes **and** by ``z`` × sqrt(planned)
(successes arrive roughly as a Poisson process: early in the day a shortfall of a few is
chance); a firing alert resolves when the shortfall is under half of any of them. The alert
resolves at the end of the window (the day's plan is over; tomorrow starts from zero).

``value`` = successes so far today, ``threshold`` = planned by now. Details carry the run-rate,
the projected total and finish at that rate, and the successes per hour needed to meet the
target by the end of the window (``extra_per_h`` more than now).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from shared.events import CallQueued, CallWrapped, Event

from ..floor.project_view import pace, project_progress
from ..floor.projects import Project
from ..floor.recent import RecentKeys, RecentMap
from ..floor.state import HandledCall
from ..floor.touches import F_PROGRESS, Touches, touch
from .base import NOTHING, Assessment, Ctx, Detector, DetectorTrack, Explanation, message, pct, positive
from .options import Duration

CALL_MEMORY = 100_000


class ProgressTrack(DetectorTrack, tag="progress"):
    of_call: RecentMap = msgspec.field(
        default_factory=lambda: RecentMap(CALL_MEMORY)
    )  # call -> (campaign, t)
    counted: RecentKeys = msgspec.field(default_factory=lambda: RecentKeys(CALL_MEMORY))
    day: dict[str, int] = msgspec.field(default_factory=dict)  # project -> local day of the counts
    done: dict[str, float] = msgspec.field(default_factory=dict)  # successes that day
    tried: dict[str, float] = msgspec.field(default_factory=dict)  # wrap-ups with an outcome that day


def _projects_for(ctx: Ctx) -> list[Project]:
    site = ctx.floor.site
    return [p for p in ctx.projects.values() if p.site is None or p.site == site]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressLagRule(Detector):
    kind: ClassVar[str] = "progress_lag"
    about: ClassVar[str] = "project behind its plan"
    track: ClassVar[type[DetectorTrack] | None] = ProgressTrack
    scope_kinds: ClassVar[tuple[str, ...]] = ("campaign",)
    family: ClassVar[int] = F_PROGRESS
    per_minute: ClassVar[bool] = True
    observes: ClassVar[bool] = True

    behind: float = 0.15
    behind_abs: float = 5.0
    min_elapsed: Duration = 3600.0
    z: float = 2.0

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        positive(out, "behind", self.behind, zero=True)
        positive(out, "behind_abs", self.behind_abs, zero=True)
        positive(out, "min_elapsed", self.min_elapsed, zero=True)
        positive(out, "z", self.z, zero=True)
        if self.behind >= 1:
            out.append(("behind", "behind is a fraction of the plan, below 1"))
        return out

    def _track(self, ctx: Ctx) -> ProgressTrack:
        track = ctx.tracks[self.name]
        assert isinstance(track, ProgressTrack)
        return track

    def observe(self, ctx: Ctx, ev: Event, t: float, handled: list[HandledCall], touches: Touches) -> None:
        if isinstance(ev, CallQueued):
            self._track(ctx).of_call.put(ev.call, (ev.campaign or "\x00" + ev.queue, t))
        elif isinstance(ev, CallWrapped) and ev.outcome is not None:
            track = self._track(ctx)
            link = track.of_call.get(ev.call)
            if link is None or not track.counted.add(f"{ev.call}\x00{ev.agent}"):
                return
            for p in _projects_for(ctx):
                mine = link[0] in p.matches if link[0][:1] != "\x00" else link[0][1:] in p.queues
                if mine:
                    self._count(ctx, track, p, ev, t, touches)

    def _count(
        self, ctx: Ctx, track: ProgressTrack, p: Project, ev: CallWrapped, t: float, touches: Touches
    ) -> None:
        assert ev.outcome is not None
        ok = ev.outcome.code in p.success_codes if p.success_codes else ev.outcome.success is True
        if not p.success_codes and ev.outcome.success is None:
            return  # no verdict (e.g. a transfer): neither success nor attempt
        day, _ = p.local(t, ctx.floor.tz)
        if track.day.get(p.name) != day:
            track.day[p.name], track.done[p.name], track.tried[p.name] = day, 0.0, 0.0
        track.tried[p.name] += 1.0
        if ok:
            track.done[p.name] += 1.0
            touch(touches, "campaign", p.name, F_PROGRESS)

    def names(self, ctx: Ctx) -> list[str]:
        return [p.name for p in _projects_for(ctx)]

    def _today(self, ctx: Ctx, p: Project, now: float) -> tuple[float, float, float]:
        """(successes today, planned by now, minute of the day)."""
        day, minute = p.local(now, ctx.floor.tz)
        track = self._track(ctx)
        done = track.done.get(p.name, 0.0) if track.day.get(p.name) == day else 0.0
        return done, p.target * p.planned_fraction(minute), minute

    def progress(self, ctx: Ctx, now: float) -> list[dict[str, Any]]:
        """Every project of the site at ``now``, by name: ``floor.project_view.project_progress`` of
        the successes (and attempts) this rule counted on ``now``'s local day."""
        track = self._track(ctx)
        out = []
        for p in sorted(_projects_for(ctx), key=lambda p: p.name):
            day, _ = p.local(now, ctx.floor.tz)
            today = track.day.get(p.name) == day
            done = track.done.get(p.name, 0.0) if today else 0.0
            tried = track.tried.get(p.name, 0.0) if today else 0.0
            out.append(project_progress(p, done, tried, now, ctx.floor.tz))
        return out

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        p = ctx.projects.get(name)
        if p is None:
            return NOTHING
        done, planned, minute = self._today(ctx, p, now)
        if minute >= p.end_min or minute < p.start_min + self.min_elapsed / 60:
            return Assessment(False, done, planned)
        scale = 0.5 if firing else 1.0
        short = planned - done
        noise = self.z * scale * math.sqrt(planned)  # successes arrive ~Poisson: a few short is chance
        cond = short >= max(self.behind_abs * scale, noise) and done < planned * (1 - self.behind * scale)
        return Assessment(cond, done, planned)

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        p = ctx.projects[name]
        done, planned, minute = self._today(ctx, p, now)
        pc = pace(p, done, minute, now)
        rate, need, finish = pc.rate_per_h, pc.needed_per_h, pc.projected_finish
        details: dict[str, Any] = {
            "target": p.target,
            "done": done,
            "planned": round(planned, 1),
            "planned_fraction": round(planned / p.target, 4),
            "behind": round(planned - done, 1),
            "rate_per_h": round(rate, 2),
            "projected_total": round(pc.projected_total, 1),
            "projected_finish": None if finish is None else p.render_time(finish, ctx.floor.tz),
            "needed_per_h": None if need is None else round(need, 2),
            "extra_per_h": None if pc.extra_per_h is None else round(pc.extra_per_h, 2),
            "attempts": self._track(ctx).tried.get(p.name, 0.0),
        }
        title = p.title or p.name
        gap = pct(done / planned - 1) if planned > 0 else "n/a"
        facts = {
            "title": title,
            "done": done,
            "planned": planned,
            "change": done / planned - 1 if planned > 0 else None,
        }
        if state == "resolved":
            return Explanation(
                f"{title}: cleared, {done:.0f} successes vs {planned:.0f} planned ({gap})",
                details,
                message("alert.progress.resolved", **facts),
            )
        tail = (
            f", needs {need:.0f}/h (+{need - rate:.0f}/h) to make {p.target:.0f}" if need is not None else ""
        )
        said = (
            message("alert.progress.firing")
            if need is None
            else message("alert.progress.firing_need", need=need, extra=need - rate, target=p.target)
        )
        said["params"].update(facts)
        return Explanation(
            f"{title}: {done:.0f} successes vs {planned:.0f} planned by now ({gap}){tail}", details, said
        )
