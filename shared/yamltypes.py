"""Field types for YAML configuration read with pydantic (``yamlmodel.py``), strict as YAML asks.

pydantic's lax mode would turn ``"10"`` into 10 and ``1`` into ``True``; a configuration file
must say what it means, so these types accept only the YAML value they name and refuse anything
else with a message that quotes what was written (``expected a number, got str 'ten'``):

- :data:`Str`, :data:`Number` (int or float, not a boolean, read as float), :data:`Int` (a
  number, whole numbers as int), :data:`Bool`;
- :data:`Duration`: seconds, as a number or a text such as ``30s``, ``5m``, ``1h``, ``1m30s``;
- :data:`StrList` (a single string is a list of one), :data:`StrMap` (``{key: text}`` as a tuple
  of pairs), :data:`NumberMap` / :data:`DurationMap` (a bare value applies to every key: ``*``).

Each carries its JSON Schema, so a model's schema tells an editor what the file may hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from .yamldoc import Sexagesimal

_DURATION_RE: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
DURATION_PATTERN: Final = r"^\s*(?=\S)(\d+(\.\d+)?|(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?)\s*$"


# The default of an optional key that the file cannot set to null (the type refuses None).
ABSENT: Any = None


def fail(message: str) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (braces and all)."""
    return PydanticCustomError("yaml", "{message}", {"message": message})


def type_name(value: object) -> str:
    return "int" if isinstance(value, Sexagesimal) else type(value).__name__


def describe(value: object) -> str:
    """What was written, for a message: ``a list``, ``a mapping`` or ``<type> <repr>``."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type_name(value)} {int(value) if isinstance(value, Sexagesimal) else value!r}"


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


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise fail(f"expected a string, got {describe(value)}")


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise fail(f"expected a number, got {describe(value)}")


def _int(value: Any) -> int | float:
    number = _number(value)
    return int(number) if number.is_integer() else number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise fail(f"expected true or false, got {describe(value)}")


def _duration(value: Any) -> float:
    if isinstance(value, list | dict):
        raise fail(f"expected a duration, got {describe(value)}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(str(exc)) from None


_NUMBER_SCHEMA: Final = {"type": "number"}
_DURATION_SCHEMA: Final = {
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
    "description": "seconds, or a text such as 30s, 5m, 1h, 1m30s",
}

Str = Annotated[str, PlainValidator(_str), WithJsonSchema({"type": "string"})]


def str_with_schema(schema: dict[str, Any]) -> Any:
    """:data:`Str` with its own JSON Schema (e.g. an ``enum`` an editor can complete from)."""
    return Annotated[str, PlainValidator(_str), WithJsonSchema({"type": "string", **schema})]


Number = Annotated[float, PlainValidator(_number), WithJsonSchema(_NUMBER_SCHEMA)]
# whole numbers as int; another number stays a float, for the configured class to refuse in its words
Int = Annotated[int, PlainValidator(_int), WithJsonSchema({"type": "integer"})]
Bool = Annotated[bool, PlainValidator(_bool), WithJsonSchema({"type": "boolean"})]
Duration = Annotated[float, PlainValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]


def fail_named(template: str) -> PydanticCustomError:
    """A validation error naming the key it is found at: ``{field}`` in ``template`` becomes
    that key (``yamlmodel.py`` knows it; pydantic's own field name may not be the YAML key)."""
    return PydanticCustomError("yaml_named", "{message}", {"message": template})


def require_list(message: str) -> Callable[[Any], Any]:
    """A before-validator refusing anything but a list with ``message``."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail(message)
        return value

    return check


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        raise fail_named("{field} must be a list of strings")
    raise fail(f"expected a string, got {describe(value)}")


def _mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise fail_named("{field} must be a mapping")
    return value


def _every(value: Any) -> Any:
    """A bare value applies to every key: ``{"*": value}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        raise fail_named("{field} must be a mapping")
    return {"*": value}


def _pairs(value: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(value.items())


def _map_schema(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


def str_list_with_schema(item: dict[str, Any]) -> Any:
    """:data:`StrList` whose items have their own JSON Schema (e.g. an ``enum``)."""
    return Annotated[
        tuple[Str, ...],
        BeforeValidator(_strings),
        WithJsonSchema({"anyOf": [item, {"type": "array", "items": item}]}),
    ]


StrList = Annotated[
    tuple[Str, ...],
    BeforeValidator(_strings),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
if TYPE_CHECKING:  # what a model holds, once read
    StrMap = tuple[tuple[str, str], ...]
    NumberMap = tuple[tuple[str, float], ...]
    DurationMap = tuple[tuple[str, float], ...]
else:
    StrMap = Annotated[
        dict[str, Str],
        BeforeValidator(_mapping),
        AfterValidator(_pairs),
        WithJsonSchema(_map_schema({"type": "string"})),
    ]
    NumberMap = Annotated[
        dict[str, Number],
        BeforeValidator(_every),
        AfterValidator(_pairs),
        WithJsonSchema({"anyOf": [_NUMBER_SCHEMA, _map_schema(_NUMBER_SCHEMA)]}),
    ]
    DurationMap = Annotated[
        dict[str, Duration],
        BeforeValidator(_every),
        AfterValidator(_pairs),
        WithJsonSchema({"anyOf": [_DURATION_SCHEMA, _map_schema(_DURATION_SCHEMA)]}),
    ]
