"""``aht_spike``: average handle time of a queue / team / site changes against its own baseline.

Each completed call (handle = talk + hold + wrap-up, booked when wrap-up completes) goes into a
per-minute bucket of its scope. The **recent** window is the last ``recent`` seconds of buckets
(as the floor's window: whole minutes, the current one included). Buckets that leave it are
folded into the **baseline**: a call-weighted exponentially decaying average (half-life
``half_life``), so the baseline follows slow drifts but not the spike being judged, and quiet
minutes weigh nothing.

The change is tested on log handle times (handle times are skewed; logs make one very long call
count for less): ``z = (mean log recent - mean log baseline) / (sd log baseline / sqrt(n))``.
The alert goes pending when, with at least ``min_sample`` recent calls and ``baseline_min``
calls of (decayed) baseline, AHT rose by ``rise`` or more (``direction: up`` / ``both``; falls by
``fall`` for ``down`` / ``both``) **and** ``|z| >= z``; a firing alert resolves when the change
is under half the threshold (hysteresis) or the sample falls under half of ``min_sample``. The
baseline minimum is the guard against paging at opening: two long calls at 8 a.m. have no
baseline to differ from.

``value`` = recent AHT (s), ``threshold`` = baseline AHT (s). Details break the change into
talk / hold / wrap-up deltas and name the agents and outcome codes whose calls add most time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import msgspec

from shared.events import Event

from ..floor.state import HandledCall
from ..floor.times import MINUTE, minute_of
from ..floor.touches import F_HANDLE, Touches, touch
from ..floor.window import column_sums
from .base import NOTHING, Assessment, Ctx, Detector, DetectorTrack, Explanation, message, pct, positive
from .options import Duration

N, H, TALK, HOLD, WRAP, LOG, LOG2 = range(7)
WIDTH = 7
MIN_LOG_SD = 0.05  # a baseline of identical calls must not make every change infinitely significant


class AhtScope(msgspec.Struct, array_like=True):
    buckets: dict[int, list[float]] = msgspec.field(default_factory=dict)  # minute -> sums
    who: dict[int, dict[str, list[float]]] = msgspec.field(default_factory=dict)  # "a:x"/"c:y" -> [n, h]
    base: list[float] = msgspec.field(default_factory=lambda: [0.0] * WIDTH)
    base_minute: int | None = None  # minute of the last bucket folded in
    recent: list[float] = msgspec.field(default_factory=lambda: [0.0] * WIDTH)  # sum of the buckets


class AhtTrack(DetectorTrack, tag="aht"):
    scopes: dict[str, AhtScope] = msgspec.field(default_factory=dict)


def _row(h: HandledCall) -> list[float]:
    lg = math.log(max(h.handle, 1.0))
    return [1.0, h.handle, h.talk, h.hold, h.wrap, lg, lg * lg]


@dataclass(frozen=True, slots=True, kw_only=True)
class AhtSpikeRule(Detector):
    kind: ClassVar[str] = "aht_spike"
    about: ClassVar[str] = "handle-time spike: recent AHT against the scope's own baseline"
    track: ClassVar[type[DetectorTrack] | None] = AhtTrack
    scope_kinds: ClassVar[tuple[str, ...]] = ("queue", "team", "site")
    family: ClassVar[int] = F_HANDLE
    per_minute: ClassVar[bool] = True
    observes: ClassVar[bool] = True

    recent: Duration = 900.0
    half_life: Duration = 7200.0
    min_sample: float = 20.0
    baseline_min: float = 60.0
    rise: float = 0.2
    fall: float = 0.2
    z: float = 3.0
    direction: Literal["up", "down", "both"] = "up"
    top: int = 3

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key in ("recent", "half_life", "min_sample", "baseline_min", "rise", "z"):
            positive(out, key, getattr(self, key))
        positive(out, "fall", self.fall)
        if not out and self.fall >= 1:
            out.append(("fall", "fall must be below 1 (a fraction of the baseline)"))
        if not out and self.recent % MINUTE:
            out.append(("recent", "recent must be a whole number of minutes"))
        if self.direction not in ("up", "down", "both"):
            out.append(("direction", f"direction must be up, down or both, not {self.direction!r}"))
        if isinstance(self.top, bool) or not isinstance(self.top, int) or self.top < 0:
            out.append(("top", "top must be a whole number >= 0"))
        return out

    def _track(self, ctx: Ctx) -> AhtTrack:
        track = ctx.tracks[self.name]
        assert isinstance(track, AhtTrack)
        return track

    def _scope_of(self, h: HandledCall, site: str) -> str | None:
        return h.queue if self.scope == "queue" else h.team if self.scope == "team" else site

    def observe(self, ctx: Ctx, ev: Event, t: float, handled: list[HandledCall], touches: Touches) -> None:
        if not handled:
            return
        track = self._track(ctx)
        for h in handled:
            name = self._scope_of(h, ctx.floor.site)
            if name is None:
                continue
            sc = track.scopes.get(name)
            if sc is None:
                sc = track.scopes[name] = AhtScope()
            row, m = _row(h), minute_of(h.t)
            if sc.base_minute is not None and m <= sc.base_minute:
                _add(sc.base, row)  # late for the recent window: straight into the baseline
            else:
                _add(sc.buckets.setdefault(m, [0.0] * WIDTH), row)
                _add(sc.recent, row)
                who = sc.who.setdefault(m, {})
                for key in (f"a:{h.agent}", f"c:{h.code}" if h.code else ""):
                    if key:
                        cell = who.setdefault(key, [0.0, 0.0])
                        cell[0] += 1.0
                        cell[1] += h.handle
            touch(touches, self.scope, name, F_HANDLE)

    def _roll(self, sc: AhtScope, now: float) -> None:
        """Fold the buckets that left the recent window at ``now`` into the baseline, in order."""
        horizon = minute_of(now) - int(self.recent // MINUTE)
        if not sc.buckets or min(sc.buckets) > horizon:
            return  # nothing left the window (the usual case: one assessment per touch)
        old = sorted(m for m in sc.buckets if m <= horizon)
        for m in old:
            if sc.base_minute is not None:
                decay = 0.5 ** ((m - sc.base_minute) * MINUTE / self.half_life)
                sc.base = [x * decay for x in sc.base]
            row = sc.buckets.pop(m)
            _add(sc.base, row)
            # re-summed rather than subtracted, so float error never accumulates
            sc.recent = column_sums(sc.buckets.values(), WIDTH)
            sc.who.pop(m, None)
            sc.base_minute = m

    def names(self, ctx: Ctx) -> list[str]:
        return list(self._track(ctx).scopes)

    def _stats(self, ctx: Ctx, name: str, now: float) -> tuple[list[float], list[float]] | None:
        sc = self._track(ctx).scopes.get(name)
        if sc is None:
            return None
        self._roll(sc, now)
        return sc.recent, sc.base

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        got = self._stats(ctx, name, now)
        if got is None:
            return NOTHING
        rec, base = got
        n, bn = rec[N], base[N]
        if n <= 0 or bn <= 0:
            return Assessment(False, rec[H] / n if n else None, None)
        mean, bmean = rec[H] / n, base[H] / bn
        if bmean <= 0:
            return Assessment(False, mean, None)  # a baseline of zero-length calls has no ratio
        ratio = mean / bmean
        enough = n >= (self.min_sample / 2 if firing else self.min_sample) and bn >= self.baseline_min
        if not enough:
            return Assessment(False, mean, bmean)
        blog = base[LOG] / bn
        sd = max(math.sqrt(max(base[LOG2] / bn - blog * blog, 0.0)), MIN_LOG_SD)
        z = (rec[LOG] / n - blog) / (sd / math.sqrt(n))
        scale = 0.5 if firing else 1.0
        up = self.direction in ("up", "both") and ratio >= 1 + self.rise * scale and (firing or z >= self.z)
        down = (
            self.direction in ("down", "both") and ratio <= 1 - self.fall * scale and (firing or z <= -self.z)
        )
        return Assessment(up or down, mean, bmean)

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        got = self._stats(ctx, name, now)
        details: dict[str, Any] = {"recent_s": self.recent, "direction": self.direction}
        if got is None or a.value is None or not a.threshold:
            return Explanation(f"{name}: AHT no data", details, message("alert.aht.no_data", scope_name=name))
        rec, base = got
        n, bn = rec[N], base[N]
        mean, bmean = a.value, a.threshold
        details.update(
            aht_s=round(mean, 1),
            baseline_s=round(bmean, 1),
            change=round(mean / bmean - 1, 4),
            n=int(n),
            baseline_n=round(bn, 1),
        )
        for label, idx in (("talk", TALK), ("hold", HOLD), ("wrap", WRAP)):
            now_s, was_s = rec[idx] / n, base[idx] / bn
            details[label] = {
                "now_s": round(now_s, 1),
                "baseline_s": round(was_s, 1),
                "delta_s": round(now_s - was_s, 1),
            }
        sc = self._track(ctx).scopes[name]
        details["top_agents"] = self._top(sc, "a:", bmean, "agent")
        details["top_outcomes"] = self._top(sc, "c:", bmean, "code")
        head = f"{name}: AHT {mean:.0f} s vs {bmean:.0f} s baseline ({pct(mean / bmean - 1)})"
        if state == "resolved":
            change = pct(mean / bmean - 1)
            head = f"{name}: cleared, AHT {mean:.0f} s vs {bmean:.0f} s baseline ({change}; {self._band()})"
        key = "alert.aht.resolved" if state == "resolved" else "alert.aht.firing"
        said = message(key, scope_name=name, value=mean, baseline=bmean, change=mean / bmean - 1)
        return Explanation(head, details, said)

    def _band(self) -> str:
        """The band a firing spike clears into (half the thresholds, see ``assess``)."""
        up, down = pct(self.rise / 2), pct(-self.fall / 2)
        if self.direction == "up":
            return f"clears under {up}"
        if self.direction == "down":
            return f"clears above {down}"
        return f"clears within {down}..{up}"

    def _top(self, sc: AhtScope, prefix: str, bmean: float, label: str) -> list[dict[str, Any]]:
        sums: dict[str, list[float]] = {}
        for who in sc.who.values():
            for key, (n, h) in who.items():
                if key.startswith(prefix):
                    cell = sums.setdefault(key[2:], [0.0, 0.0])
                    cell[0] += n
                    cell[1] += h
        excess = sorted(((h - n * bmean, k, n, h) for k, (n, h) in sums.items()), key=lambda x: (-x[0], x[1]))
        return [
            {label: k, "n": int(n), "aht_s": round(h / n, 1), "excess_s": round(e, 1)}
            for e, k, n, h in excess[: self.top]
            if e > 0
        ]


def _add(into: list[float], row: list[float]) -> None:
    for i, x in enumerate(row):
        into[i] += x
