"""Alert transition records as the alerts service publishes them (docs/wire.md), for notifier tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from services.notify.core import Alert, from_wire

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()  # a Monday
_seq = itertools.count(1)


def rfc(t: float, off_h: int = 8) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=off_h))).isoformat()


def record(rule: str = "aht-spike", state: str = "firing", *, site: str = "bj-01",
           queue: str | None = "sales",
           severity: str = "warning", at: float = T0, started: float | None = None, fp: str | None = None,
           tid: str | None = None, labels: dict[str, str] | None = None, ack: str | None = None,
           silenced_until: float | None = None, escalated: bool = False, summary: str = "AHT 412 s",
           **scope: str) -> dict[str, Any]:
    where = {"site": site, **({"queue": queue} if queue else {}), **scope}
    fingerprint = fp or f"{rule}|{'|'.join(f'{k}={v}' for k, v in sorted(where.items()))}"
    return {
        "id": fingerprint, "fingerprint": fingerprint, "rule": rule, "kind": "aht_spike",
        "severity": severity,
        "state": state, "previous": "pending" if state == "firing" else "firing", "scope": where,
        "summary": summary, "value": 412.0, "threshold": 290.0,
        "started_at": rfc(started if started is not None else at), "updated_at": rfc(at),
        "event_time": rfc(at),
        "ack": None if ack is None else {"by": ack, "at": rfc(at), "note": ""},
        "silenced_until": None if silenced_until is None else rfc(silenced_until),
        "labels": labels or {}, "details": {}, "transition_id": tid or f"{fingerprint}:{next(_seq)}",
        "escalated": escalated, "inhibited_by": None, "grouped_into": None,
    }


def alert(*args: Any, **kwargs: Any) -> Alert:
    return from_wire(record(*args, **kwargs))
