"""The labels of an alert: what silences and inhibit rules match on, and its severity as escalated.

Labels are the rule's own labels, then ``rule``, ``kind``, ``severity`` (one step up once the
alert escalated, ``escalation.py``), the scope keys, and ``escalated: "true"`` once escalated.
"""

from __future__ import annotations

from ..detectors.options import SEVERITIES
from ..detectors.registry import Rule
from ..lifecycle import AlertState


def severity(rule: Rule, st: AlertState) -> str:
    """The rule's severity, one step higher once the alert escalated."""
    if not st.escalated:
        return rule.severity
    return SEVERITIES[min(SEVERITIES.index(rule.severity) + 1, len(SEVERITIES) - 1)]


def alert_labels(rule: Rule, st: AlertState) -> dict[str, str]:
    """Labels silences and inhibit rules match on: rule labels, then ``rule``, ``kind``,
    ``severity`` (as escalated), the scope, and ``escalated: "true"`` once escalated."""
    labels = dict(rule.labels)
    labels.update(rule=rule.name, kind=rule.kind, severity=severity(rule, st))
    labels.update(st.scope())
    if st.escalated:
        labels["escalated"] = "true"
    return labels
