"""Routing of lifecycle decisions to published transitions: inhibition and escalation.

**Inhibition** (Alertmanager's ``inhibit_rules``): while an alert whose labels match an inhibit
rule's ``source`` matchers is *firing*, alerts matching its ``target`` matchers whose ``equal``
labels have the same values are inhibited: still evaluated and tracked (their lifecycle goes on,
``active_alerts`` lists them with ``inhibited_by``), but withheld from publication. An alert
already on screens when it becomes inhibited gets one state-unchanged record with
``inhibited_by`` set, so screens drop it; when the inhibition ends, a state-unchanged record
without it brings it back; its other transitions while inhibited are not published (nor its
resolution: screens dropped it already). Labels are those silences match (``book.alert_labels``).

**Escalation**: a *firing* alert of a rule with ``escalate_after`` that is still unacknowledged
that long after it fired gets ``escalated = true``: severity one step up (critical stays
critical) and the label ``escalated: "true"`` (e.g. for routing to the manager role), in a
state-unchanged record. Evaluated on the engine's grid, like ``for``.

Call order (the engine owns it): ``publish(...)`` for every lifecycle decision, ``due(site)`` /
``escalate(...)`` on grid points, ``recheck(...)`` at the end of each engine call when an
inhibit source changed otherwise (rules replaced), ``rebuild(...)`` after a restore. Pure;
decisions go out as transitions.

Determinism: when a published decision or an escalation changes the inhibit sources, the
targets are rechecked at once, at that decision's event time, and their records follow it in
the output — not at the end of the engine call, whose boundaries depend on how often the shell
calls ``advance`` (a source resolving on a grid point, e.g. at the end of a resolve hold, would
otherwise be rechecked at a different point of the stream in a live run and in a replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .book import AlertBook, alert_labels
from .detectors.registry import Rule
from .lifecycle import FIRING, INACTIVE, RESOLVED, AlertState, Decision
from .rules import Inhibit
from .transition import Transition

Key = tuple[str, str, str, str]  # (site, rule, scope kind, scope name)


class Machine(Protocol):
    st: AlertState


def _match(labels: Mapping[str, str], matchers: tuple[tuple[str, str], ...]) -> bool:
    return all(labels.get(k) == v for k, v in matchers)


class Router:
    def __init__(self, inhibits: tuple[Inhibit, ...]) -> None:
        self.inhibits = inhibits
        self.dirty = False  # an inhibit source fired or resolved: targets need a recheck
        self.deadlines: dict[str, dict[Key, float]] = {}  # site -> alert -> escalation time
        # firing source alerts: (inhibit rule index, its `equal` label values) -> fingerprints (ordered)
        self.sources: dict[tuple[int, tuple[str | None, ...]], dict[str, None]] = {}
        self.tz: dict[str, int] = {}  # site -> UTC offset, as last published (for recheck records)

    # -- inhibition -----------------------------------------------------------------------------

    def _source_keys(self, labels: Mapping[str, str]) -> list[tuple[int, tuple[str | None, ...]]]:
        return [
            (i, tuple(labels.get(k) for k in inh.equal))
            for i, inh in enumerate(self.inhibits)
            if _match(labels, inh.source)
        ]

    def index(self, rules: Mapping[str, Rule], alerts: Mapping[Key, Machine]) -> None:
        """Rebuild the source index from the active alerts (after a restore or a rules swap)."""
        self.sources = {}
        for m in alerts.values():
            if m.st.state == FIRING and m.st.rule in rules:
                for key in self._source_keys(alert_labels(rules[m.st.rule], m.st)):
                    self.sources.setdefault(key, {})[m.st.fingerprint] = None
        self.dirty = True

    def inhibitor(self, rule: Rule, st: AlertState) -> str | None:
        """Fingerprint of a firing alert inhibiting ``st``, or None."""
        if not self.sources:
            return None
        labels = alert_labels(rule, st)
        for i, inh in enumerate(self.inhibits):
            if not _match(labels, inh.target):
                continue
            found = self.sources.get((i, tuple(labels.get(k) for k in inh.equal)))
            for fp in found or ():
                if fp != st.fingerprint:
                    return fp
        return None

    def _track_source(self, rule: Rule, st: AlertState, d: Decision) -> None:
        if d.state not in (FIRING, RESOLVED) or (d.state == RESOLVED and d.previous != FIRING):
            return
        for key in self._source_keys(alert_labels(rule, st)):
            fps = self.sources.setdefault(key, {})
            if d.state == FIRING:
                fps[st.fingerprint] = None
            else:
                fps.pop(st.fingerprint, None)
                if not fps:
                    del self.sources[key]
            self.dirty = True

    def publish(
        self,
        book: AlertBook,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        key: Key,
        rule: Rule,
        st: AlertState,
        d: Decision,
        tz: int,
        out: list[Transition],
    ) -> None:
        """Record decision ``d`` of alert ``key`` and append it to ``out`` unless it is withheld;
        then the records of alerts whose inhibition this decision began or ended."""
        self.tz[st.site] = tz
        self._publish(book, key, rule, st, d, tz, out)
        if self.dirty:
            out += self.recheck(book, rules, alerts, at=d.at, site=st.site)

    def _publish(
        self,
        book: AlertBook,
        key: Key,
        rule: Rule,
        st: AlertState,
        d: Decision,
        tz: int,
        out: list[Transition],
    ) -> None:
        was = st.suppressed
        if self.inhibits:
            self._track_source(rule, st, d)
            if d.state != RESOLVED:
                st.suppressed = self.inhibitor(rule, st)
        tr = book.record(rule, st, d, tz)
        self._escalation(key, rule, st, d)
        if tr is None:
            return
        hidden_before = was is not None or d.previous == INACTIVE
        if st.suppressed is not None and (d.state == RESOLVED or hidden_before):
            return  # screens never saw it, or dropped it when it was inhibited
        if d.state == RESOLVED and was is not None:
            return
        out.append(tr)

    def recheck(
        self,
        book: AlertBook,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        tz: Mapping[str, int] | None = None,
        at: float | None = None,
        site: str | None = None,
    ) -> list[Transition]:
        """State-unchanged records of active alerts whose inhibition began or ended, at event time
        ``at`` for alerts of ``site`` (each site has its own clock: elsewhere, and by default, at
        the alert's last evaluation)."""
        if not self.dirty:
            return []
        self.dirty = False
        out = []
        for m in list(alerts.values()):
            st = m.st
            now_by = self.inhibitor(rules[st.rule], st)
            if now_by == st.suppressed:
                continue
            was, st.suppressed = st.suppressed, now_by
            if (was is None) != (now_by is None):
                offset = self.tz.get(st.site, 0) if tz is None else tz[st.site]
                when = at if at is not None and st.site == site else st.last_eval
                out.append(book.changed(rules[st.rule], st, when, offset))
        return out

    # -- escalation -----------------------------------------------------------------------------

    def _escalation(self, key: Key, rule: Rule, st: AlertState, d: Decision) -> None:
        if d.state == FIRING and rule.escalate_after is not None and not st.escalated:
            self.deadlines.setdefault(st.site, {})[key] = d.at + rule.escalate_after
        elif d.state == RESOLVED:
            self.deadlines.get(st.site, {}).pop(key, None)

    def next_due(self, site: str) -> float | None:
        return min(self.deadlines.get(site, {}).values(), default=None)

    def escalate(
        self,
        book: AlertBook,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        site: str,
        now: float,
        tz: int,
        out: list[Transition],
    ) -> None:
        """Escalate the alerts of ``site`` due by ``now`` (still firing and unacknowledged)."""
        due = self.deadlines.get(site)
        if not due:
            return
        for key in sorted(k for k, at in due.items() if at <= now):
            del due[key]
            m = alerts.get(key)
            if m is None or m.st.state != FIRING or m.st.ack is not None or m.st.escalated:
                continue
            m.st.escalated = True  # labels changed (severity, escalated): sources are re-indexed
            if self.inhibits:
                self.index(rules, alerts)
            tr = book.changed(rules[m.st.rule], m.st, now, tz)
            if m.st.suppressed is None:
                out.append(tr)
            if self.dirty:
                out += self.recheck(book, rules, alerts, at=now, site=site)

    def rebuild(self, rules: Mapping[str, Rule], alerts: Mapping[Key, Machine]) -> None:
        """Source index and escalation deadlines of restored alerts (a firing alert's ``updated_at``
        is when it fired)."""
        self.index(rules, alerts)
        self.dirty = False  # restored alerts carry their own inhibited_by
        self.deadlines = {}
        for key, m in alerts.items():
            st, rule = m.st, rules[m.st.rule]
            if st.state == FIRING and rule.escalate_after is not None and not st.escalated:
                self.deadlines.setdefault(st.site, {})[key] = st.updated_at + rule.escalate_after
