"""The active rule set as a wire document (``docs/wire.md``, *Rule set*): what the alerts service
publishes on the rules topic at start and after every reload, so the API can serve ``/v1/rules``
and screens can colour figures by the thresholds in force.

Pure: ``ruleset_doc(rules)`` -> JSON-ready dict. ``version`` is a content hash (same rules, same
version, on every instance), so consumers can tell a change from a republication.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from ..detectors.base import Detector
from ..detectors.progress_lag import ProgressLagRule
from ..detectors.registry import Rule
from ..detectors.threshold import ThresholdRule
from ..floor.projects import Project
from .ruleset import RuleSet

# fields every rule document has at top level; the rest of a detector's fields go to ``params``
_COMMON = frozenset(
    {
        "name",
        "scope",
        "severity",
        "for_s",
        "matchers",
        "labels",
        "escalate_after",
        "group",
        "keep_firing_for",
        "resolved_summary",
    }
)
_THRESHOLD_TOP = frozenset({"metric", "op", "value", "clear", "when", "min_sample", "summary"})


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _clock(minute: float) -> str:
    return f"{int(minute) // 60:02d}:{int(minute) % 60:02d}"


def _secs(x: float) -> str:
    return f"{x:g} s"


def describe(rule: Rule) -> str:
    """One line saying what the rule watches, e.g. ``calls_waiting > 10 (clears at 5), for 30 s``."""
    if isinstance(rule, ThresholdRule):
        text = f"{rule.metric} {rule.op} {rule.value:g}"
        if rule.clear_at != rule.value:
            text += f" (clears at {rule.clear_at:g})"
        for g in rule.when:
            text += f" and {g.metric} {g.op} {g.value:g}"
        if rule.min_sample:
            text += f", sample >= {rule.min_sample:g}"
    else:
        text = rule.about or rule.kind
    if rule.for_s:
        text += f", for {_secs(rule.for_s)}"
    return f"{text} per {rule.scope}"


def rule_doc(rule: Rule, projects: tuple[Project, ...]) -> dict[str, Any]:
    """The wire document of one rule; ``entry`` / ``clear`` are the threshold rule's firing and
    resolving values (``null`` for detector kinds: their figures are in ``params``)."""
    doc: dict[str, Any] = {
        "rule": rule.name,
        "kind": rule.kind,
        "scope": rule.scope,
        "severity": rule.severity,
        "for_s": rule.for_s,
        "keep_firing_for_s": rule.keep_firing_for,
        "match": dict(rule.matchers),
        "labels": dict(rule.labels),
        "escalate_after_s": rule.escalate_after,
        "group": None if rule.group is None else {**_plain(rule.group), "clear": rule.group.clear_at},
        "description": describe(rule),
        "metric": None,
        "op": None,
        "entry": None,
        "clear": None,
        "min_sample": None,
        "when": [],
        "params": {},
        "projects": [],
    }
    if isinstance(rule, ThresholdRule):
        doc.update(
            metric=rule.metric,
            op=rule.op,
            entry=rule.value,
            clear=rule.clear_at,
            min_sample=rule.min_sample,
            when=_plain(rule.when),
            summary=rule.summary,
        )
    elif isinstance(rule, Detector):
        skip = _COMMON | {"kind"}
        doc["params"] = {
            f.name: _plain(getattr(rule, f.name))
            for f in dataclasses.fields(rule)
            if f.name not in skip and f.init
        }
    if isinstance(rule, ProgressLagRule):
        wanted = {v for k, v in rule.matchers if k == "campaign"}
        doc["projects"] = [p.name for p in projects if not wanted or p.name in wanted]
    return doc


def project_doc(p: Project) -> dict[str, Any]:
    """A project's configuration (its progress is in the floor snapshots)."""
    return {
        "project": p.name,
        "title": p.title or p.name,
        "target": p.target,
        "window": {"start": _clock(p.start_min), "end": _clock(p.end_min)},
        "tz": p.tz,
        "utc_offset_s": p.utc_offset,
        "curve": [[_clock(m), f] for m, f in p.curve] or "linear",
        "success": list(p.success_codes) or True,
        "campaigns": list(p.matches),
        "queues": list(p.queues),
        "site": p.site,
    }


def ruleset_doc(rules: RuleSet) -> dict[str, Any]:
    """The whole rule set: ``{"type": "ruleset", "version", "source", "rules", "projects", "inhibit"}``."""
    body = {
        "rules": [rule_doc(r, rules.projects) for r in rules.rules],
        "projects": [project_doc(p) for p in rules.projects],
        "inhibit": [
            {"source": dict(i.source), "target": dict(i.target), "equal": list(i.equal)}
            for i in rules.inhibit
        ],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return {"type": "ruleset", "version": digest[:16], "source": rules.source, **body}
