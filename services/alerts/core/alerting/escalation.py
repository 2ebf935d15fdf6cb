"""Escalation: a firing alert nobody acknowledged within its rule's ``escalate_after``.

Such an alert gets ``escalated = true``: severity one step up (critical stays critical) and the
label ``escalated: "true"`` (e.g. for routing to the manager role), in a state-unchanged record
(``publishing.py`` publishes it). Evaluated on the engine's grid, like ``for``.

:class:`Escalations` keeps the deadlines: ``track(...)`` with every published decision (firing
arms one, resolving drops it), ``next_due(site)`` for the engine's grid, ``due(site, now)`` to
take the alerts whose time has come, ``rebuild(...)`` after a restore.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..detectors.registry import Rule
from ..lifecycle import FIRING, RESOLVED, AlertState, Decision, Key, Machine


class Escalations:
    def __init__(self) -> None:
        self.deadlines: dict[str, dict[Key, float]] = {}  # site -> alert -> escalation time

    def track(self, key: Key, rule: Rule, st: AlertState, d: Decision) -> None:
        if d.state == FIRING and rule.escalate_after is not None and not st.escalated:
            self.deadlines.setdefault(st.site, {})[key] = d.at + rule.escalate_after
        elif d.state == RESOLVED:
            self.deadlines.get(st.site, {}).pop(key, None)

    def next_due(self, site: str) -> float | None:
        return min(self.deadlines.get(site, {}).values(), default=None)

    def due(self, site: str, now: float) -> list[Key]:
        """The alerts of ``site`` whose escalation time is ``now`` or earlier, in key order; their
        deadlines are dropped (the caller checks they are still firing and unacknowledged)."""
        deadlines = self.deadlines.get(site)
        if not deadlines:
            return []
        keys = sorted(k for k, at in deadlines.items() if at <= now)
        for key in keys:
            del deadlines[key]
        return keys

    def rebuild(self, rules: Mapping[str, Rule], alerts: Mapping[Key, Machine]) -> None:
        """Deadlines of restored alerts (a firing alert's ``updated_at`` is when it fired)."""
        self.deadlines = {}
        for key, m in alerts.items():
            st, rule = m.st, rules[m.st.rule]
            if st.state == FIRING and rule.escalate_after is not None and not st.escalated:
                self.deadlines.setdefault(st.site, {})[key] = st.updated_at + rule.escalate_after
