"""The rule set: an ordered set of uniquely named rules, the projects they plan against, the
inhibit rules (``alerting/inhibition.py``) and the definitions the floor counts by
(``floor/definitions.py``). Build one in code or with ``load_rules`` (``reader/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..alerting.inhibition import Inhibit
from ..detectors.registry import Rule
from ..floor.definitions import DefinitionSet
from ..floor.projects import Project


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An ordered set of uniquely named rules, the projects they plan against, inhibit rules."""

    rules: tuple[Rule, ...] = ()
    projects: tuple[Project, ...] = ()
    source: str = "<defaults>"
    inhibit: tuple[Inhibit, ...] = ()
    definitions: DefinitionSet | None = None  # the rules file's definitions: (None: the defaults)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"duplicate rule name {rule.name!r}")
            seen.add(rule.name)
        names = [p.name for p in self.projects]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate project names in {names}")

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)
