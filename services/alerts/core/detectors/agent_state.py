"""``agent_state``: an agent too long in not-ready (limit per reason) or in wrap-up.

Per agent. The condition (time in the state ``> limit``) is time-based — it starts holding just
after ``since + limit`` with no new event — so the rule asks the engine for a wake-up at the first
grid second past that instant (``wake``), and fires on the engine's grid with no new event. A
state change (back to available, another reason) resets ``since`` and resolves the alert at once.

YAML::

    - name: not-ready-too-long
      kind: agent_state
      not_ready: {break: 15m, lunch: 60m, training: 45m, "*": 30m}   # "*": any other reason
      wrap: 2m                                                     # wrap-up longer than this
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ..floor.kpis import NOT_READY, WRAP
from ..floor.state import Agent
from ..floor.touches import F_AGENT
from .base import NOTHING, Assessment, Ctx, Detector, Explanation, message, positive
from .options import Duration

ANY: Final = "*"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateRule(Detector):
    kind: ClassVar[str] = "agent_state"
    about: ClassVar[str] = "too long in a not-ready reason or in wrap-up"
    scope_kinds: ClassVar[tuple[str, ...]] = ("agent",)
    family: ClassVar[int] = F_AGENT
    wakes: ClassVar[bool] = True

    not_ready: tuple[tuple[str, Duration], ...] = ()  # (reason or "*", limit seconds)
    wrap: Duration | None = None

    def own_problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for _, limit in self.not_ready:
            positive(out, "not_ready", limit)
        if self.wrap is not None:
            positive(out, "wrap", self.wrap)
        if not self.not_ready and self.wrap is None:
            out.append(("kind", "agent_state needs not_ready limits and/or wrap"))
        return out

    def limit(self, a: Agent) -> float | None:
        if a.state == NOT_READY:
            limits = dict(self.not_ready)
            found = limits.get(a.reason or "", limits.get(ANY))
            return found
        if a.state == WRAP:
            return self.wrap
        return None

    def idle(self, ctx: Ctx, name: str) -> bool:
        # no agent, or no limit for its state (talking, hold, available; wrap without a wrap limit)
        a = ctx.floor.agents.get(name)
        return a is None or (a.state != NOT_READY and (a.state != WRAP or self.wrap is None))

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        a = ctx.floor.agents.get(name)
        if a is None:
            return NOTHING
        limit = self.limit(a)
        spent = max(0.0, now - a.since)
        if limit is None:
            return Assessment(False, spent, None)
        return Assessment(spent > limit, spent, limit)

    def wake(self, ctx: Ctx, name: str, now: float) -> float | None:
        a = ctx.floor.agents.get(name)
        limit = None if a is None else self.limit(a)
        if a is None or limit is None or now - a.since > limit:
            return None
        return float(math.floor(a.since + limit) + 1)  # the first grid second with spent > limit

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        agent = ctx.floor.agents.get(name)
        what = "logged out"
        details: dict[str, object] = {"limit_s": a.threshold}
        if agent is not None:
            what = (
                "wrap-up" if agent.state == WRAP else "not ready" if agent.state == NOT_READY else "available"
            )
            if agent.state == NOT_READY:
                what += f" ({agent.reason or 'no reason'})"
            details.update(
                state="wrap" if agent.state == WRAP else "not_ready" if agent.state == NOT_READY else "other",
                reason=agent.reason if agent.state == NOT_READY else None,
                team=agent.team,
                seconds=a.value,
            )
        code = str(details.get("state", "logged_out")).replace("other", "available")
        facts: dict[str, Any] = {"agent": name, "state": code}
        tail = ""
        if code == "not_ready":
            facts["reason"], tail = agent.reason if agent is not None else None, "_reason"
        if state == "resolved":
            return Explanation(
                f"{name}: cleared, now {what}", details, message("alert.state.resolved" + tail, **facts)
            )
        if a.value is None or a.threshold is None:
            return Explanation(f"{name}: {what}", details, message("alert.state.now", **facts))
        said = message("alert.state.firing" + tail, **facts, seconds=a.value, limit=a.threshold)
        return Explanation(f"{name}: {what} for {_minutes(a.value)} > {_minutes(a.threshold)}", details, said)
