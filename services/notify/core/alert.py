"""An alert transition as the notifier sees it: the wire record of ``docs/wire.md`` reduced to
what routing, grouping and rendering need. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCOPE_KEYS = ("site", "queue", "team", "agent", "campaign")


class BadTransition(ValueError):
    """A record on the alerts topic that is not an alert transition."""


@dataclass(frozen=True)
class Alert:
    transition_id: str
    fingerprint: str
    rule: str
    kind: str
    severity: str
    state: str  # pending | firing | resolved (ack / silence records keep the state)
    previous: str
    labels: tuple[tuple[str, str], ...]  # routing labels: alertname, rule, severity, scope, own labels
    summary: str
    value: float | None
    threshold: float | None
    started_at: float
    updated_at: float
    event_time: float
    acked_by: str | None
    silenced_until: float | None
    escalated: bool
    suppressed: bool  # inhibited by another alert, or folded into a group alert
    tz_offset_s: int
    started_text: str  # RFC 3339 as the engine rendered it (site's offset)
    updated_text: str
    # the summary per language, {key, params[, text]} (docs/wire.md); None from an older engine
    message: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def site(self) -> str:
        return self.label_map.get("site", "")

    def silenced(self, now: float) -> bool:
        return self.silenced_until is not None and self.silenced_until > now

    @property
    def firing(self) -> bool:
        return self.state == "firing"


def _time(record: dict[str, Any], key: str) -> tuple[float, str, int]:
    text = record.get(key)
    if not isinstance(text, str):
        raise BadTransition(f"{key} is missing or not a string")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadTransition(f"{key}: {exc}") from None
    if value.tzinfo is None:
        raise BadTransition(f"{key} has no UTC offset")
    off = value.utcoffset()
    return value.timestamp(), text, int(off.total_seconds()) if off is not None else 0


def from_wire(record: Any) -> Alert:
    """The :class:`Alert` of a decoded transition record; raises :class:`BadTransition`."""
    if not isinstance(record, dict):
        raise BadTransition("a transition must be a JSON object")
    try:
        for key in ("transition_id", "fingerprint", "rule", "severity", "state"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise BadTransition(f"{key} is missing or not a string")
        scope = record.get("scope") or {}
        if not isinstance(scope, dict):
            raise BadTransition("scope must be an object")
        started, started_text, off = _time(record, "started_at")
        updated, updated_text, _ = _time(record, "updated_at")
        event_time = _time(record, "event_time")[0] if record.get("event_time") else updated
        silenced = _time(record, "silenced_until")[0] if record.get("silenced_until") else None
        labels: dict[str, str] = {str(k): str(v) for k, v in (record.get("labels") or {}).items()}
        labels.update({k: str(scope[k]) for k in SCOPE_KEYS if scope.get(k) is not None})
        labels.update(alertname=record["rule"], rule=record["rule"], severity=record["severity"],
                      kind=str(record.get("kind") or ""))
        ack = record.get("ack")
        return Alert(
            transition_id=record["transition_id"], fingerprint=record["fingerprint"], rule=record["rule"],
            kind=str(record.get("kind") or ""), severity=record["severity"], state=record["state"],
            previous=str(record.get("previous") or ""), labels=tuple(sorted(labels.items())),
            summary=str(record.get("summary") or ""), value=_num(record.get("value")),
            threshold=_num(record.get("threshold")), started_at=started, updated_at=updated,
            event_time=event_time, acked_by=str(ack.get("by")) if isinstance(ack, dict) else None,
            silenced_until=silenced, escalated=bool(record.get("escalated")),
            suppressed=bool(record.get("inhibited_by") or record.get("grouped_into")),
            tz_offset_s=off, started_text=started_text, updated_text=updated_text,
            message=_message(record.get("message")),
        )
    except (TypeError, AttributeError) as exc:
        raise BadTransition(f"malformed transition: {exc}") from None


def _message(value: Any) -> Mapping[str, Any] | None:
    """A transition's ``message`` if it has the shape of one (else the summary is shown)."""
    if isinstance(value, dict) and isinstance(value.get("key"), str):
        return value
    return None


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raise BadTransition(f"expected a number, got {value!r}")
