"""YAML node walking for the notifications file: every error with its line, not just the first.

(The alerts service has a reader of its own for rules files; services do not import each other.)
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

INVALID: Final = object()  # what Reader.python gives for a scalar YAML cannot read (the error is recorded)
_DURATION_RE: Final = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


class ConfigError(ValueError):
    """The notifications file is invalid; ``errors`` is the sorted list of ``(line, message)``."""

    def __init__(self, name: str, errors: list[tuple[int, str]]) -> None:
        self.name = name
        self.errors = sorted(errors)
        super().__init__("\n".join(f"{name}:{line}: {msg}" for line, msg in self.errors))


def parse_duration(value: object) -> float:
    """Seconds from a number or ``"30s"``, ``"5m"``, ``"4h"``, ``"1d"``, ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _DURATION_RE.match(text)
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif text and match:
            d, h, m, s = (float(x) if x else 0.0 for x in match.groups())
            seconds = d * 86400 + h * 3600 + m * 60 + s
        else:
            raise ValueError(f"bad duration {value!r}: use seconds or e.g. 30s, 5m, 4h, 1d")
    else:
        raise ValueError(f"expected a duration, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be >= 0, got {value!r}")
    return seconds


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


class Reader:
    """Walks composed YAML nodes, collecting errors instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []
        self._loader = yaml.SafeLoader("")

    def error(self, node: Node, message: str) -> None:
        if (line_of(node), message) not in self.errors:  # a node may be read twice (root keys)
            self.errors.append((line_of(node), message))

    def python(self, node: Node) -> Any:
        """The node's value; :data:`INVALID` (with the error recorded) when its tag cannot read it
        (``!!int abc``, a ``!!python/…`` tag)."""
        try:
            return self._loader.construct_object(node, deep=True)
        except (ValueError, TypeError, yaml.YAMLError) as exc:
            self._loader = yaml.SafeLoader("")  # a failed construction leaves state behind in it
            problem = getattr(exc, "problem", None) or exc
            self.error(node, f"cannot read {getattr(node, 'value', '')!r} as {node.tag}: {problem}")
            return INVALID

    def mapping(self, node: Node, what: str, known: tuple[str, ...] | None = None
                ) -> dict[str, tuple[Node, Node]] | None:
        """``key -> (key node, value node)``; reports non-mappings, duplicate and unknown keys."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.python(key_node) if isinstance(key_node, ScalarNode) else None
            if key is INVALID:
                continue
            if not isinstance(key, str):
                self.error(key_node, f"{what}: keys must be strings")
            elif key in out:
                self.error(key_node, f"{what}: duplicate key {key!r} (first on line {line_of(out[key][0])})")
            elif known is not None and key not in known:
                self.error(key_node, f"{what}: unknown key {key!r}; known: {', '.join(known)}")
            else:
                out[key] = (key_node, value_node)
        return out

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list")
            return []
        return list(node.value)

    def scalar(self, node: Node, kind: str) -> Any:
        """The value of a scalar node of the wanted kind (``str``, ``int``, ``number``, ``bool``,
        ``duration``) or None (the error is recorded)."""
        value = self.python(node) if isinstance(node, ScalarNode) else node
        if value is INVALID:
            return None
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "duration" and not isinstance(value, Node):
            try:
                return parse_duration(value)
            except ValueError as exc:
                self.error(node, str(exc))
                return None
        wanted = {"str": "a string", "int": "an integer", "number": "a number", "duration": "a duration",
                  "bool": "true or false"}[kind]
        if isinstance(node, ScalarNode):
            self.error(node, f"expected {wanted}, got {type(value).__name__} {value!r}")
        else:
            shape = "list" if isinstance(node, SequenceNode) else "mapping"
            self.error(node, f"expected {wanted}, got a {shape}")
        return None

    def strings(self, node: Node, what: str) -> tuple[str, ...] | None:
        """A list of strings (a single string is a list of one)."""
        if isinstance(node, ScalarNode):
            one = self.scalar(node, "str")
            return None if one is None else (one,)
        items = [self.scalar(item, "str") for item in self.sequence(node, what)]
        return None if any(i is None for i in items) else tuple(items)

    def string_map(self, node: Node, what: str) -> dict[str, str]:
        items = self.mapping(node, what) or {}
        out: dict[str, str] = {}
        for key, (_, value_node) in items.items():
            value = self.python(value_node) if isinstance(value_node, ScalarNode) else None
            if value is INVALID:
                continue
            if isinstance(value, bool) or value is None or isinstance(value, list | dict):
                self.error(value_node, f"{what}: {key!r} must be a string")
            else:
                out[key] = str(value)
        return out
