"""The alert records: lifecycle decisions become numbered transitions; acks; the silences kept.

Call order: the publishing stage calls ``record(...)`` with each :class:`~..lifecycle.Decision`
of a machine (``changed(...)`` for a state-unchanged record: escalation, inhibition or grouping
changed); operators' ``ack(...)`` returns a transition with the state unchanged, ``silence(...)`` /
``unsilence(...)`` change the silences (``silences.py``) that later records carry in
``silenced_until``. Everything is a pure function of the calls made (times are parameters).
``describe`` says what a record shows: the summary, threshold and details of the rule's alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..detectors.registry import Rule
from ..detectors.threshold import ThresholdRule
from ..lifecycle import FIRING, INACTIVE, RESOLVED, Ack, AlertState, Decision
from .labels import severity
from .silences import Silence, content_id, label_sets, silenced_until
from .transition import Transition


def describe(
    rule: Rule, st: AlertState, value: float | None, resolved_from: str | None = None
) -> tuple[str, float | None, dict[str, Any]]:
    """(summary, threshold, details) of an alert of ``rule`` at ``value``; ``resolved_from`` is the
    previous state of a resolution record (its summary says what cleared, ``detectors/threshold.py``)."""
    return _describe(rule, st, value, resolved_from)[:3]


def message_of(
    rule: Rule, st: AlertState, value: float | None, resolved_from: str | None = None
) -> dict[str, Any] | None:
    """The ``message`` (``{key, params}``) of the record :func:`describe` describes."""
    return _describe(rule, st, value, resolved_from)[3]


def _describe(
    rule: Rule, st: AlertState, value: float | None, resolved_from: str | None
) -> tuple[str, float | None, dict[str, Any], dict[str, Any] | None]:
    hold = rule.keep_firing_for
    if isinstance(rule, ThresholdRule) and st.kind == rule.scope:  # not a group alert (grouping.py)
        details: dict[str, Any] = {
            "metric": rule.metric,
            "op": rule.op,
            "clear": rule.clear_at,
            "for_s": rule.for_s,
            "keep_firing_for": hold,
            "scope_kind": st.kind,
            "min_sample": rule.min_sample,
        }
        scope = st.scope()
        if resolved_from is None:
            return rule.render(value, scope), rule.value, details, rule.said(value, scope)
        fired = resolved_from == FIRING
        summary = rule.render_resolved(value, scope, st.details, fired=fired)
        message = rule.said_resolved(value, scope, st.details, fired=fired)
        return summary, rule.value, {**details, **st.details}, message
    details = {**st.details, "scope_kind": st.kind, "for_s": rule.for_s, "keep_firing_for": hold}
    return st.summary, st.threshold, details, st.message


class AlertRecords(msgspec.Struct):
    """Persisted (``EngineState.book``): record numbers, silences, firing group alerts' scopes."""

    seq: dict[str, int] = msgspec.field(default_factory=dict)  # fingerprint -> records so far
    silences: list[Silence] = msgspec.field(default_factory=list)
    # firing group alerts -> their scope: their silences cover the alerts grouped into them (grouping.py)
    groups: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)

    def record(self, rule: Rule, st: AlertState, d: Decision, tz: int) -> Transition | None:
        """The transition for decision ``d``; a ``resolved`` one says whether the alert had fired."""
        if d.state == INACTIVE:
            return None
        extra = {"fired": d.previous == FIRING} if d.state == RESOLVED else None
        return self._make(rule, st, d.state, d.previous, d.at, d.value, tz, extra)

    def changed(self, rule: Rule, st: AlertState, at: float, tz: int) -> Transition:
        """A state-unchanged record (escalation, suppression lifted) of an active alert."""
        return self._make(rule, st, st.state, st.state, at, st.value, tz)

    def ack(self, rule: Rule, st: AlertState, *, by: str, at: float, note: str, tz: int) -> Transition:
        st.ack = Ack(by=by, at=at, note=note)
        return self._make(rule, st, st.state, st.state, at, st.value, tz)

    def silence(
        self,
        matchers: Mapping[str, str],
        *,
        until: float,
        at: float,
        by: str = "",
        comment: str = "",
        silence_id: str | None = None,
    ) -> Silence:
        """Add a silence (expired ones are forgotten); its id is the caller's, or a hash of its
        content."""
        self.silences = [s for s in self.silences if s.until > at]
        sil = Silence(
            id=silence_id or content_id(matchers, until, at, by, comment, len(self.seq)),
            matchers=dict(matchers),
            until=until,
            created_at=at,
            by=by,
            comment=comment,
        )
        self.silences.append(sil)
        return sil

    def unsilence(self, silence_id: str) -> Silence | None:
        """Remove a silence; the removed one, or None if there was none with that id."""
        gone = next((s for s in self.silences if s.id == silence_id), None)
        if gone is not None:
            self.silences = [s for s in self.silences if s.id != silence_id]
        return gone

    def touched_by(self, sil: Silence, rule: Rule, st: AlertState, at: float, tz: int) -> Transition | None:
        """The state-unchanged record of an active alert newly covered by silence ``sil`` (directly,
        or through the group alert it is grouped into)."""
        if not any(sil.matches(labels) for labels in label_sets(rule, st, self.groups)):
            return None
        return self._make(rule, st, st.state, st.state, at, st.value, tz)

    def _silenced(self, rule: Rule, st: AlertState, at: float) -> float | None:
        ends = [silenced_until(self.silences, labels, at) for labels in label_sets(rule, st, self.groups)]
        return max((u for u in ends if u is not None), default=None)

    def current(self, rule: Rule, st: AlertState, tz: int) -> Transition:
        """The latest record of an active alert, rebuilt (no new sequence number)."""
        n = self.seq.get(st.fingerprint, 0)
        tr = self._make(rule, st, st.state, st.state, st.updated_at, st.value, tz)
        self.seq[st.fingerprint] = n
        return msgspec.structs.replace(tr, transition_id=f"{st.fingerprint}:{n}")

    def _make(
        self,
        rule: Rule,
        st: AlertState,
        state: str,
        previous: str,
        at: float,
        value: float | None,
        tz: int,
        extra: dict[str, Any] | None = None,
    ) -> Transition:
        fp = st.fingerprint
        n = self.seq[fp] = self.seq.get(fp, 0) + 1
        scope = st.scope()
        summary, threshold, details, message = _describe(
            rule, st, value, previous if state == RESOLVED else None
        )
        if extra:
            details = {**details, **extra}
        labels = dict(rule.labels)
        if st.escalated:
            labels["escalated"] = "true"
        return Transition(
            id=fp,
            fingerprint=fp,
            rule=rule.name,
            kind=rule.kind,
            severity=severity(rule, st),
            state=state,
            previous=previous,
            scope=scope,
            summary=summary,
            value=value,
            threshold=threshold,
            started_at=st.started_at,
            updated_at=at,
            event_time=at,
            ack=st.ack,
            silenced_until=self._silenced(rule, st, at),
            labels=labels,
            details=details,
            transition_id=f"{fp}:{n}",
            tz=tz,
            escalated=st.escalated,
            suppressed=st.suppressed,
            grouped_into=st.grouped_into,
            message=message,
        )
