"""Inhibition (Alertmanager's ``inhibit_rules``): a firing alert withholds others from publication.

While an alert whose labels match an inhibit rule's ``source`` matchers is *firing*, alerts
matching its ``target`` matchers whose ``equal`` labels have the same values are inhibited: still
evaluated and tracked (their lifecycle goes on, ``active_alerts`` lists them with
``inhibited_by``), but withheld from publication (``publishing.py`` decides what screens see).
Labels are those silences match (``labels.py``).

:class:`Inhibitions` keeps the index of firing sources: ``track(...)`` with every published
decision, ``index(...)`` to rebuild it from the active alerts (restore, rules swapped, labels
changed by an escalation), ``inhibitor(...)`` to ask who inhibits an alert. ``dirty`` says that
the sources changed since the targets were last rechecked.

**Cost.** Besides the sources, an index of the *targets* (active alerts by the inhibit rule they
match and their ``equal`` values, kept by ``enroll`` / ``withdraw`` with every published decision)
tells which alerts a changed source can affect: a recheck (``publishing.py``) looks only at those
(``candidates()``), plus the alerts whose own labels changed, instead of every active alert. After
``index(...)`` (restore, rules swapped), rechecks are full ones until one ran with the rules the
index was built with (during a rules swap, the old rules' alerts resolve under the old rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..detectors.registry import Rule
from ..lifecycle import FIRING, RESOLVED, AlertState, Decision, Key, Machine
from .labels import alert_labels


@dataclass(frozen=True, slots=True)
class Inhibit:
    """Alertmanager's inhibit rule: while an alert matching ``source`` is firing, alerts matching
    ``target`` whose labels ``equal`` the source's are suppressed from publication."""

    source: tuple[tuple[str, str], ...]
    target: tuple[tuple[str, str], ...]
    equal: tuple[str, ...] = ()


SourceKey = tuple[int, tuple[str | None, ...]]  # (inhibit rule index, its `equal` label values)


def _match(labels: Mapping[str, str], matchers: tuple[tuple[str, str], ...]) -> bool:
    return all(labels.get(k) == v for k, v in matchers)


