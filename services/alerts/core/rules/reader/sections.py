"""The rules file's sections beside ``rules:``: ``projects:`` and ``inhibit:`` (``docs/rules.md``).

Each is a :class:`~shared.yamlmodel.YamlModel`; ``build()`` gives the core's object
(:class:`~...floor.projects.Project`, :class:`~...alerting.inhibition.Inhibit`). What a project
means beyond its shape (target > 0, a window within the day, a known time zone, a curve in
order) is :meth:`Project.problems`, checked by the loader.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Discriminator, Field, PlainValidator, Tag, WithJsonSchema

from shared.yamldoc import Sexagesimal
from shared.yamlmodel import YamlModel
from shared.yamltypes import ABSENT, Number, Str, StrList, StrMap, fail

from ...alerting.inhibition import Inhibit
from ...floor.projects import clock_minutes, hourly_curve

_CLOCK_SCHEMA = {
    "type": "string",
    "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$",
    "description": "a time of day, HH:MM (00:00 to 24:00)",
}


def _text(value: Any) -> str:
    # what was written: YAML 1.1 reads an unquoted 10:30 as the integer 630 (base 60)
    return value.text if isinstance(value, Sexagesimal) else str(value)


def _clock(value: Any) -> float:
    if isinstance(value, list | dict):
        raise fail("expected a time of day HH:MM")
    try:
        return clock_minutes(_text(value))
    except ValueError as exc:
        raise fail(str(exc)) from None


Clock = Annotated[float, PlainValidator(_clock), WithJsonSchema(_CLOCK_SCHEMA)]


def _utc_offset(value: Any) -> int:
    text = "" if isinstance(value, list | dict) else _text(value)
    try:
        sign = -1 if text.startswith("-") else 1
        h, m = text.lstrip("+-").split(":")
        return sign * (int(h) * 3600 + int(m) * 60)
    except ValueError:
        raise fail(f"bad utc_offset {text!r}: use +HH:MM, e.g. +08:00") from None


UtcOffset = Annotated[
    int, PlainValidator(_utc_offset), WithJsonSchema({"type": "string", "pattern": r"^[+-]?\d{1,2}:\d{2}$"})
]


class WindowSpec(YamlModel):
    noun: ClassVar[str] = "window"
    unknown_key: ClassVar[str] = "window needs exactly start and end (HH:MM)"
    missing_key: ClassVar[str] = unknown_key
    missing_keys: ClassVar[str] = unknown_key
    problems_at_mapping: ClassVar[bool] = True

    start: Clock
    end: Clock


def _weights(value: Any) -> tuple[float, ...]:
    ok = isinstance(value, list) and value
    if ok and all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in value):
        return tuple(float(w) for w in value)
    raise fail("hourly must be a list of weights >= 0, one per hour from the window start")


class HourlySpec(YamlModel):
    """``curve: {hourly: [weights]}``: the plan's share per hour from the window start."""

    noun: ClassVar[str] = "curve"
    unknown_key: ClassVar[str] = 'curve is linear, {{hourly: [weights]}} or [["HH:MM", fraction], ...]'
    missing_key: ClassVar[str] = unknown_key
    missing_keys: ClassVar[str] = unknown_key
    problems_at_mapping: ClassVar[bool] = True

    hourly: Annotated[
        tuple[float, ...],
        PlainValidator(_weights),
        WithJsonSchema({"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1}),
    ]


def _point(value: Any) -> Any:
    if not (isinstance(value, list) and len(value) == 2):
        raise fail('a curve point is ["HH:MM", cumulative fraction]')
    return value


Point = Annotated[tuple[Clock, Number], BeforeValidator(_point)]


def _curve_form(value: Any) -> str:
    if value == "linear":
        return "linear"
    return "points" if isinstance(value, list) else "hourly"


def _linear(value: Any) -> str:
    return "linear"


Curve = Annotated[
    Annotated[Annotated[str, PlainValidator(_linear), WithJsonSchema({"const": "linear"})], Tag("linear")]
    | Annotated[tuple[Point, ...], Tag("points")]
    | Annotated[HourlySpec, Tag("hourly")],
    Discriminator(_curve_form),
]


def _success(value: Any) -> Any:
    return [] if value is True else value


Success = Annotated[
    StrList,
    BeforeValidator(_success),
    WithJsonSchema(
        {
            "anyOf": [{"const": True}, {"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "true: outcome.success says; else the outcome codes that count as a success",
        }
    ),
]


class ProjectSpec(YamlModel):
    """A project (campaign) and its plan: ``floor/projects.py``."""

    noun: ClassVar[str] = "a project"
    unknown_key: ClassVar[str] = "unknown key {key!r} in a project; known: {known}"
    missing_key: ClassVar[str] = "project is missing required key {key!r}"

    name: Str
    title: Str = ""
    target: Number
    window: WindowSpec = ABSENT
    tz: Str = Field(default=ABSENT, description="an IANA time zone, e.g. Asia/Shanghai")
    utc_offset: UtcOffset = ABSENT
    curve: Curve = ABSENT
    success: Success = ()
    campaigns: StrList = ()
    queues: StrList = ()
    site: Str = ABSENT

    def fields(self) -> dict[str, Any]:
        """The :class:`Project` fields the file sets."""
        out: dict[str, Any] = {}
        for key in self.model_fields_set:
            value = getattr(self, key)
            if key == "window":
                out["start_min"], out["end_min"] = value.start, value.end
            elif key == "success":
                out["success_codes"] = value
            elif key == "curve":
                start = self.window.start if self.window is not None else 0.0
                out["curve"] = (
                    hourly_curve(start, list(value.hourly))
                    if isinstance(value, HourlySpec)
                    else ()
                    if value == "linear"
                    else value
                )
            else:
                out[key] = value
        return out


class InhibitSpec(YamlModel):
    """An inhibit rule: ``alerting/inhibition.py``."""

    noun: ClassVar[str] = "an inhibit rule"
    unknown_key: ClassVar[str] = "unknown key {key!r} in an inhibit rule; known: {known}"
    missing_key: ClassVar[str] = (
        "inhibit rule is missing {key!r} (label matchers, e.g. {{rule: no-agents-available}})"
    )

    source: StrMap
    target: StrMap
    equal: StrList = ()

    def build(self) -> Inhibit:
        return Inhibit(source=self.source, target=self.target, equal=self.equal)
