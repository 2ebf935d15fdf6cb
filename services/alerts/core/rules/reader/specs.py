"""The rules file described once: pydantic models, derived from the rule classes themselves.

:class:`RulesFile` is the whole file (``rules:``, ``projects:``, ``inhibit:``; any other
top-level key is refused). A rule is one of :data:`RuleSpec`, a union discriminated on
``kind:`` (absent: ``threshold``). Each kind's model is built by :func:`rule_model` from the
rule's dataclass (``detectors/threshold.py`` or a detector of ``detectors/registry.py``): the
YAML keys are the fields (``for_s`` is ``for``, ``matchers`` is ``match``), their types say how
each value is read (``fields.py``), and the dataclass defaults are the defaults. So a new
detector kind needs nothing here.

The models check the *shape* (keys, types, durations); what a rule *means* — a known metric for
the scope, a clear threshold on the right side, a name the alert can carry, options in range —
is the rule class's ``problems()``, the same check that guards a rule built in code; the loader
runs it (``loader.py``). :func:`json_schema` publishes the models for editors
(``docs/rules-schema.json``).

Extension points:

* a new top-level section (e.g. ``definitions:``): a :class:`~shared.yamlmodel.YamlModel` of its
  own (as ``sections.py``: ``noun`` and the wording of its messages), one field of
  :class:`RulesFile` (``definitions: DefinitionsSpec = ABSENT``), its step in
  ``loader.load_rules`` (``spec.definitions`` when the file had the right shape, else
  ``validate(...)`` of that item; then what it means, reported with ``_report``), then
  ``floorwatch rules schema > docs/rules-schema.json``. Any other top-level key stays refused;
  the "known:" list of that message grows by the new key (``tests/unit/test_rules_messages.py``);
* a rule's ``summary`` / ``resolved_summary`` are read as ``fields.Template`` (a string, or one per language):
  per-language texts (``{zh: ..., en: ...}``) are a new ``Template`` there plus the rule classes'
  field type and their rendering; the reader derives the rest;
* a new detector kind or option: nothing here (a field of a new Python type: one line in
  ``fields.yaml_type``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from typing import Annotated, Any, ClassVar, Final

from pydantic import BeforeValidator, ConfigDict, Discriminator, Field, PlainValidator, Tag, create_model
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticUndefined

from shared.yamlmodel import YamlModel
from shared.yamltypes import ABSENT, describe, fail, require_list, str_with_schema

from ...detectors.base import Detector
from ...detectors.options import NAME_RE
from ...detectors.registry import DETECTORS, KINDS
from ...detectors.threshold import THRESHOLD_MESSAGES, ThresholdRule
from ...floor.metrics import METRICS
from .definitions import DefinitionsSpec
from .fields import Severity, enum, yaml_type
from .sections import InhibitSpec, ProjectSpec

YAML_KEY: Final = {"for_s": "for", "matchers": "match"}  # field name -> YAML key, where they differ
RuleClass = type[ThresholdRule] | type[Detector]
KNOWN_KINDS: Final = ("threshold", *KINDS)


class RuleModel(YamlModel):
    """A rule of one kind; :func:`rule_model` derives the subclass of each kind."""

    noun: ClassVar[str] = "a rule"
    missing_key: ClassVar[str] = "rule is missing required key {key!r}"
    rule_class: ClassVar[Any]
    # stand-ins for refused required values, so that the rule's other values still get checked
    placeholders: ClassVar[dict[str, Any]] = {}

    def fields(self) -> dict[str, Any]:
        """The rule class's fields the file sets."""
        return {key: getattr(self, key) for key in self.model_fields_set if key != "kind"}


RuleName = str_with_schema(
    {"pattern": NAME_RE.pattern, "description": "unique; letters, digits, - _ . : (max 64)"}
)


def _field_type(cls: RuleClass, name: str, hint: Any) -> Any:
    """Where the schema can say more than the field's type: names, severities, metrics, scopes."""
    if name == "name":
        return RuleName
    if name == "severity":
        return Severity
    if cls is ThresholdRule and name == "message":
        return enum(THRESHOLD_MESSAGES, "texts from the message catalogue (shared/i18n) instead of summary")
    if cls is ThresholdRule and name == "metric":
        return enum(sorted(METRICS), "a metric of floor/metrics.py (docs/metrics.md)")
    if issubclass(cls, Detector) and name == "scope":
        return enum(cls.scope_kinds, f"default {cls.scope_kinds[0]}")
    return yaml_type(hint, YAML_KEY.get(name, name))


