"""Rules files: YAML text -> :class:`~..ruleset.RuleSet`, reporting every error with its line.

Top level: ``rules:`` (required), ``projects:`` and ``inhibit:`` (see ``sections.py`` and
``docs/rules.md``). A rule with ``kind:`` other than ``threshold`` is a detector kind (one of
``detectors/registry.py``, e.g. ``aht_spike``). When the file has projects and no
``progress_lag`` rule, the default ``progress-lag`` rule is added: progress lag is on for every
configured project.
Threshold rules (the default kind)::

    rules:
      - name: calls-waiting          # required, unique
        metric: calls_waiting        # required, see floor/metrics.py
        scope: queue                 # queue | team | site | agent (default queue)
        op: ">"                      # required: > >= < <=  (quote it: a bare > is YAML syntax)
        value: 10                    # required
        clear: 5                     # hysteresis: resolves when no longer beyond this (default value)
        for: 30s                     # seconds, or "30s" / "5m" / "1h" / "1m30s" (default 0)
        keep_firing_for: 1m          # resolve hold: clear must hold this long unbroken (default 0)
        severity: warning            # info | warning | critical (default warning)
        match: {queue: sales}        # equality matchers on the scope keys
        when: [{metric: calls_waiting, op: ">", value: 0}]   # extra conditions, same scope
        min_sample: 20               # evidence needed (calls, or seconds for occupancy)
        summary: "{queue}: {value:.0f} waiting"
        resolved_summary: "{queue}: cleared, {value:.0f} waiting (<= {clear:.0f})"
        labels: {team_lead: li}
        escalate_after: 15m          # any kind: severity one step up when unacknowledged
        group: {by: team, min: 3}    # scope agent, any kind: one team alert for many (alerting/grouping.py)

:func:`load_rules` raises :class:`RulesError`, whose ``errors`` lists ``(line, message)`` for
every problem found — YAML syntax, unknown keys, wrong types, unknown metrics, bad ops, a clear
threshold on the wrong side, duplicate names — not just the first.
"""

from __future__ import annotations

import math
from typing import Any, Final

import yaml
from yaml.nodes import Node, SequenceNode

from ...alerting.inhibition import Inhibit
from ...detectors.progress_lag import ProgressLagRule
from ...detectors.registry import KINDS, Rule
from ...detectors.threshold import Guard, ThresholdRule, rule_problems
from ...floor.projects import Project
from ..defaults import progress_lag_rule
from ..ruleset import RuleSet
from . import sections
from .nodes import Reader, RulesError, line_of

_RULE_KEYS: Final = (
    "kind",
    "escalate_after",
    "group",
    "name",
    "metric",
    "scope",
    "op",
    "value",
    "clear",
    "for",
    "severity",
    "match",
    "when",
    "min_sample",
    "summary",
    "resolved_summary",
    "keep_firing_for",
    "labels",
)
_REQUIRED: Final = ("name", "metric", "op", "value")


def _guards(r: Reader, node: Node) -> tuple[Guard, ...] | None:
    if not isinstance(node, SequenceNode):
        r.error(node, "when must be a list of {metric, op, value} mappings")
        return None
    out = []
    for item in node.value:
        items = r.mapping(item, "when item")
        if items is None:
            continue
        for key, (key_node, _) in items.items():
            if key not in ("metric", "op", "value"):
                r.error(key_node, f"unknown key {key!r} in when item; known: metric, op, value")
        missing = [k for k in ("metric", "op", "value") if k not in items]
        if missing:
            r.error(item, f"when item is missing {', '.join(missing)}")
            continue
        metric, op = r.scalar(items["metric"][1], "str"), r.scalar(items["op"][1], "str")
        value = r.scalar(items["value"][1], "number")
        if metric is not None and op is not None and value is not None:
            out.append(Guard(metric, op, value))
    return tuple(out)


_PLACEHOLDERS: Final[dict[str, Any]] = {
    # stand-ins for missing or mistyped fields, so the other fields still get checked; a "?" scope
    # disables the metric-per-scope check, a NaN value the clear-side check
    "name": "_",
    "metric": "",
    "op": "",
    "value": math.nan,
    "scope": "?",
    "severity": "warning",
    "summary": "",
    "clear": None,
    "min_sample": 0.0,
    "for_s": 0.0,
    "keep_firing_for": 0.0,
    "resolved_summary": "",
    "matchers": (),
    "when": (),
}


