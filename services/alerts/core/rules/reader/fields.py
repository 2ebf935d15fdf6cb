"""The YAML type of every field a rule class may declare, and the two nested mappings of a rule.

A rule's YAML keys are its dataclass fields (``specs.py`` derives each kind's model from its
class); :func:`yaml_type` says how a field of a given Python type is read:

=========================================  ================================================
field type                                 YAML
=========================================  ================================================
``str`` / a ``Literal`` of strings         a string (the Literal's values are the schema's enum)
``float`` / ``int`` / ``bool``             a number / a whole number / true or false
``Duration``                               seconds, or ``30s``, ``5m``, ``1h``, ``1m30s``
``tuple[str, ...]``                        a list of strings (or one string)
``tuple[tuple[str, str], ...]``            a mapping of strings (``match``, ``labels``)
``tuple[tuple[str, float], ...]``          a mapping of numbers, or one number for every key
``tuple[tuple[str, Duration], ...]``       the same with durations
``Grouping``                               ``group: {by, min, clear, summary}``
``tuple[Guard, ...]``                      ``when: [{metric, op, value}, ...]``
=========================================  ================================================

``X | None`` reads as ``X`` (None is only the default). A rule's ``summary`` and
``resolved_summary`` are read as :data:`Template`: a string, or one per language ``{zh: ..., en: ...}``
(kept as ``(language, template)`` pairs). A detector with a field of a new type needs one line here.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, WithJsonSchema

from shared.yamlmodel import YamlModel
from shared.yamltypes import (
    ABSENT,
    Bool,
    DurationMap,
    Int,
    Number,
    NumberMap,
    Str,
    StrList,
    StrMap,
    describe,
    fail,
    require_list,
    str_list_with_schema,
    str_with_schema,
)
from shared.yamltypes import Duration as YamlDuration

from ...detectors.options import BY, GROUP_MESSAGES, SEVERITIES, Duration, Grouping
from ...detectors.threshold import LANGUAGES, OPS, Guard, Op
from ...floor.metrics import METRICS


def _template(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        raise fail(
            f"a summary is a string or a mapping of languages {{zh: ..., en: ...}}, not {describe(value)}"
        )
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise fail(f"unknown language {lang!r} in a summary; known: {', '.join(LANGUAGES)}")
        if not isinstance(text, str):
            raise fail(f"the {lang} summary must be a string, not {describe(text)}")
    return tuple((str(lang), str(text)) for lang, text in value.items())


_TEXT = {"type": "string", "description": "placeholders in braces (docs/rules.md)"}
# A summary template (docs/rules.md): one string, or one per language.
Template = Annotated[
    Any,
    PlainValidator(_template),
    WithJsonSchema(
        {
            "anyOf": [
                _TEXT,
                {
                    "type": "object",
                    "properties": {lang: _TEXT for lang in LANGUAGES},
                    "additionalProperties": False,
                    "minProperties": 1,
                },
            ]
        }
    ),
]


def enum(values: typing.Iterable[str], description: str = "") -> Any:
    """A string the schema lists the values of (the rule classes refuse others in their words)."""
    schema: dict[str, Any] = {"enum": list(values)}
    if description:
        schema["description"] = description
    return str_with_schema(schema)


Severity = enum(SEVERITIES)


_METRICS: dict[str, Any] = {"enum": sorted(METRICS), "description": "a metric of the rule's scope"}


class GuardSpec(YamlModel):
    """One ``when:`` item: an extra condition on another metric of the same scope."""

    noun: ClassVar[str] = "when item"
    unknown_key: ClassVar[str] = "unknown key {key!r} in when item; known: {known}"
    missing_keys: ClassVar[str] = "when item is missing {keys}"

    metric: Str = Field(json_schema_extra=_METRICS)
    op: Str = Field(json_schema_extra={"enum": list(OPS), "description": "quote it: a bare > is YAML syntax"})
    value: Number


def _guard(spec: GuardSpec) -> Guard:
    # any text: the rule's problems() refuses an op that is none of OPS, in its own words
    return Guard(spec.metric, typing.cast(Op, spec.op), spec.value)


Guards = Annotated[
    tuple[Annotated[GuardSpec, AfterValidator(_guard)], ...],
    BeforeValidator(require_list("when must be a list of {metric, op, value} mappings")),
]


class GroupSpec(YamlModel):
    """A rule's ``group:``: many alerts of one agent rule on one team become one team alert."""

    noun: ClassVar[str] = "group"
    unknown_key: ClassVar[str] = "unknown key {key!r} in group; known: {known}"

    by: Str = Field(default="team", json_schema_extra={"enum": list(BY)})
    min: Int = 3
    clear: Int = Field(default=ABSENT, description="default: min - 1")
    summary: Str = Field(default="", description="placeholders: {count} {min} {rule} {site} {team}")
    message: Str = Field(
        default="",
        json_schema_extra={"enum": list(GROUP_MESSAGES), "description": "texts from the message catalogue"},
    )


def _grouping(spec: GroupSpec) -> Grouping:
    try:
        return Grouping(**{key: getattr(spec, key) for key in spec.model_fields_set})
    except ValueError as exc:
        raise fail(str(exc)) from None


Group = Annotated[GroupSpec, AfterValidator(_grouping)]


def yaml_type(hint: Any, name: str) -> Any:
    """The YAML type of a rule field of type ``hint`` (``name`` for the error of a new type)."""
    if name in ("summary", "resolved_summary"):
        return Template
    if hint == Duration:
        return YamlDuration
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return yaml_type(rest[0], name)
    if origin is Literal:
        return enum(args)
    simple = {str: Str, float: Number, int: Int, bool: Bool, Grouping: Group}
    if hint in simple:
        return simple[hint]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
        if item is str:
            return StrList
        if typing.get_origin(item) is Literal:
            return str_list_with_schema({"type": "string", "enum": list(typing.get_args(item))})
        if item is Guard:
            return Guards
        pair = typing.get_args(item)
        if typing.get_origin(item) is tuple and len(pair) == 2 and pair[0] is str:
            maps = {str: StrMap, float: NumberMap}
            if pair[1] == Duration:
                return DurationMap
            if pair[1] in maps:
                return maps[pair[1]]
    raise TypeError(f"no YAML type for rule field {name}: {hint!r} (add one in rules/reader/fields.py)")