def plain(value: Any) -> Any:
    """A rule field's value as the rules file writes it (pairs as a mapping, tuples as lists)."""
    if isinstance(value, tuple) and value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
        return {str(k): plain(v) for k, v in value}
    if isinstance(value, tuple):
        return [plain(x) for x in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {f.name: plain(getattr(value, f.name)) for f in fields if getattr(value, f.name) != f.default}
    return value


def _description(cls: RuleClass) -> str:
    """The kind's ``about``, else the first line of its module's docstring."""
    about = getattr(cls, "about", "") or (sys.modules[cls.__module__].__doc__ or "").strip().split("\n")[0]
    return " ".join(about.split())


def rule_model(cls: RuleClass) -> type[RuleModel]:
    """The model of ``cls``'s rules: one field per dataclass field, under its YAML key."""
    hints = typing.get_type_hints(cls, include_extras=True)
    kind = cls.kind
    kind_type = str_with_schema({"const": kind})
    fields: dict[str, Any] = {
        "kind": (kind_type, Field("threshold")) if kind == "threshold" else (kind_type, Field())
    }
    placeholders: dict[str, Any] = {"scope": "?"}  # no scope: no per-scope checks of the metric
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key = YAML_KEY.get(f.name, f.name)
        required = f.default is dataclasses.MISSING
        default = PydanticUndefined if required else f.default
        shown = {} if required else {"default": plain(f.default)}
        if f.name == "scope" and issubclass(cls, Detector):
            shown = {"default": cls.scope_kinds[0]}
        typ = _field_type(cls, f.name, hints[f.name])
        fields[f.name] = (typ, Field(default, alias=key, json_schema_extra=shown))
        if required and f.name != "name":
            placeholders[key] = float("nan") if hints[f.name] is float else ""
    known = "; known: {known}"
    model: type[RuleModel] = create_model(
        f"{cls.__name__}Spec",
        __base__=RuleModel,
        __doc__=_description(cls),
        __config__=None,
        **fields,
    )
    model.model_config["title"] = f"{kind} rule"
    model.rule_class = cls
    model.placeholders = {"name": "_", **placeholders}
    model.unknown_key = "unknown key {key!r}" + (known if kind == "threshold" else f" for kind {kind}{known}")
    return model


def _bad_kind(value: Any) -> Any:
    if not isinstance(value, str):
        raise fail(f"expected a string, got {describe(value)}")
    raise fail(f"unknown kind {value!r}; known: {', '.join(KNOWN_KINDS)}")


class BadKind(YamlModel):
    """A rule whose ``kind:`` names no kind: only that is reported."""

    model_config = ConfigDict(extra="ignore")
    noun: ClassVar[str] = "a rule"
    kind: Annotated[Any, PlainValidator(_bad_kind)]


def _tag(value: Any) -> str:
    kind = value.get("kind", "threshold") if isinstance(value, dict) else "threshold"
    return f"kind={kind}" if isinstance(kind, str) and kind in KNOWN_KINDS else "kind=?"


RULE_CLASSES: Final[tuple[RuleClass, ...]] = (ThresholdRule, *DETECTORS)
RULE_MODELS: Final[dict[str, type[RuleModel]]] = {cls.kind: rule_model(cls) for cls in RULE_CLASSES}
RuleSpec: Any = Annotated[
    typing.Union[
        (
            *(Annotated[model, Tag(f"kind={kind}")] for kind, model in RULE_MODELS.items()),
            Annotated[SkipJsonSchema[BadKind], Tag("kind=?")],
        )
    ],
    Discriminator(_tag),
]


class RulesFile(YamlModel):
    """A Floorwatch rules file (docs/rules.md)."""

    model_config = ConfigDict(title="Floorwatch rules file")
    noun: ClassVar[str] = "the rules file"
    unknown_key: ClassVar[str] = "unknown top-level key {key!r}; known: {known}"
    missing_key: ClassVar[str] = "missing top-level key {key!r}"

    rules: Annotated[tuple[RuleSpec, ...], BeforeValidator(require_list("'rules' must be a list of rules"))]
    projects: Annotated[
        tuple[ProjectSpec, ...], BeforeValidator(require_list("'projects' must be a list"))
    ] = ()
    inhibit: Annotated[
        tuple[InhibitSpec, ...], BeforeValidator(require_list("'inhibit' must be a list"))
    ] = ()
    definitions: DefinitionsSpec = ABSENT
    # the notifier's section (docs/notifications.md): read and checked by `floorwatch notify`,
    # which can be pointed at this same file; the engine leaves it alone
    notifications: Annotated[
        dict[str, Any] | None,
        Field(description="Notification routing, receivers and quiet times (docs/notifications.md); "
              "read by the notifier, not by the alerts engine"),
    ] = None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the rules file (``docs/rules-schema.json``)."""
    schema = RulesFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """:func:`json_schema` as the file ``docs/rules-schema.json`` holds it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def rules_data(rules: typing.Iterable[ThresholdRule | Detector]) -> dict[str, Any]:
    """Rules as a rules file's data (``{"rules": [...]}``, each key the file's, defaults left out):
    what ``floorwatch rules defaults`` prints; :func:`~.loader.load_rules` reads it back."""
    out = []
    for rule in rules:
        model = RULE_MODELS[rule.kind]
        item: dict[str, Any] = {} if rule.kind == "threshold" else {"kind": rule.kind}
        for name, f in model.model_fields.items():
            value = getattr(rule, name, None)
            if name != "kind" and (f.is_required() or value != f.default):
                item[f.alias or name] = plain(value)
        out.append(item)
    return {"rules": out}
