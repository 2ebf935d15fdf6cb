"""Alert transition records: what the engine returns and the shell publishes.

A :class:`Transition` keeps times as epoch seconds plus the site's UTC offset; ``to_wire()``
renders the JSON-ready dict of ``docs/wire.md`` (RFC 3339 strings). ``previous`` is
``"inactive"`` for the first record of an episode; for ack / silence records ``previous ==
state``. ``id == fingerprint`` (the instance identity); ``transition_id`` =
``fingerprint:sequence`` is unique per record.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..floor.times import rfc3339
from ..lifecycle import Ack


class Transition(msgspec.Struct, frozen=True):
    id: str
    fingerprint: str
    rule: str
    kind: str
    severity: str
    state: str
    previous: str
    scope: dict[str, str]
    summary: str
    value: float | None
    threshold: float | None
    started_at: float
    updated_at: float
    event_time: float
    ack: Ack | None
    silenced_until: float | None
    labels: dict[str, str]
    details: dict[str, Any]
    transition_id: str
    tz: int = 0  # UTC offset (s) used to render times
    escalated: bool = False
    suppressed: str | None = None  # fingerprint of the firing alert inhibiting this one, if any
    grouped_into: str | None = None  # fingerprint of the firing group alert folding this one, if any
    message: dict[str, Any] | None = None  # {key, params[, text]}: the summary per language (shared/i18n)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready record of ``docs/wire.md``."""
        tz = self.tz
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "state": self.state,
            "previous": self.previous,
            "scope": dict(self.scope),
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "started_at": rfc3339(self.started_at, tz),
            "updated_at": rfc3339(self.updated_at, tz),
            "event_time": rfc3339(self.event_time, tz),
            "ack": None
            if self.ack is None
            else {"by": self.ack.by, "at": rfc3339(self.ack.at, tz), "note": self.ack.note},
            "silenced_until": None if self.silenced_until is None else rfc3339(self.silenced_until, tz),
            "labels": dict(self.labels),
            "details": dict(self.details),
            "transition_id": self.transition_id,
            "escalated": self.escalated,
            "inhibited_by": self.suppressed,
            "grouped_into": self.grouped_into,
            "message": self.message,
        }
