"""Rules files: YAML text -> :class:`~.rules.RuleSet`, reporting every error with its line.

Format (``projects:`` is reserved for project plans; it is accepted and kept raw)::

    rules:
      - name: calls-waiting          # required, unique
        metric: calls_waiting        # required, see metrics.py
        scope: queue                 # queue | team | site | agent (default queue)
        op: ">"                      # required: > >= < <=  (quote it: a bare > is YAML syntax)
        value: 10                    # required
        clear: 5                     # hysteresis: resolves when no longer beyond this (default value)
        for: 30s                     # seconds, or "30s" / "5m" / "1h" / "1m30s" (default 0)
        severity: warning            # info | warning | critical (default warning)
        match: {queue: sales}        # equality matchers on the scope keys
        when: [{metric: calls_waiting, op: ">", value: 0}]   # extra conditions, same scope
        min_sample: 20               # evidence needed (calls, or seconds for occupancy)
        summary: "{queue}: {value:.0f} waiting"
        labels: {team_lead: li}

:func:`load_rules` raises :class:`RulesError`, whose ``errors`` lists ``(line, message)`` for
every problem found — YAML syntax, unknown keys, wrong types, unknown metrics, bad ops, a clear
threshold on the wrong side, duplicate names — not just the first.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .rules import Guard, RuleSet, ThresholdRule, rule_problems

_RULE_KEYS: Final = (
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
    "labels",
)
_REQUIRED: Final = ("name", "metric", "op", "value")
_DURATION_RE: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


class RulesError(ValueError):
    """A rules file is invalid; ``errors`` is the sorted list of ``(line, message)``."""

    def __init__(self, name: str, errors: list[tuple[int, str]]) -> None:
        self.name = name
        self.errors = sorted(errors)
        super().__init__("\n".join(f"{name}:{line}: {msg}" for line, msg in self.errors))


def parse_duration(value: object) -> float:
    """Seconds from a number or a string like ``"30s"``, ``"5m"``, ``"1h"``, ``"1m30s"``, ``"90"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _DURATION_RE.match(text)
        if text and re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif text and match:
            h, m, s = (float(x) if x else 0.0 for x in match.groups())
            seconds = h * 3600 + m * 60 + s
        else:
            raise ValueError(f"bad duration {value!r}: use seconds or e.g. 30s, 5m, 1h, 1m30s")
    else:
        raise ValueError(f"expected a duration, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be >= 0, got {value!r}")
    return seconds


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Reader:
    """Walks composed YAML nodes, collecting errors instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []
        self._loader = yaml.SafeLoader("")

    def error(self, node: Node, message: str) -> None:
        self.errors.append((_line(node), message))

    def python(self, node: Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]] | None:
        """``key -> (key node, value node)``; reports non-mappings, non-string and duplicate keys."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.python(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"{what}: keys must be strings")
            elif key in out:
                self.error(key_node, f"{what}: duplicate key {key!r} (first on line {_line(out[key][0])})")
            else:
                out[key] = (key_node, value_node)
        return out

    def scalar(self, node: Node, kind: str) -> Any:
        """The value of a scalar node of the wanted kind (``str``, ``number``, ``duration``) or None."""
        value = self.python(node) if isinstance(node, ScalarNode) else node
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind == "duration" and not isinstance(value, Node):
            try:
                return parse_duration(value)
            except ValueError as exc:
                self.error(node, str(exc))
                return None
        wanted = {"str": "a string", "number": "a number", "duration": "a duration"}[kind]
        if isinstance(node, ScalarNode):
            self.error(node, f"expected {wanted}, got {type(value).__name__} {value!r}")
        else:
            shape = "list" if isinstance(node, SequenceNode) else "mapping"
            self.error(node, f"expected {wanted}, got a {shape}")
        return None

    def string_map(self, node: Node, what: str) -> tuple[tuple[str, str], ...] | None:
        items = self.mapping(node, what)
        if items is None:
            return None
        out = []
        for key, (_, value_node) in items.items():
            value = self.scalar(value_node, "str")
            if value is not None:
                out.append((key, value))
        return tuple(out)


def _guards(r: _Reader, node: Node) -> tuple[Guard, ...] | None:
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
    "matchers": (),
    "when": (),
}


def _rule(r: _Reader, node: Node) -> tuple[ThresholdRule | None, Node | None]:
    """The rule (None when invalid; errors reported) and the node of its name (for duplicates)."""
    items = r.mapping(node, "a rule")
    if items is None:
        return None, None
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
        "value": "number",
        "clear": "number",
        "min_sample": "number",
        "for": "duration",
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
    if problems or len(r.errors) > before:
        return None, name_node
    return ThresholdRule(**{k: v for k, v in fields.items() if v is not None}), name_node


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
    r = _Reader()
    top = r.mapping(root, "the rules file")
    rules: list[ThresholdRule] = []
    projects: Any = None
    if top is not None:
        for key, (key_node, _) in top.items():
            if key not in ("rules", "projects"):
                r.error(key_node, f"unknown top-level key {key!r}; known: rules, projects")
        if "projects" in top:
            projects = r.python(top["projects"][1])
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
                    first_line[rule_name] = _line(name_node)
                if rule is not None:
                    rules.append(rule)
    if r.errors:
        raise RulesError(name, r.errors)
    return RuleSet(rules=tuple(rules), projects=projects, source=name)
