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

    def _source_keys(self, labels: Mapping[str, str]) -> list[SourceKey]:
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

    def track(self, rule: Rule, st: AlertState, d: Decision) -> None:
        """Keep the index current with decision ``d`` of ``st`` (a source firing or resolving)."""
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
