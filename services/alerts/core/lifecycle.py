"""Alert lifecycle of one rule and one scope: inactive -> pending -> firing -> resolved.

Prometheus semantics: the condition must hold for ``for_s`` seconds (``pending``) before the
alert fires; with ``for_s == 0`` it fires at once. A pending alert whose condition stops holding
resolves without having fired: unlike Prometheus, whose pending alerts are internal, Floorwatch
publishes ``pending``, so screens must be told to drop it (the book marks the record
``details.fired = false``). A firing alert stays firing until its (hysteresis) condition stops
holding, then resolves; it never goes back to pending. A later breach starts a new episode with a
new ``started_at``.

Resolve hold (Prometheus' ``keep_firing_for``, ``keep_s`` here): with ``keep_s > 0`` a firing alert
resolves only once its clear condition has held *continuously* for ``keep_s`` seconds of event
time. The hold starts at the first observation that does not hold (``AlertState.clear_since``);
an observation that holds again during the hold cancels it — the alert stays firing, same episode,
nothing is published. Like ``for``, the end of the hold is a deadline (``next_deadline()``), so it
resolves on the engine's grid even when no event arrives. The hold is part of the persisted state.

Call order for :class:`ThresholdAlert` (the engine owns the calls):

1. ``observe(cond, value, now)`` whenever the metric may have changed (events touching the scope,
   window/clock grid points). ``cond`` is the rule's condition for the machine's current state
   (entry threshold while inactive/pending, clear threshold while firing; see ``detectors/threshold.py``).
2. ``tick(now)`` when time passed without a fresh reading: promotes pending to firing, or resolves
   a firing alert whose resolve hold has run out.
3. ``next_deadline()``: the event time at which ``tick``/``observe`` would promote pending or end
   the resolve hold (None: nothing is due).
4. ``snapshot()``: the plain :class:`AlertState` to persist; ``ThresholdAlert(for_s, state, keep_s)``
   rebuilds the machine.

Each call returns a :class:`Decision` or ``None`` (nothing changed); it never performs anything.
Time never runs backwards: an earlier ``now`` is treated as the latest one seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import msgspec

INACTIVE, PENDING, FIRING, RESOLVED = "inactive", "pending", "firing", "resolved"

Key = tuple[str, str, str, str]  # where an alert's machine is kept: (site, rule, scope kind, scope name)


def fingerprint(rule: str, scope: Mapping[str, str]) -> str:
    """Stable identity of an alert instance: sha1 of rule name and sorted scope, 16 hex chars."""
    text = rule + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(scope.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class Ack(msgspec.Struct, frozen=True):
    by: str
    at: float
    note: str = ""


class AlertState(msgspec.Struct):
    """The persisted state of one alert instance (one rule, one scope)."""

    fingerprint: str
    rule: str
    site: str
    kind: str  # scope kind
    name: str  # scope name within the kind (the site name for kind "site")
    state: str = INACTIVE
    started_at: float = 0.0
    updated_at: float = 0.0
    last_eval: float = float("-inf")
    value: float | None = None
    ack: Ack | None = None
    # detector kinds: the explanation of the latest published transition (threshold rules render theirs)
    threshold: float | None = None
    summary: str = ""
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    message: dict[str, Any] | None = None  # {key, params}: the summary per language (shared/i18n)
    escalated: bool = False  # severity raised one step (unacknowledged past escalate_after)
    suppressed: str | None = None  # firing alert inhibiting this one (alerting/inhibition.py)
    grouped_into: str | None = None  # firing group alert folding this one (alerting/grouping.py)
    clear_since: float | None = None  # firing, in the resolve hold: since when the clear condition holds

    def scope(self) -> dict[str, str]:
        if self.kind == "site":
            return {"site": self.site}
        return {"site": self.site, self.kind: self.name}


class Decision(NamedTuple):
    """A state change to publish; ``resolved`` from ``pending`` means it never fired."""

    state: str
    previous: str
    at: float
    value: float | None


class Machine(Protocol):
    """What the alerting stages need of a machine: its state."""

    st: AlertState


class ThresholdAlert:
    """The per-scope state machine; see the module docstring for the call order."""

    __slots__ = ("for_s", "keep_s", "st")

    def __init__(self, for_s: float, state: AlertState, keep_s: float = 0.0) -> None:
        self.for_s = for_s
        self.keep_s = keep_s
        self.st = state

    def observe(self, cond: bool, value: float | None, now: float) -> Decision | None:
        st = self.st
        now = max(now, st.last_eval)
        st.last_eval = now
        if value is not None or not cond:
            st.value = value
        if st.state == RESOLVED:
            st.state = INACTIVE  # a machine kept after resolving starts a new episode
        if st.state == INACTIVE:
            if not cond:
                return None
            st.started_at, st.clear_since = now, None
            return self._move(PENDING if self.for_s > 0 else FIRING, now)
        if st.state == PENDING:
            if not cond:
                return self._move(RESOLVED, now)
            return self.tick(now)
        if st.state == FIRING:
            if cond:
                st.clear_since = None  # a breach during the hold cancels it
                return None
            if st.clear_since is None:
                st.clear_since = now
            return self.tick(now)
        return None

    def tick(self, now: float) -> Decision | None:
        st = self.st
        now = max(now, st.last_eval)
        if st.state == PENDING and now - st.started_at >= self.for_s:
            st.last_eval = now
            return self._move(FIRING, now)
        if st.state == FIRING and st.clear_since is not None and now >= st.clear_since + self.keep_s:
            st.last_eval = now
            st.clear_since = None
            return self._move(RESOLVED, now)
        return None

    def next_deadline(self) -> float | None:
        st = self.st
        if st.state == PENDING:
            return st.started_at + self.for_s
        if st.state == FIRING and st.clear_since is not None:
            return st.clear_since + self.keep_s
        return None

    def snapshot(self) -> AlertState:
        return self.st

    @property
    def firing(self) -> bool:
        return self.st.state == FIRING

    def _move(self, state: str, now: float) -> Decision:
        previous, self.st.state, self.st.updated_at = self.st.state, state, now
        return Decision(state, previous, now, self.st.value)
