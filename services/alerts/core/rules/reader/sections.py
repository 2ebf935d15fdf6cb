"""Rules-file sections beyond threshold rules: detector kinds, ``projects:``, ``inhibit:``, and the
routing keys every rule may carry (``escalate_after``, ``group``). Reference: ``docs/rules.md``.

A detector rule's YAML keys are its dataclass fields (``for`` -> ``for_s``, ``match`` -> ``matchers``);
the field's type says how a value is read (``Duration``: seconds, or ``30s`` / ``5m`` / ``1h``).
Every error is reported with its line.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from yaml.nodes import Node, ScalarNode, SequenceNode

from ...alerting.inhibition import Inhibit
from ...detectors.base import Detector
from ...detectors.options import Grouping
from ...detectors.registry import KINDS
from ...floor.projects import Project, clock_minutes, hourly_curve
from .nodes import Reader

_YAML_NAME: Final = {"for_s": "for", "matchers": "match"}


def _fields(cls: type[Detector]) -> dict[str, dataclasses.Field[Any]]:
    return {_YAML_NAME.get(f.name, f.name): f for f in dataclasses.fields(cls)}


def kind_keys(cls: type[Detector]) -> list[str]:
    """The YAML keys of a kind, for error messages and docs."""
    return ["kind", *_fields(cls)]


def _read(r: Reader, node: Node, f: dataclasses.Field[Any]) -> Any:
    typ = str(f.type)
    if typ in ("Duration", "Duration | None"):
        return r.scalar(node, "duration")
    if typ in ("float", "float | None"):
        return r.scalar(node, "number")
    if typ == "int":
        got = r.scalar(node, "number")
        return None if got is None else int(got)
    if typ == "str":
        return r.scalar(node, "str")
    if typ == "bool":
        return r.scalar(node, "bool")
    if typ == "tuple[str, ...]":
        return r.strings(node, f.name)
    if typ == "tuple[tuple[str, str], ...]":
        return r.string_map(node, f.name)
    if typ == "Grouping | None":
        return group(r, node)
    if typ in ("tuple[tuple[str, Duration], ...]", "tuple[tuple[str, float], ...]"):
        return r.value_map(node, f.name, "duration" if "Duration" in typ else "number")
    raise AssertionError(f"no YAML reader for field {f.name}: {typ}")  # pragma: no cover


def routing(r: Reader, items: dict[str, tuple[Node, Node]]) -> dict[str, Any] | None:
    """``escalate_after`` and ``group`` of a threshold rule as rule fields (None on an error)."""
    out: dict[str, Any] = {}
    if "escalate_after" in items:
        out["escalate_after"] = r.scalar(items["escalate_after"][1], "duration")
    if "group" in items:
        node = items["group"][1]
        out["group"] = grouping = group(r, node)
        scope = r.python(items["scope"][1]) if "scope" in items else "queue"
        for _, message in grouping.problems(str(scope)) if grouping is not None else ():
            r.error(node, message)
            out["group"] = None
    return None if any(v is None for v in out.values()) else out


GROUP_KEYS: Final = ("by", "min", "clear", "summary")


def group(r: Reader, node: Node) -> Grouping | None:
    """A rule's ``group: {by: team, min: 3, clear: 2, summary: "…"}`` (None when invalid)."""
    items = r.mapping(node, "group")
    if items is None:
        return None
    before = len(r.errors)
    for key, (key_node, _) in items.items():
        if key not in GROUP_KEYS:
            r.error(key_node, f"unknown key {key!r} in group; known: {', '.join(GROUP_KEYS)}")
    f: dict[str, Any] = {}
    for key in GROUP_KEYS:
        if key in items:
            f[key] = r.scalar(items[key][1], "number" if key in ("min", "clear") else "str")
            if isinstance(f[key], float) and f[key].is_integer():
                f[key] = int(f[key])
    if len(r.errors) > before or any(v is None for v in f.values()):
        return None
    try:
        return Grouping(**f)
    except ValueError as exc:
        r.error(node, str(exc))
        return None


