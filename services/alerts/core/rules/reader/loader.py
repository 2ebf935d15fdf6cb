"""Rules files: YAML text -> :class:`~..ruleset.RuleSet`, reporting every error with its line.

Top level: ``rules:`` (required), ``projects:`` and ``inhibit:`` — the models of ``specs.py``
and ``sections.py`` say what each holds; ``docs/rules.md`` is the reference, with examples.
When the file has projects and no ``progress_lag`` rule, the default ``progress-lag`` rule is
added: progress lag is on for every configured project.

Reading is three steps, each reporting every problem it finds, not just the first:

1. the YAML text to plain data, each value's line and column remembered (``shared/yamldoc.py``);
2. the data against the models (``shared/yamlmodel.py``): unknown keys, missing keys, wrong
   types, bad durations;
3. each rule, project and inhibit rule that has the right shape against what it means: the
   class's own ``problems()`` (a known metric for the scope, a clear threshold on the right
   side, options in range...), then duplicate names. A rule with some values refused in step 2
   is still checked here with stand-ins for them, so a file's errors come out together.

:func:`load_rules` raises :class:`RulesError`, whose ``errors`` lists ``(line, message)`` for
every problem (``problems`` has the columns too).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from shared.yamldoc import Path, YamlDoc, YamlSyntaxError, compose
from shared.yamlmodel import Checked, Problem, doc_problems, validate

from ...detectors.base import Detector
from ...detectors.progress_lag import ProgressLagRule
from ...detectors.registry import Rule
from ...detectors.threshold import ThresholdRule
from ...floor.projects import Project
from ..defaults import progress_lag_rule
from ..ruleset import RuleSet
from .sections import InhibitSpec, ProjectSpec
from .specs import RULE_MODELS, RuleModel, RulesFile, RuleSpec

_FILE: Final = TypeAdapter(RulesFile)
_RULE: Final[TypeAdapter[RuleModel]] = TypeAdapter(RuleSpec)
_PROJECT: Final = TypeAdapter(ProjectSpec)
_INHIBIT: Final = TypeAdapter(InhibitSpec)


class RulesError(ValueError):
    """A rules file is invalid; ``errors`` is the sorted list of ``(line, message)``."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        self.name = name
        self.problems = sorted(set(problems))
        self.errors = sorted({(p.line, p.message) for p in problems})
        super().__init__("\n".join(f"{name}:{line}: {msg}" for line, msg in self.errors))


def load_rules(text: str, *, name: str = "<file>") -> RuleSet:
    """Parse and validate a rules file; raises :class:`RulesError` listing every error."""
    try:
        doc = compose(text)
    except YamlSyntaxError as exc:
        raise RulesError(name, [Problem(exc.line, exc.column, exc.message)]) from None
    if doc is None:
        raise RulesError(name, [Problem(1, 1, "the file is empty; expected a mapping with a `rules:` list")])
    checked = validate(_FILE, doc)
    problems = checked.problems + doc_problems(doc, checked.owners)
    data = doc.data if isinstance(doc.data, dict) else {}
    rules = _rules(doc, data.get("rules"), checked, problems)
    projects = _projects(doc, data.get("projects"), problems)
    inhibits = _items(doc, "inhibit", data.get("inhibit"), _INHIBIT)
    if problems:
        raise RulesError(name, problems)
    no_lag = not any(isinstance(x, ProgressLagRule) for x in rules)
    if projects and no_lag and all(x.name != "progress-lag" for x in rules):
        rules.append(progress_lag_rule())
    return RuleSet(
        rules=tuple(rules),
        projects=tuple(projects),
        source=name,
        inhibit=tuple(x.build() for x in inhibits if isinstance(x, InhibitSpec)),
    )


def _items(doc: YamlDoc, key: str, items: Any, adapter: TypeAdapter[Any]) -> list[Any]:
    """The items of a section that have the right shape (their problems are the file's)."""
    count = len(items) if isinstance(items, list) else 0
    checked = [validate(adapter, doc, (key, i)).value for i in range(count)]
    return [x for x in checked if x is not None]


