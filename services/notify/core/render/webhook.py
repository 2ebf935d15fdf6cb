"""Generic webhook: Alertmanager's webhook payload, version 4 — so any Alertmanager receiver
works unchanged — or, when the receiver has a ``body`` template, the body that template renders
(JSON or anything else the destination expects).

Version 4 fields: ``version``, ``groupKey``, ``truncatedAlerts``, ``status``, ``receiver``,
``groupLabels``, ``commonLabels``, ``commonAnnotations``, ``externalURL`` and ``alerts[]`` with
``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt`` (the zero time while firing),
``generatorURL`` and ``fingerprint``.
"""

from __future__ import annotations

import json
from typing import Any

from ..alert import Alert
from ..config import Receiver
from ..dispatcher import Notification
from .context import common_labels, context
from .message import Message
from .templates import Templates

ZERO_TIME = "0001-01-01T00:00:00Z"


def alert_annotations(a: Alert) -> dict[str, str]:
    out = {"summary": a.summary}
    if a.value is not None:
        out["value"] = f"{a.value:g}"
    if a.threshold is not None:
        out["threshold"] = f"{a.threshold:g}"
    if a.acked_by:
        out["acknowledged_by"] = a.acked_by
    return out


def alert_v4(a: Alert, status: str, external_url: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": a.label_map,
        "annotations": alert_annotations(a),
        "startsAt": a.started_text,
        "endsAt": ZERO_TIME if status == "firing" else a.updated_text,
        "generatorURL": f"{external_url}/v1/alerts/{a.fingerprint}" if external_url else "",
        "fingerprint": a.fingerprint,
    }


def payload_v4(note: Notification, receiver: Receiver, external_url: str) -> dict[str, Any]:
    alerts = [alert_v4(a, "firing", external_url) for a in note.firing]
    alerts += [alert_v4(a, "resolved", external_url) for a in note.resolved]
    truncated = 0
    if receiver.max_alerts and len(alerts) > receiver.max_alerts:
        truncated = len(alerts) - receiver.max_alerts
        alerts = alerts[: receiver.max_alerts]
    common_ann = {}
    if note.alerts:
        first = alert_annotations(note.alerts[0])
        common_ann = {k: v for k, v in first.items()
                      if all(alert_annotations(a).get(k) == v for a in note.alerts)}
    return {
        "version": "4",
        "groupKey": note.group_key,
        "truncatedAlerts": truncated,
        "status": note.status,
        "receiver": receiver.name,
        "groupLabels": dict(note.group_labels),
        "commonLabels": common_labels(note.alerts),
        "commonAnnotations": common_ann,
        "externalURL": external_url,
        "alerts": alerts,
    }


def render(note: Notification, receiver: Receiver, tpl: Templates, external_url: str) -> Message:
    custom = receiver.template("body")
    if custom is not None:
        ctx = context(note, receiver, external_url, templates=tpl)
        ctx["payload"] = payload_v4(note, receiver, external_url)
        body = tpl.render(custom, ctx)
        kind = "application/json" if body.lstrip().startswith(("{", "[")) else "text/plain; charset=utf-8"
        return Message(kind="webhook", body=body, content_type=kind, alerts=len(note.alerts),
                       shown=len(note.alerts))
    doc = payload_v4(note, receiver, external_url)
    return Message(kind=receiver.kind, body=json.dumps(doc, ensure_ascii=False), alerts=len(note.alerts),
                   shown=len(doc["alerts"]))