def kind_rule(r: Reader, node: Node, items: dict[str, tuple[Node, Node]], kind: str) -> Detector | None:
    """A detector-kind rule from its YAML mapping (None when invalid; errors reported)."""
    cls = KINDS[kind]
    fields = _fields(cls)
    before = len(r.errors)
    known = kind_keys(cls)
    values: dict[str, Any] = {}
    for key, (key_node, value_node) in items.items():
        if key == "kind":
            continue
        f = fields.get(key)
        if f is None:
            r.error(key_node, f"unknown key {key!r} for kind {kind}; known: {', '.join(known)}")
            continue
        values[f.name] = _read(r, value_node, f)
    if "name" not in items:
        r.error(node, "rule is missing required key 'name'")
    if len(r.errors) > before:
        return None
    try:
        probe = object.__new__(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            object.__setattr__(probe, f.name, values.get(f.name, default))
        if not values.get("scope"):
            object.__setattr__(probe, "scope", cls.scope_kinds[0])
        problems = probe.problems()
    except (TypeError, ValueError) as exc:  # pragma: no cover - field types are checked above
        problems = [("kind", str(exc))]
    for key, message in problems:
        yaml_key = _YAML_NAME.get(key, key)
        r.error(items[yaml_key][1] if yaml_key in items else node, message)
    if problems:
        return None
    return cls(**values)


def _clock(r: Reader, node: Node) -> float | None:
    # read the raw text: YAML 1.1 turns an unquoted 10:30 into the integer 630 (base 60)
    if not isinstance(node, ScalarNode):
        r.error(node, "expected a time of day HH:MM")
        return None
    try:
        return clock_minutes(str(node.value))
    except ValueError as exc:
        r.error(node, str(exc))
        return None


def _curve(r: Reader, node: Node, start: float) -> tuple[tuple[float, float], ...] | None:
    if isinstance(node, ScalarNode) and node.value == "linear":
        return ()
    if isinstance(node, SequenceNode):
        points = []
        for item in node.value:
            if not (isinstance(item, SequenceNode) and len(item.value) == 2):
                r.error(item, 'a curve point is ["HH:MM", cumulative fraction]')
                return None
            minute, frac = _clock(r, item.value[0]), r.scalar(item.value[1], "number")
            if minute is None or frac is None:
                return None
            points.append((minute, frac))
        return tuple(points)
    items = r.mapping(node, "curve")
    if items is None or list(items) != ["hourly"]:
        if items is not None:
            r.error(node, 'curve is linear, {hourly: [weights]} or [["HH:MM", fraction], ...]')
        return None
    weights_node = items["hourly"][1]
    weights = [r.scalar(w, "number") for w in getattr(weights_node, "value", [])]
    if not isinstance(weights_node, SequenceNode) or not weights or any(w is None or w < 0 for w in weights):
        r.error(weights_node, "hourly must be a list of weights >= 0, one per hour from the window start")
        return None
    return hourly_curve(start, [float(w) for w in weights])


PROJECT_KEYS: Final = (
    "name",
    "title",
    "target",
    "window",
    "tz",
    "utc_offset",
    "curve",
    "success",
    "campaigns",
    "queues",
    "site",
)


def project(r: Reader, node: Node) -> Project | None:
    items = r.mapping(node, "a project")
    if items is None:
        return None
    before = len(r.errors)
    for key, (key_node, _) in items.items():
        if key not in PROJECT_KEYS:
            r.error(key_node, f"unknown key {key!r} in a project; known: {', '.join(PROJECT_KEYS)}")
    for key in ("name", "target"):
        if key not in items:
            r.error(node, f"project is missing required key {key!r}")
    f: dict[str, Any] = {}
    for key in ("name", "title", "tz", "site"):
        if key in items:
            f[key] = r.scalar(items[key][1], "str")
    if "target" in items:
        f["target"] = r.scalar(items["target"][1], "number")
    for key in ("campaigns", "queues"):
        if key in items:
            f[key] = r.strings(items[key][1], key)
    if "utc_offset" in items:
        raw = items["utc_offset"][1]
        text = str(getattr(raw, "value", ""))
        try:
            sign = -1 if text.startswith("-") else 1
            h, m = text.lstrip("+-").split(":")
            f["utc_offset"] = sign * (int(h) * 3600 + int(m) * 60)
        except ValueError:
            r.error(raw, f"bad utc_offset {text!r}: use +HH:MM, e.g. +08:00")
    if "window" in items:
        window = r.mapping(items["window"][1], "window")
        if window is not None:
            if set(window) != {"start", "end"}:
                r.error(items["window"][1], "window needs exactly start and end (HH:MM)")
            else:
                f["start_min"], f["end_min"] = _clock(r, window["start"][1]), _clock(r, window["end"][1])
    if "curve" in items:
        f["curve"] = _curve(r, items["curve"][1], f.get("start_min") or 0.0)
    if "success" in items:
        raw = items["success"][1]
        if isinstance(raw, ScalarNode) and r.python(raw) is True:
            f["success_codes"] = ()
        else:
            f["success_codes"] = r.strings(raw, "success")
    if len(r.errors) > before or any(v is None for k, v in f.items() if k not in ("title", "tz", "site")):
        return None
    probe = object.__new__(Project)
    for field in dataclasses.fields(Project):
        object.__setattr__(probe, field.name, f.get(field.name, field.default))
    problems = probe.problems()
    for key, message in problems:
        r.error(items[key][1] if key in items else node, message)
    return None if problems else Project(**f)


def inhibit(r: Reader, node: Node) -> Inhibit | None:
    items = r.mapping(node, "an inhibit rule")
    if items is None:
        return None
    before = len(r.errors)
    for key, (key_node, _) in items.items():
        if key not in ("source", "target", "equal"):
            r.error(key_node, f"unknown key {key!r} in an inhibit rule; known: source, target, equal")
    for key in ("source", "target"):
        if key not in items:
            r.error(
                node, f"inhibit rule is missing {key!r} (label matchers, e.g. {{rule: no-agents-available}})"
            )
    source = r.string_map(items["source"][1], "source") if "source" in items else None
    target = r.string_map(items["target"][1], "target") if "target" in items else None
    equal = r.strings(items["equal"][1], "equal") if "equal" in items else ()
    if len(r.errors) > before or source is None or target is None or equal is None:
        return None
    return Inhibit(source=source, target=target, equal=equal)
