"""``occupancy``: a team's or the site's occupancy outside its band.

Per team or site, over the floor window: occupancy = (talk + hold + wrap-up seconds) / (those +
available seconds), i.e. the share of logged-in, ready time spent on calls (not-ready time is out
of both sides; ``docs/metrics.md``). Outside ``[low, high]`` with at least ``min_sample`` staffed
seconds behind it, the alert goes pending: too low = idle seats, too high = burnout and queues
building. A firing alert resolves once back inside the band by ``margin``. Evaluated at every
minute boundary (a 30-minute figure needs no finer clock). Staffed seats are ``seats.py``'s.

YAML::

    - {name: team-occupancy, kind: occupancy, scope: team, low: 0.6, high: 0.95, for: 10m}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..floor import kpis
from ..floor.kpis import Agg
from .base import NOTHING, Assessment, Ctx, Detector, Explanation, message, positive


def scope_agg(ctx: Ctx, kind: str, name: str) -> Agg | None:
    """The aggregate of a team (``kind == "team"``) or of the whole site."""
    return ctx.floor.teams.get(name) if kind == "team" else ctx.floor.total


@dataclass(frozen=True, slots=True, kw_only=True)
class OccupancyRule(Detector):
    kind: ClassVar[str] = "occupancy"
    about: ClassVar[str] = "occupancy outside its band"
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
        agg = scope_agg(ctx, self.scope, name)
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
        agg = scope_agg(ctx, self.scope, name)
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
            return Explanation(
                f"{name}: occupancy no data", details, message("alert.occupancy.no_data", scope_name=name)
            )
        side = "below" if a.value < (self.low + self.high) / 2 else "above"
        details["side"] = side
        why = "idle seats" if side == "below" else "burnout risk"
        if state == "resolved":
            lo, hi = self.low + self.margin, self.high - self.margin
            return Explanation(
                f"{name}: cleared, occupancy {a.value:.0%} (clears within {lo:.0%}–{hi:.0%})",
                details,
                message("alert.occupancy.resolved", scope_name=name, value=a.value, low=lo, high=hi),
            )
        bound = self.low if side == "below" else self.high
        said = message(f"alert.occupancy.{side}", scope_name=name, value=a.value, bound=bound)
        return Explanation(f"{name}: occupancy {a.value:.0%} {side} {bound:.0%} ({why})", details, said)
