"""Seat utilization: ``occupancy`` (a band on occupancy) and ``seats`` (staffed seats).

``occupancy`` — per team or site, over the floor window: occupancy = (talk + hold + wrap-up
seconds) / (those + available seconds), i.e. the share of logged-in, ready time spent on calls
(not-ready time is out of both sides; ``docs/metrics.md``). Outside ``[low, high]`` with at least
``min_sample`` staffed seconds behind it, the alert goes pending: too low = idle seats, too high
= burnout and queues building. A firing alert resolves once back inside the band by ``margin``.
Evaluated at every minute boundary (a 30-minute figure needs no finer clock).

``seats`` — per team or site, on every change of agent states: *staffed* seats (logged in and
not in not-ready) must be at least ``min_ready_share`` of the logged-in seats (when at least
``min_logged_in`` are logged in) and at least the planned seats minus ``tolerance`` when a plan
is configured (``planned: {team: seats}``, or one number for every scope). A whole team at lunch
together shows here; occupancy cannot see it (not-ready time is out of occupancy).

YAML::

    - {name: team-occupancy, kind: occupancy, scope: team, low: 0.6, high: 0.95, for: 10m}
    - {name: team-seats, kind: seats, scope: team, min_ready_share: 0.5, planned: {changjiang: 8}}
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from .floor import kpis
from .floor.kpis import Agg
from .floor.touches import F_AGENTS
from .kinds import NOTHING, Assessment, Ctx, Explanation, KindRule, positive


def _agg(ctx: Ctx, kind: str, name: str) -> Agg | None:
    return ctx.floor.teams.get(name) if kind == "team" else ctx.floor.total


@dataclass(frozen=True, slots=True, kw_only=True)
class OccupancyRule(KindRule):
    kind: ClassVar[str] = "occupancy"
    scope_kinds: ClassVar[tuple[str, ...]] = ("team", "site")
    per_minute: ClassVar[bool] = True

    low: float = 0.5
    high: float = 0.95
    margin: float = 0.03
    min_sample: float = 3600.0

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if not (0 <= self.low < self.high <= 1):
            out.append(("low", f"need 0 <= low < high <= 1, got low {self.low:g}, high {self.high:g}"))
        positive(out, "margin", self.margin, zero=True)
        positive(out, "min_sample", self.min_sample, zero=True)
        return out

    def names(self, ctx: Ctx) -> list[str]:
        return list(ctx.floor.teams) if self.scope == "team" else [ctx.floor.site]

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        agg = _agg(ctx, self.scope, name)
        if agg is None:
            return NOTHING
        value, staffed = kpis.occupancy(agg.state_seconds(now))
        if value is None or staffed < self.min_sample:
            return Assessment(False, value, None)
        m = self.margin if firing else 0.0
        if value < self.low + m:
            return Assessment(True, value, self.low)
        if value > self.high - m:
            return Assessment(True, value, self.high)
        return Assessment(False, value, self.low if value < (self.low + self.high) / 2 else self.high)

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        agg = _agg(ctx, self.scope, name)
        secs = agg.state_seconds(now) if agg is not None else [0.0] * kpis.N_STATES
        details: dict[str, Any] = {
            "low": self.low,
            "high": self.high,
            "busy_s": round(secs[kpis.TALKING] + secs[kpis.HOLD] + secs[kpis.WRAP], 1),
            "available_s": round(secs[kpis.AVAILABLE], 1),
            "not_ready_s": round(secs[kpis.NOT_READY], 1),
            "logged_in": 0 if agg is None else agg.logged_in,
        }
        if a.value is None:
            return Explanation(f"{name}: occupancy no data", details)
        side = "below" if a.value < (self.low + self.high) / 2 else "above"
        details["side"] = side
        why = "idle seats" if side == "below" else "burnout risk"
        if state == "resolved":
            lo, hi = self.low + self.margin, self.high - self.margin
            return Explanation(
                f"{name}: cleared, occupancy {a.value:.0%} (clears within {lo:.0%}–{hi:.0%})", details
            )
        bound = self.low if side == "below" else self.high
        return Explanation(f"{name}: occupancy {a.value:.0%} {side} {bound:.0%} ({why})", details)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeatsRule(KindRule):
    kind: ClassVar[str] = "seats"
    scope_kinds: ClassVar[tuple[str, ...]] = ("team", "site")
    family: ClassVar[int] = F_AGENTS

    min_ready_share: float = 0.5
    min_logged_in: float = 3.0
    planned: tuple[tuple[str, float], ...] = ()  # (scope name or "*", seats)
    tolerance: float = 0.0

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if not (0 <= self.min_ready_share <= 1):
            out.append(("min_ready_share", "min_ready_share must be within 0..1"))
        positive(out, "min_logged_in", self.min_logged_in, zero=True)
        positive(out, "tolerance", self.tolerance, zero=True)
        for _, seats in self.planned:
            positive(out, "planned", seats, zero=True)
        return out

    def _planned(self, name: str) -> float | None:
        plan = dict(self.planned)
        return plan.get(name, plan.get("*"))

    def required(self, name: str, logged_in: int) -> float:
        need = self.min_ready_share * logged_in if logged_in >= self.min_logged_in else 0.0
        planned = self._planned(name)
        if planned is not None:
            need = max(need, planned - self.tolerance)
        return need

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        agg = _agg(ctx, self.scope, name)
        if agg is None:
            return NOTHING
        logged = agg.logged_in
        ready = logged - agg.counts[kpis.NOT_READY]
        need = self.required(name, logged)
        return Assessment(need > 0 and ready < need, float(ready), need)

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        agg = _agg(ctx, self.scope, name)
        logged = 0 if agg is None else agg.logged_in
        away = [
            ag.reason or "no reason"
            for ag in ctx.floor.agents.values()
            if ag.state == kpis.NOT_READY and (self.scope == "site" or ag.team == name)
        ]
        reasons = dict(sorted(Counter(away).items(), key=lambda kv: (-kv[1], kv[0])))
        details: dict[str, Any] = {
            "logged_in": logged,
            "staffed": int(a.value or 0),
            "not_ready": len(away),
            "reasons": reasons,
            "planned": self._planned(name),
            "required": a.threshold,
        }
        why = ", ".join(f"{r} {n}" for r, n in reasons.items())
        need = math.ceil(a.threshold or 0)
        if state == "resolved":
            return Explanation(
                f"{name}: cleared, {int(a.value or 0)} of {logged} seats staffed ({need} needed)", details
            )
        return Explanation(
            f"{name}: {int(a.value or 0)} of {logged} seats staffed, {need} needed"
            + (f" ({why})" if why else ""),
            details,
        )
