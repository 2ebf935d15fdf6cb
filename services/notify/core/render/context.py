"""The template context of a notification (plain values only: the sandbox sees no objects)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.i18n import Catalogue, local_time, render_message

from ..alert import SCOPE_KEYS, Alert
from ..config import Receiver
from ..dispatcher import Notification
from .templates import DEFAULTS, Templates


def alert_dict(a: Alert, lang: str, cat: Catalogue) -> dict[str, Any]:
    """An alert for the templates, its texts in ``lang``: ``summary`` rendered from the transition's
    ``message`` (its English ``summary`` when it has none), ``rule_title`` the rule's name in the
    catalogue (a rules file's own rule: its name), ``summary_en`` the wire summary."""
    labels = a.label_map
    out: dict[str, Any] = {
        "rule": a.rule, "kind": a.kind, "severity": a.severity, "state": a.state,
        "summary": render_message(a.message, lang, cat, a.summary), "summary_en": a.summary,
        "rule_title": cat.get(lang, f"term.rule.{a.rule}") or a.rule,
        "started_local": local_time(a.started_text, lang), "updated_local": local_time(a.updated_text, lang),
        "value": a.value, "threshold": a.threshold, "labels": labels, "fingerprint": a.fingerprint,
        "started_at": a.started_text, "updated_at": a.updated_text, "escalated": a.escalated,
        "acked_by": a.acked_by, "transition_id": a.transition_id,
    }
    out.update({k: labels.get(k) for k in SCOPE_KEYS})
    return out


def common_labels(alerts: tuple[Alert, ...]) -> dict[str, str]:
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for a in alerts[1:]:
        mine = a.label_map
        common = {k: v for k, v in common.items() if mine.get(k) == v}
    return common


def context(note: Notification, receiver: Receiver, external_url: str, shown: int | None = None, *,
            templates: Templates) -> dict[str, Any]:
    """``shown``: list at most this many alerts (firing first); the rest are ``truncated``."""
    firing, resolved = list(note.firing), list(note.resolved)
    total = len(firing) + len(resolved)
    if shown is not None and shown < total:
        keep_f = min(len(firing), shown)
        firing, resolved = firing[:keep_f], resolved[: shown - keep_f]
    lang, cat = receiver.language or "en", templates.catalogue  # NotifyConfig.speaking chose it
    return {
        "status": note.status, "firing": [alert_dict(a, lang, cat) for a in firing],
        "resolved": [alert_dict(a, lang, cat) for a in resolved],
        "alerts": [alert_dict(a, lang, cat) for a in firing + resolved],
        "group_labels": dict(note.group_labels), "common_labels": common_labels(note.alerts),
        "receiver": receiver.name, "route": note.route, "language": lang,
        "truncated": total - len(firing) - len(resolved), "external_url": external_url,
        "t": cat.prefixed(lang, "notify."), "repeat": note.repeat, "id": note.id,
    }


def text(templates: Templates, receiver: Receiver, name: str, ctx: dict[str, Any], *,
         html: bool = False) -> str:
    source = receiver.template(name) or DEFAULTS[name]
    return templates.render(source, ctx, html=html, fallback=DEFAULTS.get(name))


def fit(build: Callable[[int | None], str], total: int, limit: int) -> tuple[str, int]:
    """The largest rendering (by alerts listed) whose UTF-8 size is within ``limit`` bytes
    (0 = no limit); returns it and how many alerts it lists. Always lists at least one."""
    body = build(None)
    if not limit or len(body.encode()) <= limit:
        return body, total
    lo, hi = 1, max(1, total - 1)
    best = build(1), 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = build(mid)
        if len(candidate.encode()) <= limit:
            best, lo = (candidate, mid), mid + 1
        else:
            hi = mid - 1
    return best
