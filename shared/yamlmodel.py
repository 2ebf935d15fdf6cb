"""pydantic models of a YAML file whose every error comes back with its line and column.

A :class:`YamlModel` describes one mapping of the file: its keys are the fields (unknown keys
refused), and its class variables word the messages (``noun`` names it: ``a rule``,
``group``…). :func:`validate` runs a model over a :class:`~shared.yamldoc.YamlDoc` and turns
pydantic's errors into :class:`Problem` s at the YAML positions: a wrong value at the value, an
unknown key at the key, a missing key at the mapping. The field types of ``yamltypes.py`` word
their own messages; :func:`doc_problems` words what the document itself could not hold
(non-string and duplicate keys).

How a missing or unknown key is worded is the model's: pydantic's error names the key and the
location, and the model that met the mapping there is remembered during validation (by the
mapping's identity, in the validation context), so its class variables can word the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, ValidationInfo, model_validator

from .yamldoc import Mark, Path, YamlDoc
from .yamltypes import fail

OWNERS: Final = "yaml_owners"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    line: int
    column: int
    message: str


class YamlModel(BaseModel):
    """A mapping of a YAML file. Subclasses set the wording of their messages."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    noun: ClassVar[str] = "a mapping"  # "{noun} must be a mapping", "{noun}: duplicate key ..."
    unknown_key: ClassVar[str] = "unknown key {key!r}; known: {known}"
    missing_key: ClassVar[str] = "missing required key {key!r}"
    missing_keys: ClassVar[str] = ""  # when set: one message for every missing key, "{keys}"
    not_mapping: ClassVar[str] = "{noun} must be a mapping"
    problems_at_mapping: ClassVar[bool] = False  # an unknown key reported at the mapping, not the key

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            raise fail(cls.not_mapping.format(noun=cls.noun))
        owners = info.context.get(OWNERS) if isinstance(info.context, dict) else None
        if owners is not None:
            owners[id(data)] = cls
        return data

    @classmethod
    def known_keys(cls) -> list[str]:
        """The YAML keys, in the order of the fields."""
        return [f.alias or name for name, f in cls.model_fields.items()]


@dataclass(slots=True)
class Checked:
    """What :func:`validate` found: the value (None when refused), the problems, the paths of the
    values refused, and which model met each mapping (by the mapping's identity)."""

    value: Any
    problems: list[Problem]
    refused: set[Path]
    owners: dict[int, type[YamlModel]]


def validate(adapter: TypeAdapter[Any], doc: YamlDoc, path: Path = ()) -> Checked:
    """Validate the value at ``path`` of ``doc`` with ``adapter``."""
    owners: dict[int, type[YamlModel]] = {}
    try:
        return Checked(adapter.validate_python(doc.get(path), context={OWNERS: owners}), [], set(), owners)
    except ValidationError as exc:
        problems, refused = _problems(exc, doc, path, owners)
        return Checked(None, problems, refused, owners)


def _owner(owners: dict[int, type[YamlModel]], value: Any) -> type[YamlModel]:
    return owners.get(id(value), YamlModel)


def _problems(
    exc: ValidationError, doc: YamlDoc, base: Path, owners: dict[int, type[YamlModel]]
) -> tuple[list[Problem], set[Path]]:
    out: list[Problem] = []
    refused: set[Path] = set()
    missing: dict[Path, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "missing":
            parent = doc.resolve((*base, *loc[:-1]))
            missing.setdefault(parent, []).append(str(loc[-1]))
            refused.add((*parent, str(loc[-1])))
            continue
        path = doc.resolve((*base, *loc))
        refused.add(path)
        if error["type"] == "extra_forbidden":
            owner = _owner(owners, doc.get(path[:-1]))
            known = ", ".join(owner.known_keys())
            mark = doc.mark(path[:-1]) if owner.problems_at_mapping else doc.key_mark(path)
            out.append(_at(mark, owner.unknown_key.format(key=path[-1], known=known)))
        elif error["type"] == "yaml_named":
            key = next((str(x) for x in reversed(path) if isinstance(x, str)), "value")
            out.append(_at(doc.mark(path), str(error["msg"]).replace("{field}", key)))
        else:
            out.append(_at(doc.mark(path), str(error["msg"])))
    for parent, keys in missing.items():
        owner = _owner(owners, doc.get(parent))
        if owner.missing_keys:
            out.append(_at(doc.mark(parent), owner.missing_keys.format(keys=", ".join(keys))))
        else:
            out += [_at(doc.mark(parent), owner.missing_key.format(key=key)) for key in keys]
    return out, refused


def _at(mark: Mark, message: str) -> Problem:
    return Problem(mark.line, mark.column, message)


def doc_problems(doc: YamlDoc, owners: dict[int, type[YamlModel]]) -> list[Problem]:
    """The keys the document could not hold as data, each worded with the noun of the model that
    met its mapping (else the mapping's own key: ``match: duplicate key ...``)."""
    out = []
    for p in doc.problems:
        owner = owners.get(id(doc.get(p.path)))
        noun = (
            owner.noun
            if owner is not None
            else next((str(x) for x in reversed(p.path) if isinstance(x, str)), "")
        )
        if p.kind == "non_string":
            out.append(_at(p.mark, f"{noun}: keys must be strings"))
        else:
            out.append(_at(p.mark, f"{noun}: duplicate key {p.key!r} (first on line {p.first})"))
    return out
