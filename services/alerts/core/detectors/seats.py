"""``seats``: too few staffed seats in a team or the site.

Per team or site, on every change of agent states: *staffed* seats (logged in and not in
not-ready) must be at least ``min_ready_share`` of the logged-in seats (when at least
``min_logged_in`` are logged in) and at least the planned seats minus ``tolerance`` when a plan
is configured (``planned: {team: seats}``, or one number for every scope). A whole team at lunch
together shows here; occupancy cannot see it (not-ready time is out of occupancy, ``occupancy.py``).

YAML::

    - {name: team-seats, kind: seats, scope: team, min_ready_share: 0.5, planned: {changjiang: 8}}
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from ..floor import kpis
from ..floor.touches import F_AGENTS
from .base import NOTHING, Assessment, Ctx, Detector, Explanation, message, positive
from .occupancy import scope_agg


@dataclass(frozen=True, slots=True, kw_only=True)
class SeatsRule(Detector):
    kind: ClassVar[str] = "seats"
    about: ClassVar[str] = "staffed seats below the share or plan"
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
        agg = scope_agg(ctx, self.scope, name)
        if agg is None:
            return NOTHING
        logged = agg.logged_in
        ready = logged - agg.counts[kpis.NOT_READY]
        need = self.required(name, logged)
        return Assessment(need > 0 and ready < need, float(ready), need)

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        agg = scope_agg(ctx, self.scope, name)
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
        facts = {"scope_name": name, "staffed": int(a.value or 0), "logged_in": logged, "needed": need}
        if state == "resolved":
            return Explanation(
                f"{name}: cleared, {int(a.value or 0)} of {logged} seats staffed ({need} needed)",
                details,
                message("alert.seats.resolved", **facts),
            )
        # "no reason" is the catalogue's term "none" (shared/i18n); other reasons are the data's words
        counts = {("none" if r == "no reason" else r): n for r, n in reasons.items()}
        said = (
            message("alert.seats.firing_why", **facts, reasons=counts)
            if why
            else message("alert.seats.firing", **facts)
        )
        return Explanation(
            f"{name}: {int(a.value or 0)} of {logged} seats staffed, {need} needed"
            + (f" ({why})" if why else ""),
            details,
            said,
        )
