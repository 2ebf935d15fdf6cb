"""Publishing: from a lifecycle decision to the transitions screens see, through inhibition,
the alert records and escalation.

:class:`Publisher` runs the stages for every decision: the inhibit sources are updated and the
alert's own inhibitor looked up (``inhibition.py``); the decision becomes a numbered record
(``records.py``); an escalation deadline is armed or dropped (``escalation.py``); the record is
published unless the alert is inhibited. An alert already on screens when it becomes inhibited
gets one state-unchanged record with ``inhibited_by`` set, so screens drop it; when the
inhibition ends, a state-unchanged record without it brings it back; its other transitions while
inhibited are not published (nor its resolution: screens dropped it already). Grouping
(``grouping.py``) wraps this for the rules with a ``group:``.

Call order (the engine owns it): ``publish(...)`` for every lifecycle decision,
``escalation.next_due(site)`` / ``escalate(...)`` on grid points, ``recheck(...)`` at the end of
each engine call when an inhibit source changed otherwise (rules replaced), ``rebuild(...)``
after a restore. Pure; decisions go out as transitions.

Determinism: when a published decision or an escalation changes the inhibit sources, the
targets are rechecked at once, at that decision's event time, and their records follow it in
the output — not at the end of the engine call, whose boundaries depend on how often the shell
calls ``advance`` (a source resolving on a grid point, e.g. at the end of a resolve hold, would
otherwise be rechecked at a different point of the stream in a live run and in a replay).
A recheck looks only at the alerts a changed source can affect (``inhibition.py``), and an
escalation moves its alert in the inhibit indexes instead of rebuilding them: the work follows
what changed, not the number of active alerts; records still come in the order of the alerts.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..detectors.registry import Rule
from ..lifecycle import FIRING, INACTIVE, RESOLVED, AlertState, Decision, Key, Machine
from .escalation import Escalations
from .inhibition import Inhibit, Inhibitions
from .labels import alert_labels
from .records import AlertRecords
from .transition import Transition


class Publisher:
    """The publication stages; see the module docstring."""

    def __init__(self, inhibits: tuple[Inhibit, ...]) -> None:
        self.inhibition = Inhibitions(inhibits)
        self.escalation = Escalations()
        self.tz: dict[str, int] = {}  # site -> UTC offset, as last published (for recheck records)

    def publish(
        self,
        book: AlertRecords,
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
        if self.inhibition.dirty:
            out += self.recheck(book, rules, alerts, at=d.at, site=st.site)

    def _publish(
        self,
        book: AlertRecords,
        key: Key,
        rule: Rule,
        st: AlertState,
        d: Decision,
        tz: int,
        out: list[Transition],
    ) -> None:
        was = st.suppressed
        inhibition = self.inhibition
        if inhibition.inhibits:
            labels = alert_labels(rule, st)
            inhibition.track(rule, st, d, labels)
            if d.state != RESOLVED:
                inhibition.enroll(key, labels)
                st.suppressed = inhibition.inhibitor(rule, st, labels)
            else:
                inhibition.withdraw(key)
        tr = book.record(rule, st, d, tz)
        self.escalation.track(key, rule, st, d)
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
        book: AlertRecords,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        tz: Mapping[str, int] | None = None,
        at: float | None = None,
        site: str | None = None,
    ) -> list[Transition]:
        """State-unchanged records of active alerts whose inhibition began or ended, at event time
        ``at`` for alerts of ``site`` (each site has its own clock: elsewhere, and by default, at
        the alert's last evaluation)."""
        inhibition = self.inhibition
        if not inhibition.dirty:
            return []
        inhibition.dirty = False
        full = inhibition.full or rules is not inhibition.indexed
        if full:  # after index(), or under other rules (a swap): every active alert
            if rules is inhibition.indexed:
                inhibition.full = False
            inhibition.candidates()
            ms = list(alerts.values())
        else:  # the targets of the changed sources (inhibition.py), in the order of `alerts`
            keys = inhibition.candidates()
            ms = [m for k in keys if (m := alerts.get(k)) is not None]
        flipped = []
        for m in ms:
            st = m.st
            now_by = inhibition.inhibitor(rules[st.rule], st)
            if now_by == st.suppressed:
                continue
            was, st.suppressed = st.suppressed, now_by
            if (was is None) != (now_by is None):
                flipped.append(m)
        if len(flipped) > 1 and not full:
            chosen = {id(m) for m in flipped}
            flipped = [m for m in alerts.values() if id(m) in chosen]
        out = []
        for m in flipped:
            st = m.st
            offset = self.tz.get(st.site, 0) if tz is None else tz[st.site]
            when = at if at is not None and st.site == site else st.last_eval
            out.append(book.changed(rules[st.rule], st, when, offset))
        return out

    def escalate(
        self,
        book: AlertRecords,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        site: str,
        now: float,
        tz: int,
        out: list[Transition],
    ) -> None:
        """Escalate the alerts of ``site`` due by ``now`` (still firing and unacknowledged)."""
        inhibition = self.inhibition
        for key in self.escalation.due(site, now):
            m = alerts.get(key)
            if m is None or m.st.state != FIRING or m.st.ack is not None or m.st.escalated:
                continue
            before = alert_labels(rules[m.st.rule], m.st) if inhibition.inhibits else None
            m.st.escalated = True  # labels changed (severity, escalated): moved in the indexes
            if before is not None:
                inhibition.relabel(rules, alerts, key, before, m.st)
            tr = book.changed(rules[m.st.rule], m.st, now, tz)
            if m.st.suppressed is None:
                out.append(tr)
            if inhibition.dirty:
                out += self.recheck(book, rules, alerts, at=now, site=site)

    def rebuild(self, rules: Mapping[str, Rule], alerts: Mapping[Key, Machine]) -> None:
        """Inhibit sources and escalation deadlines of restored alerts."""
        self.inhibition.index(rules, alerts)
        self.inhibition.dirty = False  # restored alerts carry their own inhibited_by
        self.escalation.rebuild(rules, alerts)