def _meaning(cls: Any, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """``cls(**fields).problems()`` without constructing it (construction raises on a problem)."""
    probe = object.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.init:
            object.__setattr__(probe, f.name, fields.get(f.name, f.default))
    if isinstance(probe, Detector) and not probe.scope:
        object.__setattr__(probe, "scope", probe.scope_kinds[0])
    problems: list[tuple[str, str]] = probe.problems()
    if isinstance(probe, ThresholdRule) and probe.group is not None:  # checked apart, in __post_init__
        problems += probe.group.problems(probe.scope)
    return problems


def _report(doc: YamlDoc, path: Path, meaning: list[tuple[str, str]], problems: list[Problem]) -> None:
    """Each ``(yaml key, message)`` at the key's value, else at the item."""
    item = doc.get(path)
    for key, message in meaning:
        mark = doc.mark((*path, key)) if isinstance(item, dict) and key in item else doc.mark(path)
        problems.append(Problem(mark.line, mark.column, message))


def _rule(doc: YamlDoc, path: Path, problems: list[Problem]) -> Rule | None:
    """The rule at ``path`` (None when invalid: its problems are added to ``problems``)."""
    got = validate(_RULE, doc, path)
    spec: RuleModel | None = got.value
    bad = {p[len(path)] for p in got.refused if len(p) > len(path)}
    if spec is None:
        item = doc.get(path)
        if path in got.refused or not isinstance(item, dict) or "kind" in bad:
            return None  # not a rule at all, or of no known kind
        # the values refused replaced by defaults or stand-ins: the others still get checked
        model = RULE_MODELS[item.get("kind", "threshold")]
        retry = {k: v for k, v in item.items() if k not in bad}
        retry.update(
            {k: model.placeholders[k] for k in bad if isinstance(k, str) and k in model.placeholders}
        )
        try:
            spec = model.model_validate(retry)
        except ValidationError:  # pragma: no cover - every refused value was taken out
            return None
    # with values refused, what is about them or about the whole rule ("kind") is left unsaid
    meaning = [
        (k, m) for k, m in _meaning(spec.rule_class, spec.fields()) if not bad or k not in {*bad, "kind"}
    ]
    _report(doc, path, meaning, problems)
    if bad or meaning:
        return None
    try:
        rule: Rule = spec.rule_class(**spec.fields())
    except (ValueError, TypeError, KeyError) as exc:  # pragma: no cover - problems() said it is valid
        _report(doc, path, [("", f"rule cannot be built: {exc}")], problems)
        return None
    return rule


def _rules(doc: YamlDoc, items: Any, checked: Checked, problems: list[Problem]) -> list[Rule]:
    if not isinstance(items, list):
        return []
    out: list[Rule] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        rule = _rule(doc, ("rules", i), problems)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and ("rules", i, "kind") not in checked.refused:
            mark = doc.mark(("rules", i, "name"))
            if name in first:
                message = f"duplicate rule name {name!r} (first defined on line {first[name]})"
                problems.append(Problem(mark.line, mark.column, message))
                continue
            first[name] = mark.line
        if rule is not None:
            out.append(rule)
    return out


def _projects(doc: YamlDoc, items: Any, problems: list[Problem]) -> list[Project]:
    out: list[Project] = []
    first: dict[str, int] = {}
    for i in range(len(items) if isinstance(items, list) else 0):
        got = validate(_PROJECT, doc, ("projects", i))
        if not isinstance(got.value, ProjectSpec):
            continue
        fields = got.value.fields()
        meaning = _meaning(Project, fields)
        _report(doc, ("projects", i), meaning, problems)
        if meaning:
            continue
        mark, name = doc.mark(("projects", i)), fields["name"]
        if name in first:
            message = f"duplicate project name {name!r} (first on line {first[name]})"
            problems.append(Problem(mark.line, mark.column, message))
            continue
        first[name] = mark.line
        out.append(Project(**fields))
    return out