class Inhibitions:
    """The firing inhibit sources; see the module docstring."""

    def __init__(self, inhibits: tuple[Inhibit, ...]) -> None:
        self.inhibits = inhibits
        self.dirty = False  # an inhibit source fired or resolved: targets need a recheck
        # firing source alerts: (inhibit rule index, its `equal` label values) -> fingerprints (ordered)
        self.sources: dict[SourceKey, dict[str, None]] = {}
        self.entries = 0  # sum of len(fps) over sources (> len(sources): some key has several)
        # active alerts matching an inhibit rule's target: source key -> alert keys; and back
        self.targets: dict[SourceKey, dict[Key, None]] = {}
        self.enrolled: dict[Key, tuple[SourceKey, ...]] = {}
        self.changed: set[SourceKey] = set()  # source keys changed since the last recheck
        self.extra: set[Key] = set()  # alerts to recheck besides the targets of `changed`
        self.full = False  # the next recheck looks at every active alert (after index())
        self.indexed: Mapping[str, Rule] | None = None  # the rules index() labelled the alerts with

    def _source_keys(self, labels: Mapping[str, str]) -> list[SourceKey]:
        return [
            (i, tuple(labels.get(k) for k in inh.equal))
            for i, inh in enumerate(self.inhibits)
            if _match(labels, inh.source)
        ]

    def _target_keys(self, labels: Mapping[str, str]) -> tuple[SourceKey, ...]:
        return tuple(
            (i, tuple(labels.get(k) for k in inh.equal))
            for i, inh in enumerate(self.inhibits)
            if _match(labels, inh.target)
        )

    def index(self, rules: Mapping[str, Rule], alerts: Mapping[Key, Machine]) -> None:
        """Rebuild the source index from the active alerts (after a restore or a rules swap)."""
        self.sources = {}
        self.targets, self.enrolled = {}, {}
        entries = 0
        for key, m in alerts.items():
            rule = rules.get(m.st.rule)
            if rule is None or not self.inhibits:
                continue
            labels = alert_labels(rule, m.st)
            if m.st.state == FIRING:
                for sk in self._source_keys(labels):
                    fps = self.sources.setdefault(sk, {})
                    entries += m.st.fingerprint not in fps
                    fps[m.st.fingerprint] = None
            self.enroll(key, labels)
        self.entries = entries
        self.indexed = rules
        self.changed.clear()
        self.extra.clear()
        self.full = True
        self.dirty = True

    def enroll(self, key: Key, labels: Mapping[str, str]) -> None:
        """Index active alert ``key`` (with these labels) as a target."""
        new = self._target_keys(labels)
        old = self.enrolled.get(key)
        if old == new:
            return
        if old:
            self._unenroll(key, old)
        if new:
            self.enrolled[key] = new
            for sk in new:
                self.targets.setdefault(sk, {})[key] = None
        else:
            self.enrolled.pop(key, None)

    def withdraw(self, key: Key) -> None:
        """Alert ``key`` is no longer active."""
        old = self.enrolled.pop(key, None)
        if old:
            self._unenroll(key, old)

    def _unenroll(self, key: Key, old: tuple[SourceKey, ...]) -> None:
        for sk in old:
            keys = self.targets.get(sk)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self.targets[sk]

    def candidates(self) -> set[Key]:
        """The alerts whose inhibitor may have changed since the last recheck (not after
        ``index``: then every alert may have); clears the record of changes."""
        out = set(self.extra)
        for sk in self.changed:
            out.update(self.targets.get(sk, ()))
        self.changed.clear()
        self.extra.clear()
        return out

    def relabel(
        self,
        rules: Mapping[str, Rule],
        alerts: Mapping[Key, Machine],
        key: Key,
        before: Mapping[str, str],
        st: AlertState,
    ) -> None:
        """The labels of firing alert ``key`` changed from ``before`` (an escalation): move it in
        both indexes. As rebuilding the index would (ordering the fingerprints of a source key
        like the active alerts), but without rebuilding it unless some source key has several."""
        self.dirty = True
        if self.entries > len(self.sources):
            self.index(rules, alerts)
            return
        labels = alert_labels(rules[st.rule], st)
        old, new = self._source_keys(before), self._source_keys(labels)
        if st.state == FIRING and old != new:
            fp = st.fingerprint
            for sk in old:
                fps = self.sources.get(sk)
                if fps is not None and fp in fps:
                    del fps[fp]
                    self.entries -= 1
                    if not fps:
                        del self.sources[sk]
                    self.changed.add(sk)
            for sk in new:
                fps = self.sources.setdefault(sk, {})
                if fp not in fps:
                    fps[fp] = None
                    self.entries += 1
                self.changed.add(sk)
            if self.entries > len(self.sources):
                self.index(rules, alerts)
                return
        self.enroll(key, labels)
        self.extra.add(key)

    def inhibitor(self, rule: Rule, st: AlertState, labels: Mapping[str, str] | None = None) -> str | None:
        """Fingerprint of a firing alert inhibiting ``st``, or None."""
        if not self.sources:
            return None
        if labels is None:
            labels = alert_labels(rule, st)
        for i, inh in enumerate(self.inhibits):
            if not _match(labels, inh.target):
                continue
            found = self.sources.get((i, tuple(labels.get(k) for k in inh.equal)))
            for fp in found or ():
                if fp != st.fingerprint:
                    return fp
        return None

    def track(self, rule: Rule, st: AlertState, d: Decision, labels: Mapping[str, str] | None = None) -> None:
        """Keep the index current with decision ``d`` of ``st`` (a source firing or resolving)."""
        if d.state not in (FIRING, RESOLVED) or (d.state == RESOLVED and d.previous != FIRING):
            return
        if labels is None:
            labels = alert_labels(rule, st)
        for key in self._source_keys(labels):
            fps = self.sources.setdefault(key, {})
            if d.state == FIRING:
                self.entries += st.fingerprint not in fps
                fps[st.fingerprint] = None
            else:
                self.entries -= st.fingerprint in fps
                fps.pop(st.fingerprint, None)
                if not fps:
                    del self.sources[key]
            self.changed.add(key)
            self.dirty = True