def _rule(r: Reader, node: Node) -> tuple[Rule | None, Node | None]:
    """The rule (None when invalid; errors reported) and the node of its name (for duplicates)."""
    items = r.mapping(node, "a rule")
    if items is None:
        return None, None
    kind = r.scalar(items["kind"][1], "str") if "kind" in items else "threshold"
    if kind is None:
        return None, None
    name_node = items["name"][1] if "name" in items else None
    if kind != "threshold":
        if kind not in KINDS:
            known = ", ".join(["threshold", *KINDS])
            r.error(items["kind"][1], f"unknown kind {kind!r}; known: {known}")
            return None, None
        if name_node is not None and r.scalar(name_node, "str") is None:
            name_node = None
        return sections.kind_rule(r, node, items, kind), name_node
    before = len(r.errors)
    for key, (key_node, _) in items.items():
        if key not in _RULE_KEYS:
            r.error(key_node, f"unknown key {key!r}; known: {', '.join(_RULE_KEYS)}")
    for key in _REQUIRED:
        if key not in items:
            r.error(node, f"rule is missing required key {key!r}")
    kinds = {
        "name": "str",
        "metric": "str",
        "scope": "str",
        "op": "str",
        "severity": "str",
        "summary": "str",
        "resolved_summary": "str",
        "value": "number",
        "clear": "number",
        "min_sample": "number",
        "for": "duration",
        "keep_firing_for": "duration",
    }
    fields: dict[str, Any] = {}
    bad: set[str] = {k for k in _REQUIRED if k not in items}
    for key, kind in kinds.items():
        if key in items:
            fields[key] = r.scalar(items[key][1], kind)
    for key, what in (("match", "matchers"), ("labels", "labels")):
        if key in items:
            fields[what] = r.string_map(items[key][1], key)
    if "when" in items:
        fields["when"] = _guards(r, items["when"][1])
    if "for" in fields:
        fields["for_s"] = fields.pop("for")
    bad |= {
        ("for" if k == "for_s" else "match" if k == "matchers" else k) for k, v in fields.items() if v is None
    }
    checked = dict(_PLACEHOLDERS)
    checked.update({k: v for k, v in fields.items() if v is not None and k != "labels"})
    if "scope" not in items:
        checked["scope"] = "queue"
    problems = [(k, m) for k, m in rule_problems(**checked) if k not in bad]
    for key, message in problems:
        r.error(items[key][1] if key in items else node, message)
    name_node = items["name"][1] if "name" in items and "name" not in bad else None
    extra = sections.routing(r, items)
    if problems or len(r.errors) > before or extra is None:
        return None, name_node
    return ThresholdRule(**{k: v for k, v in fields.items() if v is not None}, **extra), name_node


def load_rules(text: str, *, name: str = "<file>") -> RuleSet:
    """Parse and validate a rules file; raises :class:`RulesError` listing every error."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise RulesError(name, [(line, f"YAML syntax error: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise RulesError(name, [(1, f"YAML error: {exc}")]) from None
    if root is None:
        raise RulesError(name, [(1, "the file is empty; expected a mapping with a `rules:` list")])
    r = Reader()
    top = r.mapping(root, "the rules file")
    rules: list[Rule] = []
    projects: list[Project] = []
    inhibits: list[Inhibit] = []
    if top is not None:
        for key, (key_node, _) in top.items():
            if key not in ("rules", "projects", "inhibit"):
                r.error(key_node, f"unknown top-level key {key!r}; known: rules, projects, inhibit")
        projects = _section(r, top, "projects", sections.project)
        inhibits = _section(r, top, "inhibit", sections.inhibit)
        if "rules" not in top:
            r.error(root, "missing top-level key 'rules'")
        elif not isinstance(top["rules"][1], SequenceNode):
            r.error(top["rules"][1], "'rules' must be a list of rules")
        else:
            first_line: dict[str, int] = {}
            for item in top["rules"][1].value:
                rule, name_node = _rule(r, item)
                if name_node is not None:
                    rule_name = r.python(name_node)
                    if rule_name in first_line:
                        r.error(
                            name_node,
                            f"duplicate rule name {rule_name!r} "
                            f"(first defined on line {first_line[rule_name]})",
                        )
                        continue
                    first_line[rule_name] = line_of(name_node)
                if rule is not None:
                    rules.append(rule)
    if r.errors:
        raise RulesError(name, r.errors)
    no_lag = not any(isinstance(x, ProgressLagRule) for x in rules)
    if projects and no_lag and all(x.name != "progress-lag" for x in rules):
        rules.append(progress_lag_rule())
    return RuleSet(rules=tuple(rules), projects=tuple(projects), source=name, inhibit=tuple(inhibits))


def _section(r: Reader, top: dict[str, tuple[Node, Node]], key: str, read: Any) -> list[Any]:
    if key not in top:
        return []
    node = top[key][1]
    if not isinstance(node, SequenceNode):
        r.error(node, f"'{key}' must be a list")
        return []
    out: list[Any] = []
    lines: dict[str, int] = {}
    for item in node.value:
        got = read(r, item)
        name = getattr(got, "name", None)
        if name is not None and name in lines:
            r.error(item, f"duplicate {key[:-1]} name {name!r} (first on line {lines[name]})")
        elif got is not None:
            out.append(got)
            if name is not None:
                lines[name] = line_of(item)
    return out
