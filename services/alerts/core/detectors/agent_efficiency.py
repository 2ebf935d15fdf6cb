"""``agent_efficiency``: an agent far below (or, with ``direction: both``, oddly above) peers.

Per agent, against the other agents of the same team (``peers: team``) or site, over the same
window (``window``, default 1 h, in 5-minute buckets; the open interval up to now included):

* ``calls_per_hour`` = calls handled / ready hours (logged in, not in not-ready) — low is bad;
* ``aht_s`` = mean handle time — high is bad;
* ``not_ready_share`` = not-ready seconds / logged-in seconds — high is bad; reasons listed in
  ``excused`` (default break, lunch, training: planned, and watched by ``agent_state``) count
  as ready time here;
* ``success_rate`` = successes / wrap-ups with a success verdict — low is bad.

The comparison is robust: the peer median and the MAD (median absolute deviation, × 1.4826 so it
estimates a standard deviation). An agent is flagged when one metric is off in the bad direction
by at least ``min_change`` relative to the median (``min_gap`` for the two shares) **and** by
``z`` robust deviations, with at least ``min_peers`` peers having enough sample themselves
(``min_ready`` ready seconds; ``min_calls`` calls for AHT; ``min_outcomes`` verdicts for the
success rate). A firing alert resolves once the deviation is under half of those thresholds.
Evaluated every 5 minutes (the bucket width); a group's figures are computed once per instant.

``value`` = the agent's figure, ``threshold`` = the peer median, of the most deviant metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any, ClassVar, Literal

import msgspec

from shared.events import Event

from ..floor.kpis import NOT_READY
from ..floor.state import HandledCall
from ..floor.touches import F_AGENT, Touches
from ..floor.window import column_sums
from .base import NOTHING, Assessment, Ctx, Detector, DetectorTrack, Explanation, message, pct, positive
from .options import Duration

BUCKET_S = 300
CALLS, HANDLE, WINS, VERDICTS, READY_S, NR_S = range(6)
Metric = Literal["calls_per_hour", "aht_s", "not_ready_share", "success_rate"]
# metric -> (bad direction: -1 low is bad / +1 high is bad, relative (True) or absolute gap)
METRICS: dict[str, tuple[int, bool]] = {
    "calls_per_hour": (-1, True),
    "aht_s": (1, True),
    "not_ready_share": (1, False),
    "success_rate": (-1, False),
}
LABELS = {
    "calls_per_hour": "calls/h",
    "aht_s": "s AHT",
    "not_ready_share": "not ready",
    "success_rate": "success",
}


class AgentTrack(msgspec.Struct, array_like=True):
    ready: bool | None  # True ready, False not ready, None logged out
    since: float
    buckets: dict[int, list[float]] = msgspec.field(default_factory=dict)


class AgentTracks(DetectorTrack, tag="agents"):
    agents: dict[str, AgentTrack] = msgspec.field(default_factory=dict)


def _bucket(tr: AgentTrack, t: float) -> list[float]:
    return tr.buckets.setdefault(int(t // BUCKET_S), [0.0] * 6)


def _accrue(tr: AgentTrack, upto: float, window: float) -> None:
    """Book the open interval ``[tr.since, upto)`` into the buckets. Only the buckets the window
    can still hold at ``upto`` are written (from the bucket ``window`` before ``upto``, as
    ``Agg.accrue`` in the floor): an agent first seen in an old event costs at most the window's
    buckets, not one per 5 minutes of the gap; older ones would be pruned unread anyway."""
    if tr.ready is None or upto <= tr.since:
        return
    oldest = float((int(upto // BUCKET_S) - int(window // BUCKET_S)) * BUCKET_S)
    col, start = (READY_S if tr.ready else NR_S), max(tr.since, oldest)
    while start < upto:
        end = min(upto, (int(start // BUCKET_S) + 1) * BUCKET_S)
        _bucket(tr, start)[col] += end - start
        start = end
    tr.since = upto


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEfficiencyRule(Detector):
    kind: ClassVar[str] = "agent_efficiency"
    about: ClassVar[str] = "agent far from comparable peers"
    track: ClassVar[type[DetectorTrack] | None] = AgentTracks
    scope_kinds: ClassVar[tuple[str, ...]] = ("agent",)
    per_minute: ClassVar[bool] = True
    period_s: ClassVar[int] = BUCKET_S  # the figures move by 5-minute buckets
    observes: ClassVar[bool] = True

    metrics: tuple[Metric, ...] = ("calls_per_hour", "aht_s", "not_ready_share", "success_rate")
    peers: Literal["team", "site"] = "team"
    window: Duration = 7200.0
    min_change: float = 0.5
    min_gap: float = 0.25
    z: float = 3.5
    min_peers: float = 4.0
    min_ready: Duration = 3600.0
    min_calls: float = 10.0
    min_outcomes: float = 20.0
    direction: Literal["below", "both"] = "below"
    excused: tuple[str, ...] = ("break", "lunch", "training")

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for m in self.metrics:
            if m not in METRICS:
                out.append(("metrics", f"unknown metric {m!r}; known: {', '.join(METRICS)}"))
        if self.peers not in ("team", "site"):
            out.append(("peers", f"peers must be team or site, not {self.peers!r}"))
        if self.direction not in ("below", "both"):
            out.append(("direction", f"direction must be below or both, not {self.direction!r}"))
        for key in ("window", "min_change", "min_gap", "z", "min_peers"):
            positive(out, key, getattr(self, key))
        if math.isfinite(self.window) and self.window % BUCKET_S:
            out.append(("window", f"window must be a multiple of {BUCKET_S} s"))
        return out

    def _track(self, ctx: Ctx) -> AgentTracks:
        track = ctx.tracks[self.name]
        assert isinstance(track, AgentTracks)
        return track

    def observe(self, ctx: Ctx, ev: Event, t: float, handled: list[HandledCall], touches: Touches) -> None:
        agents = self._track(ctx).agents
        for (kind, name), mask in touches.items():
            if kind != "agent" or not mask & F_AGENT:
                continue
            a = ctx.floor.agents.get(name)
            ready = None if a is None else a.state != NOT_READY or a.reason in self.excused
            tr = agents.get(name)
            if tr is None:
                if ready is not None:
                    agents[name] = AgentTrack(ready, t)
            elif ready != tr.ready:
                _accrue(tr, t, self.window)
                tr.ready, tr.since = ready, max(t, tr.since)
        for h in handled:
            tr = agents.get(h.agent)
            if tr is not None:
                row = _bucket(tr, h.t)
                row[CALLS] += 1
                row[HANDLE] += h.handle
                if h.success is not None:
                    row[VERDICTS] += 1
                    row[WINS] += 1.0 if h.success else 0.0

    def names(self, ctx: Ctx) -> list[str]:
        agents = self._track(ctx).agents
        horizon = int(ctx.floor.latest // BUCKET_S) - int(self.window // BUCKET_S)
        for name in list(agents):
            tr = agents[name]
            if any(k <= horizon for k in tr.buckets):
                tr.buckets = {k: v for k, v in tr.buckets.items() if k > horizon}
            if tr.ready is None and not tr.buckets:
                del agents[name]
        return [n for n in agents if n in ctx.floor.agents]

    def _figures(self, tr: AgentTrack, now: float) -> dict[str, float]:
        lo = int(now // BUCKET_S) - int(self.window // BUCKET_S)
        sums = column_sums([row for k, row in tr.buckets.items() if k > lo], 6)
        if tr.ready is not None and now > tr.since:
            sums[READY_S if tr.ready else NR_S] += now - max(tr.since, (lo + 1) * BUCKET_S)
        out: dict[str, float] = {}
        if sums[READY_S] >= self.min_ready:
            out["calls_per_hour"] = sums[CALLS] / (sums[READY_S] / 3600)
            out["not_ready_share"] = sums[NR_S] / (sums[READY_S] + sums[NR_S])
        if sums[CALLS] >= self.min_calls:
            out["aht_s"] = sums[HANDLE] / sums[CALLS]
        if sums[VERDICTS] >= self.min_outcomes:
            out["success_rate"] = sums[WINS] / sums[VERDICTS]
        return out

    def _group(self, ctx: Ctx, key: str | None, now: float) -> dict[str, Any]:
        cache = ctx.cached_at(now)
        got: dict[str, Any] | None = cache.get((self.name, key))
        if got is not None:
            return got
        agents = self._track(ctx).agents
        peers = ctx.floor.agents if self.peers == "site" else ctx.team_members().get(key, ())
        figures = {n: self._figures(agents[n], now) for n in peers if n in agents}
        stats: dict[str, tuple[float, float, int]] = {}
        for m in self.metrics:
            xs = [f[m] for f in figures.values() if m in f]
            if xs:
                med = median(xs)
                mad = median(abs(x - med) for x in xs) * 1.4826
                floor = 0.05 * abs(med) if METRICS[m][1] else 0.02
                stats[m] = (med, max(mad, floor, 1e-9), len(xs))
        fresh: dict[str, Any] = {"figures": figures, "stats": stats}
        cache[self.name, key] = fresh
        return fresh

    def _worst(
        self, ctx: Ctx, name: str, now: float, firing: bool
    ) -> tuple[str, float, float, float, int] | None:
        a = ctx.floor.agents.get(name)
        if a is None:
            return None
        group = self._group(ctx, None if self.peers == "site" else a.team, now)
        mine = group["figures"].get(name, {})
        scale = 0.5 if firing else 1.0
        worst: tuple[str, float, float, float, int] | None = None
        for m in self.metrics:
            if m not in mine or m not in group["stats"]:
                continue
            med, mad, n = group["stats"][m]
            if n - 1 < self.min_peers:
                continue
            x, (bad, relative) = mine[m], METRICS[m]
            z = (x - med) / mad
            change = (x / med - 1 if med else 0.0) if relative else x - med
            limit = (self.min_change if relative else self.min_gap) * scale
            sides = (bad, -bad) if self.direction == "both" else (bad,)
            for side in sides:
                hit = change * side >= limit and z * side >= self.z * scale
                if hit and (worst is None or abs(z) > abs(worst[3])):
                    worst = (m, x, med, z, n - 1)
        return worst

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        w = self._worst(ctx, name, now, firing)
        if w is None:
            return NOTHING if name not in ctx.floor.agents else Assessment(False, None, None)
        return Assessment(True, w[1], w[2])

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        w = self._worst(ctx, name, now, state == "firing")
        agent = ctx.floor.agents.get(name)
        team = agent.team if agent is not None else None
        group = self._group(ctx, None if self.peers == "site" else team, now)
        mine = group["figures"].get(name, {})
        details: dict[str, Any] = {
            "peers": self.peers,
            "team": team,
            "window_s": self.window,
            "figures": {m: round(v, 4) for m, v in mine.items()},
            "medians": {m: round(s[0], 4) for m, s in group["stats"].items()},
        }
        if w is None:
            cleared = "cleared, " if state == "resolved" else ""
            key = "alert.efficiency.resolved" if state == "resolved" else "alert.efficiency.in_line"
            said = message(key, agent=name, peers=self.peers)
            return Explanation(f"{name}: {cleared}in line with {self.peers} peers", details, said)
        m, x, med, z, n = w
        details.update(metric=m, value=round(x, 4), median=round(med, 4), z=round(z, 2), n_peers=n)
        where = f"{self.peers} median" if self.peers == "site" else f"{team or 'team'} median"
        change = pct(x / med - 1) if med else "n/a"
        said = message(
            f"alert.efficiency.{m}",
            agent=name,
            value=x,
            median=med,
            change=x / med - 1 if med else None,
            n=n,
            where=message("alert.efficiency.where_site")
            if self.peers == "site"
            else message("alert.efficiency.where_team", team=team or ""),
        )
        return Explanation(
            f"{name}: {_fmt(m, x)} {LABELS[m]} vs {where} {_fmt(m, med)} ({change}), n={n} peers",
            details,
            said,
        )


def _fmt(metric: str, v: float) -> str:
    return f"{v:.0%}" if not METRICS[metric][1] else f"{v:.0f}" if metric == "aht_s" else f"{v:.1f}"
